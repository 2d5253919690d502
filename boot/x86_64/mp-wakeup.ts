/**
 * Starting application processors on `x86_64-pc`: the ACPI Multiprocessor Wakeup mailbox. The
 * firmware hands off in 64-bit mode, so the APs cannot be started with INIT/SIPI into real mode;
 * instead they wait in the firmware, each checking the shared mailbox, as ACPI 6.4+ specifies for
 * such platforms (and as TDX firmware does).
 *
 * Mailbox (one 4 KiB-aligned 4 KiB page in ACPI NVS memory; its address is in the boot-info record):
 * ```
 *   +0     u16  Command: 0 Noop, 1 Wakeup (others reserved)
 *   +2     u16  reserved
 *   +4     u32  ApicId: the processor the command is for
 *   +8     u64  WakeupVector: where it starts
 *   +16    2032 bytes reserved for the OS
 *   +2048  2048 bytes reserved for the firmware (read-only to the OS)
 * ```
 * The OS writes WakeupVector and ApicId, then Command = 1. The AP whose APIC ID matches reads the
 * vector, clears Command to Noop (the acknowledgement: only then may the OS send the next command)
 * and jumps to the vector in the firmware's execution environment: 64-bit mode, RFLAGS.IF = 0,
 * paging on with the vector identity-mapped (the firmware's map, CR3 as at the BSP's hand-off),
 * flat selectors (the firmware GDT). Other APs ignore a command for another APIC ID.
 *
 * Choices where the spec leaves freedom: an AP here checks the mailbox when its scheduling turn
 * comes (smp.ts), so a wakeup takes effect between slices; it starts with every general register 0
 * (RSP too: the OS must give it a stack) and its local APIC as at reset; a command for an APIC ID
 * that is not waiting (unknown, the BSP, an AP already woken) is never acknowledged — the spec
 * allows each AP to be woken once.
 * @spec ACPI 6.4 §5.2.12.19 "Multiprocessor Wakeup Structure" (MADT type 0x10: mailbox version,
 * mailbox address; the mailbox in ACPI NVS, its OS and firmware halves, the acknowledgement by
 * clearing Command, the execution environment at the vector) and its table "Multiprocessor Wakeup
 * Mailbox Structure" (the field offsets above)
 */
import type { Bus } from "../../emulator/core/memory.js";
import type { X86Cpu } from "../../emulator/arch/x86_64/cpu.js";
import type { X86Machine } from "../../emulator/arch/x86_64/machine.js";

/** Mailbox field offsets. @spec ACPI 6.4 §5.2.12.19, "Multiprocessor Wakeup Mailbox Structure" */
export const MAILBOX = { COMMAND: 0, APIC_ID: 4, WAKEUP_VECTOR: 8, OS_SIZE: 2048, SIZE: 4096 } as const;
/** Mailbox commands. */
export const MP_WAKE = { NOOP: 0, WAKEUP: 1 } as const;

/**
 * Parks every CPU but the first in the firmware, waiting on the mailbox at `mailbox` (cleared
 * here); `enter` puts a released CPU in the hand-off state before it jumps to the vector.
 */
export function parkApplicationProcessors(m: X86Machine, mailbox: number, enter: (c: X86Cpu) => void): void {
  const bus = m.bus;
  bus.fill(mailbox, MAILBOX.SIZE, 0);
  for (const c of m.cpus) {
    if (c.hartId === 0) continue;
    enter(c);
    m.parked[c.hartId] = 1;
  }
  m.onParkedTurn = (c) => {
    const vector = wakeupFor(bus, mailbox, m.lapics[c.hartId]!.id);
    if (vector === undefined) return false;
    enter(c);
    c.setRip(vector);
    m.parked[c.hartId] = 0;
    return true;
  };
}

/** The wakeup vector if the mailbox holds a Wakeup command for `apicId` (acknowledged here), else undefined. */
function wakeupFor(bus: Bus, mailbox: number, apicId: number): bigint | undefined {
  if (!bus.read(mailbox + MAILBOX.COMMAND, 2) || bus.lo !== MP_WAKE.WAKEUP) return undefined;
  if (!bus.read(mailbox + MAILBOX.APIC_ID, 4) || bus.lo >>> 0 !== apicId) return undefined;
  const vector = bus.read64(mailbox + MAILBOX.WAKEUP_VECTOR) ?? 0n;
  bus.write(mailbox + MAILBOX.COMMAND, 2, MP_WAKE.NOOP);
  return vector;
}
