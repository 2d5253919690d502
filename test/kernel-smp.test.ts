/**
 * The kernel on several harts, what is riscv64's own: ASIDs the harts implement (ASIDLEN) too few
 * for the harts, and late and lost SBI IPIs. What every architecture shares (migrating forks,
 * rollovers, kills on another CPU, sleepers, examples on 1 and 4 CPUs) is kernel-smp-all.test.ts.
 * @spec RISC-V SBI v2.0 §7 (IPI), §8 (RFENCE), §9 (HSM)
 * @spec RV-S §"Supervisor Memory-Management Fence Instruction": a fence orders only the hart that
 * executes it, so changes must reach other harts' TLBs by their own fences
 */
import { describe, expect, it } from "vitest";
import { KILL_RUNNING, MIGRATING_FORKS } from "./support/smp-programs.js";
import { expectFullReclaim, runKernel, type KernelRun, type RunKernelOptions } from "./support/run-kernel.js";
import { formatStaleTlbReport } from "../emulator/arch/riscv64/stale-tlb.js";
import { bootKernel } from "../boot/riscv64/kernel-boot.js";
import { assembleRiscv64 } from "../tools/asm/riscv64/index.js";

function run(program: string, opts: RunKernelOptions): KernelRun & { stale: string[] } {
  const stale: string[] = [];
  const r = runKernel(program, { ...opts, onStaleTlb: (rep) => { if (stale.length < 20) stale.push(formatStaleTlbReport(rep)); } });
  return { ...r, stale };
}

describe("the kernel on several harts", () => {
  const program = MIGRATING_FORKS();

  it("with too few ASIDs for 4 harts (2 bits in the hardware) the kernel runs without them, flushing at each switch, and stays right", () => {
    const r = run(program, { harts: 4, strictTlb: true, hartAsidBits: 2, schedule: { seed: 3, quantum: 300 }, timeslice: 500 });
    expect([r.stdout, r.exitCode, r.stale]).toEqual(["ok\n", 0, []]);
    expect(r.log).toContain("kernel: 2 ASID bits are too few for 4 CPUs; ASIDs off, the TLB is flushed at every address-space switch");
    expect(r.km.kernel.asids).toBeUndefined();
    expectFullReclaim(r);
  });

  it("a late IPI only delays the kill; a lost one leaves the victim spinning, a hang the instruction bound ends", () => {
    const elf = assembleRiscv64(KILL_RUNNING).elf;
    const outcome = (fault: { mode: "lose" } | { mode: "delay"; ticks: number }) => {
      let out = "";
      const km = bootKernel({ program: elf, args: ["kill"], harts: 2, console: (b) => { out += String.fromCharCode(b); } });
      const k = km.kernel;
      // Arm the fault for the kill's IPI: the first IPI sent after the victim runs on the other hart.
      const exit = k.exit.bind(k);
      k.exit = (p, how) => {
        if (k.procs.cpuOf(p) !== undefined && k.procs.cpuOf(p) !== k.cpus.self) km.sbi!.armIpiFault(fault);
        exit(p, how);
      };
      const r = km.machine.run({ maxInsns: 3_000_000 });
      return [out, r.reason, r.exitCode];
    };
    expect(outcome({ mode: "delay", ticks: 50_000 })).toEqual(["ok\n", "pass", 0]);
    expect(outcome({ mode: "lose" })).toEqual(["", "max-insns", 124]);
  });
});
