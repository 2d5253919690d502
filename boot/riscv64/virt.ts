/**
 * The `riscv64-virt` machine preset: QEMU's `virt` board memory map with RAM, an NS16550A UART,
 * a CLINT and the SiFive test finisher, a device tree, and the bare boot that starts a guest ELF in
 * M-mode like `qemu-system-riscv64 -M virt -bios none -kernel IMAGE.elf`.
 */
import { Bus } from "../../emulator/core/memory.js";
import { DEFAULT_TLB, type TlbConfig } from "../../emulator/core/tlb.js";
import { Hart } from "../../emulator/arch/riscv64/hart.js";
import { RiscvMachine } from "../../emulator/arch/riscv64/machine.js";
import { CodeCache } from "../../emulator/arch/riscv64/code-cache.js";
import type { ScheduleOptions } from "../../emulator/core/schedule.js";
import type { SbiSmp } from "./sbi-smp.js";
import { SATP_MODE_SV39, SATP_MODE_SV48 } from "../../emulator/arch/riscv64/defs.js";
import { Clint, CLINT_SIZE } from "../../emulator/devices/clint.js";
import { SifiveTest } from "../../emulator/devices/sifive-test.js";
import { Uart16550 } from "../../emulator/devices/uart16550.js";
import { EM_RISCV, ElfError, loadElfPhysical, parseElf } from "../elf.js";
import { buildRiscvVirtDtb, VIRT_MEMORY_MAP } from "./virt-dtb.js";

/** Options of a `riscv64-virt` machine. */
export interface RiscvVirtOptions {
  /** RAM size in bytes (default 128 MiB); a multiple of 64 KiB. */
  ramSize?: number;
  /** TLB geometry (default {@link DEFAULT_TLB}). */
  tlb?: TlbConfig;
  /** Hardware A/D updates available (Svadu, enabled by menvcfg.ADUE). Default: Svade only. */
  svadu?: boolean;
  /** Largest paging mode: "sv39" or "sv48" (default). */
  maxPaging?: "sv39" | "sv48";
  /** ASIDLEN of every hart: implemented satp.ASID bits, 0 to 16 (default 16). Narrow it to force ASID rollovers. */
  asidLen?: number;
  /** Turn off the host fast path (for checking it changes nothing). */
  noFastPath?: boolean;
  /**
   * Strict TLB mode: every TLB hit is checked against a fresh walk and stale entries are reported
   * to `machine.onStaleTlb` and the trace ("stale-tlb"). Slower (no fast path); the run is otherwise
   * identical.
   */
  strictTlb?: boolean;
  /** Receives every byte the guest writes to the UART. */
  console?: (byte: number) => void;
  /** Number of harts, 1 to {@link MAX_HARTS} (default 1). */
  harts?: number;
  /** How several harts interleave: round robin by default, seeded random with `seed`. */
  schedule?: ScheduleOptions;
}

/** Most harts a `riscv64-virt` machine has here (QEMU virt allows more; the issue asks for 8). */
export const MAX_HARTS = 8;

/** mtime ticks per second advertised in the device tree (QEMU virt's value). */
export const VIRT_TIMEBASE_HZ = 10_000_000;
export const DEFAULT_RAM_SIZE = 128 * 1024 * 1024;

/** A built `riscv64-virt` machine. */
export interface RiscvVirt {
  machine: RiscvMachine;
  uart: Uart16550;
  clint: Clint;
  dtb: Uint8Array;
  /** Physical address the DTB is placed at on boot. */
  dtbAddr: number;
  ramBase: number;
  ramSize: number;
  /** The SBI firmware's multi-hart state, once firmware is installed (boot/riscv64/sbi.ts). */
  sbi?: SbiSmp;
}

