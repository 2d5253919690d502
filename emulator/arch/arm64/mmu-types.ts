/**
 * Types the AArch64 MMU shares with its trace hook and strict mode.
 */
import type { Tlb } from "../../core/tlb.js";
import type { Granule } from "./granules.js";
import type { Access, Arm64Mmu } from "./mmu.js";
import type { TlbiScope } from "./tlbi.js";

/** One descriptor read by a walk (recorded only when tracing). */
export interface WalkStep {
  level: number;
  descAddr: number;
  desc: bigint;
}

/** A TLB fill, reported to the trace hook. */
export interface FillEvent {
  va: bigint;
  asid: number;
  /** Lookup level of the leaf (3 = page). */
  level: number;
  /** log2 of the page or block size. */
  pageShift: number;
  /** Physical address of the start of the page or block. */
  pa: number;
  global: boolean;
  /** The entry's PERM bits (descriptors.ts). */
  perm: number;
  steps: WalkStep[];
}

/** How a side-effect-free walk ({@link Arm64Mmu.peek}) ended. */
export type PeekOutcome = "leaf" | "fault" | "device";

/**
 * The result of {@link Arm64Mmu.peek}, overwritten by each call: the leaf, or the descriptor the
 * walk stopped at (for "device", its address; `lo`/`hi` are then 0).
 */
export interface PeekResult {
  outcome: PeekOutcome;
  /** For "fault": the status code a translation would report (level included). */
  fsc: number;
  lo: number;
  hi: number;
  descAddr: number;
  level: number;
  /** log2 of the region the descriptor maps. */
  shift: number;
  /**
   * For "leaf", and for a "fault" with an Access flag status (the walk reached a leaf with AF = 0):
   * start of the page or block, and the PERM bits a fill would record.
   */
  oa: number;
  perm: number;
}

/**
 * The strict-mode hooks (bbm.ts); the MMU has them only in strict mode. None may change
 * architectural state.
 */
export interface Arm64StrictHooks {
  /** A descriptor read by a walk: its address, value, level, the granule, the VA page and ASID. */
  descriptorRead(descAddr: number, lo: number, hi: number, level: number, granule: Granule, vpn: number, asid: number): void;
  /** Every translation with the MMU on, before the TLB lookup (page `vpn` = VA[55:12], VA hi:lo). */
  translation(mmu: Arm64Mmu, vpn: number, lo: number, hi: number, access: Access): void;
  /**
   * Every translation served by a TLB hit (entry `e` of `tlb`), before the permission checks.
   */
  hit(mmu: Arm64Mmu, tlb: Tlb, e: number, vpn: number, lo: number, hi: number, access: Access): void;
  /** A TLBI, before the TLB is invalidated. */
  tlbi(mmu: Arm64Mmu, op: number, scope: TlbiScope): void;
  /** A DSB. */
  dsb(): void;
}
