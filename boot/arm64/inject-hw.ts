/**
 * Fault injection's view of an arm64-virt kernel machine (boot/inject-hw.ts). The kernel boots
 * without the GIC, so the generic timer drives the core's IRQ input: a spurious interrupt is the
 * IRQ exception taken while the timer's condition is not met. Memory errors are announced by an
 * SError interrupt (boot/memory-errors.ts, boot/arm64/kernel-boot.ts).
 * @spec Arm ARM (DDI 0487) D1.3 "Asynchronous exception types" (IRQ and SError, masked by PSTATE.I and PSTATE.A)
 */
import { takeException } from "../../emulator/arch/arm64/exceptions.js";
import { PSR, VECTOR } from "../../emulator/arch/arm64/defs.js";
import type { InjectTarget } from "../inject-hw.js";
import { bootKernelArm64, type KernelBootOptions, type KernelMachine } from "./kernel-boot.js";

/** The arm64 target over a booted kernel machine. */
export function arm64InjectTarget(km: KernelMachine): InjectTarget {
  const c = km.cpu;
  return {
    arch: "arm64", kernel: km.kernel, bus: km.machine.bus, tlbs: c.tlbs,
    icount: () => c.icount,
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
  };
}

/** Boots the kernel on arm64-virt for an injection run. */
export function bootArm64InjectTarget(opts: KernelBootOptions): { target: InjectTarget; km: KernelMachine } {
  const km = bootKernelArm64(opts);
  return { target: arm64InjectTarget(km), km };
}
