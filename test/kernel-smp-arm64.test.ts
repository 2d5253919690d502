/**
 * The kernel on several CPUs of arm64-virt: secondary CPUs started with PSCI CPU_ON, one run queue
 * served by every CPU, idle CPUs woken by SGIs through the GICv2, TLB shootdown by the Inner
 * Shareable TLBI forms, ASID rollover with CPUs running, and a process ended by another CPU.
 * @spec Arm DEN0022 (PSCI) §5.1.4 CPU_ON; Arm IHI 0048B (GICv2) §4.3.15 GICD_SGIR, §4.4.4 GICC_IAR
 * @spec Arm ARM D8.17 "TLB maintenance instructions": a local TLBI affects only the executing PE,
 *   so a change other PEs may cache needs the IS form (complete at the issuer's DSB ISH)
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { KILL_RUNNING_ARM64, MIGRATING_FORKS_ARM64, SLEEPERS_ARM64 } from "./support/smp-programs-arm64.js";
import { runKernelArm64, type Arm64RunOptions } from "./support/run-kernel-arm64.js";
import { expectFullReclaim } from "./support/run-kernel.js";
import { readSysreg, REG } from "../emulator/arch/arm64/sysregs.js";

const run = (program: string, opts: Arm64RunOptions) => runKernelArm64(program, opts);

describe("the kernel on several arm64 CPUs", () => {
  const program = MIGRATING_FORKS_ARM64();

  it.each([1, 2, 4])("migrating forks print the same with %i CPU(s), reclaim everything, and use no stale TLB entry", (cpus) => {
    const r = run(program, { cpus, strictTlb: true });
    expect([r.stdout, r.exitCode, r.strict]).toEqual(["ok\n", 0, []]);
    expectFullReclaim(r);
    const k = r.km.kernel;
    expect(k.cpus.count).toBe(cpus);
    // Every CPU ran user processes.
    for (const c of k.cpus.list) expect(c.stats.resumes).toBeGreaterThan(0);
    if (cpus > 1) {
      expect(r.log.filter((l) => / online$/.test(l))).toEqual(k.cpus.list.slice(1).map((c) => `kernel: cpu ${c.index} (hardware id ${c.index}) online`));
      // Each CPU holds its kernel index in TPIDR_EL1 (set at bring-up) and has its own TTBR0_EL1.
      expect(r.km.cpus.map((c) => readSysreg(c, REG.TPIDR_EL1))).toEqual(r.km.cpus.map((c) => BigInt(c.index)));
    }
    if (cpus === 2) {
      // Four processes on two CPUs keep moving: fork's write-protection had to reach the other CPU
      // (a broadcast TLBI VAE1IS for each change; no request waits for an acknowledgement).
      expect(k.shootdown!.stats.ranges).toBeGreaterThan(0);
      expect(k.shootdown!.stats.targets).toBe(k.shootdown!.stats.requests);
      expect(k.shootdown!.stats.deferred).toBe(0);
    }
    if (cpus === 1) {
      expect(k.shootdown).toBeUndefined();
    }
  });

  it.each([1, 7, 42])("a seeded random interleaving of 4 CPUs (seed %i) gives the same output, with 4-bit ASIDs (rollovers) and short slices", (seed) => {
    const r = run(program, { cpus: 4, strictTlb: true, schedule: { seed, quantum: 300 }, asidBits: 4, timeslice: 500 });
    expect([r.stdout, r.exitCode, r.strict]).toEqual(["ok\n", 0, []]);
    expectFullReclaim(r);
    expect(r.km.kernel.asids!.stats.rollovers).toBeGreaterThan(0);
  });

  it("with too few ASIDs for 4 CPUs (3 bits) the kernel runs without them, flushing at each switch, and stays right", () => {
    const r = run(program, { cpus: 4, strictTlb: true, asidBits: 3, schedule: { seed: 3, quantum: 300 }, timeslice: 500 });
    expect([r.stdout, r.exitCode, r.strict]).toEqual(["ok\n", 0, []]);
    expect(r.log).toContain("kernel: 3 ASID bits are too few for 4 CPUs; ASIDs off, the TLB is flushed at every address-space switch");
    expect(r.km.kernel.asids).toBeUndefined();
    expectFullReclaim(r);
  });

  it("the same seed gives the same run", () => {
    const a = run(program, { cpus: 3, schedule: { seed: 5 } });
    const b = run(program, { cpus: 3, schedule: { seed: 5 } });
    expect(b.icount).toBe(a.icount);
    expect(b.km.kernel.cpus.list.map((c) => c.stats)).toEqual(a.km.kernel.cpus.list.map((c) => c.stats));
  });

  it.each([1, 2, 4])("a process spinning on another CPU is killed there (an SGI), and its parent reaps status 9 (%i CPUs)", (cpus) => {
    const r = run(KILL_RUNNING_ARM64, { cpus, strictTlb: true });
    expect([r.stdout, r.exitCode, r.strict]).toEqual(["ok\n", 0, []]);
    expectFullReclaim(r);
    const stats = r.km.kernel.cpus.list.map((c) => c.stats);
    // With several CPUs the child was running elsewhere: ended there, in its IPI handler.
    expect(stats.reduce((n, s) => n + s.remoteExits, 0)).toBe(cpus > 1 ? 1 : 0);
    if (cpus > 1) expect(stats.reduce((n, s) => n + s.ipis, 0)).toBeGreaterThan(0);
  });

  it("sleepers wake in deadline order on any number of CPUs; idle CPUs wait with their timer armed", () => {
    for (const cpus of [1, 2, 4]) {
      const r = run(SLEEPERS_ARM64, { cpus, strictTlb: true });
      expect([r.stdout, r.exitCode, r.strict]).toEqual(["child 3\nchild 2\nchild 1\ndone\n", 0, []]);
      expectFullReclaim(r);
    }
  });

  const examples = ["kernel/hello-arm64.S", ...["demand-zero", "fork-cow", "remap-zero", "segfault", "write-efault"].map((n) => `scenarios/${n}-arm64.S`)];
  it.each(examples)("examples/%s prints the same and exits the same with 1 and 4 CPUs", (name) => {
    const source = readFileSync(new URL(`../examples/${name}`, import.meta.url), "utf8");
    const [one, four] = [1, 4].map((cpus) => run(source, { cpus, strictTlb: true }));
    expect([four!.stdout, four!.exitCode, four!.strict]).toEqual([one!.stdout, one!.exitCode, []]);
    expect(four!.log.filter((l) => !l.endsWith(" online"))).toEqual(one!.log);
    expectFullReclaim(four!);
  });
});
