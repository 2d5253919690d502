/**
 * The general executor: one instruction of any implemented form (the execute loop runs the most
 * frequent forms inline and sends everything else here). Each case returns true to retire the
 * instruction (RIP = nLo/nHi) or false after a fault was delivered (RIP is the handler's).
 * Less common operations live in bitops.ts, strings.ts and system.ts.
 * @spec Intel SDM Vol. 2 (semantics of each instruction)
 */
import type { X86Cpu } from "./cpu.js";
import { RFLAGS, VEC } from "./defs.js";
import { Op, type Insn } from "./insn.js";
import { alu, incDec, MASK, shift, shiftDouble, sub } from "./alu.js";
import { divAcc, imulTrunc, mulAcc, sx } from "./muldiv.js";
import { canonicalHi, cond, getReg, readRM, readRMW, setReg, storeRM, writeRM } from "./operands.js";
import { bitTest, bitScan, cmpxchg, xadd } from "./bitops.js";
import { stringOp } from "./strings.js";
import { executeSystem } from "./system.js";
import { LOAD } from "./mmu.js";

/** Sets the next RIP to next + the sign-extended 32-bit displacement `rel`. */
export function jumpRel(c: X86Cpu, rel: number): boolean {
  const s = (c.nLo >>> 0) + (rel >>> 0);
  const hi = (c.nHi + (rel >> 31) + (s > 0xffffffff ? 1 : 0)) | 0;
  if (!canonicalHi(c, hi)) return c.fault(VEC.GP, 0);
  c.nLo = s | 0;
  c.nHi = hi;
  return true;
}

/** Sets the next RIP to an absolute target; non-canonical is #GP(0) on this instruction. */
function jumpAbs(c: X86Cpu, lo: number, hi: number): boolean {
  if (!canonicalHi(c, hi)) return c.fault(VEC.GP, 0);
  c.nLo = lo;
  c.nHi = hi;
  return true;
}

