/**
 * The architecture-neutral assembler driver: walks the statements once, building sections (fragments, fixups,
 * labels), then lays them out, resolves symbols and renders bytes.
 *
 * Symbol values are looked up in three phases with the same rules:
 *  - while assembling, a label is an offset from its anchor, the latest variable-size fragment
 *    of its section (base `section#anchor`), so only distances with nothing variable in between
 *    are constants;
 *  - while relaxing, a label is an offset in its section (base = section name);
 *  - at the end, every label is an absolute address and an unknown name is an error.
 */
import type { Architecture, EmitContext, FixupRef, FixupSpec } from "./arch.js";
import { branches, expandMacro, findClose, isIf, type Macro, macroArgs, parseMacroHead, word } from "./blocks.js";
import { type DirectiveHost, DIRECTIVES, isIgnoredDirective } from "./directives.js";
import { AsmError, fail, LineError, SourceError } from "./errors.js";
import { evaluate, type Expr, type Lookup, type NameHook, type Val } from "./expr.js";
import { placeSections, relaxSection } from "./layout.js";
import { parseExpression, splitArgs } from "./operands.js";
import { renderSection } from "./render.js";
import { type DataKind, type Fixup, type Label, Section } from "./sections.js";
import { splitStatements, type Statement } from "./source.js";

/** A symbol of the assembled program. */
export interface SymbolInfo {
  name: string;
  value: bigint;
  /** The section of a label; undefined for `.equ` constants. */
  section?: Section;
  global: boolean;
  type?: "func" | "object";
}

/** The result of assembling: sections in layout order with their bytes, symbols and entry point. */
export interface Assembly {
  sections: Section[];
  bytes: Map<Section, Uint8Array>;
  symbols: SymbolInfo[];
  entry: bigint;
}

/** Fixed order of the standard sections; any other section follows in order of first use. */
const STANDARD_ORDER = [".text", ".rodata", ".data", ".bss"];

