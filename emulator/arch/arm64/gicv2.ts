/**
 * A minimal GICv2 (distributor + CPU interfaces) for 1 to 8 PEs, as QEMU's `virt` board has it
 * (distributor at 0x0800_0000, CPU interface at 0x0801_0000): enough for a kernel to take the
 * generic timer's and the UART's interrupts, and to send software-generated interrupts (SGIs)
 * between PEs, the way it would on real hardware or under QEMU.
 *
 * Modelled: GICD_CTLR, TYPER (CPUNumber = PEs - 1), IIDR, IGROUPR (RAZ/WI), ISENABLER/ICENABLER,
 * ISPENDR/ICPENDR, ISACTIVER/ICACTIVER, IPRIORITYR (8 bits, byte or word access), ITARGETSR, ICFGR,
 * SGIR; GICC_CTLR, PMR, BPR, IAR, EOIR, RPR, HPPIR, IIDR. Level-sensitive inputs (PPIs 27 and 30:
 * each PE's virtual and physical timer; SPI 33: the UART) are sampled when read; a software-set
 * pending bit (ISPENDR) is a latch cleared by ICPENDR or by acknowledging the interrupt. Security
 * extensions, groups and binary-point preemption are not modelled (one group, preemption by
 * priority only).
 *
 * Banking: the registers of interrupts 0-31 (SGIs and PPIs) in the distributor, and the whole CPU
 * interface, are banked per PE — the PE making the access (`current()`) sees its own copy.
 * @spec Arm GICv2 Architecture Specification (IHI 0048B), §4.3 distributor and §4.4 CPU interface
 *   register descriptions, §3.2 "General handling of interrupts", §4.3.15 GICD_SGIR, §3.2.3
 *   "Interrupt handling in a multiprocessor implementation" (1-N SPIs: the first PE to acknowledge
 *   gets it, the others read a spurious ID)
 *
 * Choices where the specification allows several behaviours: SGIs are always enabled (ISENABLER0
 * bits 15:0 read 1, writes ignored; QEMU does the same); each SGI is pending per source PE (IAR
 * reports the lowest pending source in bits 12:10) but active once per target PE; ISPENDR/ICPENDR
 * writes to SGI bits are ignored (GICD_SPENDSGIRn is not implemented); SPI targets reset to PE 0;
 * with one PE the ITARGETSRs read 0x01 per byte and ignore writes.
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
/** The most PEs a GICv2 serves (8-bit CPU target lists). */
export const GIC_MAX_CPUS = 8;
/** Number of SGIs (IDs 0-15) and of banked IDs (SGIs and PPIs, 0-31). */
const NUM_SGIS = 16, NUM_BANKED = 32;

/** The interrupt controller; `line(intid, cpu)` gives the level of each wired input as PE `cpu` sees it. */
export class GicV2 {
  /** GICD_CTLR.Enable. */
  distEnabled = false;
  /** Per PE (index = PE number): GICC_CTLR.Enable, GICC_PMR, GICC_BPR. */
  readonly cpuOn: Uint8Array;
  readonly pmrs: Uint8Array;
  readonly bprs: Uint8Array;
  /**
   * Per-interrupt state, indexed by {@link slot}: IDs 0-31 banked per PE, SPIs once. `active` holds
   * 1 for a banked ID and, for an SPI, 1 + the PE that acknowledged it.
   */
  readonly enabled: Uint8Array;
  readonly latched: Uint8Array;
  readonly active: Uint8Array;
  readonly priority: Uint8Array;
  readonly config = new Uint8Array(GIC_NUM_IRQS / 16 * 4);
  /** GICD_ITARGETSR of each SPI: a mask of PEs. */
  readonly targets = new Uint8Array(GIC_NUM_IRQS);
  /** Pending SGIs: [target PE * 16 + SGI ID] = mask of the source PEs. */
  readonly sgiSources: Uint8Array;
  /** Called when anything that may change an IRQ output changed (register writes). */
  onChange: (() => void) | undefined;
  /**
   * Where an SGI's delivery to one target PE goes, when set (fault injection delays or loses some:
   * boot/ipi-faults.ts): `deliver` makes it pending there and signals the change. Unset: at once.
   */
  sgiRoute: ((target: number, deliver: () => void) => void) | undefined;
  /** The PE making the current register access (set by the machine; PE 0 by default). */
  current: () => number = () => 0;
  readonly distributor: MmioDevice;
  readonly cpuInterface: MmioDevice;

