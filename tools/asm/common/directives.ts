/**
 * Assembler directives common to every architecture (GNU as names and meanings; `.align` takes
 * a power of two, as on RISC-V and AArch64 — an architecture where it counts bytes overrides it
 * through Architecture.directives, as it does any other directive). `.rept`/`.endr` and `.end`
 * are handled by the driver because they act on statements.
 */
import { fail } from "./errors.js";
import type { Expr } from "./expr.js";
import { tokenize } from "./lexer.js";
import { splitArgs } from "./operands.js";

/** What directives may do to the assembler. Implemented by the driver. */
export interface DirectiveHost {
  /** Switches to section `name`, creating it (flags inferred from the name unless given). */
  switchSection(name: string, flags?: string, nobits?: boolean): void;
  pushSection(): void;
  popSection(): void;
  previousSection(): void;
  /** The name of the section being assembled into. */
  currentSection(): string;
  expr(text: string): Expr;
  /** An expression that must be a constant now. */
  constant(text: string, what: string): bigint;
  emitData(size: 1 | 2 | 4 | 8, e: Expr): void;
  emitBytes(bytes: number[]): void;
  emitFill(size: number, byte: number): void;
  /** Pads to a multiple of `bytes` (a power of two); fill null = nops in code, zeros elsewhere. */
  align(bytes: number, fill: number | null, max: number): void;
  /** `.org`: a constant section offset, or an expression relative to a label of this section. */
  org(target: Expr, fill: number): void;
  defineSymbol(name: string, e: Expr, mustBeNew: boolean): void;
  declareGlobal(name: string): void;
  declareType(name: string, type: "func" | "object"): void;
  /**
   * `.comm`/`.lcomm`: reserves `size` bytes aligned to `align` for `name` at the end of .bss:
   * local symbols (`.lcomm`, or `.comm` after `.local`) first, in order (GNU as allocates them in
   * .bss subsection 1), then global ones (GNU leaves those to the linker, which puts COMMON after
   * .bss).
   */
  declareCommon(name: string, size: number, align: number, local: boolean): void;
  /** `.local`: `name` stays local (a later `.comm` of it is allocated in .bss, not common). */
  declareLocal(name: string): void;
}

/** A directive: receives its argument text (after the name) and acts on the host. */
export type DirectiveHandler = (args: string, host: DirectiveHost) => void;
type Handler = DirectiveHandler;

const SYMBOL = /^[A-Za-z_.$][A-Za-z0-9_.$]*$/;

function symbolName(text: string): string {
  const name = text.trim();
  if (!SYMBOL.test(name)) fail(`bad symbol name \`${name}'`);
  return name;
}

/** A string literal argument (bytes). */
function stringBytes(text: string): number[] {
  const toks = tokenize(text);
  const t = toks[0];
  if (toks.length !== 1 || t?.t !== "str") fail(`expected a string, got \`${text}'`);
  return t.bytes;
}

/** The handler of a data directive of `size` bytes per value (`.byte`, `.word`...). */
export function data(size: 1 | 2 | 4 | 8): Handler {
  return (args, host) => {
    for (const a of splitArgs(args)) host.emitData(size, host.expr(a));
  };
}

function strings(zeroTerminated: boolean): Handler {
  return (args, host) => {
    for (const a of splitArgs(args)) host.emitBytes(zeroTerminated ? [...stringBytes(a), 0] : stringBytes(a));
  };
}

/** `.align`/`.p2align`/`.balign` arguments: amount[, fill[, max]]; power of two or byte count. */
export function alignment(powerOfTwo: boolean): Handler {
  return (args, host) => {
    const [amount, fill, max] = splitArgs(args);
    if (amount === undefined) fail("missing alignment");
    const n = Number(host.constant(amount, "alignment"));
    let bytes: number;
    if (powerOfTwo) {
      if (n < 0 || n > 30) fail(`alignment 2**${n} out of range [0, 30]`);
      bytes = 2 ** n;
    } else {
      if (n < 1 || n > 2 ** 30 || (n & (n - 1)) !== 0) fail(`alignment ${n} is not a power of two`);
      bytes = n;
    }
    const fillByte = fill === undefined || fill === "" ? null : Number(host.constant(fill, "fill value") & 0xffn);
    // GNU (write.c relax_align) applies only a nonzero maximum: 0 means no limit.
    const maxSkip = max === undefined || max === "" ? bytes : Number(host.constant(max, "maximum skip")) || bytes;
    host.align(bytes, fillByte, maxSkip);
  };
}

function space(args: string, host: DirectiveHost): void {
  const [size, fill] = splitArgs(args);
  if (size === undefined) fail("missing size");
  const n = Number(host.constant(size, "size"));
  if (n < 0) fail(`size ${n} is negative`);
  host.emitFill(n, fill === undefined ? 0 : Number(host.constant(fill, "fill value") & 0xffn));
}

/** Infers segment permissions from a GNU section flags string such as "ax" or "aw". */
function sectionFlags(flags: string): string {
  return `r${flags.includes("w") ? "w" : ""}${flags.includes("x") ? "x" : ""}`;
}

