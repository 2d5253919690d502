/**
 * Fault injection's view of a riscv64-virt kernel machine (boot/inject-hw.ts): interrupts are
 * raised in `sip`, memory errors go through the HAL's queue and the supervisor external interrupt
 * (boot/riscv64/kernel-hal.ts), and IPI faults are armed in the SMP firmware. With several harts,
 * TLB faults pick an entry of any hart; spurious interrupts go to hart 0.
 */
import { IRQ } from "../../emulator/arch/riscv64/defs.js";
import type { InjectTarget } from "../inject-hw.js";
import type { IpiFault } from "../ipi-faults.js";
import { bootKernel, type KernelBootOptions, type KernelMachine } from "./kernel-boot.js";
import type { RiscvHal } from "./kernel-hal.js";

/** The riscv64 target over a booted kernel machine. */
export function riscvInjectTarget(km: KernelMachine): InjectTarget {
  const harts = km.machine.harts;
  const hart = harts[0]!;
  if (km.sbi) km.sbi.onFault = (line) => km.kernel.report(line);
  const sbi = km.sbi;
  return {
    arch: "riscv64", kernel: km.kernel, bus: km.machine.bus, tlbs: hart.tlbs,
    ...(harts.length > 1 ? { processors: harts.map((h) => ({ tlbs: h.tlbs, flushFast: () => h.flushFast() })) } : {}),
    icount: () => km.machine.retired() - km.machine.idleRetired,
    run: (maxInsns) => km.machine.run({ maxInsns }),
    flushFast: () => hart.flushFast(),
    spuriousIrq(irq) {
      const bit = irq === "timer" ? IRQ.STI : IRQ.SSI;
      hart.mipSoft |= 1 << bit;
      hart.interruptsChanged();
      return `sip.${bit === IRQ.STI ? "STIP" : "SSIP"} raised`;
    },
    reportMemoryError(e) {
      (km.kernel.hal as RiscvHal).reportMemoryError(e);
      return "the supervisor external interrupt";
    },
    ...(sbi ? { armIpiFault: (f: IpiFault) => { sbi.armIpiFault(f); return true; } } : {}),
  };
}

/** Boots the kernel on riscv64-virt for an injection run. */
export function bootRiscvInjectTarget(opts: KernelBootOptions): { target: InjectTarget; km: KernelMachine } {
  const km = bootKernel(opts);
  return { target: riscvInjectTarget(km), km };
}
