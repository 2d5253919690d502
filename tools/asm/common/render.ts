/**
 * Final pass: turns laid-out sections into bytes: fixed bytes, fills, alignment padding (the
 * architecture's nops in code), relaxable fragments and instruction fixups (through the
 * architecture), data fixups (here). Every error names the source line.
 */
import type { Architecture, PatchSite } from "./arch.js";
import { fail, LineError, SourceError } from "./errors.js";
import { evaluate, type Expr, type Lookup } from "./expr.js";
import type { Fixup, Section } from "./sections.js";

const DATA_SIZES: Readonly<Record<string, number>> = { d1: 1, d2: 2, d4: 4, d8: 8 };

/** Runs `f`, turning a SourceError without a line into a LineError for `line`. */
function atLine<T>(line: number, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof SourceError && !(e instanceof LineError)) throw new LineError(line, e.message);
    throw e;
  }
}

/**
 * The final absolute value of `e`.
 * @throws SourceError when it is not a plain number (a relocation operator inside an expression).
 */
export function finalValue(e: Expr, lookup: Lookup, arch: Architecture): bigint {
  const v = evaluate(e, lookup, arch.syntax.expr);
  if (v === undefined || v.base !== null) fail("expression cannot be computed (relocation operator inside an expression?)");
  return v.off;
}

function site(sec: Section, out: Uint8Array, at: number, lookup: Lookup, arch: Architecture): PatchSite {
  return { out, at, pc: sec.addr + BigInt(at), value: (e) => finalValue(e, lookup, arch) };
}

/** Patches a `.byte`/`.hword`/`.word`/`.quad` value; fails if it does not fit (GNU only warns). */
function applyData(fx: Fixup, size: number, s: PatchSite): void {
  const v = s.value(fx.expr);
  const bits = BigInt(size * 8);
  if (size < 8 && (v < -(1n << (bits - 1n)) || v >= 1n << bits)) fail(`value ${v} does not fit in ${size} byte${size > 1 ? "s" : ""}`);
  let u = BigInt.asUintN(size * 8, v);
  for (let i = 0; i < size; i++, u >>= 8n) s.out[s.at + i] = Number(u & 0xffn);
}

/**
 * Produces the final bytes of a section (empty for .bss-like sections).
 * @throws LineError for out-of-range values, undefined symbols and misaligned targets.
 */
export function renderSection(sec: Section, lookup: Lookup, arch: Architecture): Uint8Array {
  const out = new Uint8Array(sec.nobits ? 0 : sec.size);
  if (sec.nobits) return out;
  for (const f of sec.frags) {
    switch (f.kind) {
      case "data": out.set(f.buf.bytes(), f.start); break;
      case "fill": out.fill(f.byte, f.start, f.start + f.size); break;
      case "org": out.fill(f.fill, f.start, f.start + f.size); break;
      case "align":
        if (f.fill !== null) out.fill(f.fill, f.start, f.start + f.size);
        else if (sec.code) arch.padCode(out, f.start, f.size);
        break;
      case "relax":
        atLine(f.line, () => arch.renderRelax(f.spec, f.size, site(sec, out, f.start, lookup, arch)));
        break;
    }
  }
  for (const fx of sec.fixups) {
    atLine(fx.line, () => {
      const s = site(sec, out, sec.frags[fx.frag]!.start + fx.off, lookup, arch);
      const size = DATA_SIZES[fx.kind];
      if (size !== undefined) applyData(fx, size, s);
      else arch.applyFixup(fx, s);
    });
  }
  return out;
}
