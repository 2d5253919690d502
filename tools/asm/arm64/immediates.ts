/**
 * A64 immediate encodings: logical (bitmask) immediates (the DecodeBitMasks pseudocode run
 * backwards) and the 16-bit chunks of move-wide immediates. BigInt is fine here: this runs once
 * per assembled instruction.
 * @spec Arm ARM (DDI 0487) J1 shared pseudocode "DecodeBitMasks"; C6.2 "MOV (wide immediate)"
 */

const MASK64 = (1n << 64n) - 1n;

/** Rotates the low `e` bits of v right by r. */
function rotr(v: bigint, r: number, e: number): bigint {
  const mask = (1n << BigInt(e)) - 1n;
  const rr = BigInt(r % e);
  return ((v >> rr) | (v << (BigInt(e) - rr))) & mask;
}

/** The N:immr:imms fields of a logical immediate. */
export interface BitmaskFields {
  n: number;
  immr: number;
  imms: number;
}

/**
 * Encodes `value` as a logical immediate for a `size`-bit operation: a repeated element of 2, 4,
 * 8, 16, 32 or 64 bits that is a rotated run of ones (not all zeros, not all ones).
 * For size 32 only the low 32 bits count. Returns undefined when it cannot be encoded.
 */
export function encodeBitmask(value: bigint, size: 32 | 64): BitmaskFields | undefined {
  let v = BigInt.asUintN(size, value);
  if (size === 32) v |= v << 32n;
  if (v === 0n || v === MASK64) return undefined;
  let e = 64;
  while (e > 2) {
    const half = e / 2;
    const mask = (1n << BigInt(half)) - 1n;
    if (((v >> BigInt(half)) & mask) !== (v & mask)) break;
    e = half;
  }
  const elt = v & ((1n << BigInt(e)) - 1n);
  let ones = 0;
  for (let x = elt; x !== 0n; x >>= 1n) ones += Number(x & 1n);
  const run = (1n << BigInt(ones)) - 1n;
  for (let immr = 0; immr < e; immr++) {
    if (rotr(run, immr, e) === elt) {
      if (size === 32 && e === 64) return undefined;
      return { n: e === 64 ? 1 : 0, immr, imms: ((-e << 1) & 0x3f) | (ones - 1) };
    }
  }
  return undefined;
}

/**
 * The value a logical immediate encodes (Arm ARM DecodeBitMasks, wmask), for `size` bits.
 * Returns undefined for a reserved encoding.
 */
export function decodeBitmask(f: BitmaskFields, size: 32 | 64): bigint | undefined {
  const combined = (f.n << 6) | (~f.imms & 0x3f);
  if (combined === 0) return undefined;
  const len = 31 - Math.clz32(combined);
  if (len < 1) return undefined;
  const e = 1 << len;
  const levels = e - 1;
  const s = f.imms & levels, r = f.immr & levels;
  if (s === levels || (size === 32 && f.n === 1)) return undefined;
  const elt = rotr((1n << BigInt(s + 1)) - 1n, r, e);
  let out = 0n;
  for (let i = 0; i < size; i += e) out |= elt << BigInt(i);
  return out;
}

/**
 * If `value` (as a `size`-bit number) is one 16-bit chunk at a 16-bit boundary (or zero),
 * returns [imm16, hw]; else undefined. This is GNU's `aarch64_wide_constant_p`.
 */
export function wideChunk(value: bigint, size: 32 | 64): [number, number] | undefined {
  const v = BigInt.asUintN(size, value);
  for (let hw = 0; hw < size / 16; hw++) {
    const shift = BigInt(16 * hw);
    if ((v & ~(0xffffn << shift)) === 0n) return [Number(v >> shift), hw];
  }
  return undefined;
}
