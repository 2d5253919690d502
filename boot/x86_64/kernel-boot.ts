/**
 * Booting the TypeScript kernel on `x86_64-pc`, the x86_64 counterpart of boot/arm64/kernel-boot.ts:
 * the firmware (a native entry at the reset address, running in 64-bit mode at CPL 0 on the
 * firmware's identity map, pc.ts resetLongMode) builds the boot-info record from the e820 map and
 * jumps to the kernel entry with RDI = the record; the kernel builds its page tables (the kernel
 * half at PML4 entries 256..511, shared by every process), switches CR3 to them and runs the
 * program module as the first user process at CPL 3. A byte written to the exit port (0x501,
 * emulator/devices/exit-port.ts) ends the run with that status.
 *
 * The firmware's host-side setup, as a loader would leave it: a GDT (kernel code 0x08, kernel data
 * 0x10, user code32 0x18, user data 0x23, user code64 0x2b, then one 64-bit TSS descriptor per CPU
 * from 0x30), an IDT whose gates 0..31 (exceptions), 32 (the local APIC timer), 0xFC (the kernel's
 * IPI) and 0xFF (spurious) are interrupt gates to native entries in the kernel text, a TSS per CPU
 * whose RSP0 is the top of that CPU's kernel stack and IST1 (#MC) its middle, STAR/LSTAR/FMASK with EFER.SCE for SYSCALL
 * (EFER.NXE for the XD bit), CR4.MCE|PGE|PCIDE|SMEP|SMAP (MCE: a machine check reports memory
 * errors, boot/memory-errors.ts). The GDT, IDT and TSS are reached through
 * the kernel's direct map (their bases are physicalOffset + their physical addresses), which every
 * address space carries.
 *
 * Physical layout (RAM continues from 1 MiB on a PC):
 *
 * | range | what |
 * |---|---|
 * | 0x1000 .. 0x2_0000 | the PC firmware area (Reserved): identity map for the firmware phase |
 * | 0x10_0000 + 2 MiB | boot area (Reserved): GDT at +0, TSSs at +0x100 + 0x80·cpu, IDT at +0x1000, boot-info record at +0x2000, arguments at +0x3000, firmware entry at +0x2_0000, the multiprocessor wakeup mailbox at +0x2_1000, kernel stacks below +0x20_0000 (4 KiB per CPU, CPU 0 at the top) |
 * | 0x30_0000 + 2 MiB | kernel image (KernelAndModules): entry at +0, idle loop at +0x100, SYSCALL entry at +0x200, secondary CPUs' entry at +0x300, IDT entries at +0x400 + 16·slot (vectors 0..32, then 0xFC, 0xFF); data from +0x1000 |
 *
 * Several CPUs (`harts`): the other CPUs wait in the firmware on the ACPI multiprocessor wakeup
 * mailbox (mp-wakeup.ts); the kernel starts each at the secondary entry, which sets the CPU up as
 * Linux's AP trampoline and start_secondary would (its GDT/IDT/TR, EFER, CR4, the SYSCALL MSRs,
 * its stack) and calls the kernel with the argument the kernel left for its APIC ID in the OS's
 * part of the mailbox (kernel/arch/x86_64/smp.ts).
 * | 0x50_0000 + size | the program (KernelAndModules) |
 * | next page + size | the initial ramdisk, a newc cpio archive of the `files` |
 * @spec Intel SDM Vol. 3A §3.4.5 (segment descriptors), §5.8.8 (SYSCALL/SYSRET MSRs), §6.14.1
 *       (64-bit IDT gates), §7.7 (64-bit TSS), §4.10.1 (PCIDs)
 */
import { type KernelProgramOptions, placeModules } from "../kernel-modules.js";
import { Kernel } from "../../kernel/kernel.js";
import { EXIT_PORT, X86_PHYSICAL_OFFSET, x86KernelArch } from "../../kernel/arch/x86_64/kernel-arch.js";
import { writeBootInfo, bootInfoSize } from "../../kernel/boot-info.js";
import { BootError, type MemoryRegion, MemoryRegionKind } from "../../kernel/mm/phys/regions.js";
import { HAS_ERROR_CODE, MSR, RFLAGS } from "../../emulator/arch/x86_64/defs.js";
import { CR4, EFER } from "../../emulator/arch/x86_64/paging-defs.js";
import { wrmsr } from "../../emulator/arch/x86_64/msr.js";
import { ExitPort, EXIT_PORT_COUNT } from "../../emulator/devices/exit-port.js";
import { LAPIC_BASE, LAPIC_REG } from "../../emulator/devices/lapic.js";
import { EM_X86_64, parseElf } from "../elf.js";
import { writeGdt, writeIdentityMap, writePml5 } from "./firmware.js";
import { parkApplicationProcessors } from "./mp-wakeup.js";
import { APIC, IPI_VECTOR, mailboxArg, SPURIOUS_VECTOR } from "../../kernel/arch/x86_64/smp.js";
import type { X86Cpu as Core } from "../../emulator/arch/x86_64/cpu.js";
import { X86_4LEVEL_PAGING, X86_5LEVEL_PAGING } from "../../kernel/arch/x86_64/paging.js";
import { E820, LOW_TOP_MAX } from "./memory-map.js";
import { x86Hal } from "./kernel-hal.js";
import { memoryErrorSource } from "../memory-errors.js";
import type { MemoryError } from "../../kernel/hal.js";
import { createX86Pc, MAX_X86_CPUS, resetLongMode, type X86Pc, type X86PcOptions } from "./pc.js";
import type { Bus } from "../../emulator/core/memory.js";

