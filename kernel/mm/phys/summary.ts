/**
 * A host-side hierarchical bit set: the frame bitmap's search index.
 *
 * Level 0 has one bit per item; bit j of level k+1 says "word j of level k is non-zero"; the top
 * level is one 32-bit word. With n items there are ceil(log32 n) levels: 2 for the 1024 bitmap
 * words of 128 MiB, 4 for the 2^19 words of 64 GiB, at most 6 for the largest managed range.
 * {@link SummaryBits.nextSet} reads at most two words per level, so a search costs a handful of
 * word operations at any RAM size (logarithmic with base 32, not linear).
 *
 * Invariant: bit j of level k+1 is set exactly when word j of level k is non-zero. Every mutator
 * keeps it; `nextSet` relies on it when it descends.
 *
 * Indices are below 2^31, so `>>> 5`, `& 31` and `<< 5` are exact on them.
 */

/** Index of the lowest set bit of a non-zero 32-bit value. */
export function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Number of set bits of a 32-bit value. */
export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** Mask of the bits [lo, hi] of a 32-bit word (0 ≤ lo ≤ hi ≤ 31). */
export function bitRange(lo: number, hi: number): number {
  return ((0xffffffff >>> (31 - hi)) & (0xffffffff << lo)) | 0;
}

/** The hierarchical bit set described above; all levels live in host Uint32Arrays. */
export class SummaryBits {
  private readonly levels: Uint32Array[] = [];

  /** @param size number of items (level-0 bits), 1 ≤ size < 2^31; all start clear. */
  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1 || size >= 2 ** 31) throw new RangeError(`SummaryBits: bad size ${size}`);
    let n = size;
    do {
      const words = Math.ceil(n / 32);
      this.levels.push(new Uint32Array(words));
      n = words;
    } while (n > 1);
  }

  /** Number of levels (the search cost in words read, per direction). */
  get depth(): number {
    return this.levels.length;
  }

  get(i: number): boolean {
    return ((this.levels[0]![i >>> 5]! >>> (i & 31)) & 1) === 1;
  }

  /** Sets bit `i`, propagating upwards only when a word becomes non-zero. */
  set(i: number): void {
    const levels = this.levels;
    for (let k = 0; k < levels.length; k++) {
      const level = levels[k]!;
      const w = i >>> 5;
      const was = level[w]!;
      level[w] = was | (1 << (i & 31));
      if (was !== 0) return;
      i = w;
    }
  }

  /** Clears bit `i`, propagating upwards only when a word becomes zero. */
  clear(i: number): void {
    const levels = this.levels;
    for (let k = 0; k < levels.length; k++) {
      const level = levels[k]!;
      const w = i >>> 5;
      const now = level[w]! & ~(1 << (i & 31));
      level[w] = now;
      if (now !== 0) return;
      i = w;
    }
  }

  /** Sets or clears bits [from, to); O((to - from) / 32) word operations. */
  setRange(from: number, to: number, value: boolean): void {
    if (from >= to) return;
    let lo = from;
    let hi = to - 1;
    for (let k = 0; k < this.levels.length; k++) {
      const level = this.levels[k]!;
      const w0 = lo >>> 5;
      const w1 = hi >>> 5;
      if (k === 0) {
        for (let w = w0; w <= w1; w++) {
          const mask = bitRange(w === w0 ? lo & 31 : 0, w === w1 ? hi & 31 : 31);
          level[w] = value ? level[w]! | mask : level[w]! & ~mask;
        }
      } else {
        const below = this.levels[k - 1]!;
        for (let j = lo; j <= hi; j++) {
          const bit = 1 << (j & 31);
          level[j >>> 5] = below[j]! !== 0 ? level[j >>> 5]! | bit : level[j >>> 5]! & ~bit;
        }
      }
      lo = w0;
      hi = w1;
    }
  }

  /** The lowest set bit at index ≥ `from`, or -1. Reads at most two words per level. */
  nextSet(from: number): number {
    if (from >= this.size) return -1;
    let k = 0;
    let i = from;
    for (;;) {
      const level = this.levels[k]!;
      const w = i >>> 5;
      if (w >= level.length) return -1;
      const m = level[w]! & (0xffffffff << (i & 31));
      if (m !== 0) { i = (w << 5) + ctz32(m); break; }
      if (k + 1 === this.levels.length) return -1;
      i = w + 1;
      k++;
    }
    while (k > 0) {
      k--;
      i = (i << 5) + ctz32(this.levels[k]![i]!);
    }
    return i;
  }

  /** Count of set bits (for audits; O(size / 32)). */
  count(): number {
    let n = 0;
    for (const w of this.levels[0]!) n += popcount32(w);
    return n;
  }
}
