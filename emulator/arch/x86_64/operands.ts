/**
 * Operand access for the executor: registers of every size (with AH..BH), ModRM operands that are a
 * register or memory, and the condition codes.
 * @spec Intel SDM Vol. 1 §3.4.1.1 (64-bit mode: 32-bit results zero-extend, 8/16-bit results merge)
 */
import type { X86Cpu } from "./cpu.js";
import { RFLAGS } from "./defs.js";
import { AH_BASE, type Insn } from "./insn.js";
import { LOAD, STORE } from "./mmu.js";

/** Reads register `r` (byte registers: see AH_BASE) of `size` bytes into c.vLo/c.vHi, zero-extended. */
export function getReg(c: X86Cpu, r: number, size: number): void {
  switch (size) {
    case 8: c.vLo = c.gl[r]!; c.vHi = c.gh[r]!; return;
    case 4: c.vLo = c.gl[r]!; c.vHi = 0; return;
    case 2: c.vLo = c.gl[r]! & 0xffff; c.vHi = 0; return;
    default: c.vLo = r >= AH_BASE ? (c.gl[r - AH_BASE]! >>> 8) & 0xff : c.gl[r]! & 0xff; c.vHi = 0;
  }
}

/** Writes register `r`: 8 bytes whole, 4 bytes zero-extending, 2 and 1 bytes merging. */
export function setReg(c: X86Cpu, r: number, size: number, lo: number, hi: number): void {
  const gl = c.gl;
  switch (size) {
    case 8: gl[r] = lo; c.gh[r] = hi; return;
    case 4: gl[r] = lo; c.gh[r] = 0; return;
    case 2: gl[r] = (gl[r]! & ~0xffff) | (lo & 0xffff); return;
    default:
      if (r >= AH_BASE) gl[r - AH_BASE] = (gl[r - AH_BASE]! & ~0xff00) | ((lo & 0xff) << 8);
      else gl[r] = (gl[r]! & ~0xff) | (lo & 0xff);
  }
}

/** Reads the ModRM r/m operand of `size` bytes into c.vLo/c.vHi. Returns false if a fault was delivered. */
export function readRM(c: X86Cpu, i: Insn, size: number): boolean {
  if (i.rm >= 0) {
    getReg(c, i.rm, size);
    return true;
  }
  c.ea(i);
  return c.ld(c.eaLo, c.eaHi, size, LOAD);
}

/**
 * Reads the r/m operand of a read-modify-write: a memory operand is translated for writing too, and
 * its address stays in c.eaLo/c.eaHi for {@link writeRM}.
 */
export function readRMW(c: X86Cpu, i: Insn, size: number): boolean {
  if (i.rm >= 0) {
    getReg(c, i.rm, size);
    return true;
  }
  c.ea(i);
  return c.ld(c.eaLo, c.eaHi, size, STORE);
}

/** Writes the r/m operand; a memory operand goes to c.eaLo/c.eaHi (set by readRMW or c.ea). */
export function writeRM(c: X86Cpu, i: Insn, size: number, lo: number, hi: number): boolean {
  if (i.rm >= 0) {
    setReg(c, i.rm, size, lo, hi);
    return true;
  }
  return c.st(c.eaLo, c.eaHi, size, lo, hi);
}

/** Writes the r/m operand, computing a memory operand's address first. */
export function storeRM(c: X86Cpu, i: Insn, size: number, lo: number, hi: number): boolean {
  if (i.rm >= 0) {
    setReg(c, i.rm, size, lo, hi);
    return true;
  }
  c.ea(i);
  return c.st(c.eaLo, c.eaHi, size, lo, hi);
}

const { CF, PF, ZF, SF, OF } = RFLAGS;

/** Condition code `cc` (0..15: O NO B AE E NE BE A S NS P NP L GE LE G) under RFLAGS `f`. @spec SDM Vol. 1 Appendix B */
export function cond(f: number, cc: number): boolean {
  let r: boolean;
  switch (cc >>> 1) {
    case 0: r = (f & OF) !== 0; break;
    case 1: r = (f & CF) !== 0; break;
    case 2: r = (f & ZF) !== 0; break;
    case 3: r = (f & (CF | ZF)) !== 0; break;
    case 4: r = (f & SF) !== 0; break;
    case 5: r = (f & PF) !== 0; break;
    case 6: r = ((f & SF) !== 0) !== ((f & OF) !== 0); break;
    default: r = (f & ZF) !== 0 || ((f & SF) !== 0) !== ((f & OF) !== 0);
  }
  return (cc & 1) === 0 ? r : !r;
}

/** Whether (hi:…) is the high half of a canonical address under the current paging mode. */
export function canonicalHi(c: X86Cpu, hi: number): boolean {
  const top = hi >> ((c.mmu.cr4Lo & (1 << 12)) !== 0 ? 24 : 15);
  return top === 0 || top === -1;
}
