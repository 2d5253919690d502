/**
 * String instructions MOVS, STOS, LODS, CMPS, SCAS with REP/REPE/REPNE. Registers advance after each
 * element, so a fault in the middle leaves RSI/RDI/RCX describing the elements done and RIP at the
 * instruction (it restarts where it stopped). A long REP runs in slices of {@link REP_SLICE} elements:
 * each slice counts as one retired instruction and leaves RIP at the instruction, so interrupts and
 * instruction budgets are checked between slices (as hardware may interrupt a REP between elements).
 * @spec Intel SDM Vol. 2B "MOVS", "REP/REPE/REPZ/REPNE/REPNZ", Vol. 2C "STOS", "SCAS", Vol. 2A "CMPS", "LODS"
 */
import type { X86Cpu } from "./cpu.js";
import { RFLAGS } from "./defs.js";
import { Op, SEG_FS, type Insn } from "./insn.js";
import { sub } from "./alu.js";
import { getReg, setReg } from "./operands.js";
import { LOAD } from "./mmu.js";

/** Elements per slice of a REP string instruction. */
export const REP_SLICE = 4096;

const RCX = 1, RSI = 6, RDI = 7;

/** Adds `delta` (a small signed number) to register `r`, as a 32-bit register when `addr32`. */
function advance(c: X86Cpu, r: number, delta: number, addr32: boolean): void {
  const lo = c.gl[r]!;
  const s = (lo >>> 0) + delta;
  c.gl[r] = s | 0;
  if (addr32) c.gh[r] = 0;
  else if (s > 0xffffffff) c.gh[r] = (c.gh[r]! + 1) | 0;
  else if (s < 0) c.gh[r] = (c.gh[r]! - 1) | 0;
}

/** The linear address of the source (seg:RSI) into c.eaLo/c.eaHi. */
function source(c: X86Cpu, i: Insn): void {
  let lo = c.gl[RSI]!, hi = i.addr32 ? 0 : c.gh[RSI]!;
  if (i.seg !== 0) {
    const bl = i.seg === SEG_FS ? c.fsBaseLo : c.gsBaseLo;
    const bh = i.seg === SEG_FS ? c.fsBaseHi : c.gsBaseHi;
    const s = (lo >>> 0) + (bl >>> 0);
    hi = (hi + bh + (s > 0xffffffff ? 1 : 0)) | 0;
    lo = s | 0;
  }
  c.eaLo = lo;
  c.eaHi = hi;
}

/** Executes one string instruction (one slice of a REP). Returns false if a fault was delivered. */
export function stringOp(c: X86Cpu, i: Insn): boolean {
  const size = i.size;
  const a32 = i.addr32;
  const delta = (c.rflags & RFLAGS.DF) !== 0 ? -size : size;
  const rep = i.rep;
  const cmp = i.op === Op.CMPS || i.op === Op.SCAS;
  for (let n = 0; ; n++) {
    if (rep !== 0 && (a32 ? c.gl[RCX] === 0 : (c.gl[RCX]! | c.gh[RCX]!) === 0)) return true;
    if (n === REP_SLICE) {
      c.nLo = c.ripLo;
      c.nHi = c.ripHi;
      return true;
    }
    const dLo = c.gl[RDI]!, dHi = a32 ? 0 : c.gh[RDI]!;
    switch (i.op) {
      case Op.MOVS:
        source(c, i);
        if (!c.ld(c.eaLo, c.eaHi, size, LOAD)) return false;
        if (!c.st(dLo, dHi, size, c.vLo, c.vHi)) return false;
        advance(c, RSI, delta, a32);
        advance(c, RDI, delta, a32);
        break;
      case Op.STOS:
        getReg(c, 0, size);
        if (!c.st(dLo, dHi, size, c.vLo, c.vHi)) return false;
        advance(c, RDI, delta, a32);
        break;
      case Op.LODS:
        source(c, i);
        if (!c.ld(c.eaLo, c.eaHi, size, LOAD)) return false;
        setReg(c, 0, size, c.vLo, c.vHi);
        advance(c, RSI, delta, a32);
        break;
      case Op.CMPS: {
        source(c, i);
        if (!c.ld(c.eaLo, c.eaHi, size, LOAD)) return false;
        const aLo = c.vLo, aHi = c.vHi;
        if (!c.ld(dLo, dHi, size, LOAD)) return false;
        sub(c, size, aLo, aHi, c.vLo, c.vHi, 0);
        advance(c, RSI, delta, a32);
        advance(c, RDI, delta, a32);
        break;
      }
      default: { // SCAS
        if (!c.ld(dLo, dHi, size, LOAD)) return false;
        const bLo = c.vLo, bHi = c.vHi;
        getReg(c, 0, size);
        sub(c, size, c.vLo, c.vHi, bLo, bHi, 0);
        advance(c, RDI, delta, a32);
      }
    }
    if (rep === 0) return true;
    advance(c, RCX, -1, a32);
    if (cmp) {
      const zf = (c.rflags & RFLAGS.ZF) !== 0;
      if (rep === 1 ? !zf : zf) return true;
    }
  }
}
