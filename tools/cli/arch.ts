/**
 * The architectures the command line knows, and what each offers: its assembler, how a bare image
 * boots, and how the TypeScript kernel boots (riscv64 in tools/cli/run.ts, arm64 and x86_64 here).
 */
import { bootBareArm64, createArm64Virt } from "../../boot/arm64/virt.js";
import { bootKernelArm64 } from "../../boot/arm64/kernel-boot.js";
import { bootKernelX86 } from "../../boot/x86_64/kernel-boot.js";
import { bootBareX86, createX86Pc } from "../../boot/x86_64/pc.js";
import type { TlbConfig, TlbSet } from "../../emulator/core/tlb.js";
import type { RunResult } from "../../emulator/core/run.js";
import type { ScheduleOptions } from "../../emulator/core/schedule.js";
import type { TraceSink } from "../../emulator/core/trace.js";
import { formatStrictReport } from "../../emulator/arch/arm64/bbm.js";
import { formatX86StaleTlbReport } from "../../emulator/arch/x86_64/tlb-stale.js";

export { assemble } from "../asm/index.js";
export { ASM_ARCHES as ARCHES, type AsmArch as Arch } from "../asm/index.js";

/** What a bare run of the non-RISC-V machines needs. */
export interface BareOptions {
  ramSize?: number;
  tlb?: TlbConfig;
  noFastPath: boolean;
  strictTlb: boolean;
  console: (byte: number) => void;
  /** x86_64: 5-level paging (CR4.LA57) from the firmware's hand-off on. */
  la57?: boolean;
  /** arm64 bare: number of CPUs (--harts), and how they interleave. */
  cpus?: number;
  schedule?: ScheduleOptions;
}

/** A booted bare machine: run it to the end or to `maxInsns`; trace it; read its TLB counters. */
export interface BareMachine {
  run(maxInsns: number | undefined): RunResult;
  setTrace(sink: TraceSink): void;
  /** Strict TLB mode's reports as one line each (only when the machine was built with strictTlb). */
  onStrictReport(print: (line: string) => void): void;
  tlbStats(): ReturnType<TlbSet["stats"]>;
  icount(): number;
}

/** What a kernel run on arm64 takes beyond the machine options. */
export interface KernelRunOptions {
  args: string[];
  files: { name: string; bytes: Uint8Array }[];
  seed: number;
  aslr: boolean;
  debug: boolean;
  log: (line: string) => void;
}

/** Boots the TypeScript kernel on arm64-virt or x86_64-pc with `program` as the first process (ElfError, BootError on bad input). */
export function bootKernelOther(arch: "arm64" | "x86_64", program: Uint8Array, o: BareOptions, k: KernelRunOptions): BareMachine {
  const opts = {
    ...(o.ramSize !== undefined ? { ramSize: o.ramSize } : {}), ...(o.tlb ? { tlb: o.tlb } : {}),
    noFastPath: o.noFastPath, strictTlb: o.strictTlb, console: o.console,
    program, args: k.args, files: k.files, seed: k.seed, aslr: k.aslr, debug: k.debug, log: k.log,
  };
  if (arch === "x86_64") {
    const kx = bootKernelX86({ ...opts, la57: o.la57 ?? false });
    return {
      run: (maxInsns) => kx.machine.run(maxInsns !== undefined ? { maxInsns } : {}),
      setTrace: (sink) => kx.machine.setTrace(sink),
      onStrictReport: (print) => { kx.machine.onStaleTlb = (r) => print(formatX86StaleTlbReport(r)); },
      tlbStats: () => kx.cpu.tlbs.stats(),
      icount: () => kx.cpu.icount,
    };
  }
  const km = bootKernelArm64(opts);
  return {
    run: (maxInsns) => km.machine.run(maxInsns !== undefined ? { maxInsns } : {}),
    setTrace: (sink) => km.machine.setTrace(sink),
    onStrictReport: (print) => { if (km.strict) km.strict.onReport = (r) => print(formatStrictReport(r)); },
    tlbStats: () => km.cpu.tlbs.stats(),
    icount: () => km.cpu.icount,
  };
}

/** Builds `arch`'s machine (arm64-virt, x86_64-pc) and boots `elf` on it bare (ElfError on a bad image). */
export function bootBareOther(arch: "arm64" | "x86_64", elf: Uint8Array, o: BareOptions): BareMachine {
  const opts = {
    ...(o.ramSize !== undefined ? { ramSize: o.ramSize } : {}), ...(o.tlb ? { tlb: o.tlb } : {}),
    noFastPath: o.noFastPath, strictTlb: o.strictTlb, console: o.console,
  };
  if (arch === "arm64") {
    const v = createArm64Virt({ ...opts, ...(o.cpus !== undefined ? { cpus: o.cpus } : {}), ...(o.schedule ? { schedule: o.schedule } : {}) });
    bootBareArm64(v, elf);
    return {
      run: (maxInsns) => v.machine.run(maxInsns !== undefined ? { maxInsns } : {}),
      setTrace: (sink) => v.machine.setTrace(sink),
      onStrictReport: (print) => { if (v.strict) v.strict.onReport = (r) => print(formatStrictReport(r)); },
      tlbStats: () => v.cpu.tlbs.stats(),
      icount: () => v.cpus.reduce((n, c) => n + c.icount, 0),
    };
  }
  const pc = createX86Pc({ ...opts, la57: o.la57 ?? false });
  bootBareX86(pc, elf);
  return {
    run: (maxInsns) => pc.machine.run(maxInsns !== undefined ? { maxInsns } : {}),
    setTrace: (sink) => pc.machine.setTrace(sink),
    onStrictReport: (print) => { pc.machine.onStaleTlb = (r) => print(formatX86StaleTlbReport(r)); },
    tlbStats: () => pc.cpu.tlbs.stats(),
    icount: () => pc.cpu.icount,
  };
}
