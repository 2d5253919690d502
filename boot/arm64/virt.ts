/**
 * The `arm64-virt` machine preset: QEMU's `virt` board memory map with RAM at 0x4000_0000, a
 * PL011 UART at 0x0900_0000, a GICv2 at 0x0800_0000, PSCI firmware over HVC/SMC, the generic
 * timer, a device tree, 1 to 8 PEs, and the bare boot that starts a guest ELF like
 * `qemu-system-aarch64 -M virt -cpu cortex-a57 [-smp N] -kernel IMAGE.elf`: PE 0 in EL1h, MMU off,
 * DAIF masked, X0 = the DTB address, pc = the ELF entry; the other PEs powered off until PSCI
 * CPU_ON (QEMU's `start-powered-off` for every CPU but the first).
 */
import { Bus } from "../../emulator/core/memory.js";
import { DEFAULT_TLB, type TlbConfig } from "../../emulator/core/tlb.js";
import { Arm64Cpu, type Arm64CodeCache } from "../../emulator/arch/arm64/cpu.js";
import { CodeCache } from "../../emulator/core/code-cache.js";
import type { ScheduleOptions } from "../../emulator/core/schedule.js";
import { Arm64Machine } from "../../emulator/arch/arm64/machine.js";
import {
  Arm64Mmu, arm64PageShifts, TLBI_ASIDE1, TLBI_ASIDE1IS, TLBI_VAAE1, TLBI_VAAE1IS, TLBI_VAALE1, TLBI_VAALE1IS,
  TLBI_VAE1, TLBI_VAE1IS, TLBI_VALE1, TLBI_VALE1IS, TLBI_VMALLE1, TLBI_VMALLE1IS,
} from "../../emulator/arch/arm64/mmu.js";
import type { TlbiCodes } from "../../emulator/arch/arm64/system.js";
import { Arm64StrictTlb } from "../../emulator/arch/arm64/bbm.js";
import type { TranslatorFactory } from "../../emulator/arch/arm64/defs.js";
import { Pl011 } from "../../emulator/devices/pl011.js";
import { GicV2, INTID_PHYS_TIMER, INTID_UART, INTID_VIRT_TIMER } from "../../emulator/arch/arm64/gicv2.js";
import { EM_AARCH64, ElfError, loadElfPhysical, parseElf } from "../elf.js";
import { psciCall } from "./psci.js";
import { ARM64_VIRT_MEMORY_MAP, buildArm64VirtDtb } from "./virt-dtb.js";

/** The TLBI operation codes of mmu.ts, by instruction name. */
export const ARM64_TLBI_CODES: TlbiCodes = {
  VMALLE1: TLBI_VMALLE1, VAE1: TLBI_VAE1, ASIDE1: TLBI_ASIDE1, VAAE1: TLBI_VAAE1, VALE1: TLBI_VALE1, VAALE1: TLBI_VAALE1,
  VMALLE1IS: TLBI_VMALLE1IS, VAE1IS: TLBI_VAE1IS, ASIDE1IS: TLBI_ASIDE1IS, VAAE1IS: TLBI_VAAE1IS, VALE1IS: TLBI_VALE1IS, VAALE1IS: TLBI_VAALE1IS,
};

/** Options of an `arm64-virt` machine. */
export interface Arm64VirtOptions {
  /** RAM size in bytes (default 128 MiB, QEMU's default); a multiple of 64 KiB, at least 1 MiB. */
  ramSize?: number;
  /** TLB geometry (default {@link DEFAULT_TLB}). */
  tlb?: TlbConfig;
  /** Turn off the host fast path (for checking it changes nothing). */
  noFastPath?: boolean;
  /** Turn off the block translator (emulator/arch/arm64/jit.ts; on by default): interpret everything. */
  noJit?: boolean;
  /** Receives every byte the guest writes to the UART. */
  console?: (byte: number) => void;
  /** Kernel command line for /chosen/bootargs. */
  bootargs?: string;
  /** The MMU (default: mmu.ts's Arm64Mmu); tests substitute others. Not with `strictTlb`. */
  mmu?: TranslatorFactory;
  /**
   * Strict TLB mode (bbm.ts): break-before-make violations, TLBI without DSB and stale TLB uses are
   * reported to `strict.onReport`. Turns the host fast path off; the run is otherwise identical.
   */
  strictTlb?: boolean;
  /**
   * A GICv2 at 0x0800_0000/0x0801_0000 between the timer/UART and the core, as on QEMU `virt`
   * (default true). Without it the timer's output drives the core's IRQ input directly.
   */
  gic?: boolean;
  /** Number of PEs, 1 to {@link MAX_CPUS} (default 1); PE i has MPIDR_EL1 = 0x8000_0000 | i. */
  cpus?: number;
  /** How several PEs interleave (emulator/core/schedule.ts); ignored with one. */
  schedule?: ScheduleOptions;
}

