/**
 * Patching instruction fields once addresses are final. Every check GNU as (or ld, for the
 * relocations it would leave in an object) makes is an error naming the line: branch targets
 * out of range or not 4-byte aligned, ADRP pages beyond ±4 GiB, `:lo12:` offsets not aligned to
 * the access size, `:abs_gN:` values that overflow.
 */
import type { PatchSite } from "../common/arch.js";
import { fail } from "../common/errors.js";
import type { Fixup } from "../common/sections.js";

const hex = (v: bigint): string => `0x${BigInt.asUintN(64, v).toString(16)}`;

/** A word-aligned pc-relative distance to `target` in [-2^(bits+1), 2^(bits+1)), as a field of `bits` bits. */
function branchField(target: bigint, pc: bigint, bits: number, what: string): number {
  const d = target - pc;
  if ((d & 3n) !== 0n) fail(`${what} target ${hex(target)} is not 4-byte aligned`);
  const reach = 1n << BigInt(bits + 1);
  if (d < -reach || d >= reach) fail(`${what} target ${hex(target)} is out of range (offset ${d}, range [${-reach}, ${reach - 4n}])`);
  return Number(BigInt.asUintN(bits, d >> 2n));
}

/** The immlo:immhi fields of ADR/ADRP from a 21-bit value. */
function adrFields(v: bigint): number {
  const u = Number(BigInt.asUintN(21, v));
  return ((u & 3) << 29) | ((u >> 2) << 5);
}

/** Patches one A64 fixup (kinds in insn.ts A64Fixup) at `site`. */
export function applyA64Fixup(fx: Fixup, site: PatchSite): void {
  const view = new DataView(site.out.buffer, site.out.byteOffset);
  const word = view.getUint32(site.at, true);
  const target = site.value(fx.expr);
  let field: number;
  switch (fx.kind) {
    case "b26": field = branchField(target, site.pc, 26, "branch"); break;
    case "b19": field = branchField(target, site.pc, 19, "branch") << 5; break;
    case "b14": field = branchField(target, site.pc, 14, "test-and-branch") << 5; break;
    case "adr": {
      const d = target - site.pc;
      if (d < -(1n << 20n) || d >= 1n << 20n) fail(`adr target ${hex(target)} is out of range (offset ${d}, range [-1048576, 1048575])`);
      field = adrFields(d);
      break;
    }
    case "adrp": {
      const pages = (target >> 12n) - (site.pc >> 12n);
      if (pages < -(1n << 20n) || pages >= 1n << 20n) fail(`adrp target ${hex(target)} is more than 4 GiB away`);
      field = adrFields(pages);
      break;
    }
    case "add_lo12": field = Number(target & 0xfffn) << 10; break;
    case "ldst_lo12_0": case "ldst_lo12_1": case "ldst_lo12_2": case "ldst_lo12_3": case "ldst_lo12_4": {
      const scale = Number(fx.kind.slice(-1));
      const lo = Number(target & 0xfffn);
      if (lo % (1 << scale) !== 0) fail(`:lo12: offset 0x${lo.toString(16)} of ${hex(target)} is not a multiple of the access size ${1 << scale}`);
      field = (lo >> scale) << 10;
      break;
    }
    default: {
      const m = /^movw([0-3])(_nc)?$/.exec(fx.kind);
      if (!m) throw new Error(`unexpected fixup kind ${fx.kind}`);
      const g = BigInt(m[1]);
      const u = BigInt.asUintN(64, target);
      if (!m[2] && (target < 0n ? -target : target) >> (16n * (g + 1n)) !== 0n && g < 3n) {
        fail(`:abs_g${g}: value ${hex(target)} does not fit in ${16n * (g + 1n)} bits`);
      }
      field = Number((u >> (16n * g)) & 0xffffn) << 5;
    }
  }
  view.setUint32(site.at, (word | field) >>> 0, true);
}
