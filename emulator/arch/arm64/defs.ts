/**
 * AArch64 constants: PSTATE/SPSR bits, exception classes, vector offsets, SCTLR_EL1 bits the core
 * reads, and the MMU interface the core is written against.
 * @spec ARCH-SPEC §3.7 (ESR_EL1, SPSR_EL1 layout, VBAR_EL1 offsets), §3.1 (SCTLR_EL1)
 */
import type { Bus } from "../../core/memory.js";
import type { TlbSet } from "../../core/tlb.js";

/** SPSR_EL1 / PSTATE bit positions. @spec ARCH-SPEC §3.7 "SPSR_EL1 / PSTATE layout" */
export const PSR = {
  /** Condition flags N, Z, C, V (bits 31..28). */
  N: 1 << 31, Z: 1 << 30, C: 1 << 29, V: 1 << 28,
  NZCV_MASK: 0xf0000000 | 0,
  /** PSTATE.PAN: privileged accesses to EL0-accessible memory fault. */
  PAN: 1 << 22,
  /** PSTATE.SS (software step; not modelled, kept as written). */
  SS: 1 << 21,
  /** PSTATE.IL: set by an illegal exception return. */
  IL: 1 << 20,
  /** D, A, I, F interrupt masks (bits 9..6). */
  D: 1 << 9, A: 1 << 8, I: 1 << 7, F: 1 << 6,
  DAIF_MASK: 0x3c0,
  /** M[4]: 1 = AArch32 (not implemented). */
  M4: 1 << 4,
  /** M[3:0] values. */
  M_EL0t: 0b0000, M_EL1t: 0b0100, M_EL1h: 0b0101,
} as const;

/** Exception classes (ESR_EL1.EC). @spec ARCH-SPEC §3.7 "EC values" */
export const EC = {
  UNKNOWN: 0x00,
  ILLEGAL_STATE: 0x0e,
  SVC64: 0x15,
  HVC64: 0x16,
  SMC64: 0x17,
  SYS64: 0x18,
  IABT_LOW: 0x20,
  IABT_CUR: 0x21,
  PC_ALIGN: 0x22,
  DABT_LOW: 0x24,
  DABT_CUR: 0x25,
  SP_ALIGN: 0x26,
  SERROR: 0x2f,
  BRK64: 0x3c,
} as const;

/** ESR_EL1.IL: the trapped instruction was 32 bits (always, for A64). */
export const ESR_IL = 1 << 25;
/** Data Abort ISS.WnR: the access was a write. */
export const ISS_WNR = 1 << 6;

/** Fault status codes the core itself produces (the MMU reports translation ones). @spec ARCH-SPEC §3.7 DFSC table */
export const FSC = {
  /** Synchronous External abort, not on a walk (a bus hole). */
  EXTERNAL: 0x10,
  /** Alignment fault. */
  ALIGNMENT: 0x21,
} as const;

/** Vector offsets from VBAR_EL1. @spec ARCH-SPEC §3.7 "VBAR_EL1" table */
export const VECTOR = {
  CURRENT_SP0: 0x000,
  CURRENT_SPX: 0x200,
  LOWER_A64: 0x400,
  /** Added to the group's base: synchronous, IRQ, FIQ, SError. */
  SYNC: 0x000, IRQ: 0x080, FIQ: 0x100, SERROR: 0x180,
} as const;

/** SCTLR_EL1 bits the core reads (the MMU reads M, WXN, ...). @spec ARCH-SPEC §3.1 "SCTLR_EL1" */
export const SCTLR = {
  M: 1 << 0,
  /** Alignment check on every data access. */
  A: 1 << 1,
  /** SP alignment check at EL1. */
  SA: 1 << 3,
  /** SP alignment check at EL0. */
  SA0: 1 << 4,
  /** 0 = PSTATE.PAN is set on exception entry to EL1. */
  SPAN: 1 << 23,
} as const;

/** Memory access kinds passed to {@link Arm64Translator.translate}. */
export const FETCH = 0, LOAD = 1, STORE = 2;
export type Access = 0 | 1 | 2;

/**
 * The stage-1 MMU as the core uses it (implemented by `mmu.ts`'s Arm64Mmu). Every system register
 * write arrives as 32-bit halves; `translate` returns a physical address or -1 with {@link fsc} set.
 */
export interface Arm64Translator {
  writeSctlr(lo: number, hi: number): void;
  writeTcr(lo: number, hi: number): void;
  writeTtbr0(lo: number, hi: number): void;
  writeTtbr1(lo: number, hi: number): void;
  writeMair(lo: number, hi: number): void;
  readonly sctlr: bigint;
  readonly tcr: bigint;
  readonly ttbr0: bigint;
  readonly ttbr1: bigint;
  readonly mair: bigint;
  /** PSTATE.PAN, kept current by the core. */
  pan: boolean;
  /** PA (a safe integer) or -1 with `fsc` set. `el` is 0 or 1 (LDTR/STTR pass 0). */
  translate(lo: number, hi: number, access: Access, el: number): number;
  /** 6-bit DFSC/IFSC of the last failed translation. */
  fsc: number;
  /** After a successful translation: a store to that page would hit without a walk. */
  writable: boolean;
  /** After a successful translation: the MAIR attribute byte (Device when bits 7:4 are 0). */
  attr: number;
  /** TLBI operation `op` (a TLBI_* constant of mmu.ts) with operand Xt = (hi:lo). */
  tlbi(op: number, lo: number, hi: number): void;
  dsb(): void;
  isb(): void;
}

/** Builds the MMU of a core (lets tests substitute a flat one). */
export type TranslatorFactory = (bus: Bus, tlbs: TlbSet) => Arm64Translator;

/** Register index conventions in the core's register file (see cpu.ts). */
export const REG_ZR = 31, REG_SP = 32, REG_SINK = 33;
