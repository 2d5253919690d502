/**
 * Trap entry, trap return and interrupt selection for the RV64 hart.
 * @spec RV-M §"Machine Trap Delegation Registers", §"Trap-Return Instructions", §"Machine Interrupt Registers"
 * @spec RV-S §"Supervisor Trap Vector Base Address Register", §sstatus SPP/SPIE/SIE
 */
import type { Hart } from "./hart.js";
import { CSR, IRQ_PRIORITY, MSTATUS, PRV_M, PRV_S, PRV_U } from "./defs.js";

/** One taken trap, as reported to the trace. */
export interface TrapEvent {
  cause: number;
  interrupt: boolean;
  tval: bigint;
  epc: bigint;
  from: number;
  to: number;
  icount: number;
}

const pair = (lo: number, hi: number): bigint => BigInt.asUintN(64, (BigInt(hi) << 32n) | BigInt(lo >>> 0));

/*
 * Slices. The machine checks for interrupts between run slices (machine.ts), and a slice ends early
 * wherever one may have become pending and enabled: a write to mie/mip/mstatus, the CLINT, WFI, or
 * the timer's deadline. Within a slice no interrupt is pending and enabled. With several harts every
 * trap entry and return also ends the slice, because the schedule's interleaving depends on it
 * (Hart.trapEndsSlice). With one hart they need not:
 * - a trap entry never enables an interrupt that was disabled (it only clears xIE and raises the
 *   privilege), so it ends the slice only when no instruction retired since the previous trap: a
 *   trap loop (a vector that faults) must reach the machine's trap-loop check, which counts slices
 *   that trapped without retiring;
 * - a trap return may enable interrupts (xIE <- xPIE, a lower privilege), so it ends the slice
 *   exactly when one is now pending and enabled.
 * The hart takes the same traps at the same instructions either way; only how often the machine's
 * loop runs changes (a demand-zero fault under the kernel no longer goes through it twice).
 */

/**
 * Takes a trap at the current pc: delegates to S when the cause's medeleg/mideleg bit is set and the
 * hart is in S or U; writes xcause/xepc/xtval; updates xPP/xPIE/xIE; jumps to xtvec
 * (BASE + 4*cause for interrupts in Vectored mode).
 */
export function takeTrap(h: Hart, cause: number, interrupt: boolean, tvalLo: number, tvalHi: number): void {
  const from = h.priv;
  const deleg = h.csrLo[interrupt ? CSR.mideleg : CSR.medeleg]!;
  const toS = from <= PRV_S && ((deleg >>> cause) & 1) === 1;
  const causeR = toS ? CSR.scause : CSR.mcause;
  const epcR = toS ? CSR.sepc : CSR.mepc;
  const tvalR = toS ? CSR.stval : CSR.mtval;
  const tvecR = toS ? CSR.stvec : CSR.mtvec;
  h.csrLo[causeR] = cause;
  h.csrHi[causeR] = interrupt ? 0x80000000 | 0 : 0;
  h.csrLo[epcR] = h.pcLo;
  h.csrHi[epcR] = h.pcHi;
  h.csrLo[tvalR] = tvalLo;
  h.csrHi[tvalR] = tvalHi;
  let s = h.mstatus;
  if (toS) {
    s = (s & ~MSTATUS.SPP) | (from === PRV_S ? MSTATUS.SPP : 0);
    s = (s & ~MSTATUS.SPIE) | ((s & MSTATUS.SIE) !== 0 ? MSTATUS.SPIE : 0);
    s &= ~MSTATUS.SIE;
    h.priv = PRV_S;
  } else {
    s = (s & ~MSTATUS.MPP) | (from << MSTATUS.MPP_SHIFT);
    s = (s & ~MSTATUS.MPIE) | ((s & MSTATUS.MIE) !== 0 ? MSTATUS.MPIE : 0);
    s &= ~MSTATUS.MIE;
    h.priv = PRV_M;
  }
  h.mstatus = s;
  const tvecLo = h.csrLo[tvecR]!;
  const vectored = interrupt && (tvecLo & 1) === 1;
  const base = tvecLo & ~3;
  const target = vectored ? (base + 4 * cause) | 0 : base;
  h.pcHi = h.csrHi[tvecR]! + (vectored && (target >>> 0) < (base >>> 0) ? 1 : 0);
  h.pcLo = target;
  h.reservation = -1;
  h.privilegeChanged();
  if (h.trapEndsSlice || h.icount === h.lastTrapIcount) h.interruptsChanged();
  h.lastTrapIcount = h.icount;
  h.traps++;
  h.lastCause = cause;
  h.lastInterrupt = interrupt;
  if (h.onTrap) {
    h.onTrap({
      cause, interrupt, tval: pair(tvalLo, tvalHi), epc: pair(h.csrLo[epcR]!, h.csrHi[epcR]!),
      from, to: h.priv, icount: h.icount,
    });
  }
}

