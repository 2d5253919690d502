import { describe, expect, it } from "vitest";
import { EM_RISCV, EM_X86_64, ElfError, type ElfImage, loadElfPhysical, parseElf, PF_R, PF_W, PF_X } from "../boot/elf.js";
import { Bus } from "../emulator/core/memory.js";
import { rng } from "./support/rng.js";

const RAM_BASE = 0x80000000;
const RAM_SIZE = 0x8000000;

interface SegSpec { type?: number; flags?: number; vaddr: bigint; paddr?: bigint; data: number[]; memsz?: number }
interface SymSpec { name: string; value: bigint; bind?: number; kind?: number; shndx?: number }

/** Byte offsets of the pieces of an ELF made by {@link makeElf}, for targeted corruption. */
interface Layout { phoff: number; shoff: number; symoff: number; stroff: number }

/**
 * A little-endian ELF64 file: header, program headers, each segment's data (8-aligned), then,
 * if symbols are given, .strtab, .symtab and section headers [null, .symtab, .strtab].
 */
function makeElf(o: { machine?: number; type?: number; entry?: bigint; segments: SegSpec[]; symbols?: SymSpec[] }): { bytes: Uint8Array; layout: Layout } {
  const out: number[] = new Array(64).fill(0);
  const phoff = 64;
  out.push(...new Array(o.segments.length * 56).fill(0));
  const dataOffsets = o.segments.map((s) => {
    while (out.length % 8 !== 0) out.push(0);
    const at = out.length;
    out.push(...s.data);
    return at;
  });
  let shoff = 0, symoff = 0, stroff = 0;
  const syms = o.symbols;
  if (syms) {
    stroff = out.length;
    out.push(0);
    const nameOffs = syms.map((s) => {
      const at = out.length - stroff;
      out.push(...[...s.name].map((c) => c.charCodeAt(0)), 0);
      return at;
    });
    const strsize = out.length - stroff;
    while (out.length % 8 !== 0) out.push(0);
    symoff = out.length;
    out.push(...new Array((syms.length + 1) * 24).fill(0));
    shoff = out.length;
    out.push(...new Array(3 * 64).fill(0));
    const dv = new DataView(Uint8Array.from(out).buffer);
    syms.forEach((s, i) => {
      const e = symoff + (i + 1) * 24;
      dv.setUint32(e, nameOffs[i]!, true);
      dv.setUint8(e + 4, ((s.bind ?? 1) << 4) | (s.kind ?? 2));
      dv.setUint16(e + 6, s.shndx ?? 1, true);
      dv.setBigUint64(e + 8, s.value, true);
    });
    const sh = (i: number, type: number, off: number, size: number, link: number, entsize: number): void => {
      const e = shoff + i * 64;
      dv.setUint32(e + 4, type, true);
      dv.setBigUint64(e + 24, BigInt(off), true);
      dv.setBigUint64(e + 32, BigInt(size), true);
      dv.setUint32(e + 40, link, true);
      dv.setBigUint64(e + 56, BigInt(entsize), true);
    };
    sh(1, 2, symoff, (syms.length + 1) * 24, 2, 24);
    sh(2, 3, stroff, strsize, 0, 0);
    out.splice(0, out.length, ...new Uint8Array(dv.buffer));
  }
  const bytes = Uint8Array.from(out);
  const dv = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  dv.setUint16(16, o.type ?? 2, true);
  dv.setUint16(18, o.machine ?? EM_RISCV, true);
  dv.setUint32(20, 1, true);
  dv.setBigUint64(24, o.entry ?? 0x80000000n, true);
  dv.setBigUint64(32, BigInt(phoff), true);
  dv.setBigUint64(40, BigInt(shoff), true);
  dv.setUint16(52, 64, true);
  dv.setUint16(54, 56, true);
  dv.setUint16(56, o.segments.length, true);
  dv.setUint16(58, syms ? 64 : 0, true);
  dv.setUint16(60, syms ? 3 : 0, true);
  o.segments.forEach((s, i) => {
    const p = phoff + i * 56;
    dv.setUint32(p, s.type ?? 1, true);
    dv.setUint32(p + 4, s.flags ?? PF_R | PF_X, true);
    dv.setBigUint64(p + 8, BigInt(dataOffsets[i]!), true);
    dv.setBigUint64(p + 16, s.vaddr, true);
    dv.setBigUint64(p + 24, s.paddr ?? s.vaddr, true);
    dv.setBigUint64(p + 32, BigInt(s.data.length), true);
    dv.setBigUint64(p + 40, BigInt(s.memsz ?? s.data.length), true);
    dv.setBigUint64(p + 48, 0x1000n, true);
  });
  return { bytes, layout: { phoff, shoff, symoff, stroff } };
}

