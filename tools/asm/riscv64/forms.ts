/**
 * The shape of the instruction tables and the helpers their rows use.
 *
 * Every mnemonic maps to an ordered list of forms, tried first to last, like the GNU opcode
 * table: compressed candidates come first and only apply while `.option rvc` is in effect; the
 * first form whose operand signature matches and whose `emit` does not decline wins.
 */
import type { FixupRef, FixupSpec as CommonFixupSpec } from "../common/arch.js";
import { fail } from "../common/errors.js";
import { type Expr, hasReloc } from "../common/expr.js";

/** A parsed operand. */
export type Operand =
  | { kind: "reg"; reg: number; text: string }
  | { kind: "expr"; expr: Expr; text: string }
  /** `offset(base)`; a bare `(base)` has offset 0. */
  | { kind: "mem"; offset: Expr; base: number; text: string };

/** How a not-yet-known value is patched into an instruction once addresses are final. */
export type FixupKind =
  | "i12" | "s12" | "u20"
  | "hi20" | "lo12i" | "lo12s"
  | "pcrel_hi20" | "pcrel_lo12i" | "pcrel_lo12s";

/**
 * A request to patch the word being emitted. `expr` is the target value (for pcrel_lo: the label
 * of the auipc, unless `pair` names the auipc fixup a pseudo-instruction emitted).
 */
export interface FixupSpec extends CommonFixupSpec {
  kind: FixupKind;
}

/** Opaque handle of an emitted fixup. */
export type { FixupRef };

/** A relaxable branch or jump to `target` (GNU as sizes it 2, 4, 6 or 8 bytes by distance). */
export interface BranchSpec {
  /** Conditional branch fields, or null for a jump (jal). */
  cond: { f3: number; rs1: number; rs2: number } | null;
  /** Link register of a jump (0 for `j`). */
  link?: number;
  /** The compressed form (c.beqz/c.bnez/c.j) was selected and may be kept when in reach. */
  rvc: boolean;
  target: Expr;
}

/** What instruction forms may do. Implemented by the assembler driver. */
export interface InsnContext {
  /** Whether `.option rvc` is in effect. */
  readonly rvc: boolean;
  /** The value of `e` if it is already a constant (symbols defined, no unknown addresses). */
  constValue(e: Expr): bigint | undefined;
  emit32(word: number, fix?: FixupSpec): FixupRef;
  emit16(half: number): void;
  branch(spec: BranchSpec): void;
  /** Assembles another instruction through the tables (pseudo-instruction expansion). */
  insn(mnemonic: string, ops: Operand[]): void;
}

/** One way of writing a mnemonic. */
export interface Form {
  /**
   * Operand kinds, comma separated: `r` register, `i` expression (immediate, symbol, CSR or
   * fence set), `m` memory `offset(base)`. Empty for no operands.
   */
  readonly sig: string;
  /** Compressed candidate: skipped under `.option norvc`. */
  readonly rvc?: boolean;
  /** Emits the instruction; returns false (emitting nothing) to let the next form try. */
  readonly emit: (ops: Operand[], ctx: InsnContext) => boolean | void;
}

/** The signature string of a list of operands, to compare with Form.sig. */
export function signature(ops: Operand[]): string {
  return ops.map((o) => (o.kind === "reg" ? "r" : o.kind === "expr" ? "i" : "m")).join(",");
}

/** Register number of operand i (the signature has been checked). */
export function reg(ops: Operand[], i: number): number {
  const o = ops[i]!;
  if (o.kind !== "reg") throw new Error(`operand ${i} is not a register`);
  return o.reg;
}

/** Expression of operand i, or the offset of a memory operand. */
export function expr(ops: Operand[], i: number): Expr {
  const o = ops[i]!;
  if (o.kind === "reg") throw new Error(`operand ${i} is a register`);
  return o.kind === "mem" ? o.offset : o.expr;
}

/** Base register of memory operand i. */
export function base(ops: Operand[], i: number): number {
  const o = ops[i]!;
  if (o.kind !== "mem") throw new Error(`operand ${i} is not a memory operand`);
  return o.base;
}

