/**
 * The RISC-V Sv39/Sv48 page-table format as data plus small pure functions: PTE bits, paging modes
 * as rows, MemoryFlags ↔ PTE translation, and the satp value. Digest: ARCH-SPEC §4.1-4.2, 4.5.
 *
 * Software policy encoded here (the spec leaves these to software):
 * - A/D are set at map time (A always, D for writable pages). The emulator implements Svade, where a
 *   first access with A=0 or a store with D=0 page-faults (ARCH-SPEC §4.5); presetting them avoids
 *   those faults, as Linux does for kernel mappings.
 * - COPY_ON_WRITE lives in RSW bit 8 (ignored by hardware) with W cleared, so the first store takes a
 *   store page fault that the fault handler recognises by the RSW bit.
 * - Svpbmt and Svnapot are not used: bits 63:54 are always written 0, so UNCACHED and WRITE_THROUGH
 *   cannot be expressed (cacheability comes from the PMAs of the physical region).
 *
 * All values are bigint (PTEs and satp are 64-bit).
 */
import { flagNames, MemoryFlags } from "../../mm/flags.js";
import { hex } from "../../mm/safety.js";
import type { DecodedPte } from "../../mm/vm/arch.js";

/** A multi-bit field: `(value >> shift) & (2^width - 1)`. */
export interface BitField {
  readonly shift: number;
  readonly width: number;
}

/** BigInt shift and mask of a field, computed once per field (page-table code is hot). */
const fieldConstants = new WeakMap<BitField, { shift: bigint; mask: bigint }>();
function constantsOf(field: BitField): { shift: bigint; mask: bigint } {
  let c = fieldConstants.get(field);
  if (c === undefined) {
    c = { shift: BigInt(field.shift), mask: (1n << BigInt(field.width)) - 1n };
    fieldConstants.set(field, c);
  }
  return c;
}

/** Reads `field` of `value`. */
export function getField(value: bigint, field: BitField): bigint {
  const c = constantsOf(field);
  return (value >> c.shift) & c.mask;
}

/** `value` with `field` replaced by `v` (which must fit). */
export function setField(value: bigint, field: BitField, v: bigint): bigint {
  const c = constantsOf(field);
  const mask = c.mask << c.shift;
  return (value & ~mask) | ((v << c.shift) & mask);
}

/**
 * Single-bit PTE fields. @spec RV-S §"Sv39" PTE figure (sv39pte.edn); ARCH-SPEC §4.2
 */
export const PTE = {
  /** Valid: the walker uses the entry; V=0 page-faults (step 3). */
  V: 1n << 0n,
  /** Readable. R=X=W=0 marks a pointer to the next level (step 4). */
  R: 1n << 1n,
  /** Writable; W=1 with R=0 is reserved and page-faults (step 3). */
  W: 1n << 2n,
  /** Executable. */
  X: 1n << 3n,
  /** User page: accessible in U-mode, never executable in S-mode, S loads/stores need SUM (step 6). */
  U: 1n << 4n,
  /** Global: the translation exists in every address space; TLB entries ignore the ASID. */
  G: 1n << 5n,
  /** Accessed: under Svade an access with A=0 page-faults (step 9). Reserved in non-leaf PTEs. */
  A: 1n << 6n,
  /** Dirty: under Svade a store with D=0 page-faults (step 9). Reserved in non-leaf PTEs. */
  D: 1n << 7n,
  /** Svnapot: 64 KiB NAPOT leaf; page-faults without the extension. Never written here. */
  N: 1n << 63n,
} as const;

/** RSW, ignored by hardware, free for the supervisor. */
export const PTE_RSW: BitField = { shift: 8, width: 2 };
/** Physical page number (Sv39/Sv48/Sv57: 44 bits). */
export const PTE_PPN: BitField = { shift: 10, width: 44 };
/** Reserved bits 60:54: must be 0 or the walk page-faults (step 3). */
export const PTE_RESERVED: BitField = { shift: 54, width: 7 };
/** Svpbmt memory type; reserved (page fault) without the extension. Never written here. */
export const PTE_PBMT: BitField = { shift: 61, width: 2 };
/** Software bit (RSW bit 8) marking a copy-on-write page; W is clear in such a PTE. */
export const PTE_SW_COW = 1n << 8n;

