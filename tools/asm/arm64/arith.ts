/**
 * Add/subtract (immediate, shifted register, extended register),
 * add/subtract with carry, and their aliases (CMP, CMN, NEG, NEGS, NGC, NGCS, MOV to/from SP).
 * Like GNU as: a negative immediate flips ADD and SUB; an immediate that is a multiple of 4096
 * above 4095 uses `lsl #12`; SP as destination or first source selects the extended form.
 * @spec Arm ARM (DDI 0487) C4.1 "A64 instruction set encoding": Add/subtract (immediate), Add/subtract
 *   (shifted register), Add/subtract (extended register), Add/subtract (with carry); C6.2 aliases
 */
import { fail } from "../common/errors.js";
import type { Expr } from "../common/expr.js";
import {
  type Asm, anyReg, constant, count, later, type Handler, imm, inRange, modAmount, relocOf, rz, sameWidth, sf,
} from "./insn.js";
import { EXTENDS, type Operand } from "./operands.js";
import type { Reg } from "./registers.js";

const ZR = (x: boolean): Reg => ({ num: 31, x, sp: false });

/** ADD/SUB immediate: sf op S 100010 sh imm12 Rn Rd. */
export function addSubImm(a: Asm, op: number, s: number, rd: Reg, rn: Reg, e: Expr, shiftOp?: Operand): void {
  let sh = 0;
  if (shiftOp) {
    if (shiftOp.k !== "mod" || shiftOp.m.op !== "lsl") fail("the immediate shift must be `lsl #0' or `lsl #12'");
    const amt = modAmount(a, shiftOp.m, 12);
    if (amt !== 0 && amt !== 12) fail("the immediate shift must be `lsl #0' or `lsl #12'");
    sh = amt / 12;
  }
  const base = (sf(rd) << 31) | (s << 29) | 0x11000000 | (rn.num << 5) | rd.num;
  const r = relocOf(e);
  if (r) {
    if (r.fn !== "lo12" || op !== 0 || sh !== 0) fail(`:${r.fn}: is not allowed here (only \`add Rd, Rn, #:lo12:sym')`);
    a.emit(base, { kind: "add_lo12", expr: r.a });
    return;
  }
  let v = later(a, e);
  if (v < 0n && !shiftOp) {
    v = -v;
    op ^= 1;
  }
  let field: number;
  if (sh === 0 && !shiftOp && v > 4095n && (v & 0xfffn) === 0n && v >> 12n <= 4095n) {
    sh = 1;
    field = Number(v >> 12n);
  } else {
    field = inRange(v, 0, 4095);
  }
  a.emit(base | (op << 30) | (sh << 22) | (field << 10));
}

/**
 * ADD/SUB extended register: sf op S 01011 00 1 Rm option imm3 Rn Rd. Without a modifier (SP
 * involved) the option is LSL, i.e. UXTX, or UXTW for a W Rm, as GNU picks it. With an explicit
 * extend GNU takes Rm of either width in a 64-bit operation (only the number is encoded).
 */
function addSubExt(a: Asm, op: number, s: number, rd: Reg, rn: Reg, rm: Reg, mod: Operand | undefined): void {
  let option: number, amount = 0;
  if (!s && rd.num === 31 && !rd.sp) fail("the destination of an extended-register add/sub is SP, not the zero register");
  if (rn.num === 31 && !rn.sp) fail("the first source of an extended-register add/sub is SP, not the zero register");
  if (mod === undefined) {
    if (!rd.sp && !rn.sp) fail("missing extend operator for a W register in a 64-bit operation");
    option = rd.x && rm.x ? 3 : 2;
    if (!rd.x) sameWidth(false, rm);
  } else {
    if (mod.k !== "mod") fail(`expected an extend, not \`${mod.text}'`);
    amount = modAmount(a, mod.m, 4);
    if (mod.m.op === "lsl") {
      // GNU: next to SP, LSL is UXTX for an X Rm and UXTW for a W Rm; elsewhere Rm is X.
      if (!rd.x || (!rd.sp && !rn.sp)) sameWidth(rd.x, rm);
      option = rd.x && rm.x ? 3 : 2;
    } else if ((EXTENDS as readonly string[]).includes(mod.m.op)) {
      option = EXTENDS.indexOf(mod.m.op as (typeof EXTENDS)[number]);
      if (!rd.x) sameWidth(false, rm);
    } else {
      fail(`\`${mod.m.op}' cannot be used with SP`);
    }
  }
  a.emit((sf(rd) << 31) | (op << 30) | (s << 29) | 0x0b200000 | (rm.num << 16) | (option << 13) | (amount << 10) | (rn.num << 5) | rd.num);
}

