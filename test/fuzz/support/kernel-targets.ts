/**
 * The three machines the kernel fuzz suites run the kernel on, described once so the run harness
 * (kernel-run.ts), the program generator (syscall-program.ts) and the checks serve every
 * architecture: how to boot, where the kernel's direct map and image mapping are, where the secret
 * is planted (RAM no process can legitimately see), and which RAM must never change after boot.
 */
import * as arm64 from "../../../boot/arm64/kernel-boot.js";
import * as riscv64 from "../../../boot/riscv64/kernel-boot.js";
import * as x86 from "../../../boot/x86_64/kernel-boot.js";
import type { KernelProgramOptions } from "../../../boot/kernel-modules.js";
import { ARM64_PHYSICAL_OFFSET } from "../../../kernel/arch/arm64/kernel-arch.js";
import { RISCV_PHYSICAL_OFFSET } from "../../../kernel/arch/riscv64/kernel-arch.js";
import { X86_PHYSICAL_OFFSET } from "../../../kernel/arch/x86_64/kernel-arch.js";
import { readBootInfo } from "../../../kernel/boot-info.js";
import type { Kernel } from "../../../kernel/kernel.js";
import type { Bus } from "../../../emulator/core/memory.js";

export const FUZZ_ARCHES = ["riscv64", "arm64", "x86_64"] as const;
export type FuzzArch = (typeof FUZZ_ARCHES)[number];

/** What the harness needs of a booted kernel machine, whatever the architecture. */
export interface BootedKernel {
  kernel: Kernel;
  bus: Bus;
  run(maxInsns: number): { reason: string; exitCode: number; message?: string };
}

/** One architecture's kernel machine, as the fuzz suites see it. */
export interface KernelTarget {
  arch: FuzzArch;
  boot(opts: KernelProgramOptions & { ramSize?: number; console?: (byte: number) => void }): BootedKernel;
  /** Base of the kernel's direct map of RAM, and the kernel image's virtual address. */
  physicalOffset: bigint;
  kernelVa: bigint;
  kernelBase: number;
  /** RAM: its first byte, and the top of the default 32 MiB machine the suites boot. */
  ramBase: number;
  /** Physical addresses the kernel holds and no process may reach (the secret is planted at the first two). */
  secretPas: readonly number[];
  /** Other physical addresses worth pointing at through the direct map (firmware, kernel, module, top of RAM). */
  kernelPas: readonly number[];
  /** Strings the platform's description holds (the device tree's) that no user process ever sees. */
  platformStrings: readonly string[];
  /** The physical ranges nothing may change once the first process runs. */
  stableRanges(kernel: Kernel): [number, number][];
  /** Run results that mean "the machine waits for an interrupt that never comes" and "the guest ended the run". */
  hangReason: string;
  endReasons: readonly string[];
}

const RAM_32M = 32 << 20;

/** Module, ramdisk and device tree from the boot-info record. */
function bootRanges(kernel: Kernel, bootInfo: number): [number, number][] {
  const info = readBootInfo(kernel.hal, bootInfo);
  return [
    [info.module.base, info.module.size],
    ...(info.ramdisk.size > 0 ? [[info.ramdisk.base, info.ramdisk.size] as [number, number]] : []),
    ...(info.dtb.size > 0 ? [[info.dtb.base, info.dtb.size] as [number, number]] : []),
  ];
}

const RISCV64: KernelTarget = {
  arch: "riscv64",
  boot(opts) {
    const km = riscv64.bootKernel(opts);
    return { kernel: km.kernel, bus: km.machine.bus, run: (maxInsns) => km.machine.run({ maxInsns }) };
  },
  physicalOffset: RISCV_PHYSICAL_OFFSET,
  kernelVa: riscv64.KERNEL_VA,
  kernelBase: riscv64.KERNEL_BASE,
  ramBase: 0x8000_0000,
  // Unused firmware RAM, and the kernel text page after the idle loop.
  secretPas: [riscv64.FIRMWARE_BASE + 0x10_0000, riscv64.KERNEL_BASE + 0x800],
  // 0x87e0_0000: near the top of a 128 MiB machine, outside the suites' 32 MiB.
  kernelPas: [riscv64.FIRMWARE_BASE, riscv64.FIRMWARE_BASE + 0x1000, riscv64.KERNEL_BASE, riscv64.KERNEL_BASE + 0x1000, riscv64.MODULE_BASE, 0x87e0_0000],
  platformStrings: ["riscv-virtio,qemu", "sifive,clint0"],
  stableRanges: (k) => [[riscv64.FIRMWARE_BASE, riscv64.FIRMWARE_SIZE], [riscv64.KERNEL_BASE, 0x1000], ...bootRanges(k, riscv64.BOOT_INFO_ADDR)],
  hangReason: "wfi-hang",
  endReasons: ["pass", "fail"],
};

