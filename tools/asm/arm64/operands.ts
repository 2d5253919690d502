/**
 * AArch64 operands in GNU syntax: registers, immediates (`#expr` or a bare expression, with
 * `:lo12:`-style relocation operators), shift and extend modifiers (`lsl #12`, `sxtw #2`), and
 * memory operands `[Xn|SP{, #imm}]`, `[Xn|SP, #imm]!`, `[Xn|SP], #imm`,
 * `[Xn|SP, Xm|Wm{, extend|lsl {#amount}}]`. Names such as condition codes, system registers and
 * barrier options are immediates whose `text` the instruction reads.
 */
import type { EmitContext } from "../common/arch.js";
import { fail } from "../common/errors.js";
import type { Expr } from "../common/expr.js";
import { splitArgs } from "../common/operands.js";
import { parseReg, type Reg } from "./registers.js";

/** Shift operators of shifted-register operands. */
export type ShiftOp = "lsl" | "lsr" | "asr" | "ror";
/** Extend operators of extended-register operands (option field values 0..7, in order). */
export const EXTENDS = ["uxtb", "uxth", "uxtw", "uxtx", "sxtb", "sxth", "sxtw", "sxtx"] as const;
export type ExtendOp = (typeof EXTENDS)[number];

/** A shift or extend modifier: `lsl #3`, `sxtw`, `uxtw #2`. */
export interface Modifier {
  op: ShiftOp | ExtendOp;
  /** The amount, or undefined when none was written. */
  amount: Expr | undefined;
}

/** A parsed operand; `text` is as written (trimmed). */
export type Operand =
  | { k: "reg"; r: Reg; text: string }
  /** `#expr` or a bare expression (also names: condition codes, system registers...). */
  | { k: "imm"; e: Expr; text: string }
  | { k: "mod"; m: Modifier; text: string }
  /** `=expr`: a literal-pool constant (`ldr Rt, =value`). */
  | { k: "lit"; e: Expr; text: string }
  | { k: "mem"; mem: Mem; text: string };

/** A memory operand. */
export interface Mem {
  base: Reg;
  /** "off": [base{, #off}]; "pre": [base, #off]!; "post": [base], #off; "reg": [base, index{, mod}]. */
  mode: "off" | "pre" | "post" | "reg";
  /** Offset (undefined when not written: [base]). */
  off?: Expr;
  index?: Reg;
  mod?: Modifier;
}

const MODIFIERS = new Set<string>(["lsl", "lsr", "asr", "ror", ...EXTENDS]);

/** Strips a leading `#` from an immediate. */
const stripHash = (t: string): string => (t.startsWith("#") ? t.slice(1).trim() : t);

function parseModifier(text: string, ctx: EmitContext): Modifier | undefined {
  const m = /^([A-Za-z]+)(?:\s+(.*))?$/.exec(text);
  if (!m || !MODIFIERS.has(m[1]!.toLowerCase())) return undefined;
  const op = m[1]!.toLowerCase() as Modifier["op"];
  const rest = m[2]?.trim();
  return { op, amount: rest ? ctx.parseExpr(stripHash(rest)) : undefined };
}

function parseMem(text: string, ctx: EmitContext): Mem {
  const close = text.lastIndexOf("]");
  if (close < 0) fail(`missing \`]' in \`${text}'`);
  const after = text.slice(close + 1).trim();
  if (after !== "" && after !== "!") fail(`unexpected \`${after}' after \`]'`);
  const parts = splitArgs(text.slice(1, close));
  const base = parseReg(parts[0] ?? "");
  if (!base || !base.x || (base.num === 31 && !base.sp)) fail(`base register must be an X register or SP, not \`${parts[0] ?? ""}'`);
  if (parts.length > 3) fail(`too many parts in \`${text}'`);
  const second = parts[1];
  if (second === undefined) {
    if (after === "!") fail("pre-index needs an offset");
    return { base, mode: "off" };
  }
  const index = parseReg(second);
  if (index) {
    if (after === "!") fail("register offset cannot be written back");
    if (index.sp) fail("the index register cannot be SP");
    const modText = parts[2];
    const mod = modText === undefined ? undefined : parseModifier(modText, ctx);
    if (modText !== undefined && !mod) fail(`bad index modifier \`${modText}'`);
    return { base, mode: "reg", index, mod };
  }
  if (parts.length > 2) fail(`unexpected \`${parts[2]}'`);
  return { base, mode: after === "!" ? "pre" : "off", off: ctx.parseExpr(stripHash(second)) };
}

function parseOperand(text: string, ctx: EmitContext): Operand {
  if (text === "") fail("empty operand");
  if (text.startsWith("[")) return { k: "mem", mem: parseMem(text, ctx), text };
  if (text.startsWith("=")) return { k: "lit", e: ctx.parseExpr(text.slice(1)), text };
  const r = parseReg(text);
  if (r) return { k: "reg", r, text };
  const m = parseModifier(text, ctx);
  if (m) return { k: "mod", m, text };
  return { k: "imm", e: ctx.parseExpr(stripHash(text)), text };
}

/**
 * Parses an instruction's operand text. A `[Xn]` followed by a final immediate becomes one
 * post-indexed memory operand.
 * @throws SourceError on malformed operands.
 */
export function parseOperands(text: string, ctx: EmitContext): Operand[] {
  const ops = splitArgs(text).map((part) => parseOperand(part, ctx));
  const n = ops.length;
  const mem = ops[n - 2], imm = ops[n - 1];
  if (n >= 2 && mem?.k === "mem" && mem.mem.mode === "off" && mem.mem.off === undefined && !mem.text.endsWith("!") && imm?.k === "imm") {
    ops.splice(n - 2, 2, { k: "mem", mem: { base: mem.mem.base, mode: "post", off: imm.e }, text: `${mem.text}, ${imm.text}` });
  }
  return ops;
}
