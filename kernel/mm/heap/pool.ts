/**
 * Fixed-size object pools: slabs from a callback, cut into equal slots, with the free list threaded
 * through the free slots themselves and a per-slot allocated bit in each slab's header.
 *
 * Slab layout (a slab is `slabSize` bytes, aligned to `slabSize`, so a slot finds its slab by
 * masking its address); every field is a little-endian u32, addresses take two (low word first):
 * | off | field                                                               |
 * |-----|---------------------------------------------------------------------|
 * | +0  | SLAB_MAGIC XOR stride                                               |
 * | +4  | slots in this slab                                                  |
 * | +8  | next slab (address; 0 = last)                                       |
 * | +16 | root slab of the pool (address): ties the slab to its pool          |
 * | +24 | root slab only: head of the free list (address; 0 = empty)          |
 * | +32 | root slab only: objects in use                                      |
 * | +36 | root slab only: slabs in the pool                                   |
 * | +40 | allocated bitmap: bit i of word i/32 set ⇔ slot i is allocated      |
 * | …   | slots, from the first multiple of 16 after the bitmap, `stride` apart |
 *
 * A free slot's first 8 bytes hold the address of the next free slot (0 = end).
 * Host-side state: `root`, the pool's one static pointer (like a kernel global), and configuration.
 */
import type { KernelMemory } from "../frames.js";
import { PAGE_SIZE } from "../frames.js";
import { alignUp, firstMismatch, HeapError, hex, isPowerOfTwo, POISON, readAddr, writeAddr } from "./common.js";

const SLAB_MAGIC = 0x42414c53;
const S = { MAGIC: 0, SLOTS: 4, NEXT: 8, ROOT: 16, FREE_HEAD: 24, IN_USE: 32, SLABS: 36, BITMAP: 40 } as const;
/** Bytes of a free slot taken by its link. */
const LINK = 8;

export interface PoolOptions {
  /** Bytes per object; slots are this rounded up to a multiple of 8 (at least 8). */
  readonly objectSize: number;
  /** Returns the address of a fresh slab of `slabSize` bytes aligned to `slabSize`, or undefined. */
  readonly getSlab: () => number | undefined;
  /** A power of two (default PAGE_SIZE). */
  readonly slabSize?: number;
  /** Poison fresh slots with 0xCD and freed ones with 0xDD, and check the poison on reuse. */
  readonly debug?: boolean;
}

export interface PoolStats {
  readonly inUse: number;
  readonly capacity: number;
  readonly slabs: number;
}

/**
 * A pool of equal-sized objects. `allocate` and `free` are O(1) (a new slab costs O(slots) once);
 * freed slots are reused last-in, first-out. Throws {@link HeapError} on corruption.
 */
export class PoolAllocator {
  /** Distance between slots: objectSize rounded up to 8. Slots are 8-byte aligned (16 if stride is). */
  readonly stride: number;
  readonly slabSize: number;
  readonly slotsPerSlab: number;
  readonly debug: boolean;
  private readonly firstSlot: number;
  private readonly getSlab: () => number | undefined;
  /** The first slab's address (0 before the first allocation): the pool's root pointer. */
  private root = 0;

  /** RangeError if the object does not fit a slab at least once. */
  constructor(readonly mem: KernelMemory, opts: PoolOptions) {
    if (!Number.isSafeInteger(opts.objectSize) || opts.objectSize <= 0) throw new RangeError(`pool: object size ${opts.objectSize} is not a positive integer`);
    this.slabSize = opts.slabSize ?? PAGE_SIZE;
    if (!isPowerOfTwo(this.slabSize)) throw new RangeError(`pool: slab size ${this.slabSize} is not a power of two`);
    this.stride = alignUp(Math.max(opts.objectSize, LINK), 8);
    this.debug = opts.debug ?? false;
    this.getSlab = opts.getSlab;
    let slots = Math.floor((this.slabSize - S.BITMAP) / this.stride);
    while (slots > 0 && firstSlotFor(slots) + slots * this.stride > this.slabSize) slots--;
    if (slots === 0) throw new RangeError(`pool: a ${opts.objectSize}-byte object does not fit a ${this.slabSize}-byte slab`);
    this.slotsPerSlab = slots;
    this.firstSlot = firstSlotFor(slots);
  }

