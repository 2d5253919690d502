/**
 * The shape of the instruction handlers and the helpers they share: operand-size inference from
 * suffixes and registers (as GNU as does it), operand-kind tests and the common error messages.
 */
import type { Imm, InsnSpec, Range } from "./encode.js";
import type { Operand } from "./operands.js";
import { type Expr, fail } from "./shared.js";

/** Operand size in bytes. */
export type Size = 1 | 2 | 4 | 8;

/** Size of each AT&T mnemonic suffix. */
export const SUFFIX_SIZE: Readonly<Record<string, Size>> = { b: 1, w: 2, l: 4, q: 8 };
const SUFFIX_OF: Readonly<Record<Size, string>> = { 1: "b", 2: "w", 4: "l", 8: "q" };

/** A relaxable jump: `cond` is the condition code 0–15 for Jcc, null for JMP. */
export interface BranchSpec {
  cond: number | null;
  target: Expr;
}

/** What instruction handlers may do. Implemented by the assembler driver. */
export interface X86Context {
  /** The value of `e` if it is already a constant. */
  constValue(e: Expr): bigint | undefined;
  /** Appends an encoded instruction. */
  emit(spec: InsnSpec): void;
  /** Appends raw bytes (no fixups). */
  emitBytes(bytes: number[]): void;
  /** Appends a relaxable jump (2 bytes short, 5 or 6 near). */
  branch(spec: BranchSpec): void;
}

/** One instruction as the handler sees it. */
export interface Insn {
  /** The mnemonic's base name (suffix removed), for messages. */
  name: string;
  ops: Operand[];
  /** Size given by the suffix, if any. */
  suffix?: Size;
  /** Prefix bytes written before the mnemonic (`lock`, `rep`...). */
  prefixes: number[];
}

/** A handler assembles one instruction of its group, or throws. */
export type Handler = (insn: Insn, ctx: X86Context) => void;

/** A register operand. */
export type RegOp = Operand & { k: "reg" };
/** A memory operand. */
export type MemOp = Operand & { k: "mem" };
/** An immediate operand. */
export type ImmOp = Operand & { k: "imm" };

export const isGpr = (o: Operand | undefined): o is RegOp => o?.k === "reg" && o.reg.kind === "gpr";
export const isMem = (o: Operand | undefined): o is MemOp => o?.k === "mem";
export const isImm = (o: Operand | undefined): o is ImmOp => o?.k === "imm";
/** A general register or memory operand (ModRM r/m). */
export const isRm = (o: Operand | undefined): o is RegOp | MemOp => isGpr(o) || isMem(o);

/** Fails with GNU's message for operands no form of the instruction accepts. */
export function mismatch(insn: Insn): never {
  fail(`operand type mismatch for \`${insn.name}'`);
}

/** Checks the operand count. */
export function arity(insn: Insn, ...counts: number[]): void {
  if (!counts.includes(insn.ops.length)) fail(`number of operands mismatch for \`${insn.name}'`);
}

/**
 * Operand size from the suffix and the general registers among `ops`, as GNU does: a suffix
 * must agree with every register; without one, the registers must agree with each other.
 * Returns `fallback` when nothing says (GNU warns and uses its default), or fails when that is
 * undefined.
 */
export function operandSize(insn: Insn, ops: Operand[], fallback?: Size): Size {
  const regs = ops.filter(isGpr).map((o) => o.reg);
  if (insn.suffix !== undefined) {
    const bad = regs.find((r) => r.size !== insn.suffix);
    if (bad) fail(`incorrect register \`%${bad.name}' used with \`${SUFFIX_OF[insn.suffix]}' suffix`);
    return insn.suffix;
  }
  const first = regs[0];
  if (first) {
    const bad = regs.find((r) => r.size !== first.size);
    if (bad) fail(`operand size mismatch for \`${insn.name}' (\`%${first.name}' and \`%${bad.name}')`);
    return first.size;
  }
  if (fallback === undefined) fail(`no instruction mnemonic suffix given and no register operands for \`${insn.name}'`);
  return fallback;
}

/**
 * The immediate of an instruction of operand size `size`: as wide as the operand (imm32,
 * sign-extended, for 64-bit operands) unless `immSize` says otherwise; any value of its width
 * is accepted, signed or unsigned, except where the CPU sign-extends it (then signed only).
 */
export function immFor(expr: Expr, size: Size, immSize?: Size): Imm {
  const sz = immSize ?? (size === 8 ? 4 : size);
  const range: Range = size === 8 || sz < size ? "s" : "any";
  return { expr, size: sz, range };
}

/**
 * Whether constant immediate `e` fits a sign-extended imm8 at operand size `size` (GNU picks the
 * imm8 form then): the value is first read as a `size`-byte quantity.
 */
export function fitsImm8(ctx: X86Context, e: Expr, size: Size): boolean {
  const v = ctx.constValue(e);
  if (v === undefined) return false;
  const bits = size * 8;
  if (size < 8 && (v < -(1n << BigInt(bits - 1)) || v >= 1n << BigInt(bits))) return false;
  const n = size === 8 ? v : BigInt.asIntN(bits, v);
  return n >= -128n && n <= 127n;
}

/** The sign-extended imm8 of a constant for which fitsImm8 holds. */
export function imm8(ctx: X86Context, e: Expr, size: Size): Imm {
  const v = ctx.constValue(e)!;
  return { expr: { k: "num", v: BigInt.asIntN(8, size === 8 ? v : BigInt.asIntN(size * 8, v)) }, size: 1, range: "s" };
}

/** The opcode for byte operands (`byteOp`) or wider ones (`byteOp + 1`), the usual x86 pattern. */
export const w = (byteOp: number, size: Size): number => (size === 1 ? byteOp : byteOp + 1);

/** Emits the encoding with the instruction's prefixes. */
export function emit(ctx: X86Context, insn: Insn, spec: InsnSpec): void {
  ctx.emit({ ...spec, prefixes: [...insn.prefixes, ...(spec.prefixes ?? [])] });
}