const ARM64: KernelTarget = {
  arch: "arm64",
  boot(opts) {
    const km = arm64.bootKernelArm64(opts);
    return { kernel: km.kernel, bus: km.machine.bus, run: (maxInsns) => km.machine.run({ maxInsns }) };
  },
  physicalOffset: ARM64_PHYSICAL_OFFSET,
  kernelVa: arm64.KERNEL_VA,
  kernelBase: arm64.KERNEL_BASE,
  ramBase: 0x4000_0000,
  // Unused firmware RAM (past the device tree), and the kernel text page between the idle loop and the secondary entry.
  secretPas: [arm64.FIRMWARE_BASE + 0x10_0000, arm64.KERNEL_BASE + 0x200],
  kernelPas: [arm64.FIRMWARE_BASE, arm64.BOOT_INFO_ADDR, arm64.DTB_ADDR, arm64.KERNEL_BASE, arm64.KERNEL_BASE + 0x1000, arm64.MODULE_BASE, 0x4000_0000 + RAM_32M - 0x20_0000],
  platformStrings: ["linux,dummy-virt", "arm,cortex-a15-gic"],
  stableRanges: (k) => [[arm64.FIRMWARE_BASE, arm64.FIRMWARE_SIZE], [arm64.KERNEL_BASE, 0x1000], ...bootRanges(k, arm64.BOOT_INFO_ADDR)],
  hangReason: "wfi-hang",
  endReasons: ["pass", "fail"],
};

/** The x86_64 boot area's free middle (between the firmware entry's page and the kernel stacks). */
const X86_FREE = x86.BOOT_BASE + 0x10_0000;

const X86_64: KernelTarget = {
  arch: "x86_64",
  boot(opts) {
    const km = x86.bootKernelX86(opts);
    return { kernel: km.kernel, bus: km.machine.bus, run: (maxInsns) => km.machine.run({ maxInsns }) };
  },
  physicalOffset: X86_PHYSICAL_OFFSET,
  kernelVa: x86.KERNEL_VA,
  kernelBase: x86.KERNEL_BASE,
  ramBase: 0,
  // Unused boot-area RAM, and the kernel text page after the IDT entries.
  secretPas: [X86_FREE, x86.KERNEL_BASE + 0x800],
  kernelPas: [x86.GDT_ADDR, x86.IDT_ADDR, x86.BOOT_INFO_ADDR, x86.STACK_TOP - 0x100, x86.KERNEL_BASE, x86.KERNEL_BASE + 0x1000, x86.MODULE_BASE, RAM_32M - 0x20_0000],
  platformStrings: [],
  // The GDT, TSSs and IDT (the kernel stacks in the same area change with every trap), the secret's page.
  stableRanges: (k) => [[x86.GDT_ADDR, 0x2000], [X86_FREE, 0x1000], [x86.KERNEL_BASE, 0x1000], ...bootRanges(k, x86.BOOT_INFO_ADDR)],
  hangReason: "hlt-hang",
  endReasons: ["exit"],
};

export const KERNEL_TARGETS: Readonly<Record<FuzzArch, KernelTarget>> = { riscv64: RISCV64, arm64: ARM64, x86_64: X86_64 };

/** Kernel virtual addresses of a physical address: the direct map, and the image mapping for the kernel's 2 MiB. */
export const directMapOf = (t: KernelTarget, pa: number): bigint => t.physicalOffset + BigInt(pa);
export const imageVaOf = (t: KernelTarget, pa: number): bigint => t.kernelVa + BigInt(pa - t.kernelBase);
