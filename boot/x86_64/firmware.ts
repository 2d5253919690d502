/**
 * What the `x86_64-pc` firmware leaves in memory before a bare hand-off, inside its reserved area
 * (memory-map.ts FIRMWARE): a GDT with 64-bit code and data segments, an identity map of the first
 * 4 GiB with 2 MiB pages, and the boot-info record with the e820 table and the CPU list.
 *
 * Boot-info record (at FIRMWARE.BOOT_INFO, the address passed in RDI), little-endian:
 * ```
 *   +0   u32  magic 0x3638584D ("MX86")
 *   +4   u32  version 2 (1 had no SMP block)
 *   +8   u32  e820 entry count
 *   +12  u32  size of one e820 entry in bytes (24)
 *   +16  u64  physical address of the e820 table (BOOT_INFO + 32)
 *   +24  u64  physical address of the firmware GDT
 *   +32  e820 table: per entry u64 base, u64 length, u32 type, u32 extended attributes (1 = enabled)
 *        (room for 41 entries, up to the SMP block)
 *   +0x400 u32  number of CPUs n
 *   +0x404 u32  APIC ID of the bootstrap processor (the CPU that runs the entry)
 *   +0x408 u64  physical address of the multiprocessor wakeup mailbox (mp-wakeup.ts)
 *   +0x410 u32 × n  the APIC IDs of all CPUs, the bootstrap processor first
 * ```
 * @spec Intel SDM Vol. 3A §3.4.5 (segment descriptors, L bit), §4.5 (IA-32e paging, 2 MiB PDEs)
 */
import type { Bus } from "../../emulator/core/memory.js";
import { FIRMWARE, type E820Entry } from "./memory-map.js";

/** Selectors of the firmware GDT: null, 64-bit code (DPL 0), data (DPL 0). */
export const FW_CS = 0x08, FW_DS = 0x10;
/** Firmware GDT entries: null; code 0x00AF9A000000FFFF (P, DPL0, code RX, L=1); data 0x00CF92000000FFFF. */
export const FW_GDT: readonly bigint[] = [0n, 0x00af9a000000ffffn, 0x00cf92000000ffffn];
export const BOOT_INFO_MAGIC = 0x3638584d, BOOT_INFO_VERSION = 2, E820_ENTRY_SIZE = 24;
/** Offsets in the boot-info record: the SMP block, and its list of APIC IDs. */
export const BOOT_INFO_SMP = 0x400, BOOT_INFO_APIC_IDS = 0x410;

/** What the boot-info record says about the CPUs. */
export interface BootCpus {
  /** APIC IDs, the bootstrap processor first. */
  apicIds: readonly number[];
  /** Physical address of the wakeup mailbox. */
  mailbox: number;
}

const P = 1n, RW = 2n, PS = 0x80n, PCD = 0x10n;

/** Writes the GDT; returns its limit. */
export function writeGdt(bus: Bus): number {
  FW_GDT.forEach((d, i) => bus.write64(FIRMWARE.GDT + 8 * i, d));
  return FW_GDT.length * 8 - 1;
}

/**
 * Builds the identity map of [0, 4 GiB): PML4[0] → PDPT, PDPT[0..3] → four PDs of 2 MiB pages
 * (supervisor, writable, executable; the top GiB, where devices live, uncached with PCD).
 * Returns the PML4's physical address (the CR3 value).
 */
export function writeIdentityMap(bus: Bus): number {
  bus.write64(FIRMWARE.PML4, BigInt(FIRMWARE.PDPT) | P | RW);
  for (let g = 0; g < 4; g++) {
    const pd = FIRMWARE.PD + g * 0x1000;
    bus.write64(FIRMWARE.PDPT + 8 * g, BigInt(pd) | P | RW);
    for (let k = 0; k < 512; k++) {
      const pa = BigInt(g) * 0x4000_0000n + BigInt(k) * 0x20_0000n;
      bus.write64(pd + 8 * k, pa | P | RW | PS | (g === 3 ? PCD : 0n));
    }
  }
  return FIRMWARE.PML4;
}

/** With 5-level paging: a PML5 whose entry 0 points to the PML4 of {@link writeIdentityMap}. Returns its address. */
export function writePml5(bus: Bus): number {
  bus.write64(FIRMWARE.PML5, BigInt(FIRMWARE.PML4) | P | RW);
  return FIRMWARE.PML5;
}

/** Writes the boot-info record with its e820 table and SMP block; returns the record's address. */
export function writeBootInfo(bus: Bus, e820: readonly E820Entry[], cpus: BootCpus = { apicIds: [0], mailbox: FIRMWARE.MAILBOX }): number {
  const at = FIRMWARE.BOOT_INFO;
  const table = at + 32;
  if (32 + e820.length * E820_ENTRY_SIZE > BOOT_INFO_SMP) throw new RangeError(`boot info: ${e820.length} e820 entries do not fit before the SMP block`);
  bus.write(at, 4, BOOT_INFO_MAGIC);
  bus.write(at + 4, 4, BOOT_INFO_VERSION);
  bus.write(at + 8, 4, e820.length);
  bus.write(at + 12, 4, E820_ENTRY_SIZE);
  bus.write64(at + 16, BigInt(table));
  bus.write64(at + 24, BigInt(FIRMWARE.GDT));
  e820.forEach((e, i) => {
    const p = table + i * E820_ENTRY_SIZE;
    bus.write64(p, BigInt(e.base));
    bus.write64(p + 8, BigInt(e.size));
    bus.write(p + 16, 4, e.type);
    bus.write(p + 20, 4, 1);
  });
  bus.write(at + BOOT_INFO_SMP, 4, cpus.apicIds.length);
  bus.write(at + BOOT_INFO_SMP + 4, 4, cpus.apicIds[0]!);
  bus.write64(at + BOOT_INFO_SMP + 8, BigInt(cpus.mailbox));
  cpus.apicIds.forEach((id, i) => bus.write(at + BOOT_INFO_APIC_IDS + 4 * i, 4, id));
  return at;
}