/** Executes one instruction. Returns true to retire it, false if a fault was delivered. */
export function step(c: X86Cpu, i: Insn): boolean {
  const size = i.size;
  switch (i.op) {
    // ---- data movement ----
    case Op.MOV_RM_R:
      getReg(c, i.reg, size);
      return storeRM(c, i, size, c.vLo, c.vHi);
    case Op.MOV_R_RM:
      if (!readRM(c, i, size)) return false;
      setReg(c, i.reg, size, c.vLo, c.vHi);
      return true;
    case Op.MOV_RM_I:
      return storeRM(c, i, size, i.immLo, i.immHi);
    case Op.MOVZX:
      if (!readRM(c, i, i.size2)) return false;
      setReg(c, i.reg, size, c.vLo, 0);
      return true;
    case Op.MOVSX: {
      if (!readRM(c, i, i.size2)) return false;
      const v = sx(i.size2, c.vLo);
      setReg(c, i.reg, size, v, v >> 31);
      return true;
    }
    case Op.LEA:
      c.ea(i);
      setReg(c, i.reg, size, c.eaLo, c.eaHi);
      return true;
    case Op.XCHG: {
      if (!readRMW(c, i, size)) return false;
      const mLo = c.vLo, mHi = c.vHi;
      getReg(c, i.reg, size);
      if (!writeRM(c, i, size, c.vLo, c.vHi)) return false;
      setReg(c, i.reg, size, mLo, mHi);
      return true;
    }
    case Op.PUSH_R: case Op.F_PUSH:
      getReg(c, i.rm, size);
      return c.push(size, c.vLo, c.vHi);
    case Op.POP_R: case Op.F_POP:
      if (!c.pop(size)) return false;
      setReg(c, i.rm, size, c.vLo, c.vHi);
      return true;
    case Op.PUSH_I:
      return c.push(size, i.immLo, i.immHi);
    case Op.PUSH_RM:
      if (!readRM(c, i, size)) return false;
      return c.push(size, c.vLo, c.vHi);
    case Op.POP_RM: {
      // The destination address is computed with RSP already incremented. @spec SDM Vol. 2B "POP"
      const sl = c.gl[4]!, sh = c.gh[4]!;
      if (!c.ld(sl, sh, size, LOAD)) return false;
      const vLo = c.vLo, vHi = c.vHi;
      const nl = (sl + size) | 0, nh = (sh + ((nl >>> 0) < (sl >>> 0) ? 1 : 0)) | 0;
      c.gl[4] = nl; c.gh[4] = nh;
      if (i.rm >= 0) { setReg(c, i.rm, size, vLo, vHi); return true; }
      c.ea(i);
      c.gl[4] = sl; c.gh[4] = sh;
      if (!c.st(c.eaLo, c.eaHi, size, vLo, vHi)) return false;
      c.gl[4] = nl; c.gh[4] = nh;
      return true;
    }
    case Op.LEAVE: {
      if (!c.ld(c.gl[5]!, c.gh[5]!, size, LOAD)) return false;
      const sl = c.gl[5]!;
      const nl = (sl + size) | 0;
      c.gh[4] = (c.gh[5]! + ((nl >>> 0) < (sl >>> 0) ? 1 : 0)) | 0;
      c.gl[4] = nl;
      setReg(c, 5, size, c.vLo, c.vHi);
      return true;
    }
    case Op.CONV_A: {
      const a = c.gl[0]!;
      if (size === 2) setReg(c, 0, 2, sx(1, a), 0);
      else if (size === 4) setReg(c, 0, 4, sx(2, a), 0);
      else setReg(c, 0, 8, a, a >> 31);
      return true;
    }
    case Op.CONV_D: {
      const s = size === 8 ? c.gh[0]! >> 31 : size === 4 ? c.gl[0]! >> 31 : sx(2, c.gl[0]!) >> 31;
      setReg(c, 2, size, s, s);
      return true;
    }
    case Op.BSWAP: {
      const r = i.rm;
      if (size === 8) {
        const lo = c.gl[r]!;
        c.gl[r] = bswap32(c.gh[r]!);
        c.gh[r] = bswap32(lo);
      } else setReg(c, r, 4, bswap32(c.gl[r]!), 0);
      return true;
    }
    case Op.CMOV:
      if (!readRM(c, i, size)) return false;
      if (cond(c.rflags, i.sub)) setReg(c, i.reg, size, c.vLo, c.vHi);
      else if (size === 4) c.gh[i.reg] = 0;
      return true;
    case Op.SETCC:
      return storeRM(c, i, 1, cond(c.rflags, i.sub) ? 1 : 0, 0);
    case Op.LAHF:
      setReg(c, 16, 1, (c.rflags & 0xd5) | 2, 0);
      return true;
    case Op.SAHF:
      c.rflags = (c.rflags & ~0xd5) | ((c.gl[0]! >>> 8) & 0xd5);
      return true;
    // ---- arithmetic ----
    case Op.ALU_RM_R: {
      if (!(i.sub === 7 ? readRM(c, i, size) : readRMW(c, i, size))) return false;
      const aLo = c.vLo, aHi = c.vHi;
      getReg(c, i.reg, size);
      alu(c, i.sub, size, aLo, aHi, c.vLo, c.vHi);
      return i.sub === 7 || writeRM(c, i, size, c.rLo, c.rHi);
    }
    case Op.ALU_R_RM: {
      if (!readRM(c, i, size)) return false;
      const bLo = c.vLo, bHi = c.vHi;
      getReg(c, i.reg, size);
      alu(c, i.sub, size, c.vLo, c.vHi, bLo, bHi);
      if (i.sub !== 7) setReg(c, i.reg, size, c.rLo, c.rHi);
      return true;
    }
    case Op.ALU_RM_I:
      if (!(i.sub === 7 ? readRM(c, i, size) : readRMW(c, i, size))) return false;
      alu(c, i.sub, size, c.vLo, c.vHi, i.immLo, i.immHi);
      return i.sub === 7 || writeRM(c, i, size, c.rLo, c.rHi);
    case Op.TEST_RM_R: {
      if (!readRM(c, i, size)) return false;
      const aLo = c.vLo, aHi = c.vHi;
      getReg(c, i.reg, size);
      alu(c, 4, size, aLo, aHi, c.vLo, c.vHi);
      return true;
    }
    case Op.TEST_RM_I:
      if (!readRM(c, i, size)) return false;
      alu(c, 4, size, c.vLo, c.vHi, i.immLo, i.immHi);
      return true;
    case Op.INC: case Op.DEC:
      if (!readRMW(c, i, size)) return false;
      incDec(c, size, c.vLo, c.vHi, i.op === Op.DEC);
      return writeRM(c, i, size, c.rLo, c.rHi);
    case Op.NOT: {
      if (!readRMW(c, i, size)) return false;
      const lo = size === 8 ? ~c.vLo : ~c.vLo & MASK[size]!;
      return writeRM(c, i, size, lo | 0, ~c.vHi);
    }
    case Op.NEG: {
      if (!readRMW(c, i, size)) return false;
      const zero = size === 8 ? (c.vLo | c.vHi) === 0 : (c.vLo & MASK[size]!) === 0;
      sub(c, size, 0, 0, c.vLo, c.vHi, 0);
      c.rflags = zero ? c.rflags & ~RFLAGS.CF : c.rflags | RFLAGS.CF;
      return writeRM(c, i, size, c.rLo, c.rHi);
    }
    case Op.MUL: case Op.IMUL1:
      if (!readRM(c, i, size)) return false;
      mulAcc(c, i.op === Op.IMUL1, size, c.vLo, c.vHi);
      return true;
    case Op.DIV: case Op.IDIV:
      if (!readRM(c, i, size)) return false;
      return divAcc(c, i.op === Op.IDIV, size, c.vLo, c.vHi) || c.fault(VEC.DE);
    case Op.IMUL2: {
      if (!readRM(c, i, size)) return false;
      const bLo = c.vLo, bHi = c.vHi;
      getReg(c, i.reg, size);
      imulTrunc(c, size, c.vLo, c.vHi, bLo, bHi);
      setReg(c, i.reg, size, c.rLo, c.rHi);
      return true;
    }
    case Op.IMUL3:
      if (!readRM(c, i, size)) return false;
      imulTrunc(c, size, c.vLo, c.vHi, i.immLo, i.immHi);
      setReg(c, i.reg, size, c.rLo, c.rHi);
      return true;
    case Op.SHIFT: {
      if (!readRMW(c, i, size)) return false;
      const count = i.size2 === 1 ? c.gl[1]! & 0xff : i.immLo;
      shift(c, i.sub, size, c.vLo, c.vHi, count);
      return writeRM(c, i, size, c.rLo, c.rHi);
    }
    case Op.SHLD: case Op.SHRD: {
      if (!readRMW(c, i, size)) return false;
      const dLo = c.vLo, dHi = c.vHi;
      getReg(c, i.reg, size);
      const count = i.size2 === 1 ? c.gl[1]! & 0xff : i.immLo;
      if (!shiftDouble(c, i.op === Op.SHLD, size, dLo, dHi, c.vLo, c.vHi, count)) return writeRM(c, i, size, dLo, dHi);
      return writeRM(c, i, size, c.rLo, c.rHi);
    }
    case Op.BT: return bitTest(c, i);
    case Op.BSF: case Op.BSR: case Op.TZCNT: case Op.LZCNT: case Op.POPCNT: return bitScan(c, i);
    case Op.CMPXCHG: return cmpxchg(c, i);
    case Op.XADD: return xadd(c, i);
    // ---- control transfer ----
    case Op.JCC:
      return !cond(c.rflags, i.sub) || jumpRel(c, i.immLo);
    case Op.JMP_REL:
      return jumpRel(c, i.immLo);
    case Op.CALL_REL: case Op.F_CALL: {
      const rLo = c.nLo, rHi = c.nHi;
      if (!jumpRel(c, i.immLo)) return false;
      if (c.push(8, rLo, rHi)) return true;
      return false;
    }
    case Op.JMP_RM:
      if (!readRM(c, i, 8)) return false;
      return jumpAbs(c, c.vLo, c.vHi);
    case Op.CALL_RM: {
      if (!readRM(c, i, 8)) return false;
      const tLo = c.vLo, tHi = c.vHi;
      if (!canonicalHi(c, tHi)) return c.fault(VEC.GP, 0);
      if (!c.push(8, c.nLo, c.nHi)) return false;
      c.nLo = tLo;
      c.nHi = tHi;
      return true;
    }
    case Op.RET: case Op.F_RET: {
      const sl = c.gl[4]!, sh = c.gh[4]!;
      if (!c.ld(sl, sh, size, LOAD)) return false;
      const tLo = c.vLo, tHi = size === 8 ? c.vHi : 0;
      if (!canonicalHi(c, tHi)) return c.fault(VEC.GP, 0);
      const add = size + (i.immLo & 0xffff);
      const nl = (sl + add) | 0;
      c.gh[4] = (sh + ((nl >>> 0) < (sl >>> 0) ? 1 : 0)) | 0;
      c.gl[4] = nl;
      c.nLo = size === 8 ? tLo : tLo & 0xffff;
      c.nHi = size === 8 ? tHi : 0;
      return true;
    }
    case Op.JRCXZ: {
      const zero = i.addr32 ? c.gl[1] === 0 : (c.gl[1]! | c.gh[1]!) === 0;
      return !zero || jumpRel(c, i.immLo);
    }
    case Op.LOOP: {
      const lo = (c.gl[1]! - 1) | 0;
      if (i.addr32) { c.gl[1] = lo; c.gh[1] = 0; }
      else { c.gh[1] = (c.gh[1]! - (lo === -1 ? 1 : 0)) | 0; c.gl[1] = lo; }
      const nz = i.addr32 ? lo !== 0 : (lo | c.gh[1]!) !== 0;
      const z = (c.rflags & RFLAGS.ZF) !== 0;
      const take = i.sub === 2 ? nz : i.sub === 1 ? nz && z : nz && !z;
      return !take || jumpRel(c, i.immLo);
    }
    // ---- strings ----
    case Op.MOVS: case Op.STOS: case Op.LODS: case Op.CMPS: case Op.SCAS:
      return stringOp(c, i);
    // ---- flags and misc ----
    case Op.NOP: case Op.PAUSE: return true;
    case Op.CLC: c.rflags &= ~RFLAGS.CF; return true;
    case Op.STC: c.rflags |= RFLAGS.CF; return true;
    case Op.CMC: c.rflags ^= RFLAGS.CF; return true;
    case Op.CLD: c.rflags &= ~RFLAGS.DF; return true;
    case Op.STD: c.rflags |= RFLAGS.DF; return true;
    case Op.NATIVE: return c.runNative(i.immLo) && (c.nLo = c.ripLo, c.nHi = c.ripHi, true);
    case Op.UD: return c.fault(VEC.UD);
    case Op.GP0: return c.fault(VEC.GP, 0);
    default: return executeSystem(c, i);
  }
}

function bswap32(v: number): number {
  return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}
