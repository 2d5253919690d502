/**
 * The kernel on several CPUs of arm64-virt, what is arm64's own (the shared checks are in
 * kernel-smp-all.test.ts): secondary CPUs started with PSCI CPU_ON, one run queue
 * served by every CPU, idle CPUs woken by SGIs through the GICv2, TLB shootdown by the Inner
 * Shareable TLBI forms, ASID rollover with CPUs running, and a process ended by another CPU.
 * @spec Arm DEN0022 (PSCI) §5.1.4 CPU_ON; Arm IHI 0048B (GICv2) §4.3.15 GICD_SGIR, §4.4.4 GICC_IAR
 * @spec Arm ARM D8.17 "TLB maintenance instructions": a local TLBI affects only the executing PE,
 *   so a change other PEs may cache needs the IS form (complete at the issuer's DSB ISH)
 */
import { describe, expect, it } from "vitest";
import { MIGRATING_FORKS_ARM64 } from "./support/smp-programs-arm64.js";
import { runKernelArm64 } from "./support/run-kernel-arm64.js";
import { readSysreg, REG } from "../emulator/arch/arm64/sysregs.js";

describe("the kernel on several arm64 CPUs", () => {
  it("each of 4 CPUs holds its kernel index in TPIDR_EL1 (set at bring-up), and the run is right", () => {
    const r = runKernelArm64(MIGRATING_FORKS_ARM64(), { cpus: 4, strictTlb: true });
    expect([r.stdout, r.exitCode, r.strict]).toEqual(["ok\n", 0, []]);
    expect(r.km.cpus.map((c) => readSysreg(c, REG.TPIDR_EL1))).toEqual(r.km.cpus.map((c) => BigInt(c.index)));
  });
});
