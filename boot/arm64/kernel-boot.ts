/**
 * Booting the TypeScript kernel on arm64-virt, the AArch64 counterpart of boot/riscv64/kernel-boot.ts:
 * the firmware (a native entry at the reset address) starts in EL1h with the MMU off and X0 = the
 * DTB, builds the boot-info record from the device tree, and jumps to the kernel entry with X0 = the
 * record; the kernel turns the MMU on (its own space in TTBR1_EL1) and runs the program module as
 * the first user process at EL0 (its space in TTBR0_EL1). PSCI (boot/arm64/psci.ts) ends the run:
 * SYSTEM_OFF for exit status 0, MultiOS's MULTIOS_EXIT call for any other.
 *
 * Physical layout (RAM starts at 0x4000_0000 on `virt`):
 *
 * | range | what |
 * |---|---|
 * | 0x4000_0000 + 2 MiB | firmware (Reserved): reset entry at +0, boot-info record at +0x1000, arguments at +0x2000, device tree at +0x20000 |
 * | 0x4020_0000 + 2 MiB | kernel image (KernelAndModules): entry at +0, idle loop at +0x100, secondary CPUs' entry at +0x400, vector table (VBAR_EL1) at +0x800; data from +0x1000 |
 * | 0x4040_0000 + size | the program (KernelAndModules) |
 * | next page + size | the initial ramdisk, a newc cpio archive of the `files` |
 *
 * The machine is built with the GICv2 whatever `gic` says: the kernel takes each CPU's virtual
 * timer (PPI 27) and its IPIs (SGI 0) through it (kernel/arch/arm64/gic.ts). With `cpus` > 1 the
 * other CPUs are off until the kernel starts them with PSCI CPU_ON at the secondary entry; every
 * native entry binds the HAL to the CPU that reached it (docs/kernel.md "Several CPUs").
 */
import { type KernelProgramOptions, placeModules } from "../kernel-modules.js";
import { Kernel } from "../../kernel/kernel.js";
import { arm64KernelArch } from "../../kernel/arch/arm64/kernel-arch.js";
import { GicDriver } from "../../kernel/arch/arm64/gic.js";
import { writeBootInfo, bootInfoSize } from "../../kernel/boot-info.js";
import { BootError, MemoryRegionKind } from "../../kernel/mm/phys/regions.js";
import { EM_AARCH64, parseElf } from "../elf.js";
import { memoryMapFromDtb } from "../dtb-memory-map.js";
import { arm64Hal } from "./kernel-hal.js";
import { memoryErrorSource } from "../memory-errors.js";
import type { MemoryError } from "../../kernel/hal.js";
import { MULTIOS_EXIT, psciCall } from "./psci.js";
import { ARM64_TLBI_CODES, type Arm64Virt, type Arm64VirtOptions, createArm64Virt } from "./virt.js";
import { ARM64_VIRT_MEMORY_MAP } from "./virt-dtb.js";

export const FIRMWARE_BASE = 0x4000_0000;
export const FIRMWARE_SIZE = 0x20_0000;
export const BOOT_INFO_ADDR = FIRMWARE_BASE + 0x1000;
export const ARGS_ADDR = FIRMWARE_BASE + 0x2000;
export const ARGS_MAX = 0x1e000 - 0x1000;
export const DTB_ADDR = FIRMWARE_BASE + 0x20000;
export const KERNEL_BASE = 0x4020_0000;
export const KERNEL_SIZE = 0x20_0000;
export const MODULE_BASE = 0x4040_0000;
/** The kernel image's virtual address (TTBR1 range, as on riscv64). */
export const KERNEL_VA = 0xffff_ffff_8000_0000n;
/** Kernel text offsets: the idle loop, and the vector table (VBAR_EL1 must be 2 KiB aligned). */
const IDLE_OFFSET = 0x100, SECONDARY_OFFSET = 0x400, VECTOR_OFFSET = 0x800, TEXT_SIZE = 0x1000;
/**
 * Vector slots the kernel takes exceptions through, from VBAR_EL1: current EL with SP_ELx
 * (the idle loop) and lower EL in AArch64 (user programs), synchronous and IRQ.
 * @spec Arm ARM D1.10.2 "Exception vectors", table D1-7
 */
