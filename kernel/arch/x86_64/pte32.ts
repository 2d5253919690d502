/**
 * IA-32e paging entries as numbers, for the page-fault path: the {@link PteCodec32} row of ./pte.ts.
 * The low half holds P R/W U/S PWT PCD A D PS G, the COW bit 9 and address bits 31:12; the high half
 * holds address bits 51:32 (bits 19:0) and XD (bit 31). Same encodings and policy as pte.ts; a test
 * checks the two agree.
 * @spec Intel SDM Vol. 3A §4.5 Tables 4-15..4-20
 */
import { MemoryFlags as F, type MemoryFlags } from "../../mm/flags.js";
import type { PteCodec32 } from "../../mm/vm/arch.js";

const P = 1, RW = 2, US = 4, PWT = 8, PCD = 16, A = 32, D = 64, PS = 128, G = 256, SW_COW = 512;
/** XD (bit 63) in the high half. */
const XD = 1 << 31;
const SPAN = [2 ** 12, 2 ** 21, 2 ** 30, 2 ** 39, 2 ** 48];
const TWO32 = 2 ** 32;

const addrLow = (pa: number): number => (pa % TWO32) & ~0xfff;
const addrHigh = (pa: number): number => Math.floor(pa / TWO32) & 0xfffff;

function lowBits(flags: MemoryFlags): number {
  const cow = (flags & F.COPY_ON_WRITE) !== 0;
  let bits = P | A;
  if ((flags & F.WRITE) !== 0 && !cow) bits |= RW | D;
  if (flags & F.USER) bits |= US;
  if (flags & F.GLOBAL) bits |= G;
  if (flags & F.WRITE_THROUGH) bits |= PWT;
  if (flags & F.UNCACHED) bits |= PCD | PWT;
  if (cow) bits |= SW_COW;
  return bits;
}

/** The x86_64 number codec (4- and 5-level paging share the entry format). */
export const X86_PTE32: PteCodec32 = {
  index: (va, level) => Math.floor(va / SPAN[level]!) % 512,
  valid: (lo) => (lo & P) !== 0,
  /** PS: a 2 MiB or 1 GiB page (the neutral walk decides level 0 itself, where bit 7 is PAT). */
  leaf: (lo) => (lo & PS) !== 0,
  address: (lo, hi) => (hi & 0xfffff) * TWO32 + ((lo & ~0xfff) >>> 0),
  leafLow: (pa, flags) => (addrLow(pa) | lowBits(flags)) >>> 0,
  leafHigh: (pa, flags) => (addrHigh(pa) | ((flags & F.EXECUTE) === 0 ? XD : 0)) >>> 0,
  tableLow: (pa) => (addrLow(pa) | P | RW | US | A) >>> 0,
  tableHigh: (pa) => addrHigh(pa),
};
