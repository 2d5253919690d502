/**
 * The `x86_64-pc` machine preset: RAM with the PC's legacy holes and an e820 map, COM1 (a 16550 at
 * port 0x3F8), QEMU's isa-debug-exit at port 0xF4, the local APIC at 0xFEE00000; and the bare boot
 * that starts a guest ELF in 64-bit mode as a UEFI-style firmware would hand off:
 * CPL 0, interrupts off, the firmware GDT (CS 0x08, SS/DS/ES 0x10), the identity map of the first
 * 4 GiB in CR3 (CR0 = PG|WP|NE|ET|MP|PE, CR4 = PAE (|LA57 with `la57`: 5-level paging, since LA57
 * cannot change in long mode), EFER = LME|LMA), RDI = the boot-info record,
 * RSP = the top of the firmware stack minus 8 (a zero return address there, as if called).
 * With several CPUs (`harts`), CPU 0 is the bootstrap processor and the others wait in the firmware
 * for the ACPI multiprocessor wakeup mailbox (mp-wakeup.ts); the CPUs interleave as smp.ts says.
 * Entry state and the boot-info layout are documented in docs/x86_64.md.
 */
import { Bus } from "../../emulator/core/memory.js";
import { DEFAULT_TLB, type TlbConfig } from "../../emulator/core/tlb.js";
import { X86Cpu } from "../../emulator/arch/x86_64/cpu.js";
import { X86Machine } from "../../emulator/arch/x86_64/machine.js";
import { X86SharedCode } from "../../emulator/arch/x86_64/smp.js";
import { PortBus } from "../../emulator/arch/x86_64/ports.js";
import type { ScheduleOptions } from "../../emulator/core/schedule.js";
import { RFLAGS } from "../../emulator/arch/x86_64/defs.js";
import { LocalApic, LAPIC_BASE, LAPIC_SIZE } from "../../emulator/devices/lapic.js";
import { Uart16550 } from "../../emulator/devices/uart16550.js";
import { COM1_PORT, UART_PORTS, UartPort } from "../../emulator/devices/uart-port.js";
import { DEBUG_EXIT_PORT, DEBUG_EXIT_PORTS, IsaDebugExit } from "../../emulator/devices/isa-debug-exit.js";
import { EM_X86_64, ElfError, loadElfPhysical, parseElf } from "../elf.js";
import { e820Map, FIRMWARE, ramRanges, type E820Entry } from "./memory-map.js";
import { FW_CS, FW_DS, writeBootInfo, writeGdt, writeIdentityMap, writePml5 } from "./firmware.js";
import { parkApplicationProcessors } from "./mp-wakeup.js";

/** Options of an `x86_64-pc` machine. */
export interface X86PcOptions {
  /** RAM size in bytes (default 128 MiB): a multiple of 64 KiB, at least 2 MiB. Above 3 GiB it continues at 4 GiB. */
  ramSize?: number;
  /** TLB geometry (default {@link DEFAULT_TLB}). */
  tlb?: TlbConfig;
  /** Support 5-level paging (CR4.LA57, CPUID.7.ECX[16]). */
  la57?: boolean;
  /** MAXPHYADDR (default: the MMU's, 40). */
  maxPhysAddr?: number;
  /** Turn off the host fast path (for checking it changes nothing). */
  noFastPath?: boolean;
  /** Turn off the block translator (emulator/arch/x86_64/jit.ts; on by default): interpret everything. */
  noJit?: boolean;
  /**
   * Strict TLB mode: every TLB hit is checked against a fresh walk and stale entries are reported
   * to `machine.onStaleTlb` and the trace ("stale-tlb"). Slower (no fast path); the run is otherwise
   * identical.
   */
  strictTlb?: boolean;
  /** Receives every byte the guest writes to COM1. */
  console?: (byte: number) => void;
  /** Number of CPUs, 1 to {@link MAX_X86_CPUS} (default 1); APIC IDs 0..n-1, CPU 0 boots. */
  harts?: number;
  /** How several CPUs interleave: round robin by default, seeded random with `seed`. */
  schedule?: ScheduleOptions;
}

export const DEFAULT_X86_RAM_SIZE = 128 * 1024 * 1024;
/** Most CPUs an `x86_64-pc` machine has here. */
export const MAX_X86_CPUS = 8;

/** A built `x86_64-pc` machine. */
export interface X86Pc {
  machine: X86Machine;
  /** The bootstrap processor (machine.cpus[0]). */
  cpu: X86Cpu;
  /** Every CPU, indexed by APIC ID. */
  cpus: readonly X86Cpu[];
  uart: Uart16550;
  /** The bootstrap processor's local APIC (machine.lapics holds all). */
  lapic: LocalApic;
  /** The e820 map the firmware reports. */
  e820: readonly E820Entry[];
  ramSize: number;
}

