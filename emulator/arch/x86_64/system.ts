/**
 * System instructions: control registers, MSRs, CPUID, descriptor tables, SYSCALL/SYSRET, SWAPGS,
 * TLB maintenance, interrupts (INT n, IRETQ, CLI/STI, HLT), far return, segment moves, port I/O.
 * Privilege checks come first, then the effect, as the SDM's pseudocode orders them.
 * @spec Intel SDM Vol. 2 (each instruction's "Operation" and "64-Bit Mode Exceptions")
 */
import type { X86Cpu } from "./cpu.js";
import { RFLAGS, RFLAGS_WRITABLE, VEC } from "./defs.js";
import { Op, type Insn } from "./insn.js";
import { canonicalHi, getReg, readRM, setReg, storeRM } from "./operands.js";
import { cr0WriteFaults, cr3WriteFaults, cr4WriteFaults } from "./mmu-regs.js";
import { LOAD } from "./mmu.js";
import { deliver, iret } from "./trap.js";
import { cpuid } from "./cpuid.js";
import { rdmsr, wrmsr } from "./msr.js";

const u64 = (lo: number, hi: number): bigint => BigInt.asUintN(64, (BigInt(hi) << 32n) | BigInt(lo >>> 0));
const lo32 = (v: bigint): number => Number(v & 0xffffffffn) | 0;
const hi32 = (v: bigint): number => Number((v >> 32n) & 0xffffffffn) | 0;

/** CPL 0 required: #GP(0) otherwise. */
function needCpl0(c: X86Cpu): boolean {
  return c.cpl === 0 || c.fault(VEC.GP, 0);
}

/** CPL <= IOPL required (CLI, STI, IN, OUT; there is no I/O permission bitmap): #GP(0) otherwise. */
function needIopl(c: X86Cpu): boolean {
  return c.cpl <= (c.rflags & RFLAGS.IOPL) >>> 12 || c.fault(VEC.GP, 0);
}

/** Continues at the RIP an event delivery or return has set. */
function continueAtRip(c: X86Cpu): true {
  c.nLo = c.ripLo;
  c.nHi = c.ripHi;
  return true;
}

