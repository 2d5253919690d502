/**
 * System instructions: MRS/MSR (register and immediate), SYS (TLBI, AT, cache maintenance),
 * hints (WFI, NOP, ...), barriers, SVC/HVC/SMC/BRK and ERET.
 * @spec Arm ARM (DDI 0487) C5 "The A64 System Instruction Class", C6 pages of each instruction;
 *   ARCH-SPEC §3.7 (syndromes), §3.8 (TLBI)
 */
import type { Arm64Cpu } from "./cpu.js";
import { EC, LOAD, STORE } from "./defs.js";
import { Op } from "./decode.js";
import { Access0, el0Access, readSysreg, SCTLR_UCI, SCTLR_UMA, sysKey, writeSysreg } from "./sysregs.js";

/** The TLBI operation codes of the MMU (mmu.ts TLBI_* constants), by instruction name. */
export interface TlbiCodes {
  VMALLE1: number; VAE1: number; ASIDE1: number; VAAE1: number; VALE1: number; VAALE1: number;
  VMALLE1IS: number; VAE1IS: number; ASIDE1IS: number; VAAE1IS: number; VALE1IS: number; VAALE1IS: number;
}

/** TLBI names by op2 (CRn=8; CRm=7 local, CRm=3 Inner Shareable). */
const TLBI_BY_OP2: (keyof TlbiCodes | undefined)[] = ["VMALLE1", "VAE1", "ASIDE1", "VAAE1", undefined, "VALE1", undefined, "VAALE1"];

/** Cache maintenance by VA that EL0 may use when SCTLR_EL1.UCI is set: IC IVAU, DC CVAC/CVAU/CIVAC/CVAP. */
const EL0_CACHE_OPS = new Set([sysKey(1, 3, 7, 5, 1), sysKey(1, 3, 7, 10, 1), sysKey(1, 3, 7, 11, 1), sysKey(1, 3, 7, 14, 1), sysKey(1, 3, 7, 12, 1)]);
/** Cache maintenance with no architectural effect here (caches are not modelled). */
const CACHE_OPS = new Set([
  ...EL0_CACHE_OPS, sysKey(1, 0, 7, 1, 0), sysKey(1, 0, 7, 5, 0), sysKey(1, 0, 7, 6, 1), sysKey(1, 0, 7, 6, 2),
  sysKey(1, 0, 7, 10, 2), sysKey(1, 0, 7, 14, 2),
]);

/** ISS of a trapped MSR/MRS/SYS (EC 0x18): Op0, Op2, Op1, CRn, Rt, CRm, Direction (1 = read). */
function sysTrapIss(key: number, rt: number, read: boolean): number {
  const op0 = key >>> 14, op1 = (key >>> 11) & 7, crn = (key >>> 7) & 15, crm = (key >>> 3) & 15, op2 = key & 7;
  return (op0 << 20) | (op2 << 17) | (op1 << 14) | (crn << 10) | ((rt & 31) << 5) | (crm << 1) | (read ? 1 : 0);
}

/**
 * Executes a system-class instruction. Returns true when execution continues with the next
 * instruction, false when the pc has been set (an exception, or ERET).
 */
