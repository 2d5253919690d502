/**
 * Block directives that act on statements rather than bytes: `.macro`/`.endm` (with `\param`,
 * defaults `param=value`, `\@` and `\()`), and conditional assembly `.if`/`.ifdef`/`.ifndef`/
 * `.ifeq`/`.ifne`/`.ifgt`/`.ifge`/`.iflt`/`.ifle`/`.ifb`/`.ifnb`/`.ifc`/`.ifnc` with `.elseif`,
 * `.else` and `.endif`. The driver (assembler.ts) runs the statements they select.
 */
import { fail } from "./errors.js";
import { splitArgs } from "./operands.js";
import type { Statement } from "./source.js";

/** A macro definition. */
export interface Macro {
  params: { name: string; dflt: string }[];
  body: Statement[];
}

/** The first word of a statement, lower case (a directive or mnemonic). */
export const word = (text: string): string => /^\.?[A-Za-z_$][A-Za-z0-9_.$]*/.exec(text)?.[0]?.toLowerCase() ?? "";

/** True for `.if`, `.ifdef`... (a directive opening a conditional block). */
export const isIf = (text: string): boolean => /^\.if[a-z]*$/.test(word(text));

/**
 * The index of the statement closing the block opened at `start` (`close` names the closing
 * directive; nested blocks opened by `isOpen` are skipped), or -1.
 */
export function findClose(stmts: Statement[], start: number, end: number, isOpen: (t: string) => boolean, close: string): number {
  let depth = 1;
  for (let j = start + 1; j < end; j++) {
    const text = stmts[j]!.text;
    if (isOpen(text)) depth++;
    else if (word(text) === close && --depth === 0) return j;
  }
  return -1;
}

/**
 * Splits a conditional block [start, close] into its branches: each `.if`/`.elseif`/`.else` at
 * depth one, with its own statement index.
 */
export function branches(stmts: Statement[], start: number, close: number): number[] {
  const out = [start];
  let depth = 0;
  for (let j = start + 1; j < close; j++) {
    const w = word(stmts[j]!.text);
    if (isIf(stmts[j]!.text)) depth++;
    else if (w === ".endif") depth--;
    else if (depth === 0 && (w === ".else" || w === ".elseif")) out.push(j);
  }
  return out;
}

/** Parses `.macro name p1, p2=default` (commas or spaces between parameters). */
export function parseMacroHead(args: string): { name: string; params: Macro["params"] } {
  const m = /^([A-Za-z_.$][A-Za-z0-9_.$]*)\s*,?\s*(.*)$/.exec(args.trim());
  if (!m) fail("expected `.macro NAME [params]'");
  const rest = m[2]!.trim();
  const parts = rest === "" ? [] : rest.includes(",") ? splitArgs(rest) : rest.split(/\s+/);
  const params = parts.map((p) => {
    const [name = "", dflt = ""] = p.split("=").map((x) => x.trim());
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(`bad macro parameter \`${p}'`);
    return { name, dflt };
  });
  return { name: m[1]!.toLowerCase(), params };
}

/** Invocation arguments: comma separated, or blank separated when there is no comma. */
export function macroArgs(text: string): string[] {
  const t = text.trim();
  if (t === "") return [];
  return t.includes(",") ? splitArgs(t) : t.split(/\s+/);
}

/**
 * The body of `macro` with its parameters replaced by `args` (`\name`), `\@` by the expansion
 * count, and `\()` removed; every statement takes the invocation's line.
 */
export function expandMacro(macro: Macro, args: string[], count: number, line: number): Statement[] {
  if (args.length > macro.params.length) fail(`too many arguments (${args.length}) for a macro of ${macro.params.length}`);
  const values = new Map(macro.params.map((p, i) => [p.name, args[i] !== undefined && args[i] !== "" ? args[i]! : p.dflt]));
  return macro.body.map((st) => ({
    line,
    text: st.text.replace(/\\(@|\(\)|[A-Za-z_][A-Za-z0-9_]*)/g, (whole, name: string) => {
      if (name === "@") return String(count);
      if (name === "()") return "";
      return values.get(name) ?? whole;
    }),
  }));
}

/** What evaluating a condition needs from the driver. */
export interface ConditionHost {
  /** An expression that must be a constant now. */
  constant(text: string, what: string): bigint;
  /** Whether a symbol is defined so far. */
  isDefined(name: string): boolean;
}

/**
 * Whether the branch starting with conditional statement `text` (`.if expr`, `.ifdef sym`,
 * `.elseif expr`, `.else`...) is taken.
 * @throws SourceError for a non-constant expression or an unknown conditional.
 */
export function condition(text: string, host: ConditionHost): boolean {
  const [, dir = "", args = ""] = /^(\S+)\s*(.*)$/.exec(text) ?? [];
  const d = dir.toLowerCase();
  const value = (): bigint => host.constant(args, `${d} condition`);
  const strings = (): [string, string] => {
    const [a = "", b = ""] = splitArgs(args).map((x) => x.replace(/^"(.*)"$/, "$1"));
    return [a, b];
  };
  switch (d) {
    case ".else": return true;
    case ".if": case ".elseif": case ".ifne": return value() !== 0n;
    case ".ifeq": return value() === 0n;
    case ".ifgt": return value() > 0n;
    case ".ifge": return value() >= 0n;
    case ".iflt": return value() < 0n;
    case ".ifle": return value() <= 0n;
    case ".ifdef": return host.isDefined(args.trim());
    case ".ifndef": case ".ifnotdef": return !host.isDefined(args.trim());
    case ".ifb": return args.trim() === "";
    case ".ifnb": return args.trim() !== "";
    case ".ifc": { const [a, b] = strings(); return a === b; }
    case ".ifnc": { const [a, b] = strings(); return a !== b; }
  }
  fail(`unknown conditional \`${dir}'`);
}
