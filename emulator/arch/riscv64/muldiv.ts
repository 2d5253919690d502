/**
 * M-extension arithmetic on 64-bit values held as int32 halves. Multiplies and divides are rare in
 * the hot loop, so they go through BigInt for exactness; the *W forms use 32-bit integer math.
 * @spec RISC-V Unprivileged ISA, chapter "M" Extension (division-by-zero and overflow table)
 */
import { Op } from "./decode.js";

const M64 = (1n << 64n) - 1n;
const toU = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
const toS = (lo: number, hi: number): bigint => (BigInt(hi) << 32n) | BigInt(lo >>> 0);

/** Where a result lands: int32 halves. */
export interface Pair {
  lo: number;
  hi: number;
}

/** Computes `op` on (ahi:alo) and (bhi:blo) into `result`. */
export function mulDiv(op: Op, alo: number, ahi: number, blo: number, bhi: number, result: Pair): void {
  const put = (v: bigint): void => {
    const u = v & M64;
    result.lo = Number(u & 0xffffffffn) | 0;
    result.hi = Number(u >> 32n) | 0;
  };
  switch (op) {
    case Op.MUL: put(toU(alo, ahi) * toU(blo, bhi)); return;
    case Op.MULH: put((toS(alo, ahi) * toS(blo, bhi)) >> 64n); return;
    case Op.MULHSU: put((toS(alo, ahi) * toU(blo, bhi)) >> 64n); return;
    case Op.MULHU: put((toU(alo, ahi) * toU(blo, bhi)) >> 64n); return;
    case Op.DIV: {
      const a = toS(alo, ahi), b = toS(blo, bhi);
      if (b === 0n) put(-1n);
      else if (a === -(1n << 63n) && b === -1n) put(a);
      else put(a / b);
      return;
    }
    case Op.DIVU: {
      const b = toU(blo, bhi);
      put(b === 0n ? M64 : toU(alo, ahi) / b);
      return;
    }
    case Op.REM: {
      const a = toS(alo, ahi), b = toS(blo, bhi);
      if (b === 0n) put(a);
      else if (a === -(1n << 63n) && b === -1n) put(0n);
      else put(a % b);
      return;
    }
    case Op.REMU: {
      const b = toU(blo, bhi);
      put(b === 0n ? toU(alo, ahi) : toU(alo, ahi) % b);
      return;
    }
    default: {
      // The W forms: operate on the low words, sign-extend the 32-bit result.
      let r: number;
      const a = alo | 0, b = blo | 0;
      switch (op) {
        case Op.MULW: r = Math.imul(a, b); break;
        case Op.DIVW: r = b === 0 ? -1 : a === -0x80000000 && b === -1 ? a : (a / b) | 0; break;
        case Op.DIVUW: r = b === 0 ? -1 : Math.trunc((a >>> 0) / (b >>> 0)) | 0; break;
        case Op.REMW: r = b === 0 ? a : a === -0x80000000 && b === -1 ? 0 : a % b | 0; break;
        case Op.REMUW: r = b === 0 ? a : (a >>> 0) % (b >>> 0) | 0; break;
        default: throw new Error(`mulDiv: op ${op} is not an M-extension operation`);
      }
      result.lo = r;
      result.hi = r >> 31;
    }
  }
}