export const BOOT_BASE = 0x10_0000;
export const BOOT_SIZE = 0x20_0000;
export const GDT_ADDR = BOOT_BASE, TSS_ADDR = BOOT_BASE + 0x100, IDT_ADDR = BOOT_BASE + 0x1000;
export const BOOT_INFO_ADDR = BOOT_BASE + 0x2000;
export const ARGS_ADDR = BOOT_BASE + 0x3000;
export const ARGS_MAX = 0x1d000;
/** The firmware's reset entry (a native entry), after the arguments. */
export const FIRMWARE_ENTRY = BOOT_BASE + 0x2_0000;
/** Top of CPU 0's kernel stack (TSS.RSP0), physical; CPU i's is {@link stackTop}(i). */
export const STACK_TOP = BOOT_BASE + BOOT_SIZE;
/** Each CPU's kernel stack: the native kernel only ever has one interrupt frame on it. */
const STACK_SIZE = 0x1000;
/** The top of the kernel stack of the CPU with APIC ID `apicId`, physical. */
export const stackTop = (apicId: number): number => STACK_TOP - STACK_SIZE * apicId;
/**
 * The #MC gate's IST1 stack of a CPU: the lower half of its kernel stack page (the native kernel's
 * frames at the top take 48 bytes at most), so an #MC frame never overwrites a pending one.
 */
export const mcStackTop = (apicId: number): number => stackTop(apicId) - STACK_SIZE / 2;
/** The ACPI multiprocessor wakeup mailbox (4 KiB, 4 KiB-aligned) the firmware's APs wait on. */
export const MAILBOX_ADDR = BOOT_BASE + 0x2_1000;
/** Each CPU's TSS, 0x80 bytes apart. */
const TSS_STRIDE = 0x80;
export const KERNEL_BASE = 0x30_0000;
export const KERNEL_SIZE = 0x20_0000;
export const MODULE_BASE = 0x50_0000;
/** The kernel image's virtual address (the top 2 GiB, as Linux's kernel text and the other ports). */
export const KERNEL_VA = 0xffff_ffff_8000_0000n;
/** Kernel text offsets: the idle loop, the SYSCALL entry (LSTAR), the secondary entry, the IDT entries (16 bytes each). */
const IDLE_OFFSET = 0x100, SYSCALL_OFFSET = 0x200, SECONDARY_OFFSET = 0x300, VECTOR_OFFSET = 0x400, TEXT_SIZE = 0x1000;
/** The vectors with gates, in the order of their native entries: the 32 exceptions, the local APIC timer, the IPI, spurious. */
const GATE_VECTORS: readonly number[] = [...Array.from({ length: 33 }, (_, v) => v), IPI_VECTOR, SPURIOUS_VECTOR];
/** The IDT has all 256 gates (those not in GATE_VECTORS are not present). */
const IDT_ENTRIES = 256;
/** The machine-check vector, whose gate uses IST1. */
const MC_VECTOR = 18;
/** The idle loop: `sti; hlt; jmp .-2` (back to the sti). */
const IDLE_BYTES = [0xfb, 0xf4, 0xeb, 0xfc];
/** GDT selectors (user ones with RPL 3). SYSRET takes CS = STAR[63:48] + 16, SS = STAR[63:48] + 8. */
export const SEL = { kernelCs: 0x08, kernelSs: 0x10, user32Cs: 0x1b, userSs: 0x23, userCs: 0x2b, tss: 0x30 } as const;
/** GDT: null; kernel code (L, DPL 0); kernel data; user code32 (DPL 3); user data (DPL 3); user code64 (L, DPL 3); then the TSS. */
const GDT: readonly bigint[] = [0n, 0x00af9a000000ffffn, 0x00cf92000000ffffn, 0x00cffa000000ffffn, 0x00cff2000000ffffn, 0x00affa000000ffffn];
const TSS_LIMIT = 0x67;
/** FMASK: IF, TF, DF, AC cleared on SYSCALL (as Linux does). */
const FMASK = RFLAGS.IF | RFLAGS.TF | RFLAGS.DF | RFLAGS.AC | RFLAGS.NT;

