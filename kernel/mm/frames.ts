/**
 * What the rest of the memory manager needs from the physical frame allocator
 * (kernel/mm/phys implements it; tests may fake it).
 */
export interface FrameSource {
  /** A zeroed 4 KiB frame's physical address, or undefined when memory is exhausted. */
  allocateFrame(owner?: string): number | undefined;
  /** Drops one reference to the frame; frees it (zeroing or poisoning it) when none remain. */
  freeFrame(pa: number): void;
}

/** Kernel memory addressed by kernel virtual address (the heap lives in such a range). */
export interface KernelMemory {
  read32(va: number): number;
  write32(va: number, v: number): void;
  read8(va: number): number;
  write8(va: number, v: number): void;
  fill(va: number, len: number, byte: number): void;
}

export const PAGE_SIZE = 4096;

/** A frame source with reference counts, for frames shared between address spaces (copy-on-write). */
export interface SharedFrames extends FrameSource {
  /** Adds one reference to an allocated frame. */
  addRef(pa: number): void;
  /** References the frame has (0 if free). */
  refCount(pa: number): number;
}
