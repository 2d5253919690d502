/**
 * The AArch64 row of {@link ArchPaging}: 4 KiB granule, four levels, 48-bit VAs in each of the two
 * ranges, built from ./descriptors.ts.
 *
 * Choices:
 * - One layout for all three architectures: user addresses below 2^47, kernel addresses from
 *   0xffff_8000_0000_0000, canonical meaning bits 63:47 equal. The hardware (T0SZ = T1SZ = 16)
 *   would translate all of 0..2^48-1 through TTBR0 and 0xffff_0000_0000_0000.. through TTBR1; this
 *   kernel simply never maps the lower half of either range.
 * - A user address space's root goes to TTBR0_EL1 with its ASID ({@link ArchPaging.rootRegister});
 *   the kernel's address space is the TTBR1_EL1 table, shared by every process without copying.
 * - TLB maintenance is TLBI: `flushPage` = TLBI VAE1 (one VA, one ASID, walk caches included);
 *   `flushAsid` = TLBI ASIDE1; `flushAll` = TLBI VMALLE1, each after a DSB and followed by DSB + ISB.
 *   VAE1 also removes global entries for the VA, so both page-flush capabilities hold (ARCH-SPEC §3.8).
 */
import type { MemoryFlags } from "../../mm/flags.js";
import type { ArchPaging, DecodedPte } from "../../mm/vm/arch.js";
import { ARM64_SUPPORTED_FLAGS, decode, encodeLeaf, encodeTable, INDEX_BITS, levelSpan, PA_BITS, PAGE_SHIFT, tableIndex, ttbrValue, DESC } from "./descriptors.js";
import { ARM64_DESC32 } from "./descriptors32.js";

const TWO64 = 1n << 64n;
/** Kernel-owned bits a permission change keeps: the software bits other than COW (58:56). */
const KEEP_ON_UPDATE = (0xen << 55n) & ~DESC.SW_COW;

/** The AArch64 4 KiB-granule, 48-bit description. */
export const ARM64_4K_48: ArchPaging = {
  name: "arm64 4K/48-bit",
  levels: 4,
  vaBits: 48,
  paBits: PA_BITS,
  asidBits: 16,
  entryBytes: 8,
  indexBits: [INDEX_BITS, INDEX_BITS, INDEX_BITS, INDEX_BITS],
  pageShift: PAGE_SHIFT,
  leafLevels: [0, 1, 2],
  supportedFlags: ARM64_SUPPORTED_FLAGS,
  writeOnly: false,
  // @spec Arm ARM D8.16.1 "Using break-before-make when updating translation table entries": a
  // valid entry changes its output address only through an invalid one (ARCH-SPEC §3.8).
  flush: { pageFlushCoversTables: true, pageFlushCoversGlobal: true, breakBeforeMake: true },
  fast: ARM64_DESC32,
  index: tableIndex,
  entrySpan: levelSpan,
  isCanonical: (va: bigint): boolean => {
    if (va < 0n || va >= TWO64) return false;
    const top = va >> 47n;
    return top === 0n || top === (1n << 17n) - 1n;
  },
  encodeLeaf,
  updateLeaf: (old: bigint, flags: MemoryFlags, level: number): bigint =>
    encodeLeaf(decode(old, level).pa, flags, level) | (old & KEEP_ON_UPDATE),
  encodeTable,
  decode: (d: bigint, level: number): DecodedPte => decode(d, level),
  rootRegister: ttbrValue,
};
