/**
 * Performance counters of one kernel (the seed's `perf` module): allocations, page faults, and
 * faults by class. One {@link Perf} per kernel instance; nothing here is module-level state.
 *
 * Two views of faults are kept, because they count different things:
 * - the fault *traps*: {@link Perf.recordFault} is called by the trap handler for each user-mode
 *   page fault, with the outcome's class (`getFaultCount`, `faultsByClass`);
 * - the fault *handling* summed over processes: every {@link FaultStats} of the process table plus
 *   those of exited processes ({@link Perf.retire}), which also counts the faults the kernel
 *   resolves on a process's behalf while copying syscall arguments (`processFaults`).
 * So for each class, traps ≤ handled; paranoid mode checks it.
 *
 * Allocations are observed rather than wrapped: the frame allocator and the heap count their own
 * allocations in their statistics, and `observeAllocations` registers such a counter;
 * `recordAllocation` adds events from allocators that do not count (a pool, an arena).
 */
import type { FaultOutcome } from "./fault.js";
import type { FaultStats } from "./process-memory.js";

/** Fault classes, in report order. */
export const FAULT_CLASSES = ["demand-zero", "cow-copy", "cow-reuse", "stack-growth", "protection-kill", "spurious", "unpark", "out-of-memory"] as const;
/** A class of page fault: what handling it took (fault.ts outcomes, "kill" named "protection-kill"). */
export type FaultClass = (typeof FAULT_CLASSES)[number];

/** The {@link FaultStats} field counting each class (unpark has none). */
export const FAULT_STATS_FIELD: Readonly<Record<FaultClass, keyof FaultStats | undefined>> = {
  "demand-zero": "demandZero", "cow-copy": "cowCopy", "cow-reuse": "cowReuse", "stack-growth": "stackGrowth",
  "protection-kill": "protectionKill", spurious: "spurious", unpark: undefined, "out-of-memory": "outOfMemory",
};

/** The class of a fault-handler outcome ("kill" is a protection kill). */
export function faultClassOf(kind: FaultOutcome["kind"] | FaultClass): FaultClass {
  return kind === "kill" ? "protection-kill" : kind;
}

/** All-zero fault statistics. */
export function zeroFaultStats(): FaultStats {
  return { demandZero: 0, cowCopy: 0, cowReuse: 0, stackGrowth: 0, protectionKill: 0, spurious: 0, userAccessFailed: 0, outOfMemory: 0 };
}

/** Adds `b` into `a` field by field and returns `a`. */
export function addFaultStats(a: FaultStats, b: Readonly<FaultStats>): FaultStats {
  for (const k of Object.keys(a) as (keyof FaultStats)[]) a[k] += b[k];
  return a;
}

/** An allocation counter observed by {@link Perf.observeAllocations}, and its value when registered. */
interface Observed {
  readonly read: () => number;
  readonly base: number;
}

/**
 * The counters of one kernel.
 *
 * @example
 * ```ts
 * const perf = new Perf();
 * perf.observeAllocations("frames", () => frames.getMemoryStats().allocations);
 * perf.recordFault("demand-zero");
 * perf.getFaultCount(); // 1
 * ```
 */
export class Perf {
  private recorded = 0;
  private faults = 0;
  private readonly byClass = Object.fromEntries(FAULT_CLASSES.map((c) => [c, 0])) as Record<FaultClass, number>;
  private readonly observed = new Map<string, Observed>();
  private readonly retired = zeroFaultStats();

  /** Counts `count` allocation events (default 1). RangeError for a negative or fractional count. */
  recordAllocation(count = 1): void {
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`perf: allocation count ${count} is not a non-negative integer`);
    this.recorded += count;
  }

  /** Counts one page-fault trap, of class `kind` when known (an outcome kind is accepted too). */
  recordFault(kind?: FaultClass | FaultOutcome["kind"]): void {
    this.faults++;
    if (kind !== undefined) this.byClass[faultClassOf(kind)]++;
  }

  /**
   * Counts allocations made by an allocator that counts its own: `read()` is its running total,
   * and what it counted before this call is left out. Registering a name again replaces it.
   */
  observeAllocations(name: string, read: () => number): void {
    this.observed.set(name, { read, base: read() });
  }

  /** Allocations since the counters started: recorded events plus every observed allocator's. */
  getAllocationCount(): number {
    let n = this.recorded;
    for (const o of this.observed.values()) n += o.read() - o.base;
    return n;
  }

  /** Allocations per observed allocator, then "recorded" for {@link recordAllocation} events. */
  allocationsBySource(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, o] of this.observed) out.set(name, o.read() - o.base);
    out.set("recorded", this.recorded);
    return out;
  }

  /** Page-fault traps recorded. */
  getFaultCount(): number {
    return this.faults;
  }

  /** Page-fault traps recorded, by class. */
  faultsByClass(): Readonly<Record<FaultClass, number>> {
    return { ...this.byClass };
  }

  /** Adds an exited process's fault statistics to the totals kept past its exit. */
  retire(stats: Readonly<FaultStats>): void {
    addFaultStats(this.retired, stats);
  }

  /** Fault handling summed over processes: the exited ones ({@link retire}) plus `live`. */
  processFaults(live: Iterable<Readonly<FaultStats>>): FaultStats {
    const sum = addFaultStats(zeroFaultStats(), this.retired);
    for (const s of live) addFaultStats(sum, s);
    return sum;
  }

  /**
   * Classes where more traps were recorded than the processes handled (`processFaults(live)`):
   * one line each, empty when consistent.
   */
  inconsistencies(live: Iterable<Readonly<FaultStats>>): string[] {
    const handled = this.processFaults(live);
    const out: string[] = [];
    for (const c of FAULT_CLASSES) {
      const field = FAULT_STATS_FIELD[c];
      if (field !== undefined && this.byClass[c] > handled[field]) {
        out.push(`perf recorded ${this.byClass[c]} ${c} fault traps, but the processes handled only ${handled[field]}`);
      }
    }
    return out;
  }
}
