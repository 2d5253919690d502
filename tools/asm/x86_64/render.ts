/**
 * What happens once addresses are final: instruction fixups and the nop padding of `.align` in
 * code, as GNU as (2.40) produces them. (Jumps: relax.ts.)
 */
import type { PatchSite } from "../common/arch.js";
import type { Fixup } from "../common/sections.js";
import { checkRange, type InsnFixup, type Range } from "./encode.js";
import { fail } from "./shared.js";

/** Writes the low `size` bytes of `v` at `out[at]`, little-endian. */
export const put = (out: Uint8Array, at: number, v: bigint, size: number): void => {
  let u = BigInt.asUintN(64, v);
  for (let i = 0; i < size; i++, u >>= 8n) out[at + i] = Number(u & 0xffn);
};

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