/** The most PEs an `arm64-virt` machine has (a GICv2 serves 8). */
export const MAX_CPUS = 8;

export const DEFAULT_RAM_SIZE = 128 * 1024 * 1024;

/** A built `arm64-virt` machine. */
export interface Arm64Virt {
  machine: Arm64Machine;
  /** PE 0. */
  cpu: Arm64Cpu;
  /** Every PE, by number. */
  cpus: Arm64Cpu[];
  uart: Pl011;
  dtb: Uint8Array;
  /** The interrupt controller, unless built with `gic: false`. */
  gic: GicV2 | undefined;
  /** The strict-TLB detector when `strictTlb` is on. */
  strict: Arm64StrictTlb | undefined;
  /** Physical address the DTB is placed at by {@link bootBareArm64} (set there). */
  dtbAddr: number;
  ramBase: number;
  ramSize: number;
}

/** Builds the machine (no image loaded). Throws RangeError for a bad RAM size. */
export function createArm64Virt(opts: Arm64VirtOptions = {}): Arm64Virt {
  const ramSize = opts.ramSize ?? DEFAULT_RAM_SIZE;
  if (!Number.isSafeInteger(ramSize) || ramSize < 1024 * 1024 || ramSize % 65536 !== 0) {
    throw new RangeError(`arm64-virt: RAM size ${ramSize} must be a multiple of 64 KiB and at least 1 MiB`);
  }
  const map = ARM64_VIRT_MEMORY_MAP;
  const bus = new Bus();
  bus.addRam("ram", map.mem.base, ramSize);
  const uart = new Pl011("pl011", opts.console ?? (() => {}));
  bus.addDevice(uart, map.uart.base, map.uart.size);
  const strictTlb = opts.strictTlb ?? false;
  const n = opts.cpus ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > MAX_CPUS) throw new RangeError(`arm64-virt: ${n} CPUs (1 to ${MAX_CPUS} are supported)`);
  const mmus: Arm64Mmu[] = [];
  const code: Arm64CodeCache = new CodeCache();
  const cpus = Array.from({ length: n }, (_, i) => new Arm64Cpu(bus, {
    tlb: opts.tlb ?? DEFAULT_TLB,
    pageShifts: arm64PageShifts,
    mmu: !strictTlb && opts.mmu ? opts.mmu : (b, t) => { const m = new Arm64Mmu(b, t); mmus.push(m); return m; },
    tlbiCodes: ARM64_TLBI_CODES,
    noFastPath: (opts.noFastPath ?? false) || strictTlb,
    mpidr: (0x80000000 | i) >>> 0,
    index: i,
    code,
    jit: !(opts.noJit ?? false),
  }));
  const cpu = cpus[0]!;
  // The Inner Shareable domain: every PE (TLBI ...IS reaches them all).
  if (n > 1) for (const c of cpus) c.shareable = cpus;
  const machine = new Arm64Machine(bus, n === 1 ? cpu : cpus, { ...(opts.schedule ? { schedule: opts.schedule } : {}) });
  let strict: Arm64StrictTlb | undefined;
  if (strictTlb) {
    strict = new Arm64StrictTlb();
    for (const m of mmus) strict.attach(m, bus);
    strict.watch(bus); // after the machine's own onRamWrite hook
    strict.context = () => {
      const c = machine.current ?? cpu;
      return { pc: c.pc, icount: c.icount, ...(n > 1 ? { cpu: c.index } : {}) };
    };
  }
  const firmware = psciCall({
    systemOff: () => machine.requestFinish("pass", 0, "guest powered off (PSCI SYSTEM_OFF)"),
    systemReset: () => machine.requestFinish("reset", 0, "guest requested a reset (PSCI SYSTEM_RESET)"),
    cpuOff: (c) => machine.requestFinish("fail", 125, n === 1
      ? "cpu 0 turned itself off (PSCI CPU_OFF): nothing is left to run"
      : `cpu ${c.index}, the last one on, turned itself off (PSCI CPU_OFF): nothing is left to run`),
    power: machine,
  });
  for (const c of cpus) c.firmware = firmware;
  let gic: GicV2 | undefined;
  if (opts.gic ?? true) {
    const g = new GicV2((id, k) => {
      const t = cpus[k]!.timer;
      return id === INTID_VIRT_TIMER ? t.virt.output() : id === INTID_PHYS_TIMER ? t.phys.output() : id === INTID_UART ? uart.interruptPending() : false;
    }, n);
    bus.addDevice(g.distributor, map.gicDist.base, map.gicDist.size);
    bus.addDevice(g.cpuInterface, map.gicCpu.base, map.gicCpu.size);
    g.current = () => machine.current?.index ?? 0;
    g.onChange = () => { for (const c of cpus) c.interruptsChanged(); };
    for (const c of cpus) c.irqLine = () => g.irqOut(c.index);
    gic = g;
  }
  const dtb = buildArm64VirtDtb({ ramSize, bootargs: opts.bootargs, gic: gic !== undefined, cpus: n });
  return { machine, cpu, cpus, uart, dtb, gic, strict, dtbAddr: map.mem.base, ramBase: map.mem.base, ramSize };
}

