/**
 * The platform's memory-error records, firmware-first: a queue of {@link MemoryError} records (what
 * ACPI APEI's GHES error status blocks hand to Linux's memory_failure()) and the architecture's own
 * notification that there is something to read. Fault injection (boot/inject-hw.ts) reports an
 * error; the kernel's memory-error trap takes the records (Hal.takeMemoryErrors).
 *
 * | machine | notification (ACPI "Hardware Error Notification" type) |
 * |---|---|
 * | riscv64-virt | supervisor external interrupt (External Interrupt), boot/riscv64/kernel-hal.ts |
 * | arm64-virt | SError interrupt, ESR_EL1.AET = UEO (uncorrected) or CE (corrected) (ARMv8 SEI) |
 * | x86_64-pc | machine check, #MC (MCE) |
 * @spec ACPI 6.5 §18.3.2.7 "Hardware Error Notification" (its Type field: External Interrupt, MCE, ARMv8 SEI)
 */
import type { MemoryError } from "../kernel/hal.js";

/** A platform's error records and its notification. */
export interface MemoryErrorSource {
  /** The platform side: queues `e` and raises the notification. */
  report(e: MemoryError): void;
  /** The kernel side (Hal.takeMemoryErrors): every queued record, oldest first, emptying the queue. */
  take(): MemoryError[];
}

/**
 * A queue whose `report` calls `notify` when it queues a record into an empty queue: one
 * notification stands for every record queued until the kernel takes them, as one GHES
 * notification announces an error status block however many errors it holds. A second x86_64 #MC
 * raised before the first is handled would be a machine check during a machine check
 * (MCG_STATUS.MCIP set: a shutdown), which the platform, not the kernel, must avoid.
 * @spec Intel SDM Vol. 3B "Machine-Check Architecture", IA32_MCG_STATUS (MCIP: a machine check while it is set shuts the processor down)
 */
export function memoryErrorSource(notify: (e: MemoryError) => void): MemoryErrorSource {
  const queue: MemoryError[] = [];
  return {
    report(e) {
      queue.push(e);
      if (queue.length === 1) notify(e);
    },
    take: () => queue.splice(0),
  };
}
