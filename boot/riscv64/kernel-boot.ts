/**
 * Booting the TypeScript kernel on riscv64-virt, like QEMU with OpenSBI and a kernel image:
 * the firmware (M-mode native entries) starts at the reset address with a1 = the DTB, builds the
 * boot-info record from the device tree, and enters the kernel in S-mode; the kernel runs the
 * program module as the first user process.
 *
 * Physical layout (docs/kernel.md):
 *
 * | range | what |
 * |---|---|
 * | 0x8000_0000 + 2 MiB | firmware (Reserved): reset entry, trap entry, boot-info record at +0x1000, arguments at +0x2000 |
 * | 0x8020_0000 + 2 MiB | kernel image (KernelAndModules): entry at +0, trap vector at +0x100, ecall for SBI calls at +0x200, idle loop at +0x300, secondary harts' entry at +0x400; data from +0x1000 |
 * | 0x8040_0000 + size | the program (KernelAndModules) |
 * | next page + size | the initial ramdisk, a newc cpio archive of the `files` (KernelAndModules; kernel/proc/ramdisk.ts) |
 * | top of RAM | device tree (Reserved), where QEMU puts it |
 */
import { type KernelProgramOptions, placeModules } from "../kernel-modules.js";
import { Kernel } from "../../kernel/kernel.js";
import { riscvKernelArch } from "../../kernel/arch/riscv64/kernel-arch.js";
import { writeBootInfo, bootInfoSize } from "../../kernel/boot-info.js";
import { BootError, MemoryRegionKind } from "../../kernel/mm/phys/regions.js";
import { EM_RISCV, parseElf } from "../elf.js";
import { installFirmware } from "./sbi.js";
import { riscvHal } from "./kernel-hal.js";
import { memoryMapFromDtb } from "../dtb-memory-map.js";
import { createRiscvVirt, type RiscvVirt, type RiscvVirtOptions, VIRT_TIMEBASE_HZ } from "./virt.js";

export const FIRMWARE_BASE = 0x8000_0000;
export const FIRMWARE_SIZE = 0x20_0000;
export const BOOT_INFO_ADDR = FIRMWARE_BASE + 0x1000;
export const ARGS_ADDR = FIRMWARE_BASE + 0x2000;
export const ARGS_MAX = 0x1e000 - 0x1000;
export const KERNEL_BASE = 0x8020_0000;
export const KERNEL_SIZE = 0x20_0000;
export const MODULE_BASE = 0x8040_0000;
/** The kernel image's virtual address (Sv39 upper half, as Linux places its image). */
export const KERNEL_VA = 0xffff_ffff_8000_0000n;
const TRAP_OFFSET = 0x100, ECALL_OFFSET = 0x200, IDLE_OFFSET = 0x300, SECONDARY_OFFSET = 0x400, TEXT_SIZE = 0x1000, CONSOLE_BUFFER = KERNEL_BASE + 0x1000;
const ECALL_WORD = 0x00000073;
/** The idle loop: `wfi` then `j .-4` (jal x0, -4). */
const IDLE_WORDS = [0x10500073, 0xffdff06f];

/** Options of a kernel boot. */
export interface KernelBootOptions extends RiscvVirtOptions, KernelProgramOptions {}

/** A machine with firmware, kernel and program in place, ready to run. */
export interface KernelMachine extends RiscvVirt {
  kernel: Kernel;
}

/**
 * Builds the machine and places firmware, kernel, program and ramdisk. Throws ElfError for a program
 * that is not a loadable RV64 ELF, BootError for modules that do not fit, arguments that are too
 * long, or ramdisk files with a bad or repeated name (argv[0]'s included).
 */
