/**
 * An arena for short-lived allocations: a cursor that only moves up, reset all at once.
 * There are no headers: the arena's one piece of state is its cursor (held host-side, like a
 * register), so individual objects cannot be freed, and nothing in RAM can be corrupted.
 */
import type { KernelMemory } from "../frames.js";
import { alignUp, fillBytes, hex, isPowerOfTwo, POISON } from "./common.js";

export interface BumpOptions {
  /** First address of the arena. */
  readonly start: number;
  /** Bytes in the arena. */
  readonly size: number;
  /** The memory behind the arena; needed only for debug poisoning. */
  readonly mem?: KernelMemory;
  /** Fill fresh allocations with 0xCD and released memory with 0xDD. */
  readonly debug?: boolean;
}

/** Bump allocation over [start, start+size): `allocate` is O(1); `reset` frees everything. */
export class BumpAllocator {
  readonly start: number;
  readonly size: number;
  private readonly mem: KernelMemory | undefined;
  private top = 0;
  private count = 0;

  /** RangeError for a negative or non-integer range, or debug mode without `mem`. */
  constructor(opts: BumpOptions) {
    if (!Number.isSafeInteger(opts.start) || opts.start < 0) throw new RangeError(`bump: start ${opts.start} is not a non-negative integer`);
    if (!Number.isSafeInteger(opts.size) || opts.size < 0) throw new RangeError(`bump: size ${opts.size} is not a non-negative integer`);
    if (opts.debug === true && opts.mem === undefined) throw new RangeError("bump: debug mode needs the arena's memory");
    this.start = opts.start;
    this.size = opts.size;
    this.mem = opts.debug === true ? opts.mem : undefined;
  }

  /** Bytes handed out since the last reset, alignment padding included. */
  get used(): number {
    return this.top;
  }

  get remaining(): number {
    return this.size - this.top;
  }

  /** Allocations since the last reset. */
  get allocations(): number {
    return this.count;
  }

  /**
   * `size` bytes whose address is a multiple of `align` (a power of two), or undefined when the
   * arena is full. RangeError for a bad size or alignment.
   */
  allocate(size: number, align = 16): number | undefined {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`bump: size ${size} is not a non-negative integer`);
    if (!isPowerOfTwo(align)) throw new RangeError(`bump: alignment ${align} is not a power of two`);
    const addr = alignUp(this.start + this.top, align);
    if (addr + size > this.start + this.size) return undefined;
    this.top = addr + size - this.start;
    this.count++;
    if (this.mem !== undefined) fillBytes(this.mem, addr, size, POISON.FRESH);
    return addr;
  }

  /** The cursor, to {@link release} back to later (a scope inside the arena). */
  mark(): number {
    return this.top;
  }

  /** Frees everything allocated since `mark` was taken. RangeError for a mark above the cursor. */
  release(mark: number): void {
    if (!Number.isSafeInteger(mark) || mark < 0 || mark > this.top) throw new RangeError(`bump: mark ${hex(mark)} is not below the cursor ${hex(this.top)}`);
    if (this.mem !== undefined) fillBytes(this.mem, this.start + mark, this.top - mark, POISON.FREED);
    this.top = mark;
  }

  /** Frees every allocation at once, in O(1) (O(used) in debug mode, which poisons them). */
  reset(): void {
    this.release(0);
    this.count = 0;
  }
}
