/**
 * The kernel's only view of the hardware. `boot/` binds it to an emulated machine; unit tests bind
 * it to a fake backed by plain RAM. The kernel never imports the emulator.
 *
 * Physical memory is accessed as a real kernel does through its direct map: by physical address.
 * 64-bit values are bigint at this boundary; 32-bit accessors exist for hot data (bitmaps, headers).
 * An access outside RAM is a kernel bug: implementations throw `RangeError` naming the address.
 */
export interface PhysMemory {
  read8(pa: number): number;
  write8(pa: number, v: number): void;
  /** Unsigned 32-bit little-endian. */
  read32(pa: number): number;
  write32(pa: number, v: number): void;
  read64(pa: number): bigint;
  write64(pa: number, v: bigint): void;
  /** Fills [pa, pa+len) with `byte`. */
  fill(pa: number, len: number, byte: number): void;
  /** Copies `len` bytes from `src` to `dst` (non-overlapping). */
  copy(dst: number, src: number, len: number): void;
  readBytes(pa: number, len: number): Uint8Array;
  writeBytes(pa: number, bytes: Uint8Array): void;
  /**
   * Optional fast form of {@link write64} for hot paths (page-table entries): writes the 64-bit
   * little-endian word whose low and high 32 bits are `lo` and `hi` (any 32-bit pattern, signed or
   * unsigned) in one access. Without it, callers write the high word, then the low word.
   */
  write64Halves?(pa: number, lo: number, hi: number): void;
  /**
   * Optional fast form of {@link read64} for hot paths: returns the low 32 bits (unsigned) of the
   * 64-bit word at `pa`, and leaves its high 32 bits (unsigned) in {@link lastHigh}.
   */
  read64Low?(pa: number): number;
  /** The high half of the word last read by {@link read64Low}. */
  readonly lastHigh?: number;
}

/** TLB maintenance on the current hart, in the architecture's own terms (mapped by the arch layer). */
export interface TlbControl {
  /** Invalidate the translation of one page in one address space (sfence.vma va, asid / invlpg / tlbi vae1). */
  flushPage(va: bigint, asid: number): void;
  /** Optional fast form of {@link flushPage} for a VA below 2^53 given as a number (no bigint on hot paths). */
  flushPageNumber?(va: number, asid: number): void;
  /**
   * Optional batch form of {@link flushPage} for the pages of one change (a shootdown makes one
   * remote request for all of them, kernel/mm/shootdown.ts); without it, one flushPage each.
   */
  flushPages?(pages: readonly { readonly va: bigint; readonly size: bigint }[], asid: number): void;
  /** Invalidate every non-global translation of one address space. */
  flushAsid(asid: number): void;
  /**
   * Optional: runs `release` once the invalidation just made has completed on every CPU it must
   * reach (a shootdown that waits for other CPUs' acknowledgements defers it, kernel/mm/shootdown.ts);
   * without it, the invalidation is complete on return and callers release at once.
   */
  afterFlush?(release: () => void): void;
  /** Invalidate everything, globals included. */
  flushAll(): void;
}

/**
 * A memory error the platform reports (its RAS error records, as ACPI GHES or a RAS agent hands them
 * to Linux's memory_failure()): the physical address, and whether the hardware corrected the data
 * (so the page's contents are still good and only the frame must go) or not (the data is lost).
 */
export interface MemoryError {
  readonly pa: number;
  readonly corrected: boolean;
}

/** Everything the kernel needs from the machine. */
export interface Hal extends PhysMemory {
  readonly tlb: TlbControl;
  /** Writes bytes to the console. */
  console(bytes: Uint8Array): void;
  /**
   * The memory errors reported since the last call, acknowledging them (and the interrupt that
   * announced them: a "memory-error" trap). Absent on platforms without error reporting.
   */
  takeMemoryErrors?(): MemoryError[];
  /**
   * Usable RAM reads as zero when the kernel starts (the platform cleared it, as firmware that
   * initialises ECC memory does; an emulated machine's RAM starts zeroed). The frame allocator then
   * hands out a frame never used since boot without zeroing it. Absent: false.
   */
  readonly ramZeroedAtBoot?: boolean;
}