/** A two-segment kernel: text at 0x80000000, data+bss at 0x80001000, with symbols. */
function kernel(): { bytes: Uint8Array; layout: Layout } {
  return makeElf({
    entry: 0x80000000n,
    segments: [
      { vaddr: 0x80000000n, data: [0x13, 0, 0, 0, 0x73, 0, 0x10, 0x10] },
      { vaddr: 0xffffffff80001000n, paddr: 0x80001000n, flags: PF_R | PF_W, data: [1, 2, 3, 4], memsz: 0x100 },
    ],
    symbols: [
      { name: "_start", value: 0x80000000n },
      { name: "helper", value: 0x80000010n, bind: 0 },
      { name: "helper", value: 0x80000020n, bind: 1 },
      { name: "extern_fn", value: 0n, shndx: 0 },
      { name: "file.c", value: 0n, kind: 4 },
    ],
  });
}

/** Returns the ElfError message parseElf throws, failing the test on any other outcome. */
function elfError(bytes: Uint8Array, machine?: number): string {
  try {
    parseElf(bytes, machine);
  } catch (e) {
    expect(e).toBeInstanceOf(ElfError);
    return (e as ElfError).message;
  }
  throw new Error("parseElf accepted the input");
}

/** Copies `bytes` and applies `edit` to a DataView of the copy. */
function patched(bytes: Uint8Array, edit: (dv: DataView, b: Uint8Array) => void): Uint8Array {
  const b = bytes.slice();
  edit(new DataView(b.buffer), b);
  return b;
}

function ramBus(): Bus {
  const bus = new Bus();
  bus.addRam("ram", RAM_BASE, RAM_SIZE);
  return bus;
}

describe("parseElf accepts valid ELF64 executables", () => {
  it("reads the header, PT_LOAD segments and their file bytes", () => {
    const { bytes } = kernel();
    const img = parseElf(bytes, EM_RISCV);
    expect(img.machine).toBe(EM_RISCV);
    expect(img.type).toBe(2);
    expect(img.entry).toBe(0x80000000n);
    expect(img.segments).toHaveLength(2);
    const [text, data] = img.segments;
    expect(text!.vaddr).toBe(0x80000000n);
    expect(text!.flags).toBe(PF_R | PF_X);
    expect(Array.from(text!.bytes)).toEqual([0x13, 0, 0, 0, 0x73, 0, 0x10, 0x10]);
    expect(data!.vaddr).toBe(0xffffffff80001000n);
    expect(data!.paddr).toBe(0x80001000n);
    expect(data!.filesz).toBe(4);
    expect(data!.memsz).toBe(0x100);
    expect(data!.align).toBe(0x1000n);
    expect(bytes.subarray(data!.offset, data!.offset + 4)).toEqual(new Uint8Array([1, 2, 3, 4]));
  });

  it("symbols come from .symtab; a global name wins over a local one; undefined, FILE and SECTION symbols are skipped", () => {
    const img = parseElf(kernel().bytes);
    expect(img.symbols.get("_start")).toBe(0x80000000n);
    expect(img.symbols.get("helper")).toBe(0x80000020n);
    expect(img.symbols.has("extern_fn")).toBe(false);
    expect(img.symbols.has("file.c")).toBe(false);
  });

  it("a stripped file has no symbols; non-PT_LOAD headers are skipped", () => {
    const { bytes } = makeElf({ type: 3, segments: [{ type: 4, vaddr: 0n, data: [9, 9] }, { vaddr: 0x1000n, data: [1] }] });
    const img = parseElf(bytes);
    expect(img.type).toBe(3);
    expect(img.symbols.size).toBe(0);
    expect(img.segments).toHaveLength(1);
    expect(img.segments[0]!.vaddr).toBe(0x1000n);
  });
});

