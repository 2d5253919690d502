/**
 * SiFive CLINT (core-local interruptor): machine software interrupts and the machine timer.
 *
 * Reference: SiFive FU540-C000 manual, chapter 9 "Core Local Interruptor (CLINT)"; the RISC-V
 * privileged spec §3.2.1 "Machine Timer Registers (mtime and mtimecmp)".
 *
 * ```
 *   0x0000 + 4h   msip[h]      bit 0 drives mip.MSIP of hart h; other bits read 0
 *   0x4000 + 8h   mtimecmp[h]  64-bit; resets to 2^64-1; mip.MTIP of hart h = mtime >= mtimecmp[h]
 *   0xBFF8        mtime        64-bit; counts the machine's ticks; writable
 * ```
 *
 * 64-bit registers are accessed as two 32-bit halves (low word at the lower address); 1- and
 * 2-byte accesses act on the bytes they cover. Representation: mtime and mtimecmp can exceed
 * 2^53, so they are kept as uint32 halves in numbers and compared as 64-bit unsigned values;
 * mtime is `now()` plus an offset (mod 2^64) that writes to mtime set.
 */
import type { MmioDevice } from "../core/memory.js";

/** Register block offsets and the CLINT's size on the bus. */
export const CLINT_MSIP = 0x0, CLINT_MTIMECMP = 0x4000, CLINT_MTIME = 0xbff8, CLINT_SIZE = 0x10000;
/** Most harts the register layout has room for (mtimecmp[4095] would overlap mtime). */
export const CLINT_MAX_HARTS = 4095;

const TWO32 = 2 ** 32;
/** Tick distances at or beyond this (2^53) are reported as Infinity by nextTimerDeadline. */
const FAR_HI = 2 ** 21;

/** A SiFive CLINT for `harts` harts, its time base supplied by the machine. */
export class Clint implements MmioDevice {
  readonly name = "clint";
  /** Called after every write to any register, so harts can re-evaluate their interrupts. */
  onChange?: () => void;
  private readonly msip: Uint8Array;
  private readonly cmpLo: Uint32Array;
  private readonly cmpHi: Uint32Array;
  /** mtime = now() + (offHi:offLo) mod 2^64. */
  private offLo = 0;
  private offHi = 0;
  /** Scratch output of {@link sample}: the current mtime halves. */
  private tLo = 0;
  private tHi = 0;

  /**
   * @param harts number of harts, 1..{@link CLINT_MAX_HARTS}
   * @param now the machine's current tick count: a non-negative integer below 2^53
   * @throws RangeError if `harts` is out of range
   */
  constructor(readonly harts: number, private readonly now: () => number) {
    if (!Number.isInteger(harts) || harts < 1 || harts > CLINT_MAX_HARTS) {
      throw new RangeError(`Clint: harts ${harts} is not an integer in [1, ${CLINT_MAX_HARTS}]`);
    }
    this.msip = new Uint8Array(harts);
    this.cmpLo = new Uint32Array(harts).fill(0xffffffff);
    this.cmpHi = new Uint32Array(harts).fill(0xffffffff);
  }

  /** Whether hart `h`'s timer interrupt is pending: mtime >= mtimecmp[h] (64-bit unsigned). */
  timerPending(h: number): boolean {
    this.checkHart(h);
    this.sample();
    const hi = this.cmpHi[h]!;
    return this.tHi > hi || (this.tHi === hi && this.tLo >= this.cmpLo[h]!);
  }

  /** Whether hart `h`'s software interrupt is pending (msip[h] bit 0). */
  softwarePending(h: number): boolean {
    this.checkHart(h);
    return this.msip[h] !== 0;
  }

  /**
   * Ticks from now until hart `h`'s timer fires: 0 if it is pending, Infinity if mtimecmp is
   * 2^53 or more ticks away (including the reset value 2^64-1). Writes invalidate the answer
   * (see {@link onChange}).
   */
  nextTimerDeadline(h: number): number {
    if (this.timerPending(h)) return 0;
    let lo = this.cmpLo[h]! - this.tLo;
    let borrow = 0;
    if (lo < 0) {
      lo += TWO32;
      borrow = 1;
    }
    const hi = this.cmpHi[h]! - this.tHi - borrow;
    return hi >= FAR_HI ? Infinity : hi * TWO32 + lo;
  }

  /** The current mtime (host-side helper). */
  mtime(): bigint {
    this.sample();
    return (BigInt(this.tHi) << 32n) | BigInt(this.tLo);
  }

