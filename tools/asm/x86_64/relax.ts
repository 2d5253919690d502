/**
 * Jump relaxation as GNU as 2.40 does it for x86 (write.c `relax_segment`/`relax_frag`,
 * tc-i386.c `md_relax_table`, `md_estimate_size_before_relax`), so that every JMP/Jcc comes out
 * short (EB / 70+cc rel8) or near (E9 / 0F 80+cc rel32) exactly as in GNU's output:
 *
 *  - a jump to a label of the same section starts short whatever the distance; a target in
 *    another section, a weak symbol (it may be overridden at link time) or an absolute address
 *    is near from the start;
 *  - each pass walks the section in order; a jump grows to near when its target is out of rel8
 *    reach, and never shrinks back;
 *  - a backward target is measured at its address in the current pass; a forward one at its
 *    address in the previous pass plus `stretch` (how much everything before the jump has grown
 *    in this pass), except across an alignment or `.org` (another "region"), where GNU does not
 *    add the stretch and leaves the jump alone if the target then appears behind it.
 *
 * The common driver hands relaxSize the target's offset from the current pass for fragments it
 * has visited and from the previous pass for the others; a jump knows whether its target comes
 * later in the source (`forward`, decided when the jump was assembled), and this module keeps
 * each jump's previous address and size to compute the stretch.
 */
import type { PatchSite } from "../common/arch.js";
import type { Val } from "../common/expr.js";
import type { Frag, Section } from "../common/sections.js";
import type { BranchSpec } from "./forms.js";
import { put } from "./render.js";
import { fail } from "./shared.js";

/** A jump fragment: the instruction's spec plus whether its target is defined later in the source. */
export interface JumpSpec extends BranchSpec {
  forward: boolean;
}

/** Size of a short jump (opcode + rel8). */
const SHORT = 2;
/** Near size: E9 rel32 (5 bytes) or 0F 8x rel32 (6 bytes). */
const nearSize = (spec: BranchSpec): number => (spec.cond === null ? 5 : 6);

/** What the sizer remembers about a jump between passes. */
interface JumpState {
  /** Index of the jump's fragment in its section. */
  index: number;
  /** Start of the jump in the previous pass. */
  at: number;
  size: number;
}

/** True when an alignment or `.org` lies between fragment `from` and the (previous-pass) offset `off`. */
function crossesRegion(frags: readonly Frag[], from: number, off: number): boolean {
  for (let j = from + 1; j < frags.length; j++) {
    const f = frags[j]!;
    if (f.start > off) return false;
    // A label at the start of an empty alignment is taken to follow it (labels usually do).
    if ((f.kind === "align" || f.kind === "org") && (f.start < off || f.size === 0)) return true;
  }
  return false;
}

/**
 * The jump sizer for Architecture.relaxSize: called for every jump in order, once for GNU's
 * first estimate and then once per pass. `weak` holds the names declared `.weak` (filled while
 * assembling, read during layout). Make one per assembly.
 */
export function jumpSizer(weak: ReadonlySet<string>): (spec: JumpSpec, at: number, target: Val | undefined, sec: Section) => number {
  const states = new WeakMap<JumpSpec, JumpState>();
  const indexes = new WeakMap<Section, Map<unknown, number>>();
  /** Index of the fragment of `spec` in `sec` (the fragment list is fixed during layout). */
  const fragIndex = (sec: Section, spec: JumpSpec): number => {
    let map = indexes.get(sec);
    if (!map) {
      map = new Map(sec.frags.flatMap((f, i) => (f.kind === "relax" ? [[f.spec, i] as const] : [])));
      indexes.set(sec, map);
    }
    return map.get(spec) ?? -1;
  };
  return (spec, at, target, sec) => {
    const preemptible = spec.target.k === "sym" && weak.has(spec.target.name);
    const local = target !== undefined && target.base === sec.name && !preemptible;
    const state = states.get(spec);
    if (!state) {
      const index = fragIndex(sec, spec);
      const size = local ? SHORT : nearSize(spec);
      states.set(spec, { index, at, size });
      return size;
    }
    const stretch = at - state.at;
    state.at = at;
    if (!local || state.size !== SHORT) return state.size;
    let aim = Number(target.off);
    if (spec.forward && stretch !== 0) {
      if (stretch < 0 || !crossesRegion(sec.frags, state.index, aim)) aim += stretch;
      else if (aim < at + 1) return state.size;
    }
    const disp = aim - (at + SHORT);
    if (disp < -128 || disp > 127) state.size = nearSize(spec);
    return state.size;
  };
}

/** Renders a jump of `size` bytes (as sized by jumpSizer). */
export function renderJump(spec: BranchSpec, size: number, site: PatchSite): void {
  const target = site.value(spec.target);
  const disp = target - (site.pc + BigInt(size));
  const hex = `0x${BigInt.asUintN(64, target).toString(16)}`;
  if (size === SHORT) {
    if (disp < -128n || disp > 127n) fail(`jump target ${hex} out of rel8 reach`);
    site.out[site.at] = spec.cond === null ? 0xeb : 0x70 + spec.cond;
    put(site.out, site.at + 1, disp, 1);
    return;
  }
  if (disp < -(1n << 31n) || disp >= 1n << 31n) fail(`jump target ${hex} out of rel32 reach`);
  const opcode = spec.cond === null ? [0xe9] : [0x0f, 0x80 + spec.cond];
  site.out.set(opcode, site.at);
  put(site.out, site.at + opcode.length, disp, 4);
}
