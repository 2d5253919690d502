/**
 * Logical operations (immediate with the bitmask encoding, shifted register), move wide (MOVZ,
 * MOVN, MOVK) and the aliases TST, MVN and MOV.
 *
 * `mov Rd, #imm` is chosen as GNU as does: MOVZ if the value is one 16-bit chunk, else MOVN if
 * its inverse is, else ORR with a logical immediate, else an error. `bic Rd, Rn, #imm` is AND
 * with the inverted immediate, as GNU accepts it (GNU takes no immediate for bics, orn, eon).
 * @spec Arm ARM (DDI 0487) C4.1 "A64 instruction set encoding": Logical (immediate), Logical (shifted
 *   register), Move wide (immediate); C6.2 "MOV (wide immediate)", "MOV (inverted wide immediate)",
 *   "MOV (bitmask immediate)"
 */
import { fail } from "../common/errors.js";
import type { Expr } from "../common/expr.js";
import { movSp } from "./arith.js";
import { encodeBitmask, wideChunk } from "./immediates.js";
import {
  type A64Fixup, type Asm, anyReg, constant, count, later, type Handler, imm, modAmount, relocOf, rz, sameWidth, sf,
} from "./insn.js";
import type { Operand } from "./operands.js";
import type { Reg } from "./registers.js";

const ZR = (x: boolean): Reg => ({ num: 31, x, sp: false });

/**
 * The value of an immediate for a `size`-bit operation. For 32 bits GNU takes any 64-bit value
 * whose upper half is all zeros or all ones, and uses the lower half.
 */
function sizedValue(v: bigint, x: boolean): bigint {
  if (x) return BigInt.asUintN(64, v);
  const upper = BigInt.asIntN(64, v) >> 32n;
  if (upper !== 0n && upper !== -1n) fail(`immediate 0x${BigInt.asUintN(64, v).toString(16)} does not fit in 32 bits`);
  return BigInt.asUintN(32, v);
}

/** Logical immediate: sf opc 100100 N immr imms Rn Rd. Returns false when not encodable. */
function logicalImm(a: Asm, opc: number, rd: Reg, rn: Reg, v: bigint): boolean {
  const f = encodeBitmask(v, rd.x ? 64 : 32);
  if (!f) return false;
  a.emit((sf(rd) << 31) | (opc << 29) | 0x12000000 | (f.n << 22) | (f.immr << 16) | (f.imms << 10) | (rn.num << 5) | rd.num);
  return true;
}

/** Logical shifted register: sf opc 01010 shift N Rm imm6 Rn Rd. */
function logicalReg(a: Asm, opc: number, n: number, rd: Reg, rn: Reg, rm: Reg, mod: Operand | undefined): void {
  sameWidth(rd.x, rn, rm);
  let shift = 0, amount = 0;
  if (mod) {
    if (mod.k !== "mod") fail(`expected a shift, not \`${mod.text}'`);
    shift = ["lsl", "lsr", "asr", "ror"].indexOf(mod.m.op);
    if (shift < 0) fail(`\`${mod.m.op}' is not allowed here (lsl, lsr, asr or ror)`);
    amount = modAmount(a, mod.m, rd.x ? 63 : 31);
  }
  a.emit((sf(rd) << 31) | (opc << 29) | 0x0a000000 | (shift << 22) | (n << 21) | (rm.num << 16) | (amount << 10) | (rn.num << 5) | rd.num);
}

/** AND ORR EOR ANDS (n = 0) and BIC ORN EON BICS (n = 1). */
function logical(opc: number, n: number): Handler {
  return (ops, a) => {
    count(ops, 3, 4);
    const third = ops[2]!;
    const rn = rz(ops, 1);
    if (third.k === "reg") {
      logicalReg(a, opc, n, rz(ops, 0), rn, rz(ops, 2), ops[3]);
      return;
    }
    count(ops, 3);
    if (n && opc !== 0) fail("only bic takes an immediate among bic, bics, orn and eon");
    // The immediate forms write SP for 31 (except ANDS, whose 31 is ZR).
    const rd = opc === 3 ? rz(ops, 0) : anyReg(ops, 0);
    if (rd.num === 31 && !rd.sp && opc !== 3) fail("the destination of a logical immediate is SP, not the zero register");
    sameWidth(rd.x, rn);
    let v = sizedValue(later(a, imm(ops, 2)), rd.x);
    if (n) v = BigInt.asUintN(rd.x ? 64 : 32, ~v);
    if (!logicalImm(a, opc, rd, rn, v)) fail(`immediate 0x${v.toString(16)} cannot be encoded as a logical immediate`);
  };
}

/** MOVZ/MOVN/MOVK with an explicit or implied `lsl #16*hw`: sf opc 100101 hw imm16 Rd. */
function moveWide(a: Asm, opc: number, rd: Reg, imm16: number, hw: number, fix?: { kind: A64Fixup; expr: Expr }): void {
  if (hw >= (rd.x ? 4 : 2)) fail(`shift ${hw * 16} is too large for a ${rd.x ? 64 : 32}-bit register`);
  a.emit((sf(rd) << 31) | (opc << 29) | 0x12800000 | (hw << 21) | (imm16 << 5) | rd.num, fix);
}

