/**
 * Trace events: one JSON object per line (JSON Lines). 64-bit values are lower-case hex strings
 * ("0x80001000") so they survive JSON exactly. The schema is documented in docs/trace.md.
 */

/** A trap taken by a hart. */
export interface TrapTraceEvent {
  type: "trap";
  arch: string;
  hart: number;
  /** Instructions retired before the trap. */
  icount: number;
  /** Exception or interrupt code (scause/mcause without the Interrupt bit). */
  cause: number;
  interrupt: boolean;
  /** Human-readable cause name ("store/AMO page fault"). */
  name: string;
  tval: string;
  epc: string;
  /** Privilege before and after (RISC-V "U", "S", "M"; Arm "EL0", "EL1"). */
  from: string;
  to: string;
  /** The architecture's syndrome when it has one beyond the cause (Arm: ESR_EL1), hex. */
  syndrome?: string;
}

/** One PTE read by a page walk. */
export interface WalkStepTrace {
  level: number;
  pteAddr: string;
  pte: string;
}

/** A translation entered into the TLB by a walk. */
export interface TlbFillTraceEvent {
  type: "tlb-fill";
  arch: string;
  hart: number;
  icount: number;
  va: string;
  asid: number;
  global: boolean;
  /** Leaf level (0 = 4 KiB page). */
  level: number;
  pageSize: number;
  /** Physical address of the start of the page. */
  pa: string;
  /** Architecture-defined permission bits (RISC-V: the PTE's low byte, "DAGUXWRV"). */
  perm: string;
  steps: WalkStepTrace[];
}

/** A TLB invalidation (an instruction, a reset, or the QEMU-compatible flush-on-PTE-write mode). */
export interface TlbInvalidateTraceEvent {
  type: "tlb-invalidate";
  arch: string;
  hart: number;
  icount: number;
  kind: string;
  va?: string;
  asid?: number;
  /** Entries removed, summed over all TLB levels. */
  removed: number;
}

/** A PTE in a {@link StaleTlbTraceEvent}. */
export interface StalePteTrace {
  pte: string;
  pteAddr: string;
  /** Level of the PTE (0 = the 4 KiB level). */
  level: number;
  /** G was set on the path to it. */
  global: boolean;
}

/** A translation served by a TLB entry that no longer matches the tables (strict TLB mode). */
export interface StaleTlbTraceEvent {
  type: "stale-tlb";
  arch: string;
  hart: number;
  icount: number;
  pc: string;
  va: string;
  access: "fetch" | "load" | "store";
  asid: number;
  /** What differs: "invalid", "size", "pa", "perm". */
  changes: string[];
  /** The leaf PTE the TLB entry was filled from. */
  entry: StalePteTrace;
  /** What a walk finds now: the leaf, or the PTE it stopped at. */
  fresh: StalePteTrace & { outcome: "leaf" | "page-fault" | "access-fault" };
  /** The last store by a hart to the PTE that changed, if one was seen. */
  writer?: { pteAddr: string; hart: number; pc: string; icount: number; priv: string };
}

export type TraceEvent = TrapTraceEvent | TlbFillTraceEvent | TlbInvalidateTraceEvent | StaleTlbTraceEvent;

/** Receives trace events; the command line writes them to a file, tests collect them. */
export type TraceSink = (e: TraceEvent) => void;

/** Formats a non-negative number or bigint as 0x-prefixed lower-case hex. */
export function hex(v: number | bigint): string {
  return "0x" + v.toString(16);
}
