/**
 * How a machine with several harts (or CPUs) interleaves them. Harts run one at a time in slices;
 * the schedule picks the next hart and the slice length. Both schedules are pure functions of their
 * configuration, so a run is reproducible: the same seed gives the same interleaving.
 *
 * - Round robin: hart 0, 1, ..., n-1, 0, ... each for `quantum` instructions.
 * - Seeded random (`seed` given): a hart chosen uniformly, for 1 to 2·quantum instructions, both
 *   drawn from a xorshift128 generator whose state is mixed from the seed (for concurrency tests:
 *   different seeds give different interleavings).
 */

/** Default instructions per slice with more than one hart. */
export const DEFAULT_QUANTUM = 1000;

/** Schedule options of a machine. */
export interface ScheduleOptions {
  /** Instructions per slice (round robin), or the mean slice length (random). Default {@link DEFAULT_QUANTUM}. */
  quantum?: number;
  /** Seed of the random schedule; round robin when absent. */
  seed?: number;
}

/** Picks the next hart and slice. */
export class Schedule {
  readonly quantum: number;
  readonly seed: number | undefined;
  private next = 0;
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /** Throws RangeError for a quantum that is not a whole number >= 1 or a seed that is not a safe integer >= 0. */
  constructor(readonly harts: number, opts: ScheduleOptions = {}) {
    this.quantum = opts.quantum ?? DEFAULT_QUANTUM;
    if (!Number.isSafeInteger(this.quantum) || this.quantum < 1) throw new RangeError(`schedule: quantum ${this.quantum} is not a whole number >= 1`);
    this.seed = opts.seed;
    if (opts.seed !== undefined) {
      if (!Number.isSafeInteger(opts.seed) || opts.seed < 0) throw new RangeError(`schedule: seed ${opts.seed} is not a whole number below 2^53`);
      // A murmur3-finalizer expansion of the seed into the 128-bit state (s3 is odd: never all zero).
      let z = (opts.seed % 4294967296) ^ Math.imul(Math.floor(opts.seed / 4294967296), 0x9e3779b9);
      const mix = (): number => {
        z = (z + 0x9e3779b9) | 0;
        let t = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
        t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
        return (t ^ (t >>> 16)) | 0;
      };
      this.s0 = mix(); this.s1 = mix(); this.s2 = mix(); this.s3 = mix() | 1;
    }
  }

  /** The hart of the next slice. */
  pickHart(): number {
    if (this.seed === undefined) {
      const h = this.next;
      this.next = (h + 1) % this.harts;
      return h;
    }
    return this.draw() % this.harts;
  }

  /** The length of the next slice, in instructions. */
  sliceLength(): number {
    return this.seed === undefined ? this.quantum : 1 + (this.draw() % (2 * this.quantum));
  }

  /** xorshift128: a uniform 32-bit draw, as an unsigned number. */
  private draw(): number {
    let t = this.s3;
    const s = this.s0;
    this.s3 = this.s2;
    this.s2 = this.s1;
    this.s1 = s;
    t ^= t << 11;
    t ^= t >>> 8;
    this.s0 = t ^ s ^ (s >>> 19);
    return this.s0 >>> 0;
  }
}
