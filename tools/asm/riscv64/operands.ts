/** RISC-V operands: classifying each as register, memory `offset(base)` or expression. */
import { fail } from "../common/errors.js";
import type { Expr, NameHook } from "../common/expr.js";
import { type Token, tokenize } from "../common/lexer.js";
import { exprFromTokens, splitArgs } from "../common/operands.js";
import type { Operand } from "./forms.js";
import { RISCV_EXPRESSIONS } from "./reloc.js";
import { gprNumber } from "./registers.js";

const regToken = (t: Token | undefined): number | undefined => (t?.t === "id" ? gprNumber(t.s) : undefined);

/** Classifies one operand: `a0`, `8(sp)` / `(sp)` / `%lo(x)(a0)`, or an expression. */
function parseOperand(text: string, hook: NameHook): Operand {
  if (text === "") fail("empty operand");
  const toks = tokenize(text, "percent");
  const r = toks.length === 1 ? regToken(toks[0]) : undefined;
  if (r !== undefined) return { kind: "reg", reg: r, text };
  const last = toks[toks.length - 1];
  if (toks.length >= 3 && last?.t === "op" && last.s === ")") {
    const open = toks[toks.length - 3]!;
    const baseReg = regToken(toks[toks.length - 2]);
    if (open.t === "op" && open.s === "(" && baseReg !== undefined) {
      const offToks = toks.slice(0, -3);
      const offset: Expr = offToks.length === 0 ? { k: "num", v: 0n } : exprFromTokens(offToks, hook, RISCV_EXPRESSIONS);
      return { kind: "mem", offset, base: baseReg, text };
    }
  }
  return { kind: "expr", expr: exprFromTokens(toks, hook, RISCV_EXPRESSIONS), text };
}

/** Parses the operands of an instruction. */
export function parseOperands(text: string, hook: NameHook): Operand[] {
  return splitArgs(text).map((part) => parseOperand(part, hook));
}
