/**
 * Integer arithmetic with exact RFLAGS: ADD/ADC/SUB/SBB/logic, INC/DEC/NEG, shifts and rotates,
 * SHLD/SHRD, the multiplies and divides. Operands are int32 halves (the high half is ignored below
 * 64-bit size); results go to `rLo`/`rHi` (zero-extended to the operand size) and the status flags
 * into `rflags`. Flags the SDM leaves undefined get QEMU's values (documented in docs/x86_64.md).
 * @spec Intel SDM Vol. 2 (each instruction's "Flags Affected"), Vol. 1 §3.4.3.1
 */
import { RFLAGS, STATUS_FLAGS } from "./defs.js";

/** What the ALU reads and writes on the CPU. */
export interface AluHost {
  rflags: number;
  rLo: number;
  rHi: number;
}

const { CF, PF, AF, ZF, SF, OF } = RFLAGS;

/** PF for each low byte: set when the byte has an even number of 1 bits. */
export const PARITY = new Uint8Array(256).map((_, v) => {
  let n = 0;
  for (let b = v; b; b >>= 1) n += b & 1;
  return n % 2 === 0 ? PF : 0;
});

/** Operand-size masks and sign bits (index = size in bytes). */
export const MASK = [0, 0xff, 0xffff, 0, 0xffffffff, 0, 0, 0, 0xffffffff];
const SIGN = [0, 0x80, 0x8000, 0, 0x80000000, 0, 0, 0, 0x80000000];
const BITS = [0, 8, 16, 0, 32, 0, 0, 0, 64];

/** ZF, SF and PF of a result (zero-extended to `size`). */
export function szp(size: number, lo: number, hi: number): number {
  let f = PARITY[lo & 0xff]!;
  if (size === 8) {
    if ((lo | hi) === 0) f |= ZF;
    if (hi < 0) f |= SF;
  } else {
    if ((lo & MASK[size]!) === 0) f |= ZF;
    if (lo & SIGN[size]!) f |= SF;
  }
  return f;
}

function setFlags(c: AluHost, f: number): void {
  c.rflags = (c.rflags & ~STATUS_FLAGS) | f;
}

/** a + b + cin. */
export function add(c: AluHost, size: number, aLo: number, aHi: number, bLo: number, bHi: number, cin: number): void {
  if (size === 8) {
    const lo = (aLo >>> 0) + (bLo >>> 0) + cin;
    const hi = (aHi >>> 0) + (bHi >>> 0) + (lo > 0xffffffff ? 1 : 0);
    const rLo = lo | 0, rHi = hi | 0;
    c.rLo = rLo; c.rHi = rHi;
    setFlags(c, (hi > 0xffffffff ? CF : 0) | (((aHi ^ rHi) & (bHi ^ rHi)) < 0 ? OF : 0) | ((aLo ^ bLo ^ rLo) & AF) | szp(8, rLo, rHi));
    return;
  }
  const m = MASK[size]!;
  const a = (aLo & m) >>> 0, b = (bLo & m) >>> 0;
  const r = a + b + cin;
  const res = (r & m) >>> 0;
  c.rLo = res | 0; c.rHi = 0;
  setFlags(c, (r > m ? CF : 0) | ((a ^ res) & (b ^ res) & SIGN[size]! ? OF : 0) | ((a ^ b ^ res) & AF) | szp(size, res, 0));
}

/** a - b - bin (also CMP, NEG as 0 - b). */
export function sub(c: AluHost, size: number, aLo: number, aHi: number, bLo: number, bHi: number, bin: number): void {
  if (size === 8) {
    const lo = (aLo >>> 0) - (bLo >>> 0) - bin;
    const hi = (aHi >>> 0) - (bHi >>> 0) - (lo < 0 ? 1 : 0);
    const rLo = lo | 0, rHi = hi | 0;
    c.rLo = rLo; c.rHi = rHi;
    setFlags(c, (hi < 0 ? CF : 0) | (((aHi ^ bHi) & (aHi ^ rHi)) < 0 ? OF : 0) | ((aLo ^ bLo ^ rLo) & AF) | szp(8, rLo, rHi));
    return;
  }
  const m = MASK[size]!;
  const a = (aLo & m) >>> 0, b = (bLo & m) >>> 0;
  const r = a - b - bin;
  const res = (r & m) >>> 0;
  c.rLo = res | 0; c.rHi = 0;
  setFlags(c, (r < 0 ? CF : 0) | ((a ^ b) & (a ^ res) & SIGN[size]! ? OF : 0) | ((a ^ b ^ res) & AF) | szp(size, res, 0));
}

/** Sets flags for a logical result (CF = OF = 0, AF = 0 as QEMU; AF is undefined). */
export function logicFlags(c: AluHost, size: number, lo: number, hi: number): void {
  setFlags(c, szp(size, lo, hi));
}

/**
 * The eight group-1 operations (ADD OR ADC SBB AND SUB XOR CMP). The result is in rLo/rHi (for CMP
 * too; the caller does not write it back).
 */
