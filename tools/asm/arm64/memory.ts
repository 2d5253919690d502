/**
 * Loads and stores: single registers with unsigned
 * offset, unscaled (LDUR...), pre/post-index, register offset and literal addressing; the
 * unprivileged LDTR/STTR family; `ldr Rt, =value` through literal pools (literals.ts);
 * LDP/STP/LDPSW/LDNP/STNP; exclusives and acquire/release
 * (LDXR, STXR, LDAXR, STLXR, LDXP, STXP, LDAXP, STLXP, LDAR, STLR); PRFM, PRFUM.
 *
 * `ldr Rt, [Xn, #imm]` is encoded as GNU as does: the scaled unsigned-offset form when the offset
 * is a non-negative multiple of the access size that fits, else LDUR/STUR when it lies in
 * [-256, 255], else an error.
 * @spec Arm ARM (DDI 0487) C4.1 "A64 instruction set encoding": Loads and Stores (all classes used here)
 */
import { fail } from "../common/errors.js";
import type { Expr } from "../common/expr.js";
import { type A64Fixup, type Asm, constant, count, later, type Handler, imm, inRange, memAt, relocOf, rz, sameWidth } from "./insn.js";
import { EXTENDS, type Mem, type Operand } from "./operands.js";
import type { Reg } from "./registers.js";

/** One single-register load/store: log2 access size and opc, for an X or a W transfer register. */
interface Access {
  size: number;
  opc: number;
}

/** Access per mnemonic root: [for W Rt, for X Rt] (null: not allowed). */
const ACCESSES: Readonly<Record<string, [Access | null, Access | null]>> = {
  str: [{ size: 2, opc: 0 }, { size: 3, opc: 0 }],
  ldr: [{ size: 2, opc: 1 }, { size: 3, opc: 1 }],
  strb: [{ size: 0, opc: 0 }, null], ldrb: [{ size: 0, opc: 1 }, null],
  strh: [{ size: 1, opc: 0 }, null], ldrh: [{ size: 1, opc: 1 }, null],
  ldrsb: [{ size: 0, opc: 3 }, { size: 0, opc: 2 }], ldrsh: [{ size: 1, opc: 3 }, { size: 1, opc: 2 }],
  ldrsw: [null, { size: 2, opc: 2 }],
};

/** The access of `root` for Rt, failing for a disallowed width. */
function accessFor(root: string, rt: Reg): Access {
  const acc = ACCESSES[root]![rt.x ? 1 : 0];
  if (!acc) fail(`the transfer register must be ${rt.x ? "a W" : "an X"} register`);
  return acc;
}

const ldstBase = (acc: Access, rn: Reg, rt: number): number => (acc.size << 30) | (acc.opc << 22) | (rn.num << 5) | rt;

/** size 111 0 00 opc 0 imm9 kind Rn Rt (kind: 00 unscaled, 01 post, 10 unprivileged, 11 pre). */
function imm9Form(a: Asm, acc: Access, rn: Reg, rt: number, offset: bigint, kind: number): void {
  const v = inRange(offset, -256, 255, "offset");
  a.emit(0x38000000 | ldstBase(acc, rn, rt) | ((v & 0x1ff) << 12) | (kind << 10));
}

/** size 111 0 01 opc imm12 Rn Rt with an offset already checked. */
function unsignedForm(a: Asm, acc: Access, rn: Reg, rt: number, scaled: number, fix?: { kind: A64Fixup; expr: Expr }): void {
  a.emit(0x39000000 | ldstBase(acc, rn, rt) | (scaled << 10), fix);
}

/** size 111 0 00 opc 1 Rm option S 10 Rn Rt. */
function registerForm(a: Asm, acc: Access, mem: Mem, rt: number): void {
  const index = mem.index!;
  let option = 3, s = 0;
  if (mem.mod) {
    const { op, amount } = mem.mod;
    if (op === "lsl") option = 3;
    else if (op === "uxtw" || op === "sxtw" || op === "sxtx") option = EXTENDS.indexOf(op);
    else fail(`\`${op}' is not allowed in an address (lsl, uxtw, sxtw or sxtx)`);
    if (amount !== undefined) {
      const n = constant(a, amount, "shift amount");
      if (n !== 0n && n !== BigInt(acc.size)) fail(`shift amount must be 0 or ${acc.size}`);
      s = acc.size === 0 ? 1 : n === 0n ? 0 : 1;
    } else if (op === "lsl") {
      fail("`lsl' needs an amount");
    }
  }
  if (index.x !== ((option & 1) === 1)) fail(`the index register must be ${(option & 1) === 1 ? "an X" : "a W"} register with ${EXTENDS[option] === "uxtx" ? "lsl" : EXTENDS[option]}`);
  a.emit(0x38200800 | ldstBase(acc, mem.base, rt) | (index.num << 16) | (option << 13) | (s << 12));
}

/**
 * Literal: opc 011 0 00 imm19 Rt (LDR W 00, LDR X 01, LDRSW 10, PRFM 11), from a label or, for
 * `=value`, from a literal-pool entry (8 bytes for LDR X, else 4).
 */