/** satp fields (SXLEN=64). @spec RV-S §satp; ARCH-SPEC §4.1 */
export const SATP_MODE: BitField = { shift: 60, width: 4 };
export const SATP_ASID: BitField = { shift: 44, width: 16 };
export const SATP_PPN: BitField = { shift: 0, width: 44 };

/** A paging mode as a data row. @spec RV-S §Sv39, §Sv48 */
export interface PagingMode {
  readonly name: string;
  /** satp.MODE value selecting it. */
  readonly satpMode: number;
  readonly levels: number;
  readonly vaBits: number;
}
export const SV39: PagingMode = { name: "Sv39", satpMode: 8, levels: 3, vaBits: 39 };
export const SV48: PagingMode = { name: "Sv48", satpMode: 9, levels: 4, vaBits: 48 };

/** Physical-address bits of Sv39/Sv48 (PPN 44 bits + 12-bit offset). */
export const PA_BITS = 56;
/** Bits of VA consumed per level, and log2 of the base page. */
export const INDEX_BITS = 9;
export const PAGE_SHIFT = 12;

/** MemoryFlags the RISC-V layer can express (no Svpbmt: no UNCACHED / WRITE_THROUGH). */
export const RISCV_SUPPORTED_FLAGS =
  MemoryFlags.READ | MemoryFlags.WRITE | MemoryFlags.EXECUTE | MemoryFlags.USER | MemoryFlags.GLOBAL | MemoryFlags.COPY_ON_WRITE;

const TWO64 = 1n << 64n;

/**
 * True when the unsigned 64-bit `va` has bits 63:vaBits-1 all equal.
 * @spec RV-S §Sv39 "bits 63–39 all equal to bit 38, or else a page-fault exception"
 */
export function isCanonical(va: bigint, mode: PagingMode): boolean {
  if (va < 0n || va >= TWO64) return false;
  const top = va >> BigInt(mode.vaBits - 1);
  return top === 0n || top === (1n << BigInt(65 - mode.vaBits)) - 1n;
}

/** VPN[level] of `va`. @spec RV-S §Sv39 VA figure: VPN[i] = va[20+9i : 12+9i] */
export function vpn(va: bigint, level: number): number {
  return Number((va >> BigInt(PAGE_SHIFT + INDEX_BITS * level)) & 0x1ffn);
}

/** Bytes mapped by a leaf at `level`: 4 KiB, 2 MiB, 1 GiB, 512 GiB. */
export function levelSpan(level: number): bigint {
  return 1n << BigInt(PAGE_SHIFT + INDEX_BITS * level);
}

/**
 * A leaf PTE mapping `pa` at `level` with `flags`: V, the XWR/U/G bits, A, D when writable, and the
 * COW software bit with W cleared. Throws RangeError for a misaligned or too-wide `pa` (the walker
 * would fault on a misaligned superpage, step 5) or flags this format cannot hold.
 * @spec RV-S §"Virtual Address Translation Process" steps 3-5, 9; table pteperm
 */
export function encodeLeaf(pa: bigint, flags: MemoryFlags, level: number): bigint {
  const span = levelSpan(level);
  if (pa < 0n || pa % span !== 0n || pa >= 1n << BigInt(PA_BITS)) {
    throw new RangeError(`encodeLeaf: pa ${hex(pa)} is not a ${hex(span)}-aligned ${PA_BITS}-bit address`);
  }
  const unsupported = flags & ~RISCV_SUPPORTED_FLAGS;
  if (unsupported !== 0) throw new RangeError(`encodeLeaf: ${flagNames(unsupported)} cannot be encoded (no Svpbmt)`);
  const F = MemoryFlags;
  const cow = (flags & F.COPY_ON_WRITE) !== 0;
  const write = (flags & F.WRITE) !== 0 && !cow;
  if ((flags & (F.READ | F.EXECUTE)) === 0) {
    throw new RangeError(`encodeLeaf: flags ${flagNames(flags)} have neither READ nor EXECUTE (XWR=000 is a table pointer, 010 is reserved)`);
  }
  let pte = PTE.V | PTE.A | ((pa >> BigInt(PAGE_SHIFT)) << BigInt(PTE_PPN.shift));
  if (flags & F.READ) pte |= PTE.R;
  if (write) pte |= PTE.W | PTE.D;
  if (flags & F.EXECUTE) pte |= PTE.X;
  if (flags & F.USER) pte |= PTE.U;
  if (flags & F.GLOBAL) pte |= PTE.G;
  if (cow) pte |= PTE_SW_COW;
  return pte;
}

