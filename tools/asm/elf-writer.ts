/**
 * A small ELF64 little-endian executable writer, shared by the guest assemblers.
 *
 * File layout (all offsets chosen here, nothing is read back):
 *
 *   0x000  ELF header (64 bytes)
 *   0x040  program headers, one PT_LOAD per segment (56 bytes each)
 *   ....   segment contents, each at a file offset congruent to its vaddr modulo PAGE_SIZE
 *   ....   .symtab, .strtab, .shstrtab
 *   ....   section headers: NULL, one per segment, .symtab, .strtab, .shstrtab
 *
 * Every segment gets a section header of the same name, so `objdump -d` and `nm` work on the
 * result. A segment whose `bytes` are empty but whose `memsz` is not becomes SHT_NOBITS (.bss).
 */

/** e_machine of x86-64. */
export const EM_X86_64 = 62;
/** e_machine of AArch64. */
export const EM_AARCH64 = 183;
/** e_machine of RISC-V. */
export const EM_RISCV = 243;

/** Segment and section placement granule: file offsets are congruent to vaddr modulo this. */
export const PAGE_SIZE = 0x1000;

/** Permission string of a segment: any combination of r, w and x, in that order. */
export type SegmentFlags = string;

/** One loadable segment (and the section that describes it). */
export interface ElfSegment {
  /** Section name, e.g. ".text". */
  name: string;
  vaddr: bigint;
  /** Physical load address; defaults to vaddr. */
  paddr?: bigint;
  /** "rx", "r", "rw", "rwx"... */
  flags: SegmentFlags;
  /** File contents (p_filesz = bytes.length). */
  bytes: Uint8Array;
  /** In-memory size, at least bytes.length; the rest is zero-filled (.bss). Defaults to bytes.length. */
  memsz?: number;
}

/** One .symtab entry. */
export interface ElfSymbol {
  name: string;
  value: bigint;
  /** Index into `segments` of the section the symbol lives in; undefined means absolute (SHN_ABS). */
  segment?: number;
  global?: boolean;
  type?: "func" | "object" | "notype";
  size?: number;
}

/** Everything needed to write an executable. */
export interface ElfImage {
  /** e_machine, e.g. EM_RISCV. */
  machine: number;
  entry: bigint;
  /** e_flags (RISC-V: 0x1 = RVC, float ABI soft). */
  flags?: number;
  segments: ElfSegment[];
  symbols?: ElfSymbol[];
}

const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;

const PT_LOAD = 1;
const PF_X = 1, PF_W = 2, PF_R = 4;
const SHT_PROGBITS = 1, SHT_SYMTAB = 2, SHT_STRTAB = 3, SHT_NOBITS = 8;
const SHF_WRITE = 1, SHF_ALLOC = 2, SHF_EXECINSTR = 4;
const SHN_ABS = 0xfff1;
const STB_LOCAL = 0, STB_GLOBAL = 1;
const STT_NOTYPE = 0, STT_OBJECT = 1, STT_FUNC = 2;

/** Builds a string table; offset 0 is the empty string. */
class StringTable {
  private readonly parts: Uint8Array[] = [new Uint8Array(1)];
  private size = 1;
  private readonly seen = new Map<string, number>();

  add(s: string): number {
    if (s === "") return 0;
    const known = this.seen.get(s);
    if (known !== undefined) return known;
    const enc = new TextEncoder().encode(s);
    const at = this.size;
    const buf = new Uint8Array(enc.length + 1);
    buf.set(enc);
    this.parts.push(buf);
    this.size += buf.length;
    this.seen.set(s, at);
    return at;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) { out.set(p, at); at += p.length; }
    return out;
  }
}

