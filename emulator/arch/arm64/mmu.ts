/**
 * The AArch64 stage-1 MMU of the EL1&0 translation regime (VMSAv8-64) through the architectural TLB.
 * (Integration skeleton: the walk follows.)
 */
import type { Bus } from "../../core/memory.js";
import type { TlbSet } from "../../core/tlb.js";
export { arm64PageShifts } from "./granules.js";
export {
  TLBI_VMALLE1, TLBI_VAE1, TLBI_VALE1, TLBI_VAAE1, TLBI_VAALE1, TLBI_ASIDE1,
  TLBI_VMALLE1IS, TLBI_VAE1IS, TLBI_VALE1IS, TLBI_VAAE1IS, TLBI_VAALE1IS, TLBI_ASIDE1IS,
} from "./tlbi.js";

/** Access kinds. */
export const FETCH = 0, LOAD = 1, STORE = 2;
export type Access = 0 | 1 | 2;

const TWO32 = 4294967296;
const u64 = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

/** Translation state and the walker of one PE. */
export class Arm64Mmu {
  /** PSTATE.PAN (the CPU keeps it current). */
  pan = false;
  /** 6-bit DFSC/IFSC of the last failed translation. */
  fsc = 0;
  /** Of the last successful translation: a store would succeed without a walk. */
  writable = false;
  private sctlrLo = 0; private sctlrHi = 0;
  private tcrLo = 0; private tcrHi = 0;
  private ttbr0Lo = 0; private ttbr0Hi = 0;
  private ttbr1Lo = 0; private ttbr1Hi = 0;
  private mairLo = 0; private mairHi = 0;

  constructor(private readonly bus: Bus, readonly tlbs: TlbSet) {}

  get sctlr(): bigint { return u64(this.sctlrLo, this.sctlrHi); }
  get tcr(): bigint { return u64(this.tcrLo, this.tcrHi); }
  get ttbr0(): bigint { return u64(this.ttbr0Lo, this.ttbr0Hi); }
  get ttbr1(): bigint { return u64(this.ttbr1Lo, this.ttbr1Hi); }
  get mair(): bigint { return u64(this.mairLo, this.mairHi); }

  /** MSR SCTLR_EL1. */
  writeSctlr(lo: number, hi: number): void { this.sctlrLo = lo | 0; this.sctlrHi = hi | 0; }
  /** MSR TCR_EL1. */
  writeTcr(lo: number, hi: number): void { this.tcrLo = lo | 0; this.tcrHi = hi | 0; }
  /** MSR TTBR0_EL1. */
  writeTtbr0(lo: number, hi: number): void { this.ttbr0Lo = lo | 0; this.ttbr0Hi = hi | 0; }
  /** MSR TTBR1_EL1. */
  writeTtbr1(lo: number, hi: number): void { this.ttbr1Lo = lo | 0; this.ttbr1Hi = hi | 0; }
  /** MSR MAIR_EL1. */
  writeMair(lo: number, hi: number): void { this.mairLo = lo | 0; this.mairHi = hi | 0; }

  /**
   * Translates VA (hi:lo) for `access` at EL `el` (0 or 1; LDTR/STTR at EL1 pass 0). Returns the
   * PA, or -1 with {@link fsc} set.
   */
  translate(lo: number, hi: number, access: Access, el: number): number {
    void access; void el; void this.bus;
    this.writable = true;
    return (hi >>> 0) * TWO32 + (lo >>> 0);
  }

  /** TLBI `op` (a TLBI_* constant) with operand Xt = (hi:lo). */
  tlbi(op: number, lo: number, hi: number): void { void op; void lo; void hi; }
  /** DSB: completes earlier TLB maintenance. */
  dsb(): void {}
  /** ISB: a context synchronization event. */
  isb(): void {}
}
