/**
 * Data-processing (1 source: RBIT, REV16, REV32, REV/REV64, CLZ, CLS), (3 source: MADD, MSUB,
 * SMADDL, SMSUBL, UMADDL, UMSUBL, SMULH, UMULH and the MUL, MNEG, SMULL, SMNEGL, UMULL, UMNEGL
 * aliases), conditional select (CSEL, CSINC, CSINV, CSNEG; CSET, CSETM, CINC, CINV, CNEG) and
 * conditional compare (CCMP, CCMN).
 * @spec Arm ARM (DDI 0487) C4.1 "A64 instruction set encoding": Data Processing -- Register; C6.2 aliases
 */
import { fail } from "../common/errors.js";
import { type Asm, cond, count, type Handler, immIn, rz, sameWidth, sf } from "./insn.js";
import type { Reg } from "./registers.js";

const ZR = (x: boolean): Reg => ({ num: 31, x, sp: false });

/** sf 1 0 11010110 00000 opcode Rn Rd; `xOnly` instructions need X registers. */
function oneSource(opcode32: number | null, opcode64: number): Handler {
  return (ops, a) => {
    count(ops, 2);
    const rd = rz(ops, 0), rn = rz(ops, 1);
    sameWidth(rd.x, rn);
    const opcode = rd.x ? opcode64 : opcode32;
    if (opcode === null) fail("this instruction needs X registers");
    a.emit((sf(rd) << 31) | 0x5ac00000 | (opcode << 10) | (rn.num << 5) | rd.num);
  };
}

/** sf 00 11011 op31 Rm o0 Ra Rn Rd. `long`: Rd, Ra are X and Rn, Rm are W. `ra` false: Ra = ZR. */
function threeSource(op31: number, o0: number, long: boolean, hasRa: boolean): Handler {
  return (ops, a) => {
    count(ops, hasRa ? 4 : 3);
    const rd = rz(ops, 0), rn = rz(ops, 1), rm = rz(ops, 2);
    const ra = hasRa ? rz(ops, 3) : ZR(true);
    if (long || op31 !== 0) {
      if (!rd.x) fail("the destination must be an X register");
      sameWidth(op31 === 2 || op31 === 6 ? true : false, rn, rm);
      if (hasRa) sameWidth(true, ra);
    } else {
      sameWidth(rd.x, rn, rm);
      if (hasRa) sameWidth(rd.x, ra);
    }
    a.emit((sf(rd) << 31) | 0x1b000000 | (op31 << 21) | (rm.num << 16) | (o0 << 15) | (ra.num << 10) | (rn.num << 5) | rd.num);
  };
}

/** Conditional select: sf op S 11010100 Rm cond op2 Rn Rd. */
function csel(a: Asm, op: number, op2: number, rd: Reg, rn: Reg, rm: Reg, c: number): void {
  sameWidth(rd.x, rn, rm);
  a.emit((sf(rd) << 31) | (op << 30) | 0x1a800000 | (rm.num << 16) | (c << 12) | (op2 << 10) | (rn.num << 5) | rd.num);
}

function select(op: number, op2: number): Handler {
  return (ops, a) => {
    count(ops, 4);
    csel(a, op, op2, rz(ops, 0), rz(ops, 1), rz(ops, 2), cond(ops, 3));
  };
}

/** An alias condition: AL and NV are not allowed; the encoding holds the inverse. */
function inverted(ops: Parameters<Handler>[0], i: number): number {
  const c = cond(ops, i);
  if (c >= 14) fail("the condition cannot be al or nv here");
  return c ^ 1;
}

/** CSET/CSETM Rd, cond. */
function setCond(op: number, op2: number): Handler {
  return (ops, a) => {
    count(ops, 2);
    const rd = rz(ops, 0);
    csel(a, op, op2, rd, ZR(rd.x), ZR(rd.x), inverted(ops, 1));
  };
}

/** CINC/CINV/CNEG Rd, Rn, cond. */
function condOp(op: number, op2: number): Handler {
  return (ops, a) => {
    count(ops, 3);
    const rn = rz(ops, 1);
    csel(a, op, op2, rz(ops, 0), rn, rn, inverted(ops, 2));
  };
}

/** CCMP/CCMN Rn, Rm|#imm5, #nzcv, cond: sf op 1 11010010 Rm|imm5 cond o2 0 Rn 0 nzcv. */
function condCompare(op: number): Handler {
  return (ops, a) => {
    count(ops, 4);
    const rn = rz(ops, 0);
    const second = ops[1]!;
    let field: number, isImm = 0;
    if (second.k === "reg") {
      const rm = rz(ops, 1);
      sameWidth(rn.x, rm);
      field = rm.num;
    } else {
      field = immIn(a, ops, 1, 0, 31);
      isImm = 1;
    }
    const nzcv = immIn(a, ops, 2, 0, 15, "nzcv");
    a.emit((sf(rn) << 31) | (op << 30) | 0x3a400000 | (field << 16) | (cond(ops, 3) << 12) | (isImm << 11) | (rn.num << 5) | nzcv);
  };
}

/** Multiply, 1-source, select and conditional-compare handlers by mnemonic. */
export const MULTIPLY: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ["rbit", oneSource(0, 0)], ["rev16", oneSource(1, 1)], ["rev32", oneSource(null, 2)],
  ["rev", oneSource(2, 3)], ["rev64", oneSource(null, 3)], ["clz", oneSource(4, 4)], ["cls", oneSource(5, 5)],
  ["madd", threeSource(0, 0, false, true)], ["msub", threeSource(0, 1, false, true)],
  ["mul", threeSource(0, 0, false, false)], ["mneg", threeSource(0, 1, false, false)],
  ["smaddl", threeSource(1, 0, true, true)], ["smsubl", threeSource(1, 1, true, true)],
  ["smull", threeSource(1, 0, true, false)], ["smnegl", threeSource(1, 1, true, false)],
  ["umaddl", threeSource(5, 0, true, true)], ["umsubl", threeSource(5, 1, true, true)],
  ["umull", threeSource(5, 0, true, false)], ["umnegl", threeSource(5, 1, true, false)],
  ["smulh", threeSource(2, 0, true, false)], ["umulh", threeSource(6, 0, true, false)],
  ["csel", select(0, 0)], ["csinc", select(0, 1)], ["csinv", select(1, 0)], ["csneg", select(1, 1)],
  ["cset", setCond(0, 1)], ["csetm", setCond(1, 0)],
  ["cinc", condOp(0, 1)], ["cinv", condOp(1, 0)], ["cneg", condOp(1, 1)],
  ["ccmp", condCompare(1)], ["ccmn", condCompare(0)],
]);
