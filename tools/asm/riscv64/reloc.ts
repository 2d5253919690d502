/**
 * RISC-V relocation operators (`%hi`, `%lo`, `%pcrel_hi`, `%pcrel_lo`) and branch relaxation
 * lengths, as GNU as computes them.
 */
import type { ExprSyntax, Val } from "../common/expr.js";
import type { Section } from "../common/sections.js";
import type { BranchSpec } from "./forms.js";

/** `%hi(v)`: the lui part that, with the sign-extended `%lo(v)`, rebuilds v. */
export function hiPart(v: bigint): bigint {
  return ((v + 0x800n) >> 12n) & 0xfffffn;
}

/** `%lo(v)`: the low 12 bits of v, sign-extended. */
export function loPart(v: bigint): bigint {
  return BigInt.asIntN(12, v);
}

/** Expression syntax: `%hi(x)` and `%lo(x)` of a constant are constants; `%pcrel_*` never are. */
export const RISCV_EXPRESSIONS: ExprSyntax = {
  relocOps: ["hi", "lo", "pcrel_hi", "pcrel_lo"],
  evalReloc: (fn, operand) => {
    if (fn === "pcrel_hi" || fn === "pcrel_lo") return undefined;
    const a = operand();
    if (a === undefined || a.base !== null) return undefined;
    return { base: null, off: BigInt.asIntN(64, fn === "hi" ? hiPart(a.off) : loPart(a.off)) };
  },
};

/** Reach of each branch kind, as [-reach/2, reach/2) around the branch address. */
const RVC_BRANCH_REACH = 1 << 9;
const RVC_JUMP_REACH = 1 << 12;
const BRANCH_REACH = 1 << 13;

const within = (d: number, reach: number): boolean => d >= -reach / 2 && d < reach / 2;

/**
 * GNU as branch length (`relaxed_branch_length`) for a branch at section offset `at` whose target
 * is `target`: a branch to a label of the same section is 2 bytes when compressed and in
 * compressed reach, else 4 when in the ±4 KiB branch reach, else 6 (inverted c.beqz/c.bnez + jal)
 * or 8 (inverted branch + jal). A target in another section or an absolute address gets the
 * worst case: 8 for branches, 4 for jumps.
 */
export function branchLength(spec: BranchSpec, at: number, target: Val | undefined, sec: Section): number {
  const jump = spec.cond === null;
  if (target === undefined || target.base !== sec.name) return jump ? 4 : 8;
  const d = Number(target.off) - at;
  if (spec.rvc && within(d, jump ? RVC_JUMP_REACH : RVC_BRANCH_REACH)) return 2;
  if (within(d, BRANCH_REACH)) return 4;
  if (!jump && spec.rvc) return 6;
  return jump ? 4 : 8;
}