  /** A free object's address (0xCD-filled in debug mode), or undefined when no slab can be had. */
  allocate(): number | undefined {
    if (this.root === 0 || this.rootGet(S.FREE_HEAD) === 0) {
      if (!this.addSlab()) return undefined;
    }
    const slot = this.rootGet(S.FREE_HEAD);
    const { base, index } = this.slotOf(slot, "allocate");
    if (this.bit(base, index)) throw new HeapError(`pool: free list corrupted: it links to ${hex(slot)}, which is allocated`, slot);
    if (this.debug) {
      const bad = firstMismatch(this.mem, slot + LINK, this.stride - LINK, POISON.FREED);
      if (bad >= 0) throw new HeapError(`pool: slot ${hex(slot)} written after free at ${hex(bad)} (byte ${hex(this.mem.read8(bad))})`, slot);
    }
    this.rootSet(S.FREE_HEAD, readAddr(this.mem, slot));
    this.setBit(base, index, true);
    this.rootSet(S.IN_USE, this.rootGet(S.IN_USE) + 1);
    if (this.debug) this.mem.fill(slot, this.stride, POISON.FRESH);
    return slot;
  }

  /** {@link allocate}, zeroed. */
  allocateZeroed(): number | undefined {
    const slot = this.allocate();
    if (slot !== undefined) this.mem.fill(slot, this.stride, 0);
    return slot;
  }

  /**
   * Returns an object to the pool; it is the next one `allocate` hands out. HeapError for an
   * address that is not a slot of this pool, or a slot that is not allocated (double free).
   */
  free(addr: number): void {
    const { base, index } = this.slotOf(addr, "free");
    if (!this.bit(base, index)) throw new HeapError(`pool: double free of ${hex(addr)}`, addr);
    this.setBit(base, index, false);
    if (this.debug) this.mem.fill(addr, this.stride, POISON.FREED);
    writeAddr(this.mem, addr, this.rootGet(S.FREE_HEAD));
    this.rootSet(S.FREE_HEAD, addr);
    this.rootSet(S.IN_USE, this.rootGet(S.IN_USE) - 1);
  }

  stats(): PoolStats {
    const slabs = this.root === 0 ? 0 : this.rootGet(S.SLABS);
    return { inUse: this.root === 0 ? 0 : this.rootGet(S.IN_USE), capacity: slabs * this.slotsPerSlab, slabs };
  }

  /**
   * Walks every slab and the free list: magic and ownership of each slab, allocated bits against
   * the in-use count, free-list links (free slots only, no loops, every free slot listed), and
   * (debug) the poison of free slots. One line per problem.
   */
  check(): string[] {
    if (this.root === 0) return [];
    const problems: string[] = [];
    let slabs = 0;
    let allocated = 0;
    for (let s = this.root; s !== 0 && slabs <= this.rootGet(S.SLABS); s = readAddr(this.mem, s + S.NEXT)) {
      if (!this.isOurSlab(s)) {
        problems.push(`slab at ${hex(s)} has a bad header`);
        return problems;
      }
      slabs++;
      for (let i = 0; i < this.slotsPerSlab; i++) if (this.bit(s, i)) allocated++;
    }
    if (slabs !== this.rootGet(S.SLABS)) problems.push(`slab chain holds ${slabs} slabs, the root says ${this.rootGet(S.SLABS)}`);
    if (allocated !== this.rootGet(S.IN_USE)) problems.push(`${allocated} slots are marked allocated, the root says ${this.rootGet(S.IN_USE)} in use`);
    const seen = new Set<number>();
    for (let slot = this.rootGet(S.FREE_HEAD); slot !== 0; slot = readAddr(this.mem, slot)) {
      let loc: { base: number; index: number };
      try {
        loc = this.slotOf(slot, "check");
      } catch (e) {
        problems.push(`free list links to ${hex(slot)}: ${(e as Error).message}`);
        break;
      }
      if (seen.has(slot)) {
        problems.push(`free list loops back to ${hex(slot)}`);
        break;
      }
      seen.add(slot);
      if (this.bit(loc.base, loc.index)) problems.push(`free list links to ${hex(slot)}, which is allocated`);
      if (this.debug) {
        const bad = firstMismatch(this.mem, slot + LINK, this.stride - LINK, POISON.FREED);
        if (bad >= 0) problems.push(`slot ${hex(slot)} written after free at ${hex(bad)}`);
      }
    }
    const free = slabs * this.slotsPerSlab - allocated;
    if (seen.size !== free) problems.push(`free list holds ${seen.size} slots, ${free} slots are free`);
    return problems;
  }

