/**
 * The global heap's in-RAM format and the one class that reads and writes it.
 *
 * ```
 * start ─► ┌───────────────────────────── control block (CTL_SIZE = 176 bytes) ┐
 *          │ magic · brk · class bitmap · counters · 32 free-list heads          │
 *          ├───────────────── block ─────────────────┬─────────── block ─────────┤ …  ┌ brk
 *          │ header 16 │ payload (+ red zones) │ ftr 8 │ header 16 │ … │ ftr 8 │    │ unmapped
 *          └───────────┴───────────────────────┴───────┴───────────┴───┴───────┘    └ up to maxSize
 * ```
 *
 * Block header (16 bytes at the block's start; every field a little-endian u32):
 * | off | used block                  | free block                              |
 * |-----|-----------------------------|-----------------------------------------|
 * | +0  | size \| USED                | size                                    |
 * | +4  | seal = MAGIC_USED ^ hash    | seal = MAGIC_FREE ^ hash                |
 * | +8  | requested payload bytes     | next free block in its class (0 = none) |
 * | +12 | owner id (0 = none)         | previous free block (0 = none)          |
 *
 * `hash` covers the block's offset and the three other words, so any change to a header that did
 * not come through {@link HeapRam.writeHeader} breaks the seal. Footer (8 bytes at the block's
 * end): `size | USED`, then that word XOR FOOTER_MAGIC. Sizes are multiples of 16 and include
 * header and footer. Links and heads are byte offsets from `start` (0 is the control block, so it
 * never names a block); the heap is below 4 GiB, so they fit a u32.
 *
 * Free blocks sit on segregated lists: class c holds sizes in [2^c, 2^(c+1)), and bit c of the
 * bitmap is set exactly when list c is non-empty. Lists are doubly linked, LIFO.
 */
import type { KernelMemory } from "../frames.js";
import { HeapError, hex } from "./common.js";

/** Control-block fields: byte offsets from the heap's start, each a u32. */
export const CTL = {
  /** HEAP_MAGIC once initialized. */
  MAGIC: 0,
  /** Bytes of the range backed so far (a multiple of PAGE_SIZE): blocks end here. */
  BRK: 4,
  /** Bit c set ⇔ free list c is non-empty. */
  BITMAP: 8,
  ALLOCATIONS: 16,
  FREES: 20,
  /** Allocations that returned undefined. */
  FAILURES: 24,
  USED_BLOCKS: 28,
  /** Bytes of used blocks, headers, footers and red zones included. */
  USED_BYTES: 32,
  /** Payload bytes callers asked for, summed over used blocks. */
  REQUESTED_BYTES: 36,
  FREE_BLOCKS: 40,
  FREE_BYTES: 44,
  /** NUM_CLASSES u32 list heads. */
  HEADS: 48,
} as const;

export const NUM_CLASSES = 32;
export const CTL_SIZE = CTL.HEADS + 4 * NUM_CLASSES;
/** Offset of the first block. */
export const FIRST_BLOCK = CTL_SIZE;
/** "HEAP" in little-endian ASCII. */
export const HEAP_MAGIC = 0x50414548;

export const HEADER = 16;
export const FOOTER = 8;
/** Block sizes and block starts are multiples of this. */
export const GRANULE = 16;
/** A free block needs a header, a footer and room to stay a multiple of 16. */
export const MIN_BLOCK = 32;

const USED = 1;
const SIZE_MASK = ~(GRANULE - 1);
const MAGIC_USED = 0xa110c8ed;
const MAGIC_FREE = 0xf2eeb10c;
const MAGIC_DEAD = 0xdeadb10c;
const FOOTER_MAGIC = 0xf007e2a5;

/** A header that passed its seal check. */
export interface BlockHeader {
  /** Offset of the block from the heap's start. */
  readonly off: number;
  readonly size: number;
  readonly used: boolean;
  /** Used: requested payload bytes. Free: next free block's offset. */
  readonly a: number;
  /** Used: owner id. Free: previous free block's offset. */
  readonly b: number;
}

