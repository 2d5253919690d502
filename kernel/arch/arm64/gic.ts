/**
 * The kernel's GICv2 driver (the interrupt controller of arm64-virt, as under QEMU): each CPU's
 * virtual-timer PPI and the inter-processor SGI, acknowledged through GICC_IAR and ended through
 * GICC_EOIR, and SGIs sent through GICD_SGIR. Register accesses are 32-bit device accesses at the
 * physical addresses the device tree gives (the `Mmio` the boot code binds to the bus).
 *
 * The distributor registers of interrupts 0-31 and the whole CPU interface are banked per CPU, so
 * every CPU enables its own timer PPI and its own CPU interface ({@link GicDriver.initCpu}), as
 * Linux's gic_cpu_init does. A CPU's target bit in GICD_SGIR's CPUTargetList is its CPU interface
 * number, which need not be its MPIDR affinity: each CPU reads it from its banked GICD_ITARGETSR0
 * (Linux's gic_get_cpumask) and records it under its hardware id.
 * @spec Arm GICv2 Architecture Specification (IHI 0048B) §4.3.1 GICD_CTLR, §4.3.5 GICD_ISENABLERn
 *   (whether SGIs can be disabled is IMPLEMENTATION DEFINED: the kernel enables the one it uses),
 *   §4.3.11 GICD_IPRIORITYRn, §4.3.12 GICD_ITARGETSRn (the banked ITARGETSR0-7 read the accessing
 *   CPU's own mask), §4.3.15 GICD_SGIR, §4.4.1 GICC_CTLR, §4.4.2 GICC_PMR, §4.4.4 GICC_IAR,
 *   §4.4.5 GICC_EOIR, §3.2.3 (IDs 0-15 SGIs, 16-31 PPIs; 1023 spurious)
 */

/** 32-bit device register access by physical address. */
export interface Mmio {
  read32(pa: number): number;
  write32(pa: number, v: number): void;
}

/** Interrupt IDs the kernel uses: the SGI for IPIs, the virtual timer's PPI, the spurious ID. */
export const SGI_IPI = 0, PPI_VIRT_TIMER = 27, INTID_SPURIOUS = 1023;
/** Priority of both (Linux's GICD_INT_DEF_PRI) and the mask that lets them through (lower is higher priority). */
const PRIORITY = 0xa0, PMR = 0xf0;

const GICD_CTLR = 0x000, GICD_ISENABLER0 = 0x100, GICD_IPRIORITYR = 0x400, GICD_ITARGETSR0 = 0x800, GICD_SGIR = 0xf00;
const GICC_CTLR = 0x00, GICC_PMR = 0x04, GICC_IAR = 0x0c, GICC_EOIR = 0x10;

/** The driver over a distributor at `dist` and a CPU interface at `cpuIf` (physical addresses). */
export class GicDriver {
  /** Hardware id (MPIDR affinity) → GICD_SGIR CPUTargetList bit, learnt by each CPU in initCpu. */
  private readonly targets = new Map<number, number>();

  constructor(private readonly mmio: Mmio, private readonly dist: number, private readonly cpuIf: number) {}

  /**
   * Sets up the interrupt controller for the calling CPU `hwId`: the distributor on (the first
   * CPU), the timer PPI and the IPI SGI enabled at {@link PRIORITY} in its banked registers, its CPU
   * interface on with the priority mask open.
   */
  initCpu(hwId: number): void {
    const m = this.mmio;
    if ((m.read32(this.dist + GICD_CTLR) & 1) === 0) m.write32(this.dist + GICD_CTLR, 1);
    this.targets.set(hwId, m.read32(this.dist + GICD_ITARGETSR0) & 0xff);
    this.setPriority(PPI_VIRT_TIMER);
    m.write32(this.dist + GICD_ISENABLER0, 1 << PPI_VIRT_TIMER);
    m.write32(this.cpuIf + GICC_PMR, PMR);
    m.write32(this.cpuIf + GICC_CTLR, 1);
  }

  /** Enables the IPI SGI on the calling CPU (banked GICD_ISENABLER0 and IPRIORITYR). */
  enableIpi(): void {
    this.setPriority(SGI_IPI);
    this.mmio.write32(this.dist + GICD_ISENABLER0, 1 << SGI_IPI);
  }

  /** GICC_IAR: the interrupt now taken becomes active (bits 9:0 its ID, bits 12:10 an SGI's source CPU). */
  acknowledge(): number {
    return this.mmio.read32(this.cpuIf + GICC_IAR) >>> 0;
  }

  /** GICC_EOIR with the value IAR gave: the interrupt is no longer active. */
  end(iar: number): void {
    this.mmio.write32(this.cpuIf + GICC_EOIR, iar);
  }

  /** The IPI SGI to the CPUs `hwIds` (TargetListFilter 0, CPUTargetList = their interface bits). */
  sendIpi(hwIds: readonly number[]): void {
    let list = 0;
    for (const id of hwIds) {
      const bit = this.targets.get(id);
      if (bit === undefined) throw new Error(`kernel: IPI to hardware id ${id}, which has not set up its GIC CPU interface`);
      list |= bit;
    }
    if (list !== 0) this.mmio.write32(this.dist + GICD_SGIR, (list << 16) | SGI_IPI);
  }

  /** IPRIORITYR byte of `intid` (a word access: byte lanes of IDs intid&~3 .. +3, all set alike). */
  private setPriority(intid: number): void {
    this.mmio.write32(this.dist + GICD_IPRIORITYR + (intid & ~3), (PRIORITY * 0x01010101) | 0);
  }
}
