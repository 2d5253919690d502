/**
 * The x86_64 kernel on several CPUs: the per-CPU index in IA32_TSC_AUX, application processors
 * started through the ACPI multiprocessor wakeup mailbox, and fixed IPIs through the local APIC's
 * ICR, which also carry TLB shootdowns (the kernel-neutral Shootdown queues each target's
 * invalidations; the target carries them out at its next kernel entry, the IPI's at the latest).
 *
 * The CPU index lives in IA32_TSC_AUX, as Linux keeps the CPU number there for RDTSCP/RDPID
 * (arch/x86/kernel/cpu/common.c, setup_getcpu): an MSR each CPU has for itself, set once at bring-up,
 * read with one RDMSR and no memory access (the APIC ID register would need a table from APIC ID
 * to index and an MMIO load; GS base is the user's while a process runs, as this kernel's native
 * entries do no SWAPGS).
 * @spec Intel SDM Vol. 4 (MSR index) IA32_TSC_AUX (C000_0103H); Vol. 2B "RDTSCP"
 * @spec ACPI 6.4 §5.2.12.19 "Multiprocessor Wakeup Structure" and its "Multiprocessor Wakeup
 *       Mailbox Structure": the OS writes WakeupVector and ApicId, then Command = 1 (Wakeup), and
 *       waits until the AP clears Command; the 2048 bytes at offset 16 are the OS's
 * @spec Intel SDM Vol. 3A §11.6.1 (ICR, Figure 11-12: fixed delivery mode, physical destination,
 *       no shorthand), §11.8.5 (EOI), §11.9 (spurious vector in SVR), §4.10.5 (TLB shootdown by IPI)
 */
import type { KernelSmp } from "../arch.js";
import type { X86Cpu } from "./cpu.js";

/** Local APIC register offsets in its 4 KiB page. @spec SDM Vol. 3A Table 11-1 */
export const APIC = { ID: 0x20, EOI: 0xb0, SVR: 0xf0, ICR_LO: 0x300, ICR_HI: 0x310 } as const;
/** SVR bit 8: APIC software enable. @spec SDM Vol. 3A Figure 11-23 */
const SVR_ENABLE = 1 << 8;
/** ICR: bit 14 level = assert (required for every mode but INIT de-assert); delivery mode fixed (000), physical, no shorthand. */
const ICR_ASSERT = 1 << 14;

/**
 * The vector of this kernel's IPI (kicks and shootdowns alike): Linux's CALL_FUNCTION_VECTOR
 * (arch/x86/include/asm/irq_vectors.h), in the highest priority class, above the timer's.
 */
export const IPI_VECTOR = 0xfc;
/** The spurious-interrupt vector programmed in SVR (Linux's SPURIOUS_APIC_VECTOR); its handler returns without EOI. */
export const SPURIOUS_VECTOR = 0xff;
/** IA32_TSC_AUX. */
export const IA32_TSC_AUX = 0xc000_0103;

/** The wakeup mailbox's fields. @spec ACPI 6.4 §5.2.12.19 "Multiprocessor Wakeup Mailbox Structure" */
export const WAKEUP_MAILBOX = {
  COMMAND: 0, APIC_ID: 4, WAKEUP_VECTOR: 8,
  /** The OS's part (2032 bytes from offset 16): here, the argument of each AP, 8 bytes per APIC ID. */
  OS_ARGS: 16,
  WAKEUP: 1,
} as const;
/** APIC IDs whose argument fits the OS's part of the mailbox. */
export const MAILBOX_ARG_SLOTS = 254;

/** Physical memory, as the wakeup mailbox needs it. */
export interface MailboxMemory {
  read32(pa: number): number;
  write32(pa: number, v: number): void;
  write64(pa: number, v: bigint): void;
}

/** Waits this many PAUSEs for an AP's acknowledgement before reporting that it did not start. */
const WAKE_TRIES = 64;

/** The physical address of the argument the AP with APIC ID `apicId` reads at its entry. */
export const mailboxArg = (mailbox: number, apicId: number): number => mailbox + WAKEUP_MAILBOX.OS_ARGS + 8 * apicId;

/** KernelSmp over the local APIC and the wakeup mailbox at physical address `mailbox`. */
export function x86Smp(cpu: X86Cpu, mem: MailboxMemory, mailbox: number): KernelSmp {
  const sendIpi = (apicIds: readonly number[]): void => {
    for (const id of apicIds) {
      cpu.lapicWrite(APIC.ICR_HI, id << 24);
      cpu.lapicWrite(APIC.ICR_LO, ICR_ASSERT | IPI_VECTOR);
    }
  };
  return {
    cpuIndex: () => Number(cpu.rdmsr(IA32_TSC_AUX)),
    setCpuIndex: (i) => cpu.wrmsr(IA32_TSC_AUX, BigInt(i)),
    /**
     * As Linux's acpi_wakeup_cpu (arch/x86/kernel/acpi/madt_wakeup.c): the argument in the OS's
     * part of the mailbox, WakeupVector and ApicId, then Command; then wait for the acknowledgement,
     * since the mailbox takes one command at a time. False if the AP never acknowledges.
     */
    startCpu: (apicId, entryPa, opaque) => {
      if (apicId >= MAILBOX_ARG_SLOTS) return false;
      mem.write64(mailboxArg(mailbox, apicId), BigInt(opaque));
      mem.write64(mailbox + WAKEUP_MAILBOX.WAKEUP_VECTOR, BigInt(entryPa));
      mem.write32(mailbox + WAKEUP_MAILBOX.APIC_ID, apicId);
      mem.write32(mailbox + WAKEUP_MAILBOX.COMMAND, WAKEUP_MAILBOX.WAKEUP);
      for (let i = 0; i < WAKE_TRIES; i++) {
        cpu.relax();
        if ((mem.read32(mailbox + WAKEUP_MAILBOX.COMMAND) & 0xffff) === 0) return true;
      }
      return false;
    },
    /** Software-enables the APIC (SVR bit 8, spurious vector 0xFF): fixed IPIs are then accepted and taken. */
    enableIpi: () => cpu.lapicWrite(APIC.SVR, SVR_ENABLE | SPURIOUS_VECTOR),
    sendIpi,
    ackIpi: () => cpu.lapicWrite(APIC.EOI, 0),
    remoteTlb: { kind: "ipi", send: sendIpi },
  };
}
