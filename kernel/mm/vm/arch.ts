/**
 * What the architecture-neutral address-space code needs to know about one page-table format.
 * Each architecture describes its format as data plus a few encode/decode functions
 * (kernel/arch/riscv64/paging.ts for Sv39/Sv48); `AddressSpace` runs one walk loop over that row.
 *
 * Conventions shared by every implementation:
 * - Level 0 is the last table (its leaves map the smallest page); the root is level `levels - 1`.
 *   A "leaf at level 1" on RISC-V is a 2 MiB megapage, at level 2 a 1 GiB gigapage.
 * - Virtual addresses are unsigned 64-bit bigints (the upper half is written as 0xffff_…), physical
 *   addresses are bigints at this interface. Table pages are always in RAM, which the kernel reaches
 *   through `PhysMemory` by a JS number address (RAM ends below 2^53).
 * - Every table is one 4 KiB page of `2^indexBits[level]` entries of `entryBytes` bytes.
 */
import type { MemoryFlags } from "../flags.js";

/** The page sizes any supported architecture maps: 4 KiB, 2 MiB, 1 GiB, 512 GiB. */
export type PageSize = 0x1000 | 0x20_0000 | 0x4000_0000 | 0x80_0000_0000;

/** A page-table entry decoded into architecture-neutral terms. */
export interface DecodedPte {
  /** The hardware will use the entry (RISC-V V, x86 P, Arm descriptor bit 0). */
  readonly valid: boolean;
  /** The entry maps memory (as opposed to pointing at the next table). */
  readonly leaf: boolean;
  /** The frame (leaf) or next table (non-leaf) the entry names. */
  readonly pa: bigint;
  /** Permissions and attributes of a leaf as {@link MemoryFlags}; 0 for tables and invalid entries. */
  readonly flags: MemoryFlags;
  /** Hardware or software has recorded an access (RISC-V A). */
  readonly accessed: boolean;
  /** Hardware or software has recorded a store (RISC-V D). */
  readonly dirty: boolean;
  readonly global: boolean;
  readonly user: boolean;
}

/**
 * Which TLB maintenance the architecture offers through `TlbControl` and what each covers. The
 * flush policy of `TlbFlush` reads these instead of testing the architecture's name.
 */
export interface FlushCapabilities {
  /**
   * `flushPage(va, asid)` also drops cached *non-leaf* entries for `va`. False on RISC-V:
   * SFENCE.VMA with rs1≠x0 orders leaf entries only, so clearing a table pointer needs rs1=x0
   * (ARCH-SPEC §4.7 "Modified a non-leaf PTE: rs1=x0"). True for x86 INVLPG and Arm TLBI VAE1.
   */
  readonly pageFlushCoversTables: boolean;
  /**
   * `flushPage(va, asid)` drops global entries for `va` too. False on RISC-V: rs2≠x0 spares global
   * mappings, and `TlbControl` has no "one VA in every address space" form.
   */
  readonly pageFlushCoversGlobal: boolean;
  /**
   * Pointing a valid leaf at another frame needs break-before-make: the entry is made invalid and
   * its translation flushed before the new one is written (Arm; RISC-V and x86 replace in place).
   */
  readonly breakBeforeMake?: boolean;
}

/**
 * A number-only view of a format with 64-bit entries, for hot paths (the page-fault handler): VAs
 * below 2^53 as numbers, each entry as its low and high 32-bit halves (any 32-bit pattern), physical
 * addresses as numbers. Every answer agrees with the bigint functions of {@link ArchPaging}.
 */
export interface PteCodec32 {
  /** {@link ArchPaging.index} of a VA given as a number. */
  index(va: number, level: number): number;
  /** The hardware uses the entry. */
  valid(lo: number, hi: number): boolean;
  /** A valid entry maps memory (rather than pointing at the next table). */
  leaf(lo: number, hi: number): boolean;
  /** The frame or table page the entry names. */
  address(lo: number, hi: number): number;
  /** The halves of {@link ArchPaging.encodeLeaf}`(pa, flags, 0)` for a 4 KiB frame; flags already validated. */
  leafLow(pa: number, flags: MemoryFlags): number;
  leafHigh(pa: number, flags: MemoryFlags): number;
  /** The halves of {@link ArchPaging.encodeTable}`(pa)`. */
  tableLow(pa: number): number;
  tableHigh(pa: number): number;
}

/** One page-table format (one paging mode of one architecture). */
export interface ArchPaging {
  /** Shown in messages and reports, e.g. "riscv64 Sv39". */
  readonly name: string;
  /** Number of table levels walked (Sv39: 3, Sv48: 4). */
  readonly levels: number;
  /** Translated VA bits; an address is canonical when bits 63:vaBits-1 are all equal. */
  readonly vaBits: number;
  /** Implemented physical-address bits; a leaf may not name a frame at or above 2^paBits. */
  readonly paBits: number;
  /** Width of the address-space identifier (RISC-V: up to 16; ASIDLEN is discovered at boot). */
  readonly asidBits: number;
  /** Bytes per entry. */
  readonly entryBytes: number;
  /** VA bits consumed by each level's index, by level (index 0 = level 0). */
  readonly indexBits: readonly number[];
  /** log2 of the smallest page (12). */
  readonly pageShift: number;
  /** Levels whose entries may be leaves and that `AddressSpace.map` will use, smallest first. */
  readonly leafLevels: readonly number[];
  /** The {@link MemoryFlags} bits this format can express; a request with other bits is refused. */
  readonly supportedFlags: MemoryFlags;
  /** Whether WRITE without READ can be encoded (RISC-V: no, XWR=010 is reserved). */
  readonly writeOnly: boolean;
  /** Whether EXECUTE without READ can be encoded (default yes; x86: no, every present page is readable). */
  readonly execOnly?: boolean;
  readonly flush: FlushCapabilities;
  /** The number-only codec for 64-bit entries, when the format offers one (AddressSpace's fast paths). */
  readonly fast?: PteCodec32;

  /** Index into the level-`level` table for `va` (a canonical unsigned 64-bit VA). */
  index(va: bigint, level: number): number;
  /** Bytes mapped by one entry at `level` (4 KiB at level 0). */
  entrySpan(level: number): bigint;
  /** True when bits 63:vaBits-1 of the unsigned 64-bit `va` are all equal. */
  isCanonical(va: bigint): boolean;
  /**
   * A leaf entry mapping `pa` (aligned to the level's span) with `flags` (already validated), with
   * the accessed/dirty state the architecture wants preset at map time.
   */
  encodeLeaf(pa: bigint, flags: MemoryFlags, level: number): bigint;
  /** A leaf entry like `old` (a valid leaf at `level`) with its permissions replaced by `flags`. */
  updateLeaf(old: bigint, flags: MemoryFlags, level: number): bigint;
  /** A non-leaf entry pointing at the table page `pa`. */
  encodeTable(pa: bigint): bigint;
  /** Decodes any entry read from a table at `level`. */
  decode(pte: bigint, level: number): DecodedPte;
  /** The value of the translation-root register (satp / TTBR0 / CR3) for this table and ASID. */
  rootRegister(asid: number, rootPa: bigint): bigint;
}