  /**
   * @param line the level of input `intid` at PE `cpu` (false for unwired ones)
   * @param cpus PEs served (1 to 8)
   */
  constructor(private readonly line: (intid: number, cpu: number) => boolean, readonly cpus = 1) {
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > GIC_MAX_CPUS) throw new RangeError(`GicV2: ${cpus} PEs (1 to ${GIC_MAX_CPUS})`);
    const n = cpus * GIC_NUM_IRQS;
    this.enabled = new Uint8Array(n);
    this.latched = new Uint8Array(n);
    this.active = new Uint8Array(n);
    this.priority = new Uint8Array(n);
    this.cpuOn = new Uint8Array(cpus);
    this.pmrs = new Uint8Array(cpus);
    this.bprs = new Uint8Array(cpus);
    this.sgiSources = new Uint8Array(cpus * NUM_SGIS);
    this.targets.fill(1);
    this.distributor = { name: "gic-dist", read: (o, s) => this.readDist(o, s), write: (o, s, v) => this.writeDist(o, s, v) };
    this.cpuInterface = { name: "gic-cpu", read: (o) => this.readCpu(o), write: (o, _s, v) => this.writeCpu(o, v) };
  }

  /** GICC_CTLR.Enable and GICC_PMR of PE 0 (the uniprocessor view). */
  get cpuEnabled(): boolean { return this.cpuOn[0] === 1; }
  get pmr(): number { return this.pmrs[0]!; }

  reset(): void {
    this.distEnabled = false;
    for (const a of [this.cpuOn, this.pmrs, this.bprs, this.enabled, this.latched, this.active, this.priority, this.config, this.sgiSources]) a.fill(0);
    this.targets.fill(1);
  }

  /** Index of interrupt `intid` as PE `cpu` sees it in the per-interrupt arrays. */
  slot(cpu: number, intid: number): number {
    return intid < NUM_BANKED ? cpu * GIC_NUM_IRQS + intid : intid;
  }

  /** Pending at PE `cpu`: an SGI from any source, a latched software/edge request, or a high level input. */
  pending(intid: number, cpu = 0): boolean {
    if (intid < NUM_SGIS) return this.sgiSources[cpu * NUM_SGIS + intid] !== 0;
    return this.latched[this.slot(cpu, intid)] === 1 || this.line(intid, cpu);
  }

  /** Is `intid` active on PE `cpu` (for an SPI: acknowledged by that PE)? */
  private activeOn(cpu: number, intid: number): boolean {
    const a = this.active[this.slot(cpu, intid)]!;
    return intid < NUM_BANKED ? a !== 0 : a === cpu + 1;
  }

  /** Priority of the highest active interrupt of PE `cpu` (its running priority), or 0x100 when idle. */
  private runningPriority(cpu: number): number {
    let p = 0x100;
    for (let i = 0; i < GIC_NUM_IRQS; i++) if (this.activeOn(cpu, i) && this.priority[this.slot(cpu, i)]! < p) p = this.priority[this.slot(cpu, i)]!;
    return p;
  }

  /** The highest-priority pending, enabled, inactive interrupt that targets PE `cpu`, or SPURIOUS. */
  private highestPending(cpu: number): number {
    let best = SPURIOUS, bestP = 0x100;
    for (let i = 0; i < GIC_NUM_IRQS; i++) {
      const s = this.slot(cpu, i);
      const enabled = i < NUM_SGIS || this.enabled[s] === 1;
      if (!enabled || this.active[s] !== 0 || this.priority[s]! >= bestP) continue;
      if (i >= NUM_BANKED && (this.targets[i]! & (1 << cpu)) === 0) continue;
      if (this.pending(i, cpu)) {
        best = i;
        bestP = this.priority[s]!;
      }
    }
    return best;
  }

  /** The IRQ output to PE `cpu`. */
  irqOut(cpu = 0): boolean {
    if (!this.distEnabled || this.cpuOn[cpu] !== 1) return false;
    const id = this.highestPending(cpu);
    if (id === SPURIOUS) return false;
    const p = this.priority[this.slot(cpu, id)]!;
    return p < this.pmrs[cpu]! && p < this.runningPriority(cpu);
  }

  private bitRead(a: Uint8Array, cpu: number, base: number): number {
    let v = 0;
    for (let b = 0; b < 32; b++) {
      const id = base + b;
      if (id >= GIC_NUM_IRQS) break;
      const on = a === this.latched ? this.pending(id, cpu) : a === this.enabled && id < NUM_SGIS ? true : a[this.slot(cpu, id)] !== 0;
      if (on) v |= 1 << b;
    }
    return v >>> 0;
  }

  private bitWrite(a: Uint8Array, cpu: number, base: number, v: number, set: boolean): void {
    for (let b = 0; b < 32; b++) {
      const id = base + b;
      // SGI enables are fixed; SGI pending state is set by GICD_SGIR only.
      if ((v >>> b) & 1 && id < GIC_NUM_IRQS && !(id < NUM_SGIS && a !== this.active)) a[this.slot(cpu, id)] = set ? (a === this.active && id >= NUM_BANKED ? cpu + 1 : 1) : 0;
    }
  }

  private readDist(o: number, size: number): number {
    const cpu = this.current();
    if (o === 0x000) return this.distEnabled ? 1 : 0;
    if (o === 0x004) return ((this.cpus - 1) << 5) | (GIC_NUM_IRQS / 32 - 1);
    if (o === 0x008) return 0x0200043b;
    if (o >= 0x080 && o < 0x100) return 0;
    const bank = (lo: number): number => (o - lo) * 8;
    if (o >= 0x100 && o < 0x200) return this.bitRead(this.enabled, cpu, bank(o < 0x180 ? 0x100 : 0x180));
    if (o >= 0x200 && o < 0x300) return this.bitRead(this.latched, cpu, bank(o < 0x280 ? 0x200 : 0x280));
    if (o >= 0x300 && o < 0x400) return this.bitRead(this.active, cpu, bank(o < 0x380 ? 0x300 : 0x380));
    if (o >= 0x400 && o < 0x400 + GIC_NUM_IRQS) return this.bytes((k) => this.priority[this.slot(cpu, o - 0x400 + k)] ?? 0, size);
    if (o >= 0x800 && o < 0x800 + GIC_NUM_IRQS) {
      if (this.cpus === 1) return size === 1 ? 1 : size === 2 ? 0x0101 : 0x01010101;
      return this.bytes((k) => o - 0x800 + k < NUM_BANKED ? 1 << cpu : this.targets[o - 0x800 + k] ?? 0, size);
    }
    if (o >= 0xc00 && o < 0xc00 + GIC_NUM_IRQS / 4) {
      const i = (o - 0xc00) & ~3;
      return ((this.config[i]! | this.config[i + 1]! << 8 | this.config[i + 2]! << 16 | this.config[i + 3]! << 24) >>> 0);
    }
    return 0;
  }

  private bytes(byte: (k: number) => number, size: number): number {
    let v = 0;
    for (let k = 0; k < size; k++) v |= byte(k) << (8 * k);
    return v >>> 0;
  }

  private writeDist(o: number, size: number, v: number): void {
    const cpu = this.current();
    if (o === 0x000) this.distEnabled = (v & 1) !== 0;
    else if (o >= 0x100 && o < 0x180) this.bitWrite(this.enabled, cpu, (o - 0x100) * 8, v, true);
    else if (o >= 0x180 && o < 0x200) this.bitWrite(this.enabled, cpu, (o - 0x180) * 8, v, false);
    else if (o >= 0x200 && o < 0x280) this.bitWrite(this.latched, cpu, (o - 0x200) * 8, v, true);
    else if (o >= 0x280 && o < 0x300) this.bitWrite(this.latched, cpu, (o - 0x280) * 8, v, false);
    else if (o >= 0x300 && o < 0x380) this.bitWrite(this.active, cpu, (o - 0x300) * 8, v, true);
    else if (o >= 0x380 && o < 0x400) this.bitWrite(this.active, cpu, (o - 0x380) * 8, v, false);
    else if (o >= 0x400 && o < 0x400 + GIC_NUM_IRQS) for (let k = 0; k < size; k++) this.priority[this.slot(cpu, o - 0x400 + k)] = (v >>> (8 * k)) & 0xff;
    else if (o >= 0x800 + NUM_BANKED && o < 0x800 + GIC_NUM_IRQS) {
      if (this.cpus === 1) return;
      for (let k = 0; k < size; k++) this.targets[o - 0x800 + k] = (v >>> (8 * k)) & ((1 << this.cpus) - 1);
    } else if (o >= 0xc00 && o < 0xc00 + GIC_NUM_IRQS / 4) for (let k = 0; k < 4 && k < size; k++) this.config[((o - 0xc00) & ~3) + k] = (v >>> (8 * k)) & 0xff;
    else if (o === 0xf00) this.sendSgi(cpu, v);
    else return;
    this.onChange?.();
  }

  /**
   * GICD_SGIR: SGI `v[3:0]` to the PEs of TargetListFilter `v[25:24]` — 0: CPUTargetList `v[23:16]`,
   * 1: every PE but the sender, 2: the sender only, 3: reserved (ignored). Targets beyond the
   * implemented PEs are ignored.
   * @spec IHI 0048B §4.3.15 "Software Generated Interrupt Register, GICD_SGIR"
   */
  sendSgi(from: number, v: number): void {
    const filter = (v >>> 24) & 3;
    if (filter === 3) return;
    const all = (1 << this.cpus) - 1;
    const list = filter === 0 ? (v >>> 16) & 0xff : filter === 1 ? all & ~(1 << from) : 1 << from;
    const id = v & 0xf;
    const route = this.sgiRoute;
    for (let t = 0; t < this.cpus; t++) {
      if (((list >>> t) & 1) === 0) continue;
      if (route === undefined) this.sgiSources[t * NUM_SGIS + id] |= 1 << from;
      else route(t, () => { this.sgiSources[t * NUM_SGIS + id] |= 1 << from; this.onChange?.(); });
    }
  }

  private readCpu(o: number): number {
    const cpu = this.current();
    switch (o) {
      case 0x00: return this.cpuOn[cpu]!;
      case 0x04: return this.pmrs[cpu]!;
      case 0x08: return this.bprs[cpu]!;
      case 0x0c: return this.acknowledge(cpu);
      case 0x14: { const p = this.runningPriority(cpu); return p === 0x100 ? 0xff : p; }
      case 0x18: { const id = this.highestPending(cpu); return id < NUM_SGIS ? id | (lowestBit(this.sgiSources[cpu * NUM_SGIS + id]!) << 10) : id; }
      case 0xfc: return 0x0202043b;
      default: return 0;
    }
  }

  /**
   * GICC_IAR of PE `cpu`: the highest-priority pending interrupt becomes active there (its latch
   * clears; for an SGI the pending state of its lowest-numbered source, reported in bits 12:10).
   */
  private acknowledge(cpu: number): number {
    if (!this.distEnabled || this.cpuOn[cpu] !== 1) return SPURIOUS;
    const id = this.highestPending(cpu);
    if (id === SPURIOUS) return SPURIOUS;
    const s = this.slot(cpu, id);
    if (this.priority[s]! >= this.pmrs[cpu]! || this.priority[s]! >= this.runningPriority(cpu)) return SPURIOUS;
    this.active[s] = id < NUM_BANKED ? 1 : cpu + 1;
    let iar = id;
    if (id < NUM_SGIS) {
      const src = lowestBit(this.sgiSources[cpu * NUM_SGIS + id]!);
      this.sgiSources[cpu * NUM_SGIS + id]! &= ~(1 << src);
      iar |= src << 10;
    } else {
      this.latched[s] = 0;
    }
    this.onChange?.();
    return iar;
  }

  private writeCpu(o: number, v: number): void {
    const cpu = this.current();
    switch (o) {
      case 0x00: this.cpuOn[cpu] = v & 1; break;
      case 0x04: this.pmrs[cpu] = v & 0xff; break;
      case 0x08: this.bprs[cpu] = v & 7; break;
      case 0x10: { const id = v & 0x3ff; if (id < GIC_NUM_IRQS) this.active[this.slot(cpu, id)] = 0; break; }
      default: return;
    }
    this.onChange?.();
  }
}

/** Index of the lowest set bit of a non-zero byte. */
function lowestBit(m: number): number {
  return 31 - Math.clz32(m & -m);
}