function checkFlags(flags: string): void {
  if (!/^r?w?x?$/.test(flags)) throw new RangeError(`writeElf64: bad segment flags "${flags}" (want a subset of "rwx" in that order)`);
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/**
 * Writes an ELF64 little-endian ET_EXEC file.
 *
 * @throws RangeError when a segment has bad flags, memsz < bytes.length, or a symbol names a
 *   segment that does not exist.
 * @example
 *   const elf = writeElf64({ machine: EM_RISCV, entry: 0x8000_0000n,
 *     segments: [{ name: ".text", vaddr: 0x8000_0000n, flags: "rx", bytes: new Uint8Array([0x73, 0, 0, 0]) }] });
 */
export function writeElf64(image: ElfImage): Uint8Array {
  const segs = image.segments;
  for (const s of segs) {
    checkFlags(s.flags);
    if ((s.memsz ?? s.bytes.length) < s.bytes.length) {
      throw new RangeError(`writeElf64: segment ${s.name} memsz ${s.memsz} < file size ${s.bytes.length}`);
    }
  }

  // Segment contents, each at an offset congruent to its vaddr modulo PAGE_SIZE.
  let offset = EHDR_SIZE + PHDR_SIZE * segs.length;
  const segOffsets: number[] = [];
  for (const s of segs) {
    const want = Number(s.vaddr % BigInt(PAGE_SIZE));
    let at = alignUp(offset, PAGE_SIZE) + want;
    if (at - PAGE_SIZE >= offset) at -= PAGE_SIZE;
    segOffsets.push(at);
    offset = at + s.bytes.length;
  }

  // Symbol table: locals first (ELF rule), then globals; sh_info = index of the first global.
  const strtab = new StringTable();
  const syms = [...(image.symbols ?? [])].sort((a, b) => Number(!!a.global) - Number(!!b.global));
  const symtab = new Uint8Array(SYM_SIZE * (syms.length + 1));
  const symView = new DataView(symtab.buffer);
  let firstGlobal = syms.length + 1;
  syms.forEach((sym, i) => {
    const at = SYM_SIZE * (i + 1);
    if (sym.global && firstGlobal > i + 1) firstGlobal = i + 1;
    if (sym.segment !== undefined && (sym.segment < 0 || sym.segment >= segs.length)) {
      throw new RangeError(`writeElf64: symbol ${sym.name} names segment ${sym.segment} of ${segs.length}`);
    }
    const type = sym.type === "func" ? STT_FUNC : sym.type === "object" ? STT_OBJECT : STT_NOTYPE;
    symView.setUint32(at, strtab.add(sym.name), true);
    symView.setUint8(at + 4, ((sym.global ? STB_GLOBAL : STB_LOCAL) << 4) | type);
    symView.setUint16(at + 6, sym.segment === undefined ? SHN_ABS : sym.segment + 1, true);
    symView.setBigUint64(at + 8, BigInt.asUintN(64, sym.value), true);
    symView.setBigUint64(at + 16, BigInt(sym.size ?? 0), true);
  });
  const strBytes = strtab.bytes();

  const shstr = new StringTable();
  const segNames = segs.map((s) => shstr.add(s.name));
  const symtabName = shstr.add(".symtab");
  const strtabName = shstr.add(".strtab");
  const shstrtabName = shstr.add(".shstrtab");
  const shstrBytes = shstr.bytes();

  const symtabOff = alignUp(offset, 8);
  const strtabOff = symtabOff + symtab.length;
  const shstrOff = strtabOff + strBytes.length;
  const shOff = alignUp(shstrOff + shstrBytes.length, 8);
  const shnum = segs.length + 4;
  const total = shOff + SHDR_SIZE * shnum;

  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);

  // ELF header.
  out.set([0x7f, 0x45, 0x4c, 0x46, 2 /* ELFCLASS64 */, 1 /* ELFDATA2LSB */, 1 /* EV_CURRENT */, 0 /* SYSV */]);
  v.setUint16(16, 2 /* ET_EXEC */, true);
  v.setUint16(18, image.machine, true);
  v.setUint32(20, 1, true);
  v.setBigUint64(24, BigInt.asUintN(64, image.entry), true);
  v.setBigUint64(32, BigInt(EHDR_SIZE), true);
  v.setBigUint64(40, BigInt(shOff), true);
  v.setUint32(48, image.flags ?? 0, true);
  v.setUint16(52, EHDR_SIZE, true);
  v.setUint16(54, PHDR_SIZE, true);
  v.setUint16(56, segs.length, true);
  v.setUint16(58, SHDR_SIZE, true);
  v.setUint16(60, shnum, true);
  v.setUint16(62, shnum - 1, true);

  // Program headers and contents.
  segs.forEach((s, i) => {
    const at = EHDR_SIZE + PHDR_SIZE * i;
    const pf = (s.flags.includes("r") ? PF_R : 0) | (s.flags.includes("w") ? PF_W : 0) | (s.flags.includes("x") ? PF_X : 0);
    v.setUint32(at, PT_LOAD, true);
    v.setUint32(at + 4, pf, true);
    v.setBigUint64(at + 8, BigInt(segOffsets[i]!), true);
    v.setBigUint64(at + 16, BigInt.asUintN(64, s.vaddr), true);
    v.setBigUint64(at + 24, BigInt.asUintN(64, s.paddr ?? s.vaddr), true);
    v.setBigUint64(at + 32, BigInt(s.bytes.length), true);
    v.setBigUint64(at + 40, BigInt(s.memsz ?? s.bytes.length), true);
    v.setBigUint64(at + 48, BigInt(PAGE_SIZE), true);
    out.set(s.bytes, segOffsets[i]!);
  });
  out.set(symtab, symtabOff);
  out.set(strBytes, strtabOff);
  out.set(shstrBytes, shstrOff);

  // Section headers.
  interface SectionHeader {
    name: number; type: number; flags?: number; addr?: bigint; off: number; size: number;
    link?: number; info?: number; align: number; entsize?: number;
  }
  const sh = (idx: number, f: SectionHeader): void => {
    const at = shOff + SHDR_SIZE * idx;
    v.setUint32(at, f.name, true);
    v.setUint32(at + 4, f.type, true);
    v.setBigUint64(at + 8, BigInt(f.flags ?? 0), true);
    v.setBigUint64(at + 16, BigInt.asUintN(64, f.addr ?? 0n), true);
    v.setBigUint64(at + 24, BigInt(f.off), true);
    v.setBigUint64(at + 32, BigInt(f.size), true);
    v.setUint32(at + 40, f.link ?? 0, true);
    v.setUint32(at + 44, f.info ?? 0, true);
    v.setBigUint64(at + 48, BigInt(f.align), true);
    v.setBigUint64(at + 56, BigInt(f.entsize ?? 0), true);
  };
  segs.forEach((s, i) => {
    const nobits = s.bytes.length === 0 && (s.memsz ?? 0) > 0;
    const flags = SHF_ALLOC | (s.flags.includes("w") ? SHF_WRITE : 0) | (s.flags.includes("x") ? SHF_EXECINSTR : 0);
    sh(i + 1, {
      name: segNames[i]!, type: nobits ? SHT_NOBITS : SHT_PROGBITS, flags, addr: s.vaddr,
      off: segOffsets[i]!, size: nobits ? s.memsz! : s.bytes.length, align: s.flags.includes("x") ? 4 : 8,
    });
  });
  const symIdx = segs.length + 1;
  sh(symIdx, {
    name: symtabName, type: SHT_SYMTAB, off: symtabOff, size: symtab.length, link: symIdx + 1, info: firstGlobal,
    align: 8, entsize: SYM_SIZE,
  });
  sh(symIdx + 1, { name: strtabName, type: SHT_STRTAB, off: strtabOff, size: strBytes.length, align: 1 });
  sh(symIdx + 2, { name: shstrtabName, type: SHT_STRTAB, off: shstrOff, size: shstrBytes.length, align: 1 });
  return out;
}
