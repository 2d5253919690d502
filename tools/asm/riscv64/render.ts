/**
 * Final pass: turns laid-out sections into bytes, encoding relaxed branches and alignment
 * padding and applying fixups with final addresses. Every error names the source line.
 */
import { BRANCH_INVERT, bType, C, C_BRANCH_INVERT, iImm, jType, sImm, uImm } from "./encode.js";
import { fail, LineError, SourceError } from "./errors.js";
import { evaluate, hiPart, type Lookup, loPart } from "./expr.js";
import type { Fixup, Frag, Section } from "./sections.js";

const NOP = 0x00000013;
const C_NOP = 0x0001;

const hex = (v: bigint): string => `0x${BigInt.asUintN(64, v).toString(16)}`;

/** The absolute value of `fx.expr`. */
function value(e: Fixup["expr"], lookup: Lookup): bigint {
  const v = evaluate(e, lookup);
  if (v === undefined || v.base !== null) fail("expression cannot be computed (relocation operator inside an expression?)");
  return v.off;
}

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
function codePadding(out: Uint8Array, at: number, size: number): void {
  const view = new DataView(out.buffer, out.byteOffset);
  let i = at;
  const end = at + size;
  if ((end - i) % 2 === 1) out[i++] = 0;
  if ((end - i) % 4 === 2) { view.setUint16(i, C_NOP, true); i += 2; }
  for (; i < end; i += 4) view.setUint32(i, NOP, true);
}

function renderBranch(f: Extract<Frag, { kind: "branch" }>, sec: Section, out: Uint8Array, lookup: Lookup): void {
  const view = new DataView(out.buffer, out.byteOffset);
  const pc = sec.addr + BigInt(f.start);
  const target = value(f.spec.target, lookup);
  const { cond } = f.spec;
  const what = cond ? "branch" : "jump";
  const jumpFrom = (at: number, rd = 0): number => jType(rd, pcrel(target - (pc + BigInt(at)), 1n << 20n, target, what));
  switch (f.size) {
    case 2: {
      const off = pcrel(target - pc, cond ? 256n : 2048n, target, what);
      view.setUint16(f.start, cond ? (cond.f3 === 0 ? C.beqz : C.bnez)(cond.rs1, off) : C.j(off), true);
      break;
    }
    case 4:
      view.setUint32(f.start, cond ? bType(cond.f3, cond.rs1, cond.rs2, pcrel(target - pc, 4096n, target, what)) : jumpFrom(0, f.spec.link), true);
      break;
    case 6:
      if (!cond) throw new Error("6-byte jump");
      view.setUint16(f.start, (cond.f3 === 0 ? C.beqz : C.bnez)(cond.rs1, 6) ^ C_BRANCH_INVERT, true);
      view.setUint32(f.start + 2, jumpFrom(2), true);
      break;
    case 8:
      if (!cond) throw new Error("8-byte jump");
      view.setUint32(f.start, (bType(cond.f3, cond.rs1, cond.rs2, 8) ^ BRANCH_INVERT) >>> 0, true);
      view.setUint32(f.start + 4, jumpFrom(4), true);
      break;
  }
}

/** Writes the bytes of `sec` (fragments only, fixups not applied). */
function renderFrags(sec: Section, out: Uint8Array, lookup: Lookup): void {
  for (const f of sec.frags) {
    switch (f.kind) {
      case "data": out.set(f.buf.bytes(), f.start); break;
      case "fill": out.fill(f.byte, f.start, f.start + f.size); break;
      case "org": out.fill(f.fill, f.start, f.start + f.size); break;
      case "align":
        if (f.fill !== null) out.fill(f.fill, f.start, f.start + f.size);
        else if (sec.code) codePadding(out, f.start, f.size);
        break;
      case "branch":
        try {
          renderBranch(f, sec, out, lookup);
        } catch (e) {
          if (e instanceof SourceError && !(e instanceof LineError)) throw new LineError(f.line, e.message);
          throw e;
        }
        break;
    }
  }
}

const DATA_SIZES = { d1: 1, d2: 2, d4: 4, d8: 8 } as const;

