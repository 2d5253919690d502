/**
 * The physical frame allocator: hands out 4 KiB frames of Usable RAM.
 *
 * State in emulated RAM (DESIGN.md principle 2), in one block the constructor reserves:
 *   [frame bitmap: 1 bit per frame][freed bitmap: 1 bit per frame][records: 4 bytes per frame]
 * (see FrameBitmap and FrameRecords). The host keeps only derived data: the bitmap's search
 * summary, counters, the region list (the boot map plus run-time reservations) and the owner index.
 *
 * Placement: a single frame is searched for from the last frame handed out (next fit), or from the
 * lowest frame freed since, when that is lower. So frames freed a moment ago are handed out again
 * first, as Linux's per-CPU lists of hot pages do: they are zeroed already (at free), and on an
 * emulated machine the host memory behind them is resident, where a never-used frame's is not.
 *
 * Cost: a single-frame allocation is a search through a hierarchical summary of the bitmap
 * (SummaryBits: at most two host words per level, ceil(log32(frames / 32)) levels — 2 at 128 MiB,
 * 3 at 4 GiB, 4 at 64 GiB), one RAM word read-modify-write, one record write, the owner-index insert and a
 * binary search of the region list; then the 4 KiB zeroing. None of it scans RAM-sized data.
 *
 * Frame indices (relative to the managed base) are below 2^31 so bit operations on them are exact;
 * physical addresses are numbers below 2^53 and are never used in bit operations.
 */
import type { PhysMemory } from "../../hal.js";
import { KernelPanic } from "../../panic.js";
import { PAGE_SIZE, type FrameSource } from "../frames.js";
import { FrameBitmap } from "./bitmap.js";
import { FrameRecords, MAX_REFCOUNT } from "./frame-records.js";
import type { InjectHook } from "../../inject.js";
import { OwnerTable } from "./owners.js";
import { poisonBreak, poisonFrame, POISON_WORD } from "./poison.js";
import { metadataBytesFor, placeMetadata } from "./layout.js";
import { BootError, carveRegion, firstHole, hex, MemoryRegionKind, regionIndexAt, validateMemoryMap, type MemoryRegion } from "./regions.js";
import { buildStats, type AllocatorCounters, type MemoryStats } from "./stats.js";

/** The managed range starts on a 2 MiB boundary so that 2 MiB-aligned runs start on a bitmap word. */
const MANAGED_ALIGN = 512 * PAGE_SIZE;
/** Frame indices must stay below 2^31 (8 TiB of managed range). */
const MAX_FRAMES = 2 ** 31 - 1;

/** A use after free found in debug mode: a word of a free frame that no longer holds the poison. */
export interface UseAfterFree {
  readonly frame: number;
  readonly offset: number;
  readonly found: number;
  readonly lastOwner: string;
  readonly message: string;
}

/** Boot-time choices for a {@link FrameAllocator}. */
export interface FrameAllocatorOptions {
  /**
   * Physical address (4 KiB aligned) of space for the allocator's metadata ({@link FrameAllocator.metadataBytes}),
   * inside Usable, KernelAndModules or Reserved regions; Usable parts become KernelAndModules.
   * Default: the start of the first Usable region large enough, which becomes KernelAndModules.
   */
  readonly bitmapAt?: number;
  /** Poison freed frames with 0xDEADBEEF and check the poison when a frame is handed out again. */
  readonly debug?: boolean;
  /**
   * Usable RAM holds zeros at boot (Hal.ramZeroedAtBoot): a frame never freed since boot is handed
   * out as it is, without zeroing (outside debug mode, which zeroes every frame it hands out).
   */
  readonly zeroedAtBoot?: boolean;
  /** Called with each use after free found in debug mode (after it is recorded in `corruptions`). */
  readonly onCorruption?: (report: UseAfterFree) => void;
}

