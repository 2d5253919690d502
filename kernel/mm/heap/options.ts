/** Configuration and reports of the global heap (kernel/mm/heap/global.ts). */

export interface GlobalAllocatorOptions {
  /** First address of the heap's virtual range; page aligned. */
  readonly start: number;
  /** Bytes reserved for the heap: a multiple of PAGE_SIZE, below 4 GiB. */
  readonly maxSize: number;
  /**
   * Backs [at, at+bytes) — the next `bytes` (a multiple of PAGE_SIZE) after what is backed so far —
   * with memory, e.g. by mapping frames. Returns false to refuse; the allocation then fails.
   */
  readonly grow: (bytes: number, at: number) => boolean;
  /** Bytes backed at construction (rounded up to pages; default one page). */
  readonly initialSize?: number;
  /** Least bytes asked of `grow` at a time (a multiple of PAGE_SIZE; default one page). */
  readonly growStep?: number;
  /** Red zones, poisoned fresh and freed memory, and the matching checks. */
  readonly debug?: boolean;
  /** Red-zone bytes on each side of a payload in debug mode (rounded up to 16; default 16). */
  readonly redZone?: number;
}

export interface HeapStats {
  /** Bytes backed so far (the heap's current size). */
  readonly heapSize: number;
  readonly maxSize: number;
  /** Payload bytes callers asked for, over live allocations. */
  readonly bytesInUse: number;
  /** Bytes of used blocks, including headers, footers, red zones and padding. */
  readonly blockBytesInUse: number;
  readonly freeBytes: number;
  readonly usedBlocks: number;
  readonly freeBlocks: number;
  /** Size of the largest free block, header and footer included. */
  readonly largestFreeBlock: number;
  /** 1 - largestFreeBlock / freeBytes: 0 when all free memory is one block. */
  readonly fragmentation: number;
  readonly allocations: number;
  readonly frees: number;
  /** Allocations that returned undefined. */
  readonly failures: number;
}

/** Live allocations of one owner. */
export interface OwnerUsage {
  readonly count: number;
  /** Requested payload bytes. */
  readonly bytes: number;
}
