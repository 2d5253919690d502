/**
 * The RISC-V part of the final pass: encoding relaxed branches, code padding and applying
 * instruction fixups with final addresses (the common renderer calls these).
 */
import type { PatchSite } from "../common/arch.js";
import { fail } from "../common/errors.js";
import type { Fixup, Section } from "../common/sections.js";
import { BRANCH_INVERT, bType, C, C_BRANCH_INVERT, iImm, jType, sImm, uImm } from "./encode.js";
import type { BranchSpec } from "./forms.js";
import { hiPart, loPart } from "./reloc.js";

const NOP = 0x00000013;
const C_NOP = 0x0001;

const hex = (v: bigint): string => `0x${BigInt.asUintN(64, v).toString(16)}`;

/** Checks a pc-relative offset: even, and within [-reach, reach). */
function pcrel(d: bigint, reach: bigint, target: bigint, what: string): number {
  if ((target & 1n) !== 0n) fail(`${what} target ${hex(target)} is not 2-byte aligned`);
  if (d < -reach || d >= reach) fail(`${what} target ${hex(target)} is out of reach (offset ${d}, range [${-reach}, ${reach - 2n}])`);
  return Number(d);
}

/** Checks that a %hi/%pcrel_hi value can be rebuilt by lui/auipc + a 12-bit add on RV64. */
function hi20(v: bigint, what: string): number {
  if (v < -0x80000800n || v >= 0x7ffff800n) fail(`${what} value ${hex(v)} does not fit a sign-extended 32-bit lui/auipc + addi pair`);
  return Number(hiPart(v));
}

/** Bytes of the padding an `.align` with no explicit fill puts in a code section. */
export function codePadding(out: Uint8Array, at: number, size: number): void {
  const view = new DataView(out.buffer, out.byteOffset);
  let i = at;
  const end = at + size;
  if ((end - i) % 2 === 1) out[i++] = 0;
  if ((end - i) % 4 === 2) { view.setUint16(i, C_NOP, true); i += 2; }
  for (; i < end; i += 4) view.setUint32(i, NOP, true);
}

/** Encodes a branch or jump relaxed to `size` bytes (2, 4, 6 or 8). */
export function renderBranch(spec: BranchSpec, size: number, site: PatchSite): void {
  const view = new DataView(site.out.buffer, site.out.byteOffset);
  const { pc, at } = site;
  const target = site.value(spec.target);
  const { cond } = spec;
  const what = cond ? "branch" : "jump";
  const jumpFrom = (off: number, rd = 0): number => jType(rd, pcrel(target - (pc + BigInt(off)), 1n << 20n, target, what));
  switch (size) {
    case 2: {
      const off = pcrel(target - pc, cond ? 256n : 2048n, target, what);
      view.setUint16(at, cond ? (cond.f3 === 0 ? C.beqz : C.bnez)(cond.rs1, off) : C.j(off), true);
      break;
    }
    case 4:
      view.setUint32(at, cond ? bType(cond.f3, cond.rs1, cond.rs2, pcrel(target - pc, 4096n, target, what)) : jumpFrom(0, spec.link), true);
      break;
    case 6:
      if (!cond) throw new Error("6-byte jump");
      view.setUint16(at, (cond.f3 === 0 ? C.beqz : C.bnez)(cond.rs1, 6) ^ C_BRANCH_INVERT, true);
      view.setUint32(at + 2, jumpFrom(2), true);
      break;
    case 8:
      if (!cond) throw new Error("8-byte jump");
      view.setUint32(at, (bType(cond.f3, cond.rs1, cond.rs2, 8) ^ BRANCH_INVERT) >>> 0, true);
      view.setUint32(at + 4, jumpFrom(4), true);
      break;
  }
}

/** An auipc carrying %pcrel_hi, indexed by address for %pcrel_lo(label). */
export interface PcrelHi {
  fixup: Fixup;
  pc: bigint;
}

/** Every %pcrel_hi auipc, by address (for `%pcrel_lo(label)`) and by fixup (for la, call...). */
export interface PcrelIndex {
  byAddr: Map<bigint, PcrelHi>;
  byFixup: Map<Fixup, PcrelHi>;
}

/** Indexes every %pcrel_hi auipc (after layout). */
export function indexPcrelHi(sections: readonly Section[]): PcrelIndex {
  const index: PcrelIndex = { byAddr: new Map(), byFixup: new Map() };
  for (const sec of sections) {
    for (const fixup of sec.fixups) {
      if (fixup.kind !== "pcrel_hi20") continue;
      const hi = { fixup, pc: sec.addr + BigInt(sec.frags[fixup.frag]!.start + fixup.off) };
      index.byAddr.set(hi.pc, hi);
      index.byFixup.set(fixup, hi);
    }
  }
  return index;
}

/** Patches one RISC-V instruction fixup at `site`. */
export function applyFixup(fx: Fixup, site: PatchSite, hiAt: PcrelIndex): void {
  const view = new DataView(site.out.buffer, site.out.byteOffset);
  const { at, pc } = site;
  const word = view.getUint32(at, true);
  let field: number;
  switch (fx.kind) {
    case "i12": case "s12": {
      const v = site.value(fx.expr);
      if (v < -2048n || v > 2047n) fail(`immediate ${v} out of range [-2048, 2047]`);
      field = fx.kind === "i12" ? iImm(Number(v)) : sImm(Number(v));
      break;
    }
    case "u20": {
      const v = site.value(fx.expr);
      if (v < 0n || v > 0xfffffn) fail(`immediate ${v} out of range [0, 1048575]`);
      field = uImm(Number(v));
      break;
    }
    case "hi20": field = uImm(hi20(site.value(fx.expr), "%hi")); break;
    case "lo12i": field = iImm(Number(loPart(site.value(fx.expr)))); break;
    case "lo12s": field = sImm(Number(loPart(site.value(fx.expr)))); break;
    case "pcrel_hi20": field = uImm(hi20(site.value(fx.expr) - pc, "%pcrel_hi")); break;
    case "pcrel_lo12i": case "pcrel_lo12s": {
      let hi: PcrelHi | undefined;
      if (fx.pair) {
        hi = hiAt.byFixup.get(fx.pair);
        if (!hi) throw new Error("pcrel_lo paired with an unknown auipc");
      } else {
        const label = site.value(fx.expr);
        hi = hiAt.byAddr.get(label);
        if (!hi) fail(`%pcrel_lo: no auipc with %pcrel_hi at ${hex(label)}`);
      }
      const lo = Number(loPart(site.value(hi.fixup.expr) - hi.pc));
      field = fx.kind === "pcrel_lo12i" ? iImm(lo) : sImm(lo);
      break;
    }
    default:
      throw new Error(`unexpected fixup kind ${fx.kind}`);
  }
  view.setUint32(at, (word | field) >>> 0, true);
}
