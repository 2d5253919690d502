/**
 * A minimal GICv2 (distributor + CPU interface) for one PE, as QEMU's `virt` board has it
 * (distributor at 0x0800_0000, CPU interface at 0x0801_0000): enough for a kernel to take the
 * generic timer's and the UART's interrupts the way it would on real hardware or under QEMU.
 *
 * Modelled: GICD_CTLR, TYPER, IIDR, IGROUPR (RAZ/WI), ISENABLER/ICENABLER, ISPENDR/ICPENDR,
 * ISACTIVER/ICACTIVER, IPRIORITYR (8 bits, byte or word access), ITARGETSR (CPU 0), ICFGR; GICC_CTLR,
 * PMR, BPR, IAR, EOIR, RPR, HPPIR, IIDR. Level-sensitive inputs (PPIs 27 and 30: virtual and
 * physical timer; SPI 33: the UART) are sampled when read; a software-set pending bit (ISPENDR)
 * is a latch cleared by ICPENDR or by acknowledging the interrupt. SGIs, security extensions,
 * groups and binary-point preemption are not modelled (one group, preemption by priority only).
 * @spec Arm GICv2 Architecture Specification (IHI 0048B), §4.3 distributor and §4.4 CPU interface
 *   register descriptions, §3.2 "General handling of interrupts"
 */
import type { MmioDevice } from "../../core/memory.js";

/** Interrupt IDs the machine wires. */
export const INTID_VIRT_TIMER = 27, INTID_PHYS_TIMER = 30, INTID_UART = 33;
/** Interrupts implemented (GICD_TYPER.ITLinesNumber = 2: 96 IDs). */
export const GIC_NUM_IRQS = 96;
/** GICC_IAR value when nothing is pending. */
export const SPURIOUS = 1023;
/** Register window sizes. */
export const GICD_SIZE = 0x10000, GICC_SIZE = 0x10000;

/** The interrupt controller; `line(intid)` gives the level of each wired input. */
export class GicV2 {
  /** GICD_CTLR.Enable and GICC_CTLR.Enable. */
  distEnabled = false;
  cpuEnabled = false;
  pmr = 0;
  bpr = 0;
  readonly enabled = new Uint8Array(GIC_NUM_IRQS);
  readonly latched = new Uint8Array(GIC_NUM_IRQS);
  readonly active = new Uint8Array(GIC_NUM_IRQS);
  readonly priority = new Uint8Array(GIC_NUM_IRQS);
  readonly config = new Uint8Array(GIC_NUM_IRQS / 16 * 4);
  /** Called when anything that may change the IRQ output changed (register writes). */
  onChange: (() => void) | undefined;
  readonly distributor: MmioDevice;
  readonly cpuInterface: MmioDevice;

  /** @param line the level of input `intid` (false for unwired ones) */
  constructor(private readonly line: (intid: number) => boolean) {
    this.distributor = { name: "gic-dist", read: (o, s) => this.readDist(o, s), write: (o, s, v) => this.writeDist(o, s, v) };
    this.cpuInterface = { name: "gic-cpu", read: (o) => this.readCpu(o), write: (o, _s, v) => this.writeCpu(o, v) };
  }

  reset(): void {
    this.distEnabled = this.cpuEnabled = false;
    this.pmr = this.bpr = 0;
    for (const a of [this.enabled, this.latched, this.active, this.priority, this.config]) a.fill(0);
  }

  /** Pending: a latched software/edge request or a high level input. */
  pending(intid: number): boolean {
    return this.latched[intid] === 1 || this.line(intid);
  }

  /** Priority of the highest active interrupt (the running priority), or 0x100 when idle. */
  private runningPriority(): number {
    let p = 0x100;
    for (let i = 0; i < GIC_NUM_IRQS; i++) if (this.active[i] === 1 && this.priority[i]! < p) p = this.priority[i]!;
    return p;
  }

  /** The highest-priority pending, enabled, inactive interrupt, or SPURIOUS. */
  private highestPending(): number {
    let best = SPURIOUS, bestP = 0x100;
    for (let i = 16; i < GIC_NUM_IRQS; i++) {
      if (this.enabled[i] === 1 && this.active[i] === 0 && this.priority[i]! < bestP && this.pending(i)) {
        best = i;
        bestP = this.priority[i]!;
      }
    }
    return best;
  }

  /** The IRQ output to the PE. */
  irqOut(): boolean {
    if (!this.distEnabled || !this.cpuEnabled) return false;
    const id = this.highestPending();
    if (id === SPURIOUS) return false;
    const p = this.priority[id]!;
    return p < this.pmr && p < this.runningPriority();
  }

  private bitRead(a: Uint8Array, base: number): number {
    let v = 0;
    for (let b = 0; b < 32; b++) if (base + b < GIC_NUM_IRQS && (a === this.latched ? this.pending(base + b) : a[base + b] === 1)) v |= 1 << b;
    return v >>> 0;
  }