/** ADD/SUB shifted register: sf op S 01011 shift 0 Rm imm6 Rn Rd. */
function addSubShift(a: Asm, op: number, s: number, rd: Reg, rn: Reg, rm: Reg, mod: Operand | undefined): void {
  let shift = 0, amount = 0;
  if (mod) {
    if (mod.k !== "mod") fail(`expected a shift, not \`${mod.text}'`);
    shift = ["lsl", "lsr", "asr"].indexOf(mod.m.op);
    if (shift < 0) fail(`\`${mod.m.op}' is not allowed here (lsl, lsr or asr)`);
    amount = modAmount(a, mod.m, rd.x ? 63 : 31);
  }
  a.emit((sf(rd) << 31) | (op << 30) | (s << 29) | 0x0b000000 | (shift << 22) | (rm.num << 16) | (amount << 10) | (rn.num << 5) | rd.num);
}

/** The register forms: extended when SP is involved, an extend is written, or Rm is W in a 64-bit op. */
function addSubReg(a: Asm, op: number, s: number, rd: Reg, rn: Reg, rm: Reg, mod: Operand | undefined): void {
  if (rm.sp) fail("the second source cannot be SP");
  const isExtend = mod?.k === "mod" && mod.m.op !== "lsl" && (EXTENDS as readonly string[]).includes(mod.m.op);
  if (rd.sp || rn.sp || isExtend || (rd.x && !rm.x)) addSubExt(a, op, s, rd, rn, rm, mod);
  else {
    sameWidth(rd.x, rm);
    addSubShift(a, op, s, rd, rn, rm, mod);
  }
}

/** ADD, ADDS, SUB, SUBS: three operands plus an optional shift or extend. */
function addSub(op: number, s: number): Handler {
  return (ops, a) => {
    count(ops, 3, 4);
    const rd = s ? rz(ops, 0) : anyReg(ops, 0);
    const rn = anyReg(ops, 1);
    sameWidth(rd.x, rn);
    const third = ops[2]!;
    if (third.k === "reg") {
      // In the register forms, 31 is SP for Rd (not S) and Rn only in the extended form.
      addSubReg(a, op, s, rd, rn, third.r, ops[3]);
      return;
    }
    if (rd.num === 31 && !rd.sp && !s) fail("the destination of an immediate add/sub is SP, not the zero register");
    if (rn.num === 31 && !rn.sp) fail("the first source of an immediate add/sub is SP, not the zero register");
    addSubImm(a, op, s, rd, rn, imm(ops, 2), ops[3]);
  };
}

/** CMP/CMN: SUBS/ADDS with the zero register as destination. */
function compare(op: number): Handler {
  return (ops, a) => {
    count(ops, 2, 3);
    const rn = anyReg(ops, 0);
    const zr = ZR(rn.x);
    const second = ops[1]!;
    if (second.k === "reg") addSubReg(a, op, 1, zr, rn, second.r, ops[2]);
    else {
      if (rn.num === 31 && !rn.sp) fail("the first source of an immediate compare is SP, not the zero register");
      addSubImm(a, op, 1, zr, rn, imm(ops, 1), ops[2]);
    }
  };
}

/** NEG/NEGS: SUB/SUBS from the zero register (shifted register form). */
function negate(s: number): Handler {
  return (ops, a) => {
    count(ops, 2, 3);
    const rd = rz(ops, 0), rm = rz(ops, 1);
    sameWidth(rd.x, rm);
    addSubShift(a, 1, s, rd, ZR(rd.x), rm, ops[2]);
  };
}

/** ADC, ADCS, SBC, SBCS: sf op S 11010000 Rm 000000 Rn Rd; NGC/NGCS with Rn = ZR. */
function carry(op: number, s: number, negated = false): Handler {
  return (ops, a) => {
    count(ops, negated ? 2 : 3);
    const rd = rz(ops, 0);
    const rn = negated ? ZR(rd.x) : rz(ops, 1);
    const rm = rz(ops, negated ? 1 : 2);
    sameWidth(rd.x, rn, rm);
    a.emit((sf(rd) << 31) | (op << 30) | (s << 29) | 0x1a000000 | (rm.num << 16) | (rn.num << 5) | rd.num);
  };
}

/** `mov` between registers when one of them is SP: ADD Rd, Rn, #0. */
export function movSp(a: Asm, rd: Reg, rn: Reg): void {
  sameWidth(rd.x, rn);
  if ((rd.num === 31 && !rd.sp) || (rn.num === 31 && !rn.sp)) fail("cannot move between SP and the zero register");
  a.emit((sf(rd) << 31) | 0x11000000 | (rn.num << 5) | rd.num);
}

/** Arithmetic handlers by mnemonic. */
export const ARITH: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ["add", addSub(0, 0)], ["adds", addSub(0, 1)], ["sub", addSub(1, 0)], ["subs", addSub(1, 1)],
  ["cmp", compare(1)], ["cmn", compare(0)], ["neg", negate(0)], ["negs", negate(1)],
  ["adc", carry(0, 0)], ["adcs", carry(0, 1)], ["sbc", carry(1, 0)], ["sbcs", carry(1, 1)],
  ["ngc", carry(1, 0, true)], ["ngcs", carry(1, 1, true)],
]);