export function alu(c: AluHost, kind: number, size: number, aLo: number, aHi: number, bLo: number, bHi: number): void {
  switch (kind) {
    case 0: add(c, size, aLo, aHi, bLo, bHi, 0); return;
    case 2: add(c, size, aLo, aHi, bLo, bHi, c.rflags & CF); return;
    case 3: sub(c, size, aLo, aHi, bLo, bHi, c.rflags & CF); return;
    case 5: case 7: sub(c, size, aLo, aHi, bLo, bHi, 0); return;
    default: {
      let lo: number, hi: number;
      if (kind === 1) { lo = aLo | bLo; hi = aHi | bHi; }
      else if (kind === 4) { lo = aLo & bLo; hi = aHi & bHi; }
      else { lo = aLo ^ bLo; hi = aHi ^ bHi; }
      if (size !== 8) { lo = (lo & MASK[size]!) | 0; hi = 0; }
      c.rLo = lo; c.rHi = hi;
      setFlags(c, szp(size, lo, hi));
    }
  }
}

/** INC (dec = false) or DEC: CF is preserved. */
export function incDec(c: AluHost, size: number, lo: number, hi: number, dec: boolean): void {
  const cf = c.rflags & CF;
  if (dec) sub(c, size, lo, hi, 1, 0, 0);
  else add(c, size, lo, hi, 1, 0, 0);
  c.rflags = (c.rflags & ~CF) | cf;
}

/** Bit `k` (0..63) of the 64-bit value hi:lo. */
function bit64(lo: number, hi: number, k: number): number {
  return k < 32 ? (lo >>> k) & 1 : (hi >>> (k - 32)) & 1;
}

/** Shifts hi:lo left by n (0..63) into rLo/rHi. */
function shl64(c: AluHost, lo: number, hi: number, n: number): void {
  if (n === 0) { c.rLo = lo; c.rHi = hi; }
  else if (n < 32) { c.rHi = (hi << n) | (lo >>> (32 - n)); c.rLo = lo << n; }
  else { c.rHi = lo << (n - 32); c.rLo = 0; }
}

/** Shifts hi:lo right by n (0..63), logically or arithmetically, into rLo/rHi. */
function shr64(c: AluHost, lo: number, hi: number, n: number, arith: boolean): void {
  if (n === 0) { c.rLo = lo; c.rHi = hi; }
  else if (n < 32) { c.rLo = (lo >>> n) | (hi << (32 - n)); c.rHi = arith ? hi >> n : hi >>> n; }
  else { c.rLo = arith ? hi >> (n - 32) : hi >>> (n - 32); c.rHi = arith ? hi >> 31 : 0; }
}

/** The sign bit of a result of `size`. */
function msb(size: number, lo: number, hi: number): number {
  return size === 8 ? hi >>> 31 : (lo >>> (BITS[size]! - 1)) & 1;
}

/**
 * Group-2 shift or rotate `kind` (ROL ROR RCL RCR SHL SHR SAL SAR) of hi:lo by `count` (not yet
 * masked). Returns false when the masked count is 0 (nothing changes, the caller still writes the
 * unchanged value back). @spec SDM Vol. 2B "SAL/SAR/SHL/SHR", Vol. 2B "RCL/RCR/ROL/ROR"
 */
export function shift(c: AluHost, kind: number, size: number, lo: number, hi: number, count: number): boolean {
  const bits = BITS[size]!;
  const n = count & (size === 8 ? 63 : 31);
  if (size !== 8) { lo = (lo & MASK[size]!) | 0; hi = 0; }
  if (n === 0) { c.rLo = lo; c.rHi = hi; return false; }
  const f0 = c.rflags;
  switch (kind) {
    case 0: case 1: { // ROL, ROR
      const r = n % bits;
      rotate(c, size, lo, hi, kind === 0 ? r : (bits - r) % bits);
      const rl = c.rLo, rh = c.rHi;
      const cf = kind === 0 ? rl & 1 : msb(size, rl, rh);
      const of = kind === 0 ? msb(size, rl, rh) ^ cf : msb(size, rl, rh) ^ (size === 8 ? bit64(rl, rh, 62) : (rl >>> (bits - 2)) & 1);
      c.rflags = (f0 & ~(CF | OF)) | (cf ? CF : 0) | (of ? OF : 0);
      return true;
    }
    case 2: case 3: return rotateCarry(c, kind === 2, size, lo, hi, n);
    case 4: case 6: { // SHL/SAL
      let cf: number;
      if (size === 8) { shl64(c, lo, hi, n); cf = bit64(lo, hi, 64 - n); }
      else {
        const r = n < 32 ? lo << n : 0;
        cf = n <= bits ? ((n < 32 ? lo << (n - 1) : 0) >>> (bits - 1)) & 1 : 0;
        c.rLo = (r & MASK[size]!) | 0; c.rHi = 0;
      }
      // OF: MSB(result) XOR CF for a count of 1; QEMU's same formula for larger counts.
      const of = msb(size, c.rLo, c.rHi) ^ cf;
      c.rflags = (f0 & ~STATUS_FLAGS) | (cf ? CF : 0) | (of ? OF : 0) | szp(size, c.rLo, c.rHi);
      return true;
    }
    default: { // SHR (5), SAR (7)
      const arith = kind === 7;
      let cf: number;
      if (size === 8) { shr64(c, lo, hi, n, arith); cf = bit64(lo, hi, n - 1); }
      else {
        const sv = arith ? (lo << (32 - bits)) >> (32 - bits) : lo >>> 0;
        const k = Math.min(n, 31);
        cf = (arith ? sv >> (k - 1) : n - 1 < 32 ? sv >>> (n - 1) : 0) & 1;
        if (!arith && n > bits) cf = 0;
        c.rLo = ((arith ? sv >> k : n < 32 ? sv >>> n : 0) & MASK[size]!) | 0; c.rHi = 0;
      }
      const of = arith ? 0 : n === 1 ? msb(size, lo, hi) : 0;
      c.rflags = (f0 & ~STATUS_FLAGS) | (cf ? CF : 0) | (of ? OF : 0) | szp(size, c.rLo, c.rHi);
      return true;
    }
  }
}

