/**
 * The running kernel's `getMemoryStats()`: the frame allocator's statistics (flat, as
 * `FrameAllocator.getMemoryStats()` gives them), plus the kernel heap's, the page faults handled
 * summed over processes, and the perf counters.
 */
import type { GlobalAllocator, HeapStats } from "./heap/index.js";
import type { Perf, FaultClass } from "./perf.js";
import type { FrameAllocator } from "./phys/allocator.js";
import type { MemoryStats } from "./phys/stats.js";
import type { FaultStats } from "./process-memory.js";

/** A snapshot of the kernel's memory use. */
export interface KernelMemoryStats extends MemoryStats {
  /** The kernel heap (undefined before boot has created it). */
  readonly heap: HeapStats | undefined;
  /** Faults handled, by class, summed over every process that ran (exited ones included). */
  readonly faults: FaultStats;
  /** Page-fault traps taken from user mode, by class (`perf.faultsByClass()`). */
  readonly faultTraps: Readonly<Record<FaultClass, number>>;
  /** `perf.getFaultCount()`. */
  readonly faultCount: number;
  /** `perf.getAllocationCount()`: frames and heap blocks allocated since boot, plus recorded events. */
  readonly allocationCount: number;
}

/** Builds the snapshot; `live` are the fault statistics of the processes still in the table. O(regions + processes). */
export function kernelMemoryStats(frames: FrameAllocator, heap: GlobalAllocator | undefined, perf: Perf, live: Iterable<Readonly<FaultStats>>): KernelMemoryStats {
  return {
    ...frames.getMemoryStats(),
    heap: heap?.stats(),
    faults: perf.processFaults(live),
    faultTraps: perf.faultsByClass(),
    faultCount: perf.getFaultCount(),
    allocationCount: perf.getAllocationCount(),
  };
}
