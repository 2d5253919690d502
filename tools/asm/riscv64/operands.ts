/** Operand lists: splitting at commas and classifying each operand as register, memory or expression. */
import { fail } from "./errors.js";
import { type Expr, type NameHook, parseExpr, TokenStream } from "./expr.js";
import type { Operand } from "./forms.js";
import { type Token, tokenize } from "./lexer.js";
import { gprNumber } from "./registers.js";

/** Splits `text` at commas outside parentheses, strings and character literals; trims each part. */
export function splitArgs(text: string): string[] {
  if (text.trim() === "") return [];
  const out: string[] = [];
  let depth = 0, start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    } else if (c === "'") {
      i += text[i + 1] === "\\" ? 2 : 1;
      if (text[i + 1] === "'") i++;
    } else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(text.slice(start).trim());
  return out;
}

/** Parses a whole token list as one expression. */
export function exprFromTokens(toks: Token[], hook: NameHook): Expr {
  const ts = new TokenStream(toks);
  const e = parseExpr(ts, hook);
  if (!ts.atEnd()) fail("unexpected text after expression");
  return e;
}

/** Parses `text` as one expression. */
export function parseExpression(text: string, hook: NameHook): Expr {
  if (text.trim() === "") fail("missing expression");
  return exprFromTokens(tokenize(text), hook);
}

const regToken = (t: Token | undefined): number | undefined => (t?.t === "id" ? gprNumber(t.s) : undefined);

/** Classifies one operand: `a0`, `8(sp)` / `(sp)` / `%lo(x)(a0)`, or an expression. */
function parseOperand(text: string, hook: NameHook): Operand {
  if (text === "") fail("empty operand");
  const toks = tokenize(text);
  const r = toks.length === 1 ? regToken(toks[0]) : undefined;
  if (r !== undefined) return { kind: "reg", reg: r, text };
  const last = toks[toks.length - 1];
  if (toks.length >= 3 && last?.t === "op" && last.s === ")") {
    const open = toks[toks.length - 3]!;
    const baseReg = regToken(toks[toks.length - 2]);
    if (open.t === "op" && open.s === "(" && baseReg !== undefined) {
      const offToks = toks.slice(0, -3);
      const offset: Expr = offToks.length === 0 ? { k: "num", v: 0n } : exprFromTokens(offToks, hook);
      return { kind: "mem", offset, base: baseReg, text };
    }
  }
  return { kind: "expr", expr: exprFromTokens(toks, hook), text };
}

/** Parses the operands of an instruction. */
export function parseOperands(text: string, hook: NameHook): Operand[] {
  return splitArgs(text).map((part) => parseOperand(part, hook));
}