/**
 * The kernel's physical frame allocator (one per machine; no global state).
 *
 * @example
 * ```ts
 * const frames = new FrameAllocator(hal, bootInfo.memoryMap, { debug: true });
 * const pa = frames.allocateFrame("proc 3");          // zeroed 4 KiB frame, or undefined
 * const huge = frames.allocateContiguous(512, 512);   // a 2 MiB page
 * frames.freeFrame(pa!);
 * ```
 */
export class FrameAllocator implements FrameSource {
  /** First physical address of the managed range (2 MiB aligned). */
  readonly managedBase: number;
  /** End (exclusive) of the managed range. */
  readonly managedEnd: number;
  /** Physical address of the metadata block. */
  readonly metadataBase: number;
  /** Bytes of the metadata block (a multiple of 4 KiB). */
  readonly metadataBytes: number;
  readonly debug: boolean;
  /** See {@link FrameAllocatorOptions.zeroedAtBoot}. */
  readonly zeroedAtBoot: boolean;
  /** Use-after-free reports, in the order found (debug mode). */
  readonly corruptions: UseAfterFree[] = [];

  private map: MemoryRegion[];
  private readonly onCorruption: ((report: UseAfterFree) => void) | undefined;
  private readonly frames: number;
  private readonly bitmap: FrameBitmap;
  private readonly records: FrameRecords;
  private readonly owners = new OwnerTable();
  private usableFrames = 0;
  /** Where the next single-frame search starts (see the module comment). */
  private hint = 0;
  /** Allocated frames found bad: retired (made BadMemory) when their last reference is freed. */
  private readonly retiring = new Set<number>();
  private readonly counters: AllocatorCounters = {
    allocations: 0, frees: 0, contiguousAllocations: 0, failedAllocations: 0, peakUsedFrames: 0, corruptionsDetected: 0,
  };

  /**
   * Takes over the Usable RAM of `memoryMap` (validated here) and writes the allocator's metadata.
   * Boot cost is O(RAM / 32768) bytes of bitmap writes; the per-frame records are not initialised.
   * @throws BootError for a bad map, a map without RAM, or no room for the metadata.
   */
  constructor(private readonly mem: PhysMemory, memoryMap: readonly MemoryRegion[], options: FrameAllocatorOptions = {}) {
    this.debug = options.debug ?? false;
    this.zeroedAtBoot = options.zeroedAtBoot ?? false;
    this.onCorruption = options.onCorruption;
    const map = validateMemoryMap(memoryMap);
    const ram = map.filter((r) => r.kind !== MemoryRegionKind.DeviceMemory);
    if (ram.length === 0) throw new BootError("memory map has no RAM (only DeviceMemory regions)");
    this.managedBase = Math.floor(ram[0]!.base / MANAGED_ALIGN) * MANAGED_ALIGN;
    this.managedEnd = ram[ram.length - 1]!.base + ram[ram.length - 1]!.size;
    this.frames = (this.managedEnd - this.managedBase) / PAGE_SIZE;
    if (this.frames > MAX_FRAMES) {
      throw new BootError(`memory map: managed range [${hex(this.managedBase)}, ${hex(this.managedEnd)}) exceeds ${MAX_FRAMES} frames`);
    }
    this.metadataBytes = metadataBytesFor(this.frames);
    const placed = placeMetadata(map, this.metadataBytes, options.bitmapAt);
    this.metadataBase = placed.base;
    this.map = placed.map;
    this.bitmap = new FrameBitmap(mem, this.metadataBase, this.frames);
    this.records = new FrameRecords(mem, this.metadataBase + this.bitmap.bytes, this.frames);
    for (const r of this.map) {
      if (r.kind === MemoryRegionKind.Usable) this.bitmap.setRange(this.indexOf(r.base), r.size / PAGE_SIZE, false);
    }
    this.usableFrames = this.bitmap.freeFrames;
  }

  /** The memory map as it is now: the boot map with the metadata and run-time reservations carved in. */
  get regions(): readonly MemoryRegion[] {
    return this.map.map((r) => ({ ...r }));
  }