function literal(a: Asm, opc: number, rt: number, o: Operand): void {
  if (o.k === "lit") {
    if (opc === 3) fail("prfm takes no `=value'");
    const size = opc === 1 ? 8 : 4;
    const target = a.pools.entry(a.ctx.section.name, size, o.e, a.ctx.constValue(o.e));
    a.emit((opc << 30) | 0x18000000 | rt, { kind: "b19", expr: target });
    return;
  }
  if (o.k !== "imm") fail("expected a memory operand or a label");
  a.emit((opc << 30) | 0x18000000 | rt, { kind: "b19", expr: o.e });
}

/** A single-register load/store in any addressing mode; `unscaledOnly` for LDUR/STUR. */
function singleAccess(a: Asm, acc: Access, rt: number, o: Operand, unscaledOnly: boolean): void {
  if (o.k !== "mem") fail(`expected a memory operand, not \`${o.text}'`);
  const mem = o.mem;
  const scale = 1 << acc.size;
  switch (mem.mode) {
    case "reg":
      if (unscaledOnly) fail("unscaled loads and stores take an immediate offset");
      return registerForm(a, acc, mem, rt);
    case "pre": case "post":
      if (unscaledOnly) fail("unscaled loads and stores have no writeback");
      return imm9Form(a, acc, mem.base, rt, later(a, mem.off!), mem.mode === "pre" ? 3 : 1);
    case "off": {
      const e = mem.off;
      const r = e && relocOf(e);
      if (r) {
        if (r.fn !== "lo12" || unscaledOnly) fail(`:${r.fn}: is not allowed here`);
        return unsignedForm(a, acc, mem.base, rt, 0, { kind: `ldst_lo12_${acc.size}` as A64Fixup, expr: r.a });
      }
      const v = e === undefined ? 0n : later(a, e);
      if (!unscaledOnly && v >= 0n && v % BigInt(scale) === 0n && v / BigInt(scale) <= 4095n) {
        return unsignedForm(a, acc, mem.base, rt, Number(v / BigInt(scale)));
      }
      if (v < -256n || v > 255n) {
        fail(`offset ${v} out of range (${unscaledOnly ? "" : `a multiple of ${scale} in [0, ${4095 * scale}] or `}[-256, 255])`);
      }
      return imm9Form(a, acc, mem.base, rt, v, 0);
    }
  }
}

/** LDR/STR and friends (`scaled`), LDUR/STUR and friends, LDTR/STTR and friends. */
function single(root: string, kind: "any" | "unscaled" | "unpriv"): Handler {
  return (ops, a) => {
    count(ops, 2);
    const rt = rz(ops, 0);
    const acc = accessFor(root, rt);
    const o = ops[1]!;
    if (kind === "any" && (o.k === "imm" || o.k === "lit")) {
      if (root !== "ldr" && root !== "ldrsw") fail("only ldr and ldrsw take a literal address");
      return literal(a, root === "ldrsw" ? 2 : rt.x ? 1 : 0, rt.num, o);
    }
    if (kind === "unpriv") {
      const mem = memAt(ops, 1);
      if (mem.mode !== "off") fail("unprivileged loads and stores take [Xn{, #imm}]");
      return imm9Form(a, acc, mem.base, rt.num, mem.off === undefined ? 0n : later(a, mem.off), 2);
    }
    singleAccess(a, acc, rt.num, o, kind === "unscaled");
  };
}

const PRF_TYPES = ["pld", "pli", "pst"], PRF_TARGETS = ["l1", "l2", "l3"], PRF_POLICIES = ["keep", "strm"];

/** The prefetch operation operand: a name such as `pldl1keep` or #imm5. */
function prefetchOp(a: Asm, ops: Operand[]): number {
  const m = /^(pld|pli|pst)(l[123])(keep|strm)$/i.exec(ops[0]!.text);
  if (m) return (PRF_TYPES.indexOf(m[1]!.toLowerCase()) << 3) | (PRF_TARGETS.indexOf(m[2]!.toLowerCase()) << 1) | PRF_POLICIES.indexOf(m[3]!.toLowerCase());
  return inRange(constant(a, imm(ops, 0), "prefetch operation"), 0, 31, "prefetch operation");
}

/** PRFUM prfop|#imm5, [Xn{, #simm9}]. */
const prfum: Handler = (ops, a) => {
  count(ops, 2);
  singleAccess(a, { size: 3, opc: 2 }, prefetchOp(a, ops), ops[1]!, true);
};

/** PRFM prfop|#imm5, address. */
const prfm: Handler = (ops, a) => {
  count(ops, 2);
  const op = prefetchOp(a, ops);
  const o = ops[1]!;
  if (o.k === "imm") return literal(a, 3, op, o);
  singleAccess(a, { size: 3, opc: 2 }, op, o, false);
};