/** Executes system instruction `i`. Returns false if a fault was delivered. */
export function executeSystem(c: X86Cpu, i: Insn): boolean {
  switch (i.op) {
    case Op.CLI:
      if (!needIopl(c)) return false;
      c.rflags &= ~RFLAGS.IF;
      return true;
    case Op.STI:
      if (!needIopl(c)) return false;
      if ((c.rflags & RFLAGS.IF) === 0) {
        // Interrupts stay blocked until the instruction after STI completes. @spec SDM Vol. 2B "STI"
        c.rflags |= RFLAGS.IF;
        c.shadowUntil = c.icount + 2;
        c.interruptsChanged();
      }
      return true;
    case Op.HLT:
      if (!needCpl0(c)) return false;
      c.halted = true;
      c.stopAt = 0;
      return true;
    case Op.PUSHF:
      return c.push(i.size, c.rflags & ~(RFLAGS.VM | RFLAGS.RF), 0);
    case Op.POPF: {
      if (!c.pop(i.size)) return false;
      let mask = RFLAGS_WRITABLE & ~RFLAGS.RF;
      if (i.size === 2) mask &= 0xffff;
      if (c.cpl !== 0) mask &= ~RFLAGS.IOPL;
      if (c.cpl > (c.rflags & RFLAGS.IOPL) >>> 12) mask &= ~RFLAGS.IF;
      c.setRflags((c.rflags & ~mask) | (c.vLo & mask));
      return true;
    }
    case Op.INT: case Op.INT3:
      deliver(c, i.op === Op.INT ? i.immLo & 0xff : VEC.BP, 0, false, c.nLo, c.nHi, true);
      return continueAtRip(c);
    case Op.IRET:
      if (i.size === 2) return c.fault(VEC.UD);
      return iret(c, i.size) && continueAtRip(c);
    case Op.LRET: return farReturn(c, i);
    case Op.IN: case Op.OUT: {
      if (!needIopl(c)) return false;
      const port = i.size2 === 1 ? c.gl[2]! & 0xffff : i.immLo & 0xff;
      const size = i.size as 1 | 2 | 4;
      if (i.op === Op.IN) setReg(c, 0, size, c.ports.read(port, size), 0);
      else {
        getReg(c, 0, size);
        c.ports.write(port, size, size === 4 ? c.vLo >>> 0 : c.vLo);
      }
      return true;
    }
    case Op.MOV_FROM_CR: return movFromCr(c, i);
    case Op.MOV_TO_CR: return movToCr(c, i);
    case Op.RDMSR: case Op.WRMSR: {
      if (!needCpl0(c)) return false;
      const n = c.gl[1]! >>> 0;
      if (i.op === Op.RDMSR) {
        const v = rdmsr(c, n);
        if (v === undefined) return c.fault(VEC.GP, 0);
        setReg(c, 0, 4, lo32(v), 0);
        setReg(c, 2, 4, hi32(v), 0);
        return true;
      }
      return wrmsr(c, n, u64(c.gl[0]!, c.gl[2]!)) || c.fault(VEC.GP, 0);
    }
    case Op.RDTSC: case Op.RDTSCP: {
      if (c.cpl !== 0 && (c.mmu.cr4Lo & (1 << 2)) !== 0) return c.fault(VEC.GP, 0);
      const t = BigInt(c.time());
      setReg(c, 0, 4, lo32(t), 0);
      setReg(c, 2, 4, hi32(t), 0);
      if (i.op === Op.RDTSCP) setReg(c, 1, 4, lo32(c.tscAux), 0);
      return true;
    }
    case Op.CPUID: {
      const r = cpuid(c, c.gl[0]! >>> 0, c.gl[1]! >>> 0);
      setReg(c, 0, 4, r[0]!, 0);
      setReg(c, 3, 4, r[1]!, 0);
      setReg(c, 1, 4, r[2]!, 0);
      setReg(c, 2, 4, r[3]!, 0);
      return true;
    }
    case Op.SWAPGS: {
      if (!needCpl0(c)) return false;
      const g = c.gsBase;
      c.setGsBase(c.kernelGsBase);
      c.kernelGsBase = g;
      return true;
    }
    case Op.STAC: case Op.CLAC:
      if (c.cpl !== 0) return c.fault(VEC.UD);
      c.setRflags(i.op === Op.STAC ? c.rflags | RFLAGS.AC : c.rflags & ~RFLAGS.AC);
      return true;
    // No caches are modelled: only the privilege check remains. @spec SDM Vol. 2A INVD, WBINVD ("#GP(0) if the current privilege level is not 0")
    case Op.WBINVD:
      return needCpl0(c);
    case Op.INVLPG:
      if (!needCpl0(c)) return false;
      c.ea(i);
      c.mmu.invlpg(c.eaLo, c.eaHi);
      c.flushFast();
      return true;
    case Op.INVPCID: {
      if (!needCpl0(c)) return false;
      getReg(c, i.reg, 8);
      const tLo = c.vLo, tHi = c.vHi;
      c.ea(i);
      const aLo = c.eaLo, aHi = c.eaHi;
      if (!c.ld(aLo, aHi, 8, LOAD)) return false;
      const dLo = c.vLo, dHi = c.vHi;
      const a2 = (aLo + 8) | 0;
      if (!c.ld(a2, (aHi + ((a2 >>> 0) < 8 ? 1 : 0)) | 0, 8, LOAD)) return false;
      if (tHi !== 0 || (tLo >>> 0) > 3 || dHi !== 0 || (dLo & ~0xfff) !== 0) return c.fault(VEC.GP, 0);
      if (!c.mmu.invpcid(tLo, dLo & 0xfff, c.vLo, c.vHi)) return c.fault(VEC.GP, 0);
      c.flushFast();
      return true;
    }
    case Op.LGDT: case Op.LIDT: {
      if (!needCpl0(c)) return false;
      c.ea(i);
      const aLo = c.eaLo, aHi = c.eaHi;
      if (!c.ld(aLo, aHi, 2, LOAD)) return false;
      const limit = c.vLo & 0xffff;
      const b = (aLo + 2) | 0;
      if (!c.ld(b, (aHi + ((b >>> 0) < 2 ? 1 : 0)) | 0, 8, LOAD)) return false;
      if (i.op === Op.LGDT) { c.gdtrLimit = limit; c.gdtrBase = u64(c.vLo, c.vHi); }
      else { c.idtrLimit = limit; c.idtrBase = u64(c.vLo, c.vHi); }
      return true;
    }
    case Op.SGDT: case Op.SIDT: {
      c.ea(i);
      const aLo = c.eaLo, aHi = c.eaHi;
      const base = i.op === Op.SGDT ? c.gdtrBase : c.idtrBase;
      if (!c.st(aLo, aHi, 2, i.op === Op.SGDT ? c.gdtrLimit : c.idtrLimit, 0)) return false;
      const b = (aLo + 2) | 0;
      return c.st(b, (aHi + ((b >>> 0) < 2 ? 1 : 0)) | 0, 8, lo32(base), hi32(base));
    }
    case Op.LTR: return loadTr(c, i);
    case Op.STR: return storeRM(c, i, i.rm >= 0 ? 4 : 2, c.trSel, 0);
    case Op.LLDT:
      if (!needCpl0(c)) return false;
      if (!readRM(c, i, 2)) return false;
      // No LDT support: only the null selector (no LDT) loads. @spec docs/x86_64.md
      return (c.vLo & ~3) === 0 || c.fault(VEC.GP, c.vLo & ~3);
    case Op.MOV_SREG_RM: {
      if (!readRM(c, i, 2)) return false;
      c.sel[i.reg] = c.vLo & 0xffff;
      // MOV to SS blocks interrupts for one instruction. @spec SDM Vol. 2B "MOV" (SS loads)
      if (i.reg === 2) c.shadowUntil = c.icount + 2;
      return true;
    }
    case Op.MOV_RM_SREG:
      return storeRM(c, i, i.rm >= 0 ? (i.size === 2 ? 2 : 4) : 2, c.sel[i.reg]!, 0);
    case Op.SYSCALL: return syscall(c);
    case Op.SYSRET: return sysret(c, i);
    default: return c.fault(VEC.UD);
  }
}

