/**
 * The local APIC (xAPIC, memory-mapped at 0xFEE00000): IRR/ISR/EOI priority logic, the task priority
 * register, the LVT timer in one-shot and periodic modes with the divide configuration, the APIC
 * ID, and fixed-mode IPIs through the ICR (to the APICs of {@link LocalApic.peers}: destinations in
 * apic-ipi.ts). The timer counts the machine clock (one tick per retired instruction, plus time
 * skipped while halted), divided by the divide configuration.
 * Not modelled: TSC-deadline mode (not reported by CPUID), LINT0/1, the error and thermal LVTs,
 * IPI delivery modes other than fixed (INIT, SIPI, NMI, SMI, lowest priority: ignored), x2APIC.
 * @spec Intel SDM Vol. 3A ch. 11 (§11.4.1 base, §11.4.6 APIC ID, §11.5.4 APIC timer, §11.6.1 ICR,
 * §11.8.3-11.8.5 IRR/ISR/EOI, §11.8.3.1 task and processor priorities, §11.9 spurious vector,
 * Table 11-1 register map)
 */
import type { MmioDevice } from "../core/memory.js";
import { ipiDestinations, ICR } from "./apic-ipi.js";

/** Physical base and size of the local APIC's register page. */
export const LAPIC_BASE = 0xfee00000, LAPIC_SIZE = 0x1000;

/** Register offsets. @spec SDM Vol. 3A Table 11-1 */
export const LAPIC_REG = {
  ID: 0x20, VERSION: 0x30, TPR: 0x80, PPR: 0xa0, EOI: 0xb0, LDR: 0xd0, DFR: 0xe0, SVR: 0xf0,
  ISR: 0x100, TMR: 0x180, IRR: 0x200, ESR: 0x280, ICR_LO: 0x300, ICR_HI: 0x310,
  LVT_TIMER: 0x320, LVT_THERMAL: 0x330, LVT_PERF: 0x340, LVT_LINT0: 0x350, LVT_LINT1: 0x360, LVT_ERROR: 0x370,
  TIMER_INITIAL: 0x380, TIMER_CURRENT: 0x390, TIMER_DIVIDE: 0x3e0,
} as const;

/** LVT bits: mask (16); timer mode (18:17): 0 one-shot, 1 periodic. */
export const LVT_MASKED = 1 << 16, LVT_PERIODIC = 1 << 17;
/** SVR bit 8: APIC software enable. */
export const SVR_ENABLE = 1 << 8;

/** Divide configuration (bits 0, 1, 3) → divisor. @spec SDM Vol. 3A Figure 11-10 */
function divisorOf(dcr: number): number {
  const v = (dcr & 3) | ((dcr >>> 1) & 4);
  return v === 7 ? 1 : 2 << v;
}

export class LocalApic implements MmioDevice {
  readonly name = "lapic";
  /** 256-bit request and in-service registers, one bit per vector. */
  readonly irr = new Uint32Array(8);
  readonly isr = new Uint32Array(8);
  tpr = 0;
  svr = 0xff;
  ldr = 0;
  dfr = 0xffffffff;
  lvtTimer = LVT_MASKED;
  readonly lvtOther = new Uint32Array(5).fill(LVT_MASKED);
  icrLo = 0;
  icrHi = 0;
  dcr = 0;
  initialCount = 0;
  /** Clock value when the current timer period started. */
  private start = 0;
  /** The timer is counting. */
  private running = false;
  /** Called when an interrupt may have become deliverable (the CPU should look). */
  onChange: (() => void) | undefined;
  /** The APICs an IPI can reach, this one included (the machine sets it); alone when undefined. */
  peers: readonly LocalApic[] | undefined;
  /**
   * Where a fixed IPI's delivery to one destination APIC goes, when set (fault injection delays or
   * loses some: boot/ipi-faults.ts); `deliver` sets the vector in the destination's IRR. Unset: at once.
   */
  ipiRoute: ((to: LocalApic, deliver: () => void) => void) | undefined;

  /**
   * @param now the machine clock in ticks
   * @param id the APIC ID (bits 31:24 of the ID register; read-only here)
   */
  constructor(private readonly now: () => number, readonly id = 0) {}

  private get divisor(): number {
    return divisorOf(this.dcr);
  }

  /** Ticks of one timer period. */
  private get period(): number {
    return this.initialCount * this.divisor;
  }

  /** Brings the timer up to `now`: expiries set the timer vector in IRR (unless masked). */
  poll(): void {
    if (!this.running) return;
    const t = this.now();
    const p = this.period;
    if (t - this.start < p) return;
    if ((this.lvtTimer & LVT_PERIODIC) !== 0) {
      this.start += Math.floor((t - this.start) / p) * p;
    } else {
      this.running = false;
    }
    if ((this.lvtTimer & LVT_MASKED) === 0 && (this.svr & SVR_ENABLE) !== 0) this.request(this.lvtTimer & 0xff);
  }

  /** Ticks until the timer next expires: 0 if due, Infinity if it is not counting. */
  nextDeadline(): number {
    if (!this.running) return Infinity;
    return Math.max(0, this.start + this.period - this.now());
  }

