/**
 * Layout: sizes the variable fragments of each section (relaxation as GNU as `relax_segment`
 * does it, with the architecture deciding each relaxable fragment's size), then places the
 * sections in memory.
 */
import type { Architecture } from "./arch.js";
import { LineError } from "./errors.js";
import { evaluate, type Lookup, type Val } from "./expr.js";
import type { Frag, Section } from "./sections.js";

/** Section placement granule: each section starts on its own page so permissions are page-granular. */
export const SECTION_ALIGN = 0x1000;

/** Padding an `.align` fragment needs at offset `start`. */
export function alignPadding(f: Extract<Frag, { kind: "align" }>, start: number): number {
  const pad = (f.align - (start % f.align)) % f.align;
  return pad > f.max ? 0 : pad;
}

/** Size of fragment `f` if it starts at `at` (sets align/org sizes; relaxable ones keep theirs). */
function sizeAt(f: Frag, at: number): number {
  switch (f.kind) {
    case "data": return f.buf.length;
    case "fill": case "relax": return f.size;
    case "align": return (f.size = alignPadding(f, at));
    case "org": return (f.size = Math.max(0, f.target - at));
  }
}

/** Sets every fragment's start offset (and align/org sizes); returns the section size. */
export function computeStarts(sec: Section): number {
  let at = 0;
  for (const f of sec.frags) {
    f.start = at;
    if (f.kind === "org" && f.target < at) throw new LineError(f.line, `.org ${f.target} moves backwards (section offset is already ${at})`);
    at += sizeAt(f, at);
  }
  return at;
}

/** After this many passes, relaxable sizes may only grow, so relaxation always ends. */
const FREE_PASSES = 50;

/**
 * Sizes the relaxable fragments of `sec` the way GNU as `relax_segment` does, so that branches
 * at a reach boundary come out the same: a first estimate in which fragments not yet visited
 * sit at address 0, then passes that walk the fragments in order, each fragment measuring to its
 * target's address from the current pass if the target is behind it, from the previous pass
 * otherwise, until no size changes. `lookup` must resolve labels to section offsets (base =
 * section name) from the fragments' current `start`.
 */
export function relaxSection(sec: Section, lookup: Lookup, arch: Architecture): void {
  const targetOf = (spec: unknown): Val | undefined => {
    try {
      return evaluate(arch.relaxTarget(spec), lookup, arch.syntax.expr);
    } catch {
      return undefined;
    }
  };
  /** Recomputes a label-relative `.org` target from the labels placed so far. */
  const orgTarget = (f: Extract<Frag, { kind: "org" }>): void => {
    if (!f.expr) return;
    const v = evaluate(f.expr, lookup, arch.syntax.expr);
    if (v === undefined || v.base !== sec.name) throw new LineError(f.line, `.org target is not an offset in ${sec.name}`);
    f.target = Number(v.off);
  };
  for (const f of sec.frags) f.start = 0;
  let at = 0;
  for (const f of sec.frags) {
    f.start = at;
    if (f.kind === "relax") f.size = arch.relaxSize(f.spec, at, targetOf(f.spec), sec);
    if (f.kind === "org") orgTarget(f);
    at += sizeAt(f, at);
  }
  for (let pass = 0; ; pass++) {
    let changed = false;
    at = 0;
    for (const f of sec.frags) {
      f.start = at;
      if (f.kind === "org") orgTarget(f);
      if (f.kind === "relax") {
        const need = arch.relaxSize(f.spec, at, targetOf(f.spec), sec);
        if (need > f.size || (need < f.size && pass < FREE_PASSES)) {
          f.size = need;
          changed = true;
        }
      }
      at += sizeAt(f, at);
    }
    if (!changed) break;
  }
  sec.size = computeStarts(sec);
}

/**
 * Gives each section its address: the first non-empty one at `base` (rounded up to its own
 * alignment), each next one at the next SECTION_ALIGN boundary (or its larger alignment).
 * Empty sections take no space.
 */
export function placeSections(order: Section[], base: bigint): void {
  let cursor = base;
  let first = true;
  for (const sec of order) {
    const align = BigInt(first ? sec.align : Math.max(sec.align, SECTION_ALIGN));
    sec.addr = ((cursor + align - 1n) / align) * align;
    if (sec.size > 0) {
      cursor = sec.addr + BigInt(sec.size);
      first = false;
    }
  }
}
