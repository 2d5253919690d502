/**
 * The architectures the command line knows, and what each offers: its assembler, and a uniform
 * view of a booted arm64-virt or x86_64-pc machine (bare or with the TypeScript kernel; they boot
 * from a RunSpec in tools/replay/spec.ts, riscv64 is driven in tools/cli/run.ts).
 */
import type { Arm64Virt } from "../../boot/arm64/virt.js";
import type { X86Pc } from "../../boot/x86_64/pc.js";
import type { TlbSet } from "../../emulator/core/tlb.js";
import type { TraceSink } from "../../emulator/core/trace.js";
import type { Kernel } from "../../kernel/kernel.js";
import { formatStrictReport } from "../../emulator/arch/arm64/bbm.js";
import { formatX86StaleTlbReport } from "../../emulator/arch/x86_64/tlb-stale.js";

export { assemble } from "../asm/index.js";
export { ASM_ARCHES as ARCHES, type AsmArch as Arch } from "../asm/index.js";

/** One processor's counters, for `--stats`. */
export interface ProcessorStats {
  /** "cpu 1" on a machine with several, "" with one. */
  who: string;
  icount: number;
  traps: number;
  tlb: ReturnType<TlbSet["stats"]>;
}

/** A booted arm64 or x86_64 machine as `multios run` uses it: trace it, hear strict-TLB reports, read its counters. */
export interface OtherMachine {
  setTrace(sink: TraceSink): void;
  /** Strict TLB mode's reports as one line each (only when the machine was built with strictTlb). */
  onStrictReport(print: (line: string) => void): void;
  /** Each processor's counters. */
  processors(): ProcessorStats[];
  /** The TypeScript kernel, when one was booted. */
  readonly kernel: Kernel | undefined;
}

/** Counters of each of `cpus`. */
export function processorStats(cpus: readonly { icount: number; traps: number; tlbs: TlbSet }[], name: string): ProcessorStats[] {
  return cpus.map((c, i) => ({ who: cpus.length > 1 ? `${name} ${i} ` : "", icount: c.icount, traps: c.traps, tlb: c.tlbs.stats() }));
}

/** The {@link OtherMachine} view of a booted arm64-virt or x86_64-pc (tools/replay/spec.ts startRun). */
export function otherMachine(s: { arch: "arm64"; v: Arm64Virt } | { arch: "x86_64"; v: X86Pc }): OtherMachine {
  const kernel = (s.v as { kernel?: Kernel }).kernel;
  if (s.arch === "x86_64") {
    const pc = s.v;
    return {
      setTrace: (sink) => pc.machine.setTrace(sink),
      onStrictReport: (print) => { pc.machine.onStaleTlb = (r) => print(formatX86StaleTlbReport(r)); },
      processors: () => processorStats(pc.cpus, "cpu"),
      kernel,
    };
  }
  const v = s.v;
  return {
    setTrace: (sink) => v.machine.setTrace(sink),
    onStrictReport: (print) => { if (v.strict) v.strict.onReport = (r) => print(formatStrictReport(r)); },
    processors: () => processorStats(v.cpus, "cpu"),
    kernel,
  };
}