const SLOTS = [
  { offset: 0x200, kind: "sync" }, { offset: 0x280, kind: "irq" }, { offset: 0x380, kind: "serror" },
  { offset: 0x400, kind: "sync" }, { offset: 0x480, kind: "irq" }, { offset: 0x580, kind: "serror" },
] as const;
/**
 * ESR_EL1.ISS of the SError that announces a memory error: IDS = 0 (architected syndrome),
 * DFSC = 0b010001 (asynchronous SError interrupt), AET = UEO (uncorrected, restartable: not yet
 * consumed) or CE (corrected), the two severities Linux's arm64_is_fatal_ras_serror lets the
 * kernel survive.
 * @spec Arm ARM (DDI 0487) D19.2 ESR_EL1 "ISS encoding for an SError interrupt" (IDS, AET, DFSC)
 */
export const serrorSyndrome = (e: MemoryError): number => ((e.corrected ? 0b110 : 0b010) << 10) | 0x11;
/** The idle loop: `wfi` then `b .-4`. */
const IDLE_WORDS = [0xd503207f, 0x17ffffff];

/** Options of a kernel boot (`gic` is ignored: the kernel boots with the GIC). */
export interface KernelBootOptions extends Arm64VirtOptions, KernelProgramOptions {}

/** A machine with firmware, kernel and program in place, ready to run. */
export interface KernelMachine extends Arm64Virt {
  kernel: Kernel;
  /** The platform reports a memory error: queued for the kernel, announced by an SError (boot/memory-errors.ts). */
  reportMemoryError(e: MemoryError): void;
}

/**
 * Builds the machine and places firmware, kernel, program and ramdisk. Throws ElfError for a
 * program that is not a loadable AArch64 ELF, BootError for modules that do not fit, arguments that
 * are too long, or ramdisk files with a bad or repeated name.
 */
