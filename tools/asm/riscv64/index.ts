/**
 * RV64 assembler, GNU `as` syntax, producing ELF64 executables for MultiOS guests.
 *
 * Output matches `riscv64-linux-gnu-as -march=rv64imac_zicsr_zifencei -mno-relax` followed by
 * `ld --no-relax`, byte for byte: the same compression choices, `li` expansions and branch
 * relaxation (see test/reference/asm-riscv64.test.ts).
 *
 * Layout: sections in the order .text, .rodata, .data, .bss, then others in order of first use;
 * the first at `base`, each next one on the next 4 KiB boundary (so segment permissions are
 * page-granular); one PT_LOAD per non-empty section, vaddr = paddr.
 *
 * @example
 *   const { elf, entry } = assembleRiscv64(`
 *     .globl _start
 *   _start:
 *     li a0, 42
 *     ecall
 *   `);
 */
import { EM_RISCV, writeElf64 } from "../elf-writer.js";
import { assemble } from "./assembler.js";

/** The error every assembly problem is reported with. */
export { AsmError } from "./errors.js";
/** Every mnemonic the assembler accepts, sorted. */
export { mnemonics } from "./instructions.js";

/** Default start of the first section: where RAM begins on the MultiOS (and QEMU virt) RISC-V machine. */
export const DEFAULT_BASE = 0x8000_0000n;

/** ELF e_flags: EF_RISCV_RVC (the C extension is enabled), soft-float ABI (lp64). */
const EF_RISCV_RVC = 0x1;

/** Options of assembleRiscv64. */
export interface AsmOptions {
  /** Start of the first section, default 0x8000_0000n. */
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

/** What assembleRiscv64 produces. */
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
 * Assembles `source` into an ELF64 RISC-V executable.
 * @throws AsmError with message `file:line: what is wrong` for any error in the source.
 */
export function assembleRiscv64(source: string, opts: AsmOptions = {}): AsmResult {
  const asm = assemble(source, opts.fileName ?? "input.s", opts.base ?? DEFAULT_BASE);
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
  const elf = writeElf64({ machine: EM_RISCV, entry: asm.entry, flags: EF_RISCV_RVC, segments, symbols: elfSymbols });
  return { elf, entry: asm.entry, symbols: new Map(asm.symbols.map((s) => [s.name, s.value])), segments };
}

/**
 * Assembles `source` and returns the memory image from `base` to the end of the last section,
 * laid out as in the ELF: gaps between sections and .bss are zero. Handy for tests.
 * @throws AsmError as assembleRiscv64.
 */
export function assembleRiscv64Raw(source: string, base: bigint = DEFAULT_BASE): Uint8Array {
  const { segments } = assembleRiscv64(source, { base });
  const end = segments.reduce((e, s) => (s.vaddr + BigInt(s.memsz) > e ? s.vaddr + BigInt(s.memsz) : e), base);
  const image = new Uint8Array(Number(end - base));
  for (const s of segments) image.set(s.bytes, Number(s.vaddr - base));
  return image;
}
