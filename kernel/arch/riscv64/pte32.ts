/**
 * Sv39/Sv48 entries as numbers, for the page-fault path: the {@link PteCodec32} row of the RISC-V
 * format. A PTE travels as its two 32-bit halves: the low half holds V R W X U G A D, RSW and
 * PPN[21:0] (bits 31:10); the high half holds PPN bits 43:22 (bits 53:32) and the reserved, PBMT
 * and N bits 63:54. The same encodings and software policy as ./pte.ts (A preset, D with W, the
 * COW bit in RSW with W cleared); a test checks the two agree.
 * @spec RV-S §"Sv39" PTE figure (sv39pte.edn)
 */
import { MemoryFlags as F, type MemoryFlags } from "../../mm/flags.js";
import type { PteCodec32 } from "../../mm/vm/arch.js";

const V = 1 << 0, R = 1 << 1, W = 1 << 2, X = 1 << 3, U = 1 << 4, G = 1 << 5, A = 1 << 6, D = 1 << 7;
/** RSW bit 8: copy-on-write (pte.ts PTE_SW_COW). */
const COW = 1 << 8;
/** PPN bits held by the low half (PPN[21:0] at bits 31:10). */
const LOW_PPN = 2 ** 22;
/** 2^(12 + 9 * level): the span of one entry at each level (up to Sv48's root). */
const SPAN = [2 ** 12, 2 ** 21, 2 ** 30, 2 ** 39];

/**
 * The PPN of a frame address split into its low-half and high-half parts. Masks rather than `%`:
 * the values are integers below 2^53, whose low bits survive ToInt32.
 */
const ppnLow = (pa: number): number => ((pa / 4096) & (LOW_PPN - 1)) * 1024;
const ppnHigh = (pa: number): number => Math.floor(pa / 4096 / LOW_PPN);

/** The low-half permission bits of a leaf with `flags` (as pte.ts encodeLeaf). */
function leafBits(flags: MemoryFlags): number {
  const cow = (flags & F.COPY_ON_WRITE) !== 0;
  let bits = V | A;
  if (flags & F.READ) bits |= R;
  if ((flags & F.WRITE) !== 0 && !cow) bits |= W | D;
  if (flags & F.EXECUTE) bits |= X;
  if (flags & F.USER) bits |= U;
  if (flags & F.GLOBAL) bits |= G;
  if (cow) bits |= COW;
  return bits;
}

/** The RISC-V number codec (Sv39 and Sv48 share the entry format). */
export const RISCV_PTE32: PteCodec32 = {
  /** VPN[level] = va[20+9*level : 12+9*level] */
  index: (va, level) => Math.floor(va / SPAN[level]!) & 511,
  valid: (lo) => (lo & V) !== 0,
  /** R, W or X set: a leaf; all clear: a pointer to the next level. */
  leaf: (lo) => (lo & (R | W | X)) !== 0,
  address: (lo, hi) => ((hi & 0x3fffff) * LOW_PPN + (lo >>> 10)) * 4096,
  leafLow: (pa, flags) => (ppnLow(pa) + leafBits(flags)) >>> 0,
  leafHigh: (pa) => ppnHigh(pa),
  tableLow: (pa) => (ppnLow(pa) + V) >>> 0,
  tableHigh: (pa) => ppnHigh(pa),
};