/** Options of a kernel boot on x86_64-pc (with `la57` the firmware hands off in 5-level paging and the kernel uses 5-level tables). */
export interface KernelBootOptions extends X86PcOptions, KernelProgramOptions {}

/** A machine with firmware, kernel and program in place, ready to run. */
export interface KernelMachine extends X86Pc {
  kernel: Kernel;
  /** The platform reports a memory error: queued for the kernel, announced by a machine check (boot/memory-errors.ts). */
  reportMemoryError(e: MemoryError): void;
}

/**
 * Builds the machine and places firmware tables, kernel, program and ramdisk. Throws ElfError for a
 * program that is not a loadable x86_64 ELF, BootError for more than 3 GiB of RAM, modules that do
 * not fit, arguments that are too long, or ramdisk files with a bad or repeated name.
 */
export function bootKernelX86(opts: KernelBootOptions): KernelMachine {
  const la57 = opts.la57 ?? false;
  const pc = createX86Pc({ ...opts, la57 });
  const core = pc.cpu;
  const bus = pc.machine.bus;
  if (pc.ramSize > LOW_TOP_MAX) throw new BootError(`the x86_64 kernel boot uses RAM below 3 GiB only: ${pc.ramSize} bytes is too much`);
  const ram = bus.ramAt(KERNEL_BASE)!;
  const ramEnd = ram.base + ram.size;
  parseElf(opts.program, EM_X86_64);
  const { moduleEnd, ramdiskBase, ramdiskEnd, archive, argBytes } = placeModules(bus, opts, { moduleBase: MODULE_BASE, limit: ramEnd, limitName: "in RAM", argsAddr: ARGS_ADDR, argsMax: ARGS_MAX });
  bus.load(KERNEL_BASE + IDLE_OFFSET, new Uint8Array(IDLE_BYTES));
  const direct = (pa: number): bigint => X86_PHYSICAL_OFFSET + BigInt(pa);

  const m = pc.machine;
  const stackOf = (apicId: number) => ({ topVa: direct(stackTop(apicId)), topPa: stackTop(apicId) });
  // A PAUSE while the kernel waits on the mailbox: the firmware holding the APs looks at it.
  const relax = (): void => { for (const c of pc.cpus) if (m.parked[c.hartId]) m.onParkedTurn?.(c); };
  const { hal, entries } = x86Hal(bus, core, ram, SEL, stackOf, relax);
  const errors = memoryErrorSource(() => core.machineCheck());
  hal.takeMemoryErrors = errors.take;
  const arch = x86KernelArch(hal.cpu, hal, undefined, la57 ? X86_5LEVEL_PAGING : X86_4LEVEL_PAGING, MAILBOX_ADDR);
  const kernel = new Kernel(hal, arch, { va: KERNEL_VA, textSize: TEXT_SIZE, trapVectorOffset: SYSCALL_OFFSET, idleOffset: IDLE_OFFSET, secondaryOffset: SECONDARY_OFFSET }, opts);
  core.ports.add(new ExitPort((status) => m.requestExit(status, "the kernel's exit port")), EXIT_PORT, EXIT_PORT_COUNT);

  // The firmware phase: 64-bit mode on the identity map, then the kernel's tables; the APs wait on the mailbox.
  const pml4 = writeIdentityMap(bus);
  const firmwareCr3 = la57 ? writePml5(bus) : pml4;
  const firmwareGdtLimit = writeGdt(bus);
  resetLongMode(core, firmwareCr3, firmwareGdtLimit, la57);
  writeDescriptorTables(bus, direct, pc.cpus.length);
  enterKernelState(core, direct);
  parkApplicationProcessors(m, MAILBOX_ADDR, (c) => resetLongMode(c, firmwareCr3, firmwareGdtLimit, la57));

  const memoryMap = kernelMemoryMap(pc, [
    { base: 0, size: 0x10_0000, kind: MemoryRegionKind.Reserved },
    { base: BOOT_BASE, size: BOOT_SIZE, kind: MemoryRegionKind.Reserved },
    { base: KERNEL_BASE, size: KERNEL_SIZE, kind: MemoryRegionKind.KernelAndModules },
    { base: MODULE_BASE, size: moduleEnd - MODULE_BASE, kind: MemoryRegionKind.KernelAndModules },
    ...(archive.length ? [{ base: ramdiskBase, size: ramdiskEnd - ramdiskBase, kind: MemoryRegionKind.KernelAndModules }] : []),
  ]);
  const cpus = m.lapics.map((a) => a.id);
  if (bootInfoSize(memoryMap.length, cpus.length) > ARGS_ADDR - BOOT_INFO_ADDR) throw new BootError("firmware: memory map too large for the boot-info page");
  // Firmware reset entry: the boot-info record, then to the kernel with RDI = the record.
  core.registerNative(FIRMWARE_ENTRY, (c) => {
    writeBootInfo(hal, BOOT_INFO_ADDR, {
      hartId: 0, dtb: { base: 0, size: 0 }, kernelStart: KERNEL_BASE, kernelEnd: KERNEL_BASE + KERNEL_SIZE,
      module: { base: MODULE_BASE, size: opts.program.length }, args: { base: ARGS_ADDR, size: argBytes.length },
      ramdisk: { base: archive.length ? ramdiskBase : 0, size: archive.length }, memoryMap, cpus,
    });
    c.setReg(7, BigInt(BOOT_INFO_ADDR));
    c.setRip(BigInt(KERNEL_BASE));
  });
  core.registerNative(KERNEL_BASE, (c) => {
    hal.bind(c);
    kernel.entry(Number(c.reg(7)));
  });
  core.registerNative(KERNEL_BASE + SYSCALL_OFFSET, (c) => {
    hal.bind(c);
    entries.syscall();
    kernel.trap();
  });
  // An AP woken through the mailbox, in the firmware's environment: set up as the boot CPU was, then the kernel.
  core.registerNative(KERNEL_BASE + SECONDARY_OFFSET, (c) => {
    hal.bind(c);
    const apicId = hal.cpu.lapicRead(APIC.ID) >>> 24;
    enterKernelState(c, direct);
    kernel.secondaryEntry(Number(hal.read64(mailboxArg(MAILBOX_ADDR, apicId))));
  });
  GATE_VECTORS.forEach((v, slot) => {
    const external = v >= 32;
    core.registerNative(KERNEL_BASE + VECTOR_OFFSET + 16 * slot, (c) => {
      hal.bind(c);
      // Spurious: no EOI, straight back (SDM Vol. 3A §11.9; Linux's spurious handler does the same).
      if (v === SPURIOUS_VECTOR) {
        if (!c.iretq()) throw new RangeError("kernel: IRETQ from the spurious-interrupt handler faulted");
        return;
      }
      entries.vector(v, !external && HAS_ERROR_CODE.has(v));
      // The timer's end of interrupt, as a handler's first act; the IPI's is the kernel's (KernelSmp.ackIpi).
      if (external && v !== IPI_VECTOR) bus.write(LAPIC_BASE + LAPIC_REG.EOI, 4, 0);
      kernel.trap();
    });
  });
  core.setRip(BigInt(FIRMWARE_ENTRY));
  return { ...pc, kernel, reportMemoryError: errors.report };
}

