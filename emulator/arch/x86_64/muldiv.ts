/**
 * MUL, IMUL (one, two and three operands), DIV and IDIV, with the 128-bit forms on 32-bit limbs
 * (no bigint except for 128-by-64-bit divides whose operands do not fit in 53 bits).
 * @spec Intel SDM Vol. 2A "MUL", "IMUL", "DIV", "IDIV"
 */
import { RFLAGS, STATUS_FLAGS } from "./defs.js";
import { MASK, szp, type AluHost } from "./alu.js";

const { CF, OF } = RFLAGS;

/** The 128-bit product of the last {@link mul64u}/{@link mul64s}: four 32-bit words, low first. */
export const prod = new Int32Array(4);

/** a * b for unsigned 32-bit a, b: returns the high word, leaves the low word in `mulLo`. */
function mulu32(a: number, b: number): number {
  const aL = a & 0xffff, aH = a >>> 16, bL = b & 0xffff, bH = b >>> 16;
  const ll = aL * bL, lh = aL * bH, hl = aH * bL, hh = aH * bH;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  mulLo = ((mid << 16) | (ll & 0xffff)) >>> 0;
  return hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16);
}
let mulLo = 0;

/** Unsigned 64 x 64 -> 128 into {@link prod}. */
export function mul64u(aLo: number, aHi: number, bLo: number, bHi: number): void {
  const a0 = aLo >>> 0, a1 = aHi >>> 0, b0 = bLo >>> 0, b1 = bHi >>> 0;
  const h00 = mulu32(a0, b0); const l00 = mulLo;
  const h01 = mulu32(a0, b1); const l01 = mulLo;
  const h10 = mulu32(a1, b0); const l10 = mulLo;
  const h11 = mulu32(a1, b1); const l11 = mulLo;
  const w1 = h00 + l01 + l10;
  const w2 = h01 + h10 + l11 + Math.floor(w1 / 4294967296);
  const w3 = h11 + Math.floor(w2 / 4294967296);
  prod[0] = l00;
  prod[1] = w1 % 4294967296;
  prod[2] = w2 % 4294967296;
  prod[3] = w3 % 4294967296;
}

/** Signed 64 x 64 -> 128 into {@link prod}. */
export function mul64s(aLo: number, aHi: number, bLo: number, bHi: number): void {
  mul64u(aLo, aHi, bLo, bHi);
  // signed high half = unsigned high half - (a < 0 ? b : 0) - (b < 0 ? a : 0)  (mod 2^64)
  if (aHi < 0) subHigh(bLo, bHi);
  if (bHi < 0) subHigh(aLo, aHi);
}

/** prod[3]:prod[2] -= hi:lo (mod 2^64). */
function subHigh(lo: number, hi: number): void {
  const l = (prod[2]! >>> 0) - (lo >>> 0);
  prod[3] = ((prod[3]! >>> 0) - (hi >>> 0) - (l < 0 ? 1 : 0)) | 0;
  prod[2] = l | 0;
}

/** CF = OF = `overflow`; SF, ZF, PF from the low result as QEMU (the SDM leaves them undefined), AF = 0. */
function mulFlags(c: AluHost, size: number, lo: number, hi: number, overflow: boolean): void {
  c.rflags = (c.rflags & ~STATUS_FLAGS) | (overflow ? CF | OF : 0) | szp(size, lo, hi);
}

/** Sign-extends the low `size` bytes of v to 32 bits (size < 8). */
export function sx(size: number, v: number): number {
  return size === 4 ? v | 0 : size === 2 ? (v << 16) >> 16 : (v << 24) >> 24;
}

/**
 * Two/three-operand IMUL and the truncating part of one-operand IMUL: rLo/rHi = low `size` bytes of
 * a * b (signed); CF = OF = the product does not fit the operand size. Returns nothing.
 */
