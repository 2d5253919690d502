/**
 * The x86_64 rows of {@link ArchPaging}: 4-level paging (48-bit linear addresses) and 5-level
 * paging (LA57, 57-bit), built from ./pte.ts.
 *
 * Choices:
 * - Leaves at levels 0-2 (4 KiB, 2 MiB, 1 GiB pages); PS is reserved above the PDPT.
 * - The kernel half is shared with every address space through the upper root entries, as Linux
 *   does: one CR3 per process (that is the kernel-arch layer's business; the row only describes the
 *   format). The ASID is the PCID (12 bits, CR3[11:0] with CR4.PCIDE).
 * - TLB maintenance: `flushPage` = INVLPG (the current PCID's entries for the page, global ones, and
 *   the paging-structure caches; INVPCID type 0 for another PCID), `flushAsid` = INVPCID type 1,
 *   `flushAll` = INVPCID type 2. Hence both page-flush capabilities hold (SDM §4.10.4.1).
 * - MAXPHYADDR is the emulator's default, 40 (QEMU's qemu64 CPU reports the same); a kernel that
 *   reads CPUID.80000008H builds its own row with {@link x86Paging}.
 */
import type { MemoryFlags } from "../../mm/flags.js";
import type { ArchPaging, DecodedPte } from "../../mm/vm/arch.js";
import { cr3Value, decode, encodeLeaf, encodeTable, INDEX_BITS, levelSpan, PAGE_SHIFT, PTE, tableIndex, X86_SUPPORTED_FLAGS } from "./pte.js";
import { X86_PTE32 } from "./pte32.js";

const TWO64 = 1n << 64n;
/** Kept across a permission change: D (the page was written) and the ignored bits 11:10. */
const KEEP_ON_UPDATE = PTE.D | (3n << 10n);

/** The paging description for `levels` (4 or 5) with MAXPHYADDR `paBits`. */
export function x86Paging(levels: 4 | 5, paBits: number): ArchPaging {
  const vaBits = levels === 4 ? 48 : 57;
  return {
    name: `x86_64 ${levels}-level`,
    levels,
    vaBits,
    paBits,
    asidBits: 12,
    entryBytes: 8,
    indexBits: Array.from({ length: levels }, () => INDEX_BITS),
    pageShift: PAGE_SHIFT,
    leafLevels: [0, 1, 2],
    supportedFlags: X86_SUPPORTED_FLAGS,
    writeOnly: false,
    execOnly: false,
    flush: { pageFlushCoversTables: true, pageFlushCoversGlobal: true },
    fast: X86_PTE32,
    index: tableIndex,
    entrySpan: levelSpan,
    /** @spec SDM §3.3.7.1 "Canonical Addressing": bits 63:vaBits-1 equal. */
    isCanonical: (va: bigint): boolean => {
      if (va < 0n || va >= TWO64) return false;
      const top = va >> BigInt(vaBits - 1);
      return top === 0n || top === (1n << BigInt(65 - vaBits)) - 1n;
    },
    encodeLeaf: (pa: bigint, flags: MemoryFlags, level: number): bigint => encodeLeaf(pa, flags, level, paBits),
    updateLeaf: (old: bigint, flags: MemoryFlags, level: number): bigint =>
      encodeLeaf(decode(old, level).pa, flags, level, paBits) | (old & KEEP_ON_UPDATE),
    encodeTable: (pa: bigint): bigint => encodeTable(pa, paBits),
    decode: (e: bigint, level: number): DecodedPte => decode(e, level),
    rootRegister: (pcid: number, rootPa: bigint): bigint => cr3Value(pcid, rootPa, paBits),
  };
}

/** MAXPHYADDR of the emulator's default CPU. */
export const X86_DEFAULT_PA_BITS = 40;
export const X86_4LEVEL_PAGING: ArchPaging = x86Paging(4, X86_DEFAULT_PA_BITS);
export const X86_5LEVEL_PAGING: ArchPaging = x86Paging(5, X86_DEFAULT_PA_BITS);