/**
 * Puts CPU `c` in the state the kernel runs in: its GDT, IDT and TR (its own TSS), EFER.SCE|NXE,
 * CR4.MCE|PGE|PCIDE|SMEP|SMAP, the SYSCALL MSRs and RSP at the top of its kernel stack. The boot
 * CPU gets it from the firmware; each AP from the secondary entry, as Linux's trampoline and
 * cpu_init do (each CPU loads its own TR, as Linux's per-CPU GDT gives each its own TSS).
 * @spec SDM Vol. 3A §4.10.1 (CR4.PCIDE may be set only with CR3[11:0] = 0: the firmware's CR3 has PCID 0)
 */
function enterKernelState(c: Core, direct: (pa: number) => bigint): void {
  const id = c.hartId;
  c.gdtrBase = direct(GDT_ADDR);
  c.gdtrLimit = GDT_LIMIT;
  c.idtrBase = direct(IDT_ADDR);
  c.idtrLimit = IDT_ENTRIES * 16 - 1;
  c.trSel = SEL.tss + 16 * id;
  c.trBase = direct(TSS_ADDR + TSS_STRIDE * id);
  c.trLimit = TSS_LIMIT;
  const m = c.mmu;
  m.writeEfer(Number(m.efer & 0xffffffffn) | EFER.SCE | EFER.NXE, 0);
  m.writeCr4(Number(m.cr4 & 0xffffffffn) | CR4.MCE | CR4.PGE | CR4.PCIDE | CR4.SMEP | CR4.SMAP, 0);
  c.contextChanged();
  const msr = (n: number, v: bigint): void => { if (!wrmsr(c, n, v)) throw new Error(`kernel boot: WRMSR 0x${n.toString(16)} refused`); };
  msr(MSR.STAR, (BigInt(SEL.user32Cs & ~3) << 48n) | (BigInt(SEL.kernelCs) << 32n));
  msr(MSR.LSTAR, KERNEL_VA + BigInt(SYSCALL_OFFSET));
  msr(MSR.FMASK, BigInt(FMASK));
  c.setReg(4, direct(stackTop(id)));
}