export function executeSystem(c: Arm64Cpu, op: Op, rd: number, rn: number, imm: number, aux: number): boolean {
  const xl = c.xl, xh = c.xh;
  switch (op) {
    case Op.MRS: case Op.MSR: {
      const read = op === Op.MRS;
      const rt = read ? rd : rn;
      if (c.el === 0) {
        const a = el0Access(c, aux, !read);
        if (a === Access0.UNDEFINED) { c.undefined(); return false; }
        if (a === Access0.TRAP) { c.exception(EC.SYS64, sysTrapIss(aux, rt, read)); return false; }
      }
      if (read) {
        const v = readSysreg(c, aux);
        if (v === undefined) { c.undefined(); return false; }
        xl[rd] = Number(v & 0xffffffffn) | 0;
        xh[rd] = Number(v >> 32n) | 0;
        return true;
      }
      const v = BigInt.asUintN(64, (BigInt(xh[rn]!) << 32n) | BigInt(xl[rn]! >>> 0));
      if (!writeSysreg(c, aux, v)) { c.undefined(); return false; }
      return true;
    }
    case Op.MSRI: return msrImmediate(c, aux, imm);
    case Op.SYS: return sys(c, aux, rn);
    case Op.HINT:
      if (imm === 3) {
        // WFI: wait for an interrupt; the machine advances time to the next timer event.
        c.waiting = true;
        c.stopAt = 0;
      }
      return true;
    case Op.BARRIER:
      if (imm === 4) c.mmu.dsb();
      else if (imm === 6) c.mmu.isb();
      else if (imm === 2) c.exclusivePa = -1;
      return true;
    case Op.SVC: c.exceptionAfter(EC.SVC64, imm); return false;
    case Op.HVC: case Op.SMC:
      if (c.el === 0 || !c.firmware?.(c, imm, op === Op.SMC)) { c.undefined(); return false; }
      return true;
    case Op.BRK: c.exception(EC.BRK64, imm); return false;
    case Op.ERET:
      if (c.el === 0) { c.undefined(); return false; }
      c.eret();
      return false;
    default:
      c.undefined();
      return false;
  }
}

/** MSR (immediate): SPSel, DAIFSet, DAIFClr, PAN. field = op1:op2, imm = CRm. */
function msrImmediate(c: Arm64Cpu, field: number, crm: number): boolean {
  if (field === 30 || field === 31) {
    if (c.el === 0 && (c.sctlr & SCTLR_UMA) === 0) {
      c.exception(EC.SYS64, sysTrapIss(sysKey(0, 3, 4, crm, field & 7), 31, false));
      return false;
    }
    if (field === 30) c.daif |= crm << 6;
    else c.daif &= ~(crm << 6);
    c.interruptsChanged();
    return true;
  }
  if (c.el === 0) { c.undefined(); return false; }
  if (field === 5) { c.setElSp(1, crm & 1); return true; }
  if (field === 4) {
    c.pan = (crm & 1) !== 0;
    c.translationChanged();
    return true;
  }
  c.undefined();
  return false;
}

/** SYS: TLBI, AT S1E{0,1}{R,W}, cache maintenance (no effect). */
function sys(c: Arm64Cpu, key: number, rt: number): boolean {
  const op1 = (key >>> 11) & 7, crn = (key >>> 7) & 15, crm = (key >>> 3) & 15, op2 = key & 7;
  if (c.el === 0) {
    if (EL0_CACHE_OPS.has(key)) {
      if ((c.sctlr & SCTLR_UCI) !== 0) return true;
      c.exception(EC.SYS64, sysTrapIss(key, rt, false));
      return false;
    }
    c.undefined();
    return false;
  }
  if (op1 === 0 && crn === 8 && (crm === 7 || crm === 3)) {
    const name = TLBI_BY_OP2[op2];
    if (name === undefined) { c.undefined(); return false; }
    c.tlbi(c.tlbiCodes[crm === 3 ? (`${name}IS` as keyof TlbiCodes) : name], c.xl[rt]!, c.xh[rt]!, crm === 3);
    return true;
  }
  if (op1 === 0 && crn === 7 && crm === 8 && op2 < 4) {
    addressTranslate(c, op2, c.xl[rt]!, c.xh[rt]!);
    return true;
  }
  if (CACHE_OPS.has(key)) return true;
  c.undefined();
  return false;
}

/**
 * AT S1E1R (0), S1E1W (1), S1E0R (2), S1E0W (3): PAR_EL1 ← PA[47:12] on success, or
 * F=1 with FST = the fault status on failure.
 */
function addressTranslate(c: Arm64Cpu, op2: number, lo: number, hi: number): void {
  const pa = c.mmu.translate(lo, hi, op2 & 1 ? STORE : LOAD, op2 >= 2 ? 0 : 1);
  const par = pa < 0 ? BigInt(1 | (c.mmu.fsc << 1)) : BigInt(pa - (pa % 4096));
  c.sysregs.set(sysKey(3, 0, 7, 4, 0), par);
}


