/**
 * The x86_64 IA-32e paging-entry format as the kernel writes it (4-level and 5-level): entry bits,
 * MemoryFlags ↔ entry translation, and the CR3 value. Digest: ARCH-SPEC §2.3, §2.5, §2.6, §2.9.
 *
 * Levels count from the last table as in the neutral code: level 0 holds PTEs (4 KiB pages),
 * level 1 PDEs (2 MiB pages with PS), level 2 PDPTEs (1 GiB pages with PS), level 3 PML4Es, level 4
 * PML5Es (LA57).
 *
 * Software policy encoded here (the SDM leaves these to software):
 * - Non-leaf entries grant everything (P, R/W, U/S, A set): rights are decided by the leaf, as Linux
 *   does (_PAGE_TABLE). Leaves have A set, and D when writable, so the processor never has to set
 *   them (it would, on x86, without a fault; presetting keeps the walker's writes out of the way).
 * - Every present page is readable on x86: READ is implied, so execute-only and write-only flag sets
 *   are refused. EXECUTE clears XD; the kernel runs with EFER.NXE = 1.
 * - COPY_ON_WRITE lives in bit 9 (ignored by the processor) with R/W clear, so the first store takes
 *   a #PF with P=1 W=1 that the fault handler recognises by the bit.
 * - Caching with the power-on PAT: WRITE_THROUGH is PWT (PAT entry 1, WT); UNCACHED is PCD|PWT (PAT
 *   entry 3, UC). The PAT bit itself is never set.
 */
import { flagNames, MemoryFlags, type MemoryFlags as Flags } from "../../mm/flags.js";
import { hex } from "../../mm/safety.js";
import type { DecodedPte } from "../../mm/vm/arch.js";

/** Entry bits. @spec Intel SDM Vol. 3A §4.5 Tables 4-15..4-20; ARCH-SPEC §2.3 */
export const PTE = {
  /** Present; 0 is a #PF with P=0. */
  P: 1n << 0n,
  /** Read/write; 0 makes the region read-only (for supervisor writes too when CR0.WP). */
  RW: 1n << 1n,
  /** User/supervisor; 0 forbids CPL=3 accesses. */
  US: 1n << 2n,
  /** Page-level write-through. */
  PWT: 1n << 3n,
  /** Page-level cache disable. */
  PCD: 1n << 4n,
  /** Accessed. */
  A: 1n << 5n,
  /** Dirty (leaves only). */
  D: 1n << 6n,
  /** Page size: a PDE or PDPTE that maps a 2 MiB / 1 GiB page. In a PTE this bit is PAT. */
  PS: 1n << 7n,
  /** Global (leaves only, with CR4.PGE): kept across CR3 writes. */
  G: 1n << 8n,
  /** Bit 9, ignored by the processor: this kernel's copy-on-write mark. */
  SW_COW: 1n << 9n,
  /** Execute-disable (with EFER.NXE; reserved otherwise). */
  XD: 1n << 63n,
} as const;

export const PAGE_SHIFT = 12;
export const INDEX_BITS = 9;

/** MemoryFlags this layer can express: all of them (READ is implied by any present page). */
export const X86_SUPPORTED_FLAGS = MemoryFlags.ALL;

/** Bytes mapped by one entry at `level`. */
export function levelSpan(level: number): bigint {
  return 1n << BigInt(PAGE_SHIFT + INDEX_BITS * level);
}

/** Index into the table at `level`: linear-address bits [20+9L : 12+9L]. @spec SDM §4.5.4 */
export function tableIndex(va: bigint, level: number): number {
  return Number((va >> BigInt(PAGE_SHIFT + INDEX_BITS * level)) & 0x1ffn);
}

/** Bits 51:12 of an entry: the physical address. */
const ADDRESS_MASK = ((1n << 52n) - 1n) & ~0xfffn;

function checkPa(what: string, pa: bigint, align: bigint, paBits: number): void {
  if (pa < 0n || pa % align !== 0n || pa >= 1n << BigInt(paBits)) {
    throw new RangeError(`${what}: pa ${hex(pa)} is not a ${hex(align)}-aligned ${paBits}-bit address (MAXPHYADDR)`);
  }
}

/**
 * A leaf entry mapping `pa` at `level` (0: PTE, 1: 2 MiB PDE, 2: 1 GiB PDPTE) with `flags`.
 * Throws RangeError for a misaligned `pa`, one at or above 2^paBits, or flags x86 cannot hold:
 * no READ (execute-only, write-only), UNCACHED with WRITE_THROUGH.
 * @spec SDM §4.5 Tables 4-17 (1 GiB), 4-18 (2 MiB), 4-20 (4 KiB); §4.6 access rights
 */