const MOVW_RELOCS: Readonly<Record<string, [number, A64Fixup]>> = {
  abs_g0: [0, "movw0"], abs_g0_nc: [0, "movw0_nc"], abs_g1: [1, "movw1"], abs_g1_nc: [1, "movw1_nc"],
  abs_g2: [2, "movw2"], abs_g2_nc: [2, "movw2_nc"], abs_g3: [3, "movw3"],
};

function wide(opc: number): Handler {
  return (ops, a) => {
    count(ops, 2, 3);
    const rd = rz(ops, 0);
    const e = imm(ops, 1);
    const shiftOp = ops[2];
    let hw: number | undefined;
    if (shiftOp) {
      if (shiftOp.k !== "mod" || shiftOp.m.op !== "lsl") fail("expected `lsl #0, 16, 32 or 48'");
      const amt = modAmount(a, shiftOp.m, 48);
      if (amt % 16 !== 0) fail(`shift ${amt} is not a multiple of 16`);
      hw = amt / 16;
    }
    const r = relocOf(e);
    if (r) {
      const g = MOVW_RELOCS[r.fn];
      if (!g || shiftOp) fail(`:${r.fn}: is not allowed here`);
      moveWide(a, opc, rd, 0, g[0], { kind: g[1], expr: r.a });
      return;
    }
    const v = later(a, e);
    if (hw !== undefined) {
      if (v < 0n || v > 0xffffn) fail(`immediate ${v} out of range [0, 65535]`);
      moveWide(a, opc, rd, Number(v), hw);
      return;
    }
    // Without `lsl`, GNU takes only a plain 16-bit value (the `mov` alias finds shifts itself).
    if (v < 0n || v > 0xffffn) fail(`immediate ${v} out of range [0, 65535]`);
    moveWide(a, opc, rd, Number(v), 0);
  };
}

/** `mov Rd, #imm`: MOVZ, else MOVN, else ORR with a logical immediate (GNU's order). */
function movImm(a: Asm, rd: Reg, v: bigint): void {
  const size = rd.x ? 64 : 32;
  const u = sizedValue(v, rd.x);
  if (!rd.sp) {
    const z = wideChunk(u, size);
    if (z) return moveWide(a, 2, rd, z[0], z[1]);
    const n = wideChunk(BigInt.asUintN(size, ~u), size);
    if (n) return moveWide(a, 0, rd, n[0], n[1]);
  }
  if (rd.num === 31 && !rd.sp) fail(`immediate 0x${u.toString(16)} needs ORR, which cannot write the zero register`);
  if (!logicalImm(a, 1, rd, ZR(rd.x), u)) fail(`immediate 0x${u.toString(16)} cannot be moved in one instruction (not a MOVZ, MOVN or logical immediate)`);
}

const mov: Handler = (ops, a) => {
  count(ops, 2);
  const rd = anyReg(ops, 0);
  const src = ops[1]!;
  if (src.k === "reg") {
    if (rd.sp || src.r.sp) return movSp(a, rd, src.r);
    logicalReg(a, 1, 0, rd, ZR(rd.x), src.r, undefined);
    return;
  }
  const e = imm(ops, 1);
  const r = relocOf(e);
  if (r) fail(`:${r.fn}: is not allowed in mov (use movz/movk)`);
  movImm(a, rd, later(a, e));
};

/** Logical and move handlers by mnemonic. */
export const LOGICAL: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ["and", logical(0, 0)], ["orr", logical(1, 0)], ["eor", logical(2, 0)], ["ands", logical(3, 0)],
  ["bic", logical(0, 1)], ["orn", logical(1, 1)], ["eon", logical(2, 1)], ["bics", logical(3, 1)],
  ["tst", (ops, a, m) => {
    count(ops, 2, 3);
    const rn = rz(ops, 0);
    logical(3, 0)([{ k: "reg", r: ZR(rn.x), text: rn.x ? "xzr" : "wzr" }, ...ops], a, m);
  }],
  ["mvn", (ops, a) => {
    count(ops, 2, 3);
    const rd = rz(ops, 0);
    logicalReg(a, 1, 1, rd, ZR(rd.x), rz(ops, 1), ops[2]);
  }],
  ["mov", mov],
  // GNU's `uxtw Rd, Wn` (GCC writes it): a 32-bit register move, which zero-extends.
  ["uxtw", (ops, a) => {
    count(ops, 2);
    const rd = rz(ops, 0), rn = rz(ops, 1);
    sameWidth(false, rn);
    logicalReg(a, 1, 0, { ...rd, x: false }, ZR(false), rn, undefined);
  }],
  ["movz", wide(2)], ["movn", wide(0)], ["movk", wide(3)],
]);
