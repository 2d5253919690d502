/**
 * Physical memory statistics (the seed design's `getMemoryStats()`).
 *
 * Accounting: `total` counts the frames of every region except DeviceMemory (device registers are
 * not RAM). `used + free` are the Usable frames; `reserved` is every other counted frame, the
 * allocator's own metadata (KernelAndModules) included. So `total = used + free + reserved`.
 */
import { PAGE_SIZE } from "../frames.js";
import { bytesByKind, MEMORY_REGION_KINDS, MemoryRegionKind, type MemoryRegion } from "./regions.js";

/** Frames and bytes of one kind of region. */
export interface KindStats {
  readonly frames: number;
  readonly bytes: number;
}

/** A snapshot of physical memory use; bytes are frames times 4 KiB. */
export interface MemoryStats {
  readonly pageSize: number;
  readonly totalFrames: number;
  readonly usedFrames: number;
  readonly freeFrames: number;
  readonly reservedFrames: number;
  readonly totalBytes: number;
  readonly usedBytes: number;
  readonly freeBytes: number;
  readonly reservedBytes: number;
  /** Every kind, DeviceMemory included (it is reported here but not counted in `total`). */
  readonly byKind: Readonly<Record<MemoryRegionKind, KindStats>>;
  /** Frames handed out since boot (each frame of a contiguous run counts once). */
  readonly allocations: number;
  /** Frames returned to the free pool since boot (a drop of a shared frame's count is not a free). */
  readonly frees: number;
  /** Successful `allocateContiguous` calls. */
  readonly contiguousAllocations: number;
  /** Allocation requests that found no memory. */
  readonly failedAllocations: number;
  readonly peakUsedFrames: number;
  readonly peakUsedBytes: number;
  /** RAM the allocator's own bitmap and frame records occupy. */
  readonly metadataBytes: number;
  /** Use-after-free corruptions found by debug-mode poison checks. */
  readonly corruptionsDetected: number;
}

/** The allocator's counters that statistics are built from. */
export interface AllocatorCounters {
  allocations: number;
  frees: number;
  contiguousAllocations: number;
  failedAllocations: number;
  peakUsedFrames: number;
  corruptionsDetected: number;
}

/** Builds the statistics from the current map, the free count and the counters. O(regions). */
export function buildStats(regions: readonly MemoryRegion[], freeFrames: number, metadataBytes: number, c: AllocatorCounters): MemoryStats {
  const bytes = bytesByKind(regions);
  const byKind = Object.fromEntries(
    MEMORY_REGION_KINDS.map((k) => [k, { frames: bytes[k] / PAGE_SIZE, bytes: bytes[k] }]),
  ) as Record<MemoryRegionKind, KindStats>;
  const totalBytes = MEMORY_REGION_KINDS.reduce((n, k) => (k === MemoryRegionKind.DeviceMemory ? n : n + bytes[k]), 0);
  const totalFrames = totalBytes / PAGE_SIZE;
  const usableFrames = bytes[MemoryRegionKind.Usable] / PAGE_SIZE;
  const usedFrames = usableFrames - freeFrames;
  const reservedFrames = totalFrames - usableFrames;
  return {
    pageSize: PAGE_SIZE,
    totalFrames,
    usedFrames,
    freeFrames,
    reservedFrames,
    totalBytes,
    usedBytes: usedFrames * PAGE_SIZE,
    freeBytes: freeFrames * PAGE_SIZE,
    reservedBytes: reservedFrames * PAGE_SIZE,
    byKind,
    allocations: c.allocations,
    frees: c.frees,
    contiguousAllocations: c.contiguousAllocations,
    failedAllocations: c.failedAllocations,
    peakUsedFrames: c.peakUsedFrames,
    peakUsedBytes: c.peakUsedFrames * PAGE_SIZE,
    metadataBytes,
    corruptionsDetected: c.corruptionsDetected,
  };
}
