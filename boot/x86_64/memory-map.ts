/**
 * The `x86_64-pc` physical memory map: RAM with the PC's legacy holes, the firmware's reserved area,
 * the local APIC, and the e820 table describing them (ACPI 3.0 entry format).
 *
 * ```
 *   0x0000_0000 .. 0x0000_1000   RAM, usable (real-mode IVT page; nothing uses it here)
 *   0x0000_1000 .. 0x0000_A000   RAM, reserved: firmware GDT, boot info + e820 table, page tables
 *   0x0000_A000 .. 0x0000_B000   RAM, ACPI NVS: the multiprocessor wakeup mailbox (mp-wakeup.ts)
 *   0x0000_B000 .. 0x0002_0000   RAM, reserved: the entry stack
 *   0x0002_0000 .. 0x0009_FC00   RAM, usable
 *   0x0009_FC00 .. 0x000A_0000   RAM, reserved (EBDA)
 *   0x000A_0000 .. 0x000F_0000   hole (VGA window, option ROMs): no RAM
 *   0x000F_0000 .. 0x0010_0000   reserved (system BIOS area; no RAM behind it here)
 *   0x0010_0000 .. low top       RAM, usable (low top = min(RAM size, 3 GiB))
 *   0xFEE0_0000 .. +4 KiB        local APIC, reserved
 *   0x1_0000_0000 .. +rest       RAM above 4 GiB, usable (RAM size beyond 3 GiB)
 * ```
 * @spec ACPI 6.x §15 "System Address Map Interfaces" (E820 types); QEMU hw/i386/pc.c (holes, 3 GiB split);
 * ACPI 6.4 §5.2.12.19 (the wakeup mailbox is a 4 KiB-aligned 4 KiB page of ACPI NVS memory)
 */
import { LAPIC_BASE, LAPIC_SIZE } from "../../emulator/devices/lapic.js";

/** E820 range types. @spec ACPI §15.1 Table 15.1 */
export const E820 = { USABLE: 1, RESERVED: 2, ACPI: 3, NVS: 4, UNUSABLE: 5 } as const;

/** One e820 entry. */
export interface E820Entry {
  base: number;
  size: number;
  type: number;
}

/** Firmware data inside its reserved area: GDT, boot info, page tables (PML4, PDPT, 4 PDs, PML5 with LA57), stack top. */
export const FIRMWARE = {
  BASE: 0x1000,
  END: 0x20000,
  GDT: 0x1000,
  BOOT_INFO: 0x2000,
  PML4: 0x3000,
  PDPT: 0x4000,
  PD: 0x5000,
  /** With 5-level paging: the PML5, whose entry 0 points to the PML4. */
  PML5: 0x9000,
  /** The multiprocessor wakeup mailbox (ACPI NVS in the e820 map). */
  MAILBOX: 0xa000,
  STACK_TOP: 0x20000,
} as const;

/** Legacy PC addresses. */
export const EBDA_BASE = 0x9fc00, LOW_RAM_END = 0xa0000, BIOS_BASE = 0xf0000, HIGH_RAM_BASE = 0x100000;
/** RAM below 4 GiB ends at 3 GiB at most (the PCI hole above it); the rest starts at 4 GiB. */
export const LOW_TOP_MAX = 0xc0000000, ABOVE_4G = 0x1_0000_0000;

/** The RAM ranges on the bus for `ramSize` bytes of RAM (the legacy hole takes no RAM away from it). */
export function ramRanges(ramSize: number): { name: string; base: number; size: number }[] {
  const lowTop = Math.min(ramSize, LOW_TOP_MAX);
  const out = [
    { name: "ram-low", base: 0, size: LOW_RAM_END },
    { name: "ram", base: HIGH_RAM_BASE, size: lowTop - HIGH_RAM_BASE },
  ];
  if (ramSize > LOW_TOP_MAX) out.push({ name: "ram-high", base: ABOVE_4G, size: ramSize - LOW_TOP_MAX });
  return out;
}

/** The e820 table for `ramSize` bytes of RAM, sorted by base. */
export function e820Map(ramSize: number): E820Entry[] {
  const lowTop = Math.min(ramSize, LOW_TOP_MAX);
  const m: E820Entry[] = [
    { base: 0, size: FIRMWARE.BASE, type: E820.USABLE },
    { base: FIRMWARE.BASE, size: FIRMWARE.MAILBOX - FIRMWARE.BASE, type: E820.RESERVED },
    { base: FIRMWARE.MAILBOX, size: 0x1000, type: E820.NVS },
    { base: FIRMWARE.MAILBOX + 0x1000, size: FIRMWARE.END - FIRMWARE.MAILBOX - 0x1000, type: E820.RESERVED },
    { base: FIRMWARE.END, size: EBDA_BASE - FIRMWARE.END, type: E820.USABLE },
    { base: EBDA_BASE, size: LOW_RAM_END - EBDA_BASE, type: E820.RESERVED },
    { base: BIOS_BASE, size: HIGH_RAM_BASE - BIOS_BASE, type: E820.RESERVED },
    { base: HIGH_RAM_BASE, size: lowTop - HIGH_RAM_BASE, type: E820.USABLE },
    { base: LAPIC_BASE, size: LAPIC_SIZE, type: E820.RESERVED },
  ];
  if (ramSize > LOW_TOP_MAX) m.push({ base: ABOVE_4G, size: ramSize - LOW_TOP_MAX, type: E820.USABLE });
  return m;
}
