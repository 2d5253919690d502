/**
 * The AArch64 PE as kernel code sees it at EL1: general registers, the EL1 system registers the
 * kernel uses, ERET, TLBI with its barriers, address translation for user pointers, and the
 * firmware conduit (PSCI over HVC). `boot/arm64/` binds it to the emulated core; the kernel never
 * touches the emulator directly.
 */

/** System registers the kernel reads and writes, by name (as MRS/MSR spell them). */
export type Arm64SysReg =
  | "ELR_EL1" | "SPSR_EL1" | "ESR_EL1" | "FAR_EL1" | "VBAR_EL1" | "SP_EL0"
  | "TTBR0_EL1" | "TTBR1_EL1" | "TCR_EL1" | "MAIR_EL1" | "SCTLR_EL1"
  | "CNTFRQ_EL0" | "CNTVCT_EL0" | "CNTV_CTL_EL0" | "CNTV_CVAL_EL0" | "CNTKCTL_EL1"
  | "ID_AA64MMFR0_EL1" | "TPIDR_EL1" | "MPIDR_EL1";

/** The TLBI operations the kernel issues: Inner Shareable (broadcast) and local forms. */
export type Arm64Tlbi = "VAE1IS" | "VALE1IS" | "ASIDE1IS" | "VMALLE1IS" | "VAE1" | "VALE1" | "ASIDE1" | "VMALLE1";

/** ESR_EL1 exception classes the kernel handles. @spec Arm ARM D19.2 ESR_EL1; ARCH-SPEC §3.7 */
export const EC = {
  UNKNOWN: 0x00,
  SVC64: 0x15,
  INSN_ABORT_LOWER: 0x20,
  INSN_ABORT_SAME: 0x21,
  PC_ALIGN: 0x22,
  DATA_ABORT_LOWER: 0x24,
  DATA_ABORT_SAME: 0x25,
  SP_ALIGN: 0x26,
  SERROR: 0x2f,
  BRK: 0x3c,
} as const;

/** SPSR_EL1 / PSTATE bits. @spec Arm ARM C5.2.18 SPSR_EL1 */
export const SPSR = {
  /** M[3:0] = 0b0000: EL0t. */
  EL0T: 0x0n,
  /** M[3:0] = 0b0101: EL1h. */
  EL1H: 0x5n,
  /** Interrupt masks D, A, I, F (bits 9:6). */
  I: 1n << 7n,
  F: 1n << 6n,
  A: 1n << 8n,
  D: 1n << 9n,
  /** PAN (bit 22). */
  PAN: 1n << 22n,
} as const;

/** What the kernel can do to the PE it runs on. */
export interface Arm64Cpu {
  /** X register i (0..30). */
  reg(i: number): bigint;
  setReg(i: number, v: bigint): void;
  sysReg(name: Arm64SysReg): bigint;
  setSysReg(name: Arm64SysReg, v: bigint): void;
  /** Stores X0..X30 as 64-bit words at physical `pa + 8*i` (the trap entry's STP sequence). */
  storeRegisters(pa: number): void;
  /** Loads X0..X30 from physical `pa + 8*i`. */
  loadRegisters(pa: number): void;
  /** ERET: to the EL and state in SPSR_EL1, at ELR_EL1. */
  eret(): void;
  /**
   * TLBI `op` with operand Xt, bracketed as the ARM ARM requires: DSB ISHST before, DSB ISH + ISB
   * after (DSB NSHST / NSH for the local forms, which act on this PE's TLB only; the IS forms act
   * on every PE's, kernel/arch/arm64/tlb.ts).
   */
  tlbi(op: Arm64Tlbi, xt: bigint): void;
  /** ISB (after a TTBR or SCTLR write). */
  isb(): void;
  /** The PA an EL1 load (or store) of `va` reaches with PSTATE.PAN clear (AT S1E1R/W), or undefined where it would abort. */
  translate(va: bigint, write: boolean): number | undefined;
  /** HVC #0 with x0..x3 = `args` (PSCI / SMCCC); returns x0. */
  hvc(args: readonly bigint[]): bigint;
}
