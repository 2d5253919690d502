/**
 * What the instruction encoders share: the handler shape, operand accessors with the checks GNU
 * makes (register width, SP versus ZR), constants and range checks.
 */
import type { EmitContext, FixupSpec } from "../common/arch.js";
import { fail } from "../common/errors.js";
import type { Expr } from "../common/expr.js";
import type { LiteralPools } from "./literals.js";
import type { Mem, Modifier, Operand } from "./operands.js";
import { CONDITIONS, type Reg, regName } from "./registers.js";

/** Fixup kinds of the A64 layer (see fixups.ts). */
export type A64Fixup =
  | "b26" | "b19" | "b14" | "adr" | "adrp" | "add_lo12"
  | "ldst_lo12_0" | "ldst_lo12_1" | "ldst_lo12_2" | "ldst_lo12_3" | "ldst_lo12_4"
  | "movw0" | "movw1" | "movw2" | "movw3" | "movw0_nc" | "movw1_nc" | "movw2_nc"
  /** The whole instruction is encoded again once addresses are final (see NotYetKnown). */
  | "deferred";

/** The encoder's view of the driver. */
export interface Asm {
  readonly ctx: EmitContext;
  /** The literal pools of this assembly (`ldr Rt, =value`). */
  readonly pools: LiteralPools;
  /** Emits one instruction word, with an optional fixup of the A64 kinds. */
  emit(word: number, fix?: { kind: A64Fixup; expr: Expr }): void;
}

/** An instruction handler: encodes `ops` for mnemonic `m` (lower case). */
export type Handler = (ops: Operand[], a: Asm, m: string) => void;

/** Makes the Asm of one statement. */
export function makeAsm(ctx: EmitContext, pools: LiteralPools): Asm {
  return { ctx, pools, emit: (word, fix) => { ctx.emit(word >>> 0, 4, fix as FixupSpec | undefined); } };
}

/** Fails unless there are exactly `n` operands (or one of the counts in `n`). */
export function count(ops: Operand[], ...n: number[]): void {
  if (!n.includes(ops.length)) fail(`expected ${n.join(" or ")} operand${n.length === 1 && n[0] === 1 ? "" : "s"}, got ${ops.length}`);
}

/** Register operand i, any kind. */
export function anyReg(ops: Operand[], i: number): Reg {
  const o = ops[i];
  if (o?.k !== "reg") fail(`operand ${i + 1} must be a register${o ? `, not \`${o.text}'` : ""}`);
  return o.r;
}

/** Register operand i where 31 means ZR (SP is an error). */
export function rz(ops: Operand[], i: number): Reg {
  const r = anyReg(ops, i);
  if (r.sp) fail(`operand ${i + 1}: ${regName(r)} is not allowed here (31 is the zero register)`);
  return r;
}

/** Register operand i where 31 means SP (XZR/WZR is an error). */
export function rsp(ops: Operand[], i: number): Reg {
  const r = anyReg(ops, i);
  if (r.num === 31 && !r.sp) fail(`operand ${i + 1}: ${regName(r)} is not allowed here (31 is the stack pointer)`);
  return r;
}

/** Fails unless every register in `regs` has the width `x`. */
export function sameWidth(x: boolean, ...regs: Reg[]): void {
  for (const r of regs) if (r.x !== x) fail(`${regName(r)}: expected ${x ? "an X" : "a W"} register`);
}

/** Immediate operand i (its expression). */
export function imm(ops: Operand[], i: number): Expr {
  const o = ops[i];
  if (o?.k !== "imm") fail(`operand ${i + 1} must be an immediate${o ? `, not \`${o.text}'` : ""}`);
  return o.e;
}

/**
 * Thrown (by `later`) when an immediate that GNU resolves at the end of assembly is not known
 * yet: the instruction is then encoded again, from scratch, once addresses are final.
 */
export class NotYetKnown extends Error {
  override name = "NotYetKnown";
}

/**
 * An immediate GNU lets depend on labels defined later (add/sub, mov, logical and load/store
 * offsets): its value if known, else NotYetKnown so the whole instruction is deferred.
 */
export function later(a: Asm, e: Expr): bigint {
  const v = a.ctx.constValue(e);
  if (v === undefined) throw new NotYetKnown();
  return v;
}

/** A constant that must be known on this line. */
export function constant(a: Asm, e: Expr, what = "immediate"): bigint {
  const v = a.ctx.constValue(e);
  if (v === undefined) fail(`${what} must be a constant defined before this line`);
  return v;
}

/** Constant immediate operand i, checked against [lo, hi]. */
export function immIn(a: Asm, ops: Operand[], i: number, lo: number, hi: number, what = "immediate"): number {
  return inRange(constant(a, imm(ops, i), what), lo, hi, what);
}

/** Checks v in [lo, hi] and returns it as a number. */
export function inRange(v: bigint, lo: number, hi: number, what = "immediate"): number {
  if (v < BigInt(lo) || v > BigInt(hi)) fail(`${what} ${v} out of range [${lo}, ${hi}]`);
  return Number(v);
}

/** The amount of a modifier (0 when not written), a constant in [0, max]. */
export function modAmount(a: Asm, m: Modifier, max: number): number {
  return m.amount === undefined ? 0 : inRange(constant(a, m.amount, "shift amount"), 0, max, "shift amount");
}

/** Memory operand i. */
export function memAt(ops: Operand[], i: number): Mem {
  const o = ops[i];
  if (o?.k !== "mem") fail(`operand ${i + 1} must be a memory operand${o ? `, not \`${o.text}'` : ""}`);
  return o.mem;
}

/** Condition code operand i (by name). */
export function cond(ops: Operand[], i: number): number {
  const o = ops[i];
  const c = o?.k === "imm" ? CONDITIONS.get(o.text.toLowerCase()) : undefined;
  if (c === undefined) fail(`operand ${i + 1} must be a condition code${o ? `, not \`${o.text}'` : ""}`);
  return c;
}

/** The sf bit (1 for X) of a register. */
export const sf = (r: Reg): number => (r.x ? 1 : 0);

/** The relocation operator an immediate is written with (`:lo12:sym` -> "lo12"), if any. */
export function relocOf(e: Expr): { fn: string; a: Expr } | undefined {
  return e.k === "mod" ? { fn: e.fn, a: e.a } : undefined;
}