function movFromCr(c: X86Cpu, i: Insn): boolean {
  if (!needCpl0(c)) return false;
  const m = c.mmu;
  let lo: number, hi: number;
  switch (i.reg) {
    case 0: lo = m.cr0Lo; hi = m.cr0Hi; break;
    case 2: lo = lo32(m.cr2); hi = hi32(m.cr2); break;
    case 3: lo = m.cr3Lo; hi = m.cr3Hi; break;
    case 4: lo = m.cr4Lo; hi = m.cr4Hi; break;
    case 8: lo = c.cr8; hi = 0; break;
    default: return c.fault(VEC.UD);
  }
  setReg(c, i.rm, 8, lo, hi);
  return true;
}

function movToCr(c: X86Cpu, i: Insn): boolean {
  if (!needCpl0(c)) return false;
  const m = c.mmu;
  const lo = c.gl[i.rm]!, hi = c.gh[i.rm]!;
  switch (i.reg) {
    case 0:
      if (cr0WriteFaults(m, lo, hi)) return c.fault(VEC.GP, 0);
      m.writeCr0(lo, hi);
      break;
    case 2: m.cr2 = u64(lo, hi); return true;
    case 3:
      if (cr3WriteFaults(m, hi)) return c.fault(VEC.GP, 0);
      m.writeCr3(lo, hi);
      break;
    case 4:
      if (cr4WriteFaults(m, lo, hi)) return c.fault(VEC.GP, 0);
      m.writeCr4(lo, hi);
      break;
    case 8:
      if (hi !== 0 || (lo & ~0xf) !== 0) return c.fault(VEC.GP, 0);
      c.cr8 = lo;
      return true;
    default: return c.fault(VEC.UD);
  }
  c.contextChanged();
  return true;
}