/**
 * Constant value of operand i (expression or memory offset) for a compressed candidate, or
 * undefined if not known yet. Like GNU as, an operand written with a relocation operator
 * (`%lo(0x123)`) never selects a compressed form, even when its value is known.
 */
export function constOf(ctx: InsnContext, ops: Operand[], i: number): bigint | undefined {
  const e = expr(ops, i);
  return hasReloc(e) ? undefined : ctx.constValue(e);
}

/**
 * True when v is a known constant in [lo, hi], a multiple of `step`, and non-zero if asked:
 * the test compressed forms use on their immediates.
 */
export function fits(v: bigint | undefined, lo: number, hi: number, step = 1, nonzero = false): v is bigint {
  return v !== undefined && v >= BigInt(lo) && v <= BigInt(hi) && v % BigInt(step) === 0n && !(nonzero && v === 0n);
}

/** Returns v as a number after checking it lies in [lo, hi]; fails naming the value and range. */
export function checkRange(v: bigint, lo: number, hi: number, what = "immediate"): number {
  if (v < BigInt(lo) || v > BigInt(hi)) fail(`${what} ${v} out of range [${lo}, ${hi}]`);
  return Number(v);
}

/** A known 12-bit I-type immediate, or a fixup for `%lo(sym)`, `%pcrel_lo(label)` or a later constant. */
export function iField(ctx: InsnContext, e: Expr): { imm: number; fix?: FixupSpec } {
  const v = ctx.constValue(e);
  if (v !== undefined) return { imm: checkRange(v, -2048, 2047) };
  if (e.k === "mod") {
    if (e.fn === "lo") return { imm: 0, fix: { kind: "lo12i", expr: e.a } };
    if (e.fn === "pcrel_lo") return { imm: 0, fix: { kind: "pcrel_lo12i", expr: e.a } };
    fail(`%${e.fn} is not allowed in a 12-bit immediate`);
  }
  return { imm: 0, fix: { kind: "i12", expr: e } };
}

/** Like iField, for the split immediate of stores. */
export function sField(ctx: InsnContext, e: Expr): { imm: number; fix?: FixupSpec } {
  const v = ctx.constValue(e);
  if (v !== undefined) return { imm: checkRange(v, -2048, 2047) };
  if (e.k === "mod") {
    if (e.fn === "lo") return { imm: 0, fix: { kind: "lo12s", expr: e.a } };
    if (e.fn === "pcrel_lo") return { imm: 0, fix: { kind: "pcrel_lo12s", expr: e.a } };
    fail(`%${e.fn} is not allowed in a 12-bit immediate`);
  }
  return { imm: 0, fix: { kind: "s12", expr: e } };
}

/** The 20-bit field of lui/auipc: a constant in [0, 0xfffff], `%hi(sym)` or `%pcrel_hi(sym)`. */
export function uField(ctx: InsnContext, e: Expr): { imm: number; fix?: FixupSpec } {
  const v = ctx.constValue(e);
  if (v !== undefined) return { imm: checkRange(v, 0, 0xfffff) };
  if (e.k === "mod") {
    if (e.fn === "hi") return { imm: 0, fix: { kind: "hi20", expr: e.a } };
    if (e.fn === "pcrel_hi") return { imm: 0, fix: { kind: "pcrel_hi20", expr: e.a } };
    fail(`%${e.fn} is not allowed in a 20-bit immediate`);
  }
  return { imm: 0, fix: { kind: "u20", expr: e } };
}

/** A constant that must be known when the line is assembled (shift amounts, CSR numbers...). */
export function mustConst(ctx: InsnContext, e: Expr, what: string): bigint {
  const v = ctx.constValue(e);
  if (v === undefined) fail(`${what} must be a constant defined before this line`);
  return v;
}

/** A register operand built by a pseudo-instruction expansion. */
export const R = (reg: number): Operand => ({ kind: "reg", reg, text: `x${reg}` });
/** A constant operand built by a pseudo-instruction expansion. */
export const N = (v: bigint): Operand => ({ kind: "expr", expr: { k: "num", v }, text: String(v) });
