/**
 * The less frequent data-processing operations: bitfield moves, EXTR, logical and add/sub with a
 * shifted or extended register, add/sub with carry, conditional compare, divide, variable shifts,
 * the one-source bit operations and the three-source multiplies.
 * @spec Arm ARM (DDI 0487) C6 pages of SBFM/BFM/UBFM, EXTR, AND..BICS (shifted register),
 *   ADD/SUB (shifted/extended register), ADC/SBC, CCMN/CCMP, UDIV/SDIV, LSLV..RORV, RBIT..CLS,
 *   MADD/MSUB/SMADDL/SMSUBL/UMADDL/UMSUBL/SMULH/UMULH
 */
import type { Arm64Cpu } from "./cpu.js";
import { F_S, F_SF, Op } from "./decode.js";
import { PSR } from "./defs.js";
import { adc32, adc64, bitfield, condHolds, div, extendReg, lsr64, mul64, mulh64, mulu32, nzFlags, oneSource, shiftReg } from "./alu.js";

/** Executes one of the operations listed in the module comment (they never fault). */
export function executeDp(c: Arm64Cpu, op: Op, info: number, imm: number, aux: number): void {
  const xl = c.xl, xh = c.xh, t = c.tmp;
  const rd = (info >>> 8) & 63, rn = (info >>> 14) & 63, rm = (info >>> 20) & 63;
  const sf = (info & F_SF) !== 0;
  switch (op) {
    case Op.BFM:
      bitfield(t, aux, sf, imm & 63, imm >>> 8, xl[rn]!, xh[rn]!, xl[rm]!, xh[rm]!);
      break;
    case Op.EXTR:
      // (Rn:Rm) >> lsb, keeping the low datasize bits
      if (sf) {
        if (imm === 0) { t.lo = xl[rm]!; t.hi = xh[rm]!; }
        else {
          lsr64(t, xl[rm]!, xh[rm]!, imm);
          const ml = t.lo, mh = t.hi;
          shiftReg(t, 0, xl[rn]!, xh[rn]!, 64 - imm, true);
          t.lo |= ml; t.hi |= mh;
        }
      } else {
        t.lo = imm === 0 ? xl[rm]! : (xl[rm]! >>> imm) | (xl[rn]! << (32 - imm));
        t.hi = 0;
      }
      break;
    case Op.LOGR: {
      // aux: opc (1:0) | N (2) | shift (4:3)
      shiftReg(t, aux >>> 3, xl[rm]!, xh[rm]!, imm, sf);
      let bl = t.lo, bh = t.hi;
      if (aux & 4) { bl = ~bl; bh = ~bh; }
      const al = xl[rn]!, ah = xh[rn]!;
      let lo: number, hi: number;
      switch (aux & 3) {
        case 1: lo = al | bl; hi = ah | bh; break;
        case 2: lo = al ^ bl; hi = ah ^ bh; break;
        default: lo = al & bl; hi = ah & bh; break;
      }
      if (!sf) hi = 0;
      if ((aux & 3) === 3) c.nzcv = sf ? nzFlags(lo, hi) : nzFlags(lo, lo);
      t.lo = lo; t.hi = hi;
      break;
    }
    case Op.ADDSUB_SH: case Op.ADDSUB_EXT: {
      // aux: sub (0) | shift type (2:1) or extend option (3:1)
      if (op === Op.ADDSUB_SH) shiftReg(t, aux >>> 1, xl[rm]!, xh[rm]!, imm, sf);
      else extendReg(t, aux >>> 1, xl[rm]!, xh[rm]!, imm);
      let bl = t.lo, bh = t.hi, cin = 0;
      if (aux & 1) { bl = ~bl; bh = ~bh; cin = 1; }
      const f = sf ? adc64(t, xl[rn]!, xh[rn]!, bl, bh, cin) : adc32(t, xl[rn]!, bl, cin);
      if (info & F_S) c.nzcv = f;
      break;
    }
    case Op.ADCSBC: {
      const cin = (c.nzcv & PSR.C) !== 0 ? 1 : 0;
      let bl = xl[rm]!, bh = xh[rm]!;
      if (aux & 1) { bl = ~bl; bh = ~bh; }
      const f = sf ? adc64(t, xl[rn]!, xh[rn]!, bl, bh, cin) : adc32(t, xl[rn]!, bl, cin);
      if (info & F_S) c.nzcv = f;
      break;
    }
    case Op.CCMP: {
      // aux: nzcv (3:0) | cond (7:4) | sub (8) | immediate (9)
      if (condHolds((aux >>> 4) & 15, c.nzcv)) {
        let bl = aux & 512 ? imm : xl[rm]!, bh = aux & 512 ? 0 : xh[rm]!, cin = 0;
        if (aux & 256) { bl = ~bl; bh = ~bh; cin = 1; }
        c.nzcv = sf ? adc64(t, xl[rn]!, xh[rn]!, bl, bh, cin) : adc32(t, xl[rn]!, bl, cin);
      } else {
        c.nzcv = (aux & 15) << 28;
      }
      return;
    }
    case Op.DIV: div(t, xl[rn]!, xh[rn]!, xl[rm]!, xh[rm]!, imm === 1, sf); break;
    case Op.SHIFTV: {
      const amt = xl[rm]! & (sf ? 63 : 31);
      shiftReg(t, imm, xl[rn]!, xh[rn]!, amt, sf);
      break;
    }
    case Op.ONESRC: oneSource(t, imm, xl[rn]!, xh[rn]!, sf); break;
    case Op.MUL3: {
      // imm = Ra; aux = op31 << 1 | o0
      const ra = imm, sub = (aux & 1) !== 0, op31 = aux >>> 1;
      const al = xl[rn]!, bl = xl[rm]!;
      if (op31 === 2 || op31 === 6) {
        mulh64(t, al, xh[rn]!, bl, xh[rm]!, op31 === 2);
        break;
      }
      if (op31 === 0 && !sf) {
        const p = Math.imul(al, bl);
        t.lo = (sub ? xl[ra]! - p : xl[ra]! + p) | 0;
        t.hi = 0;
        break;
      }
      if (op31 === 0) mul64(t, al, xh[rn]!, bl, xh[rm]!);
      else {
        // SMADDL/UMADDL family: 32x32 → 64 product
        mulu32(t, al, bl);
        if (op31 === 1) t.hi = (t.hi - (al < 0 ? bl : 0) - (bl < 0 ? al : 0)) | 0;
      }
      const pl = t.lo, ph = t.hi;
      if (sub) adc64(t, xl[ra]!, xh[ra]!, ~pl, ~ph, 1);
      else adc64(t, xl[ra]!, xh[ra]!, pl, ph, 0);
      break;
    }
    default: return;
  }
  xl[rd] = t.lo;
  xh[rd] = sf ? t.hi : 0;
}
