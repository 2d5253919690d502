/**
 * ELF64 little-endian executables: parsing and validation (boot/elf.ts loads them for bare boots).
 * Architecture-neutral; the caller names the machine it expects.
 *
 * Reference: System V ABI, "ELF-64 Object File Format" (header, program header, section header
 * and symbol layouts below are quoted from it as byte offsets).
 *
 * Every 64-bit field is read as a `bigint` and compared against the file length (or 2^64) before
 * it becomes a `number`, so no header value can overflow arithmetic or cause a large allocation:
 * parsing allocates only the symbol map, bounded by the file size. Segment bytes are views into
 * the input, not copies.
 *
 * Error messages say "segment N" for the N-th PT_LOAD (its index in {@link ElfImage.segments})
 * and "program header N" for the N-th entry of the program header table.
 */

import { hex } from "../mm/safety.js";

/** e_machine values of the architectures MultiOS emulates. */
export const EM_RISCV = 243, EM_AARCH64 = 183, EM_X86_64 = 62;

/** e_type: a fixed-address executable. */
export const ET_EXEC = 2;
/** e_type: a position-independent executable or shared object. */
export const ET_DYN = 3;
/** p_type of a loadable segment. */
export const PT_LOAD = 1;
/** p_flags bits: executable, writable, readable. */
export const PF_X = 1, PF_W = 2, PF_R = 4;

/** One PT_LOAD program header, with its file bytes. */
export interface ElfSegment {
  vaddr: bigint;
  paddr: bigint;
  /** File offset of the segment's first byte. */
  offset: number;
  /** Bytes present in the file (always <= memsz). */
  filesz: number;
  /** Bytes the segment occupies in memory; the part beyond filesz is zero-filled. */
  memsz: number;
  /** PF_X=1 PF_W=2 PF_R=4. */
  flags: number;
  align: bigint;
  /** The file bytes, length filesz: a view into the parsed input. */
  bytes: Uint8Array;
}

/** A validated ELF64 executable. */
export interface ElfImage {
  machine: number;
  type: number;
  entry: bigint;
  /** PT_LOAD segments only, in program header order. */
  segments: ElfSegment[];
  /** Defined symbols from .symtab (empty if stripped); global/weak names win over local ones. */
  symbols: Map<string, bigint>;
}

/** A malformed or unsuitable ELF file; the one-line message names the offending value. */
export class ElfError extends Error {
  override name = "ElfError";
}

const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const SHT_SYMTAB = 2;
const STT_SECTION = 3, STT_FILE = 4;
const STB_LOCAL = 0;
const PN_XNUM = 0xffff;
const U64_LIMIT = 1n << 64n;

const MACHINE_NAMES: Record<number, string> = {
  0: "none", 3: "x86", 8: "mips", 20: "ppc", 21: "ppc64", 40: "arm", 62: "x86_64", 183: "aarch64", 243: "riscv64",
};
const TYPE_NAMES: Record<number, string> = { 0: "NONE", 1: "REL", 2: "EXEC", 3: "DYN", 4: "CORE" };

/** Human name of an e_machine value ("riscv64", "x86_64", or "unknown"). */
export function machineName(machine: number): string {
  return MACHINE_NAMES[machine] ?? "unknown";
}

/** "[base, +size)" in hex, as ELF error messages write ranges. */
export const range = (base: bigint | number, size: bigint | number): string => `[${hex(base)}, +${hex(size)})`;

/**
 * Parses and validates an ELF64 little-endian executable (ET_EXEC or ET_DYN).
 *
 * Checks the magic, class, data encoding, versions, type, program header table geometry, that
 * every PT_LOAD's file range is inside the file, filesz <= memsz, that no segment's address
 * range wraps past 2^64, and (if present) the section header table and .symtab.
 *
 * @param bytes the whole file
 * @param expectMachine if given, the required e_machine (e.g. {@link EM_RISCV})
 * @throws ElfError for any malformed or unsuitable input, and never anything else
 *
 * @example
 * const image = parseElf(fileBytes, EM_RISCV);
 * loadElfPhysical(bus, image);
 * hart.pc = image.entry;
 */
