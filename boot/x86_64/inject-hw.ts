/**
 * Fault injection's view of an x86_64-pc kernel machine (boot/inject-hw.ts): a spurious interrupt
 * is the local APIC timer's vector delivered as an external interrupt the APIC never raised (when
 * RFLAGS.IF allows one); memory errors are announced by a machine check (boot/memory-errors.ts,
 * X86Cpu.machineCheck).
 * @spec Intel SDM Vol. 3A §6.3 (sources of interrupts), §6.8.1 (masking maskable interrupts: IF, the STI/MOV SS shadow)
 */
import { TIMER_VECTOR } from "../../kernel/arch/x86_64/kernel-arch.js";
import { RFLAGS } from "../../emulator/arch/x86_64/defs.js";
import { deliver } from "../../emulator/arch/x86_64/trap.js";
import type { InjectTarget } from "../inject-hw.js";
import { bootKernelX86, type KernelBootOptions, type KernelMachine } from "./kernel-boot.js";

/** The x86_64 target over a booted kernel machine. */
export function x86InjectTarget(km: KernelMachine): InjectTarget {
  const c = km.cpu;
  return {
    arch: "x86_64", kernel: km.kernel, bus: km.machine.bus, tlbs: c.tlbs,
    icount: () => c.icount,
    run: (maxInsns) => km.machine.run({ maxInsns }),
    flushFast: () => c.flushFast(),
    spuriousIrq(irq) {
      if (irq === "software" || (c.rflags & RFLAGS.IF) === 0 || c.icount < c.shadowUntil) return undefined;
      c.halted = false;
      deliver(c, TIMER_VECTOR, 0, true, c.ripLo, c.ripHi);
      return `vector ${TIMER_VECTOR} delivered without the local APIC raising it`;
    },
    reportMemoryError(e) {
      km.reportMemoryError(e);
      return "a machine check (#MC)";
    },
  };
}

/** Boots the kernel on x86_64-pc for an injection run. */
export function bootX86InjectTarget(opts: KernelBootOptions): { target: InjectTarget; km: KernelMachine } {
  const km = bootKernelX86(opts);
  return { target: x86InjectTarget(km), km };
}
