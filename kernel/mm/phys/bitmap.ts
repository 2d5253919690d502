/**
 * The frame bitmap, stored in emulated RAM: 1 bit per 4 KiB frame of the managed range.
 *
 * Layout: frame i is bit (i & 31) of the little-endian 32-bit word at `base + 4 * (i >>> 5)`.
 * Bit set = unavailable (allocated, or not Usable, or past the end of the range); clear = free.
 * Every read and write of a bit goes through {@link PhysMemory}; RAM is the truth.
 *
 * The host keeps one derived index, a {@link SummaryBits} with a bit per bitmap word that has a
 * free frame, and a free-frame counter. Both can be rebuilt from RAM ({@link FrameBitmap.rebuild}).
 * The summary is only a hint: a search always confirms a candidate by reading its RAM word, and a
 * summary bit that RAM contradicts (a word that is full after all) is cleared on the spot. So a
 * corrupted bitmap changes what the allocator does, exactly as on a real machine.
 */
import type { PhysMemory } from "../../hal.js";
import { bitRange, ctz32, popcount32, SummaryBits } from "./summary.js";

const FULL = 0xffffffff;
/** Middle words of a range are processed in blocks of this many bytes of bitmap. */
const BLOCK_BYTES = 64 * 1024;

/** The RAM frame bitmap plus its host-side search summary and free counter. */
export class FrameBitmap {
  /** Number of 32-bit words. */
  readonly words: number;
  /** Bytes of RAM the bitmap occupies (`4 * words`). */
  readonly bytes: number;
  private readonly summary: SummaryBits;
  private free = 0;

  /**
   * Takes over [base, base + bytes) and marks every frame unavailable (the boot state).
   * @param frames number of frames, 1 ≤ frames < 2^31; `base` is 4-byte aligned.
   */
  constructor(private readonly mem: PhysMemory, readonly base: number, readonly frames: number) {
    this.words = Math.ceil(frames / 32);
    this.bytes = this.words * 4;
    this.summary = new SummaryBits(this.words);
    mem.fill(base, this.bytes, 0xff);
  }

  /** Free frames, as counted by the host (equal to the clear bits in RAM unless RAM was corrupted). */
  get freeFrames(): number {
    return this.free;
  }

  /** Words read per summary search (the allocation cost bound, see SummaryBits). */
  get searchDepth(): number {
    return this.summary.depth;
  }

  private wordAddr(w: number): number {
    return this.base + 4 * w;
  }

  /** Whether frame `i` is unavailable, read from RAM. */
  isSet(i: number): boolean {
    return ((this.mem.read32(this.wordAddr(i >>> 5)) >>> (i & 31)) & 1) === 1;
  }

  /**
   * The lowest free frame at index ≥ `from`, or -1. Cost: one summary search per RAM word tried,
   * and a word is tried twice only if RAM contradicts the summary (then the hint is corrected).
   */
  nextFree(from: number): number {
    let i = from;
    while (i < this.frames) {
      const w = this.summary.nextSet(i >>> 5);
      if (w < 0) return -1;
      const word = this.mem.read32(this.wordAddr(w));
      const lowest = w === i >>> 5 ? i & 31 : 0;
      const free = ~word & (FULL << lowest);
      if (free !== 0) {
        const idx = w * 32 + ctz32(free);
        return idx < this.frames ? idx : -1;
      }
      if ((word | 0) === -1) this.summary.clear(w);
      i = (w + 1) * 32;
    }
    return -1;
  }

  /** The first unavailable frame in [first, first + count), read from RAM, or -1 if all are free. */
  firstSet(first: number, count: number): number {
    const last = first + count - 1;
    const w0 = first >>> 5;
    const w1 = last >>> 5;
    for (let w = w0; w <= w1; w++) {
      const mask = bitRange(w === w0 ? first & 31 : 0, w === w1 ? last & 31 : 31);
      const hit = this.mem.read32(this.wordAddr(w)) & mask;
      if (hit !== 0) return w * 32 + ctz32(hit);
    }
    return -1;
  }

  /** Marks frame `i` unavailable (`used`) or free; returns whether its bit changed. */
  setBit(i: number, used: boolean): boolean {
    const w = i >>> 5;
    const bit = 1 << (i & 31);
    const old = this.mem.read32(this.wordAddr(w));
    const now = used ? old | bit : old & ~bit;
    if ((now | 0) === (old | 0)) return false;
    this.mem.write32(this.wordAddr(w), now);
    this.free += used ? -1 : 1;
    this.note(w, now);
    return true;
  }

  /**
   * Marks [first, first + count) unavailable or free and returns how many bits changed.
   * O(count / 32): edge words by read32/write32, whole words in blocks by readBytes/fill.
   */
  setRange(first: number, count: number, used: boolean): number {
    if (count <= 0) return 0;
    const last = first + count - 1;
    const w0 = first >>> 5;
    const w1 = last >>> 5;
    let changed = 0;
    const edge = (w: number, mask: number): void => {
      const old = this.mem.read32(this.wordAddr(w));
      const now = used ? old | mask : old & ~mask;
      changed += popcount32((old ^ now) & mask);
      this.mem.write32(this.wordAddr(w), now);
      this.note(w, now);
    };
    if (w0 === w1) {
      edge(w0, bitRange(first & 31, last & 31));
    } else {
      let mid0 = w0;
      let mid1 = w1;
      if ((first & 31) !== 0) { edge(w0, bitRange(first & 31, 31)); mid0++; }
      if ((last & 31) !== 31) { edge(w1, bitRange(0, last & 31)); mid1--; }
      for (let w = mid0; w <= mid1; w += BLOCK_BYTES / 4) {
        const n = Math.min(BLOCK_BYTES / 4, mid1 + 1 - w);
        const bytes = this.mem.readBytes(this.wordAddr(w), 4 * n);
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        for (let j = 0; j < n; j++) {
          const ones = popcount32(view.getUint32(4 * j, true));
          changed += used ? 32 - ones : ones;
        }
        this.mem.fill(this.wordAddr(w), 4 * n, used ? 0xff : 0);
      }
      this.summary.setRange(mid0, mid1 + 1, !used);
    }
    this.free += used ? -changed : changed;
    return changed;
  }

  private note(w: number, word: number): void {
    if ((word | 0) === -1) this.summary.clear(w);
    else this.summary.set(w);
  }

  /** Re-derives the host summary and free counter from RAM. O(frames / 32) word reads. */
  rebuild(): void {
    this.summary.setRange(0, this.words, false);
    this.free = 0;
    for (let w = 0; w < this.words; w++) {
      const word = this.mem.read32(this.wordAddr(w));
      this.free += 32 - popcount32(word);
      if ((word | 0) !== -1) this.summary.set(w);
    }
  }

  /** Discrepancies between RAM and the host summary/counter (empty when consistent). O(frames / 32). */
  audit(): string[] {
    const problems: string[] = [];
    let free = 0;
    for (let w = 0; w < this.words; w++) {
      const word = this.mem.read32(this.wordAddr(w));
      free += 32 - popcount32(word);
      const hasFree = (word | 0) !== -1;
      if (hasFree !== this.summary.get(w)) {
        problems.push(`bitmap word ${w} (frames ${w * 32}..${w * 32 + 31}) is 0x${(word >>> 0).toString(16)} but the summary says ${hasFree ? "full" : "has a free frame"}`);
      }
    }
    if (free !== this.free) problems.push(`bitmap has ${free} free frames in RAM but the host counts ${this.free}`);
    return problems;
  }
}