export function parseElf(bytes: Uint8Array, expectMachine?: number): ElfImage {
  const len = bytes.length;
  if (len < 4 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    const shown = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new ElfError(`not an ELF file (magic ${shown || "missing: file is empty"})`);
  }
  if (len < 6) throw new ElfError(`ELF file is ${len} bytes, too short for e_ident`);
  if (bytes[4] !== 2) {
    const what = bytes[4] === 1 ? " (32-bit)" : "";
    throw new ElfError(`ELF class ${bytes[4]}${what} is not supported; expected ELFCLASS64`);
  }
  if (bytes[5] !== 1) {
    const what = bytes[5] === 2 ? " (big-endian)" : "";
    throw new ElfError(`ELF data encoding ${bytes[5]}${what} is not supported; expected ELFDATA2LSB (little-endian)`);
  }
  if (len < EHDR_SIZE) throw new ElfError(`ELF file is ${len} bytes, shorter than the 64-byte ELF64 header`);
  if (bytes[6] !== 1) throw new ElfError(`ELF ident version ${bytes[6]} is not supported; expected EV_CURRENT (1)`);

  const dv = new DataView(bytes.buffer, bytes.byteOffset, len);
  const u16 = (o: number): number => dv.getUint16(o, true);
  const u32 = (o: number): number => dv.getUint32(o, true);
  const u64 = (o: number): bigint => dv.getBigUint64(o, true);

  const type = u16(16);
  const machine = u16(18);
  const version = u32(20);
  if (type !== ET_EXEC && type !== ET_DYN) {
    throw new ElfError(`ELF type ${type} (${TYPE_NAMES[type] ?? "unknown"}) is not loadable; expected EXEC (2) or DYN (3)`);
  }
  if (expectMachine !== undefined && machine !== expectMachine) {
    throw new ElfError(`machine ${machine} (${machineName(machine)}) does not match ${machineName(expectMachine)} (${expectMachine})`);
  }
  if (version !== 1) throw new ElfError(`ELF version ${version} is not supported; expected EV_CURRENT (1)`);

  const entry = u64(24);
  const phoff = u64(32);
  const phentsize = u16(54);
  const phnum = u16(56);
  if (phnum === 0) throw new ElfError("ELF file has no program headers (e_phnum 0)");
  if (phnum === PN_XNUM) throw new ElfError("extended program header numbering (e_phnum 0xffff) is not supported");
  if (phentsize !== PHDR_SIZE) throw new ElfError(`program header entry size ${phentsize} is not ${PHDR_SIZE} (Elf64_Phdr)`);
  const phEnd = phoff + BigInt(phnum * PHDR_SIZE);
  if (phEnd > BigInt(len)) {
    throw new ElfError(`program header table ${range(phoff, phnum * PHDR_SIZE)} extends past the end of the file (${hex(len)} bytes)`);
  }

  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const ph = Number(phoff) + i * PHDR_SIZE;
    if (u32(ph) !== PT_LOAD) continue;
    const n = segments.length;
    const flags = u32(ph + 4);
    const offset = u64(ph + 8);
    const vaddr = u64(ph + 16);
    const paddr = u64(ph + 24);
    const filesz = u64(ph + 32);
    const memsz = u64(ph + 40);
    const align = u64(ph + 48);
    if (offset + filesz > BigInt(len)) {
      throw new ElfError(`segment ${n} ${range(offset, filesz)} extends past the end of the file (${hex(len)} bytes)`);
    }
    if (filesz > memsz) throw new ElfError(`segment ${n} filesz ${hex(filesz)} > memsz ${hex(memsz)}`);
    if (memsz >= 1n << 53n) throw new ElfError(`segment ${n} memsz ${hex(memsz)} is too large (limit 2^53)`);
    if (vaddr + memsz > U64_LIMIT) throw new ElfError(`segment ${n} vaddr range ${range(vaddr, memsz)} wraps past 2^64`);
    if (paddr + memsz > U64_LIMIT) throw new ElfError(`segment ${n} paddr range ${range(paddr, memsz)} wraps past 2^64`);
    const off = Number(offset);
    const fsz = Number(filesz);
    segments.push({ vaddr, paddr, offset: off, filesz: fsz, memsz: Number(memsz), flags, align, bytes: bytes.subarray(off, off + fsz) });
  }
  if (segments.length === 0) throw new ElfError(`ELF file has no PT_LOAD segments (${phnum} program headers)`);

  return { machine, type, entry, segments, symbols: readSymbols(dv) };
}