export function bootKernel(opts: KernelBootOptions): KernelMachine {
  const v = createRiscvVirt(opts);
  const hart = v.machine.harts[0]!;
  const ram = v.machine.bus.ramAt(v.ramBase)!;
  parseElf(opts.program, EM_RISCV);
  const bus = v.machine.bus;
  const { moduleEnd, ramdiskBase, ramdiskEnd, archive, argBytes } = placeModules(bus, opts, {
    moduleBase: MODULE_BASE, limit: v.dtbAddr, limitName: `below the device tree at 0x${v.dtbAddr.toString(16)}`, argsAddr: ARGS_ADDR, argsMax: ARGS_MAX,
  });
  bus.load(v.dtbAddr, v.dtb);
  bus.write(KERNEL_BASE + ECALL_OFFSET, 4, ECALL_WORD);
  IDLE_WORDS.forEach((w, i) => bus.write(KERNEL_BASE + IDLE_OFFSET + 4 * i, 4, w | 0));

  const hal = riscvHal(bus, hart, ram, (h) => (h.csrHi[0x180]! >>> 28 === 0 ? BigInt(KERNEL_BASE + ECALL_OFFSET) : KERNEL_VA + BigInt(ECALL_OFFSET)));
  const arch = riscvKernelArch(hal.cpu, hal, CONSOLE_BUFFER, VIRT_TIMEBASE_HZ);
  const kernel = new Kernel(hal, arch, { va: KERNEL_VA, textSize: TEXT_SIZE, trapVectorOffset: TRAP_OFFSET, idleOffset: IDLE_OFFSET, secondaryOffset: SECONDARY_OFFSET }, opts);

  installFirmware(v, {
    base: FIRMWARE_BASE,
    kernelEntry: KERNEL_BASE,
    bootInfo: BOOT_INFO_ADDR,
    onReset: (kind, code) => v.machine.requestFinish(kind === "shutdown" ? (code === 0 ? "pass" : "fail") : "reset", code),
    onFatal: (message) => {
      kernel.report(message);
      v.machine.requestFinish("fail", 1);
    },
    buildBootInfo: (dtbAddr) => {
      const dtb = ram.readBytes(dtbAddr - ram.base, v.dtb.length);
      const memoryMap = memoryMapFromDtb(dtb, [
        { base: FIRMWARE_BASE, size: FIRMWARE_SIZE, kind: MemoryRegionKind.Reserved },
        { base: KERNEL_BASE, size: KERNEL_SIZE, kind: MemoryRegionKind.KernelAndModules },
        { base: MODULE_BASE, size: moduleEnd - MODULE_BASE, kind: MemoryRegionKind.KernelAndModules },
        ...(archive.length ? [{ base: ramdiskBase, size: ramdiskEnd - ramdiskBase, kind: MemoryRegionKind.KernelAndModules }] : []),
        { base: dtbAddr, size: v.dtb.length, kind: MemoryRegionKind.Reserved },
      ], (base, size) => bus.find(base, size)?.ram !== undefined);
      const cpus = v.machine.harts.map((h) => h.hartId);
      if (bootInfoSize(memoryMap.length, cpus.length) > ARGS_ADDR - BOOT_INFO_ADDR) throw new BootError("firmware: memory map too large for the boot-info page");
      writeBootInfo(hal, BOOT_INFO_ADDR, {
        hartId: hart.hartId, dtb: { base: dtbAddr, size: v.dtb.length }, kernelStart: KERNEL_BASE, kernelEnd: KERNEL_BASE + KERNEL_SIZE,
        module: { base: MODULE_BASE, size: opts.program.length }, args: { base: ARGS_ADDR, size: argBytes.length },
        ramdisk: { base: archive.length ? ramdiskBase : 0, size: archive.length }, memoryMap, cpus,
      });
    },
  });
  hart.registerNative(KERNEL_BASE, (h) => {
    hal.bind(h);
    kernel.entry(Number(h.x(11)));
  });
  hart.registerNative(KERNEL_BASE + TRAP_OFFSET, (h) => {
    hal.bind(h);
    kernel.trap();
  });
  hart.registerNative(KERNEL_BASE + SECONDARY_OFFSET, (h) => {
    hal.bind(h);
    kernel.secondaryEntry(Number(h.x(11)));
  });
  hart.reset(FIRMWARE_BASE | 0, 0, v.dtbAddr);
  return { ...v, kernel };
}
