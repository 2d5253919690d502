/**
 * VMSAv8-64 stage-1 descriptor fields (64-bit descriptors, 48-bit OA, no FEAT_LPA/LPA2) and the
 * permission bits the MMU keeps in a TLB entry.
 *
 * Descriptors travel as int32 halves: `lo` = bits 31:0, `hi` = bits 63:32. Fields in the high
 * half are named with the bit number of the descriptor and given as masks of `hi`.
 * @spec ARM-ARM D8.3 "Translation table descriptor formats"; ARCH-SPEC §3.3
 */

/** Fields in bits 31:0 of a descriptor (`lo`). */
export const DESC = {
  /** Bit 0: valid. 0 = invalid (Translation fault at this level). */
  VALID: 1 << 0,
  /** Bit 1: 1 = table (levels 0-2) or page (level 3); 0 = block (levels 1-2 where allowed). */
  TABLE: 1 << 1,
  /** Bits 4:2: AttrIndx, the MAIR_EL1 attribute field of a block or page. */
  ATTRINDX_SHIFT: 2,
  /** Bit 6: AP[1], EL0 access allowed. */
  AP1: 1 << 6,
  /** Bit 7: AP[2], read-only. */
  AP2: 1 << 7,
  /** Bit 10: AF, the access flag. */
  AF: 1 << 10,
  /** Bit 11: nG, not global (tagged with the ASID). */
  NG: 1 << 11,
} as const;

/** Fields in bits 63:32 of a descriptor (`hi`), named by descriptor bit. */
export const DESC_HI = {
  /** Bits 47:32 of the output / next-table address. */
  ADDR: 0xffff,
  /** Bit 51: DBM, dirty bit modifier (with TCR_EL1.HA and HD: AP[2] is the dirty state). */
  DBM: 1 << (51 - 32),
  /** Bit 52: Contiguous hint (ignored here: an implementation may ignore it). */
  CONTIGUOUS: 1 << (52 - 32),
  /** Bit 53: PXN, privileged execute-never. */
  PXN: 1 << (53 - 32),
  /** Bit 54: UXN, unprivileged execute-never. */
  UXN: 1 << (54 - 32),
  /** Table bit 59: PXNTable, PXN for everything below. */
  PXN_TABLE: 1 << (59 - 32),
  /** Table bit 60: UXNTable, UXN for everything below. */
  UXN_TABLE: 1 << (60 - 32),
  /** Table bit 61: APTable[0], no EL0 access below. */
  AP_TABLE0: 1 << (61 - 32),
  /** Table bit 62: APTable[1], read-only below. */
  AP_TABLE1: 1 << (62 - 32),
} as const;

/** The hierarchical table attributes (bits 62:59), as a mask of `hi`. */
export const TABLE_ATTRS_HI = DESC_HI.PXN_TABLE | DESC_HI.UXN_TABLE | DESC_HI.AP_TABLE0 | DESC_HI.AP_TABLE1;

/**
 * The permission word of a TLB entry (`Tlb.perm`): what the walk decided, so a hit needs no
 * descriptor decoding. Bits 7:0 hold the MAIR_EL1 attribute byte of the entry (MAIR is cached with
 * the entry, docs/arm64-mmu.md).
 */
export const PERM = {
  /** Bits 7:0: the MAIR_EL1 attribute byte selected by AttrIndx. */
  ATTR_MASK: 0xff,
  /** Bits 10:8: AttrIndx. */
  ATTRINDX_SHIFT: 8,
  /** EL1 read, write, execute; EL0 read, write, execute (WXN applied at fill). */
  EL1_R: 1 << 11,
  EL1_W: 1 << 12,
  EL1_X: 1 << 13,
  EL0_R: 1 << 14,
  EL0_W: 1 << 15,
  EL0_X: 1 << 16,
  /** EL0 has data access (effective AP[1] = 1): PSTATE.PAN forbids EL1 data accesses. */
  USER: 1 << 17,
  /**
   * Writable-clean: DBM = 1 and AP[2] = 1 with HA and HD. The W bits say what the effective
   * permissions allow (AP[2] counts as 0), but a store never uses such an entry: it walks and clears
   * AP[2] in the descriptor.
   */
  CLEAN: 1 << 18,
  /** nG was set in the leaf. */
  NG: 1 << 19,
  /** Translated through TTBR1 (VA[55] = 1). */
  TTBR1: 1 << 20,
  /** Lookup level of the leaf, bits 22:21. */
  LEVEL_SHIFT: 21,
} as const;