  private bitWrite(a: Uint8Array, base: number, v: number, set: boolean): void {
    for (let b = 0; b < 32; b++) if ((v >>> b) & 1 && base + b < GIC_NUM_IRQS && !(a === this.enabled && base + b < 16)) a[base + b] = set ? 1 : 0;
  }

  private readDist(o: number, size: number): number {
    if (o === 0x000) return this.distEnabled ? 1 : 0;
    if (o === 0x004) return GIC_NUM_IRQS / 32 - 1;
    if (o === 0x008) return 0x0200043b;
    if (o >= 0x080 && o < 0x100) return 0;
    const bank = (lo: number): number => (o - lo) * 8;
    if (o >= 0x100 && o < 0x180) return o === 0x100 ? (this.bitRead(this.enabled, 0) | 0xffff) >>> 0 : this.bitRead(this.enabled, bank(0x100));
    if (o >= 0x180 && o < 0x200) return o === 0x180 ? (this.bitRead(this.enabled, 0) | 0xffff) >>> 0 : this.bitRead(this.enabled, bank(0x180));
    if (o >= 0x200 && o < 0x300) return this.bitRead(this.latched, bank(o < 0x280 ? 0x200 : 0x280));
    if (o >= 0x300 && o < 0x400) return this.bitRead(this.active, bank(o < 0x380 ? 0x300 : 0x380));
    if (o >= 0x400 && o < 0x400 + GIC_NUM_IRQS) return this.bytes(this.priority, o - 0x400, size);
    if (o >= 0x800 && o < 0x800 + GIC_NUM_IRQS) return size === 1 ? 1 : size === 2 ? 0x0101 : 0x01010101;
    if (o >= 0xc00 && o < 0xc00 + GIC_NUM_IRQS / 4) {
      const i = (o - 0xc00) & ~3;
      return ((this.config[i]! | this.config[i + 1]! << 8 | this.config[i + 2]! << 16 | this.config[i + 3]! << 24) >>> 0);
    }
    return 0;
  }

  private bytes(a: Uint8Array, at: number, size: number): number {
    let v = 0;
    for (let k = 0; k < size; k++) v |= (a[at + k] ?? 0) << (8 * k);
    return v >>> 0;
  }

  private writeDist(o: number, size: number, v: number): void {
    if (o === 0x000) this.distEnabled = (v & 1) !== 0;
    else if (o >= 0x100 && o < 0x180) this.bitWrite(this.enabled, (o - 0x100) * 8, v, true);
    else if (o >= 0x180 && o < 0x200) this.bitWrite(this.enabled, (o - 0x180) * 8, v, false);
    else if (o >= 0x200 && o < 0x280) this.bitWrite(this.latched, (o - 0x200) * 8, v, true);
    else if (o >= 0x280 && o < 0x300) this.bitWrite(this.latched, (o - 0x280) * 8, v, false);
    else if (o >= 0x300 && o < 0x380) this.bitWrite(this.active, (o - 0x300) * 8, v, true);
    else if (o >= 0x380 && o < 0x400) this.bitWrite(this.active, (o - 0x380) * 8, v, false);
    else if (o >= 0x400 && o < 0x400 + GIC_NUM_IRQS) for (let k = 0; k < size; k++) this.priority[o - 0x400 + k] = (v >>> (8 * k)) & 0xff;
    else if (o >= 0xc00 && o < 0xc00 + GIC_NUM_IRQS / 4) for (let k = 0; k < 4 && k < size; k++) this.config[((o - 0xc00) & ~3) + k] = (v >>> (8 * k)) & 0xff;
    else return;
    this.onChange?.();
  }

  private readCpu(o: number): number {
    switch (o) {
      case 0x00: return this.cpuEnabled ? 1 : 0;
      case 0x04: return this.pmr;
      case 0x08: return this.bpr;
      case 0x0c: return this.acknowledge();
      case 0x14: { const p = this.runningPriority(); return p === 0x100 ? 0xff : p; }
      case 0x18: return this.highestPending();
      case 0xfc: return 0x0202043b;
      default: return 0;
    }
  }

  /** GICC_IAR: the highest-priority pending interrupt becomes active (its latch clears). */
  private acknowledge(): number {
    if (!this.distEnabled || !this.cpuEnabled) return SPURIOUS;
    const id = this.highestPending();
    if (id === SPURIOUS || this.priority[id]! >= this.pmr || this.priority[id]! >= this.runningPriority()) return SPURIOUS;
    this.active[id] = 1;
    this.latched[id] = 0;
    this.onChange?.();
    return id;
  }

  private writeCpu(o: number, v: number): void {
    switch (o) {
      case 0x00: this.cpuEnabled = (v & 1) !== 0; break;
      case 0x04: this.pmr = v & 0xff; break;
      case 0x08: this.bpr = v & 7; break;
      case 0x10: { const id = v & 0x3ff; if (id < GIC_NUM_IRQS) this.active[id] = 0; break; }
      default: return;
    }
    this.onChange?.();
  }
}