/** Builds the machine (no image loaded). Throws RangeError for a bad RAM size. */
export function createRiscvVirt(opts: RiscvVirtOptions = {}): RiscvVirt {
  const ramSize = opts.ramSize ?? DEFAULT_RAM_SIZE;
  if (!Number.isSafeInteger(ramSize) || ramSize < 1024 * 1024 || ramSize % 65536 !== 0) {
    throw new RangeError(`riscv64-virt: RAM size ${ramSize} must be a multiple of 64 KiB and at least 1 MiB`);
  }
  const map = VIRT_MEMORY_MAP;
  const bus = new Bus();
  bus.addRam("dram", map.dram.base, ramSize);
  const out = opts.console ?? (() => {});
  const uart = new Uart16550("uart0", out);
  bus.addDevice(uart, map.uart0.base, map.uart0.size);
  const count = opts.harts ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > MAX_HARTS) throw new RangeError(`riscv64-virt: ${count} harts; 1 to ${MAX_HARTS} are supported`);
  const code = new CodeCache();
  const harts = Array.from({ length: count }, (_, hartId) => new Hart(bus, {
    hartId,
    tlb: opts.tlb ?? DEFAULT_TLB,
    svadu: opts.svadu ?? false,
    maxSatpMode: opts.maxPaging === "sv39" ? SATP_MODE_SV39 : SATP_MODE_SV48,
    ...(opts.asidLen !== undefined ? { asidBits: opts.asidLen } : {}),
    noFastPath: opts.noFastPath ?? false,
    code,
  }));
  let machine: RiscvMachine | undefined;
  const clint = new Clint(count, () => machine!.now());
  bus.addDevice(clint, map.clint.base, CLINT_SIZE);
  const finisher = new SifiveTest((kind, code) => machine!.requestFinish(kind, code));
  bus.addDevice(finisher, map.test.base, map.test.size);
  machine = new RiscvMachine(bus, harts, clint, { strictTlb: opts.strictTlb ?? false, ...(opts.schedule ? { schedule: opts.schedule } : {}) });
  clint.onChange = () => { for (const h of harts) h.interruptsChanged(); };
  const dtb = buildRiscvVirtDtb({
    ramBase: map.dram.base, ramSize, harts: count, isa: "rv64imac_zicsr_zifencei",
    mmuType: opts.maxPaging === "sv39" ? "riscv,sv39" : "riscv,sv48", timebaseHz: VIRT_TIMEBASE_HZ,
  });
  // QEMU 7.2 (hw/riscv/boot.c riscv_load_fdt) places the DTB at the top of RAM below 3 GiB,
  // aligned down to 2 MiB: 0x87e0_0000 for 128 MiB, as `qemu -d cpu` shows in a1.
  const top = Math.min(map.dram.base + ramSize, 3 * 1024 * 1024 * 1024);
  const dtbAddr = Math.floor((top - dtb.length) / (2 * 1024 * 1024)) * 2 * 1024 * 1024;
  return { machine, uart, clint, dtb, dtbAddr: Math.max(dtbAddr, map.dram.base), ramBase: map.dram.base, ramSize };
}

/**
 * Bare boot: validates and loads the ELF at its physical addresses, copies the DTB, and resets
 * every hart in M-mode at the entry with a0 = its hart id and a1 = the DTB address, as QEMU's
 * reset code does for each hart with `-bios none`.
 * Throws ElfError for an image that is not a loadable RV64 ELF inside RAM.
 */
export function bootBare(v: RiscvVirt, elf: Uint8Array): void {
  const image = parseElf(elf, EM_RISCV);
  for (const s of image.segments) {
    const end = Number(s.paddr) + s.memsz;
    if (end > v.dtbAddr && Number(s.paddr) < v.dtbAddr + v.dtb.length) {
      throw new ElfError(`segment at 0x${s.paddr.toString(16)} overlaps the device tree at 0x${v.dtbAddr.toString(16)}`);
    }
  }
  loadElfPhysical(v.machine.bus, image);
  v.machine.bus.load(v.dtbAddr, v.dtb);
  const entry = image.entry;
  for (const h of v.machine.harts) h.reset(Number(entry & 0xffffffffn) | 0, Number((entry >> 32n) & 0xffffffffn) | 0, v.dtbAddr);
}
