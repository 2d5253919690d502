/**
 * The architecture-neutral core of the MultiOS guest assemblers (GNU `as` syntax). An
 * instruction set plugs in by implementing `Architecture` (arch.ts) and calling `assemble`,
 * then `toResult` for the ELF executable:
 *
 * @example
 *   import { assemble, toResult, type Architecture } from "../common/index.js";
 *   export function assembleToy(source: string, opts: AsmOptions = {}): AsmResult {
 *     const asm = assemble(source, opts.fileName ?? "input.s", opts.base ?? 0x1000n, createToy());
 *     return toResult(asm, EM_TOY);
 *   }
 *
 * What the driver provides (every architecture gets it for free): statements and comments
 * (CommentSyntax), labels including numeric locals `1:`/`1b`/`1f` and `.`, `name = expr`,
 * expressions with GNU precedence (evaluate/parseExpression), the common directives (.text
 * .data .rodata .bss .section .pushsection .popsection .previous .byte .hword/.half/.short
 * .word/.long .quad/.dword .ascii .asciz/.string .zero/.space/.skip .fill .align/.p2align
 * .balign .org .equ/.set/.equiv .globl/.global/.weak .local .type .comm .lcomm, ignored
 * .size/.file/.cfi_*...; `.rept`/`.endr`, `.end`, `.macro`/`.endm`, `.if`... `.endif` (blocks.ts)),
 * sections and fragments, relaxation passes, section placement (4 KiB
 * apart from `base`), data fixups, `file:line: message` errors (AsmError), symbols, entry point.
 *
 * Errors: throw SourceError (or call `fail`) from anything that runs for one statement; the driver
 * adds file and line. During rendering, errors name the line of the fixup or fragment.
 */
export type { Architecture, ArchSyntax, EmitContext, FixupRef, FixupSpec, PatchSite } from "./arch.js";
export { assemble, type Assembly, internalSymbol, type SymbolInfo } from "./assembler.js";
export { alignment, data, type DirectiveHandler, type DirectiveHost, DIRECTIVES } from "./directives.js";
export { AsmError, fail, LineError, SourceError } from "./errors.js";
export {
  evaluate, type Expr, type ExprSyntax, hasReloc, type Lookup, type NameHook, parseExpr, PLAIN_EXPRESSIONS, type RelocOp,
  TokenStream, type Val,
} from "./expr.js";
export { type ModifierStyle, type Token, tokenize } from "./lexer.js";
export { exprFromTokens, parseExpression, splitArgs } from "./operands.js";
export { type AsmOptions, type AsmResult, type AsmSegment, flatImage, toResult } from "./output.js";
export { finalValue } from "./render.js";
export type { Fixup, FixupKind, Frag, Label, Section } from "./sections.js";
export { type CommentSyntax, HASH_COMMENTS, splitStatements, type Statement } from "./source.js";