/** An auipc carrying %pcrel_hi, indexed by address for %pcrel_lo(label). */
export interface PcrelHi {
  fixup: Fixup;
  pc: bigint;
}

function applyFixup(fx: Fixup, sec: Section, out: Uint8Array, lookup: Lookup, hiAt: PcrelIndex): void {
  const view = new DataView(out.buffer, out.byteOffset);
  const at = sec.frags[fx.frag]!.start + fx.off;
  const pc = sec.addr + BigInt(at);
  if (fx.kind in DATA_SIZES) {
    const size = DATA_SIZES[fx.kind as keyof typeof DATA_SIZES];
    const v = value(fx.expr, lookup);
    const bits = BigInt(size * 8);
    if (size < 8 && (v < -(1n << (bits - 1n)) || v >= 1n << bits)) fail(`value ${v} does not fit in ${size} byte${size > 1 ? "s" : ""}`);
    let u = BigInt.asUintN(size * 8, v);
    for (let i = 0; i < size; i++, u >>= 8n) out[at + i] = Number(u & 0xffn);
    return;
  }
  const word = view.getUint32(at, true);
  let field: number;
  switch (fx.kind) {
    case "i12": case "s12": {
      const v = value(fx.expr, lookup);
      if (v < -2048n || v > 2047n) fail(`immediate ${v} out of range [-2048, 2047]`);
      field = fx.kind === "i12" ? iImm(Number(v)) : sImm(Number(v));
      break;
    }
    case "u20": {
      const v = value(fx.expr, lookup);
      if (v < 0n || v > 0xfffffn) fail(`immediate ${v} out of range [0, 1048575]`);
      field = uImm(Number(v));
      break;
    }
    case "hi20": field = uImm(hi20(value(fx.expr, lookup), "%hi")); break;
    case "lo12i": field = iImm(Number(loPart(value(fx.expr, lookup)))); break;
    case "lo12s": field = sImm(Number(loPart(value(fx.expr, lookup)))); break;
    case "pcrel_hi20": field = uImm(hi20(value(fx.expr, lookup) - pc, "%pcrel_hi")); break;
    case "pcrel_lo12i": case "pcrel_lo12s": {
      let hi: PcrelHi | undefined;
      if (fx.hi) {
        hi = hiAt.byFixup.get(fx.hi);
        if (!hi) throw new Error("pcrel_lo paired with an unknown auipc");
      } else {
        const label = value(fx.expr, lookup);
        hi = hiAt.byAddr.get(label);
        if (!hi) fail(`%pcrel_lo: no auipc with %pcrel_hi at ${hex(label)}`);
      }
      const lo = Number(loPart(value(hi.fixup.expr, lookup) - hi.pc));
      field = fx.kind === "pcrel_lo12i" ? iImm(lo) : sImm(lo);
      break;
    }
    default:
      throw new Error(`unexpected fixup kind ${fx.kind}`);
  }
  view.setUint32(at, (word | field) >>> 0, true);
}

/** Every %pcrel_hi auipc, by address (for `%pcrel_lo(label)`) and by fixup (for la, call...). */
export interface PcrelIndex {
  byAddr: Map<bigint, PcrelHi>;
  byFixup: Map<Fixup, PcrelHi>;
}

/** Indexes every %pcrel_hi auipc (after layout). */
export function indexPcrelHi(sections: Section[]): PcrelIndex {
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

/**
 * Produces the final bytes of a section (empty for .bss-like sections).
 * @throws LineError for out-of-range values, undefined symbols and misaligned targets.
 */
export function renderSection(sec: Section, lookup: Lookup, hiAt: PcrelIndex): Uint8Array {
  const out = new Uint8Array(sec.nobits ? 0 : sec.size);
  if (sec.nobits) return out;
  renderFrags(sec, out, lookup);
  for (const fx of sec.fixups) {
    try {
      applyFixup(fx, sec, out, lookup, hiAt);
    } catch (e) {
      if (e instanceof SourceError && !(e instanceof LineError)) throw new LineError(fx.line, e.message);
      throw e;
    }
  }
  return out;
}
