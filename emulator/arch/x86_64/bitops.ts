/**
 * Bit instructions: BT/BTS/BTR/BTC (register and immediate offsets, bit strings in memory),
 * BSF/BSR, TZCNT/LZCNT/POPCNT, and the atomic read-modify-writes CMPXCHG and XADD (atomic by
 * construction: one CPU, and each instruction completes before the next).
 * Undefined flags: BT* leave OF/SF/AF/PF unchanged; BSF/BSR set the flags of a logical operation on
 * the source (as QEMU) and leave the destination unchanged for a zero source (as AMD documents and
 * QEMU does); TZCNT/LZCNT clear OF/SF/AF/PF (as QEMU).
 * @spec Intel SDM Vol. 2A "BT", "BTC", "BTR", "BTS", "BSF", "BSR", "CMPXCHG", Vol. 2B "LZCNT",
 * "POPCNT", "TZCNT", Vol. 2C "XADD"
 */
import type { X86Cpu } from "./cpu.js";
import { RFLAGS, STATUS_FLAGS } from "./defs.js";
import { Op, type Insn } from "./insn.js";
import { add, logicFlags, sub } from "./alu.js";
import { getReg, readRM, readRMW, setReg, writeRM } from "./operands.js";
import { LOAD, STORE } from "./mmu.js";

const { CF, ZF } = RFLAGS;

/** BT (sub 0), BTS (1), BTR (2), BTC (3). */
export function bitTest(c: X86Cpu, i: Insn): boolean {
  const size = i.size;
  const bits = size * 8;
  let bit: number;
  if (i.size2 === 1) {
    bit = i.immLo & (bits - 1);
    if (!(i.sub === 0 ? readRM(c, i, size) : readRMW(c, i, size))) return false;
  } else {
    getReg(c, i.reg, size);
    const offLo = c.vLo, offHi = c.vHi;
    bit = offLo & (bits - 1);
    if (i.rm >= 0) getReg(c, i.rm, size);
    else {
      // A register offset addresses a bit string: the operand moves by (offset >> log2(bits)) units.
      c.ea(i);
      const off = size === 8 ? offHi * 4294967296 + (offLo >>> 0) : size === 4 ? offLo : (offLo << 16) >> 16;
      const units = Math.floor(off / bits) * size;
      const s = (c.eaLo >>> 0) + (units % 4294967296 + 4294967296) % 4294967296;
      const carry = s > 0xffffffff ? 1 : 0;
      c.eaHi = (c.eaHi + Math.floor(units / 4294967296) + carry) | 0;
      c.eaLo = s | 0;
      if (!c.ld(c.eaLo, c.eaHi, size, i.sub === 0 ? LOAD : STORE)) return false;
    }
  }
  let lo = c.vLo, hi = c.vHi;
  const inHi = bit >= 32;
  const m = 1 << (bit & 31);
  const was = ((inHi ? hi : lo) & m) !== 0;
  c.rflags = was ? c.rflags | CF : c.rflags & ~CF;
  if (i.sub === 0) return true;
  const set = i.sub === 1 ? true : i.sub === 2 ? false : !was;
  if (inHi) hi = set ? hi | m : hi & ~m;
  else lo = set ? lo | m : lo & ~m;
  return writeRM(c, i, size, lo, hi);
}

/** Index of the lowest set bit of hi:lo (nonzero). */
function lowest(lo: number, hi: number): number {
  return lo !== 0 ? 31 - Math.clz32(lo & -lo) : 63 - Math.clz32(hi & -hi);
}

/** Index of the highest set bit of hi:lo (nonzero). */
function highest(lo: number, hi: number): number {
  return hi !== 0 ? 63 - Math.clz32(hi) : 31 - Math.clz32(lo);
}

function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** BSF, BSR, TZCNT, LZCNT, POPCNT. */
export function bitScan(c: X86Cpu, i: Insn): boolean {
  const size = i.size;
  if (!readRM(c, i, size)) return false;
  const lo = c.vLo, hi = size === 8 ? c.vHi : 0;
  const zero = (lo | hi) === 0;
  const bits = size * 8;
  switch (i.op) {
    case Op.BSF: case Op.BSR:
      // ZF = source is zero; the undefined CF, OF, SF, AF, PF as QEMU: logic flags of the source.
      logicFlags(c, size, lo, hi);
      if (!zero) setReg(c, i.reg, size, i.op === Op.BSF ? lowest(lo, hi) : highest(lo, hi), 0);
      return true;
    case Op.TZCNT: case Op.LZCNT: {
      const n = zero ? bits : i.op === Op.TZCNT ? lowest(lo, hi) : bits - 1 - highest(lo, hi);
      setReg(c, i.reg, size, n, 0);
      // The undefined OF, SF, AF, PF are cleared (as QEMU).
      c.rflags = (c.rflags & ~STATUS_FLAGS) | (zero ? CF : 0) | (n === 0 ? ZF : 0);
      return true;
    }
    default: {
      const n = popcount32(lo) + popcount32(hi);
      setReg(c, i.reg, size, n, 0);
      c.rflags = (c.rflags & ~STATUS_FLAGS) | (zero ? ZF : 0);
      return true;
    }
  }
}

/** CMPXCHG r/m, reg: compares rAX with the destination (flags as CMP); equal stores reg, else loads rAX. */
export function cmpxchg(c: X86Cpu, i: Insn): boolean {
  const size = i.size;
  if (!readRMW(c, i, size)) return false;
  const dLo = c.vLo, dHi = c.vHi;
  getReg(c, 0, size);
  sub(c, size, c.vLo, c.vHi, dLo, dHi, 0);
  if ((c.rflags & ZF) !== 0) {
    getReg(c, i.reg, size);
    return writeRM(c, i, size, c.vLo, c.vHi);
  }
  // The destination is written back unchanged (a locked cycle always writes), then rAX is loaded.
  if (i.rm < 0 && !writeRM(c, i, size, dLo, dHi)) return false;
  setReg(c, 0, size, dLo, dHi);
  return true;
}

/** XADD r/m, reg: TEMP = SRC + DEST; SRC = DEST; DEST = TEMP (flags as ADD). */
export function xadd(c: X86Cpu, i: Insn): boolean {
  const size = i.size;
  if (!readRMW(c, i, size)) return false;
  const dLo = c.vLo, dHi = c.vHi;
  getReg(c, i.reg, size);
  add(c, size, dLo, dHi, c.vLo, c.vHi, 0);
  const rLo = c.rLo, rHi = c.rHi;
  if (i.rm < 0) {
    if (!writeRM(c, i, size, rLo, rHi)) return false;
    setReg(c, i.reg, size, dLo, dHi);
    return true;
  }
  setReg(c, i.reg, size, dLo, dHi);
  setReg(c, i.rm, size, rLo, rHi);
  return true;
}