/** Rotates left by r (0 <= r < bits) into rLo/rHi. */
function rotate(c: AluHost, size: number, lo: number, hi: number, r: number): void {
  if (size === 8) {
    if (r === 0) { c.rLo = lo; c.rHi = hi; return; }
    shl64(c, lo, hi, r);
    const l1 = c.rLo, h1 = c.rHi;
    shr64(c, lo, hi, 64 - r, false);
    c.rLo |= l1; c.rHi |= h1;
    return;
  }
  const bits = BITS[size]!;
  const v = lo >>> 0;
  c.rLo = r === 0 ? v | 0 : (((v << r) | (v >>> (bits - r))) & MASK[size]!) | 0;
  c.rHi = 0;
}

/** RCL (left) / RCR through CF; rare, so it works on bigint. */
function rotateCarry(c: AluHost, left: boolean, size: number, lo: number, hi: number, n: number): boolean {
  const bits = BITS[size]!;
  const r = n % (bits + 1);
  if (r === 0) { c.rLo = lo; c.rHi = hi; return false; }
  const w = BigInt(bits + 1);
  const cin = BigInt(c.rflags & CF);
  const v = (BigInt(hi >>> 0) << 32n | BigInt(lo >>> 0)) & ((1n << BigInt(bits)) - 1n);
  const x = (cin << BigInt(bits)) | v;
  const all = (1n << w) - 1n;
  const R = BigInt(r);
  const y = left ? ((x << R) | (x >> (w - R))) & all : ((x >> R) | (x << (w - R))) & all;
  const res = y & ((1n << BigInt(bits)) - 1n);
  const cf = Number(y >> BigInt(bits)) & 1;
  c.rLo = Number(res & 0xffffffffn) | 0;
  c.rHi = Number(res >> 32n) | 0;
  const m = msb(size, c.rLo, c.rHi);
  const of = left ? m ^ cf : m ^ msb(size, lo, hi);
  c.rflags = (c.rflags & ~(CF | OF)) | (cf ? CF : 0) | (of ? OF : 0);
  return true;
}

/**
 * SHLD (left) / SHRD: shifts dst by count (masked to 5 or 6 bits), filling from src.
 * A count larger than the operand size (16-bit only) leaves an undefined result; QEMU's is produced.
 * Returns false for a masked count of 0 (no change).
 */
export function shiftDouble(c: AluHost, left: boolean, size: number, dLo: number, dHi: number, sLo: number, sHi: number, count: number): boolean {
  const n = count & (size === 8 ? 63 : 31);
  const bits = BITS[size]!;
  if (n === 0) return false;
  const m = (1n << BigInt(bits)) - 1n;
  const d = (BigInt(dHi >>> 0) << 32n | BigInt(dLo >>> 0)) & m;
  const s = (BigInt(sHi >>> 0) << 32n | BigInt(sLo >>> 0)) & m;
  const N = BigInt(n), B = BigInt(bits);
  let res: bigint, cf: number;
  if (left) {
    const wide = (d << B) | s;
    const w2 = bits === 16 ? (wide << 16n) | d : wide;
    const total = bits === 16 ? 48n : 2n * B;
    res = ((w2 << N) >> (total - B)) & m;
    cf = Number((w2 >> (total - N)) & 1n);
  } else {
    const wide = (s << B) | d;
    const w2 = bits === 16 ? (d << 32n) | wide : wide;
    res = (w2 >> N) & m;
    cf = Number((w2 >> (N - 1n)) & 1n);
  }
  c.rLo = Number(res & 0xffffffffn) | 0;
  c.rHi = Number(res >> 32n) | 0;
  const of = msb(size, c.rLo, c.rHi) ^ msb(size, dLo, dHi);
  c.rflags = (c.rflags & ~STATUS_FLAGS) | (cf ? CF : 0) | (of ? OF : 0) | szp(size, c.rLo, c.rHi);
  return true;
}