export function imulTrunc(c: AluHost, size: number, aLo: number, aHi: number, bLo: number, bHi: number): void {
  if (size === 8) {
    if (aHi === aLo >> 31 && bHi === bLo >> 31) {
      // Both operands are sign-extended 32-bit values: the product fits in 64 bits (no overflow).
      const neg = (aLo ^ bLo) < 0 && aLo !== 0 && bLo !== 0;
      const hiU = mulu32(Math.abs(aLo), Math.abs(bLo));
      let lo = mulLo, hi = hiU;
      if (neg) { lo = (-lo) >>> 0; hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0; }
      c.rLo = lo | 0; c.rHi = hi | 0;
      mulFlags(c, 8, lo | 0, hi | 0, false);
      return;
    }
    // The low 64 bits need one 32x32->64 product and two truncated ones.
    const h0 = mulu32(aLo >>> 0, bLo >>> 0);
    const lo = mulLo | 0;
    const hi = (h0 + Math.imul(aLo, bHi) + Math.imul(aHi, bLo)) | 0;
    c.rLo = lo; c.rHi = hi;
    // Overflow: the magnitude as a double decides unless it is near 2^63 (then the exact product does).
    const p = Math.abs((aHi * 4294967296 + (aLo >>> 0)) * (bHi * 4294967296 + (bLo >>> 0)));
    let overflow: boolean;
    if (p < 2 ** 62) overflow = false;
    else if (p > 2 ** 65) overflow = true;
    else {
      mul64s(aLo, aHi, bLo, bHi);
      const ext = prod[1]! >> 31;
      overflow = prod[2] !== ext || prod[3] !== ext;
    }
    mulFlags(c, 8, lo, hi, overflow);
    return;
  }
  const a = sx(size, aLo), b = sx(size, bLo);
  if (size === 4) {
    const lo = Math.imul(a, b);
    const exact = a * b;
    c.rLo = lo; c.rHi = 0;
    mulFlags(c, 4, lo, 0, exact !== lo);
    return;
  }
  const p = a * b;
  const r = p & MASK[size]!;
  c.rLo = r; c.rHi = 0;
  mulFlags(c, size, r, 0, sx(size, r) !== p);
}

/** What MUL/IMUL/DIV/IDIV read and write besides the ALU outputs: RAX and RDX halves. */
export interface AccHost extends AluHost {
  readonly gl: Int32Array;
  readonly gh: Int32Array;
}

/** One-operand MUL (signed = false) or IMUL: rDX:rAX (or AX) = rAX * src. */
export function mulAcc(c: AccHost, signed: boolean, size: number, sLo: number, sHi: number): void {
  const gl = c.gl, gh = c.gh;
  if (size === 8) {
    if (signed) mul64s(gl[0]!, gh[0]!, sLo, sHi);
    else mul64u(gl[0]!, gh[0]!, sLo, sHi);
    gl[0] = prod[0]!; gh[0] = prod[1]!; gl[2] = prod[2]!; gh[2] = prod[3]!;
    const ext = signed ? prod[1]! >> 31 : 0;
    mulFlags(c, 8, prod[0]!, prod[1]!, prod[2] !== ext || prod[3] !== ext);
    return;
  }
  if (size === 4) {
    if (signed) mul64s(gl[0]!, gl[0]! >> 31, sLo, sLo >> 31);
    else mul64u(gl[0]!, 0, sLo, 0);
    gl[0] = prod[0]!; gh[0] = 0; gl[2] = prod[1]!; gh[2] = 0;
    const ext = signed ? prod[0]! >> 31 : 0;
    mulFlags(c, 4, prod[0]!, 0, prod[1] !== ext);
    return;
  }
  const a = signed ? sx(size, gl[0]!) : gl[0]! & MASK[size]!;
  const b = signed ? sx(size, sLo) : sLo & MASK[size]!;
  const p = a * b;
  if (size === 1) {
    gl[0] = (gl[0]! & ~0xffff) | (p & 0xffff);
    const lo = p & 0xff;
    mulFlags(c, 1, lo, 0, signed ? sx(1, lo) !== p : p > 0xff);
  } else {
    gl[0] = (gl[0]! & ~0xffff) | (p & 0xffff);
    gl[2] = (gl[2]! & ~0xffff) | ((p >> 16) & 0xffff);
    const lo = p & 0xffff;
    mulFlags(c, 2, lo, 0, signed ? sx(2, lo) !== p : p > 0xffff);
  }
}