describe("parseElf rejects malformed or unsuitable files with one-line ElfErrors", () => {
  const good = kernel().bytes;

  it("wrong magic names the bytes", () => {
    expect(elfError(patched(good, (_, b) => (b[3] = 0)))).toBe("not an ELF file (magic 7f 45 4c 00)");
    expect(elfError(new Uint8Array(0))).toMatch(/^not an ELF file \(magic missing/);
    expect(elfError(Uint8Array.from([0x7f, 0x45]))).toBe("not an ELF file (magic 7f 45)");
  });

  it("only ELFCLASS64 little-endian version 1 is accepted", () => {
    expect(elfError(patched(good, (_, b) => (b[4] = 1)))).toBe("ELF class 1 (32-bit) is not supported; expected ELFCLASS64");
    expect(elfError(patched(good, (_, b) => (b[5] = 2)))).toMatch(/^ELF data encoding 2 \(big-endian\) is not supported/);
    expect(elfError(patched(good, (_, b) => (b[6] = 0)))).toMatch(/^ELF ident version 0 /);
    expect(elfError(patched(good, (dv) => dv.setUint32(20, 2, true)))).toMatch(/^ELF version 2 /);
  });

  it("a file shorter than the ELF64 header is rejected", () => {
    expect(elfError(good.subarray(0, 40))).toBe("ELF file is 40 bytes, shorter than the 64-byte ELF64 header");
  });

  it("only EXEC and DYN are loadable", () => {
    expect(elfError(patched(good, (dv) => dv.setUint16(16, 1, true)))).toBe("ELF type 1 (REL) is not loadable; expected EXEC (2) or DYN (3)");
  });

  it("the machine must match the expected one", () => {
    const x86 = patched(good, (dv) => dv.setUint16(18, EM_X86_64, true));
    expect(elfError(x86, EM_RISCV)).toBe("machine 62 (x86_64) does not match riscv64 (243)");
    expect(parseElf(x86).machine).toBe(EM_X86_64);
  });

  it("program header table geometry is checked", () => {
    expect(elfError(patched(good, (dv) => dv.setUint16(56, 0, true)))).toMatch(/no program headers/);
    expect(elfError(patched(good, (dv) => dv.setUint16(54, 32, true)))).toBe("program header entry size 32 is not 56 (Elf64_Phdr)");
    expect(elfError(patched(good, (dv) => dv.setBigUint64(32, BigInt(good.length - 60), true)))).toMatch(/^program header table \[0x[0-9a-f]+, \+0x70\) extends past the end of the file/);
    expect(elfError(patched(good, (dv) => dv.setBigUint64(32, 0xffffffffffffffffn, true)))).toMatch(/^program header table \[0xffffffffffffffff/);
    expect(elfError(patched(good, (dv) => dv.setUint16(56, 0xffff, true)))).toMatch(/PN_XNUM|0xffff/);
  });

  it("a segment's file range must be inside the file", () => {
    const seg1 = 64 + 56;
    const past = patched(good, (dv) => dv.setBigUint64(seg1 + 8, 0x1000n, true));
    expect(elfError(past)).toBe(`segment 1 [0x1000, +0x4) extends past the end of the file (0x${good.length.toString(16)} bytes)`);
    const huge = patched(good, (dv) => dv.setBigUint64(seg1 + 32, 0xfffffffffffffff0n, true));
    expect(elfError(huge)).toMatch(/^segment 1 \[0x[0-9a-f]+, \+0xfffffffffffffff0\) extends past the end of the file/);
  });

  it("filesz must not exceed memsz", () => {
    const bad = makeElf({ segments: [{ vaddr: 0n, data: new Array(0x20).fill(0), memsz: 0x10 }] }).bytes;
    expect(elfError(bad)).toBe("segment 0 filesz 0x20 > memsz 0x10");
  });

  it("huge memsz and address ranges that wrap past 2^64 are errors, not allocations", () => {
    const seg1 = 64 + 56;
    expect(elfError(patched(good, (dv) => dv.setBigUint64(seg1 + 40, 0xffffffffffffff00n, true)))).toMatch(/^segment 1 memsz 0xffffffffffffff00 is too large/);
    expect(elfError(patched(good, (dv) => dv.setBigUint64(seg1 + 16, 0xfffffffffffffff0n, true)))).toMatch(/^segment 1 vaddr range .* wraps past 2\^64$/);
    expect(elfError(patched(good, (dv) => dv.setBigUint64(seg1 + 24, 0xfffffffffffffff0n, true)))).toMatch(/^segment 1 paddr range .* wraps past 2\^64$/);
  });

  it("a file without PT_LOAD segments is rejected", () => {
    expect(elfError(makeElf({ segments: [{ type: 4, vaddr: 0n, data: [1] }] }).bytes)).toMatch(/no PT_LOAD segments/);
  });

  it("section headers and .symtab are bounds-checked", () => {
    const { bytes, layout } = kernel();
    expect(elfError(patched(bytes, (dv) => dv.setUint16(58, 40, true)))).toMatch(/^section header entry size 40 /);
    expect(elfError(patched(bytes, (dv) => dv.setBigUint64(40, BigInt(bytes.length - 8), true)))).toMatch(/^section header table at/);
    expect(elfError(patched(bytes, (dv) => dv.setUint16(60, 200, true)))).toMatch(/^section header table \[.*extends past the end/);
    const sym = layout.shoff + 64;
    expect(elfError(patched(bytes, (dv) => dv.setBigUint64(sym + 56, 16n, true)))).toMatch(/^\.symtab entry size 16 /);
    expect(elfError(patched(bytes, (dv) => dv.setBigUint64(sym + 32, 0x100000n, true)))).toMatch(/^\.symtab .* extends past the end/);
    expect(elfError(patched(bytes, (dv) => dv.setUint32(sym + 40, 9, true)))).toMatch(/links to string table section 9/);
    expect(elfError(patched(bytes, (dv) => dv.setBigUint64(layout.shoff + 128 + 32, 2n, true)))).toMatch(/not NUL-terminated/);
    expect(elfError(patched(bytes, (dv) => dv.setUint32(layout.symoff + 24, 0x999, true)))).toBe("symbol 1 name offset 0x999 is outside .strtab (0x27 bytes)");
  });
});

describe("parseElf only ever throws ElfError", () => {
  const accept = (bytes: Uint8Array): void => {
    let img: ElfImage;
    try {
      img = parseElf(bytes, EM_RISCV);
    } catch (e) {
      if (!(e instanceof ElfError)) throw e;
      return;
    }
    try {
      loadElfPhysical(ramBus(), img);
    } catch (e) {
      if (!(e instanceof ElfError)) throw e;
    }
  };

  it("every truncation of a valid file", () => {
    const { bytes } = kernel();
    for (let n = 0; n < bytes.length; n++) accept(bytes.subarray(0, n));
  });

  it("random bytes, with and without a valid ELF64 prefix", () => {
    const next = rng(12345);
    for (let i = 0; i < 3000; i++) {
      const b = new Uint8Array(next() % 400);
      for (let k = 0; k < b.length; k++) b[k] = next() & 0xff;
      if (i % 2 === 0 && b.length >= 7) b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
      accept(b);
    }
  });

  it("random corruption of a valid file (bytes set to random, 0 or 0xff)", () => {
    const next = rng(777);
    const { bytes } = kernel();
    for (let i = 0; i < 5000; i++) {
      const b = bytes.slice();
      const edits = 1 + (next() % 6);
      for (let k = 0; k < edits; k++) {
        const at = next() % b.length;
        const how = next() % 3;
        b[at] = how === 0 ? next() & 0xff : how === 1 ? 0 : 0xff;
      }
      accept(b);
    }
  });
});

describe("loadElfPhysical", () => {
  it("copies each PT_LOAD to its paddr and zero-fills memsz beyond filesz", () => {
    const bus = ramBus();
    for (let a = 0x80001000; a < 0x80001100; a += 4) bus.write(a, 4, -1);
    loadElfPhysical(bus, parseElf(kernel().bytes));
    expect(bus.read64(0x80000000)).toBe(0x1010007300000013n);
    expect(bus.read(0x80001000, 4) && bus.lo).toBe(0x04030201);
    for (let a = 0x80001004; a < 0x80001100; a += 4) {
      bus.read(a, 4);
      expect(bus.lo, `0x${a.toString(16)}`).toBe(0);
    }
  });

  it("a large .bss costs no host memory for untouched chunks", () => {
    const bus = ramBus();
    const img = parseElf(makeElf({ segments: [{ vaddr: 0x80000000n, data: [1, 2], memsz: 0x4000000 }] }).bytes);
    loadElfPhysical(bus, img);
    expect(bus.ramAt(RAM_BASE)!.allocatedBytes).toBe(0x10000);
  });

  it("a segment outside RAM is rejected with the RAM map in the message", () => {
    const bytes = makeElf({ segments: [{ vaddr: 0x80000000n, data: [1] }, { vaddr: 0x1000n, data: [2], memsz: 0x2000 }] }).bytes;
    expect(() => loadElfPhysical(ramBus(), parseElf(bytes))).toThrow(new ElfError("segment 1 [0x1000, +0x2000) is not inside RAM (RAM is [0x80000000, +0x8000000))"));
    const straddle = makeElf({ segments: [{ vaddr: 0x87fff000n, data: [1], memsz: 0x2000 }] }).bytes;
    expect(() => loadElfPhysical(ramBus(), parseElf(straddle))).toThrow(/^segment 0 \[0x87fff000, \+0x2000\) is not inside RAM/);
    const high = makeElf({ segments: [{ vaddr: 0xffffffff80000000n, data: [1] }] }).bytes;
    expect(() => loadElfPhysical(ramBus(), parseElf(high))).toThrow(ElfError);
  });

  it("a segment on a device is not RAM", () => {
    const bus = ramBus();
    bus.addDevice({ name: "dev", read: () => 0, write: () => undefined }, 0x10000000, 0x1000);
    const bytes = makeElf({ segments: [{ vaddr: 0x10000000n, data: [1] }] }).bytes;
    expect(() => loadElfPhysical(bus, parseElf(bytes))).toThrow(/not inside RAM/);
  });

  it("overlapping segments are rejected before anything is written", () => {
    const bus = ramBus();
    const bytes = makeElf({ segments: [{ vaddr: 0x80000000n, data: [1, 1, 1, 1], memsz: 0x100 }, { vaddr: 0x80000080n, data: [2] }] }).bytes;
    expect(() => loadElfPhysical(bus, parseElf(bytes))).toThrow(new ElfError("segment 0 [0x80000000, +0x100) overlaps segment 1 [0x80000080, +0x1)"));
    expect(bus.ramAt(RAM_BASE)!.allocatedBytes).toBe(0);
  });
});