/** The PERM bit allowing `access` (FETCH 0, LOAD 1, STORE 2) at EL `el`, indexed el * 3 + access. */
export const PERM_ALLOW: readonly number[] = [
  PERM.EL0_X, PERM.EL0_R, PERM.EL0_W,
  PERM.EL1_X, PERM.EL1_R, PERM.EL1_W,
];

/**
 * The stage-1 permissions of a leaf for the EL1&0 regime: the PERM bits EL1_R..EL0_X, USER and
 * CLEAN (no attribute, level or tag bits).
 *
 * `lo`/`hi` is the leaf; `tableHi` the OR of the table descriptors' `hi` above it (only
 * {@link TABLE_ATTRS_HI} is used, and only when `hpd` is false); `dirtyHw` is TCR_EL1.HA && HD;
 * `wxn` is SCTLR_EL1.WXN.
 *
 * @spec ARM-ARM pseudocode AArch64.S1ApplyOutputPerms ("Descriptors marked with DBM set have the
 * effective value of AP[2] cleared"), AArch64.S1ApplyTablePerms, AArch64.S1DirectBasePermissions
 * (APTable: 01 no EL0, 10 read-only, 11 both; px = NOT(PXN OR PXNTable OR uw);
 * ux = NOT(UXN OR UXNTable); x = x AND NOT(WXN AND w) for the EL's own w and x).
 */
export function leafPermissions(lo: number, hi: number, tableHi: number, hpd: boolean, dirtyHw: boolean, wxn: boolean): number {
  let ap1 = (lo & DESC.AP1) !== 0;
  let ap2 = (lo & DESC.AP2) !== 0;
  let clean = false;
  if (dirtyHw && (hi & DESC_HI.DBM) !== 0 && ap2) {
    ap2 = false;
    clean = true;
  }
  let pxn = (hi & DESC_HI.PXN) !== 0;
  let uxn = (hi & DESC_HI.UXN) !== 0;
  if (!hpd) {
    if (tableHi & DESC_HI.AP_TABLE0) ap1 = false;
    if (tableHi & DESC_HI.AP_TABLE1) {
      ap2 = true;
      clean = false; // APTable[1] keeps the page read-only: no dirty-state update can help.
    }
    if (tableHi & DESC_HI.PXN_TABLE) pxn = true;
    if (tableHi & DESC_HI.UXN_TABLE) uxn = true;
  }
  const pw = !ap2;
  const ur = ap1;
  const uw = ap1 && !ap2;
  const px = !pxn && !uw && !(wxn && pw);
  const ux = !uxn && !(wxn && uw);
  let p = PERM.EL1_R;
  if (pw) p |= PERM.EL1_W;
  if (px) p |= PERM.EL1_X;
  if (ur) p |= PERM.EL0_R | PERM.USER;
  if (uw) p |= PERM.EL0_W;
  if (ux) p |= PERM.EL0_X;
  if (clean) p |= PERM.CLEAN;
  return p;
}

/** MAIR attribute bytes with bits 7:4 = 0 are Device memory. @spec ARM-ARM D19 MAIR_EL1.Attr<n> */
export function isDeviceAttr(attr: number): boolean {
  return (attr & 0xf0) === 0;
}

/** Fault status codes (DFSC/IFSC, 6 bits), without the level. @spec ARM-ARM D19 ESR_ELx ISS DFSC */
export const FSC = {
  /** 0b0000LL: Address size fault, level LL. */
  ADDRESS_SIZE: 0x00,
  /** 0b0001LL: Translation fault, level LL. */
  TRANSLATION: 0x04,
  /** 0b0010LL: Access flag fault, level LL. */
  ACCESS_FLAG: 0x08,
  /** 0b0011LL: Permission fault, level LL. */
  PERMISSION: 0x0c,
  /** 0b010000: Synchronous External abort, not on a walk (raised by the CPU for bus holes). */
  EXTERNAL: 0x10,
  /** 0b0101LL: Synchronous External abort on a translation table walk, level LL. */
  EXTERNAL_WALK: 0x14,
  /** 0b100001: Alignment fault (raised by the CPU). */
  ALIGNMENT: 0x21,
} as const;