const MiB = 1024 * 1024;

/**
 * Where QEMU 7.2 puts the DTB for an ELF `-kernel` (hw/arm/boot.c arm_setup_direct_kernel_boot and
 * arm_load_dtb): at the start of RAM when the image lies above it with room for the blob;
 * otherwise after the image, at the initrd address (RAM base + min(RAM/2, 128 MiB), or the image
 * end if that is higher) rounded up to 2 MiB.
 */
export function arm64DtbAddress(ramBase: number, ramSize: number, imageLow: number, imageHigh: number, dtbSize: number): number {
  if (imageLow >= ramBase + dtbSize) return ramBase;
  let initrd = ramBase + Math.min(ramSize / 2, 128 * MiB);
  if (initrd < imageHigh) initrd = Math.ceil(imageHigh / 4096) * 4096;
  return Math.ceil(initrd / (2 * MiB)) * 2 * MiB;
}

/**
 * Bare boot: validates and loads the ELF at its physical addresses, copies the DTB, and resets
 * PE 0 at the entry in EL1h with the MMU off and X0 = the DTB address; the other PEs are powered
 * off until PSCI CPU_ON. SYSTEM_RESET reloads the image and starts again. Throws ElfError for an image that is not a loadable AArch64 ELF
 * inside RAM, or that leaves no room for the DTB.
 */
export function bootBareArm64(v: Arm64Virt, elf: Uint8Array): void {
  const image = parseElf(elf, EM_AARCH64);
  let low = Infinity, high = 0;
  for (const s of image.segments) {
    if (s.memsz === 0) continue;
    low = Math.min(low, Number(s.paddr));
    high = Math.max(high, Number(s.paddr) + s.memsz);
  }
  v.dtbAddr = arm64DtbAddress(v.ramBase, v.ramSize, low, high, v.dtb.length);
  if (v.dtbAddr + v.dtb.length > v.ramBase + v.ramSize) throw new ElfError(`no room for the device tree after the image (image ends at 0x${high.toString(16)})`);
  const start = (): void => {
    v.gic?.reset();
    loadElfPhysical(v.machine.bus, image);
    v.machine.bus.load(v.dtbAddr, v.dtb);
    const entry = image.entry;
    v.cpu.reset(Number(entry & 0xffffffffn) | 0, Number((entry >> 32n) & 0xffffffffn) | 0, v.dtbAddr);
    for (const c of v.cpus) {
      if (c === v.cpu) continue;
      c.reset(0, 0, 0);
      v.machine.off[c.index] = 1;
    }
  };
  start();
  v.machine.onReset = start;
}
