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
 * The RISC-V layer (arch.ts and the instruction tables) sits on the architecture-neutral driver
 * in tools/asm/common.
 *
 * @example
 *   const { elf, entry } = assembleRiscv64(`
 *     .globl _start
 *   _start:
 *     li a0, 42
 *     ecall
 *   `);
 */
import { assemble } from "../common/assembler.js";
import { type AsmOptions, type AsmResult, flatImage, toResult } from "../common/output.js";
import { EM_RISCV } from "../elf-writer.js";
import { createRiscv64 } from "./arch.js";

/** The error every assembly problem is reported with. */
export { AsmError } from "../common/errors.js";
/** Every mnemonic the assembler accepts, sorted. */
export { mnemonics } from "./instructions.js";
/** Options and result shapes, shared by every architecture's assembler. */
export type { AsmOptions, AsmResult, AsmSegment } from "../common/output.js";

/** Default start of the first section: where RAM begins on the MultiOS (and QEMU virt) RISC-V machine. */
export const DEFAULT_BASE = 0x8000_0000n;

/** ELF e_flags: EF_RISCV_RVC (the C extension is enabled), soft-float ABI (lp64). */
const EF_RISCV_RVC = 0x1;

/**
 * Assembles `source` into an ELF64 RISC-V executable.
 * @throws AsmError with message `file:line: what is wrong` for any error in the source.
 */
export function assembleRiscv64(source: string, opts: AsmOptions = {}): AsmResult {
  const asm = assemble(source, opts.fileName ?? "input.s", opts.base ?? DEFAULT_BASE, createRiscv64());
  return toResult(asm, EM_RISCV, EF_RISCV_RVC);
}

/**
 * Assembles `source` and returns the memory image from `base` to the end of the last section,
 * laid out as in the ELF: gaps between sections and .bss are zero. Handy for tests.
 * @throws AsmError as assembleRiscv64.
 */
export function assembleRiscv64Raw(source: string, base: bigint = DEFAULT_BASE): Uint8Array {
  return flatImage(assembleRiscv64(source, { base }).segments, base);
}