/** Reads the first SHT_SYMTAB section's defined symbols; an empty map if there is none. */
function readSymbols(dv: DataView): Map<string, bigint> {
  const symbols = new Map<string, bigint>();
  const len = dv.byteLength;
  const shoff = dv.getBigUint64(40, true);
  const shentsize = dv.getUint16(58, true);
  let shnum = dv.getUint16(60, true);
  if (shoff === 0n) return symbols;
  if (shentsize !== SHDR_SIZE) throw new ElfError(`section header entry size ${shentsize} is not ${SHDR_SIZE} (Elf64_Shdr)`);
  if (shoff + BigInt(SHDR_SIZE) > BigInt(len)) {
    throw new ElfError(`section header table at ${hex(shoff)} extends past the end of the file (${hex(len)} bytes)`);
  }
  const sh0 = Number(shoff);
  if (shnum === 0) {
    const extended = dv.getBigUint64(sh0 + 32, true);
    if (extended > BigInt(len)) throw new ElfError(`extended section count ${hex(extended)} exceeds the file size`);
    shnum = Number(extended);
  }
  const tableSize = BigInt(shnum) * BigInt(SHDR_SIZE);
  if (shoff + tableSize > BigInt(len)) {
    throw new ElfError(`section header table ${range(shoff, tableSize)} extends past the end of the file (${hex(len)} bytes)`);
  }
  const section = (i: number): { type: number; offset: bigint; size: bigint; link: number; entsize: bigint } => {
    const o = sh0 + i * SHDR_SIZE;
    return {
      type: dv.getUint32(o + 4, true), offset: dv.getBigUint64(o + 24, true), size: dv.getBigUint64(o + 32, true),
      link: dv.getUint32(o + 40, true), entsize: dv.getBigUint64(o + 56, true),
    };
  };
  let symIndex = -1;
  for (let i = 0; i < shnum && symIndex < 0; i++) if (section(i).type === SHT_SYMTAB) symIndex = i;
  if (symIndex < 0) return symbols;

  const sym = section(symIndex);
  if (sym.entsize !== BigInt(SYM_SIZE)) throw new ElfError(`.symtab entry size ${sym.entsize} is not ${SYM_SIZE} (Elf64_Sym)`);
  if (sym.offset + sym.size > BigInt(len)) {
    throw new ElfError(`.symtab ${range(sym.offset, sym.size)} extends past the end of the file (${hex(len)} bytes)`);
  }
  if (sym.link >= shnum) throw new ElfError(`.symtab links to string table section ${sym.link}, but there are ${shnum} sections`);
  const str = section(sym.link);
  if (str.offset + str.size > BigInt(len)) {
    throw new ElfError(`.strtab ${range(str.offset, str.size)} extends past the end of the file (${hex(len)} bytes)`);
  }
  const strStart = Number(str.offset);
  const strEnd = strStart + Number(str.size);
  const isGlobal = new Set<string>();
  const count = Number(sym.size) / SYM_SIZE;
  for (let i = 0; i < Math.floor(count); i++) {
    const o = Number(sym.offset) + i * SYM_SIZE;
    const nameOff = dv.getUint32(o, true);
    const info = dv.getUint8(o + 4);
    const shndx = dv.getUint16(o + 6, true);
    const kind = info & 0xf;
    if (nameOff === 0 || shndx === 0 || kind === STT_SECTION || kind === STT_FILE) continue;
    if (nameOff >= strEnd - strStart) {
      throw new ElfError(`symbol ${i} name offset ${hex(nameOff)} is outside .strtab (${hex(strEnd - strStart)} bytes)`);
    }
    const name = readCString(dv, strStart + nameOff, strEnd, i);
    const global = info >> 4 !== STB_LOCAL;
    if (!symbols.has(name) || (global && !isGlobal.has(name))) {
      symbols.set(name, dv.getBigUint64(o + 8, true));
      if (global) isGlobal.add(name);
    }
  }
  return symbols;
}

/** The NUL-terminated string at `start` (bytes as Latin-1; symbol names are ASCII in practice). */
function readCString(dv: DataView, start: number, end: number, symIndex: number): string {
  let s = "";
  for (let p = start; p < end; p++) {
    const b = dv.getUint8(p);
    if (b === 0) return s;
    s += String.fromCharCode(b);
  }
  throw new ElfError(`symbol ${symIndex} name at string table offset ${hex(start)} is not NUL-terminated inside .strtab`);
}
