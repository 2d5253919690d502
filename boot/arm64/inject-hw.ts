/**
 * Fault injection's view of an arm64-virt kernel machine (boot/inject-hw.ts). A spurious interrupt
 * is an IRQ exception taken on PE 0 that the GIC did not signal. Memory errors are announced by an
 * SError interrupt (boot/memory-errors.ts, boot/arm64/kernel-boot.ts). With several PEs, TLB faults
 * pick an entry of any PE, spurious interrupts go to PE 0, and IPI faults act on the SGIs the
 * kernel sends through GICD_SGIR, one target PE at a time (boot/ipi-faults.ts): lost, or made
 * pending at the target `ticks` later.
 * @spec Arm ARM (DDI 0487) D1.3 "Asynchronous exception types" (IRQ and SError, masked by PSTATE.I and PSTATE.A)
 * @spec Arm IHI 0048B (GICv2) §4.3.15 GICD_SGIR: a write makes the SGI pending on each target PE;
 *   the specification sets no bound on when that pending state reaches the target's CPU interface
 *   (so a late SGI is behaviour the platform may show), but it never drops one (a lost SGI is not)
 */
import { takeException } from "../../emulator/arch/arm64/exceptions.js";
import { PSR, VECTOR } from "../../emulator/arch/arm64/defs.js";
import type { InjectTarget } from "../inject-hw.js";
import { IpiFaultQueue, type IpiFault } from "../ipi-faults.js";
import { bootKernelArm64, type KernelBootOptions, type KernelMachine } from "./kernel-boot.js";

/** The arm64 target over a booted kernel machine. */
export function arm64InjectTarget(km: KernelMachine): InjectTarget {
  const c = km.cpu;
  const m = km.machine;
  let ipis: IpiFaultQueue | undefined;
  if (km.cpus.length > 1 && km.gic) {
    const q = new IpiFaultQueue((ticks, fn) => m.after(ticks, fn), "cpu");
    q.onFault = (line) => km.kernel.report(line);
    km.gic.sgiRoute = (target, deliver) => q.send(target, deliver);
    ipis = q;
  }
  return {
    arch: "arm64", kernel: km.kernel, bus: m.bus, tlbs: c.tlbs,
    ...(km.cpus.length > 1 ? { processors: km.cpus.map((p) => ({ tlbs: p.tlbs, flushFast: () => p.flushFast() })) } : {}),
    icount: () => m.retired() - m.idleRetired,
    run: (maxInsns) => km.machine.run({ maxInsns }),
    flushFast: () => c.flushFast(),
    spuriousIrq(irq) {
      if (irq === "software" || (c.daif & PSR.I) !== 0) return undefined;
      c.waiting = false;
      takeException(c, VECTOR.IRQ, 0, c.pcLo, c.pcHi, undefined, undefined);
      return "IRQ exception taken with the timer's condition not met";
    },
    reportMemoryError(e) {
      km.reportMemoryError(e);
      return "an SError interrupt";
    },
    ...(ipis ? { armIpiFault: (f: IpiFault) => { ipis.arm(f); return true; } } : {}),
  };
}

/** Boots the kernel on arm64-virt for an injection run. */
export function bootArm64InjectTarget(opts: KernelBootOptions): { target: InjectTarget; km: KernelMachine } {
  const km = bootKernelArm64(opts);
  return { target: arm64InjectTarget(km), km };
}