/**
 * A non-leaf PTE pointing at the table page `pa`: V=1, XWR=000, and U/A/D clear (reserved in
 * non-leaf PTEs, step 4). G is never set on tables here.
 */
export function encodeTable(pa: bigint): bigint {
  if (pa < 0n || pa % 4096n !== 0n || pa >= 1n << BigInt(PA_BITS)) {
    throw new RangeError(`encodeTable: pa ${hex(pa)} is not a page-aligned ${PA_BITS}-bit address`);
  }
  return PTE.V | ((pa >> BigInt(PAGE_SHIFT)) << BigInt(PTE_PPN.shift));
}

/** A decoded Sv39/Sv48 PTE: the neutral fields, plus whether the walker would refuse it. */
export interface RiscvPte extends DecodedPte {
  /** The walker would page-fault on this valid entry: W without R, bits 63:54 set, or U/A/D on a table. */
  readonly reserved: boolean;
}

/** Decodes a PTE. @spec RV-S §"Sv39" PTE figure, table pteperm; step 3 reserved encodings */
export function decode(pte: bigint): RiscvPte {
  // Every single-bit field lies in the low 10 bits: test them on a number, not a bigint.
  const low = Number(pte & 0x3ffn);
  const has = (bit: bigint): boolean => (low & Number(bit)) !== 0;
  const valid = has(PTE.V);
  const leaf = has(PTE.R) || has(PTE.W) || has(PTE.X);
  let flags = 0;
  if (valid && leaf) {
    if (has(PTE.R)) flags |= MemoryFlags.READ;
    if (has(PTE.W)) flags |= MemoryFlags.WRITE;
    if (has(PTE.X)) flags |= MemoryFlags.EXECUTE;
    if (has(PTE.U)) flags |= MemoryFlags.USER;
    if (has(PTE.G)) flags |= MemoryFlags.GLOBAL;
    if (has(PTE_SW_COW)) flags |= MemoryFlags.COPY_ON_WRITE;
  }
  const reserved = valid && (
    (has(PTE.W) && !has(PTE.R)) ||
    pte >> 54n !== 0n ||
    (!leaf && (has(PTE.U) || has(PTE.A) || has(PTE.D))));
  return {
    valid,
    leaf,
    pa: getField(pte, PTE_PPN) << PAGE_SHIFT_N,
    flags,
    accessed: has(PTE.A),
    dirty: has(PTE.D),
    global: has(PTE.G),
    user: has(PTE.U),
    reserved,
  };
}

const PAGE_SHIFT_N = BigInt(PAGE_SHIFT);

/**
 * The satp value selecting `mode` with `asid` and the root table at `rootPa`.
 * Throws RangeError for an ASID outside 16 bits or a misaligned / too-wide root.
 * @spec RV-S §satp (MODE 63:60, ASID 59:44, PPN 43:0)
 */
export function satpValue(mode: PagingMode, asid: number, rootPa: bigint): bigint {
  if (!Number.isInteger(asid) || asid < 0 || asid >= 1 << SATP_ASID.width) throw new RangeError(`satpValue: ASID ${asid} does not fit 16 bits`);
  if (rootPa < 0n || rootPa % 4096n !== 0n || rootPa >> BigInt(PAGE_SHIFT) >= 1n << BigInt(SATP_PPN.width)) {
    throw new RangeError(`satpValue: root ${hex(rootPa)} is not a page-aligned ${PA_BITS}-bit address`);
  }
  let v = setField(0n, SATP_MODE, BigInt(mode.satpMode));
  v = setField(v, SATP_ASID, BigInt(asid));
  return setField(v, SATP_PPN, rootPa >> BigInt(PAGE_SHIFT));
}
