/**
 * ELF parser fuzzing: parseElf either returns a well-formed image or throws ElfError (never another
 * error, never a hang), for arbitrary bytes and for structured mutations of a valid executable
 * (header fields, program-header counts and offsets, overflowing sizes, filesz > memsz, huge memsz,
 * overlapping segments, wrong class, data encoding or machine, broken section tables). The bare-boot
 * loader (loadElfPhysical) then either places the image inside RAM or throws ElfError, leaving RAM
 * untouched.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EM_RISCV, ElfError, loadElfPhysical, parseElf } from "../../boot/elf.js";
import { Bus } from "../../emulator/core/memory.js";
import { assembleRiscv64 } from "../../tools/asm/riscv64/index.js";
import { applyMutations, elfMutationsArb, expectWellFormed, parseOrElfError } from "./support/elf-mutate.js";
import { fuzzParams, fuzzTimeout, PARSE_TIME_LIMIT_MS } from "./support/params.js";

/** A valid executable with text, data, bss and a symbol table, at the assembler's base 0x8000_0000. */
const SAMPLE_BASE = 0x8000_0000n;
const sample = assembleRiscv64(`
    .text
    .globl _start
_start:
    la a1, msg
    li a0, 1
    li a2, 3
    li a7, 64
    ecall
    li a0, 0
    li a7, 93
    ecall
    .data
msg: .ascii "ok\\n"
    .bss
buf: .skip 8192
`, { fileName: "sample.S" }).elf;

/** parseElf on `bytes`, timed: the image or the ElfError; anything else fails the property. */
function parseChecked(bytes: Uint8Array, machine?: number): ReturnType<typeof parseElf> | ElfError {
  const t0 = performance.now();
  const r = parseOrElfError(() => parseElf(bytes, machine));
  expect(performance.now() - t0).toBeLessThan(PARSE_TIME_LIMIT_MS);
  if (!(r instanceof ElfError)) expectWellFormed(r, bytes, machine);
  return r;
}

const ELF_PREFIX = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1];

describe("parseElf returns a well-formed image or throws ElfError", () => {
  it("for arbitrary bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => { parseChecked(bytes); }), fuzzParams(400, 0xe1f001));
  });

  it("for arbitrary bytes behind a valid ELF64 little-endian identification", () => {
    const arb = fc.uint8Array({ minLength: 0, maxLength: 600 }).map((tail) => new Uint8Array([...ELF_PREFIX, ...tail]));
    fc.assert(fc.property(arb, (bytes) => { parseChecked(bytes, EM_RISCV); }), fuzzParams(400, 0xe1f002));
  });

  it("for structured mutations of a valid executable", () => {
    expect(parseElf(sample, EM_RISCV).segments.length).toBe(3);
    let accepted = 0;
    fc.assert(fc.property(elfMutationsArb(sample, SAMPLE_BASE), (mutations) => {
      if (!(parseChecked(applyMutations(sample, mutations), EM_RISCV) instanceof ElfError)) accepted++;
    }), fuzzParams(600, 0xe1f003));
    expect(accepted).toBeGreaterThan(0);
  }, fuzzTimeout(600, 20));
});

describe("loadElfPhysical places a parsed image inside RAM or throws ElfError", () => {
  it("for mutated executables, leaving RAM untouched when it refuses", () => {
    const RAM_BASE = 0x8000_0000, RAM_SIZE = 1 << 20;
    fc.assert(fc.property(elfMutationsArb(sample, SAMPLE_BASE), (mutations) => {
      const bytes = applyMutations(sample, mutations);
      const image = parseOrElfError(() => parseElf(bytes, EM_RISCV));
      if (image instanceof ElfError) return;
      const bus = new Bus();
      bus.addRam("dram", RAM_BASE, RAM_SIZE);
      const ram = bus.ramAt(RAM_BASE)!;
      const loaded = parseOrElfError(() => loadElfPhysical(bus, image));
      if (loaded instanceof ElfError) {
        expect(ram.chunks.every((c) => c === undefined)).toBe(true);
        return;
      }
      for (const s of image.segments) {
        if (s.memsz === 0) continue;
        const pa = Number(s.paddr) - RAM_BASE;
        expect(pa >= 0 && pa + s.memsz <= RAM_SIZE).toBe(true);
        expect(Buffer.from(ram.readBytes(pa, s.filesz)).equals(Buffer.from(s.bytes))).toBe(true);
      }
    }), fuzzParams(400, 0xe1f004));
  });
});
