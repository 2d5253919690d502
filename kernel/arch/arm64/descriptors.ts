/**
 * The AArch64 VMSAv8-64 stage-1 descriptor format with the 4 KiB granule and 48-bit addresses, as
 * the kernel writes it: descriptor bits, MemoryFlags ↔ descriptor translation, the MAIR layout the
 * kernel programs, and the TTBR value. Digest: ARCH-SPEC §3.3, §3.5, §3.6.
 *
 * Levels: the neutral kernel code counts from the last table (level 0 = 4 KiB pages); the Arm ARM
 * counts from the root. Neutral level L is Arm level 3 - L: pages at Arm level 3, 2 MiB blocks at
 * level 2, 1 GiB blocks at level 1 (4 KiB granule: no level-0 blocks without FEAT_LPA2).
 *
 * Software policy encoded here (the architecture leaves these to software):
 * - AF is set at map time, so no Access-flag fault is ever taken (TCR_EL1.HA may be off), as Linux
 *   does for kernel mappings. Writable pages are mapped with AP[2]=0, i.e. already dirty; DBM is
 *   never set (hardware dirty tracking is not used).
 * - Data permissions are AP[2:1]: USER sets AP[1] (EL0 access), read-only sets AP[2].
 * - Execute: a user page has PXN=1 always (the kernel never executes user memory) and UXN = !EXECUTE;
 *   a kernel page has UXN=1 and PXN = !EXECUTE. A user execute-only page is AP=10 (EL1 read-only,
 *   no EL0 data access) with UXN=0: Arm allows EL0 execute-only (ARCH-SPEC §3.5).
 * - GLOBAL clears nG; every other leaf is tagged with the ASID of the TTBR that walked it.
 * - COPY_ON_WRITE lives in software bit 55 with AP[2]=1: the first store takes a Permission fault,
 *   which the fault handler recognises by the bit.
 * - MAIR_EL1 as the kernel programs it ({@link MAIR_VALUE}): index 0 Normal write-back, 1 Device-nGnRE,
 *   2 Normal write-through. UNCACHED maps to Device-nGnRE (never executable), WRITE_THROUGH to index 2.
 *   Normal memory is Inner Shareable (SH=11).
 */
import { flagNames, MemoryFlags, type MemoryFlags as Flags } from "../../mm/flags.js";
import { hex } from "../../mm/safety.js";
import type { DecodedPte } from "../../mm/vm/arch.js";

/** Descriptor bits. @spec Arm ARM D8.3 "Translation table descriptor formats"; ARCH-SPEC §3.3 */
export const DESC = {
  /** Bit 0: the descriptor is valid; 0 is a Translation fault at this level. */
  VALID: 1n << 0n,
  /** Bit 1: table (levels 0-2) or page (level 3); 0 with VALID is a block (levels 1-2). */
  TABLE_OR_PAGE: 1n << 1n,
  /** AP[1], bit 6: EL0 may access (data). */
  AP_USER: 1n << 6n,
  /** AP[2], bit 7: read-only at every EL. */
  AP_RO: 1n << 7n,
  /** AF, bit 10: accessed; 0 faults (Access flag fault) unless TCR_EL1.HA. */
  AF: 1n << 10n,
  /** nG, bit 11: not global; the TLB entry is tagged with the ASID. */
  NG: 1n << 11n,
  /** DBM, bit 51: dirty-bit modifier (hardware dirty state with TCR_EL1.HD). Never set here. */
  DBM: 1n << 51n,
  /** PXN, bit 53: not executable at EL1. */
  PXN: 1n << 53n,
  /** UXN, bit 54: not executable at EL0. */
  UXN: 1n << 54n,
  /** Software bit 55: this kernel's copy-on-write mark. */
  SW_COW: 1n << 55n,
  /** Table descriptors: PXNTable (59), UXNTable (60), APTable (62:61), NSTable (63). Never set here. */
  PXN_TABLE: 1n << 59n,
  UXN_TABLE: 1n << 60n,
} as const;

/** AttrIndx, bits 4:2; SH, bits 9:8. */
export const ATTR_INDX_SHIFT = 2n;
export const SH_SHIFT = 8n;
/** SH = 0b11, Inner Shareable. */
export const SH_INNER = 3n;

