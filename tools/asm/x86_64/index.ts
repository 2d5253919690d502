/**
 * x86-64 assembler, GNU AT&T syntax, producing ELF64 executables for MultiOS guests.
 *
 * Output matches GNU `as --64` (2.40) followed by `ld`, byte for byte: the same instruction
 * forms (imm8 vs imm32, displacement sizes, REX and prefix order), jump relaxation and nop
 * padding (see test/reference/asm-x86_64-gnu.test.ts).
 *
 * Layout: sections in the order .text, .rodata, .data, .bss, then others in order of first use;
 * the first at `base` (default 0x10_0000, 1 MiB: the usual load address above the legacy
 * low-memory hole), each next one on the next 4 KiB boundary; one PT_LOAD per non-empty
 * section, vaddr = paddr.
 *
 * @example
 *   const { elf, entry } = assembleX86_64(`
 *     .globl _start
 *   _start:
 *     mov $42, %edi
 *     hlt
 *   `);
 */
import { assemble } from "../common/assembler.js";
import { type AsmOptions, type AsmResult, flatImage, toResult } from "../common/output.js";
import { EM_X86_64 } from "../elf-writer.js";
import { createX86_64 } from "./arch.js";

/** The error every assembly problem is reported with. */
export { AsmError } from "../common/errors.js";
/** Every mnemonic the assembler accepts (without size suffixes), sorted. */
export { mnemonics } from "./instructions.js";
/** Options and result shapes, shared by every architecture's assembler. */
export type { AsmOptions, AsmResult, AsmSegment } from "../common/output.js";

/** Default start of the first section: 1 MiB, above the PC's legacy hole (0xA0000–0xFFFFF). */
export const DEFAULT_BASE = 0x10_0000n;

/**
 * Assembles `source` into an ELF64 x86-64 executable.
 * @throws AsmError with message `file:line: what is wrong` for any error in the source.
 */
export function assembleX86_64(source: string, opts: AsmOptions = {}): AsmResult {
  const asm = assemble(source, opts.fileName ?? "input.s", opts.base ?? DEFAULT_BASE, createX86_64());
  return toResult(asm, EM_X86_64);
}

/**
 * Assembles `source` and returns the memory image from `base` to the end of the last section,
 * laid out as in the ELF: gaps between sections and .bss are zero. Handy for tests.
 * @throws AsmError as assembleX86_64.
 */
export function assembleX86_64Raw(source: string, base: bigint = DEFAULT_BASE): Uint8Array {
  return flatImage(assembleX86_64(source, { base }).segments, base);
}
