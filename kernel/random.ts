/**
 * The kernel's deterministic random numbers: SplitMix64 (Steele, Lea, Flood, "Fast splittable
 * pseudorandom number generators", OOPSLA 2014; the constants are those of Java's
 * SplittableRandom). Seeded from KernelOptions.seed, so a run with the same seed makes the same
 * draws in the same order: ASLR offsets and AT_RANDOM bytes are reproducible. Never Math.random.
 *
 * 64-bit state and outputs are `bigint`s (draws happen at exec time, not on a hot path).
 */

const MASK64 = (1n << 64n) - 1n;
const GAMMA = 0x9e3779b97f4a7c15n;

/** A SplitMix64 generator: 64-bit state, one 64-bit output per step, period 2^64. */
export class SplitMix64 {
  private state: bigint;

  /** Throws RangeError unless `seed` is a non-negative safe integer. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`random seed ${seed} is not a non-negative integer below 2^53`);
    this.state = BigInt(seed);
  }

  /** The next 64 random bits. */
  next64(): bigint {
    this.state = (this.state + GAMMA) & MASK64;
    let z = this.state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    return z ^ (z >> 31n);
  }

  /** A uniform value in `[0, 2^bits)` (0 ≤ bits ≤ 64; the top bits of one draw). */
  bits(bits: number): bigint {
    if (!Number.isInteger(bits) || bits < 0 || bits > 64) throw new RangeError(`SplitMix64.bits: ${bits} is not in 0..64`);
    return bits === 0 ? 0n : this.next64() >> BigInt(64 - bits);
  }

  /** Fills `out` with random bytes. */
  fill(out: Uint8Array): void {
    let word = 0n;
    for (let i = 0; i < out.length; i++) {
      if (i % 8 === 0) word = this.next64();
      out[i] = Number((word >> BigInt(8 * (i % 8))) & 0xffn);
    }
  }
}
