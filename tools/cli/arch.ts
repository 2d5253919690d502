/**
 * The architectures the command line knows, and what each offers: its assembler, and a uniform
 * view of a booted arm64-virt or x86_64-pc machine (bare or with the TypeScript kernel; they boot
 * from a RunSpec in tools/replay/spec.ts, riscv64 is driven in tools/cli/run.ts).
 */
import type { Arm64Virt } from "../../boot/arm64/virt.js";
import type { X86Pc } from "../../boot/x86_64/pc.js";
import type { TlbSet } from "../../emulator/core/tlb.js";
import type { TraceSink } from "../../emulator/core/trace.js";
import type { ScheduleOptions } from "../../emulator/core/schedule.js";
import { formatStrictReport } from "../../emulator/arch/arm64/bbm.js";
import { formatX86StaleTlbReport } from "../../emulator/arch/x86_64/tlb-stale.js";

export { assemble } from "../asm/index.js";
export { ASM_ARCHES as ARCHES, type AsmArch as Arch } from "../asm/index.js";

/** A booted arm64 or x86_64 machine as `multios run` uses it: trace it, hear strict-TLB reports, read its counters. */
export interface OtherMachine {
  setTrace(sink: TraceSink): void;
  /** Strict TLB mode's reports as one line each (only when the machine was built with strictTlb). */
  onStrictReport(print: (line: string) => void): void;
  tlbStats(): ReturnType<TlbSet["stats"]>;
  icount(): number;
}

/** The {@link OtherMachine} view of a booted arm64-virt or x86_64-pc (tools/replay/spec.ts startRun). */
export function otherMachine(s: { arch: "arm64"; v: Arm64Virt } | { arch: "x86_64"; v: X86Pc }): OtherMachine {
  if (s.arch === "x86_64") {
    const pc = s.v;
    return {
      setTrace: (sink) => pc.machine.setTrace(sink),
      onStrictReport: (print) => { pc.machine.onStaleTlb = (r) => print(formatX86StaleTlbReport(r)); },
      tlbStats: () => pc.cpu.tlbs.stats(),
      icount: () => pc.cpus.reduce((n, c) => n + c.icount, 0),
    };
  }
  const v = s.v;
  return {
    setTrace: (sink) => v.machine.setTrace(sink),
    onStrictReport: (print) => { if (v.strict) v.strict.onReport = (r) => print(formatStrictReport(r)); },
    tlbStats: () => v.cpu.tlbs.stats(),
    icount: () => v.cpu.icount,
  };
}