/** Pairs: opc 101 0 mode L imm7 Rt2 Rn Rt (mode 000 no-allocate, 001 post, 010 offset, 011 pre). */
function pair(load: number, signed: boolean, nonTemporal: boolean): Handler {
  return (ops, a) => {
    count(ops, 3);
    const rt = rz(ops, 0), rt2 = rz(ops, 1);
    sameWidth(rt.x, rt2);
    if (signed && !rt.x) fail("ldpsw needs X registers");
    const mem = memAt(ops, 2);
    if (mem.mode === "reg") fail("pairs take an immediate offset");
    if (nonTemporal && mem.mode !== "off") fail("ldnp/stnp have no writeback");
    const opc = signed ? 1 : rt.x ? 2 : 0;
    const scale = signed ? 4 : rt.x ? 8 : 4;
    const v = mem.off === undefined ? 0n : later(a, mem.off);
    if (v % BigInt(scale) !== 0n) fail(`offset ${v} is not a multiple of ${scale}`);
    const imm7 = inRange(v / BigInt(scale), -64, 63, `offset / ${scale}`);
    const mode = nonTemporal ? 0 : mem.mode === "post" ? 1 : mem.mode === "off" ? 2 : 3;
    a.emit((opc << 30) | 0x28000000 | (mode << 23) | (load << 22) | ((imm7 & 0x7f) << 15) | (rt2.num << 10) | (mem.base.num << 5) | rt.num);
  };
}

/** The [Xn] or [Xn, #0] address of an exclusive or ordered access. */
function plainBase(a: Asm, ops: Operand[], i: number): Reg {
  const mem = memAt(ops, i);
  if (mem.mode !== "off" || (mem.off !== undefined && constant(a, mem.off, "offset") !== 0n)) fail("expected [Xn] or [Xn, #0]");
  return mem.base;
}

/**
 * Exclusive and ordered accesses: size 001000 o2 L o1 Rs o0 Rt2 Rn Rt. `size` null: from Rt
 * (W 2, X 3). Operands: [Ws,] Rt[, Rt2], [Xn]. A status register equal to a transfer or base
 * register is CONSTRAINED UNPREDICTABLE; GNU only warns, so it is accepted here too.
 */
function exclusive(size: number | null, o2: number, l: number, o1: number, o0: number): Handler {
  const hasStatus = l === 0 && o2 === 0;
  return (ops, a) => {
    count(ops, (hasStatus ? 1 : 0) + (o1 ? 2 : 1) + 1);
    let i = 0;
    let rs = 31;
    if (hasStatus) {
      const s = rz(ops, i++);
      if (s.x) fail("the status register must be a W register");
      rs = s.num;
    }
    const rt = rz(ops, i++);
    let rt2 = 31;
    if (o1) {
      const r2 = rz(ops, i++);
      sameWidth(rt.x, r2);
      rt2 = r2.num;
    }
    if (size !== null && rt.x) fail("the transfer register must be a W register");
    const sz = size ?? (rt.x ? 3 : 2);
    const rn = plainBase(a, ops, i);
    a.emit((sz << 30) | 0x08000000 | (o2 << 23) | (l << 22) | (o1 << 21) | (rs << 16) | (o0 << 15) | (rt2 << 10) | (rn.num << 5) | rt.num);
  };
}

const SINGLE_ROOTS = Object.keys(ACCESSES);
const unscaledName = (root: string): string => root.replace(/^(ld|st)r/, "$1ur");
const unprivName = (root: string): string => root.replace(/^(ld|st)r/, "$1tr");

/** Load/store handlers by mnemonic. */
export const MEMORY: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ...SINGLE_ROOTS.map((r): [string, Handler] => [r, single(r, "any")]),
  ...SINGLE_ROOTS.map((r): [string, Handler] => [unscaledName(r), single(r, "unscaled")]),
  ...SINGLE_ROOTS.map((r): [string, Handler] => [unprivName(r), single(r, "unpriv")]),
  ["prfm", prfm], ["prfum", prfum],
  ["ldp", pair(1, false, false)], ["stp", pair(0, false, false)], ["ldpsw", pair(1, true, false)],
  ["ldnp", pair(1, false, true)], ["stnp", pair(0, false, true)],
  ...([["", null], ["b", 0], ["h", 1]] as const).flatMap(([suffix, size]): [string, Handler][] => [
    [`ldxr${suffix}`, exclusive(size, 0, 1, 0, 0)], [`stxr${suffix}`, exclusive(size, 0, 0, 0, 0)],
    [`ldaxr${suffix}`, exclusive(size, 0, 1, 0, 1)], [`stlxr${suffix}`, exclusive(size, 0, 0, 0, 1)],
    [`ldar${suffix}`, exclusive(size, 1, 1, 0, 1)], [`stlr${suffix}`, exclusive(size, 1, 0, 0, 1)],
  ]),
  ["ldxp", exclusive(null, 0, 1, 1, 0)], ["stxp", exclusive(null, 0, 0, 1, 0)],
  ["ldaxp", exclusive(null, 0, 1, 1, 1)], ["stlxp", exclusive(null, 0, 0, 1, 1)],
]);
