/**
 * System instructions: hints (NOP, YIELD, WFE, WFI, SEV, SEVL, HINT),
 * barriers (DMB, DSB, ISB, CLREX), exception generation (SVC, HVC, SMC, BRK, HLT) and return
 * (ERET), MSR/MRS with named or generic system registers, MSR to PSTATE fields, and the SYS
 * aliases TLBI, DC, IC, AT (plus SYS/SYSL themselves).
 * @spec Arm ARM (DDI 0487) C4.1 "Branches, Exception Generating and System instructions"; C5 "The A64
 *   System Instruction Class"
 */
import { fail } from "../common/errors.js";
import { type Asm, constant, count, type Handler, imm, immIn, inRange, rz } from "./insn.js";
import type { Operand } from "./operands.js";
import { AT_OPS, BARRIER_OPTIONS, DC_OPS, IC_OPS, PSTATE_FIELDS, type SysOp, sysReg, TLBI_OPS } from "./sysregs.js";

/** An instruction with no operands and a fixed encoding. */
const fixed = (word: number): Handler => (ops, a) => {
  count(ops, 0);
  a.emit(word);
};

/** HINT #imm7: 11010101000000110010 CRm op2 11111. */
const hint: Handler = (ops, a) => {
  count(ops, 1);
  a.emit(0xd503201f | (immIn(a, ops, 0, 0, 127) << 5));
};

/** DMB/DSB/ISB/CLREX option: a name (DMB/DSB) or #imm4; `dflt` when absent (null: required). */
function barrier(word: number, named: boolean, dflt: number | null): Handler {
  return (ops, a) => {
    count(ops, dflt === null ? 1 : 0, 1);
    let crm = dflt ?? 0;
    const o = ops[0];
    if (o) {
      const byName = o.k === "imm" ? BARRIER_OPTIONS.get(o.text.toLowerCase()) : undefined;
      if (byName !== undefined && (named || o.text.toLowerCase() === "sy")) crm = byName;
      else crm = inRange(constant(a, imm(ops, 0), "barrier option"), 0, 15, "barrier option");
    }
    a.emit(word | (crm << 8));
  };
}

/** SVC/HVC/SMC/BRK/HLT #imm16: 11010100 opc imm16 op2 LL. */
const exception = (word: number): Handler => (ops, a) => {
  count(ops, 1);
  a.emit(word | (immIn(a, ops, 0, 0, 0xffff) << 5));
};

/** The system register operand i (by name or generic form). */
function sysRegAt(ops: Operand[], i: number): number {
  const o = ops[i];
  const r = o?.k === "imm" ? sysReg(o.text) : undefined;
  if (!r) fail(`unknown system register \`${o?.text ?? ""}'`);
  const [op0, op1, crn, crm, op2] = r;
  return (op0 << 19) | (op1 << 16) | (crn << 12) | (crm << 8) | (op2 << 5);
}

/** An X register operand (31 = XZR). */
function xReg(ops: Operand[], i: number): number {
  const r = rz(ops, i);
  if (!r.x) fail("expected an X register");
  return r.num;
}

/** MSR: to a PSTATE field with an immediate, or to a system register from Xt. */
const msr: Handler = (ops, a) => {
  count(ops, 2);
  const field = ops[0]!.k === "imm" && ops[1]!.k !== "reg" ? PSTATE_FIELDS.get(ops[0]!.text.toLowerCase()) : undefined;
  if (field) {
    const crm = immIn(a, ops, 1, 0, field[2]);
    a.emit(0xd500401f | (field[0] << 16) | (crm << 8) | (field[1] << 5));
    return;
  }
  a.emit(0xd5000000 | sysRegAt(ops, 0) | xReg(ops, 1));
};

/** MRS Xt, sysreg. */
const mrs: Handler = (ops, a) => {
  count(ops, 2);
  a.emit(0xd5200000 | sysRegAt(ops, 1) | xReg(ops, 0));
};

/** SYS #op1, Cn, Cm, #op2{, Xt} encoding (L = 0), or SYSL (L = 1). */
const sysWord = (l: number, op1: number, crn: number, crm: number, op2: number, rt: number): number =>
  0xd5080000 | (l << 21) | (op1 << 16) | (crn << 12) | (crm << 8) | (op2 << 5) | rt;

/** A `Cn` operand. */
function creg(ops: Operand[], i: number): number {
  const m = /^c([0-9]|1[0-5])$/i.exec(ops[i]?.text ?? "");
  if (!m) fail(`operand ${i + 1} must be C0..C15`);
  return Number(m[1]);
}

/** A SYS alias (TLBI, DC, IC, AT): `op{, Xt}` looked up in `table`. */
function sysAlias(what: string, table: ReadonlyMap<string, SysOp>): Handler {
  return (ops, a) => {
    count(ops, 1, 2);
    const op = ops[0]?.k === "imm" ? table.get(ops[0].text.toLowerCase()) : undefined;
    if (!op) fail(`unknown ${what} operation \`${ops[0]?.text ?? ""}'`);
    const [op1, crn, crm, op2, takesReg] = op;
    if (takesReg !== (ops.length === 2)) fail(`${what} ${ops[0]!.text} ${takesReg ? "needs" : "takes no"} register operand`);
    a.emit(sysWord(0, op1, crn, crm, op2, takesReg ? xReg(ops, 1) : 31));
  };
}

const sys: Handler = (ops, a) => {
  count(ops, 4, 5);
  const rt = ops.length === 5 ? xReg(ops, 4) : 31;
  a.emit(sysWord(0, immIn(a, ops, 0, 0, 7, "op1"), creg(ops, 1), creg(ops, 2), immIn(a, ops, 3, 0, 7, "op2"), rt));
};

const sysl: Handler = (ops, a) => {
  count(ops, 5);
  a.emit(sysWord(1, immIn(a, ops, 1, 0, 7, "op1"), creg(ops, 2), creg(ops, 3), immIn(a, ops, 4, 0, 7, "op2"), xReg(ops, 0)));
};

/** System instruction handlers by mnemonic. */
export const SYSTEM: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ["nop", fixed(0xd503201f)], ["yield", fixed(0xd503203f)], ["wfe", fixed(0xd503205f)], ["wfi", fixed(0xd503207f)],
  ["sev", fixed(0xd503209f)], ["sevl", fixed(0xd50320bf)], ["hint", hint],
  ["eret", fixed(0xd69f03e0)],
  ["dmb", barrier(0xd50330bf, true, null)], ["dsb", barrier(0xd503309f, true, null)],
  ["isb", barrier(0xd50330df, false, 15)], ["clrex", barrier(0xd503305f, false, 15)],
  ["svc", exception(0xd4000001)], ["hvc", exception(0xd4000002)], ["smc", exception(0xd4000003)],
  ["brk", exception(0xd4200000)], ["hlt", exception(0xd4400000)],
  ["msr", msr], ["mrs", mrs], ["sys", sys], ["sysl", sysl],
  ["tlbi", sysAlias("tlbi", TLBI_OPS)], ["dc", sysAlias("dc", DC_OPS)], ["ic", sysAlias("ic", IC_OPS)],
  ["at", sysAlias("at", AT_OPS)],
]);
