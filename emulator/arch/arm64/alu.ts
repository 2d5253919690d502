/**
 * Integer helpers on 64-bit values held as int32 halves: shifts, flag-setting addition, condition
 * codes, operand shifts and extends, bitfield moves, multiply, divide and the bit-counting ops.
 * Results go to a caller-provided {@link Pair} so nothing is allocated per instruction.
 * @spec Arm ARM (DDI 0487) J1 shared pseudocode: AddWithCarry, ConditionHolds, ShiftReg,
 *   ExtendReg, DecodeBitMasks; C6 pages of SBFM/UBFM/BFM, MADD/UMULH/SMULH, UDIV/SDIV, CLS/CLZ/RBIT/REV
 */
import { PSR } from "./defs.js";

/** A 64-bit result as int32 halves. */
export interface Pair {
  lo: number;
  hi: number;
}

const N = PSR.N, Z = PSR.Z, C = PSR.C, V = PSR.V;

/** (hi:lo) << s for s in [0, 63]. */
export function shl64(t: Pair, lo: number, hi: number, s: number): void {
  if (s === 0) { t.lo = lo; t.hi = hi; }
  else if (s < 32) { t.hi = (hi << s) | (lo >>> (32 - s)); t.lo = lo << s; }
  else { t.hi = lo << (s - 32); t.lo = 0; }
}

/** (hi:lo) >>> s (logical) for s in [0, 63]. */
export function lsr64(t: Pair, lo: number, hi: number, s: number): void {
  if (s === 0) { t.lo = lo; t.hi = hi; }
  else if (s < 32) { t.lo = (lo >>> s) | (hi << (32 - s)); t.hi = (hi >>> s) | 0; }
  else { t.lo = (hi >>> (s - 32)) | 0; t.hi = 0; }
}

/** (hi:lo) >> s (arithmetic) for s in [0, 63]. */
export function asr64(t: Pair, lo: number, hi: number, s: number): void {
  if (s === 0) { t.lo = lo; t.hi = hi; }
  else if (s < 32) { t.lo = (lo >>> s) | (hi << (32 - s)); t.hi = hi >> s; }
  else { t.lo = hi >> (s - 32); t.hi = hi >> 31; }
}

/** Rotate right of (hi:lo) by s in [0, 63]. */
export function ror64(t: Pair, lo: number, hi: number, s: number): void {
  if (s === 0) { t.lo = lo; t.hi = hi; return; }
  if (s >= 32) { const x = lo; lo = hi; hi = x; s -= 32; if (s === 0) { t.lo = lo; t.hi = hi; return; } }
  t.lo = (lo >>> s) | (hi << (32 - s));
  t.hi = (hi >>> s) | (lo << (32 - s));
}

const ror32 = (x: number, s: number): number => (s === 0 ? x : (x >>> s) | (x << (32 - s)));

/**
 * AddWithCarry on 64 bits: t = a + b + cin; returns NZCV (PSTATE bit positions).
 * Subtraction is a + ~b + 1.
 */
export function adc64(t: Pair, al: number, ah: number, bl: number, bh: number, cin: number): number {
  const s0 = (al >>> 0) + (bl >>> 0) + cin;
  const lo = s0 | 0;
  const s1 = (ah >>> 0) + (bh >>> 0) + (s0 > 0xffffffff ? 1 : 0);
  const hi = s1 | 0;
  t.lo = lo;
  t.hi = hi;
  return (hi < 0 ? N : 0) | ((lo | hi) === 0 ? Z : 0) | (s1 > 0xffffffff ? C : 0) | (((ah ^ hi) & (bh ^ hi)) < 0 ? V : 0);
}

/** AddWithCarry on 32 bits: t.lo = a + b + cin, t.hi = 0; returns NZCV. */
export function adc32(t: Pair, a: number, b: number, cin: number): number {
  const s = (a >>> 0) + (b >>> 0) + cin;
  const r = s | 0;
  t.lo = r;
  t.hi = 0;
  return (r < 0 ? N : 0) | (r === 0 ? Z : 0) | (s > 0xffffffff ? C : 0) | (((a ^ r) & (b ^ r)) < 0 ? V : 0);
}

/** NZ of a logical result (C and V cleared). */
export function nzFlags(lo: number, hi: number): number {
  return (hi < 0 ? N : 0) | ((lo | hi) === 0 ? Z : 0);
}

/** ConditionHolds(cond) for the flags `f` (PSTATE bit positions). */
export function condHolds(cond: number, f: number): boolean {
  let r: boolean;
  switch (cond >>> 1) {
    case 0: r = (f & Z) !== 0; break;
    case 1: r = (f & C) !== 0; break;
    case 2: r = (f & N) !== 0; break;
    case 3: r = (f & V) !== 0; break;
    case 4: r = (f & C) !== 0 && (f & Z) === 0; break;
    case 5: r = ((f & N) !== 0) === ((f & V) !== 0); break;
    case 6: r = ((f & N) !== 0) === ((f & V) !== 0) && (f & Z) === 0; break;
    default: return true;
  }
  return (cond & 1) !== 0 ? !r : r;
}

