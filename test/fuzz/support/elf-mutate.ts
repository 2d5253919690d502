/**
 * Structured mutations of a valid ELF64 file for the ELF fuzz suites: writes of chosen values into
 * named header, program-header and section-header fields, bit flips, byte splices and truncation.
 * A mutation list is plain data, so a counterexample is kept as a regression test verbatim
 * (independent of the generator that found it).
 */
import fc from "fast-check";
import { expect } from "vitest";
import { ElfError, type ElfImage } from "../../../kernel/proc/elf.js";

/** Writes `value` (little-endian, truncated to `size` bytes) at `off`. */
export interface FieldWrite { kind: "field"; what: string; off: number; size: 1 | 2 | 4 | 8; value: bigint }
/** Flips bit `bit` of byte `off`. */
export interface BitFlip { kind: "flip"; off: number; bit: number }
/** Overwrites bytes from `off` (clipped at the end of the file). */
export interface Splice { kind: "splice"; off: number; bytes: number[] }
/** Keeps the first `len` bytes. */
export interface Truncate { kind: "truncate"; len: number }
export type ElfMutation = FieldWrite | BitFlip | Splice | Truncate;

type Field = readonly [name: string, off: number, size: 1 | 2 | 4 | 8];

/** ELF64 header fields (System V ABI, ELF-64 "File header"). */
const EHDR: readonly Field[] = [
  ["EI_CLASS", 4, 1], ["EI_DATA", 5, 1], ["EI_VERSION", 6, 1], ["e_type", 16, 2], ["e_machine", 18, 2],
  ["e_version", 20, 4], ["e_entry", 24, 8], ["e_phoff", 32, 8], ["e_shoff", 40, 8], ["e_flags", 48, 4],
  ["e_ehsize", 52, 2], ["e_phentsize", 54, 2], ["e_phnum", 56, 2], ["e_shentsize", 58, 2], ["e_shnum", 60, 2],
  ["e_shstrndx", 62, 2],
];
/** Elf64_Phdr fields, relative to the entry. */
const PHDR: readonly Field[] = [
  ["p_type", 0, 4], ["p_flags", 4, 4], ["p_offset", 8, 8], ["p_vaddr", 16, 8], ["p_paddr", 24, 8],
  ["p_filesz", 32, 8], ["p_memsz", 40, 8], ["p_align", 48, 8],
];
/** Elf64_Shdr fields, relative to the entry. */
const SHDR: readonly Field[] = [
  ["sh_name", 0, 4], ["sh_type", 4, 4], ["sh_flags", 8, 8], ["sh_addr", 16, 8], ["sh_offset", 24, 8],
  ["sh_size", 32, 8], ["sh_link", 40, 4], ["sh_info", 44, 4], ["sh_addralign", 48, 8], ["sh_entsize", 56, 8],
];

/** Values that sit on the checks' boundaries: sizes, limits, overflow points, kernel addresses. */
function interesting(len: number, base: bigint): bigint[] {
  const L = BigInt(len);
  return [
    0n, 1n, 2n, 3n, 4n, 7n, 0x38n, 0x40n, 0xffn, 0xfffen, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn,
    1n << 32n, (1n << 53n) - 1n, 1n << 53n, 1n << 63n, (1n << 64n) - 1n, (1n << 64n) - 0x1000n,
    L, L - 1n, L + 1n, L - 56n, L - 64n, 0x1000n, 0x2000n, 0x3000n, base, base + 0x1000n, base + 0xffen,
    0x3f_ffff_f000n, 0x40_0000_0000n, 0xffff_ffc0_0000_0000n, 0xffff_ffff_8000_0000n, 0x10000n,
  ];
}

/** A value for a field: a boundary value or a random one, truncated to the field's size. */
function valueArb(len: number, base: bigint): fc.Arbitrary<bigint> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...interesting(len, base)) },
    { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: len + 64 }).map(BigInt) },
  );
}

