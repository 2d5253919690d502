/** Operand text helpers shared by every architecture: splitting at commas, parsing expressions. */
import { fail } from "./errors.js";
import { type Expr, type ExprSyntax, type NameHook, parseExpr, PLAIN_EXPRESSIONS, TokenStream } from "./expr.js";
import { type ModifierStyle, type Token, tokenize } from "./lexer.js";

/**
 * Splits `text` at commas outside parentheses, brackets, braces, strings and character
 * literals; trims each part. Empty text gives no parts.
 */
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
    } else if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    else if (c === "," && depth === 0) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(text.slice(start).trim());
  return out;
}

/** Parses a whole token list as one expression. */
export function exprFromTokens(toks: Token[], hook: NameHook, syntax: ExprSyntax = PLAIN_EXPRESSIONS): Expr {
  const ts = new TokenStream(toks, syntax);
  const e = parseExpr(ts, hook);
  if (!ts.atEnd()) fail("unexpected text after expression");
  return e;
}

/** Parses `text` as one expression. */
export function parseExpression(
  text: string, hook: NameHook, syntax: ExprSyntax = PLAIN_EXPRESSIONS, modifiers: ModifierStyle = "percent",
): Expr {
  if (text.trim() === "") fail("missing expression");
  return exprFromTokens(tokenize(text, modifiers), hook, syntax);
}
