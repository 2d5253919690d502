/**
 * Exception entry to EL1 and exception return (ERET).
 * @spec ARCH-SPEC §3.7 "Exception entry to EL1 (AArch64)", "VBAR_EL1", "ERET (EL1)"
 * @spec Arm ARM (DDI 0487) D1.10 "Exception entry", D1.11 "Exception return" (AArch64.TakeException,
 *   AArch64.ExceptionReturn, IllegalExceptionReturn)
 */
import type { Arm64Cpu } from "./cpu.js";
import { PSR, SCTLR, VECTOR } from "./defs.js";

/** One taken exception, as reported to the trace. */
export interface ExceptionEvent {
  /** VECTOR.SYNC, VECTOR.IRQ or VECTOR.SERROR (ESR_EL1 is written for SYNC and SERROR). */
  kind: number;
  esr: number;
  far: bigint | undefined;
  elr: bigint;
  from: number;
  icount: number;
}

const pair = (lo: number, hi: number): bigint => BigInt.asUintN(64, (BigInt(hi) << 32n) | BigInt(lo >>> 0));

/**
 * Takes an exception to EL1: SPSR_EL1 ← PSTATE, ELR_EL1 ← (retHi:retLo), ESR_EL1 ← `esr` for a
 * synchronous exception, FAR_EL1 ← far when given; PSTATE.{D,A,I,F} ← 1, EL1h, IL and SS cleared,
 * PAN set when SCTLR_EL1.SPAN is 0; pc ← VBAR_EL1 + the vector offset for the source
 * (current EL with SP_EL0, current EL with SP_ELx, lower EL AArch64) plus `kind`.
 */
export function takeException(c: Arm64Cpu, kind: number, esr: number, retLo: number, retHi: number, farLo: number | undefined, farHi: number | undefined): void {
  const from = c.el;
  const base = from === 0 ? VECTOR.LOWER_A64 : c.spsel === 0 ? VECTOR.CURRENT_SP0 : VECTOR.CURRENT_SPX;
  c.spsr = c.pstate;
  c.elrLo = retLo;
  c.elrHi = retHi;
  if (kind === VECTOR.SYNC || kind === VECTOR.SERROR) {
    c.esr = esr >>> 0;
    c.lastEc = esr >>> 26;
  } else {
    c.lastEc = -1;
  }
  if (farLo !== undefined) {
    c.farLo = farLo;
    c.farHi = farHi!;
  }
  c.daif = PSR.DAIF_MASK;
  c.il = false;
  c.ss = false;
  const panBefore = c.pan;
  if ((c.sctlr & SCTLR.SPAN) === 0) c.pan = true;
  c.setElSp(1, 1);
  if (c.pan !== panBefore) c.translationChanged();
  const off = base + kind;
  const lo = (c.vbarLo & ~0x7ff) + off;
  c.pcLo = lo | 0;
  c.pcHi = c.vbarHi;
  c.traps++;
  // A second exception without an instruction retired in between: let the machine look
  // (it detects exception loops, e.g. a vector that faults itself).
  if (c.icount === c.lastTrapIcount) c.stopAt = 0;
  c.lastTrapIcount = c.icount;
  c.dropFetch();
  if (c.onTrap) {
    c.onTrap({ kind, esr: c.esr, far: farLo === undefined ? undefined : pair(farLo, farHi!), elr: pair(retLo, retHi), from, icount: c.icount });
  }
}

/**
 * ERET at EL1: pc ← ELR_EL1, PSTATE ← SPSR_EL1. A return to an EL or state that does not exist
 * here (EL2, EL3, AArch32, a reserved M) is an illegal return: EL and SP stay, PSTATE.IL is set,
 * and the next instruction takes an Illegal Execution State exception. The exclusive monitor is
 * cleared (as QEMU does).
 */
export function exceptionReturn(c: Arm64Cpu): void {
  const spsr = c.spsr;
  const m = spsr & 0x1f;
  const legal = m === PSR.M_EL0t || m === PSR.M_EL1t || m === PSR.M_EL1h;
  c.nzcv = spsr & PSR.NZCV_MASK;
  c.daif = spsr & PSR.DAIF_MASK;
  c.ss = (spsr & PSR.SS) !== 0;
  const panBefore = c.pan;
  c.pan = (spsr & PSR.PAN) !== 0;
  if (legal) {
    c.il = (spsr & PSR.IL) !== 0;
    c.setElSp(m >>> 2, m & 1);
  } else {
    c.il = true;
  }
  if (c.pan !== panBefore) c.translationChanged();
  c.pcLo = c.elrLo;
  c.pcHi = c.elrHi;
  c.exclusivePa = -1;
  c.dropFetch();
  c.interruptsChanged();
}