/** MAIR_EL1 attribute indices used by this kernel. */
export const MAIR_INDEX = { NORMAL_WB: 0, DEVICE_NGNRE: 1, NORMAL_WT: 2 } as const;
/**
 * MAIR_EL1 value: Attr0 = 0xff (Normal, inner/outer write-back non-transient, read/write-allocate),
 * Attr1 = 0x04 (Device-nGnRE), Attr2 = 0xbb (Normal, inner/outer write-through non-transient).
 * @spec Arm ARM D19.2 MAIR_EL1 "Attr<n>" encodings
 */
export const MAIR_VALUE = 0xbb_04_ffn;

/** Output-address bits (48-bit OA, TCR_EL1.IPS = 0b101). */
export const PA_BITS = 48;
export const PAGE_SHIFT = 12;
/** Index bits per level with the 4 KiB granule. */
export const INDEX_BITS = 9;
/** OA field, bits 47:12. */
const OA_MASK = ((1n << 48n) - 1n) & ~0xfffn;

/** MemoryFlags this layer can express: all of them. */
export const ARM64_SUPPORTED_FLAGS = MemoryFlags.ALL;

/** Bytes mapped by one entry at neutral `level`: 4 KiB, 2 MiB, 1 GiB, 512 GiB. */
export function levelSpan(level: number): bigint {
  return 1n << BigInt(PAGE_SHIFT + INDEX_BITS * level);
}

/** Index into the table at neutral `level` for `va`: VA bits [20+9L : 12+9L]. @spec Arm ARM D8.2 */
export function tableIndex(va: bigint, level: number): number {
  return Number((va >> BigInt(PAGE_SHIFT + INDEX_BITS * level)) & 0x1ffn);
}

function checkPa(what: string, pa: bigint, align: bigint): void {
  if (pa < 0n || pa % align !== 0n || pa >= 1n << BigInt(PA_BITS)) {
    throw new RangeError(`${what}: pa ${hex(pa)} is not a ${hex(align)}-aligned ${PA_BITS}-bit address`);
  }
}

/**
 * A block or page descriptor mapping `pa` at neutral `level` with `flags` (see the policy above).
 * Throws RangeError for a misaligned or too-wide `pa`, a level without blocks, or flags it cannot
 * hold: no access at all, WRITE without READ, a kernel page that executes without READ,
 * UNCACHED with WRITE_THROUGH or with EXECUTE.
 * @spec Arm ARM D8.3.2 "Block descriptor and Page descriptor formats"; D8.4 "Memory access control"
 */
export function encodeLeaf(pa: bigint, flags: Flags, level: number): bigint {
  if (level < 0 || level > 2) throw new RangeError(`encodeLeaf: no leaf at level ${level} with the 4 KiB granule (Arm level ${3 - level})`);
  checkPa("encodeLeaf", pa, levelSpan(level));
  const F = MemoryFlags;
  const read = (flags & F.READ) !== 0, exec = (flags & F.EXECUTE) !== 0, user = (flags & F.USER) !== 0;
  const cow = (flags & F.COPY_ON_WRITE) !== 0;
  const write = (flags & F.WRITE) !== 0;
  const refuse = (why: string): never => { throw new RangeError(`encodeLeaf: flags ${flagNames(flags)} ${why}`); };
  if (!read && !write && !exec) refuse("grant no access");
  if (write && !read) refuse("are write-only (AP has no write-only encoding)");
  if (exec && !read && !user) refuse("are execute-only at EL1 (a valid EL1 page is always readable)");
  const uncached = (flags & F.UNCACHED) !== 0;
  if (uncached && (flags & F.WRITE_THROUGH) !== 0) refuse("combine UNCACHED and WRITE_THROUGH");
  if (uncached && exec) refuse("execute from Device memory");
  let d = DESC.VALID | DESC.AF | (pa & OA_MASK);
  if (level === 0) d |= DESC.TABLE_OR_PAGE;
  const attr = uncached ? MAIR_INDEX.DEVICE_NGNRE : (flags & F.WRITE_THROUGH) !== 0 ? MAIR_INDEX.NORMAL_WT : MAIR_INDEX.NORMAL_WB;
  d |= BigInt(attr) << ATTR_INDX_SHIFT;
  if (!uncached) d |= SH_INNER << SH_SHIFT;
  if (user && read) d |= DESC.AP_USER;
  if (!write || cow) d |= DESC.AP_RO;
  if (cow) d |= DESC.SW_COW;
  if (user) d |= DESC.PXN | (exec ? 0n : DESC.UXN);
  else d |= DESC.UXN | (exec ? 0n : DESC.PXN);
  if ((flags & F.GLOBAL) === 0) d |= DESC.NG;
  return d;
}