/** Permissions and kind of a section created without flags, from its name. */
function defaultFlags(name: string): { flags: string; nobits: boolean } {
  const is = (prefix: string): boolean => new RegExp(`^\\.${prefix}(\\.|$)`).test(name);
  if (is("text")) return { flags: "rx", nobits: false };
  if (is("s?rodata")) return { flags: "r", nobits: false };
  if (is("s?bss") || is("tbss")) return { flags: "rw", nobits: true };
  return { flags: "rw", nobits: false };
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

const NO_FIXUP: FixupRef = { fixupId: -1 };

/** Maps the handles given to architectures back to fixups (for FixupSpec.pair). */
type FixupTable = Map<number, Fixup>;

class Assembler implements DirectiveHost {
  private readonly sections = new Map<string, Section>();
  private section: Section;
  private previous: Section;
  private readonly sectionStack: [Section, Section][] = [];
  private readonly labels = new Map<string, Label>();
  private readonly equs = new Map<string, { expr: Expr; value: bigint | undefined }>();
  private readonly globals = new Set<string>();
  private readonly types = new Map<string, "func" | "object">();
  private readonly localCounts = new Map<string, number>();
  private readonly display = new Map<string, string>();
  private anonCount = 0;
  private readonly fixupsById: FixupTable = new Map();
  private line = 0;

  constructor(private readonly file: string, private readonly arch: Architecture) {
    this.section = this.previous = this.getSection(".text");
  }

  // ---- symbols ----

  private readonly hook: NameHook = (tok) => {
    if (tok.t === "local") return { k: "sym", name: this.localRef(tok.n, tok.dir) };
    if (tok.s === ".") {
      const name = `${ANON}${this.anonCount++}`;
      this.labels.set(name, this.section.here());
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

  private makeLookup(labelValue: (l: Label) => Val, strict: boolean): Lookup {
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
          return evaluate(equ.expr, lookup, this.arch.syntax.expr);
        } finally {
          visiting.delete(name);
        }
      }
      if (strict) fail(`undefined symbol \`${this.display.get(name) ?? name}'`);
      return undefined;
    };
    return lookup;
  }

  private readonly parseLookup = this.makeLookup((l) => ({ base: `${l.sec.name}#${l.anchor}`, off: BigInt(l.anchorOff) }), false);
  private readonly relaxLookup = this.makeLookup((l) => ({ base: l.sec.name, off: BigInt(l.sec.frags[l.frag]!.start + l.off) }), false);
  private readonly finalLookup = this.makeLookup((l) => ({ base: null, off: l.sec.addr + BigInt(l.sec.frags[l.frag]!.start + l.off) }), true);

  private constValue(e: Expr): bigint | undefined {
    const v = evaluate(e, this.parseLookup, this.arch.syntax.expr);
    return v !== undefined && v.base === null ? v.off : undefined;
  }

  private defineLabel(name: string): void {
    if (/^[0-9]+$/.test(name)) {
      const n = String(Number(name));
      const count = (this.localCounts.get(n) ?? 0) + 1;
      this.localCounts.set(n, count);
      this.labels.set(`${LOCAL}${n}#${count}`, this.section.here());
      return;
    }
    if (this.labels.has(name) || this.equs.has(name)) fail(`symbol \`${name}' is already defined`);
    this.labels.set(name, this.section.here());
  }

  // ---- DirectiveHost ----

  private getSection(name: string, flags?: string, nobits?: boolean): Section {
    let sec = this.sections.get(name);
    if (!sec) {
      const d = defaultFlags(name);
      sec = new Section(name, flags ?? d.flags, nobits ?? d.nobits);
      this.sections.set(name, sec);
    } else if (flags !== undefined) {
      sec.flags = flags;
    }
    return sec;
  }

  switchSection(name: string, flags?: string, nobits?: boolean): void {
    const sec = this.getSection(name, flags, nobits);
    if (sec !== this.section) [this.previous, this.section] = [this.section, sec];
  }
  pushSection(): void { this.sectionStack.push([this.section, this.previous]); }
  popSection(): void {
    const top = this.sectionStack.pop();
    if (!top) fail("no matching .pushsection");
    [this.section, this.previous] = top;
  }
  previousSection(): void { [this.section, this.previous] = [this.previous, this.section]; }
  currentSection(): string { return this.section.name; }

  expr(text: string): Expr { return parseExpression(text, this.hook, this.arch.syntax.expr, this.arch.syntax.modifiers); }

  constant(text: string, what: string): bigint {
    const v = this.constValue(this.expr(text));
    if (v === undefined) fail(`${what} must be a constant defined before this line`);
    return v;
  }

  emitData(size: 1 | 2 | 4 | 8, e: Expr): void {
    const v = this.constValue(e);
    if (this.section.nobits) {
      if (v !== 0n) fail(`only zeros can go in ${this.section.name}`);
      this.emitFill(size, 0);
      return;
    }
    if (v !== undefined) {
      const bits = BigInt(size * 8);
      if (size < 8 && (v < -(1n << (bits - 1n)) || v >= 1n << bits)) fail(`value ${v} does not fit in ${size} byte${size > 1 ? "s" : ""}`);
      this.section.data().push(v, size);
      return;
    }
    const here = this.section.here();
    this.section.data().push(0, size);
    this.addFixup({ kind: `d${size}` as DataKind, expr: e }, here);
  }

  emitBytes(bytes: number[]): void {
    if (this.section.nobits) {
      if (bytes.some((b) => b !== 0)) fail(`only zeros can go in ${this.section.name}`);
      this.emitFill(bytes.length, 0);
    } else {
      this.section.data().pushBytes(bytes);
    }
  }

  emitFill(size: number, byte: number): void {
    if (size === 0) return;
    if (this.section.nobits && byte !== 0) fail(`only zeros can go in ${this.section.name}`);
    this.section.pushVariable({ kind: "fill", size, byte, start: 0 });
  }

  align(bytes: number, fill: number | null, max: number): void {
    this.section.align = Math.max(this.section.align, bytes);
    // GNU as: in code, without a fill, aligning to no more than the instruction granule
    // (RISC-V: 2 bytes with RVC, 4 without) only records the section alignment.
    if (this.section.code && fill === null && bytes <= this.arch.codeAlignGranule()) return;
    if (bytes > 1) this.section.pushVariable({ kind: "align", align: bytes, fill, max, size: 0, start: 0 });
  }

  org(target: Expr, fill: number): void {
    const v = this.constValue(target);
    if (v === undefined && evaluate(target, this.parseLookup, this.arch.syntax.expr) === undefined) {
      fail(".org target must be a constant or an offset from a label of this section, defined before this line");
    }
    this.section.pushVariable({
      kind: "org", target: v === undefined ? 0 : Number(v), expr: v === undefined ? target : undefined, fill, size: 0, start: 0, line: this.line,
    });
  }

  defineSymbol(name: string, e: Expr, mustBeNew: boolean): void {
    if (this.labels.has(name)) fail(`symbol \`${name}' is already defined as a label`);
    if (mustBeNew && this.equs.has(name)) fail(`symbol \`${name}' is already defined`);
    this.equs.set(name, { expr: e, value: this.constValue(e) });
  }

  declareGlobal(name: string): void { this.globals.add(name); }
  declareType(name: string, type: "func" | "object"): void { this.types.set(name, type); }

  private readonly commons: { name: string; size: number; align: number; local: boolean; line: number }[] = [];
  private readonly locals = new Set<string>();
  declareCommon(name: string, size: number, align: number, local: boolean): void {
    if (this.labels.has(name) || this.equs.has(name)) fail(`symbol \`${name}' is already defined`);
    const isLocal = local || this.locals.has(name);
    if (!isLocal) this.globals.add(name);
    this.commons.push({ name, size, align, local: isLocal, line: this.line });
  }
  declareLocal(name: string): void { this.locals.add(name); }

  /** Allocates the `.comm` symbols at the end of .bss: local ones, then global ones, each in order. */
  private allocateCommons(): void {
    if (this.commons.length === 0) return;
    const [current, previous] = [this.section, this.previous];
    this.section = this.getSection(".bss");
    const ordered = [...this.commons.filter((c) => c.local), ...this.commons.filter((c) => !c.local)];
    for (const c of ordered) {
      this.line = c.line;
      this.located(c.line, () => {
        this.align(c.align, null, c.align);
        this.defineLabel(c.name);
        this.emitFill(c.size, 0);
      });
    }
    [this.section, this.previous] = [current, previous];
  }

  // ---- instructions ----

  private addFixup(spec: FixupSpec | { kind: DataKind; expr: Expr }, at: Label): Fixup {
    const pair = "pair" in spec && spec.pair ? this.fixupsById.get(spec.pair.fixupId) : undefined;
    const fixup: Fixup = {
      fixupId: this.fixupsById.size, kind: spec.kind, expr: spec.expr, pair, frag: at.frag, off: at.off, line: this.line,
    };
    this.fixupsById.set(fixup.fixupId, fixup);
    at.sec.fixups.push(fixup);
    return fixup;
  }

  private readonly ctx: EmitContext = (() => {
    const self = this;
    return {
      constValue: (e: Expr) => self.constValue(e),
      parseExpr: (text: string) => self.expr(text),
      nameHook: self.hook,
      emit: (value: number | bigint, size: number, fix?: FixupSpec): FixupRef => {
        const here = self.section.here();
        self.section.data().push(value, size);
        return fix ? self.addFixup(fix, here) : NO_FIXUP;
      },
      relax: (spec: unknown) => {
        self.section.pushVariable({ kind: "relax", spec, size: 0, start: 0, line: self.line });
      },
      get section() { return self.section; },
    };
  })();

  // ---- statements ----

  private statement(text: string): void {
    let rest = text;
    for (;;) {
      const m = /^([A-Za-z_.$][A-Za-z0-9_.$]*|[0-9]+)\s*:/.exec(rest);
      if (!m) break;
      this.defineLabel(m[1]!);
      rest = rest.slice(m[0].length).trimStart();
    }
    if (rest === "") return;
    const assign = /^([A-Za-z_.$][A-Za-z0-9_.$]*)\s*=(?!=)(.*)$/.exec(rest);
    if (assign) {
      this.defineSymbol(assign[1]!, this.expr(assign[2]!), false);
      return;
    }
    const [, first = "", args = ""] = /^(\S+)\s*(.*)$/.exec(rest) ?? [];
    const name = first.toLowerCase();
    const macro = this.macros.get(name);
    if (macro) {
      this.invoke(macro, args);
      return;
    }
    if (name.startsWith(".")) {
      const handler = this.arch.directives?.get(name) ?? DIRECTIVES.get(name);
      if (!handler) {
        if (!isIgnoredDirective(name)) fail(`unknown directive \`${first}'`);
        return;
      }
      try {
        handler(args, this);
      } catch (e) {
        if (e instanceof SourceError) throw new SourceError(`${name}: ${e.message}`);
        throw e;
      }
      return;
    }
    if (this.section.nobits) fail(`instructions cannot go in ${this.section.name}`);
    this.arch.instruction(name, args, this.ctx);
  }

  private located<T>(line: number, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof LineError) throw new AsmError(this.file, e.line, e.message);
      if (e instanceof SourceError) throw new AsmError(this.file, line, e.message);
      throw e;
    }
  }

  private readonly macros = new Map<string, Macro>();
  private macroCount = 0;
  private macroDepth = 0;

  /** Whether `name` is a label, constant or common symbol defined so far (`.ifdef`). */
  private isDefined(name: string): boolean {
    return this.labels.has(name) || this.equs.has(name) || this.commons.some((c) => c.name === name);
  }

  /** Whether the branch starting with conditional statement `text` is taken. */
  private condition(text: string): boolean {
    const [, dir = "", args = ""] = /^(\S+)\s*(.*)$/.exec(text) ?? [];
    const d = dir.toLowerCase();
    const value = (): bigint => this.constant(args, `${d} condition`);
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
      case ".ifdef": return this.isDefined(args.trim());
      case ".ifndef": case ".ifnotdef": return !this.isDefined(args.trim());
      case ".ifb": return args.trim() === "";
      case ".ifnb": return args.trim() !== "";
      case ".ifc": { const [a, b] = strings(); return a === b; }
      case ".ifnc": { const [a, b] = strings(); return a !== b; }
    }
    fail(`unknown conditional \`${dir}'`);
  }

  /** `.macro` ... `.endm` starting at statement i: records the macro; returns the `.endm` index. */
  private defineMacro(stmts: Statement[], i: number, to: number): number {
    const st = stmts[i]!;
    const close = findClose(stmts, i, to, (t) => word(t) === ".macro", ".endm");
    if (close < 0) throw new AsmError(this.file, st.line, "`.macro' without `.endm'");
    this.located(st.line, () => {
      const head = parseMacroHead(st.text.replace(/^\S+\s*/, ""));
      if (this.macros.has(head.name)) fail(`macro \`${head.name}' is already defined`);
      this.macros.set(head.name, { params: head.params, body: stmts.slice(i + 1, close) });
    });
    return close;
  }

  /** A conditional block starting at statement i: runs the taken branch; returns the `.endif` index. */
  private conditional(stmts: Statement[], i: number, to: number): { close: number; ended: boolean } {
    const close = findClose(stmts, i, to, isIf, ".endif");
    if (close < 0) throw new AsmError(this.file, stmts[i]!.line, "`.if' without `.endif'");
    const starts = branches(stmts, i, close);
    for (let k = 0; k < starts.length; k++) {
      const at = starts[k]!;
      if (this.located(stmts[at]!.line, () => this.condition(stmts[at]!.text))) {
        return { close, ended: !this.run(stmts, at + 1, starts[k + 1] ?? close) };
      }
    }
    return { close, ended: false };
  }

  /** Expands macro `macro` invoked with `args` on the current line. */
  private invoke(macro: Macro, args: string): void {
    if (this.macroDepth >= 100) fail("macros nested more than 100 deep (recursive macro?)");
    const body = expandMacro(macro, macroArgs(args), this.macroCount++, this.line);
    this.macroDepth++;
    try {
      this.run(body);
    } finally {
      this.macroDepth--;
    }
  }

  /** Runs statements [from, to); returns false when `.end` was reached. */
  run(stmts: Statement[], from = 0, to = stmts.length): boolean {
    for (let i = from; i < to; i++) {
      const st = stmts[i]!;
      this.line = st.line;
      const w = word(st.text);
      if (w === ".macro") {
        i = this.defineMacro(stmts, i, to);
        continue;
      }
      if (isIf(st.text)) {
        const { close, ended } = this.conditional(stmts, i, to);
        if (ended) return false;
        i = close;
        continue;
      }
      if (w === ".endm" || w === ".else" || w === ".elseif" || w === ".endif") {
        throw new AsmError(this.file, st.line, `\`${w}' without \`${w === ".endm" ? ".macro" : ".if"}'`);
      }
      const d = /^\.(rept|endr|end)\b\s*(.*)$/i.exec(st.text);
      const kind = d?.[1]!.toLowerCase();
      if (kind === "end") return false;
      if (kind === "endr") throw new AsmError(this.file, st.line, "`.endr' without `.rept'");
      if (kind === "rept") {
        let depth = 1, j = i + 1;
        for (; j < to && depth > 0; j++) {
          const k = /^\.(rept|endr)\b/i.exec(stmts[j]!.text)?.[1]?.toLowerCase();
          if (k === "rept") depth++;
          else if (k === "endr") depth--;
        }
        if (depth > 0) throw new AsmError(this.file, st.line, "`.rept' without `.endr'");
        const count = this.located(st.line, () => Number(this.constant(d![2]!, ".rept count")));
        for (let k = 0; k < count; k++) if (!this.run(stmts, i + 1, j - 1)) return false;
        i = j - 1;
        continue;
      }
      this.located(st.line, () => this.statement(st.text));
    }
    return true;
  }

  /** Lays out, renders and collects symbols. */
  finish(base: bigint): Assembly {
    this.located(this.line, () => this.arch.endOfInput?.(this));
    this.allocateCommons();
    const all = [...this.sections.values()];
    const order = [
      ...STANDARD_ORDER.flatMap((n) => this.sections.get(n) ?? []),
      ...all.filter((s) => !STANDARD_ORDER.includes(s.name)),
    ];
    const bytes = new Map<Section, Uint8Array>();
    // Like GNU as for RISC-V, code sections may end padded (with nops) to their alignment.
    for (const sec of order) {
      if (this.arch.padCodeSectionEnds && sec.code && sec.align > 1) sec.pushVariable({ kind: "align", align: sec.align, fill: null, max: sec.align, size: 0, start: 0 });
    }
    this.located(this.line, () => {
      for (const sec of order) relaxSection(sec, this.relaxLookup, this.arch);
      placeSections(order, base);
      this.arch.beforeRender?.(order, this.finalLookup);
      for (const sec of order) bytes.set(sec, renderSection(sec, this.finalLookup, this.arch));
    });

    const symbols: SymbolInfo[] = [];
    for (const [name, label] of this.labels) {
      if (isInternal(name)) continue;
      const value = this.finalLookup(name)!.off;
      symbols.push({ name, value, section: label.sec, global: this.globals.has(name), type: this.types.get(name) });
    }
    for (const name of this.equs.keys()) {
      if (isInternal(name)) continue;
      let value: bigint | undefined;
      try {
        value = this.finalLookup(name)?.off;
      } catch {
        value = undefined;
      }
      if (value !== undefined) symbols.push({ name, value, global: this.globals.has(name) });
    }
    const start = symbols.find((s) => s.name === "_start");
    const text = this.sections.get(".text");
    const entry = start?.value ?? (text && text.size > 0 ? text.addr : base);
    return { sections: order, bytes, symbols, entry };
  }
}

/**
 * Assembles `source` for `arch` (a fresh Architecture object: it may hold per-assembly state),
 * laying the sections out from `base`.
 * @throws AsmError (one line, `file:line: message`) for any error in the source.
 */
export function assemble(source: string, file: string, base: bigint, arch: Architecture): Assembly {
  const asm = new Assembler(file, arch);
  asm.run(splitStatements(source, arch.syntax.comments));
  return asm.finish(base);
}