/** Mutations of `elf` (a valid little-endian ELF64 file with its tables in place). */
export function elfMutationArb(elf: Uint8Array, base: bigint): fc.Arbitrary<ElfMutation> {
  const dv = new DataView(elf.buffer, elf.byteOffset, elf.length);
  const phoff = Number(dv.getBigUint64(32, true)), phnum = dv.getUint16(56, true);
  const shoff = Number(dv.getBigUint64(40, true)), shnum = dv.getUint16(60, true);
  const fields: Field[] = [...EHDR];
  for (let i = 0; i < phnum; i++) for (const [n, o, s] of PHDR) fields.push([`phdr[${i}].${n}`, phoff + 56 * i + o, s]);
  for (let i = 0; i < shnum; i++) for (const [n, o, s] of SHDR) fields.push([`shdr[${i}].${n}`, shoff + 64 * i + o, s]);
  const len = elf.length;
  const field: fc.Arbitrary<ElfMutation> = fc.tuple(fc.constantFrom(...fields), valueArb(len, base))
    .map(([[what, off, size], value]) => ({ kind: "field", what, off, size, value: BigInt.asUintN(size * 8, value) }));
  return fc.oneof(
    { weight: 8, arbitrary: field },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("flip" as const), off: fc.nat(len - 1), bit: fc.nat(7) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("splice" as const), off: fc.nat(len - 1), bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 16 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("truncate" as const), len: fc.nat(len) }) },
  );
}

/** 1 to `max` mutations of `elf`. */
export function elfMutationsArb(elf: Uint8Array, base: bigint, max = 4): fc.Arbitrary<ElfMutation[]> {
  return fc.array(elfMutationArb(elf, base), { minLength: 1, maxLength: max });
}

/** `elf` with `mutations` applied in order (a copy). */
export function applyMutations(elf: Uint8Array, mutations: readonly ElfMutation[]): Uint8Array {
  let out = elf.slice();
  for (const m of mutations) {
    switch (m.kind) {
      case "field":
        for (let i = 0; i < m.size && m.off + i < out.length; i++) out[m.off + i] = Number((m.value >> BigInt(8 * i)) & 0xffn);
        break;
      case "flip":
        if (m.off < out.length) out[m.off]! ^= 1 << m.bit;
        break;
      case "splice":
        out.set(m.bytes.slice(0, Math.max(0, out.length - m.off)), Math.min(m.off, out.length));
        break;
      case "truncate":
        out = out.slice(0, m.len);
        break;
    }
  }
  return out;
}

/**
 * What parseElf promises about an image it returns for `bytes`: PT_LOAD segments only, each
 * inside the file with filesz <= memsz < 2^53, no address range past 2^64, bytes that are the
 * file's own, and the expected machine.
 */
export function expectWellFormed(image: ElfImage, bytes: Uint8Array, machine?: number): void {
  const U64 = 1n << 64n;
  if (machine !== undefined) expect(image.machine).toBe(machine);
  expect([2, 3]).toContain(image.type);
  expect(image.entry >= 0n && image.entry < U64).toBe(true);
  expect(image.segments.length).toBeGreaterThan(0);
  for (const s of image.segments) {
    expect(Number.isSafeInteger(s.offset) && s.offset >= 0).toBe(true);
    expect(s.offset + s.filesz).toBeLessThanOrEqual(bytes.length);
    expect(s.filesz).toBeLessThanOrEqual(s.memsz);
    expect(s.memsz).toBeLessThan(2 ** 53);
    expect(s.vaddr + BigInt(s.memsz)).toBeLessThanOrEqual(U64);
    expect(s.paddr + BigInt(s.memsz)).toBeLessThanOrEqual(U64);
    expect(s.bytes.length).toBe(s.filesz);
    expect(Buffer.from(s.bytes).equals(Buffer.from(bytes.subarray(s.offset, s.offset + s.filesz)))).toBe(true);
  }
  for (const v of image.symbols.values()) expect(v >= 0n && v < U64).toBe(true);
}

/** Runs `parse`; passes when it returns or throws ElfError, and rethrows anything else. */
export function parseOrElfError<T>(parse: () => T): T | ElfError {
  try {
    return parse();
  } catch (e) {
    if (e instanceof ElfError) return e;
    throw e;
  }
}
