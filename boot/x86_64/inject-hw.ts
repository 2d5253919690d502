/**
 * Fault injection's view of an x86_64-pc kernel machine (boot/inject-hw.ts): a spurious interrupt
 * is the local APIC timer's vector delivered as an external interrupt the APIC never raised (when
 * RFLAGS.IF allows one); memory errors are announced by a machine check (boot/memory-errors.ts,
 * X86Cpu.machineCheck). With several CPUs, TLB faults pick an entry of any CPU, spurious interrupts
 * go to CPU 0, and IPI faults act on the fixed IPIs the kernel writes to its local APIC's ICR, one
 * destination at a time (boot/ipi-faults.ts): lost, or set in the destination's IRR `ticks` later.
 * @spec Intel SDM Vol. 3A §6.3 (sources of interrupts), §6.8.1 (masking maskable interrupts: IF, the STI/MOV SS shadow)
 * @spec Intel SDM Vol. 3A §11.6.1 "Interrupt Command Register (ICR)": the delivery status bit reads
 *   "send pending" until the IPI is accepted, with no bound on how long that takes (a late IPI is
 *   behaviour the platform may show); a fixed IPI written there is delivered (a lost one is not)
 */
import { TIMER_VECTOR } from "../../kernel/arch/x86_64/kernel-arch.js";
import { RFLAGS } from "../../emulator/arch/x86_64/defs.js";
import { deliver } from "../../emulator/arch/x86_64/trap.js";
import type { InjectTarget } from "../inject-hw.js";
import { IpiFaultQueue, type IpiFault } from "../ipi-faults.js";
import { bootKernelX86, type KernelBootOptions, type KernelMachine } from "./kernel-boot.js";

/** The x86_64 target over a booted kernel machine. */
export function x86InjectTarget(km: KernelMachine): InjectTarget {
  const c = km.cpu;
  const m = km.machine;
  let ipis: IpiFaultQueue | undefined;
  if (km.cpus.length > 1) {
    const q = new IpiFaultQueue((ticks, fn) => m.after(ticks, fn), "cpu");
    q.onFault = (line) => km.kernel.report(line);
    for (const a of m.lapics) a.ipiRoute = (to, deliver) => q.send(to.id, deliver);
    ipis = q;
  }
  return {
    arch: "x86_64", kernel: km.kernel, bus: m.bus, tlbs: c.tlbs,
    ...(km.cpus.length > 1 ? { processors: km.cpus.map((p) => ({ tlbs: p.tlbs, flushFast: () => p.flushFast() })) } : {}),
    icount: () => m.retired() - m.idleRetired,
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
    ...(ipis ? { armIpiFault: (f: IpiFault) => { ipis.arm(f); return true; } } : {}),
  };
}

/** Boots the kernel on x86_64-pc for an injection run. */
export function bootX86InjectTarget(opts: KernelBootOptions): { target: InjectTarget; km: KernelMachine } {
  const km = bootKernelX86(opts);
  return { target: x86InjectTarget(km), km };
}
