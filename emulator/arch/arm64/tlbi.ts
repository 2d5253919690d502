/**
 * The EL1 TLB maintenance operations (TLBI) of the EL1&0 regime as numbers, and the scope each one
 * invalidates.
 *
 * Scope across PEs: the Inner Shareable (IS) forms reach every PE of the machine (its Inner
 * Shareable domain), the local forms only the PE that executes them (Arm64Cpu.tlbi); on a single
 * PE the two coincide.
 * @spec ARM-ARM D8.17 "TLB maintenance instructions" (TLBI VMALLE1, VAE1, VALE1, VAAE1, VAALE1,
 * ASIDE1 and their IS forms); ARCH-SPEC §3.8 table "EL1 TLBI operations"
 */

/** TLBI VMALLE1: every stage-1 EL1&0 entry of every ASID, global or not. */
export const TLBI_VMALLE1 = 0;
/** TLBI VAE1, Xt: entries for the VA with the operand's ASID, and global entries for the VA. */
export const TLBI_VAE1 = 1;
/** TLBI VALE1, Xt: as VAE1, last level (leaf) entries only. */
export const TLBI_VALE1 = 2;
/** TLBI VAAE1, Xt: entries for the VA of any ASID. */
export const TLBI_VAAE1 = 3;
/** TLBI VAALE1, Xt: as VAAE1, last level only. */
export const TLBI_VAALE1 = 4;
/** TLBI ASIDE1, Xt: the non-global entries of the operand's ASID. */
export const TLBI_ASIDE1 = 5;
/** The Inner Shareable forms: the local op + {@link TLBI_IS}. */
export const TLBI_IS = 8;
export const TLBI_VMALLE1IS = TLBI_VMALLE1 | TLBI_IS;
export const TLBI_VAE1IS = TLBI_VAE1 | TLBI_IS;
export const TLBI_VALE1IS = TLBI_VALE1 | TLBI_IS;
export const TLBI_VAAE1IS = TLBI_VAAE1 | TLBI_IS;
export const TLBI_VAALE1IS = TLBI_VAALE1 | TLBI_IS;
export const TLBI_ASIDE1IS = TLBI_ASIDE1 | TLBI_IS;

/** Mnemonics, indexed by op (for traces and counters). */
export const TLBI_NAMES: Readonly<Record<number, string>> = {
  [TLBI_VMALLE1]: "vmalle1", [TLBI_VAE1]: "vae1", [TLBI_VALE1]: "vale1", [TLBI_VAAE1]: "vaae1",
  [TLBI_VAALE1]: "vaale1", [TLBI_ASIDE1]: "aside1",
  [TLBI_VMALLE1IS]: "vmalle1is", [TLBI_VAE1IS]: "vae1is", [TLBI_VALE1IS]: "vale1is", [TLBI_VAAE1IS]: "vaae1is",
  [TLBI_VAALE1IS]: "vaale1is", [TLBI_ASIDE1IS]: "aside1is",
};

/** What one TLBI removes, decoded from the op and its Xt operand. */
export interface TlbiScope {
  /** Page number VA[55:12] (the TLB's vpn), or undefined for every VA. */
  vpn: number | undefined;
  /** ASID, or undefined for every ASID. */
  asid: number | undefined;
  /** Global entries are spared (ASIDE1). */
  keepGlobal: boolean;
  /** Only last-level (leaf) entries must go (VALE1, VAALE1). */
  lastLevel: boolean;
}

/** True when `op` is one of the TLBI_* constants. */
export function isTlbiOp(op: number): boolean {
  return TLBI_NAMES[op] !== undefined;
}

/**
 * Decodes the scope of TLBI `op` with operand Xt = (hi:lo): VA[55:12] in Xt[43:0], ASID in
 * Xt[63:48]. `asidMask` is 0xff with 8-bit ASIDs (TCR_EL1.AS=0: only ASID[7:0] is compared) and
 * 0xffff with 16-bit ones. Writes into `out` (nothing is allocated).
 * @spec ARM-ARM D8.17 "TLBI VAE1, TLBI VAE1IS" operand fields (ASID Xt[63:48], VA[55:12] Xt[43:0])
 */
export function tlbiScope(op: number, lo: number, hi: number, asidMask: number, out: TlbiScope): TlbiScope {
  const local = op & ~TLBI_IS;
  out.vpn = local === TLBI_VMALLE1 || local === TLBI_ASIDE1 ? undefined : (hi & 0xfff) * 4294967296 + (lo >>> 0);
  out.asid = local === TLBI_VAE1 || local === TLBI_VALE1 || local === TLBI_ASIDE1 ? (hi >>> 16) & asidMask : undefined;
  out.keepGlobal = local === TLBI_ASIDE1;
  out.lastLevel = local === TLBI_VALE1 || local === TLBI_VAALE1;
  return out;
}