  private indexOf(pa: number): number {
    return (pa - this.managedBase) / PAGE_SIZE;
  }

  private addrOf(i: number): number {
    return this.managedBase + i * PAGE_SIZE;
  }

  private kindAt(pa: number): MemoryRegionKind | undefined {
    const i = regionIndexAt(this.map, pa);
    return i < 0 ? undefined : this.map[i]!.kind;
  }

  /**
   * Allocates one zeroed frame (in debug mode, first checks that its poison is intact).
   * @param owner who the frame is for (leak tracking and panic messages), e.g. `"proc 3"`.
   * @returns its physical address, or undefined when no Usable frame is free.
   */
  allocatePhysicalPage(owner?: string): number | undefined {
    let i = this.bitmap.nextFree(this.hint);
    if (i < 0 && this.hint > 0) i = this.bitmap.nextFree(0);
    if (i < 0) { this.counters.failedAllocations++; return undefined; }
    this.assertUsable(i, 1);
    this.bitmap.setBit(i, true);
    this.hint = i + 1 < this.frames ? i + 1 : 0;
    this.handOut(i, 1, owner);
    return this.addrOf(i);
  }

  /** Fault injection (kernel/inject.ts): consulted first by {@link allocateFrame}; true fails the call. */
  inject: InjectHook | undefined;

  /** {@link FrameSource} name of {@link allocatePhysicalPage}; fails when {@link inject} says so (point "frame-alloc"). */
  allocateFrame(owner?: string): number | undefined {
    if (this.inject?.("frame-alloc", { owner })) { this.counters.failedAllocations++; return undefined; }
    return this.allocatePhysicalPage(owner);
  }

