/**
 * The symbol table of one assembly: labels (named, numeric `1:`, anonymous `.`), `.equ`
 * constants, global and type marks, and the three ways of looking a name up.
 *
 * Symbol values are looked up in three phases with the same rules:
 *  - "parse": while assembling, a label is an offset from its anchor, the latest variable-size
 *    fragment of its section (base `section#anchor`), so only distances with nothing variable in
 *    between are constants;
 *  - "relax": while relaxing, a label is an offset in its section (base = section name);
 *  - "final": every label is an absolute address and an unknown name is an error.
 */
import { fail } from "./errors.js";
import { evaluate, type Expr, type ExprSyntax, type Lookup, type NameHook, type Val } from "./expr.js";
import type { Label, Section } from "./sections.js";

/** A symbol of the assembled program. */
export interface SymbolInfo {
  name: string;
  value: bigint;
  /** The section of a label; undefined for `.equ` constants. */
  section?: Section;
  global: boolean;
  type?: "func" | "object";
}

/** Internal symbol names start with a control character so they never clash with user names. */
const ANON = "\u0001";
const LOCAL = "\u0002";
const INTERNAL = "\u0003";
const isInternal = (name: string): boolean => name.startsWith(ANON) || name.startsWith(LOCAL) || name.startsWith(INTERNAL);

/**
 * A symbol name no source can write, for symbols an architecture defines for itself (AArch64
 * literal pool entries): usable in expressions, left out of the symbol table.
 */
export function internalSymbol(tag: string): string {
  return `${INTERNAL}${tag}`;
}

/** The symbols of one assembly. */
export class Symbols {
  private readonly labels = new Map<string, Label>();
  private readonly equs = new Map<string, { expr: Expr; value: bigint | undefined }>();
  /** Names declared `.globl`/`.global`/`.weak` (and global commons). */
  readonly globals = new Set<string>();
  /** Names declared `.local`. */
  readonly locals = new Set<string>();
  /** `.type` marks. */
  readonly types = new Map<string, "func" | "object">();
  private readonly localCounts = new Map<string, number>();
  private readonly display = new Map<string, string>();
  private anonCount = 0;

  constructor(
    private readonly syntax: ExprSyntax,
    /** Where the next byte of the current section goes (for labels and `.`). */
    private readonly here: () => Label,
  ) {}

  /** Maps identifiers, `.` and local label references to expression nodes while parsing. */
  readonly hook: NameHook = (tok) => {
    if (tok.t === "local") return { k: "sym", name: this.localRef(tok.n, tok.dir) };
    if (tok.s === ".") {
      const name = `${ANON}${this.anonCount++}`;
      this.labels.set(name, this.here());
      return { k: "sym", name };
    }
    const value = this.equs.get(tok.s)?.value;
    return value !== undefined ? { k: "num", v: value } : { k: "sym", name: tok.s };
  };

  private localRef(n: string, dir: "b" | "f"): string {
    const count = this.localCounts.get(n) ?? 0;
    if (dir === "b" && count === 0) fail(`no previous definition of local label ${n} (for \`${n}b')`);
    const name = `${LOCAL}${n}#${dir === "b" ? count : count + 1}`;
    if (!this.display.has(name)) this.display.set(name, `${n}${dir}`);
    return name;
  }

  /** A lookup for one phase (see the module comment). */
  lookup(phase: "parse" | "relax" | "final"): Lookup {
    const labelValue = (l: Label): Val => {
      if (phase === "parse") return { base: `${l.sec.name}#${l.anchor}`, off: BigInt(l.anchorOff) };
      const off = l.sec.frags[l.frag]!.start + l.off;
      return phase === "relax" ? { base: l.sec.name, off: BigInt(off) } : { base: null, off: l.sec.addr + BigInt(off) };
    };
    const visiting = new Set<string>();
    const lookup: Lookup = (name) => {
      const label = this.labels.get(name);
      if (label) return labelValue(label);
      const equ = this.equs.get(name);
      if (equ) {
        if (equ.value !== undefined) return { base: null, off: equ.value };
        if (visiting.has(name)) fail(`symbol \`${name}' is defined in terms of itself`);
        visiting.add(name);
        try {
          return evaluate(equ.expr, lookup, this.syntax);
        } finally {
          visiting.delete(name);
        }
      }
      if (phase === "final") fail(`undefined symbol \`${this.display.get(name) ?? name}'`);
      return undefined;
    };
    return lookup;
  }

  /** Defines label `name` (or numeric local label) at the current position. */
  defineLabel(name: string): void {
    if (/^[0-9]+$/.test(name)) {
      const n = String(Number(name));
      const count = (this.localCounts.get(n) ?? 0) + 1;
      this.localCounts.set(n, count);
      this.labels.set(`${LOCAL}${n}#${count}`, this.here());
      return;
    }
    if (this.isDefined(name)) fail(`symbol \`${name}' is already defined`);
    this.labels.set(name, this.here());
  }

  /** Defines `.equ name, e` (`value` if already constant); `.equiv` (mustBeNew) refuses a redefinition. */
  defineEqu(name: string, e: Expr, value: bigint | undefined, mustBeNew: boolean): void {
    if (this.labels.has(name)) fail(`symbol \`${name}' is already defined as a label`);
    if (mustBeNew && this.equs.has(name)) fail(`symbol \`${name}' is already defined`);
    this.equs.set(name, { expr: e, value });
  }

  /** Whether `name` is a label or constant defined so far. */
  isDefined(name: string): boolean {
    return this.labels.has(name) || this.equs.has(name);
  }

  /** Every user-visible symbol with its final value (`final` must be the "final" lookup). */
  collect(final: Lookup): SymbolInfo[] {
    const symbols: SymbolInfo[] = [];
    for (const [name, label] of this.labels) {
      if (isInternal(name)) continue;
      symbols.push({ name, value: final(name)!.off, section: label.sec, global: this.globals.has(name), type: this.types.get(name) });
    }
    for (const name of this.equs.keys()) {
      if (isInternal(name)) continue;
      let value: bigint | undefined;
      try {
        value = final(name)?.off;
      } catch {
        value = undefined;
      }
      if (value !== undefined) symbols.push({ name, value, global: this.globals.has(name) });
    }
    return symbols;
  }
}
