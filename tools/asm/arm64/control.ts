/**
 * Branches and PC-relative addresses: B, BL, B.cond, CBZ, CBNZ, TBZ, TBNZ,
 * BR, BLR, RET, ADR, ADRP. Targets are always patched after layout (fixups b26/b19/b14/adr/adrp),
 * with range and alignment checked then: GNU as does not relax A64 branches, it reports them.
 * @spec Arm ARM (DDI 0487) C4.1 "A64 instruction set encoding": Branches, Exception Generating and
 *   System instructions; PC-rel. addressing
 */
import { fail } from "../common/errors.js";
import { type Asm, count, type Handler, imm, immIn, relocOf, rz, sf } from "./insn.js";
import { CONDITIONS } from "./registers.js";

/** B (op 0) and BL (op 1): op 00101 imm26. */
function branch(link: number): Handler {
  return (ops, a) => {
    count(ops, 1);
    a.emit((link << 31) | 0x14000000, { kind: "b26", expr: imm(ops, 0) });
  };
}

/** B.cond: 01010100 imm19 0 cond. */
function branchCond(c: number): Handler {
  return (ops, a) => {
    count(ops, 1);
    a.emit(0x54000000 | c, { kind: "b19", expr: imm(ops, 0) });
  };
}

/** CBZ/CBNZ: sf 011010 op imm19 Rt. */
function compareBranch(op: number): Handler {
  return (ops, a) => {
    count(ops, 2);
    const rt = rz(ops, 0);
    a.emit((sf(rt) << 31) | 0x34000000 | (op << 24) | rt.num, { kind: "b19", expr: imm(ops, 1) });
  };
}

/** TBZ/TBNZ: b5 011011 op b40 imm14 Rt. */
function testBranch(op: number): Handler {
  return (ops, a) => {
    count(ops, 3);
    const rt = rz(ops, 0);
    const bit = immIn(a, ops, 1, 0, rt.x ? 63 : 31, "bit number");
    a.emit(((bit >> 5) << 31) | 0x36000000 | (op << 24) | ((bit & 31) << 19) | rt.num, { kind: "b14", expr: imm(ops, 2) });
  };
}

/** BR/BLR/RET: 1101011 0 0 opc 11111 000000 Rn 00000. */
function branchReg(opc: number, defaultReg?: number): Handler {
  return (ops, a) => {
    count(ops, defaultReg === undefined ? 1 : 0, 1);
    let rn = defaultReg ?? 0;
    if (ops.length === 1) {
      const r = rz(ops, 0);
      if (!r.x) fail("the target register must be an X register");
      rn = r.num;
    }
    a.emit(0xd61f0000 | (opc << 21) | (rn << 5));
  };
}

/** ADR (page 0) and ADRP (page 1): op immlo 10000 immhi Rd. */
function pcRelative(page: number): Handler {
  return (ops, a) => {
    count(ops, 2);
    const rd = rz(ops, 0);
    if (!rd.x) fail("the destination must be an X register");
    const e = imm(ops, 1);
    const r = relocOf(e);
    if (r) fail(`:${r.fn}: is not allowed here`);
    a.emit((page << 31) | 0x10000000 | rd.num, { kind: page ? "adrp" : "adr", expr: e });
  };
}

/** Branch handlers by mnemonic. */
export const CONTROL: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ["b", branch(0)], ["bl", branch(1)],
  ...[...CONDITIONS].map(([name, c]): [string, Handler] => [`b.${name}`, branchCond(c)]),
  // GNU also takes the condition without the dot (GCC writes `bhi`, `beq`...), except al and nv.
  ...[...CONDITIONS].filter(([, c]) => c < 14).map(([name, c]): [string, Handler] => [`b${name}`, branchCond(c)]),
  ["cbz", compareBranch(0)], ["cbnz", compareBranch(1)],
  ["tbz", testBranch(0)], ["tbnz", testBranch(1)],
  ["br", branchReg(0)], ["blr", branchReg(1)], ["ret", branchReg(2, 30)],
  ["adr", pcRelative(0)], ["adrp", pcRelative(1)],
]);
