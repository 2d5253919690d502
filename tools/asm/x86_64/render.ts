/**
 * What happens once addresses are final: jump relaxation sizes and bytes, instruction fixups,
 * and the nop padding of `.align` in code, all as GNU as (2.40) produces them.
 *
 * Jumps (GNU `md_relax_table`, `md_estimate_size_before_relax`): a JMP/Jcc to a label of the
 * same section starts short (EB/70+cc rel8) and becomes near (E9 rel32 / 0F 80+cc rel32) when
 * the target is out of rel8 reach; a target in another section or an absolute address is near
 * from the start.
 */
import type { PatchSite } from "../common/arch.js";
import type { Val } from "../common/expr.js";
import type { Fixup, Section } from "../common/sections.js";
import { checkRange, type InsnFixup, type Range } from "./encode.js";
import type { BranchSpec } from "./forms.js";
import { fail } from "./shared.js";

/** Size of a short jump (opcode + rel8). */
const SHORT = 2;

/** Near size: E9 rel32 (5 bytes) or 0F 8x rel32 (6 bytes). */
const nearSize = (spec: BranchSpec): number => (spec.cond === null ? 5 : 6);

/** GNU as's size for a jump at section offset `at` whose target is `target`. */
export function branchSize(spec: BranchSpec, at: number, target: Val | undefined, sec: Section): number {
  if (target === undefined || target.base !== sec.name) return nearSize(spec);
  const disp = Number(target.off) - (at + SHORT);
  return disp >= -128 && disp <= 127 ? SHORT : nearSize(spec);
}

const put = (out: Uint8Array, at: number, v: bigint, size: number): void => {
  let u = BigInt.asUintN(64, v);
  for (let i = 0; i < size; i++, u >>= 8n) out[at + i] = Number(u & 0xffn);
};

/** Renders a jump of `size` bytes (as sized by branchSize). */
export function renderBranch(spec: BranchSpec, size: number, site: PatchSite): void {
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

/** The fixup kind string of an instruction fixup: `abs:<size>:<range>` or `pc:<size>:<bytes to the end>`. */
export function fixupKind(fx: InsnFixup, insnLength: number): string {
  return fx.pcrel ? `pc:${fx.size}:${insnLength - fx.at}` : `abs:${fx.size}:${fx.range}`;
}

/** Patches an instruction fixup made by fixupKind. */
export function applyFixup(fx: Fixup, site: PatchSite): void {
  const [type, sizeText, extra] = fx.kind.split(":");
  const size = Number(sizeText);
  const v = site.value(fx.expr);
  if (type === "pc") {
    const disp = v - (site.pc + BigInt(extra));
    const bits = BigInt(size * 8);
    if (disp < -(1n << (bits - 1n)) || disp >= 1n << (bits - 1n)) {
      fail(`target 0x${BigInt.asUintN(64, v).toString(16)} out of reach of a ${size * 8}-bit pc-relative offset (${disp})`);
    }
    put(site.out, site.at, disp, size);
  } else if (type === "abs") {
    checkRange(v, size, extra as Range, "value");
    put(site.out, site.at, v, size);
  } else {
    throw new Error(`x86_64: unknown fixup kind ${fx.kind}`);
  }
}

/**
 * GNU's nop patterns for 64-bit code (`alt_patt`, generic64 tuning), by length 1–11. Longer
 * padding is made of 11-byte nops then one shorter; from 88 bytes on, a jump over the padding
 * comes first (EB rel8 up to 129 bytes, E9 rel32 beyond).
 * @spec Intel SDM Vol. 2B NOP, Table 4-12 "Recommended Multi-Byte Sequence of NOP Instruction"
 */
const NOPS: readonly (readonly number[])[] = [
  [],
  [0x90],
  [0x66, 0x90],
  [0x0f, 0x1f, 0x00],
  [0x0f, 0x1f, 0x40, 0x00],
  [0x0f, 0x1f, 0x44, 0x00, 0x00],
  [0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
  [0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00],
  [0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
  [0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
  [0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
  [0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
];
const MAX_NOP = 11;
/** Padding of at least this many bytes starts with a jump over the rest (GNU as 2.40). */
const JUMP_OVER_FROM = 88;

/** Writes `size` bytes of code padding at `out[at]`. */
export function padCode(out: Uint8Array, at: number, size: number): void {
  let i = at;
  let left = size;
  if (size >= JUMP_OVER_FROM) {
    const short = size - 2 <= 127;
    const jump = short ? [0xeb, size - 2] : [0xe9, ...[0, 8, 16, 24].map((s) => ((size - 5) >> s) & 0xff)];
    out.set(jump, i);
    i += jump.length;
    left -= jump.length;
  }
  for (; left > MAX_NOP; left -= MAX_NOP, i += MAX_NOP) out.set(NOPS[MAX_NOP]!, i);
  out.set(NOPS[left]!, i);
}