  /** Hart `h`'s mtimecmp (host-side helper). */
  mtimecmp(h: number): bigint {
    this.checkHart(h);
    return (BigInt(this.cmpHi[h]!) << 32n) | BigInt(this.cmpLo[h]!);
  }

  /** Reads `size` bytes at `offset`; unimplemented offsets read 0. */
  read(offset: number, size: 1 | 2 | 4): number {
    const shift = (offset & 3) * 8;
    if ((offset & 3) + size <= 4) {
      const word = this.readWord(offset - (offset & 3));
      return size === 4 ? word : (word >>> shift) & (size === 1 ? 0xff : 0xffff);
    }
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.read(offset + i, 1) << (8 * i);
    return v >>> 0;
  }

  /** Writes the low `size` bytes of `value` at `offset`, then calls {@link onChange}. */
  write(offset: number, size: 1 | 2 | 4, value: number): void {
    if ((offset & 3) + size <= 4) {
      const base = offset - (offset & 3);
      if (size === 4) this.writeWord(base, value >>> 0);
      else {
        const shift = (offset & 3) * 8;
        const mask = (size === 1 ? 0xff : 0xffff) << shift;
        this.writeWord(base, ((this.readWord(base) & ~mask) | ((value << shift) & mask)) >>> 0);
      }
    } else {
      for (let i = 0; i < size; i++) this.writeByteQuietly(offset + i, (value >>> (8 * i)) & 0xff);
    }
    this.onChange?.();
  }

  private writeByteQuietly(offset: number, byte: number): void {
    const base = offset - (offset & 3);
    const shift = (offset & 3) * 8;
    this.writeWord(base, ((this.readWord(base) & ~(0xff << shift)) | (byte << shift)) >>> 0);
  }

  /** The aligned 32-bit register word at `off`. */
  private readWord(off: number): number {
    if (off < CLINT_MTIMECMP) {
      const h = off >>> 2;
      return h < this.harts ? this.msip[h]! : 0;
    }
    if (off < CLINT_MTIME) {
      const h = (off - CLINT_MTIMECMP) >>> 3;
      if (h >= this.harts) return 0;
      return off & 4 ? this.cmpHi[h]! : this.cmpLo[h]!;
    }
    if (off === CLINT_MTIME || off === CLINT_MTIME + 4) {
      this.sample();
      return off === CLINT_MTIME ? this.tLo : this.tHi;
    }
    return 0;
  }

  /** Writes the aligned 32-bit register word at `off` (`v` is uint32). */
  private writeWord(off: number, v: number): void {
    if (off < CLINT_MTIMECMP) {
      const h = off >>> 2;
      if (h < this.harts) this.msip[h] = v & 1;
    } else if (off < CLINT_MTIME) {
      const h = (off - CLINT_MTIMECMP) >>> 3;
      if (h >= this.harts) return;
      if (off & 4) this.cmpHi[h] = v;
      else this.cmpLo[h] = v;
    } else if (off === CLINT_MTIME || off === CLINT_MTIME + 4) {
      this.sample();
      if (off === CLINT_MTIME) this.setMtime(this.tHi, v);
      else this.setMtime(v, this.tLo);
    }
  }

  /** Sets the offset so that mtime reads (hi:lo) now. */
  private setMtime(hi: number, lo: number): void {
    const n = this.now();
    let dLo = lo - (n % TWO32);
    let borrow = 0;
    if (dLo < 0) {
      dLo += TWO32;
      borrow = 1;
    }
    let dHi = hi - Math.floor(n / TWO32) - borrow;
    if (dHi < 0) dHi += TWO32;
    this.offLo = dLo;
    this.offHi = dHi;
  }

  /** Computes the current mtime into tLo/tHi. */
  private sample(): void {
    // Without `%` on doubles (a floating-point remainder, called twice per interrupt check):
    // n < 2^53, so nHi < 2^21 and the high sum stays below 2^33.
    const n = this.now();
    const nHi = Math.floor(n / TWO32);
    let lo = n - nHi * TWO32 + this.offLo;
    let carry = 0;
    if (lo >= TWO32) {
      lo -= TWO32;
      carry = 1;
    }
    this.tLo = lo;
    const hi = nHi + this.offHi + carry;
    this.tHi = hi >= TWO32 ? hi - TWO32 : hi;
  }

  private checkHart(h: number): void {
    if (!(h >= 0 && h < this.harts && Number.isInteger(h))) throw new RangeError(`Clint: hart ${h} is not in [0, ${this.harts})`);
  }
}