/** Builds the machine (no image loaded). Throws RangeError for a bad RAM size. */
export function createX86Pc(opts: X86PcOptions = {}): X86Pc {
  const ramSize = opts.ramSize ?? DEFAULT_X86_RAM_SIZE;
  if (!Number.isSafeInteger(ramSize) || ramSize < 2 * 1024 * 1024 || ramSize % 65536 !== 0) {
    throw new RangeError(`x86_64-pc: RAM size ${ramSize} must be a multiple of 64 KiB and at least 2 MiB`);
  }
  const count = opts.harts ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > MAX_X86_CPUS) throw new RangeError(`x86_64-pc: ${count} CPUs; 1 to ${MAX_X86_CPUS} are supported`);
  const bus = new Bus();
  for (const r of ramRanges(ramSize)) bus.addRam(r.name, r.base, r.size);
  const code = count > 1 ? new X86SharedCode() : undefined;
  const ports = new PortBus();
  const cpus = Array.from({ length: count }, (_, hartId) => new X86Cpu(bus, {
    tlb: opts.tlb ?? DEFAULT_TLB, la57: opts.la57 ?? false, maxPhysAddr: opts.maxPhysAddr,
    noFastPath: (opts.noFastPath ?? false) || (opts.strictTlb ?? false), hartId, ports, jit: !(opts.noJit ?? false), ...(code ? { code } : {}),
  }));
  if (code) code.cpus = cpus;
  const cpu = cpus[0]!;
  let machine: X86Machine | undefined;
  const lapics = cpus.map((c) => new LocalApic(() => machine!.now(), c.hartId));
  const lapic = lapics[0]!;
  const uart = new Uart16550("com1", opts.console ?? (() => {}));
  cpu.ports.add(new UartPort(uart), COM1_PORT, UART_PORTS);
  cpu.ports.add(new IsaDebugExit((status) => machine!.requestExit(status)), DEBUG_EXIT_PORT, DEBUG_EXIT_PORTS);
  machine = new X86Machine(bus, cpus, lapics, { strictTlb: opts.strictTlb ?? false, ...(opts.schedule ? { schedule: opts.schedule } : {}) });
  bus.addDevice(machine.apicWindow, LAPIC_BASE, LAPIC_SIZE);
  return { machine, cpu, cpus, uart, lapic, e820: e820Map(ramSize), ramSize };
}

/**
 * Bare boot: validates and loads the ELF at its physical addresses, writes the firmware tables and
 * the boot-info record, and puts the CPU in the entry state (see the file comment).
 * Throws ElfError for an image that is not a loadable x86_64 ELF inside usable RAM.
 */
export function bootBareX86(pc: X86Pc, elf: Uint8Array): void {
  const image = parseElf(elf, EM_X86_64);
  for (const s of image.segments) {
    const base = Number(s.paddr);
    if (s.memsz > 0 && base < FIRMWARE.END && base + s.memsz > FIRMWARE.BASE) {
      throw new ElfError(`segment at 0x${s.paddr.toString(16)} overlaps the firmware area [0x${FIRMWARE.BASE.toString(16)}, 0x${FIRMWARE.END.toString(16)})`);
    }
  }
  const bus = pc.machine.bus;
  loadElfPhysical(bus, image);
  const gdtLimit = writeGdt(bus);
  const la57 = pc.cpu.mmu.la57Supported;
  const pml4 = writeIdentityMap(bus);
  const cr3 = la57 ? writePml5(bus) : pml4;
  const m = pc.machine;
  const bootInfo = writeBootInfo(bus, pc.e820, { apicIds: m.lapics.map((a) => a.id), mailbox: FIRMWARE.MAILBOX });
  const rsp = FIRMWARE.STACK_TOP - 8;
  bus.write64(rsp, 0n);
  resetLongMode(pc.cpu, cr3, gdtLimit, la57);
  parkApplicationProcessors(m, FIRMWARE.MAILBOX, (c) => resetLongMode(c, cr3, gdtLimit, la57));
  const c = pc.cpu;
  c.setReg(7, BigInt(bootInfo));
  c.setReg(4, BigInt(rsp));
  c.setRip(image.entry);
}

/** CR0 at hand-off: PG | WP | NE | ET | MP | PE. */
export const ENTRY_CR0 = 0x80010033;
/** CR4 at hand-off: PAE (and LA57 = bit 12 on a machine built with `la57`: LA57 cannot change in long mode). */
export const ENTRY_CR4 = 0x20;
const CR4_LA57 = 1 << 12;
/** EFER at hand-off: LME (LMA follows from PG). */
export const ENTRY_EFER = 0x100;

/** Puts `c` in 64-bit mode at CPL 0 with the firmware GDT and paging through `cr3` (5-level with `la57`). */
export function resetLongMode(c: X86Cpu, cr3: number, gdtLimit: number, la57 = false): void {
  const m = c.mmu;
  m.reset();
  m.writeCr4(ENTRY_CR4 | (la57 ? CR4_LA57 : 0), 0);
  m.writeCr3(cr3, 0);
  m.writeEfer(ENTRY_EFER, 0);
  m.writeCr0(ENTRY_CR0, 0);
  c.gl.fill(0);
  c.gh.fill(0);
  c.rflags = RFLAGS.FIXED;
  c.sel.fill(0);
  c.sel[0] = c.sel[3] = FW_DS;
  c.setCsSs(FW_CS, FW_DS);
  c.gdtrBase = BigInt(FIRMWARE.GDT);
  c.gdtrLimit = gdtLimit;
  c.idtrBase = 0n;
  c.idtrLimit = 0;
  c.trSel = 0;
  c.trBase = 0n;
  c.trLimit = 0;
  c.setFsBase(0n);
  c.setGsBase(0n);
  c.kernelGsBase = 0n;
  c.halted = false;
  c.shutdown = false;
  c.flushFast();
}