/**
 * MRET / SRET. The caller has checked privilege (and TSR for SRET).
 * @spec RV-M §"Trap-Return Instructions": xPP → privilege, xIE ← xPIE, xPIE ← 1, xPP ← U;
 *       MPRV ← 0 when the new privilege is below M.
 */
export function trapReturn(h: Hart, fromM: boolean): void {
  const from = h.priv;
  let s = h.mstatus;
  let to: number;
  if (fromM) {
    to = (s & MSTATUS.MPP) >>> MSTATUS.MPP_SHIFT;
    s = (s & ~MSTATUS.MIE) | ((s & MSTATUS.MPIE) !== 0 ? MSTATUS.MIE : 0);
    s |= MSTATUS.MPIE;
    s &= ~MSTATUS.MPP;
    h.pcLo = h.csrLo[CSR.mepc]!;
    h.pcHi = h.csrHi[CSR.mepc]!;
  } else {
    to = (s & MSTATUS.SPP) !== 0 ? PRV_S : PRV_U;
    s = (s & ~MSTATUS.SIE) | ((s & MSTATUS.SPIE) !== 0 ? MSTATUS.SIE : 0);
    s |= MSTATUS.SPIE;
    s &= ~MSTATUS.SPP;
    h.pcLo = h.csrLo[CSR.sepc]!;
    h.pcHi = h.csrHi[CSR.sepc]!;
  }
  if (to !== PRV_M) s &= ~MSTATUS.MPRV;
  h.mstatus = s;
  h.priv = to;
  h.reservation = -1;
  h.privilegeChanged();
  if (h.trapEndsSlice || (mayEnable(h, from) && pendingInterrupt(h) >= 0)) h.interruptsChanged();
}

/**
 * Can a return from privilege `from` have enabled an interrupt that is pending? Leaving M enables
 * every M-level interrupt; otherwise (an sret from S) only the delegated ones can change (SIE <-
 * SPIE, or a lower privilege), and mideleg delegates only SSI, STI and SEI, whose mip bits only
 * software writes ({@link Hart.mipSoft}). So the CLINT need not be asked on a return to user mode.
 */
function mayEnable(h: Hart, from: number): boolean {
  return from === PRV_M || (h.mipSoft & h.mie & h.csrLo[CSR.mideleg]!) !== 0;
}

/**
 * The interrupt to take now, or -1. Interrupts for M (not delegated) come before those for S;
 * within each, MEI > MSI > MTI > SEI > SSI > STI. An M-level interrupt is enabled when the hart is
 * below M or MIE=1; an S-level one when the hart is in U, or in S with SIE=1 (never in M).
 */
export function pendingInterrupt(h: Hart): number {
  const pending = h.mipValue() & h.mie;
  if (pending === 0) return -1;
  const deleg = h.csrLo[CSR.mideleg]!;
  const mOn = h.priv < PRV_M || (h.mstatus & MSTATUS.MIE) !== 0;
  const sOn = h.priv < PRV_S || (h.priv === PRV_S && (h.mstatus & MSTATUS.SIE) !== 0);
  for (const irq of IRQ_PRIORITY) {
    if ((pending >>> irq) & 1 && !((deleg >>> irq) & 1) && mOn) return irq;
  }
  for (const irq of IRQ_PRIORITY) {
    if ((pending >>> irq) & 1 && (deleg >>> irq) & 1 && sOn) return irq;
  }
  return -1;
}
