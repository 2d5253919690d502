/**
 * AT&T operand syntax, as GNU as reads it:
 *   `%reg`, `$expr` (immediate), `expr` (absolute memory, or a branch target),
 *   `seg:disp(base, index, scale)` with every part optional (`(base)`, `disp(,index,8)`,
 *   `sym(%rip)`), and `*` before a register or memory operand of an indirect jump or call.
 */
import { type Expr, fail } from "./shared.js";
import { lookupRegister, type Reg } from "./registers.js";

/** A memory reference `seg:disp(base,index,scale)`. */
export interface MemRef {
  seg?: Reg;
  /** The displacement expression; undefined when none was written. */
  disp?: Expr;
  base?: Reg;
  index?: Reg;
  scale: 1 | 2 | 4 | 8;
}

/** A parsed operand; `text` is the source spelling, for messages. */
export type Operand =
  | { k: "reg"; reg: Reg; star: boolean; text: string }
  | { k: "imm"; expr: Expr; text: string }
  | ({ k: "mem"; star: boolean; text: string } & MemRef);

/** Splits an operand list at top-level commas (not inside parentheses or strings). */
export function splitOperands(text: string): string[] {
  const out: string[] = [];
  let depth = 0, cur = "", quote = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      cur += c;
      if (c === "\\") cur += text[++i] ?? "";
      else if (c === '"') quote = false;
      continue;
    }
    if (c === '"') quote = true;
    else if (c === "(") depth++;
    else if (c === ")") depth--;
    if (c === "," && depth === 0) {
      out.push(cur.trim());
      cur = "";
    } else {
      cur += c;
    }
  }
  if (cur.trim() !== "" || out.length > 0) out.push(cur.trim());
  return out;
}

function register(text: string): Reg {
  const t = text.trim();
  if (!t.startsWith("%")) fail(`expected a register, got \`${t}'`);
  const reg = lookupRegister(t.slice(1));
  if (!reg) fail(`bad register name \`${t}'`);
  return reg;
}

/** Index of the `(` that opens the base/index group closing at the end of `t`, or -1. */
function baseGroupStart(t: string): number {
  if (!t.endsWith(")")) return -1;
  let depth = 0;
  for (let i = t.length - 1; i >= 0; i--) {
    if (t[i] === ")") depth++;
    else if (t[i] === "(" && --depth === 0) {
      const inner = t.slice(i + 1, -1).trim();
      return inner.startsWith("%") || inner.startsWith(",") || inner === "" ? i : -1;
    }
  }
  return -1;
}

function memory(t: string, seg: Reg | undefined, star: boolean, text: string, expr: (s: string) => Expr): Operand {
  const open = baseGroupStart(t);
  const dispText = (open < 0 ? t : t.slice(0, open)).trim();
  const mem: Operand = { k: "mem", star, text, seg, scale: 1 };
  if (dispText !== "") mem.disp = expr(dispText);
  if (open < 0) {
    if (dispText === "") fail("missing memory operand");
    return mem;
  }
  const parts = t.slice(open + 1, -1).split(",").map((p) => p.trim());
  if (parts.length > 3) fail(`bad memory operand \`${t}'`);
  if (parts[0]) mem.base = register(parts[0]);
  if (parts[1]) mem.index = register(parts[1]);
  if (parts[2] !== undefined && parts[2] !== "") {
    const s = Number(parts[2]);
    if (s !== 1 && s !== 2 && s !== 4 && s !== 8) fail(`scale factor of ${parts[2]} in \`${t}' is not 1, 2, 4 or 8`);
    if (!mem.index) fail(`scale factor without an index register in \`${t}'`);
    mem.scale = s;
  }
  for (const r of [mem.base, mem.index]) {
    if (r && (r.kind !== "gpr" || r.size < 4) && r.kind !== "rip") fail(`\`%${r.name}' is not a valid base/index register`);
  }
  if (mem.index?.kind === "rip" || (mem.base?.kind === "rip" && mem.index)) fail(`\`%${mem.index?.name ?? "rip"}' cannot be used with an index register`);
  if (mem.index && mem.index.num === 4) fail(`\`%${mem.index.name}' is not a valid index register`);
  if (mem.base && mem.index && mem.base.size !== mem.index.size) fail(`\`${t}' mixes address sizes`);
  return mem;
}

/**
 * Parses one operand.
 * @param expr parses an expression (symbols resolved by the caller's rules).
 * @throws SourceError for a malformed operand or an unknown register.
 */
export function parseOperand(text: string, expr: (s: string) => Expr): Operand {
  let t = text.trim();
  // `sym@PLT`: in a static executable the PLT entry is the function itself (ld resolves
  // R_X86_64_PLT32 to a direct call), so it means `sym`. Other @-relocations need a GOT or TLS.
  const at = /@([A-Za-z]+)/.exec(t);
  if (at) {
    if (at[1]!.toUpperCase() !== "PLT") fail(`relocation @${at[1]} is not supported (static executables only)`);
    t = t.replace(at[0], "");
  }
  let star = false;
  if (t.startsWith("*")) {
    star = true;
    t = t.slice(1).trim();
  }
  if (t.startsWith("$")) {
    if (star) fail(`immediate operand \`${text}' cannot be indirect`);
    return { k: "imm", expr: expr(t.slice(1)), text };
  }
  let seg: Reg | undefined;
  const segMatch = /^%([a-z]s)\s*:/i.exec(t);
  if (segMatch) {
    seg = lookupRegister(segMatch[1]!);
    if (seg?.kind !== "seg") fail(`bad segment register \`%${segMatch[1]}'`);
    t = t.slice(segMatch[0].length).trim();
  }
  if (!seg && /^%[A-Za-z0-9]+$/.test(t)) return { k: "reg", reg: register(t), star, text };
  // The port operand of IN/OUT and INS/OUTS may be written `(%dx)`.
  if (!seg && /^\(\s*%dx\s*\)$/i.test(t)) return { k: "reg", reg: register("%dx"), star, text };
  return memory(t, seg, star, text, expr);
}
