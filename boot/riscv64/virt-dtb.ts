/**
 * The device tree of the `riscv64-virt` machine, shaped like the one QEMU's `virt` board
 * generates (QEMU hw/riscv/virt.c: `virt_memmap[]`, `create_fdt_socket_cpus`,
 * `create_fdt_socket_memory`, `create_fdt_socket_clint`, `create_fdt_reset`, `create_fdt_uart`),
 * restricted to the devices MultiOS emulates: one UART, the CLINT and the test finisher.
 * There is no PLIC yet, so the serial node has no `interrupts`.
 */
import { buildFdt, fdtNode, type FdtNode } from "../fdt.js";

/**
 * Physical memory map of the QEMU `virt` board (QEMU hw/riscv/virt.c `virt_memmap[]`);
 * only the regions MultiOS implements. DRAM's size is chosen per machine.
 *
 * | region | base        | size     | device                         |
 * |--------|-------------|----------|--------------------------------|
 * | test   | 0x0010_0000 | 0x1000   | SiFive test finisher           |
 * | clint  | 0x0200_0000 | 0x1_0000 | SiFive CLINT (msip, mtimecmp, mtime) |
 * | uart0  | 0x1000_0000 | 0x100    | NS16550A                       |
 * | dram   | 0x8000_0000 | config   | RAM                            |
 */
export const VIRT_MEMORY_MAP = {
  test: { base: 0x100000, size: 0x1000 },
  clint: { base: 0x2000000, size: 0x10000 },
  uart0: { base: 0x10000000, size: 0x100 },
  dram: { base: 0x80000000 },
} as const;

/** The UART's input clock in Hz (QEMU's `clock-frequency` 0x384000 = 3.6864 MHz). */
export const VIRT_UART_CLOCK_HZ = 0x384000;

/** Interrupt numbers on a hart's local interrupt controller (privileged spec mip/mie bits). */
const IRQ_M_SOFT = 3, IRQ_M_TIMER = 7;

/** SiFive test finisher status values used by the /poweroff and /reboot syscon nodes. */
const FINISHER_PASS = 0x5555, FINISHER_RESET = 0x7777;

/** What varies between `riscv64-virt` machines. */
export interface RiscvVirtDtbConfig {
  /** RAM base address (normally {@link VIRT_MEMORY_MAP}.dram.base). */
  ramBase: number;
  /** RAM size in bytes. */
  ramSize: number;
  /** Number of harts, hart IDs 0..harts-1. */
  harts: number;
  /** `riscv,isa` string, e.g. "rv64imac_zicsr_zifencei". */
  isa: string;
  /** `mmu-type`, e.g. "riscv,sv48". */
  mmuType: string;
  /** mtime ticks per second (`timebase-frequency`). */
  timebaseHz: number;
  /** Kernel command line for /chosen (omitted if undefined). */
  bootargs?: string;
}

/**
 * The device tree for a `riscv64-virt` machine, as nodes (see {@link buildRiscvVirtDtb}).
 * Phandles are assigned from 1 in order: cpu@0, its interrupt controller, cpu@1, ..., then test.
 * @throws RangeError for a non-integer or out-of-range config value (the message names it)
 */
export function riscvVirtTree(cfg: RiscvVirtDtbConfig): FdtNode {
  const check = (name: string, v: number, min: number, max: number): void => {
    if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`riscvVirtTree: ${name} ${v} is not an integer in [${min}, ${max}]`);
  };
  check("ramBase", cfg.ramBase, 0, Number.MAX_SAFE_INTEGER);
  check("ramSize", cfg.ramSize, 1, Number.MAX_SAFE_INTEGER);
  check("harts", cfg.harts, 1, 4095);
  check("timebaseHz", cfg.timebaseHz, 1, 0xffffffff);
  const hex = (n: number): string => n.toString(16);
  /** A `reg` entry with 2 address cells and 2 size cells. */
  const regProp = (base: number, size: number): number[] => [Math.floor(base / 2 ** 32), base % 2 ** 32, Math.floor(size / 2 ** 32), size % 2 ** 32];

  let nextPhandle = 1;
  const intcPhandles: number[] = [];
  const cpus: FdtNode[] = [];
  for (let h = 0; h < cfg.harts; h++) {
    const cpuPhandle = nextPhandle++;
    const intc = nextPhandle++;
    intcPhandles.push(intc);
    cpus.push(fdtNode(`cpu@${h}`, {
      device_type: "cpu", reg: h, status: "okay", compatible: "riscv",
      "riscv,isa": cfg.isa, "mmu-type": cfg.mmuType, phandle: cpuPhandle,
    }, [fdtNode("interrupt-controller", {
      "#interrupt-cells": 1, "interrupt-controller": [], compatible: "riscv,cpu-intc", phandle: intc,
    })]));
  }
  const testPhandle = nextPhandle++;
  const { test, clint, uart0 } = VIRT_MEMORY_MAP;

  const chosen: Record<string, string> = { "stdout-path": `/soc/serial@${hex(uart0.base)}` };
  if (cfg.bootargs !== undefined) chosen.bootargs = cfg.bootargs;

  return fdtNode("", {
    "#address-cells": 2, "#size-cells": 2, compatible: "riscv-virtio", model: "riscv-virtio,qemu",
  }, [
    fdtNode("chosen", chosen),
    fdtNode(`memory@${hex(cfg.ramBase)}`, { device_type: "memory", reg: regProp(cfg.ramBase, cfg.ramSize) }),
    fdtNode("cpus", { "#address-cells": 1, "#size-cells": 0, "timebase-frequency": cfg.timebaseHz }, cpus),
    fdtNode("soc", { "#address-cells": 2, "#size-cells": 2, compatible: "simple-bus", ranges: [] }, [
      fdtNode(`serial@${hex(uart0.base)}`, {
        compatible: "ns16550a", reg: regProp(uart0.base, uart0.size), "clock-frequency": VIRT_UART_CLOCK_HZ,
      }),
      fdtNode(`clint@${hex(clint.base)}`, {
        compatible: ["sifive,clint0", "riscv,clint0"], reg: regProp(clint.base, clint.size),
        "interrupts-extended": intcPhandles.flatMap((p) => [p, IRQ_M_SOFT, p, IRQ_M_TIMER]),
      }),
      fdtNode(`test@${hex(test.base)}`, {
        compatible: ["sifive,test1", "sifive,test0", "syscon"], reg: regProp(test.base, test.size), phandle: testPhandle,
      }),
    ]),
    fdtNode("poweroff", { compatible: "syscon-poweroff", regmap: testPhandle, offset: 0, value: FINISHER_PASS }),
    fdtNode("reboot", { compatible: "syscon-reboot", regmap: testPhandle, offset: 0, value: FINISHER_RESET }),
  ]);
}

/**
 * The DTB blob for a `riscv64-virt` machine: `/` (riscv-virtio), `/chosen`, `/memory@…`,
 * `/cpus/cpu@N` with their `interrupt-controller`s, `/soc` with `serial@10000000`,
 * `clint@2000000` and `test@100000`, and QEMU's `/poweroff` and `/reboot` syscon nodes.
 * @example
 * const dtb = buildRiscvVirtDtb({ ramBase: 0x80000000, ramSize: 128 << 20, harts: 1,
 *   isa: "rv64imac_zicsr_zifencei", mmuType: "riscv,sv48", timebaseHz: 10_000_000 });
 * @throws RangeError as {@link riscvVirtTree}
 */
export function buildRiscvVirtDtb(cfg: RiscvVirtDtbConfig): Uint8Array {
  return buildFdt(riscvVirtTree(cfg));
}