  /** Sets `vector` in IRR (vectors 0..15 are illegal and ignored). */
  request(vector: number): void {
    if (vector < 16) return;
    this.irr[vector >>> 5]! |= 1 << (vector & 31);
    this.onChange?.();
  }

  private static highest(bits: Uint32Array): number {
    for (let w = 7; w >= 0; w--) if (bits[w] !== 0) return w * 32 + 31 - Math.clz32(bits[w]!);
    return -1;
  }

  /** Processor priority: the higher class of TPR and the highest in-service vector. @spec SDM §11.8.3.1 */
  get ppr(): number {
    const isr = LocalApic.highest(this.isr);
    const isrClass = isr < 0 ? 0 : isr & 0xf0;
    return (this.tpr & 0xf0) >= isrClass ? this.tpr & 0xff : isrClass;
  }

  /** The highest requested vector whose priority class is above the processor priority, or -1. */
  pendingVector(): number {
    this.poll();
    const v = LocalApic.highest(this.irr);
    if (v < 0 || (v & 0xf0) <= (this.ppr & 0xf0)) return -1;
    return v;
  }

  /** The CPU takes `vector`: IRR → ISR. */
  acknowledge(vector: number): void {
    this.irr[vector >>> 5]! &= ~(1 << (vector & 31));
    this.isr[vector >>> 5]! |= 1 << (vector & 31);
  }

  /** Reads a 32-bit register; other sizes read the containing register's low bytes. */
  read(offset: number, _size: 1 | 2 | 4): number {
    const R = LAPIC_REG;
    const reg = offset & 0xff0;
    if (reg >= R.ISR && reg < R.ISR + 0x80) return this.isr[(reg - R.ISR) >>> 4]!;
    if (reg >= R.IRR && reg < R.IRR + 0x80) { this.poll(); return this.irr[(reg - R.IRR) >>> 4]!; }
    switch (reg) {
      case R.ID: return this.id << 24;
      case R.VERSION: return 0x00050014;
      case R.TPR: return this.tpr;
      case R.PPR: return this.ppr;
      case R.LDR: return this.ldr;
      case R.DFR: return this.dfr;
      case R.SVR: return this.svr;
      case R.ICR_LO: return this.icrLo;
      case R.ICR_HI: return this.icrHi;
      case R.LVT_TIMER: return this.lvtTimer;
      case R.LVT_THERMAL: case R.LVT_PERF: case R.LVT_LINT0: case R.LVT_LINT1: case R.LVT_ERROR:
        return this.lvtOther[(reg - R.LVT_THERMAL) >>> 4]!;
      case R.TIMER_INITIAL: return this.initialCount;
      case R.TIMER_CURRENT: return this.currentCount();
      case R.TIMER_DIVIDE: return this.dcr;
      default: return 0;
    }
  }

  /** The current count: counts down from the initial count; 0 when a one-shot has expired. */
  currentCount(): number {
    this.poll();
    if (!this.running) return 0;
    const elapsed = Math.floor((this.now() - this.start) / this.divisor);
    return Math.max(0, this.initialCount - elapsed);
  }

  /** Writes a register. */
  write(offset: number, _size: 1 | 2 | 4, value: number): void {
    const R = LAPIC_REG;
    const reg = offset & 0xff0;
    value >>>= 0;
    switch (reg) {
      case R.TPR: this.tpr = value & 0xff; this.onChange?.(); return;
      case R.EOI: {
        const v = LocalApic.highest(this.isr);
        if (v >= 0) this.isr[v >>> 5]! &= ~(1 << (v & 31));
        this.onChange?.();
        return;
      }
      case R.LDR: this.ldr = value & 0xff000000; return;
      case R.DFR: this.dfr = value | 0x0fffffff; return;
      case R.SVR: this.svr = value & 0x13ff; return;
      case R.ICR_HI: this.icrHi = value & 0xff000000; return;
      case R.ICR_LO: {
        // Sent at once: the delivery status (bit 12) reads idle. Only fixed delivery is modelled.
        this.icrLo = value & ~ICR.DELIVERY_STATUS;
        if (((value >>> 8) & 7) !== ICR.MODE_FIXED) return;
        const vector = value & 0xff, route = this.ipiRoute;
        for (const to of ipiDestinations(value, this.icrHi, this, this.peers ?? [this])) {
          if (route === undefined) to.request(vector);
          else route(to, () => to.request(vector));
        }
        return;
      }
      case R.LVT_TIMER: this.poll(); this.lvtTimer = value & 0x700ff; return;
      case R.LVT_THERMAL: case R.LVT_PERF: case R.LVT_LINT0: case R.LVT_LINT1: case R.LVT_ERROR:
        this.lvtOther[(reg - R.LVT_THERMAL) >>> 4] = value;
        return;
      case R.TIMER_INITIAL:
        this.initialCount = value;
        this.start = this.now();
        this.running = value !== 0;
        this.onChange?.();
        return;
      case R.TIMER_DIVIDE: this.poll(); this.dcr = value & 0xb; return;
      default: return;
    }
  }
}
