/**
 * AArch64 descriptors as numbers, for the page-fault path: the {@link PteCodec32} row of
 * ./descriptors.ts. A descriptor travels as two 32-bit halves: the low half holds bits[1:0], the
 * lower attributes (AttrIndx, AP, SH, AF, nG) and OA bits 31:12; the high half holds OA bits 47:32
 * (bits 15:0) and the upper attributes (DBM 51, PXN 53, UXN 54, software bit 55 at bits 19-23).
 * Same encodings and policy as descriptors.ts; a test checks the two agree.
 * @spec Arm ARM D8.3 "Translation table descriptor formats"
 */
import { MemoryFlags as F, type MemoryFlags } from "../../mm/flags.js";
import type { PteCodec32 } from "../../mm/vm/arch.js";

const VALID = 1, TABLE_OR_PAGE = 2, AP_USER = 1 << 6, AP_RO = 1 << 7, AF = 1 << 10, NG = 1 << 11;
const SH_INNER = 3 << 8;
/** AttrIndx values (descriptors.ts MAIR_INDEX) at bits 4:2. */
const ATTR_DEVICE = 1 << 2, ATTR_WT = 2 << 2;
/** High-half bits: PXN (53), UXN (54), software COW (55). */
const PXN = 1 << 21, UXN = 1 << 22, SW_COW = 1 << 23;
const SPAN = [2 ** 12, 2 ** 21, 2 ** 30, 2 ** 39];
const TWO32 = 2 ** 32;

const oaLow = (pa: number): number => (pa % TWO32) & ~0xfff;
const oaHigh = (pa: number): number => Math.floor(pa / TWO32) & 0xffff;

/** The low-half attribute bits of a 4 KiB page descriptor with `flags` (as descriptors.ts encodeLeaf). */
function lowBits(flags: MemoryFlags): number {
  const user = (flags & F.USER) !== 0, cow = (flags & F.COPY_ON_WRITE) !== 0;
  let bits = VALID | TABLE_OR_PAGE | AF;
  if (flags & F.UNCACHED) bits |= ATTR_DEVICE;
  else bits |= SH_INNER | ((flags & F.WRITE_THROUGH) !== 0 ? ATTR_WT : 0);
  if (user && (flags & F.READ) !== 0) bits |= AP_USER;
  if ((flags & F.WRITE) === 0 || cow) bits |= AP_RO;
  if ((flags & F.GLOBAL) === 0) bits |= NG;
  return bits;
}

/** The high-half attribute bits (execute-never and COW). */
function highBits(flags: MemoryFlags): number {
  const user = (flags & F.USER) !== 0, exec = (flags & F.EXECUTE) !== 0;
  let bits = (flags & F.COPY_ON_WRITE) !== 0 ? SW_COW : 0;
  if (user) bits |= PXN | (exec ? 0 : UXN);
  else bits |= UXN | (exec ? 0 : PXN);
  return bits;
}

/** The AArch64 number codec (4 KiB granule, 48-bit OA). Index and levels count from the last table. */
export const ARM64_DESC32: PteCodec32 = {
  index: (va, level) => Math.floor(va / SPAN[level]!) % 512,
  valid: (lo) => (lo & VALID) !== 0,
  /**
   * A valid descriptor is a leaf when bit 1 is clear (a block). A page at the last level has bit 1
   * set, like a table: the neutral walk never asks about level 0 entries as tables, so bit 1 alone
   * decides above it; callers at level 0 treat every valid entry as a leaf.
   */
  leaf: (lo) => (lo & TABLE_OR_PAGE) === 0,
  address: (lo, hi) => (hi & 0xffff) * TWO32 + ((lo & ~0xfff) >>> 0),
  leafLow: (pa, flags) => (oaLow(pa) | lowBits(flags)) >>> 0,
  leafHigh: (pa, flags) => (oaHigh(pa) | highBits(flags)) >>> 0,
  tableLow: (pa) => (oaLow(pa) | VALID | TABLE_OR_PAGE) >>> 0,
  tableHigh: (pa) => oaHigh(pa),
};
