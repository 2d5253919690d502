/**
 * The architecture-neutral assembler driver: walks the statements once, building sections
 * (fragments, fixups, labels), then lays them out, resolves symbols (symbols.ts, in three phases)
 * and renders bytes.
 */
import type { Architecture, EmitContext, FixupRef, FixupSpec } from "./arch.js";
import { branches, condition, expandMacro, findClose, isIf, type Macro, macroArgs, parseMacroHead, word } from "./blocks.js";
import { type DirectiveHost, DIRECTIVES, isIgnoredDirective } from "./directives.js";
import { AsmError, fail, LineError, SourceError } from "./errors.js";
import { evaluate, type Expr, type Lookup, type NameHook, type Val } from "./expr.js";
import { placeSections, relaxSection } from "./layout.js";
import { parseExpression } from "./operands.js";
import { renderSection } from "./render.js";
import { type DataKind, type Fixup, type Label, Section } from "./sections.js";
import { splitStatements, type Statement } from "./source.js";
import { type SymbolInfo, Symbols } from "./symbols.js";

export { internalSymbol, type SymbolInfo } from "./symbols.js";

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

const NO_FIXUP: FixupRef = { fixupId: -1 };

/** Maps the handles given to architectures back to fixups (for FixupSpec.pair). */
type FixupTable = Map<number, Fixup>;

class Assembler implements DirectiveHost {
  private readonly sections = new Map<string, Section>();
  private section: Section;
  private previous: Section;
  private readonly sectionStack: [Section, Section][] = [];
  private readonly fixupsById: FixupTable = new Map();
  private line = 0;
  private readonly syms: Symbols;
  private readonly hook: NameHook;
  private readonly parseLookup: Lookup;
  private readonly relaxLookup: Lookup;
  private readonly finalLookup: Lookup;

  constructor(private readonly file: string, private readonly arch: Architecture) {
    this.section = this.previous = this.getSection(".text");
    this.syms = new Symbols(arch.syntax.expr, () => this.section.here());
    this.hook = this.syms.hook;
    this.parseLookup = this.syms.lookup("parse");
    this.relaxLookup = this.syms.lookup("relax");
    this.finalLookup = this.syms.lookup("final");
  }

  // ---- symbols ----

  private constValue(e: Expr): bigint | undefined {
    const v = evaluate(e, this.parseLookup, this.arch.syntax.expr);
    return v !== undefined && v.base === null ? v.off : undefined;
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
    this.syms.defineEqu(name, e, this.constValue(e), mustBeNew);
  }

  declareGlobal(name: string): void { this.syms.globals.add(name); }
  declareType(name: string, type: "func" | "object"): void { this.syms.types.set(name, type); }

  private readonly commons: { name: string; size: number; align: number; local: boolean; line: number }[] = [];
  private readonly locals = new Set<string>();
  declareCommon(name: string, size: number, align: number, local: boolean): void {
    if (this.syms.isDefined(name)) fail(`symbol \`${name}' is already defined`);
    const isLocal = local || this.syms.locals.has(name);
    if (!isLocal) this.syms.globals.add(name);
    this.commons.push({ name, size, align, local: isLocal, line: this.line });
  }
  declareLocal(name: string): void { this.syms.locals.add(name); }

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
        this.syms.defineLabel(c.name);
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
      get nameHook() { return self.hook; },
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
      this.syms.defineLabel(m[1]!);
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
    return this.syms.isDefined(name) || this.commons.some((c) => c.name === name);
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
      const taken = this.located(stmts[at]!.line, () => condition(stmts[at]!.text, {
        constant: (text, what) => this.constant(text, what),
        isDefined: (name) => this.isDefined(name),
      }));
      if (taken) {
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

    const symbols = this.syms.collect(this.finalLookup);
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
