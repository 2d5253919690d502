/**
 * The device tree of the `arm64-virt` machine, shaped like the one QEMU's `virt` board generates
 * for `-M virt -cpu cortex-a57` (QEMU hw/arm/virt.c: `create_fdt`, `fdt_add_psci_node`,
 * `fdt_add_cpu_nodes`, `fdt_add_timer_nodes`, `create_uart`), restricted to the devices MultiOS
 * emulates: RAM, one PL011, the generic timer and (optionally) a GICv2. Without the GIC no node has
 * `interrupts`.
 */
import { buildFdt, fdtNode, type FdtNode } from "../fdt.js";
import { PSCI } from "./psci.js";

/**
 * Physical memory map of the QEMU `virt` board (QEMU hw/arm/virt.c `base_memmap[]`); only the
 * regions MultiOS implements. RAM's size is chosen per machine.
 *
 * | region  | base        | size    | device                      |
 * |---------|-------------|---------|-----------------------------|
 * | gicDist | 0x0800_0000 | 0x10000 | GICv2 distributor (optional) |
 * | gicCpu  | 0x0801_0000 | 0x10000 | GICv2 CPU interface          |
 * | uart    | 0x0900_0000 | 0x1000  | PL011                       |
 * | mem    | 0x4000_0000 | config  | RAM        |
 */
export const ARM64_VIRT_MEMORY_MAP = {
  gicDist: { base: 0x08000000, size: 0x10000 },
  gicCpu: { base: 0x08010000, size: 0x10000 },
  uart: { base: 0x09000000, size: 0x1000 },
  mem: { base: 0x40000000 },
} as const;

/** The PL011's `apb-pclk` fixed clock (QEMU: 24 MHz, "clk24mhz"). */
export const VIRT_APB_PCLK_HZ = 24_000_000;

/** What varies between `arm64-virt` machines. */
export interface Arm64VirtDtbConfig {
  /** RAM size in bytes. */
  ramSize: number;
  /** Kernel command line for /chosen (omitted if undefined). */
  bootargs?: string;
  /** A GICv2 is present: `/intc@8000000`, and `interrupts` on the timer and the UART. */
  gic?: boolean;
  /** Number of PEs (default 1): `/cpus/cpu@N` with reg = MPIDR_EL1.Aff0 = N. */
  cpus?: number;
}

/** GIC interrupt specifier flags, level-high (QEMU: GIC_FDT_IRQ_FLAGS_LEVEL_HI); a PPI's also hold the CPU mask in bits 15:8. */
const LEVEL_HI = 4, SPI_LEVEL_HI = 4;
const GIC_PPI = 1, GIC_SPI = 0;

/**
 * The device tree for an `arm64-virt` machine, as nodes: `/` (linux,dummy-virt), `/psci`
 * (method "hvc"), `/memory@40000000`, `/cpus/cpu@N` (arm,cortex-a57; with several, each has
 * `enable-method = "psci"` as QEMU writes it when `-smp` > 1), `/timer` (arm,armv8-timer),
 * `/apb-pclk`, `/pl011@9000000` and `/chosen` with `stdout-path`.
 * @throws RangeError for a RAM size that is not a positive safe integer, or CPUs outside 1..8
 */
export function arm64VirtTree(cfg: Arm64VirtDtbConfig): FdtNode {
  if (!Number.isSafeInteger(cfg.ramSize) || cfg.ramSize <= 0) throw new RangeError(`arm64VirtTree: ramSize ${cfg.ramSize} is not a positive integer`);
  const hex = (n: number): string => n.toString(16);
  /** A `reg` entry with 2 address cells and 2 size cells. */
  const regProp = (base: number, size: number): number[] => [Math.floor(base / 2 ** 32), base % 2 ** 32, Math.floor(size / 2 ** 32), size % 2 ** 32];
  const { uart, mem } = ARM64_VIRT_MEMORY_MAP;
  const clockPhandle = 1, gicPhandle = 2;
  const gic = cfg.gic ?? false;
  const uartPath = `/pl011@${hex(uart.base)}`;
  const chosen: Record<string, string> = { "stdout-path": uartPath };
  if (cfg.bootargs !== undefined) chosen.bootargs = cfg.bootargs;
  const rootProps: Record<string, number | string> = { "#address-cells": 2, "#size-cells": 2, compatible: "linux,dummy-virt", model: "linux,dummy-virt" };
  if (gic) rootProps["interrupt-parent"] = gicPhandle;
  const timerProps: Record<string, number[] | string[]> = { compatible: ["arm,armv8-timer", "arm,armv7-timer"], "always-on": [] };
  // Secure physical, non-secure physical, virtual, hypervisor timer PPIs (QEMU's order).
  const cpus = cfg.cpus ?? 1;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 8) throw new RangeError(`arm64VirtTree: ${cpus} CPUs (1 to 8)`);
  const ppiFlags = (((1 << cpus) - 1) << 8) | LEVEL_HI;
  if (gic) timerProps.interrupts = [13, 14, 11, 10].flatMap((n) => [GIC_PPI, n, ppiFlags]);
  const uartProps: Record<string, number[] | string[]> = {
    compatible: ["arm,pl011", "arm,primecell"], reg: regProp(uart.base, uart.size),
    clocks: [clockPhandle, clockPhandle], "clock-names": ["uartclk", "apb_pclk"],
  };
  if (gic) uartProps.interrupts = [GIC_SPI, 1, SPI_LEVEL_HI];
  const { gicDist, gicCpu } = ARM64_VIRT_MEMORY_MAP;
  const intc = gic ? [fdtNode(`intc@${hex(gicDist.base)}`, {
    compatible: "arm,cortex-a15-gic", "#interrupt-cells": 3, "interrupt-controller": [], "#address-cells": 2, "#size-cells": 2,
    reg: [...regProp(gicDist.base, gicDist.size), ...regProp(gicCpu.base, gicCpu.size)], phandle: gicPhandle,
  })] : [];
  return fdtNode("", rootProps, [
    fdtNode("psci", {
      compatible: ["arm,psci-1.0", "arm,psci-0.2", "arm,psci"], method: "hvc",
      cpu_suspend: PSCI.CPU_SUSPEND64, cpu_off: PSCI.CPU_OFF, cpu_on: PSCI.CPU_ON64, migrate: 0xc4000005,
    }),
    fdtNode(`memory@${hex(mem.base)}`, { device_type: "memory", reg: regProp(mem.base, cfg.ramSize) }),
    fdtNode("cpus", { "#address-cells": 1, "#size-cells": 0 }, [
      ...Array.from({ length: cpus }, (_, i) => fdtNode(`cpu@${i}`, {
        device_type: "cpu", compatible: "arm,cortex-a57", reg: i, ...(cpus > 1 ? { "enable-method": "psci" } : {}),
      })),
    ]),
    ...intc,
    fdtNode("timer", timerProps),
    fdtNode("apb-pclk", {
      compatible: "fixed-clock", "#clock-cells": 0, "clock-frequency": VIRT_APB_PCLK_HZ,
      "clock-output-names": "clk24mhz", phandle: clockPhandle,
    }),
    fdtNode(`pl011@${hex(uart.base)}`, uartProps),
    fdtNode("chosen", chosen),
  ]);
}

/** The DTB blob for an `arm64-virt` machine (see {@link arm64VirtTree}). @throws RangeError as arm64VirtTree */
export function buildArm64VirtDtb(cfg: Arm64VirtDtbConfig): Uint8Array {
  return buildFdt(arm64VirtTree(cfg));
}