export function bootKernelArm64(opts: KernelBootOptions): KernelMachine {
  const v = createArm64Virt({ ...opts, gic: true });
  const core = v.cpu;
  const bus = v.machine.bus;
  const ram = bus.ramAt(v.ramBase)!;
  const ramEnd = v.ramBase + v.ramSize;
  parseElf(opts.program, EM_AARCH64);
  if (v.dtb.length > FIRMWARE_SIZE - (DTB_ADDR - FIRMWARE_BASE)) throw new BootError(`device tree of ${v.dtb.length} bytes does not fit in the firmware area`);
  const { moduleEnd, ramdiskBase, ramdiskEnd, archive, argBytes } = placeModules(bus, opts, { moduleBase: MODULE_BASE, limit: ramEnd, limitName: "in RAM", argsAddr: ARGS_ADDR, argsMax: ARGS_MAX });
  v.dtbAddr = DTB_ADDR;
  bus.load(DTB_ADDR, v.dtb);
  IDLE_WORDS.forEach((w, i) => bus.write(KERNEL_BASE + IDLE_OFFSET + 4 * i, 4, w | 0));

  const hal = arm64Hal(bus, core, ram, ARM64_TLBI_CODES);
  const errors = memoryErrorSource((e) => core.raiseSError(serrorSyndrome(e)));
  hal.takeMemoryErrors = errors.take;
  let trapKind: "sync" | "irq" | "serror" = "sync";
  const uart = ARM64_VIRT_MEMORY_MAP.uart.base;
  const console = (bytes: Uint8Array): void => { for (const b of bytes) bus.write(uart, 1, b); };
  const { gicDist, gicCpu } = ARM64_VIRT_MEMORY_MAP;
  const arch = arm64KernelArch(hal.cpu, hal, console, () => trapKind, new GicDriver(hal.mmio, gicDist.base, gicCpu.base));
  const kernel = new Kernel(hal, arch, { va: KERNEL_VA, textSize: TEXT_SIZE, trapVectorOffset: VECTOR_OFFSET, idleOffset: IDLE_OFFSET, secondaryOffset: SECONDARY_OFFSET }, opts);

  const firmware = psciCall({
    systemOff: () => v.machine.requestFinish("pass", 0, "guest powered off (PSCI SYSTEM_OFF)"),
    systemReset: () => v.machine.requestFinish("reset", 0, "guest requested a reset (PSCI SYSTEM_RESET)"),
    cpuOff: (c) => v.machine.requestFinish("fail", 125, `cpu ${c.index}, the last one on, turned itself off (PSCI CPU_OFF): nothing is left to run`),
    exit: (status) => v.machine.requestFinish("fail", status, `the kernel powered off with exit status ${status} (MULTIOS_EXIT 0x${MULTIOS_EXIT.toString(16)})`),
    power: v.machine,
  });
  for (const c of v.cpus) c.firmware = firmware;
  const buildBootInfo = (dtbAddr: number): void => {
    const dtb = ram.readBytes(dtbAddr - ram.base, v.dtb.length);
    const memoryMap = memoryMapFromDtb(dtb, [
      { base: FIRMWARE_BASE, size: FIRMWARE_SIZE, kind: MemoryRegionKind.Reserved },
      { base: KERNEL_BASE, size: KERNEL_SIZE, kind: MemoryRegionKind.KernelAndModules },
      { base: MODULE_BASE, size: moduleEnd - MODULE_BASE, kind: MemoryRegionKind.KernelAndModules },
      ...(archive.length ? [{ base: ramdiskBase, size: ramdiskEnd - ramdiskBase, kind: MemoryRegionKind.KernelAndModules }] : []),
    ], (base, size) => v.machine.bus.find(base, size)?.ram !== undefined);
    // Every CPU's MPIDR_EL1 affinity (Aff2..Aff0), the `reg` of its /cpus/cpu@N node and its PSCI target.
    const cpus = v.cpus.map((c) => c.mpidr & 0xffffff);
    if (bootInfoSize(memoryMap.length, cpus.length) > ARGS_ADDR - BOOT_INFO_ADDR) throw new BootError("firmware: memory map too large for the boot-info page");
    writeBootInfo(hal, BOOT_INFO_ADDR, {
      hartId: core.mpidr & 0xffffff, dtb: { base: dtbAddr, size: v.dtb.length }, kernelStart: KERNEL_BASE, kernelEnd: KERNEL_BASE + KERNEL_SIZE,
      module: { base: MODULE_BASE, size: opts.program.length }, args: { base: ARGS_ADDR, size: argBytes.length },
      ramdisk: { base: archive.length ? ramdiskBase : 0, size: archive.length }, memoryMap, cpus,
    });
  };
  // Firmware reset entry: boot info from the DTB in X0, then to the kernel with X0 = the record.
  core.registerNative(FIRMWARE_BASE, (c) => {
    hal.bind(c);
    try {
      buildBootInfo(Number(c.x(0)));
    } catch (e) {
      kernel.report(`firmware: ${e instanceof Error ? e.message : String(e)}`);
      v.machine.requestFinish("fail", 1, "firmware: cannot build the boot information");
      return;
    }
    c.setX(0, BigInt(BOOT_INFO_ADDR));
    c.pcLo = KERNEL_BASE | 0;
    c.pcHi = 0;
  });
  // Native entries are shared by every CPU (one code cache); each binds the HAL to the CPU running it.
  core.registerNative(KERNEL_BASE, (c) => {
    hal.bind(c);
    kernel.entry(Number(c.x(0)));
  });
  // A secondary CPU turned on by PSCI CPU_ON: MMU off, X0 = context_id = its kernel CPU index.
  core.registerNative(KERNEL_BASE + SECONDARY_OFFSET, (c) => {
    hal.bind(c);
    kernel.secondaryEntry(Number(c.x(0)));
  });
  for (const slot of SLOTS) {
    core.registerNative(KERNEL_BASE + VECTOR_OFFSET + slot.offset, (c) => {
      hal.bind(c);
      trapKind = slot.kind;
      kernel.trap();
    });
  }
  core.reset(FIRMWARE_BASE | 0, 0, DTB_ADDR);
  for (const c of v.cpus) {
    if (c === core) continue;
    c.reset(0, 0, 0);
    v.machine.off[c.index] = 1;
  }
  return { ...v, kernel, reportMemoryError: errors.report };
}