function hash(off: number, w0: number, a: number, b: number): number {
  let h = Math.imul(off ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ w0, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ a, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ b, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Size class of a block size: floor(log2(size)). */
export function classOf(size: number): number {
  return 31 - Math.clz32(size);
}

/** Reads and writes the heap's control block, headers, footers and free lists in RAM. */
export class HeapRam {
  constructor(readonly mem: KernelMemory, readonly start: number) {}

  /** A control-block field. */
  get(field: number): number {
    return this.mem.read32(this.start + field) >>> 0;
  }

  set(field: number, v: number): void {
    this.mem.write32(this.start + field, v >>> 0);
  }

  add(field: number, delta: number): void {
    this.set(field, this.get(field) + delta);
  }

  /** Kernel virtual address of an offset. */
  va(off: number): number {
    return this.start + off;
  }

  get brk(): number {
    return this.get(CTL.BRK);
  }

  /** The raw seal word of the header at `off` (for error messages). */
  rawSeal(off: number): number {
    return this.mem.read32(this.start + off + 4) >>> 0;
  }

  /** The header at `off`, or undefined if its seal is wrong or its size runs past brk. */
  readHeader(off: number): BlockHeader | undefined {
    const p = this.start + off;
    const w0 = this.mem.read32(p) >>> 0;
    const seal = this.mem.read32(p + 4) >>> 0;
    const a = this.mem.read32(p + 8) >>> 0;
    const b = this.mem.read32(p + 12) >>> 0;
    const used = (w0 & USED) !== 0;
    if ((seal ^ hash(off, w0, a, b)) >>> 0 !== (used ? MAGIC_USED : MAGIC_FREE)) return undefined;
    const size = (w0 & SIZE_MASK) >>> 0;
    if (size < MIN_BLOCK || off + size > this.brk) return undefined;
    return { off, size, used, a, b };
  }

  /** Writes and seals a header. */
  writeHeader(off: number, size: number, used: boolean, a: number, b: number): void {
    const p = this.start + off;
    const w0 = (size | (used ? USED : 0)) >>> 0;
    this.mem.write32(p, w0);
    this.mem.write32(p + 4, (hash(off, w0, a, b) ^ (used ? MAGIC_USED : MAGIC_FREE)) >>> 0);
    this.mem.write32(p + 8, a >>> 0);
    this.mem.write32(p + 12, b >>> 0);
  }

  /** Breaks the seal of a header that coalescing absorbed, so a stale pointer to it fails. */
  kill(off: number): void {
    const p = this.start + off;
    const r = (o: number) => this.mem.read32(p + o) >>> 0;
    this.mem.write32(p + 4, (hash(off, r(0), r(8), r(12)) ^ MAGIC_DEAD) >>> 0);
  }

  writeFooter(off: number, size: number, used: boolean): void {
    const p = this.start + off + size - FOOTER;
    const w0 = (size | (used ? USED : 0)) >>> 0;
    this.mem.write32(p, w0);
    this.mem.write32(p + 4, (w0 ^ FOOTER_MAGIC) >>> 0);
  }

  /** What the footer ending at offset `end` says about its block, or undefined if it is damaged. */
  readFooter(end: number): { size: number; used: boolean } | undefined {
    const p = this.start + end - FOOTER;
    const w0 = this.mem.read32(p) >>> 0;
    if ((this.mem.read32(p + 4) ^ FOOTER_MAGIC) >>> 0 !== w0) return undefined;
    const size = (w0 & SIZE_MASK) >>> 0;
    if (size < MIN_BLOCK || size > end - FIRST_BLOCK) return undefined;
    return { size, used: (w0 & USED) !== 0 };
  }

  /** Head of free list `c` (0 = empty). */
  head(c: number): number {
    return this.get(CTL.HEADS + 4 * c);
  }

  /**
   * The free block at `off`, reached through a link of the block at `from` (or a list head when
   * `from` is 0). Throws HeapError if it is not a sealed free block.
   */
  linked(off: number, from: number): BlockHeader {
    const h = this.readHeader(off);
    if (h === undefined || h.used) {
      const who = from === 0 ? "a free-list head" : `free block at ${hex(this.va(from))}`;
      const what = h === undefined ? `seal ${hex(this.rawSeal(off))} is invalid` : "it is in use";
      throw new HeapError(`heap: free list corrupted: ${who} links to ${hex(this.va(off))}, but ${what}`, this.va(off));
    }
    return h;
  }

  /** Makes [off, off+size) a free block at the head of its class list (header, footer, links). */
  insert(off: number, size: number): void {
    const c = classOf(size);
    const first = this.head(c);
    if (first !== 0) {
      const f = this.linked(first, 0);
      this.writeHeader(first, f.size, false, f.a, off);
    }
    this.writeHeader(off, size, false, first, 0);
    this.writeFooter(off, size, false);
    this.set(CTL.HEADS + 4 * c, off);
    this.set(CTL.BITMAP, this.get(CTL.BITMAP) | (1 << c));
  }

  /** Unlinks a free block from its class list (its own header is left as it was). */
  remove(h: BlockHeader): void {
    const c = classOf(h.size);
    if (h.b !== 0) {
      const p = this.linked(h.b, h.off);
      if (p.a !== h.off) throw this.badLink(p, h);
      this.writeHeader(p.off, p.size, false, h.a, p.b);
    } else {
      if (this.head(c) !== h.off) {
        throw new HeapError(`heap: free list corrupted: free block at ${hex(this.va(h.off))} has no predecessor but is not the head of class ${c}`, this.va(h.off));
      }
      this.set(CTL.HEADS + 4 * c, h.a);
      if (h.a === 0) this.set(CTL.BITMAP, this.get(CTL.BITMAP) & ~(1 << c));
    }
    if (h.a !== 0) {
      const n = this.linked(h.a, h.off);
      if (n.b !== h.off) throw this.badLink(n, h);
      this.writeHeader(n.off, n.size, false, n.a, h.b);
    }
  }

  private badLink(neighbour: BlockHeader, h: BlockHeader): HeapError {
    const at = this.va(neighbour.off);
    return new HeapError(`heap: free list corrupted: free blocks at ${hex(this.va(h.off))} and ${hex(at)} do not link back to each other`, at);
  }
}
