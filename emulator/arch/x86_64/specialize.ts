/**
 * Post-decode passes: the LOCK legality check, and the rewriting of the most frequent forms into the
 * specialized ops the execute loop runs inline (insn.ts F_*). A specialized op means exactly what the
 * general one does; only the executor's path differs.
 * @spec Intel SDM Vol. 2A "LOCK" (lockable instructions)
 */
import { AH_BASE, ALU_TEST, Info, type Insn, Op, SEG_NONE } from "./insn.js";

/** LOCK is allowed only on these read-modify-write forms with a memory destination. @spec SDM Vol. 2A "LOCK" */
export function lockable(i: Insn): boolean {
  if (i.rm >= 0) return false;
  switch (i.op) {
    case Op.ALU_RM_R: case Op.ALU_RM_I: return i.sub !== 7;
    case Op.INC: case Op.DEC: case Op.NOT: case Op.NEG: case Op.XCHG: case Op.CMPXCHG: case Op.XADD: return true;
    case Op.BT: return i.sub !== 0;
    default: return false;
  }
}

/**
 * Rewrites the most frequent forms with 64- or 32-bit operands into the specialized ops the executor
 * runs inline (the general op stays correct for everything else).
 */
export function specialize(i: Insn): void {
  const reg = i.rm >= 0;
  if (i.op === Op.CALL_REL) { i.op = Op.F_CALL; return; }
  if (i.op === Op.RET && i.size === 8 && i.immLo === 0) { i.op = Op.F_RET; return; }
  i.simple = !reg && i.base >= 0 && i.index < 0 && i.seg === SEG_NONE && !i.addr32 && !i.ripRel;
  if (!reg && !i.lock) {
    if (i.op === Op.MOV_RM_I) { i.op = Op.F_MOV_MI; return; }
    if (i.op === Op.ALU_RM_I && i.sub === 7) { i.op = Op.F_CMP_MI; return; }
    if (i.op === Op.TEST_RM_I) { i.sub = ALU_TEST; i.op = Op.F_CMP_MI; return; }
    if (i.op === Op.MOV_RM_R && (i.size === 1 || i.size === 2) && i.reg < AH_BASE) { i.op = Op.F_MOV_ST_BW; return; }
    if ((i.op === Op.MOVZX || i.op === Op.MOVSX) && (i.size === 4 || i.size === 8)) { i.sub = i.op === Op.MOVSX ? 1 : 0; i.op = Op.F_MOVX_LD; return; }
  }
  if (i.size !== 8 && i.size !== 4) return;
  if (!reg && i.op === Op.ALU_R_RM && i.sub !== 2 && i.sub !== 3) { i.op = Op.F_ALU_RLD; return; }
  switch (i.op) {
    case Op.MOV_RM_R:
      if (reg) { const d = i.rm; i.rm = i.reg; i.reg = d; i.op = Op.F_MOV_RR; } else i.op = Op.F_MOV_ST;
      return;
    case Op.MOV_R_RM: i.op = reg ? Op.F_MOV_RR : Op.F_MOV_LD; return;
    case Op.MOV_RM_I: if (reg) { i.reg = i.rm; i.op = Op.F_MOV_RI; } return;
    case Op.ALU_RM_R: if (reg) { const d = i.rm; i.rm = i.reg; i.reg = d; i.op = Op.F_ALU_RR; } return;
    case Op.ALU_R_RM: if (reg) i.op = Op.F_ALU_RR; return;
    case Op.TEST_RM_R: if (reg) { i.sub = ALU_TEST; i.op = Op.F_ALU_RR; } return;
    case Op.ALU_RM_I: if (reg) { i.reg = i.rm; i.op = Op.F_ALU_RI; } return;
    case Op.TEST_RM_I: if (reg) { i.reg = i.rm; i.sub = ALU_TEST; i.op = Op.F_ALU_RI; } return;
    case Op.LEA: i.op = Op.F_LEA; return;
    case Op.PUSH_R: if (i.size === 8) i.op = Op.F_PUSH; return;
    case Op.POP_R: if (i.size === 8) i.op = Op.F_POP; return;
    case Op.IMUL2: if (reg) i.op = Op.F_IMUL_RR; return;
    case Op.IMUL3: if (reg) i.op = Op.F_IMUL_RI; return;
    case Op.SHIFT: if (reg && i.size2 === 0 && (i.sub === 4 || i.sub === 5 || i.sub === 7)) { i.reg = i.rm; i.op = Op.F_SHIFT_RI; } return;
    case Op.MOVZX: case Op.MOVSX: if (reg) { i.sub = i.op === Op.MOVSX ? 1 : 0; i.op = Op.F_MOVX_R; } return;
    case Op.INC: case Op.DEC: if (reg) { i.sub = i.op === Op.DEC ? 1 : 0; i.reg = i.rm; i.op = Op.F_INCDEC; } return;
    default: return;
  }
}

/** log2 of an operand size (1, 2, 4 or 8). */
const SIZE_LOG2 = [0, 0, 1, 1, 2, 2, 2, 2, 3];

/**
 * The instruction's fields the execute loop reads inline, packed into one int32 (insn.ts Info);
 * never 0. The rm field holds the base register of a memory operand.
 */
export function packInfo(i: Insn): number {
  const rm = i.rm >= 0 ? i.rm : i.base;
  return i.op | (i.len << Info.LEN) | ((i.reg & 31) << Info.REG) | ((rm & 31) << Info.RM) | ((i.sub & 15) << Info.SUB) |
    (SIZE_LOG2[i.size]! << Info.SIZE) | (i.simple ? Info.SIMPLE : 0) | ((i.size2 & 7) << Info.SIZE2);
}