  /**
   * Allocates `count` physically contiguous zeroed frames whose first frame number is a multiple of
   * `alignFrames` (a power of two), e.g. `(512, 512)` for a 2 MiB page. Each frame has its own
   * reference count and is freed on its own (or with {@link freeContiguous}).
   * Cost: first fit from the bottom of RAM; grows with the number of used frames it must skip
   * (jumps over fully used bitmap words through the summary), not with the size of free RAM.
   * @returns the first frame's physical address, or undefined when no such run is free.
   * @throws RangeError if `count` or `alignFrames` is not a positive integer, or `alignFrames` is not a power of two.
   */
  allocateContiguous(count: number, alignFrames = 1, owner?: string): number | undefined {
    if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`allocateContiguous: bad frame count ${count}`);
    if (!Number.isSafeInteger(alignFrames) || alignFrames < 1 || (alignFrames & (alignFrames - 1)) !== 0 || alignFrames > MAX_FRAMES) {
      throw new RangeError(`allocateContiguous: alignment ${alignFrames} frames is not a power of two`);
    }
    const basePfn = this.managedBase / PAGE_SIZE;
    const alignUp = (i: number): number => Math.ceil((basePfn + i) / alignFrames) * alignFrames - basePfn;
    let s = 0;
    for (;;) {
      const f = this.bitmap.nextFree(s);
      if (f < 0) break;
      s = alignUp(f);
      if (s + count > this.frames) break;
      const used = this.bitmap.firstSet(s, count);
      if (used < 0) {
        this.assertUsable(s, count);
        this.bitmap.setRange(s, count, true);
        this.handOut(s, count, owner);
        this.counters.contiguousAllocations++;
        return this.addrOf(s);
      }
      s = used + 1;
    }
    this.counters.failedAllocations++;
    return undefined;
  }

  /** Panics if frames [i, i + count) are not all Usable: the bitmap called them free, so RAM is corrupt. */
  private assertUsable(i: number, count: number): void {
    let pa = this.addrOf(i);
    const end = pa + count * PAGE_SIZE;
    if (pa >= this.usableBase && end <= this.usableEnd) return;
    while (pa < end) {
      const r = regionIndexAt(this.map, pa);
      if (r < 0 || this.map[r]!.kind !== MemoryRegionKind.Usable) {
        throw new KernelPanic(`frame bitmap corrupt: frame ${hex(pa)} ${r < 0 ? "outside the memory map" : `in a ${this.map[r]!.kind} region`} is marked free`);
      }
      this.usableBase = this.map[r]!.base;
      pa = this.usableEnd = this.map[r]!.base + this.map[r]!.size;
    }
  }

  /** The Usable region {@link assertUsable} checked last (empty until then, and after the map changes). */
  private usableBase = 0;
  private usableEnd = 0;

  /**
   * Records, checks and zeroes frames [i, i + count) that were just marked allocated. A frame freed
   * before was zeroed by freeFrame and nothing writes a free frame, so only never-freed frames (and,
   * in debug mode, poisoned ones) are zeroed here; never-freed frames not even that when RAM was
   * zeroed at boot ({@link FrameAllocatorOptions.zeroedAtBoot}).
   */
  private handOut(i: number, count: number, owner: string | undefined): void {
    const id = this.owners.idOf(owner);
    for (let k = i; k < i + count; k++) {
      const freedBefore = this.records.wasFreed(k);
      if (this.debug && freedBefore) this.checkPoison(k);
      if (this.debug || (!freedBefore && !this.zeroedAtBoot)) this.mem.fill(this.addrOf(k), PAGE_SIZE, 0);
      this.records.write(k, 1, id);
      this.owners.add(id, k);
    }
    this.counters.allocations += count;
    this.counters.peakUsedFrames = Math.max(this.counters.peakUsedFrames, this.usableFrames - this.bitmap.freeFrames);
  }

  private checkPoison(i: number): void {
    const pa = this.addrOf(i);
    const hit = poisonBreak(this.mem, pa);
    if (hit === undefined) return;
    const lastOwner = this.owners.nameOf(this.records.ownerId(i));
    const report: UseAfterFree = {
      frame: pa, offset: hit.offset, found: hit.found, lastOwner,
      message: `use after free: frame ${hex(pa)} offset ${hex(hit.offset)} holds ${hex(hit.found)}, not ${hex(POISON_WORD)} (last owner: ${lastOwner})`,
    };
    this.corruptions.push(report);
    this.counters.corruptionsDetected++;
    this.onCorruption?.(report);
  }

  /**
   * The frame index of `pa` for operation `op`, or a panic naming the frame: not frame-aligned,
   * outside the managed range, outside the map, or in a region that is not Usable.
   */
  private checkFrame(pa: number, op: string): number {
    if (!Number.isSafeInteger(pa) || pa % PAGE_SIZE !== 0) throw new KernelPanic(`invalid ${op} of ${hex(pa)}: not frame-aligned`);
    if (pa < this.managedBase || pa >= this.managedEnd) {
      throw new KernelPanic(`invalid ${op} of frame ${hex(pa)}: outside managed RAM [${hex(this.managedBase)}, ${hex(this.managedEnd)})`);
    }
    const kind = this.kindAt(pa);
    if (kind === undefined) throw new KernelPanic(`invalid ${op} of frame ${hex(pa)}: not in the memory map`);
    if (kind !== MemoryRegionKind.Usable) throw new KernelPanic(`invalid ${op} of frame ${hex(pa)}: in a ${kind} region`);
    return this.indexOf(pa);
  }

  /** Index of an allocated frame, or a panic naming it (double free / never allocated). */
  private checkAllocated(pa: number, op: string): number {
    const i = this.checkFrame(pa, op);
    if (!this.bitmap.isSet(i)) {
      if (this.records.wasFreed(i)) {
        const owner = this.owners.nameOf(this.records.ownerId(i));
        const what = op === "free" ? "double free of frame" : `${op} of freed frame`;
        throw new KernelPanic(`${what} ${hex(pa)} (owner: ${owner})`);
      }
      throw new KernelPanic(`invalid ${op} of frame ${hex(pa)}: never allocated`);
    }
    if (this.records.refCount(i) === 0) {
      throw new KernelPanic(`frame records corrupt: allocated frame ${hex(pa)} has reference count 0`);
    }
    return i;
  }

  /**
   * Drops one reference to the frame at `pa`; at zero the frame is zeroed (poisoned in debug mode)
   * and returned to the free pool.
   * @throws KernelPanic naming the frame for a double free or an invalid free (misaligned, outside
   *   managed RAM, in a non-Usable region, never allocated).
   */
  freeFrame(pa: number): void {
    const i = this.checkAllocated(pa, "free");
    const rc = this.records.refCount(i);
    const id = this.records.ownerId(i);
    if (rc > 1) { this.records.write(i, rc - 1, id); return; }
    if (this.retiring.size > 0 && this.retiring.has(pa)) {
      this.retiring.delete(pa);
      this.records.write(i, 0, id);
      this.bitmap.setBit(i, false);
      this.owners.remove(id, i);
      this.counters.frees++;
      this.reserveRange(pa, PAGE_SIZE, MemoryRegionKind.BadMemory);
      return;
    }
    if (this.debug) poisonFrame(this.mem, pa);
    else this.mem.fill(pa, PAGE_SIZE, 0);
    this.records.write(i, 0, id);
    this.records.markFreed(i);
    this.bitmap.setBit(i, false);
    if (i < this.hint) this.hint = i;
    this.owners.remove(id, i);
    this.counters.frees++;
  }

  /**
   * Takes the frame at `pa` out of service for good (a memory error): a free frame becomes
   * BadMemory at once ("withdrawn"); an allocated one when its last reference is freed ("pending";
   * its contents are not touched on that free, since they may be unreadable). Returns which.
   * @throws RangeError for a frame outside managed Usable RAM.
   */
  retire(pa: number): "withdrawn" | "pending" {
    if (this.kindAt(pa) !== MemoryRegionKind.Usable) throw new RangeError(`retire: ${hex(pa)} is not a Usable frame`);
    if (this.refCount(pa) === 0) {
      this.reserveRange(pa, PAGE_SIZE, MemoryRegionKind.BadMemory);
      return "withdrawn";
    }
    this.retiring.add(pa);
    return "pending";
  }

  /** Frames waiting to be retired when freed ({@link retire}). */
  get retiringFrames(): readonly number[] {
    return [...this.retiring];
  }

  /** Frees `count` frames starting at `pa` (a run from {@link allocateContiguous}), one reference each. */
  freeContiguous(pa: number, count: number): void {
    for (let k = 0; k < count; k++) this.freeFrame(pa + k * PAGE_SIZE);
  }

  /**
   * Adds a reference to an allocated frame (a shared or copy-on-write page); each reference needs
   * its own {@link freeFrame}.
   * @throws KernelPanic for a frame that is not allocated, or a count that would pass 65535.
   */
  addRef(pa: number): void {
    const i = this.checkAllocated(pa, "addRef");
    const rc = this.records.refCount(i);
    if (rc >= MAX_REFCOUNT) throw new KernelPanic(`reference count overflow on frame ${hex(pa)}`);
    this.records.write(i, rc + 1, this.records.ownerId(i));
  }

  /**
   * References held on the frame at `pa`: 0 if it is free or not Usable.
   * @throws RangeError if `pa` is not frame-aligned or outside the managed range.
   */
  refCount(pa: number): number {
    if (!Number.isSafeInteger(pa) || pa % PAGE_SIZE !== 0 || pa < this.managedBase || pa >= this.managedEnd) {
      throw new RangeError(`refCount: ${hex(pa)} is not a managed frame address`);
    }
    if (this.kindAt(pa) !== MemoryRegionKind.Usable) return 0;
    const i = this.indexOf(pa);
    return this.bitmap.isSet(i) ? this.records.refCount(i) : 0;
  }

  /** Owner of an allocated frame, or undefined if it is not allocated. Same address rules as {@link refCount}. */
  ownerOf(pa: number): string | undefined {
    return this.refCount(pa) > 0 ? this.owners.nameOf(this.records.ownerId(this.indexOf(pa))) : undefined;
  }

  /**
   * Marks [base, base + size) as `kind` at run time (e.g. BadMemory found by a memory test): its free
   * Usable frames are withdrawn and it is never handed out again.
   * @throws RangeError if the range is misaligned, empty, not covered by the map, overlaps the
   *   allocator's metadata, contains an allocated frame, or `kind` is Usable or DeviceMemory.
   */
  reserveRange(base: number, size: number, kind: MemoryRegionKind): void {
    const what = `reserveRange [${hex(base)}, +${hex(size)}) ${kind}`;
    if (kind === MemoryRegionKind.Usable || kind === MemoryRegionKind.DeviceMemory) throw new RangeError(`${what}: kind must be a reserved kind`);
    if (!Number.isSafeInteger(base) || !Number.isSafeInteger(size) || size <= 0 || base % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0) {
      throw new RangeError(`${what}: not a non-empty 4 KiB aligned range`);
    }
    const end = base + size;
    if (base < this.managedBase || end > this.managedEnd) throw new RangeError(`${what}: outside managed RAM`);
    const hole = firstHole(this.map, base, size);
    if (hole !== undefined) throw new RangeError(`${what}: ${hex(hole)} is not in the memory map`);
    if (base < this.metadataBase + this.metadataBytes && this.metadataBase < end) throw new RangeError(`${what}: overlaps the frame allocator's metadata`);
    const usable = this.map.filter((r) => r.kind === MemoryRegionKind.Usable && r.base < end && base < r.base + r.size);
    for (const r of usable) {
      const lo = Math.max(base, r.base);
      const used = this.bitmap.firstSet(this.indexOf(lo), (Math.min(end, r.base + r.size) - lo) / PAGE_SIZE);
      if (used >= 0) throw new RangeError(`${what}: frame ${hex(this.addrOf(used))} is allocated (owner: ${this.owners.nameOf(this.records.ownerId(used))})`);
    }
    for (const r of usable) {
      const lo = Math.max(base, r.base);
      const frames = (Math.min(end, r.base + r.size) - lo) / PAGE_SIZE;
      this.bitmap.setRange(this.indexOf(lo), frames, true);
      this.usableFrames -= frames;
    }
    this.map = carveRegion(this.map, base, size, kind);
    this.usableEnd = 0;
  }

  /** Live frame count per owner (first-use order; allocations without an owner are `(anonymous)`). */
  allocationsByOwner(): Map<string, number> {
    return this.owners.counts();
  }

  /** Physical addresses of the frames `owner` still holds, ascending: its leaks once it has exited. */
  leaksOf(owner: string): number[] {
    return this.owners.framesOf(owner).map((i) => this.addrOf(i));
  }

  /** Totals, per-kind sizes and counters (see MemoryStats). O(regions). */
  getMemoryStats(): MemoryStats {
    return buildStats(this.map, this.bitmap.freeFrames, this.metadataBytes, this.counters);
  }

  /**
   * Compares the host's derived state with RAM: the bitmap summary and free count, and the
   * owner index against the used count. Returns the discrepancies (empty when consistent). O(RAM / 32768).
   */
  audit(): string[] {
    const problems = this.bitmap.audit();
    const used = this.usableFrames - this.bitmap.freeFrames;
    const live = this.owners.liveFrames();
    if (live !== used) problems.push(`owner index holds ${live} frames but ${used} are allocated`);
    return problems;
  }

  /** Re-derives the bitmap's host summary and free count from RAM (after RAM was changed behind the allocator's back). */
  rebuildSummary(): void {
    this.bitmap.rebuild();
  }

  /** Summary levels a search walks: the allocation cost bound (2 at 128 MiB, 3 at 4 GiB, 4 at 64 GiB). */
  get searchDepth(): number {
    return this.bitmap.searchDepth;
  }
}
