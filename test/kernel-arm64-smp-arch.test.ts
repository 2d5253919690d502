/**
 * The arm64 kernel layer's SMP pieces on their own: the GICv2 driver against the machine's GIC
 * model (per-CPU setup, SGIs by CPU interface number, acknowledge and end), trap decoding of the
 * IRQs it takes, and the KernelSmp operations as the instructions they are (PSCI CPU_ON, TPIDR_EL1,
 * the Inner Shareable TLBI forms for other CPUs, the local ones for this CPU's own TLB).
 * @spec Arm IHI 0048B (GICv2) §4.3.12 GICD_ITARGETSRn (banked 0-7 read the accessing CPU's mask),
 *   §4.3.15 GICD_SGIR, §4.4.4 GICC_IAR (bits 12:10 the SGI's source CPU), §4.4.5 GICC_EOIR
 * @spec Arm DEN0022 §5.1.4 CPU_ON (target_cpu, entry_point_address, context_id)
 * @spec Arm ARM D8.17 TLBI VAE1IS/ASIDE1IS/VMALLE1IS (operand ASID << 48 | VA[55:12])
 */
import { describe, expect, it } from "vitest";
import { GicV2, INTID_VIRT_TIMER } from "../emulator/arch/arm64/gicv2.js";
import { GicDriver, type Mmio } from "../kernel/arch/arm64/gic.js";
import { arm64KernelArch } from "../kernel/arch/arm64/kernel-arch.js";
import { SPSR, type Arm64Cpu, type Arm64SysReg, type Arm64Tlbi } from "../kernel/arch/arm64/cpu.js";
import { arm64Tlb } from "../kernel/arch/arm64/tlb.js";
import { FakeHal } from "./support/fake-hal.js";

const DIST = 0x0800_0000, CPUIF = 0x0801_0000;

/** A two-CPU GIC whose timer input is `timer[cpu]`, reached through an Mmio as the kernel's HAL does, with the accessing CPU settable. */
function gicRig() {
  const timer = [false, false];
  const gic = new GicV2((id, cpu) => id === INTID_VIRT_TIMER && timer[cpu]!, 2);
  let current = 0;
  gic.current = () => current;
  const mmio: Mmio = {
    read32: (pa) => (pa >= CPUIF ? gic.cpuInterface : gic.distributor).read(pa - (pa >= CPUIF ? CPUIF : DIST), 4),
    write32: (pa, v) => (pa >= CPUIF ? gic.cpuInterface : gic.distributor).write(pa - (pa >= CPUIF ? CPUIF : DIST), 4, v),
  };
  return { gic, timer, driver: new GicDriver(mmio, DIST, CPUIF), on: (cpu: number) => { current = cpu; } };
}

/** A PE that records what the layer does to it. */
class LogCpu implements Arm64Cpu {
  readonly sys = new Map<Arm64SysReg, bigint>([["CNTFRQ_EL0", 62_500_000n]]);
  readonly log: string[] = [];
  reg(): bigint { return 0n; }
  setReg(): void {}
  sysReg(n: Arm64SysReg): bigint { return this.sys.get(n) ?? 0n; }
  setSysReg(n: Arm64SysReg, v: bigint): void { this.sys.set(n, v); this.log.push(`msr ${n}, 0x${v.toString(16)}`); }
  storeRegisters(): void {}
  loadRegisters(): void {}
  eret(): void { this.log.push("eret"); }
  tlbi(op: Arm64Tlbi, xt: bigint): void { this.log.push(`tlbi ${op}, 0x${xt.toString(16)}`); }
  isb(): void { this.log.push("isb"); }
  translate(): number | undefined { return undefined; }
  hvc(args: readonly bigint[]): bigint { this.log.push(`hvc ${args.map((a) => "0x" + a.toString(16)).join(" ")}`); return 0n; }
}

describe("the GICv2 driver", () => {
  it("each CPU sets up its own banked timer PPI and CPU interface; the timer is then taken and ended per CPU", () => {
    const { gic, timer, driver, on } = gicRig();
    on(0);
    driver.initCpu(0);
    expect([gic.distEnabled, gic.cpuOn[0], gic.cpuOn[1], gic.pmrs[0]]).toEqual([true, 1, 0, 0xf0]);
    timer[0] = true;
    timer[1] = true;
    expect([gic.irqOut(0), gic.irqOut(1)]).toEqual([true, false]);
    on(1);
    driver.initCpu(1);
    expect(gic.irqOut(1)).toBe(true);
    expect(driver.acknowledge()).toBe(INTID_VIRT_TIMER);
    // Active now: no IRQ to CPU 1 until it ends it, whatever the level.
    expect(gic.irqOut(1)).toBe(false);
    driver.end(INTID_VIRT_TIMER);
    timer[1] = false;
    expect([gic.irqOut(0), gic.irqOut(1)]).toEqual([true, false]);
  });

  it("an IPI is SGI 0 to the target's CPU interface bit; IAR names the sender in bits 12:10", () => {
    const { gic, driver, on } = gicRig();
    for (const cpu of [0, 1]) {
      on(cpu);
      driver.initCpu(cpu);
      driver.enableIpi();
    }
    on(0);
    driver.sendIpi([1]);
    expect([gic.irqOut(0), gic.irqOut(1)]).toEqual([false, true]);
    on(1);
    const iar = driver.acknowledge();
    expect([iar & 0x3ff, (iar >> 10) & 7]).toEqual([0, 0]);
    driver.end(iar);
    expect(gic.irqOut(1)).toBe(false);
    expect(() => driver.sendIpi([5])).toThrow(/hardware id 5/);
  });
});