  private addSlab(): boolean {
    const base = this.getSlab();
    if (base === undefined) return false;
    if (!Number.isSafeInteger(base) || base <= 0 || base % this.slabSize !== 0) {
      throw new HeapError(`pool: slab ${hex(base)} from getSlab is not aligned to ${this.slabSize}`, base);
    }
    const m = this.mem;
    m.fill(base, this.firstSlot, 0);
    m.write32(base + S.MAGIC, (SLAB_MAGIC ^ this.stride) >>> 0);
    m.write32(base + S.SLOTS, this.slotsPerSlab);
    if (this.root === 0) {
      this.root = base;
    } else {
      writeAddr(m, base + S.NEXT, readAddr(m, this.root + S.NEXT));
      writeAddr(m, this.root + S.NEXT, base);
    }
    writeAddr(m, base + S.ROOT, this.root);
    this.rootSet(S.SLABS, this.rootGet(S.SLABS) + 1);
    const slots = base + this.firstSlot;
    if (this.debug) m.fill(slots, this.slotsPerSlab * this.stride, POISON.FREED);
    let head = this.rootGet(S.FREE_HEAD);
    for (let i = this.slotsPerSlab - 1; i >= 0; i--) {
      writeAddr(m, slots + i * this.stride, head);
      head = slots + i * this.stride;
    }
    this.rootSet(S.FREE_HEAD, head);
    return true;
  }

  /** The slab and slot index of `addr`, or a HeapError saying why it is not one of our slots. */
  private slotOf(addr: number, op: string): { base: number; index: number } {
    if (!Number.isSafeInteger(addr) || addr <= 0) throw new HeapError(`pool: ${op} of wild pointer ${hex(addr)}`, addr);
    const base = addr - (addr % this.slabSize);
    if (!this.isOurSlab(base)) throw new HeapError(`pool: ${op} of wild pointer ${hex(addr)} (no slab of this pool at ${hex(base)})`, addr);
    const index = (addr - base - this.firstSlot) / this.stride;
    if (!Number.isInteger(index) || index < 0 || index >= this.slotsPerSlab) {
      throw new HeapError(`pool: ${op} of wild pointer ${hex(addr)} (not a slot boundary in the slab at ${hex(base)})`, addr);
    }
    return { base, index };
  }

  private isOurSlab(base: number): boolean {
    return this.mem.read32(base + S.MAGIC) >>> 0 === (SLAB_MAGIC ^ this.stride) >>> 0
      && this.mem.read32(base + S.SLOTS) >>> 0 === this.slotsPerSlab
      && readAddr(this.mem, base + S.ROOT) === this.root;
  }

  private bit(base: number, index: number): boolean {
    return ((this.mem.read32(base + S.BITMAP + 4 * (index >>> 5)) >>> (index & 31)) & 1) === 1;
  }

  private setBit(base: number, index: number, on: boolean): void {
    const va = base + S.BITMAP + 4 * (index >>> 5);
    const w = this.mem.read32(va);
    this.mem.write32(va, on ? w | (1 << (index & 31)) : w & ~(1 << (index & 31)));
  }

  private rootGet(field: number): number {
    return field === S.FREE_HEAD ? readAddr(this.mem, this.root + field) : this.mem.read32(this.root + field) >>> 0;
  }

  private rootSet(field: number, v: number): void {
    if (field === S.FREE_HEAD) writeAddr(this.mem, this.root + field, v);
    else this.mem.write32(this.root + field, v >>> 0);
  }
}

/** Offset of the first slot in a slab of `slots` slots: after the header and bitmap, 16-aligned. */
function firstSlotFor(slots: number): number {
  return alignUp(S.BITMAP + 4 * Math.ceil(slots / 32), 16);
}