/**
 * ConditionHolds as a table: entry (cond << 4) | NZCV[3:0] is 1 when the condition holds.
 * Index with `(cond << 4) | (nzcv >>> 28)`.
 */
export const COND_TABLE: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let cond = 0; cond < 16; cond++) for (let f = 0; f < 16; f++) t[(cond << 4) | f] = condHolds(cond, f << 28) ? 1 : 0;
  return t;
})();

/** ShiftReg: shift type 0 LSL, 1 LSR, 2 ASR, 3 ROR by `amt` on a 64- or 32-bit value. */
export function shiftReg(t: Pair, type: number, lo: number, hi: number, amt: number, sf: boolean): void {
  if (!sf) {
    t.hi = 0;
    switch (type) {
      case 0: t.lo = lo << amt; return;
      case 1: t.lo = (lo >>> amt) | 0; return;
      case 2: t.lo = lo >> amt; return;
      default: t.lo = ror32(lo, amt); return;
    }
  }
  switch (type) {
    case 0: shl64(t, lo, hi, amt); return;
    case 1: lsr64(t, lo, hi, amt); return;
    case 2: asr64(t, lo, hi, amt); return;
    default: ror64(t, lo, hi, amt); return;
  }
}

/** ExtendReg: option 0..7 = UXTB, UXTH, UXTW, UXTX, SXTB, SXTH, SXTW, SXTX, then LSL by `amt` (0..4). */
export function extendReg(t: Pair, option: number, lo: number, hi: number, amt: number): void {
  switch (option) {
    case 0: lo &= 0xff; hi = 0; break;
    case 1: lo &= 0xffff; hi = 0; break;
    case 2: hi = 0; break;
    case 4: lo = (lo << 24) >> 24; hi = lo >> 31; break;
    case 5: lo = (lo << 16) >> 16; hi = lo >> 31; break;
    case 6: hi = lo >> 31; break;
    default: break;
  }
  shl64(t, lo, hi, amt);
}

/** (hi:lo) keeping the low `w` bits (1..64), sign-extended from bit w-1 when `signed`. */
function field64(t: Pair, lo: number, hi: number, w: number, signed: boolean): void {
  if (w >= 64) { t.lo = lo; t.hi = hi; return; }
  if (w > 32) {
    const k = 64 - w;
    t.lo = lo;
    t.hi = signed ? (hi << k) >> k : ((hi << k) >>> k) | 0;
    return;
  }
  const k = 32 - w;
  const v = signed ? (lo << k) >> k : ((lo << k) >>> k) | 0;
  t.lo = v;
  t.hi = signed ? v >> 31 : 0;
}

/**
 * SBFM (opc 0), BFM (1), UBFM (2) with immr `r` and imms `s`: for s >= r the field src[s:r] moves to
 * bit 0 (UBFX/SBFX/BFXIL), otherwise src[s:0] moves to bit esize-r (UBFIZ/SBFIZ/BFI).
 * `dst` is the old Rd (used by BFM only).
 */
export function bitfield(t: Pair, opc: number, sf: boolean, r: number, s: number, srcLo: number, srcHi: number, dstLo: number, dstHi: number): void {
  const esize = sf ? 64 : 32;
  let pos: number, width: number;
  if (s >= r) {
    width = s - r + 1;
    pos = 0;
    lsr64(t, srcLo, sf ? srcHi : 0, r);
  } else {
    width = s + 1;
    pos = esize - r;
    t.lo = srcLo;
    t.hi = sf ? srcHi : 0;
  }
  field64(t, t.lo, t.hi, width, opc === 0);
  if (opc !== 1) {
    shl64(t, t.lo, t.hi, pos);
  } else {
    const fl = t.lo, fh = t.hi;
    field64(t, -1, -1, width, false);
    const ml = t.lo, mh = t.hi;
    shl64(t, ml, mh, pos);
    const sml = t.lo, smh = t.hi;
    shl64(t, fl, fh, pos);
    t.lo = (dstLo & ~sml) | (t.lo & sml);
    t.hi = (dstHi & ~smh) | (t.hi & smh);
  }
  if (!sf) t.hi = 0;
}

