/**
 * The RISC-V Sv39/Sv48 row of {@link ArchPaging}: what the architecture-neutral AddressSpace needs,
 * built from the PTE functions of ./pte.ts.
 *
 * Choices:
 * - Leaves are placed at levels 0-2 (4 KiB, 2 MiB, 1 GiB) in both modes. Sv48 also permits 512 GiB
 *   leaves at level 3; they are not used (no caller needs them and Linux does not use them either).
 * - TLB maintenance maps onto SFENCE.VMA: `flushPage` = rs1=va, rs2=asid (leaf entries of one ASID,
 *   globals spared); `flushAsid` = rs1=x0, rs2=asid; `flushAll` = x0, x0. Hence neither
 *   page-flush capability holds (ARCH-SPEC §4.7 table and "Recommended software sequences").
 *
 * @example
 * ```ts
 * const r = AddressSpace.create({ arch: riscvPaging(SV39), mem: hal, frames });
 * ```
 */
import type { MemoryFlags } from "../../mm/flags.js";
import type { ArchPaging, DecodedPte } from "../../mm/vm/arch.js";
import {
  decode, encodeLeaf, encodeTable, INDEX_BITS, isCanonical, levelSpan, PA_BITS, PAGE_SHIFT, type PagingMode, PTE,
  PTE_RSW, RISCV_SUPPORTED_FLAGS, satpValue, SV39, SV48, vpn,
} from "./pte.js";
import { RISCV_PTE32 } from "./pte32.js";

/** RSW bit 9: unused by this kernel, but preserved by protect. */
const PTE_RSW_SPARE = 1n << BigInt(PTE_RSW.shift + 1);

/** The paging description of `mode` (SV39 or SV48). */
export function riscvPaging(mode: PagingMode): ArchPaging {
  return {
    name: `riscv64 ${mode.name}`,
    levels: mode.levels,
    vaBits: mode.vaBits,
    paBits: PA_BITS,
    asidBits: 16,
    entryBytes: 8,
    indexBits: Array.from({ length: mode.levels }, () => INDEX_BITS),
    pageShift: PAGE_SHIFT,
    leafLevels: [0, 1, 2],
    supportedFlags: RISCV_SUPPORTED_FLAGS,
    writeOnly: false,
    flush: { pageFlushCoversTables: false, pageFlushCoversGlobal: false },
    fast: RISCV_PTE32,
    index: (va: bigint, level: number): number => vpn(va, level),
    entrySpan: levelSpan,
    isCanonical: (va: bigint): boolean => isCanonical(va, mode),
    encodeLeaf,
    /** Keeps the frame, a D bit already set (the page was written) and the spare RSW bit. */
    updateLeaf: (old: bigint, flags: MemoryFlags, level: number): bigint =>
      encodeLeaf(decode(old).pa, flags, level) | (old & (PTE.D | PTE_RSW_SPARE)),
    encodeTable: (pa: bigint): bigint => encodeTable(pa),
    decode: (pte: bigint): DecodedPte => decode(pte),
    rootRegister: (asid: number, rootPa: bigint): bigint => satpValue(mode, asid, rootPa),
  };
}

/** Sv39 and Sv48 descriptions, ready to use. */
export const RISCV_SV39: ArchPaging = riscvPaging(SV39);
export const RISCV_SV48: ArchPaging = riscvPaging(SV48);