/** LTR: loads TR from a 16-byte available 64-bit TSS descriptor and marks it busy. @spec SDM Vol. 2A "LTR" */
function loadTr(c: X86Cpu, i: Insn): boolean {
  if (!needCpl0(c)) return false;
  if (!readRM(c, i, 2)) return false;
  const sel = c.vLo & 0xffff;
  if ((sel & ~3) === 0 || (sel & 4) !== 0 || (sel | 7) + 8 > c.gdtrLimit) return c.fault(VEC.GP, sel & ~3);
  const at = c.gdtrBase + BigInt(sel & ~7);
  if (!c.ldImplicit(at, 8)) return false;
  const d0 = u64(c.vLo, c.vHi);
  if (!c.ldImplicit(at + 8n, 8)) return false;
  const d1 = u64(c.vLo, c.vHi);
  const type = Number((d0 >> 40n) & 0xfn);
  if (type !== 9 || ((d0 >> 44n) & 1n) !== 0n) return c.fault(VEC.GP, sel & ~3);
  if (((d0 >> 47n) & 1n) === 0n) return c.fault(VEC.NP, sel & ~3);
  c.trSel = sel;
  c.trBase = BigInt.asUintN(64, ((d0 >> 16n) & 0xffffffn) | (((d0 >> 56n) & 0xffn) << 24n) | ((d1 & 0xffffffffn) << 32n));
  const limit = Number((d0 & 0xffffn) | (((d0 >> 48n) & 0xfn) << 16n));
  c.trLimit = ((d0 >> 55n) & 1n) === 1n ? limit * 4096 + 4095 : limit;
  const busy = d0 | (2n << 40n);
  const a = Number(at & 0xffffffffn) | 0, ah = Number(at >> 32n) | 0;
  return c.stImplicit(a, ah, 8, lo32(busy), hi32(busy));
}

/** Far return (RETF/LRETQ) to the same privilege level. @spec SDM Vol. 2B "RET" (far return, 64-bit mode) */
function farReturn(c: X86Cpu, i: Insn): boolean {
  const size = i.size === 8 ? 8 : 4;
  const sl = c.gl[4]!, sh = c.gh[4]!;
  if (!c.ld(sl, sh, size, LOAD)) return false;
  const tLo = c.vLo, tHi = size === 8 ? c.vHi : 0;
  const s2 = (sl + size) | 0;
  if (!c.ld(s2, (sh + ((s2 >>> 0) < (sl >>> 0) ? 1 : 0)) | 0, size, LOAD)) return false;
  const cs = c.vLo & 0xffff;
  // Only same-privilege far returns are implemented (docs/x86_64.md); a null CS is #GP(0).
  if ((cs & ~3) === 0 || (cs & 3) !== c.cpl) return c.fault(VEC.GP, cs & ~3);
  if (!canonicalHi(c, tHi)) return c.fault(VEC.GP, 0);
  const add = 2 * size + (i.immLo & 0xffff);
  const nl = (sl + add) | 0;
  c.gh[4] = (sh + ((nl >>> 0) < (sl >>> 0) ? 1 : 0)) | 0;
  c.gl[4] = nl;
  c.sel[1] = cs;
  c.nLo = tLo;
  c.nHi = tHi;
  return true;
}

/** SYSCALL. @spec SDM Vol. 2B "SYSCALL"; ARCH-SPEC §2.8 */
function syscall(c: X86Cpu): boolean {
  if ((c.mmu.eferLo & 1) === 0) return c.fault(VEC.UD);
  c.gl[1] = c.nLo; c.gh[1] = c.nHi;
  c.gl[11] = c.rflags & ~RFLAGS.RF; c.gh[11] = 0;
  const sel = Number((c.star >> 32n) & 0xffffn);
  c.rflags = ((c.rflags & ~Number(c.fmask & 0xffffffffn)) & ~RFLAGS.RF) | RFLAGS.FIXED;
  c.setCsSs(sel & 0xfffc, (sel + 8) & 0xffff);
  c.nLo = lo32(c.lstar);
  c.nHi = hi32(c.lstar);
  return true;
}

/**
 * SYSRET with REX.W (return to 64-bit code). The 32-bit form would return to compatibility mode,
 * which this CPU does not implement: #UD (docs/x86_64.md). A non-canonical RCX is #GP(0) at CPL 0 (Intel).
 * @spec SDM Vol. 2B "SYSRET"; ARCH-SPEC §2.8
 */
export function sysret(c: X86Cpu, i: Insn): boolean {
  if ((c.mmu.eferLo & 1) === 0 || i.size !== 8) return c.fault(VEC.UD);
  if (!needCpl0(c)) return false;
  if (!canonicalHi(c, c.gh[1]!)) return c.fault(VEC.GP, 0);
  const sel = Number((c.star >> 48n) & 0xffffn);
  c.nLo = c.gl[1]!;
  c.nHi = c.gh[1]!;
  c.setCsSs(((sel + 16) | 3) & 0xffff, ((sel + 8) | 3) & 0xffff);
  c.setRflags((c.gl[11]! & 0x3c7fd7) | RFLAGS.FIXED);
  return true;
}
