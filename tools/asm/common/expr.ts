/**
 * Expressions: parsing with GNU as operator precedence, and evaluation to a possibly
 * section-relative value.
 *
 * Precedence, loosest first (as in GNU as, which differs from C: `1 | 2 + 3` is 6):
 *   `||` < `&&` < comparisons (`== != <> < > <= >=`, true is -1) < `+ -` < `| & ^` <
 *   `* / % << >>` < unary `- ~ ! +`.
 * Arithmetic is 64-bit two's complement; `>>` is a logical shift, `/` and `%` are signed.
 */
import { fail } from "./errors.js";
import type { Token } from "./lexer.js";

/**
 * Name of a relocation operator, without its punctuation: `hi` for RISC-V `%hi(x)`, `lo12` for
 * AArch64 `:lo12:x`. Which names exist is the architecture's choice (ExprSyntax.relocOps).
 */
export type RelocOp = string;

/** What an architecture's expressions may contain beyond the common operators. */
export interface ExprSyntax {
  /** Accepted relocation operator names. */
  relocOps: readonly string[];
  /**
   * The constant value of `fn(a)` when it can be known before addresses are final (RISC-V
   * `%hi(0x1234)`), or undefined to leave it to a fixup. `a` evaluates the operand (only call
   * it when the operator may be constant). Default: always undefined.
   */
  evalReloc?: (fn: RelocOp, a: () => Val | undefined) => Val | undefined;
}

/** No relocation operators. */
export const PLAIN_EXPRESSIONS: ExprSyntax = { relocOps: [] };

/** Expression tree; symbols are names, resolved only when evaluated. */
export type Expr =
  | { k: "num"; v: bigint }
  | { k: "sym"; name: string }
  | { k: "un"; op: string; a: Expr }
  | { k: "bin"; op: string; a: Expr; b: Expr }
  | { k: "mod"; fn: RelocOp; a: Expr };

/**
 * A value: `off` bytes from the start of `base` (a label's section or fragment), or an absolute
 * number when base is null.
 */
export interface Val {
  base: string | null;
  off: bigint;
}

/** Resolves a symbol name; undefined means "not known (yet)". May throw for a hard error. */
export type Lookup = (name: string) => Val | undefined;

/** Maps identifiers and local label references to expression nodes while parsing. */
export type NameHook = (tok: Extract<Token, { t: "id" } | { t: "local" }>) => Expr;

const BINARY_LEVELS: readonly (readonly string[])[] = [
  ["||"],
  ["&&"],
  ["==", "!=", "<>", "<", ">", "<=", ">="],
  ["+", "-"],
  ["|", "&", "^"],
  ["*", "/", "%", "<<", ">>"],
];

/** A cursor over a token list, shared by the expression and operand parsers. */
export class TokenStream {
  pos = 0;
  constructor(
    readonly toks: Token[],
    /** Relocation operators accepted while parsing. */
    readonly syntax: ExprSyntax = PLAIN_EXPRESSIONS,
  ) {}
  peek(): Token | undefined { return this.toks[this.pos]; }
  next(): Token | undefined { return this.toks[this.pos++]; }
  atEnd(): boolean { return this.pos >= this.toks.length; }
  isOp(s: string): boolean { const t = this.peek(); return t?.t === "op" && t.s === s; }
  expectOp(s: string): void {
    if (!this.isOp(s)) fail(`expected \`${s}'${this.atEnd() ? " at end of operand" : ""}`);
    this.pos++;
  }
}

/** Parses one expression from `ts`, stopping at a token that cannot continue it (`,` or `)`). */
export function parseExpr(ts: TokenStream, name: NameHook): Expr {
  return parseLevel(ts, name, 0);
}

function parseLevel(ts: TokenStream, name: NameHook, level: number): Expr {
  if (level === BINARY_LEVELS.length) return parseUnary(ts, name);
  let left = parseLevel(ts, name, level + 1);
  for (;;) {
    const t = ts.peek();
    if (t?.t !== "op" || !BINARY_LEVELS[level]!.includes(t.s)) return left;
    ts.next();
    const right = parseLevel(ts, name, level + 1);
    left = { k: "bin", op: t.s, a: left, b: right };
  }
}

