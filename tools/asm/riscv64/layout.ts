/**
 * Layout: sizes the variable fragments of each section (branch relaxation as GNU as does it),
 * then places the sections in memory.
 *
 * Branch sizes follow GNU as `relaxed_branch_length`: a branch to a label of the same section
 * is 2 bytes when compressed and in compressed reach, else 4 when in the ±4 KiB branch reach,
 * else 6 (inverted c.beqz/c.bnez + jal) or 8 (inverted branch + jal). A target in another
 * section or an absolute address gets the worst case: 8 for branches, 4 for jumps.
 * Sizes only grow from their smallest value until nothing changes, so the loop ends.
 */
import { LineError } from "./errors.js";
import { evaluate, type Lookup, type Val } from "./expr.js";
import type { BranchSpec } from "./forms.js";
import type { Frag, Section } from "./sections.js";

/** Reach of each branch kind, as [-reach/2, reach/2) around the branch address. */
const RVC_BRANCH_REACH = 1 << 9;
const RVC_JUMP_REACH = 1 << 12;
const BRANCH_REACH = 1 << 13;

/** Section placement granule: each section starts on its own page so permissions are page-granular. */
export const SECTION_ALIGN = 0x1000;

const within = (d: number, reach: number): boolean => d >= -reach / 2 && d < reach / 2;

/** GNU as branch length for a branch at section offset `at` whose target is `target`. */
export function branchLength(spec: BranchSpec, at: number, target: Val | undefined, sec: Section): number {
  const jump = spec.cond === null;
  if (target === undefined || target.base !== sec.name) return jump ? 4 : 8;
  const d = Number(target.off) - at;
  if (spec.rvc && within(d, jump ? RVC_JUMP_REACH : RVC_BRANCH_REACH)) return 2;
  if (within(d, BRANCH_REACH)) return 4;
  if (!jump && spec.rvc) return 6;
  return jump ? 4 : 8;
}

/** Padding an `.align` fragment needs at offset `start`. */
export function alignPadding(f: Extract<Frag, { kind: "align" }>, start: number): number {
  const pad = (f.align - (start % f.align)) % f.align;
  return pad > f.max ? 0 : pad;
}

/** Size of fragment `f` if it starts at `at` (sets align/org sizes; branches keep theirs). */
function sizeAt(f: Frag, at: number): number {
  switch (f.kind) {
    case "data": return f.buf.length;
    case "fill": case "branch": return f.size;
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

/** After this many passes, branch sizes may only grow, so relaxation always ends. */
const FREE_PASSES = 50;

/**
 * Sizes the relaxable branches of `sec` the way GNU as `relax_segment` does, so that branches
 * at a reach boundary come out the same: a first estimate in which fragments not yet visited
 * sit at address 0, then passes that walk the fragments in order, each branch measuring to its
 * target's address from the current pass if the target is behind it, from the previous pass
 * otherwise, until no size changes. `lookup` must resolve labels to section offsets (base =
 * section name) from the fragments' current `start`.
 */
export function relaxSection(sec: Section, lookup: Lookup): void {
  const targetOf = (b: Extract<Frag, { kind: "branch" }>): Val | undefined => {
    try {
      return evaluate(b.spec.target, lookup);
    } catch {
      return undefined;
    }
  };
  for (const f of sec.frags) f.start = 0;
  let at = 0;
  for (const f of sec.frags) {
    f.start = at;
    if (f.kind === "branch") f.size = branchLength(f.spec, at, targetOf(f), sec);
    at += sizeAt(f, at);
  }
  for (let pass = 0; ; pass++) {
    let changed = false;
    at = 0;
    for (const f of sec.frags) {
      f.start = at;
      if (f.kind === "branch") {
        const need = branchLength(f.spec, at, targetOf(f), sec);
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