/** A table descriptor pointing at the 4 KiB table page `pa` (no hierarchical attributes). */
export function encodeTable(pa: bigint): bigint {
  checkPa("encodeTable", pa, 4096n);
  return DESC.VALID | DESC.TABLE_OR_PAGE | pa;
}

/** A decoded descriptor: the neutral fields, plus the hardware's own view. */
export interface Arm64Descriptor extends DecodedPte {
  /** bits[1:0] = 01 where no block is allowed (level 3, or level 0 with this granule): a Translation fault. */
  readonly reserved: boolean;
  /** The MAIR index (AttrIndx). */
  readonly attrIndex: number;
}

const has = (d: bigint, bit: bigint): boolean => (d & bit) !== 0n;

/**
 * Decodes a descriptor read from a table at neutral `level`. Flags are the inverse of
 * {@link encodeLeaf}: USER when EL0 may read (AP[1]) or execute (UXN=0); READ for kernel pages always,
 * for user pages when AP[1]; WRITE when AP[2]=0 (a COW page is read-only: COPY_ON_WRITE without
 * WRITE, as the neutral code writes it); EXECUTE from UXN (user) or PXN (kernel).
 * @spec Arm ARM D8.3; ARCH-SPEC §3.3-3.5
 */
export function decode(d: bigint, level: number): Arm64Descriptor {
  const bit0 = has(d, DESC.VALID), bit1 = has(d, DESC.TABLE_OR_PAGE);
  const blockAllowed = level === 1 || level === 2;
  const reserved = bit0 && !bit1 && !blockAllowed;
  const valid = bit0 && !reserved;
  const leaf = valid && (level === 0 || !bit1);
  const user = leaf && (has(d, DESC.AP_USER) || !has(d, DESC.UXN));
  let flags = 0;
  if (leaf) {
    const F = MemoryFlags;
    const cow = has(d, DESC.SW_COW);
    if (!user || has(d, DESC.AP_USER)) flags |= F.READ;
    if (!has(d, DESC.AP_RO)) flags |= F.WRITE;
    if (cow) flags |= F.COPY_ON_WRITE;
    if (user ? !has(d, DESC.UXN) : !has(d, DESC.PXN)) flags |= F.EXECUTE;
    if (user) flags |= F.USER;
    if (!has(d, DESC.NG)) flags |= F.GLOBAL;
    const attr = Number((d >> ATTR_INDX_SHIFT) & 7n);
    if (attr === MAIR_INDEX.DEVICE_NGNRE) flags |= F.UNCACHED;
    if (attr === MAIR_INDEX.NORMAL_WT) flags |= F.WRITE_THROUGH;
  }
  return {
    valid, leaf, reserved,
    pa: d & OA_MASK,
    flags,
    accessed: leaf && has(d, DESC.AF),
    dirty: leaf && !has(d, DESC.AP_RO),
    global: leaf && !has(d, DESC.NG),
    user,
    attrIndex: Number((d >> ATTR_INDX_SHIFT) & 7n),
  };
}

/**
 * The TTBR0_EL1/TTBR1_EL1 value for the root table at `rootPa` with `asid` (TCR_EL1.AS=1: 16 bits,
 * in TTBR bits 63:48; BADDR in 47:1, CnP = 0). Throws RangeError for a bad ASID or root.
 * @spec Arm ARM D19.2 TTBR0_EL1
 */
export function ttbrValue(asid: number, rootPa: bigint): bigint {
  if (!Number.isInteger(asid) || asid < 0 || asid >= 1 << 16) throw new RangeError(`ttbrValue: ASID ${asid} does not fit 16 bits`);
  checkPa("ttbrValue", rootPa, 4096n);
  return (BigInt(asid) << 48n) | rootPa;
}
