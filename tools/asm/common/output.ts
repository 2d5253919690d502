/**
 * From an Assembly to what the assemblers return: an ELF64 executable (tools/asm/elf-writer.ts),
 * the loadable segments, the symbols and the entry point; and the flat memory image tests use.
 */
import { writeElf64 } from "../elf-writer.js";
import type { Assembly } from "./assembler.js";

/** Options of the assemble functions (assembleRiscv64, assembleArm64...). */
export interface AsmOptions {
  /** Start of the first section; each architecture has its own default. */
  base?: bigint;
  /** Name used in error messages, default "input.s". */
  fileName?: string;
}

/** One loadable piece of the program (one per non-empty section). */
export interface AsmSegment {
  /** Section name, e.g. ".text". */
  name: string;
  vaddr: bigint;
  /** File contents (empty for .bss). */
  bytes: Uint8Array;
  /** Size in memory (>= bytes.length; the rest is zero). */
  memsz: number;
  /** "rx", "r", "rw" (or "rwx" for a section declared so). */
  flags: string;
}

/** What the assemble functions produce. */
export interface AsmResult {
  /** The ELF64 executable. */
  elf: Uint8Array;
  /** `_start` if defined, else the start of .text. */
  entry: bigint;
  /** Every named label and `.equ` constant (numeric local labels excluded). */
  symbols: Map<string, bigint>;
  segments: AsmSegment[];
}

/**
 * Packages an assembly as an ELF64 executable for `machine` (e_machine) with e_flags `flags`:
 * one PT_LOAD per non-empty section (vaddr = paddr), symbols except `.L` locals.
 */
export function toResult(asm: Assembly, machine: number, flags = 0): AsmResult {
  const placed = asm.sections.filter((s) => s.size > 0);
  const segments: AsmSegment[] = placed.map((s) => ({
    name: s.name, vaddr: s.addr, bytes: asm.bytes.get(s)!, memsz: s.size, flags: s.flags,
  }));
  const elfSymbols = asm.symbols
    .filter((s) => !s.name.startsWith(".L"))
    .map((s) => {
      const index = s.section ? placed.indexOf(s.section) : -1;
      return { name: s.name, value: s.value, segment: index >= 0 ? index : undefined, global: s.global, type: s.type };
    });
  const elf = writeElf64({ machine, entry: asm.entry, flags, segments, symbols: elfSymbols });
  return { elf, entry: asm.entry, symbols: new Map(asm.symbols.map((s) => [s.name, s.value])), segments };
}

/**
 * The memory image from `base` to the end of the last segment, laid out as in the ELF: gaps
 * between sections and .bss are zero.
 */
export function flatImage(segments: readonly AsmSegment[], base: bigint): Uint8Array {
  const end = segments.reduce((e, s) => (s.vaddr + BigInt(s.memsz) > e ? s.vaddr + BigInt(s.memsz) : e), base);
  const image = new Uint8Array(Number(end - base));
  for (const s of segments) image.set(s.bytes, Number(s.vaddr - base));
  return image;
}