function section(args: string, host: DirectiveHost): void {
  const [rawName, flags, type] = splitArgs(args);
  if (!rawName) fail("missing section name");
  const name = rawName.startsWith('"') ? new TextDecoder().decode(new Uint8Array(stringBytes(rawName))) : rawName;
  const nobits = type === undefined ? undefined : /nobits/.test(type);
  host.switchSection(name, flags === undefined ? undefined : sectionFlags(stringBytes(flags).map((b) => String.fromCharCode(b)).join("")), nobits);
}

function equate(mustBeNew: boolean): Handler {
  return (args, host) => {
    const [name, value, ...rest] = splitArgs(args);
    if (name === undefined || value === undefined || rest.length > 0) fail("expected `NAME, expression'");
    host.defineSymbol(symbolName(name), host.expr(value), mustBeNew);
  };
}

/**
 * `.comm name, size[, align]` (ELF: the alignment is in bytes) and `.lcomm name, size`, whose
 * alignment GNU derives from the size (8 for 8 bytes or more, then 4, 2, 1).
 */
function common(local: boolean): Handler {
  return (args, host) => {
    const [name, size, align, ...rest] = splitArgs(args);
    if (name === undefined || size === undefined || rest.length > 0 || (local && align !== undefined)) {
      fail(local ? "expected `NAME, size'" : "expected `NAME, size[, alignment]'");
    }
    const n = Number(host.constant(size, "size"));
    if (n < 0) fail(`size ${n} is negative`);
    const natural = n >= 8 ? 8 : n >= 4 ? 4 : n >= 2 ? 2 : 1;
    const a = align === undefined ? (local ? natural : 1) : Number(host.constant(align, "alignment"));
    if (a < 1 || (a & (a - 1)) !== 0) fail(`alignment ${a} is not a power of two`);
    host.declareCommon(symbolName(name), n, a, local);
  };
}

const ignore: Handler = () => {};

/** Common directive handlers by name (with the leading dot). */
export const DIRECTIVES: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  [".text", (_a, h) => h.switchSection(".text")],
  [".data", (_a, h) => h.switchSection(".data")],
  [".rodata", (_a, h) => h.switchSection(".rodata")],
  [".bss", (_a, h) => h.switchSection(".bss")],
  [".section", section],
  [".pushsection", (a, h) => { h.pushSection(); section(a, h); }],
  [".popsection", (_a, h) => h.popSection()],
  [".previous", (_a, h) => h.previousSection()],
  [".byte", data(1)], [".half", data(2)], [".hword", data(2)], [".short", data(2)], [".2byte", data(2)],
  [".word", data(4)], [".long", data(4)], [".4byte", data(4)],
  [".dword", data(8)], [".quad", data(8)], [".8byte", data(8)],
  [".ascii", strings(false)], [".asciz", strings(true)], [".string", strings(true)],
  [".zero", space], [".space", space], [".skip", space],
  [".fill", (args, host) => {
    const [repeat, size = "1", value = "0"] = splitArgs(args);
    if (repeat === undefined) fail("missing repeat count");
    const n = Number(host.constant(repeat, "repeat count"));
    const sz = Number(host.constant(size, "size"));
    if (n < 0 || sz < 0 || sz > 8) fail(".fill wants repeat >= 0 and size in [0, 8]");
    const v = BigInt.asUintN(32, host.constant(value, "fill value"));
    const unit = Array.from({ length: sz }, (_, i) => (i < 4 ? Number((v >> BigInt(8 * i)) & 0xffn) : 0));
    if (unit.every((b) => b === unit[0])) host.emitFill(n * sz, unit[0] ?? 0);
    else for (let i = 0; i < n; i++) host.emitBytes(unit);
  }],
  [".align", alignment(true)], [".p2align", alignment(true)], [".balign", alignment(false)],
  [".org", (args, host) => {
    const [target, fill] = splitArgs(args);
    if (target === undefined) fail("missing .org target");
    host.org(host.expr(target), fill === undefined ? 0 : Number(host.constant(fill, "fill value") & 0xffn));
  }],
  [".equ", equate(false)], [".set", equate(false)], [".equiv", equate(true)],
  [".comm", common(false)], [".lcomm", common(true)],
  [".local", (a, h) => splitArgs(a).forEach((n) => h.declareLocal(symbolName(n)))],
  [".globl", (a, h) => splitArgs(a).forEach((n) => h.declareGlobal(symbolName(n)))],
  [".global", (a, h) => splitArgs(a).forEach((n) => h.declareGlobal(symbolName(n)))],
  [".weak", (a, h) => splitArgs(a).forEach((n) => h.declareGlobal(symbolName(n)))],
  [".type", (args, host) => {
    const [name, type] = splitArgs(args);
    if (name === undefined || type === undefined) fail("expected `.type NAME, @function|@object'");
    if (/function/.test(type)) host.declareType(symbolName(name), "func");
    else if (/object/.test(type)) host.declareType(symbolName(name), "object");
  }],
  ...[".hidden", ".protected", ".internal", ".size", ".file", ".ident", ".attribute", ".loc",
    ".addrsig", ".addrsig_sym", ".variant_cc"].map((d): [string, Handler] => [d, ignore]),
]);

/** True for CFI directives, accepted and ignored (no unwind tables are produced). */
export function isIgnoredDirective(name: string): boolean {
  return name.startsWith(".cfi_");
}
