/**
 * MRS/MSR: the system registers of EL0/EL1 this core implements, by their 16-bit key
 * op0:op1:CRn:CRm:op2, with the EL0 access rules. Registers not listed are UNDEFINED.
 * @spec Arm ARM (DDI 0487) D19 (AArch64 system register descriptions), ARCH-SPEC §3.1, §3.7
 */
import type { Arm64Cpu } from "./cpu.js";
import { PSR } from "./defs.js";
import { CNTFRQ } from "./timer.js";

/** The key of system register (op0, op1, CRn, CRm, op2). */
export const sysKey = (op0: number, op1: number, crn: number, crm: number, op2: number): number =>
  (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;

/** Keys of the registers with behaviour. */
export const REG = {
  MIDR_EL1: sysKey(3, 0, 0, 0, 0), MPIDR_EL1: sysKey(3, 0, 0, 0, 5), REVIDR_EL1: sysKey(3, 0, 0, 0, 6),
  ID_AA64PFR0_EL1: sysKey(3, 0, 0, 4, 0), ID_AA64DFR0_EL1: sysKey(3, 0, 0, 5, 0),
  ID_AA64ISAR0_EL1: sysKey(3, 0, 0, 6, 0), ID_AA64MMFR0_EL1: sysKey(3, 0, 0, 7, 0),
  ID_AA64MMFR1_EL1: sysKey(3, 0, 0, 7, 1), CLIDR_EL1: sysKey(3, 1, 0, 0, 1), CCSIDR_EL1: sysKey(3, 1, 0, 0, 0),
  CSSELR_EL1: sysKey(3, 2, 0, 0, 0), CTR_EL0: sysKey(3, 3, 0, 0, 1), DCZID_EL0: sysKey(3, 3, 0, 0, 7),
  SCTLR_EL1: sysKey(3, 0, 1, 0, 0), ACTLR_EL1: sysKey(3, 0, 1, 0, 1), CPACR_EL1: sysKey(3, 0, 1, 0, 2),
  TTBR0_EL1: sysKey(3, 0, 2, 0, 0), TTBR1_EL1: sysKey(3, 0, 2, 0, 1), TCR_EL1: sysKey(3, 0, 2, 0, 2),
  SPSR_EL1: sysKey(3, 0, 4, 0, 0), ELR_EL1: sysKey(3, 0, 4, 0, 1), SP_EL0: sysKey(3, 0, 4, 1, 0),
  SPSEL: sysKey(3, 0, 4, 2, 0), CURRENTEL: sysKey(3, 0, 4, 2, 2), PAN: sysKey(3, 0, 4, 2, 3),
  NZCV: sysKey(3, 3, 4, 2, 0), DAIF: sysKey(3, 3, 4, 2, 1),
  AFSR0_EL1: sysKey(3, 0, 5, 1, 0), AFSR1_EL1: sysKey(3, 0, 5, 1, 1), ESR_EL1: sysKey(3, 0, 5, 2, 0),
  FAR_EL1: sysKey(3, 0, 6, 0, 0), PAR_EL1: sysKey(3, 0, 7, 4, 0),
  MAIR_EL1: sysKey(3, 0, 10, 2, 0), AMAIR_EL1: sysKey(3, 0, 10, 3, 0),
  VBAR_EL1: sysKey(3, 0, 12, 0, 0), ISR_EL1: sysKey(3, 0, 12, 1, 0),
  CONTEXTIDR_EL1: sysKey(3, 0, 13, 0, 1), TPIDR_EL1: sysKey(3, 0, 13, 0, 4),
  TPIDR_EL0: sysKey(3, 3, 13, 0, 2), TPIDRRO_EL0: sysKey(3, 3, 13, 0, 3),
  CNTKCTL_EL1: sysKey(3, 0, 14, 1, 0), CNTFRQ_EL0: sysKey(3, 3, 14, 0, 0),
  CNTPCT_EL0: sysKey(3, 3, 14, 0, 1), CNTVCT_EL0: sysKey(3, 3, 14, 0, 2),
  CNTP_TVAL_EL0: sysKey(3, 3, 14, 2, 0), CNTP_CTL_EL0: sysKey(3, 3, 14, 2, 1), CNTP_CVAL_EL0: sysKey(3, 3, 14, 2, 2),
  CNTV_TVAL_EL0: sysKey(3, 3, 14, 3, 0), CNTV_CTL_EL0: sysKey(3, 3, 14, 3, 1), CNTV_CVAL_EL0: sysKey(3, 3, 14, 3, 2),
  MDSCR_EL1: sysKey(2, 0, 0, 2, 2), OSLAR_EL1: sysKey(2, 0, 1, 0, 4), OSLSR_EL1: sysKey(2, 0, 1, 1, 4),
  OSDLR_EL1: sysKey(2, 0, 1, 3, 4),
} as const;

/**
 * Constant identification registers (what this core reports; docs/arm64.md explains each).
 * MIDR: Cortex-A57 r1p0. PFR0: EL0 and EL1 AArch64-only, no EL2/EL3, no FP/AdvSIMD.
 * MMFR0: 48-bit PA, 16-bit ASIDs, 4K/16K/64K granules. MMFR1: HAFDBS = 2 (AF and dirty), PAN.
 * CTR: Cortex-A57's. DCZID: DC ZVA prohibited.
 */
const CONSTANT = new Map<number, bigint>([
  [REG.MIDR_EL1, 0x411fd070n], [REG.REVIDR_EL1, 0n],
  [REG.ID_AA64PFR0_EL1, 0xff0011n], [REG.ID_AA64DFR0_EL1, 0x6n], [REG.ID_AA64ISAR0_EL1, 0n],
  [REG.ID_AA64MMFR0_EL1, 0x100025n], [REG.ID_AA64MMFR1_EL1, 0x100002n],
  [REG.CLIDR_EL1, 0n], [REG.CCSIDR_EL1, 0n], [REG.CTR_EL0, 0x8444c004n], [REG.DCZID_EL0, 0x10n],
  [REG.CNTFRQ_EL0, BigInt(CNTFRQ)], [REG.OSLSR_EL1, 0n],
]);

/** Registers with plain read/write storage (value kept in cpu.sysregs). */
const STORAGE = new Set<number>([
  REG.ACTLR_EL1, REG.CPACR_EL1, REG.CSSELR_EL1, REG.AFSR0_EL1, REG.AFSR1_EL1, REG.PAR_EL1, REG.AMAIR_EL1,
  REG.CONTEXTIDR_EL1, REG.TPIDR_EL1, REG.TPIDR_EL0, REG.TPIDRRO_EL0, REG.MDSCR_EL1, REG.OSDLR_EL1,
]);

/** SCTLR_EL1 bits for EL0 access: UMA (DAIF), UCT (CTR_EL0), UCI (cache maintenance by VA). */
export const SCTLR_UMA = 1 << 9, SCTLR_UCT = 1 << 15, SCTLR_UCI = 1 << 26;
/** CNTKCTL_EL1 EL0 access enables. */
const EL0PCTEN = 1, EL0VCTEN = 2, EL0VTEN = 1 << 8, EL0PTEN = 1 << 9;

/** Outcome of an EL0 access check. */
export const enum Access0 { OK, UNDEFINED, TRAP }

const u64 = (lo: number, hi: number): bigint => BigInt.asUintN(64, (BigInt(hi) << 32n) | BigInt(lo >>> 0));
const lo32 = (v: bigint): number => Number(v & 0xffffffffn) | 0;
const hi32 = (v: bigint): number => Number((v >> 32n) & 0xffffffffn) | 0;

/** Whether EL0 may access `key` (`write` for MSR): allowed, UNDEFINED, or trapped to EL1 (EC 0x18). */
export function el0Access(c: Arm64Cpu, key: number, write: boolean): Access0 {
  const k = c.timer.kctl;
  switch (key) {
    case REG.NZCV: case REG.TPIDR_EL0: return Access0.OK;
    case REG.TPIDRRO_EL0: return write ? Access0.UNDEFINED : Access0.OK;
    case REG.DAIF: return (c.sctlr & SCTLR_UMA) !== 0 ? Access0.OK : Access0.TRAP;
    case REG.CTR_EL0: return write ? Access0.UNDEFINED : (c.sctlr & SCTLR_UCT) !== 0 ? Access0.OK : Access0.TRAP;
    case REG.DCZID_EL0: return write ? Access0.UNDEFINED : Access0.OK;
    case REG.CNTFRQ_EL0: return write ? Access0.UNDEFINED : (k & (EL0PCTEN | EL0VCTEN)) !== 0 ? Access0.OK : Access0.TRAP;
    case REG.CNTPCT_EL0: return write ? Access0.UNDEFINED : (k & EL0PCTEN) !== 0 ? Access0.OK : Access0.TRAP;
    case REG.CNTVCT_EL0: return write ? Access0.UNDEFINED : (k & EL0VCTEN) !== 0 ? Access0.OK : Access0.TRAP;
    case REG.CNTV_TVAL_EL0: case REG.CNTV_CTL_EL0: case REG.CNTV_CVAL_EL0: return (k & EL0VTEN) !== 0 ? Access0.OK : Access0.TRAP;
    case REG.CNTP_TVAL_EL0: case REG.CNTP_CTL_EL0: case REG.CNTP_CVAL_EL0: return (k & EL0PTEN) !== 0 ? Access0.OK : Access0.TRAP;
    default: return Access0.UNDEFINED;
  }
}

/** MRS: the value of `key` at EL1, or undefined when it is UNDEFINED. */
export function readSysreg(c: Arm64Cpu, key: number): bigint | undefined {
  const constant = CONSTANT.get(key);
  if (constant !== undefined) return constant;
  if (STORAGE.has(key)) return c.sysregs.get(key) ?? 0n;
  const t = c.timer;
  switch (key) {
    case REG.MPIDR_EL1: return BigInt(c.mpidr >>> 0);
    case REG.SCTLR_EL1: return c.mmu.sctlr;
    case REG.TCR_EL1: return c.mmu.tcr;
    case REG.TTBR0_EL1: return c.mmu.ttbr0;
    case REG.TTBR1_EL1: return c.mmu.ttbr1;
    case REG.MAIR_EL1: return c.mmu.mair;
    case REG.SPSR_EL1: return BigInt(c.spsr >>> 0);
    case REG.ELR_EL1: return u64(c.elrLo, c.elrHi);
    case REG.ESR_EL1: return BigInt(c.esr >>> 0);
    case REG.FAR_EL1: return u64(c.farLo, c.farHi);
    case REG.VBAR_EL1: return u64(c.vbarLo, c.vbarHi);
    case REG.SP_EL0: return c.spsel === 0 ? undefined : c.spOf(0);
    case REG.SPSEL: return BigInt(c.spsel);
    case REG.CURRENTEL: return BigInt(c.el << 2);
    case REG.PAN: return c.pan ? BigInt(PSR.PAN) : 0n;
    case REG.NZCV: return BigInt(c.nzcv >>> 0);
    case REG.DAIF: return BigInt(c.daif);
    case REG.ISR_EL1: return (c.irqPending() ? 0x80n : 0n) | (c.serrorIss >= 0 ? 0x100n : 0n);
    case REG.CNTKCTL_EL1: return BigInt(t.kctl);
    case REG.CNTPCT_EL0: case REG.CNTVCT_EL0: return t.count();
    case REG.CNTP_TVAL_EL0: return t.phys.readTval();
    case REG.CNTP_CTL_EL0: return t.phys.readCtl();
    case REG.CNTP_CVAL_EL0: return t.phys.cval;
    case REG.CNTV_TVAL_EL0: return t.virt.readTval();
    case REG.CNTV_CTL_EL0: return t.virt.readCtl();
    case REG.CNTV_CVAL_EL0: return t.virt.cval;
    default: {
      // The rest of the ID register space (op0=3, op1=0, CRn=0, CRm=1..7) reads as zero.
      const crm = (key >>> 3) & 15;
      if ((key >>> 7) === ((3 << 7) | 0) && crm >= 1) return 0n;
      return undefined;
    }
  }
}

/** MSR: writes `v` to `key` at EL1. Returns false when the write is UNDEFINED. */
export function writeSysreg(c: Arm64Cpu, key: number, v: bigint): boolean {
  if (STORAGE.has(key)) {
    c.sysregs.set(key, v);
    return true;
  }
  const lo = lo32(v), hi = hi32(v);
  const t = c.timer;
  const m = c.mmu;
  switch (key) {
    case REG.SCTLR_EL1: c.sctlr = lo; m.writeSctlr(lo, hi); break;
    case REG.TCR_EL1: m.writeTcr(lo, hi); break;
    case REG.TTBR0_EL1: m.writeTtbr0(lo, hi); break;
    case REG.TTBR1_EL1: m.writeTtbr1(lo, hi); break;
    case REG.MAIR_EL1: m.writeMair(lo, hi); break;
    case REG.SPSR_EL1: c.spsr = lo; return true;
    case REG.ELR_EL1: c.elrLo = lo; c.elrHi = hi; return true;
    case REG.ESR_EL1: c.esr = lo; return true;
    case REG.FAR_EL1: c.farLo = lo; c.farHi = hi; return true;
    case REG.VBAR_EL1: c.vbarLo = lo & ~0x7ff; c.vbarHi = hi; return true;
    case REG.SP_EL0:
      if (c.spsel === 0) return false;
      c.spEl0Lo = lo; c.spEl0Hi = hi;
      return true;
    case REG.SPSEL: c.setElSp(1, lo & 1); return true;
    case REG.PAN: c.pan = (lo & PSR.PAN) !== 0; break;
    case REG.NZCV: c.nzcv = lo & PSR.NZCV_MASK; return true;
    case REG.DAIF: c.daif = lo & PSR.DAIF_MASK; c.interruptsChanged(); return true;
    case REG.CNTKCTL_EL1: t.kctl = lo & 0x3ff; return true;
    case REG.CNTP_TVAL_EL0: t.phys.writeTval(v); c.interruptsChanged(); return true;
    case REG.CNTP_CTL_EL0: t.phys.writeCtl(v); c.interruptsChanged(); return true;
    case REG.CNTP_CVAL_EL0: t.phys.cval = v; c.interruptsChanged(); return true;
    case REG.CNTV_TVAL_EL0: t.virt.writeTval(v); c.interruptsChanged(); return true;
    case REG.CNTV_CTL_EL0: t.virt.writeCtl(v); c.interruptsChanged(); return true;
    case REG.CNTV_CVAL_EL0: t.virt.cval = v; c.interruptsChanged(); return true;
    case REG.OSLAR_EL1: return true;
    default: return false;
  }
  c.translationChanged();
  return true;
}