/**
 * One-operand DIV (signed = false) or IDIV of rDX:rAX (AX for bytes) by src. Returns false for a
 * divide error (#DE: divisor 0 or quotient too large), leaving registers unchanged.
 * Flags are undefined; they are left unchanged (as QEMU).
 */
export function divAcc(c: AccHost, signed: boolean, size: number, sLo: number, sHi: number): boolean {
  const gl = c.gl, gh = c.gh;
  if (size === 8) return div64(c, signed, sLo, sHi);
  const bits = size * 8;
  let dividend: number, divisor: number;
  if (size === 1) {
    const ax = gl[0]! & 0xffff;
    dividend = signed ? (ax << 16) >> 16 : ax;
  } else if (size === 2) {
    const v = ((gl[2]! & 0xffff) << 16) | (gl[0]! & 0xffff);
    dividend = signed ? v : v >>> 0;
  } else {
    dividend = signed ? gl[2]! * 4294967296 + (gl[0]! >>> 0) : (gl[2]! >>> 0) * 4294967296 + (gl[0]! >>> 0);
    if (!Number.isSafeInteger(dividend)) return div64(c, signed, sLo, sHi, true);
  }
  divisor = signed ? sx(size, sLo) : (sLo & MASK[size]!) >>> 0;
  if (divisor === 0) return false;
  const q = Math.trunc(dividend / divisor);
  const r = dividend - q * divisor;
  const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  const min = signed ? -(2 ** (bits - 1)) : 0;
  if (q > max || q < min) return false;
  if (size === 1) {
    gl[0] = (gl[0]! & ~0xffff) | ((r & 0xff) << 8) | (q & 0xff);
  } else if (size === 2) {
    gl[0] = (gl[0]! & ~0xffff) | (q & 0xffff);
    gl[2] = (gl[2]! & ~0xffff) | (r & 0xffff);
  } else {
    gl[0] = q | 0; gh[0] = 0; gl[2] = r | 0; gh[2] = 0;
  }
  return true;
}

/** 128/64 (or, with `half`, 64/32 whose dividend is not a safe integer) divide on bigint. */
function div64(c: AccHost, signed: boolean, sLo: number, sHi: number, half = false): boolean {
  const gl = c.gl, gh = c.gh;
  const u = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  const bits = half ? 32 : 64;
  const B = BigInt(bits);
  let n: bigint, d: bigint;
  if (half) {
    n = (BigInt(gl[2]! >>> 0) << 32n) | BigInt(gl[0]! >>> 0);
    d = BigInt(sLo >>> 0);
    if (signed) { n = BigInt.asIntN(64, n); d = BigInt.asIntN(32, d); }
  } else {
    n = (u(gl[2]!, gh[2]!) << 64n) | u(gl[0]!, gh[0]!);
    d = u(sLo, sHi);
    if (signed) { n = BigInt.asIntN(128, n); d = BigInt.asIntN(64, d); }
  }
  if (d === 0n) return false;
  const q = n / d;
  const r = n % d;
  const max = signed ? (1n << (B - 1n)) - 1n : (1n << B) - 1n;
  const min = signed ? -(1n << (B - 1n)) : 0n;
  if (q > max || q < min) return false;
  const qu = BigInt.asUintN(64, q), ru = BigInt.asUintN(64, r);
  gl[0] = Number(qu & 0xffffffffn) | 0; gh[0] = half ? 0 : Number(qu >> 32n) | 0;
  gl[2] = Number(ru & 0xffffffffn) | 0; gh[2] = half ? 0 : Number(ru >> 32n) | 0;
  return true;
}