describe("the arm64 layer on several CPUs", () => {
  function setup() {
    const rig = gicRig();
    const cpu = new LogCpu();
    let kind: "sync" | "irq" = "irq";
    const arch = arm64KernelArch(cpu, new FakeHal(), () => {}, () => kind, rig.driver);
    cpu.sys.set("SPSR_EL1", SPSR.EL0T);
    rig.on(0);
    arch.installTrapVector(0xffff_ffff_8000_0800n);
    arch.smp!.enableIpi();
    return { ...rig, cpu, arch, setKind: (k: "sync" | "irq") => { kind = k; } };
  }

  it("an IRQ is an IPI for an SGI (ended by ackIpi), the timer for PPI 27 (ended at once)", () => {
    const { gic, timer, arch } = setup();
    gic.sendSgi(1, 1 << 16); // CPU 1 writes GICD_SGIR: SGI 0 to CPU 0
    expect(arch.trapInfo()).toMatchObject({ kind: "ipi", fromUser: true, cause: 0, name: "IRQ (SGI 0 from cpu 1)" });
    expect(gic.irqOut(0)).toBe(false);
    arch.smp!.ackIpi();
    timer[0] = true;
    expect(arch.trapInfo()).toMatchObject({ kind: "timer", cause: 27 });
    // Ended: the level input is pending again at once (the handler reprograms the timer before it unmasks).
    expect(gic.irqOut(0)).toBe(true);
    timer[0] = false;
    expect(arch.trapInfo()).toMatchObject({ kind: "timer", cause: 1023, name: "IRQ (spurious)" });
  });

  it("CPU index in TPIDR_EL1; CPU_ON by PSCI over HVC with the index as context_id", () => {
    const { cpu, arch } = setup();
    const smp = arch.smp!;
    smp.setCpuIndex(3);
    expect([cpu.sys.get("TPIDR_EL1"), smp.cpuIndex()]).toEqual([3n, 3]);
    expect(smp.startCpu(2, 0x4020_0400, 2)).toBe(true);
    expect(cpu.log.at(-1)).toBe("hvc 0xc4000003 0x2 0x40200400 0x2");
  });

  it("other CPUs' TLBs are reached by the IS forms, this CPU's own by the local ones", () => {
    const { cpu, arch } = setup();
    const remote = arch.smp!.remoteTlb;
    expect(remote.kind).toBe("broadcast");
    if (remote.kind !== "broadcast") return;
    cpu.log.length = 0;
    remote.tlb.flushPage(0x40_1000n, 5);
    remote.tlb.flushAsid(5);
    remote.tlb.flushAll();
    const local = arm64Tlb(cpu, false);
    local.flushPage(0x40_1000n, 5);
    local.flushAsid(5);
    local.flushAll();
    expect(cpu.log).toEqual([
      "tlbi VAE1IS, 0x5000000000401", "tlbi ASIDE1IS, 0x5000000000000", "tlbi VMALLE1IS, 0x0",
      "tlbi VAE1, 0x5000000000401", "tlbi ASIDE1, 0x5000000000000", "tlbi VMALLE1, 0x0",
    ]);
  });

  it("switching compares with this CPU's own TTBR0_EL1 and clears its own TCR_EL1.EPD0 (nothing cached across CPUs)", () => {
    const { cpu, arch } = setup();
    cpu.sys.set("TCR_EL1", 1n << 7n);
    cpu.log.length = 0;
    arch.switchAddressSpace(0x0001_0000_4050_0000n);
    // Another CPU bound to the same layer: it holds another TTBR0 value, so the write happens there.
    cpu.sys.set("TTBR0_EL1", 0n).set("TCR_EL1", 1n << 7n);
    arch.switchAddressSpace(0x0001_0000_4050_0000n);
    arch.switchAddressSpace(0x0001_0000_4050_0000n);
    const once = ["msr TCR_EL1, 0x0", "isb", "msr TTBR0_EL1, 0x1000040500000", "isb"];
    expect(cpu.log).toEqual([...once, ...once]);
  });
});