export function encodeLeaf(pa: bigint, flags: Flags, level: number, paBits = 52): bigint {
  if (level < 0 || level > 2) throw new RangeError(`encodeLeaf: no leaf at level ${level} (PS is reserved in PML4Es and PML5Es)`);
  checkPa("encodeLeaf", pa, levelSpan(level), paBits);
  const F = MemoryFlags;
  if ((flags & F.READ) === 0) throw new RangeError(`encodeLeaf: flags ${flagNames(flags)} lack READ (every present x86 page is readable)`);
  if ((flags & F.UNCACHED) !== 0 && (flags & F.WRITE_THROUGH) !== 0) throw new RangeError(`encodeLeaf: flags ${flagNames(flags)} combine UNCACHED and WRITE_THROUGH`);
  const cow = (flags & F.COPY_ON_WRITE) !== 0;
  const write = (flags & F.WRITE) !== 0 && !cow;
  let e = PTE.P | PTE.A | pa;
  if (level > 0) e |= PTE.PS;
  if (write) e |= PTE.RW | PTE.D;
  if (flags & F.USER) e |= PTE.US;
  if (flags & F.GLOBAL) e |= PTE.G;
  if ((flags & F.EXECUTE) === 0) e |= PTE.XD;
  if (flags & F.WRITE_THROUGH) e |= PTE.PWT;
  if (flags & F.UNCACHED) e |= PTE.PCD | PTE.PWT;
  if (cow) e |= PTE.SW_COW;
  return e;
}

/** A non-leaf entry pointing at the table page `pa`: P, R/W, U/S and A (rights come from the leaf). */
export function encodeTable(pa: bigint, paBits = 52): bigint {
  checkPa("encodeTable", pa, 4096n, paBits);
  return PTE.P | PTE.RW | PTE.US | PTE.A | pa;
}

const has = (e: bigint, bit: bigint): boolean => (e & bit) !== 0n;

/**
 * Decodes an entry read from a table at `level`: a leaf at level 0, or above it when PS is set
 * (levels 1 and 2; PS at level 3 or 4 is reserved, reported as a table here). The inverse of
 * {@link encodeLeaf} for the flags.
 */
export function decode(e: bigint, level: number): DecodedPte {
  const valid = has(e, PTE.P);
  const leaf = valid && (level === 0 || ((level === 1 || level === 2) && has(e, PTE.PS)));
  let flags = 0;
  if (leaf) {
    const F = MemoryFlags;
    flags = F.READ;
    if (has(e, PTE.RW)) flags |= F.WRITE;
    if (!has(e, PTE.XD)) flags |= F.EXECUTE;
    if (has(e, PTE.US)) flags |= F.USER;
    if (has(e, PTE.G)) flags |= F.GLOBAL;
    if (has(e, PTE.SW_COW)) flags |= F.COPY_ON_WRITE;
    if (has(e, PTE.PCD)) flags |= F.UNCACHED;
    else if (has(e, PTE.PWT)) flags |= F.WRITE_THROUGH;
  }
  const addressMask = leaf && level > 0 ? ADDRESS_MASK & ~(levelSpan(level) - 1n) : ADDRESS_MASK;
  return {
    valid, leaf,
    pa: e & addressMask,
    flags,
    accessed: has(e, PTE.A),
    dirty: leaf && has(e, PTE.D),
    global: leaf && has(e, PTE.G),
    user: has(e, PTE.US),
  };
}

/**
 * The CR3 value for the root table at `rootPa` with PCID `pcid` (CR4.PCIDE = 1: bits 11:0; 0 without
 * PCIDs). Bit 63 (no-flush) is never set here: the caller decides at the MOV to CR3.
 * @spec SDM §4.5.2, Table 4-13 "Use of CR3 with 4-Level Paging and 5-level Paging and CR4.PCIDE = 1"
 */
export function cr3Value(pcid: number, rootPa: bigint, paBits = 52): bigint {
  if (!Number.isInteger(pcid) || pcid < 0 || pcid >= 1 << 12) throw new RangeError(`cr3Value: PCID ${pcid} does not fit 12 bits`);
  checkPa("cr3Value", rootPa, 4096n, paBits);
  return rootPa | BigInt(pcid);
}