/** Unsigned 32x32 → 64 multiply. */
export function mulu32(t: Pair, a: number, b: number): void {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  t.lo = (mid << 16) | (p00 & 0xffff);
  t.hi = (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0;
}

/** Low 64 bits of a 64x64 product. */
export function mul64(t: Pair, al: number, ah: number, bl: number, bh: number): void {
  mulu32(t, al, bl);
  t.hi = (t.hi + Math.imul(al, bh) + Math.imul(ah, bl)) | 0;
}

/** High 64 bits of the unsigned (signed when `signed`) 128-bit product. */
export function mulh64(t: Pair, al: number, ah: number, bl: number, bh: number, signed: boolean): void {
  mulu32(t, al, bl);
  const x0hi = t.hi;
  mulu32(t, al, bh);
  const x1lo = t.lo, x1hi = t.hi;
  mulu32(t, ah, bl);
  const x2lo = t.lo, x2hi = t.hi;
  mulu32(t, ah, bh);
  const mid = (x0hi >>> 0) + (x1lo >>> 0) + (x2lo >>> 0);
  const carry = Math.floor(mid / 4294967296);
  const s = (t.lo >>> 0) + (x1hi >>> 0) + (x2hi >>> 0) + carry;
  let lo = s | 0;
  let hi = (t.hi + Math.floor(s / 4294967296)) | 0;
  if (signed) {
    if (ah < 0) { const d = (lo - bl) | 0; hi = (hi - bh - ((lo >>> 0) < (bl >>> 0) ? 1 : 0)) | 0; lo = d; }
    if (bh < 0) { const d = (lo - al) | 0; hi = (hi - ah - ((lo >>> 0) < (al >>> 0) ? 1 : 0)) | 0; lo = d; }
  }
  t.lo = lo;
  t.hi = hi;
}

const big = (lo: number, hi: number): bigint => (BigInt(hi) << 32n) | BigInt(lo >>> 0);

/** UDIV/SDIV: quotient rounded toward zero; division by zero gives 0. */
export function div(t: Pair, al: number, ah: number, bl: number, bh: number, signed: boolean, sf: boolean): void {
  if (!sf) {
    t.hi = 0;
    if (bl === 0) { t.lo = 0; return; }
    if (signed) t.lo = al === -0x80000000 && bl === -1 ? al : Math.trunc(al / bl) | 0;
    else t.lo = Math.floor((al >>> 0) / (bl >>> 0)) | 0;
    return;
  }
  if ((bl | bh) === 0) { t.lo = 0; t.hi = 0; return; }
  if (!signed && ah === 0 && bh === 0) {
    t.lo = Math.floor((al >>> 0) / (bl >>> 0)) | 0;
    t.hi = 0;
    return;
  }
  const a = signed ? big(al, ah) : BigInt.asUintN(64, big(al, ah));
  const b = signed ? big(bl, bh) : BigInt.asUintN(64, big(bl, bh));
  const q = BigInt.asUintN(64, a / b);
  t.lo = Number(q & 0xffffffffn) | 0;
  t.hi = Number(q >> 32n) | 0;
}

function rbit32(x: number): number {
  x = ((x >>> 1) & 0x55555555) | ((x & 0x55555555) << 1);
  x = ((x >>> 2) & 0x33333333) | ((x & 0x33333333) << 2);
  x = ((x >>> 4) & 0x0f0f0f0f) | ((x & 0x0f0f0f0f) << 4);
  x = ((x >>> 8) & 0x00ff00ff) | ((x & 0x00ff00ff) << 8);
  return (x >>> 16) | (x << 16);
}

function rev32(x: number): number {
  return ((x >>> 24) | ((x >>> 8) & 0xff00) | ((x & 0xff00) << 8) | (x << 24)) | 0;
}

const rev16 = (x: number): number => ((x >>> 8) & 0x00ff00ff) | ((x & 0x00ff00ff) << 8);

/** Data-processing (1 source): opcode 0 RBIT, 1 REV16, 2 REV32/REV (W), 3 REV (X), 4 CLZ, 5 CLS. */
export function oneSource(t: Pair, opcode: number, lo: number, hi: number, sf: boolean): void {
  if (!sf) {
    t.hi = 0;
    switch (opcode) {
      case 0: t.lo = rbit32(lo); return;
      case 1: t.lo = rev16(lo); return;
      case 2: t.lo = rev32(lo); return;
      case 4: t.lo = Math.clz32(lo); return;
      default: t.lo = Math.clz32(lo ^ (lo >> 1)) - 1; return;
    }
  }
  switch (opcode) {
    case 0: t.lo = rbit32(hi); t.hi = rbit32(lo); return;
    case 1: t.lo = rev16(lo); t.hi = rev16(hi); return;
    case 2: t.lo = rev32(lo); t.hi = rev32(hi); return;
    case 3: t.lo = rev32(hi); t.hi = rev32(lo); return;
    case 4: t.lo = hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo); t.hi = 0; return;
    default: {
      const yl = lo ^ ((lo >>> 1) | (hi << 31)), yh = hi ^ (hi >> 1);
      t.lo = (yh !== 0 ? Math.clz32(yh) : 32 + Math.clz32(yl)) - 1;
      t.hi = 0;
    }
  }
}
