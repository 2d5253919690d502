/**
 * SYSTEM instructions: ECALL, EBREAK, MRET, SRET, WFI, SFENCE.VMA, the Zicsr instructions, and
 * illegal encodings.
 * @spec RV-M §"Environment Call and Breakpoint", §"Trap-Return Instructions", §"Wait for Interrupt"
 * @spec RV-S §"Supervisor Memory-Management Fence Instruction" (SFENCE.VMA table)
 * @spec Zicsr: CSRRS/CSRRC with rs1=x0 and CSRRSI/CSRRCI with uimm=0 do not write the CSR
 */
import type { Hart } from "./hart.js";
import { Op } from "./decode.js";
import { CAUSE, MSTATUS, PRV_M, PRV_S, PRV_U } from "./defs.js";
import { csrAccessible, csrRead, csrWrite } from "./csr.js";
import { trapReturn } from "./trap.js";

/**
 * Executes a system instruction. Returns true when the pc should advance to the next instruction,
 * false when the instruction trapped or set the pc itself.
 */
export function executeSystem(h: Hart, op: Op, rd: number, rs1: number, rs2: number, imm: number, raw: number): boolean {
  switch (op) {
    case Op.ECALL: {
      const cause = h.priv === PRV_U ? CAUSE.ECALL_U : h.priv === PRV_S ? CAUSE.ECALL_S : CAUSE.ECALL_M;
      h.exception(cause, 0, 0);
      return false;
    }
    case Op.EBREAK:
      h.exception(CAUSE.BREAKPOINT, h.pcLo, h.pcHi);
      return false;
    case Op.MRET:
      if (h.priv !== PRV_M) return illegal(h, raw);
      trapReturn(h, true);
      return false;
    case Op.SRET:
      if (h.priv === PRV_U || (h.priv === PRV_S && (h.mstatus & MSTATUS.TSR) !== 0)) return illegal(h, raw);
      trapReturn(h, false);
      return false;
    case Op.WFI:
      // TW=1 makes WFI in S-mode illegal; we raise it at once (the spec allows any bounded delay).
      if (h.priv === PRV_U || (h.priv === PRV_S && (h.mstatus & MSTATUS.TW) !== 0)) return illegal(h, raw);
      if ((h.mipValue() & h.mie) === 0) h.waiting = true;
      h.interruptsChanged();
      return true;
    case Op.SFENCE_VMA:
      if (h.priv === PRV_U || (h.priv === PRV_S && (h.mstatus & MSTATUS.TVM) !== 0)) return illegal(h, raw);
      sfenceVma(h, rs1, rs2);
      return true;
    case Op.CSRRW: case Op.CSRRS: case Op.CSRRC: case Op.CSRRWI: case Op.CSRRSI: case Op.CSRRCI:
      return csrInstruction(h, op, rd, rs1, imm, raw);
    default:
      return illegal(h, raw);
  }
}

function illegal(h: Hart, raw: number): false {
  h.exception(CAUSE.ILLEGAL, raw, 0);
  return false;
}

/** SFENCE.VMA rs1, rs2: the register *numbers* select the scope (x0 = all). */
function sfenceVma(h: Hart, rs1: number, rs2: number): void {
  const va = rs1 === 0 ? undefined : { lo: h.xl[rs1]!, hi: h.xh[rs1]! };
  h.sfenceVma(va, rs2 === 0 ? undefined : h.xl[rs2]! & 0xffff);
}

function csrInstruction(h: Hart, op: Op, rd: number, rs1: number, csr: number, raw: number): boolean {
  if (!csrAccessible(h, csr)) return illegal(h, raw);
  const immediate = op === Op.CSRRWI || op === Op.CSRRSI || op === Op.CSRRCI;
  const srcLo = immediate ? rs1 : h.xl[rs1]!;
  const srcHi = immediate ? 0 : h.xh[rs1]!;
  const isWrite = op === Op.CSRRW || op === Op.CSRRWI;
  // CSRRW with rd=x0 does not read; CSRRS/C with a zero source (x0 or uimm 0) do not write.
  const writes = isWrite || rs1 !== 0;
  if (writes && csr >>> 10 === 3) return illegal(h, raw);
  csrRead(h, csr);
  const oldLo = h.tmp.lo, oldHi = h.tmp.hi;
  if (writes) {
    let nl = srcLo, nh = srcHi;
    if (op === Op.CSRRS || op === Op.CSRRSI) { nl = oldLo | srcLo; nh = oldHi | srcHi; }
    else if (op === Op.CSRRC || op === Op.CSRRCI) { nl = oldLo & ~srcLo; nh = oldHi & ~srcHi; }
    if (!csrWrite(h, csr, nl, nh)) return illegal(h, raw);
  }
  h.xl[rd] = oldLo;
  h.xh[rd] = oldHi;
  return true;
}
