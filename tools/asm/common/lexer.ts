/**
 * Tokenizer for operands and directive arguments, GNU as syntax:
 * numbers `42 0x2a 0b101010 052`, character literals `'a` / `'a'` / `'\n'`, strings with C
 * escapes, identifiers (letters, digits, `_ . $`), numeric local label references `1b` / `1f`,
 * relocation operators in the architecture's style (`%hi(x)` on RISC-V, `:lo12:x` on AArch64),
 * and punctuation.
 */
import { fail } from "./errors.js";

/** One lexical token. */
export type Token =
  | { t: "num"; v: bigint }
  | { t: "id"; s: string }
  /** Reference to numeric local label `n`, backwards (`nb`) or forwards (`nf`). */
  | { t: "local"; n: string; dir: "b" | "f" }
  | { t: "str"; bytes: number[] }
  /**
   * Relocation operator: `%hi` (style "percent"; the parenthesised argument follows as tokens)
   * or `:lo12:` (style "colon"; it applies to the rest of the expression).
   */
  | { t: "mod"; s: string; style: ModifierStyle }
  | { t: "op"; s: string };

/** How relocation operators are written: `%name(expr)`, `:name:expr`, or not at all. */
export type ModifierStyle = "percent" | "colon" | "none";

const ID_START = /[A-Za-z_.$]/;
const ID_CHAR = /[A-Za-z0-9_.$]/;
const OPS = ["<<", ">>", "==", "!=", "<>", "<=", ">=", "&&", "||", "+", "-", "*", "/", "%", "&", "|", "^", "~", "!", "<", ">", "(", ")", ",", "="];
const SIMPLE_ESCAPES: Record<string, number> = { n: 10, t: 9, r: 13, b: 8, f: 12, v: 11, a: 7, e: 27, "\\": 92, '"': 34, "'": 39 };

/** Reads one escape sequence after a backslash at `s[i]`; returns the byte and the next index. */
function readEscape(s: string, i: number): [number, number] {
  const c = s[i];
  if (c === undefined) fail("unterminated escape sequence");
  if (c in SIMPLE_ESCAPES) return [SIMPLE_ESCAPES[c]!, i + 1];
  if (/[0-7]/.test(c)) {
    let j = i, v = 0;
    while (j < i + 3 && /[0-7]/.test(s[j] ?? "")) v = v * 8 + Number(s[j++]);
    return [v & 0xff, j];
  }
  if (c === "x" || c === "X") {
    let j = i + 1, v = 0;
    while (/[0-9a-fA-F]/.test(s[j] ?? "")) v = (v * 16 + parseInt(s[j++]!, 16)) & 0xff;
    if (j === i + 1) fail("\\x used with no following hex digits");
    return [v, j];
  }
  return [c.charCodeAt(0) & 0xff, i + 1];
}

function readNumber(s: string, i: number): [Token, number] {
  let j = i;
  while (ID_CHAR.test(s[j] ?? "")) j++;
  const word = s.slice(i, j);
  const local = /^([0-9]+)([bf])$/.exec(word);
  if (local && !/^0[bB][01]+$/.test(word)) return [{ t: "local", n: String(Number(local[1])), dir: local[2] as "b" | "f" }, j];
  let v: bigint;
  if (/^0[xX][0-9a-fA-F]+$/.test(word)) v = BigInt(word);
  else if (/^0[bB][01]+$/.test(word)) v = BigInt(word);
  else if (/^0[0-7]+$/.test(word)) v = BigInt("0o" + word.slice(1));
  else if (/^[0-9]+$/.test(word)) v = BigInt(word);
  else fail(`bad number \`${word}'`);
  if (v >= 1n << 64n) fail(`number ${word} does not fit in 64 bits`);
  return [{ t: "num", v: BigInt.asIntN(64, v) }, j];
}

/**
 * Splits `text` into tokens; `modifiers` selects the relocation operator style (default
 * "percent", the RISC-V one).
 * @throws SourceError on malformed numbers, strings or characters.
 */
export function tokenize(text: string, modifiers: ModifierStyle = "percent"): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === " " || c === "\t" || c === "\r") { i++; continue; }
    if (/[0-9]/.test(c)) {
      const [tok, j] = readNumber(text, i);
      out.push(tok);
      i = j;
    } else if (ID_START.test(c)) {
      let j = i + 1;
      while (j < n && ID_CHAR.test(text[j]!)) j++;
      out.push({ t: "id", s: text.slice(i, j) });
      i = j;
    } else if (c === '"') {
      const bytes: number[] = [];
      let j = i + 1;
      for (;;) {
        const d = text[j];
        if (d === undefined) fail("unterminated string");
        if (d === '"') { j++; break; }
        if (d === "\\") {
          const [b, k] = readEscape(text, j + 1);
          bytes.push(b);
          j = k;
        } else {
          const cp = text.codePointAt(j)!;
          bytes.push(...new TextEncoder().encode(String.fromCodePoint(cp)));
          j += cp > 0xffff ? 2 : 1;
        }
      }
      out.push({ t: "str", bytes });
      i = j;
    } else if (c === "'") {
      let j = i + 1;
      let v: number;
      if (text[j] === undefined) fail("empty character literal");
      if (text[j] === "\\") [v, j] = readEscape(text, j + 1);
      else { v = text.codePointAt(j)!; j += v > 0xffff ? 2 : 1; }
      if (text[j] === "'") j++;
      out.push({ t: "num", v: BigInt(v) });
      i = j;
    } else if (modifiers === "percent" && c === "%" && ID_START.test(text[i + 1] ?? "")) {
      let j = i + 1;
      while (j < n && ID_CHAR.test(text[j]!)) j++;
      out.push({ t: "mod", s: text.slice(i + 1, j), style: "percent" });
      i = j;
    } else if (modifiers === "colon" && c === ":" && /^:[A-Za-z_][A-Za-z0-9_]*:/.test(text.slice(i))) {
      const j = text.indexOf(":", i + 1);
      out.push({ t: "mod", s: text.slice(i + 1, j).toLowerCase(), style: "colon" });
      i = j + 1;
    } else {
      const op = OPS.find((o) => text.startsWith(o, i));
      if (!op) fail(`unexpected character \`${c}'`);
      out.push({ t: "op", s: op });
      i += op.length;
    }
  }
  return out;
}
