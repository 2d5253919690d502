/**
 * AArch64 assembler, GNU `as` syntax, producing ELF64 EM_AARCH64 executables for MultiOS
 * guests. The `.text` bytes match `aarch64-linux-gnu-as` (linked at the same addresses) for
 * every instruction it accepts (test/reference/asm-arm64-gnu.test.ts).
 *
 * Layout: sections in the order .text, .rodata, .data, .bss, then others in order of first use;
 * the first at `base` (default 0x4008_0000), each next one on the next 4 KiB boundary; one
 * PT_LOAD per non-empty section, vaddr = paddr. QEMU `virt -kernel` loads an ELF at its own
 * p_paddr, and 0x4008_0000 is where it would put a raw Image (RAM starts at 0x4000_0000, the DTB
 * goes at its start).
 *
 * @example
 *   const { elf, entry } = assembleArm64(`
 *     .globl _start
 *   _start:
 *     mov x0, #42
 *     hvc #0
 *   `);
 */
import { assemble } from "../common/assembler.js";
import { type AsmOptions, type AsmResult, flatImage, toResult } from "../common/output.js";
import { EM_AARCH64 } from "../elf-writer.js";
import { createArm64, INSTRUCTIONS } from "./arch.js";

/** The error every assembly problem is reported with. */
export { AsmError } from "../common/errors.js";
/** Options and result shapes, shared by every architecture's assembler. */
export type { AsmOptions, AsmResult, AsmSegment } from "../common/output.js";

/** Default start of the first section: 0x4008_0000, 512 KiB into QEMU virt RAM. */
export const DEFAULT_BASE = 0x4008_0000n;

/** Every mnemonic the assembler accepts, sorted. */
export function mnemonics(): string[] {
  return [...INSTRUCTIONS.keys()].sort();
}

/**
 * Assembles `source` into an ELF64 AArch64 executable.
 * @throws AsmError with message `file:line: what is wrong` for any error in the source.
 */
export function assembleArm64(source: string, opts: AsmOptions = {}): AsmResult {
  const asm = assemble(source, opts.fileName ?? "input.s", opts.base ?? DEFAULT_BASE, createArm64());
  return toResult(asm, EM_AARCH64);
}

/**
 * Assembles `source` and returns the memory image from `base` to the end of the last section,
 * laid out as in the ELF: gaps between sections and .bss are zero. Handy for tests.
 * @throws AsmError as assembleArm64.
 */
export function assembleArm64Raw(source: string, base: bigint = DEFAULT_BASE): Uint8Array {
  return flatImage(assembleArm64(source, { base }).segments, base);
}