/** The GDT's limit: room for the TSS descriptors of the most CPUs a machine has. */
const GDT_LIMIT = SEL.tss + 16 * MAX_X86_CPUS - 1;

/** Writes the GDT (with a TSS descriptor per CPU), the TSSs (RSP0 = that CPU's kernel stack, IST1 = its #MC stack) and the IDT. */
function writeDescriptorTables(bus: Bus, direct: (pa: number) => bigint, cpus: number): void {
  GDT.forEach((d, i) => bus.write64(GDT_ADDR + 8 * i, d));
  for (let id = 0; id < cpus; id++) {
    // 64-bit TSS descriptor (type 0xB, busy: TR is loaded). @spec SDM Vol. 3A §7.2.3 Figure 7-4
    const tss = TSS_ADDR + TSS_STRIDE * id;
    const base = BigInt.asUintN(64, direct(tss));
    const lowDesc = BigInt(TSS_LIMIT) | ((base & 0xffffffn) << 16n) | (0x8bn << 40n) | (((base >> 24n) & 0xffn) << 56n);
    bus.write64(GDT_ADDR + SEL.tss + 16 * id, lowDesc);
    bus.write64(GDT_ADDR + SEL.tss + 16 * id + 8, base >> 32n);
    bus.fill(tss, TSS_LIMIT + 1, 0);
    bus.write64(tss + 4, direct(stackTop(id)));
    // IST1 (TSS +0x24) for #MC: a machine check can arrive between SYSCALL and its entry, at CPL 0
    // on the user's stack; the IST switch puts its frame on a stack of its own (as Linux does). It
    // can also arrive at the first instruction of another vector's handler, whose frame is then at
    // the top of the kernel stack: the #MC frame goes below it (mcStackTop), never over it.
    // @spec SDM Vol. 3A §6.14.5 (IST: the stack is switched unconditionally), §7.7 Figure 7-11
    bus.write64(tss + 0x24, direct(mcStackTop(id)));
  }
  // Interrupt gates (type 0xE, DPL 0, present) to the native entries. @spec SDM Vol. 3A §6.14.1 Figure 6-8
  bus.fill(IDT_ADDR, IDT_ENTRIES * 16, 0);
  GATE_VECTORS.forEach((v, slot) => {
    const target = KERNEL_VA + BigInt(VECTOR_OFFSET + 16 * slot);
    const ist = v === MC_VECTOR ? 1n : 0n;
    const g0 = (target & 0xffffn) | (BigInt(SEL.kernelCs) << 16n) | (ist << 32n) | (0x8en << 40n) | (((target >> 16n) & 0xffffn) << 48n);
    bus.write64(IDT_ADDR + 16 * v, g0);
    bus.write64(IDT_ADDR + 16 * v + 8, target >> 32n);
  });
}

/**
 * The kernel's memory map: the e820 map's RAM below 3 GiB and its reserved ranges, with `carves`
 * (boot area, kernel, modules) cut out of the usable RAM they lie in. Sorted by base.
 */
function kernelMemoryMap(pc: X86Pc, carves: MemoryRegion[]): MemoryRegion[] {
  const out: MemoryRegion[] = [...carves];
  for (const e of pc.e820) {
    if (e.type !== E820.USABLE) {
      if (!carves.some((c) => c.base <= e.base && e.base + e.size <= c.base + c.size)) out.push({ base: e.base, size: e.size, kind: MemoryRegionKind.Reserved });
      continue;
    }
    let pieces = [{ base: e.base, end: e.base + e.size }];
    for (const c of carves) {
      pieces = pieces.flatMap((p) => [
        { base: p.base, end: Math.min(p.end, c.base) },
        { base: Math.max(p.base, c.base + c.size), end: p.end },
      ]).filter((p) => p.end > p.base);
    }
    for (const p of pieces) out.push({ base: p.base, size: p.end - p.base, kind: MemoryRegionKind.Usable });
  }
  return out.sort((a, b) => a.base - b.base);
}
