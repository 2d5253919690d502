/**
 * The contract between the architecture-neutral assembler driver (assembler.ts) and one
 * instruction set. The driver owns everything GNU as does the same way on every target:
 * statements, labels (named, numeric `1:`/`1b`/`1f`, `.`), expressions, `.equ`, sections and
 * their fragments, directives, `.rept`, layout, fixup bookkeeping, data fixups, errors with
 * `file:line`, and the symbol table. An architecture supplies:
 *
 *  - its syntax: comment characters, relocation operator style and names (`syntax`);
 *  - extra or overriding directives (`directives`, e.g. RISC-V `.option`, x86 `.code64`);
 *  - `instruction`: parse the operand text and emit bytes through an EmitContext, adding fixups
 *    for values not known yet and relaxable fragments for instructions whose size depends on
 *    distances;
 *  - `relaxSize`/`renderRelax` for those fragments (GNU-compatible branch relaxation);
 *  - `applyFixup` for its instruction fixup kinds (data fixups `d1`..`d8` are common);
 *  - `padCode`: the bytes of alignment padding in code (nops).
 *
 * An Architecture object may hold per-assembly state (RISC-V keeps `.option rvc` in it), so
 * make a fresh one for each assembly.
 *
 * @example a minimal architecture with one fixed instruction
 *   const toy: Architecture = {
 *     syntax: { comments: HASH_COMMENTS, modifiers: "none", expr: PLAIN_EXPRESSIONS },
 *     codeAlignGranule: () => 1,
 *     padCode: (out, at, size) => out.fill(0x90, at, at + size),
 *     instruction: (m, args, ctx) => { if (m !== "nop") fail(`unknown instruction \`${m}'`); ctx.emit(0x90, 1); },
 *     relaxSize: () => { throw new Error("no relaxation"); },
 *     renderRelax: () => { throw new Error("no relaxation"); },
 *     applyFixup: (fx) => fail(`unexpected fixup ${fx.kind}`),
 *   };
 */
import type { DirectiveHandler, DirectiveHost } from "./directives.js";
import type { Expr, ExprSyntax, Lookup, NameHook, Val } from "./expr.js";
import type { ModifierStyle } from "./lexer.js";
import type { Fixup, FixupKind, Section } from "./sections.js";
import type { CommentSyntax } from "./source.js";

/** The lexical conventions of an architecture. */
export interface ArchSyntax {
  comments: CommentSyntax;
  /** How relocation operators are written (`%hi(x)`: "percent", `:lo12:x`: "colon"). */
  modifiers: ModifierStyle;
  /** Relocation operator names and their constant evaluation. */
  expr: ExprSyntax;
}

/** A request to patch the bytes being emitted once addresses are final. */
export interface FixupSpec {
  /** The architecture's fixup kind, passed back to Architecture.applyFixup. */
  kind: FixupKind;
  /** The value to patch in (evaluated with final addresses). */
  expr: Expr;
  /** A fixup emitted earlier that this one depends on (RISC-V: %pcrel_lo -> its auipc). */
  pair?: FixupRef;
}

/** Opaque handle of an emitted fixup. */
export interface FixupRef {
  readonly fixupId: number;
}

/** What an architecture's instruction encoder may do. Implemented by the driver. */
export interface EmitContext {
  /** The value of `e` if it is already a constant (symbols defined, no unknown addresses). */
  constValue(e: Expr): bigint | undefined;
  /** Parses one expression (with the architecture's syntax and the driver's symbol handling). */
  parseExpr(text: string): Expr;
  /** Maps identifiers and local label references to expression nodes (for custom parsers). */
  readonly nameHook: NameHook;
  /**
   * Appends the low `size` bytes of `value`, little-endian, to the current section; `fix`, if
   * given, is recorded at the first of those bytes.
   */
  emit(value: number | bigint, size: number, fix?: FixupSpec): FixupRef;
  /** Appends a relaxable fragment: its size is decided by Architecture.relaxSize during layout. */
  relax(spec: unknown): void;
  /** The section being assembled into. */
  readonly section: Section;
}

/** Where a fixup or relaxable fragment lands, for Architecture.applyFixup and renderRelax. */
export interface PatchSite {
  /** The section's rendered bytes. */
  out: Uint8Array;
  /** Offset of the patched bytes in `out`. */
  at: number;
  /** Final address of the patched bytes. */
  pc: bigint;
  /** Evaluates an expression to its final absolute value. @throws SourceError when it cannot. */
  value(e: Expr): bigint;
}

/** One instruction set plugged into the common driver. */
export interface Architecture {
  readonly syntax: ArchSyntax;
  /** Directives added to (or replacing) the common ones, by name with the dot, lower case. */
  readonly directives?: ReadonlyMap<string, DirectiveHandler>;
  /**
   * In code sections, `.align` without a fill value to at most this many bytes only records the
   * section alignment and emits nothing (GNU: RISC-V 2 with RVC, 4 without; use 1 to always pad).
   */
  codeAlignGranule(): number;
  /**
   * Whether code sections end padded (with padCode) to their alignment, as GNU as does for
   * RISC-V (not for AArch64). Default false.
   */
  readonly padCodeSectionEnds?: boolean;
  /** Writes `size` bytes of alignment padding at `out[at]` in a code section (nops). */
  padCode(out: Uint8Array, at: number, size: number): void;
  /**
   * Assembles one instruction. `mnemonic` is lower case; `args` is the operand text as written.
   * @throws SourceError for anything wrong (the driver adds file and line).
   */
  instruction(mnemonic: string, args: string, ctx: EmitContext): void;
  /**
   * Size of relaxable fragment `spec` at section offset `at` whose target evaluated to `target`
   * (an offset in section `target.base`, absolute when base is null, undefined when unknown).
   * Called repeatedly until sizes settle; sizes may only grow after many passes.
   */
  relaxSize(spec: unknown, at: number, target: Val | undefined, sec: Section): number;
  /** The target expression of relaxable fragment `spec`, which relaxSize measures to. */
  relaxTarget(spec: unknown): Expr;
  /** Renders relaxable fragment `spec` of `size` bytes at `site`. */
  renderRelax(spec: unknown, size: number, site: PatchSite): void;
  /**
   * Called once after the last statement, before layout: may still emit into sections through
   * the host (AArch64 flushes its literal pools here). Symbols it needs can be named with
   * `internalSymbol` and defined with `host.defineSymbol(name, host.expr("."), true)`.
   */
  endOfInput?(host: DirectiveHost): void;
  /** Called once addresses are final, before any fixup is applied (RISC-V indexes its auipcs). */
  beforeRender?(sections: readonly Section[], lookup: Lookup): void;
  /** Patches an instruction fixup (kind other than d1..d8) at `site`. */
  applyFixup(fx: Fixup, site: PatchSite): void;
}