function parseUnary(ts: TokenStream, name: NameHook): Expr {
  const t = ts.next();
  if (t === undefined) fail("missing expression");
  switch (t.t) {
    case "num": return { k: "num", v: t.v };
    case "id":
    case "local": return name(t);
    case "str": fail("unexpected string in expression");
    case "mod": {
      if (t.style === "colon") {
        if (!ts.syntax.relocOps.includes(t.s)) fail(`unsupported relocation operator :${t.s}:`);
        return { k: "mod", fn: t.s, a: parseExpr(ts, name) };
      }
      if (!ts.syntax.relocOps.includes(t.s)) fail(`unsupported relocation operator %${t.s}`);
      ts.expectOp("(");
      const a = parseExpr(ts, name);
      ts.expectOp(")");
      return { k: "mod", fn: t.s, a };
    }
    case "op":
      if (t.s === "(") {
        const e = parseExpr(ts, name);
        ts.expectOp(")");
        return e;
      }
      if (t.s === "-" || t.s === "~" || t.s === "!" || t.s === "+") return { k: "un", op: t.s, a: parseUnary(ts, name) };
      fail(`unexpected \`${t.s}' in expression`);
  }
}

const wrap = (v: bigint): bigint => BigInt.asIntN(64, v);
const abs = (off: bigint): Val => ({ base: null, off: wrap(off) });

function binary(op: string, a: bigint, b: bigint): bigint {
  const ua = BigInt.asUintN(64, a);
  switch (op) {
    case "*": return a * b;
    case "/": if (b === 0n) fail("division by zero"); return a / b;
    case "%": if (b === 0n) fail("division by zero"); return a % b;
    case "<<": return b < 0n || b >= 64n ? 0n : a << b;
    case ">>": return b < 0n || b >= 64n ? 0n : ua >> b;
    case "|": return a | b;
    case "&": return a & b;
    case "^": return a ^ b;
    case "+": return a + b;
    case "-": return a - b;
    case "==": return a === b ? -1n : 0n;
    case "!=": case "<>": return a !== b ? -1n : 0n;
    case "<": return a < b ? -1n : 0n;
    case ">": return a > b ? -1n : 0n;
    case "<=": return a <= b ? -1n : 0n;
    case ">=": return a >= b ? -1n : 0n;
    case "&&": return a !== 0n && b !== 0n ? 1n : 0n;
    case "||": return a !== 0n || b !== 0n ? 1n : 0n;
  }
  fail(`unknown operator ${op}`);
}

/**
 * Evaluates `e`. Returns undefined when a symbol is not known yet, or when the result would not
 * be a plain offset from one base (e.g. a label times two before addresses are final).
 * Relocation operators are evaluated by `syntax.evalReloc` (undefined without one).
 * @throws SourceError on division by zero; whatever `lookup` throws.
 */
export function evaluate(e: Expr, lookup: Lookup, syntax: ExprSyntax = PLAIN_EXPRESSIONS): Val | undefined {
  switch (e.k) {
    case "num": return abs(e.v);
    case "sym": return lookup(e.name);
    case "un": {
      const a = evaluate(e.a, lookup, syntax);
      if (a === undefined || a.base !== null) return e.op === "+" ? a : undefined;
      if (e.op === "-") return abs(-a.off);
      if (e.op === "~") return abs(~a.off);
      if (e.op === "!") return abs(a.off === 0n ? 1n : 0n);
      return a;
    }
    case "bin": {
      const a = evaluate(e.a, lookup, syntax);
      const b = evaluate(e.b, lookup, syntax);
      if (a === undefined || b === undefined) return undefined;
      if (e.op === "+") {
        if (a.base !== null && b.base !== null) return undefined;
        return { base: a.base ?? b.base, off: wrap(a.off + b.off) };
      }
      if (e.op === "-") {
        if (b.base === null) return { base: a.base, off: wrap(a.off - b.off) };
        return a.base === b.base ? abs(a.off - b.off) : undefined;
      }
      if (a.base !== null || b.base !== null) return undefined;
      return abs(binary(e.op, a.off, b.off));
    }
    case "mod":
      return syntax.evalReloc?.(e.fn, () => evaluate(e.a, lookup, syntax));
  }
}

/** True when `e` uses a relocation operator (`%hi`, `:lo12:`...) anywhere. */
export function hasReloc(e: Expr): boolean {
  return e.k === "mod" || (e.k === "un" && hasReloc(e.a)) || (e.k === "bin" && (hasReloc(e.a) || hasReloc(e.b)));
}
