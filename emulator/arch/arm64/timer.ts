/**
 * The generic timer as seen from EL0/EL1: the system counter (one tick per retired instruction
 * plus the time WFI skips, so a run is deterministic), and the EL1 physical and virtual timers
 * (CNTP_* and CNTV_*; CNTVOFF is 0, so both count the same).
 * @spec Arm ARM (DDI 0487) D11 "The Generic Timer in AArch64 state": CNTx_CTL_EL0 ENABLE (bit 0),
 *   IMASK (bit 1), ISTATUS (bit 2, read-only); TVAL is the signed 32-bit CVAL - count; the
 *   condition is met when count - CVAL >= 0 (unsigned 64-bit compare).
 */

/** CNTFRQ_EL0: QEMU's generic timer frequency for cortex-a57 (62.5 MHz). */
export const CNTFRQ = 62_500_000;

/** CNTx_CTL_EL0 bits. */
export const CTL_ENABLE = 1, CTL_IMASK = 2, CTL_ISTATUS = 4;

/** One EL1 timer (physical or virtual). */
export class TimerChannel {
  ctl = 0;
  cval = 0n;

  constructor(private readonly count: () => bigint) {}

  /** ISTATUS: the timer condition is met (whether or not enabled/masked decides the output). */
  private met(): boolean {
    return this.count() >= this.cval;
  }

  /** The interrupt output: enabled, unmasked and the condition met. */
  output(): boolean {
    return (this.ctl & (CTL_ENABLE | CTL_IMASK)) === CTL_ENABLE && this.met();
  }

  /** CTL as read: ISTATUS is reported when enabled. */
  readCtl(): bigint {
    return BigInt(this.ctl | ((this.ctl & CTL_ENABLE) !== 0 && this.met() ? CTL_ISTATUS : 0));
  }

  writeCtl(v: bigint): void {
    this.ctl = Number(v & 3n);
  }

  /** TVAL as read: the low 32 bits of CVAL - count, as a signed value (zero-extended in Xt). */
  readTval(): bigint {
    return BigInt.asUintN(32, this.cval - this.count());
  }

  /** TVAL write: CVAL ← count + SignExtend(value[31:0]). */
  writeTval(v: bigint): void {
    this.cval = BigInt.asUintN(64, this.count() + BigInt.asIntN(32, v));
  }

  /** Ticks until the output rises (0 if it is high now), or Infinity if it never will. */
  deadline(): number {
    if ((this.ctl & (CTL_ENABLE | CTL_IMASK)) !== CTL_ENABLE) return Infinity;
    const d = this.cval - this.count();
    return d <= 0n ? 0 : d > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(d);
  }
}

/** The counter and the two EL1 timers of one core. */
export class GenericTimer {
  readonly phys: TimerChannel;
  readonly virt: TimerChannel;
  /** CNTKCTL_EL1 (EL0 access controls). */
  kctl = 0;

  /** @param now the counter value as a number of ticks */
  constructor(private readonly now: () => number) {
    const count = (): bigint => BigInt(this.now());
    this.phys = new TimerChannel(count);
    this.virt = new TimerChannel(count);
  }

  /** CNTPCT_EL0 = CNTVCT_EL0. */
  count(): bigint {
    return BigInt(this.now());
  }

  reset(): void {
    this.phys.ctl = this.virt.ctl = 0;
    this.phys.cval = this.virt.cval = 0n;
    this.kctl = 0;
  }

  /** The IRQ line (either timer's output). */
  irq(): boolean {
    return this.virt.output() || this.phys.output();
  }

  /** Ticks until the IRQ line rises, or Infinity. */
  deadline(): number {
    return Math.min(this.virt.deadline(), this.phys.deadline());
  }
}
