/**
 * The kernel on several CPUs, stated once and run on riscv64, arm64 and x86_64: processes that fork
 * while migrating between CPUs, seeded interleavings with ASID rollovers, too few ASIDs, the same
 * seed giving the same run, a process killed on another CPU, sleepers, and example programs giving
 * the same output on 1 and 4 CPUs. Strict TLB mode checks every TLB hit against a fresh walk (arm64:
 * also break-before-make), so a missing shootdown would show as a report. Each architecture's own
 * mechanism (SBI, PSCI + GIC + TLBI IS, ACPI mailbox + APIC IPIs) is checked in its own file:
 * kernel-smp.test.ts, kernel-smp-arm64.test.ts, kernel-x86_64-smp.test.ts.
 * @spec RISC-V SBI v2.0 §7-§9; Arm ARM D8.17 (TLBI ...IS); Intel SDM Vol. 3A §4.10.5 (shootdown by IPI)
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import type { Kernel } from "../kernel/kernel.js";
import type { ScheduleOptions } from "../emulator/core/schedule.js";
import { formatStaleTlbReport } from "../emulator/arch/riscv64/stale-tlb.js";
import { formatX86StaleTlbReport } from "../emulator/arch/x86_64/tlb-stale.js";
import { expectFullReclaim, runKernel, type ReclaimRun } from "./support/run-kernel.js";
import { runKernelArm64 } from "./support/run-kernel-arm64.js";
import { runKernelX86 } from "./support/run-kernel-x86.js";
import { KILL_RUNNING, MIGRATING_FORKS, SLEEPERS } from "./support/smp-programs.js";
import { KILL_RUNNING_ARM64, MIGRATING_FORKS_ARM64, SLEEPERS_ARM64 } from "./support/smp-programs-arm64.js";
import { KILL_RUNNING_X86, MIGRATING_FORKS_X86, SLEEPERS_X86 } from "./support/smp-programs-x86_64.js";

interface RunOptions {
  cpus: number;
  strictTlb?: boolean;
  schedule?: ScheduleOptions;
  /** The most ASID (PCID) bits the kernel may use. */
  asidBits?: number;
  timeslice?: number;
}

/** What every architecture's run gives: output, status, log, strict-TLB reports, the kernel. */
interface SmpRun extends ReclaimRun {
  stdout: string;
  exitCode: number;
  icount: number;
  log: string[];
  strict: string[];
  km: { kernel: Kernel };
}

interface SmpArch {
  arch: string;
  run(program: string, o: RunOptions): SmpRun;
  migrating: string;
  kill: string;
  sleepers: string;
  /** Programs (paths under examples/) that must print, log and exit the same on 1 and 4 CPUs. */
  examples: string[];
  /** What the first shootdowns of a 2-CPU migrating run must show (the mechanism's signature). */
  shootdownOnTwo(k: Kernel): void;
}

const SCENARIOS = ["demand-zero", "fork-cow", "fork-exec", "remap-zero", "segfault", "write-efault"];

function collect<R>(format: (r: R) => string): { push: (r: R) => void; lines: string[] } {
  const lines: string[] = [];
  return { lines, push: (r) => { if (lines.length < 20) lines.push(format(r)); } };
}

const ARCHES: SmpArch[] = [
  {
    arch: "riscv64",
    run: (program, o) => {
      const stale = collect(formatStaleTlbReport);
      const r = runKernel(program, { harts: o.cpus, strictTlb: o.strictTlb, schedule: o.schedule, asidBits: o.asidBits, timeslice: o.timeslice, onStaleTlb: stale.push });
      return { ...r, strict: stale.lines };
    },
    migrating: MIGRATING_FORKS(), kill: KILL_RUNNING, sleepers: SLEEPERS,
    examples: [...["hello", "mmap", "brk", "fork", "errors"].map((n) => `kernel/${n}.S`), ...SCENARIOS.map((n) => `scenarios/${n}.S`)],
    // An SBI remote fence per change another hart may cache, performed before the call returns.
    shootdownOnTwo: (k) => expect(k.shootdown!.stats.targets).toBe(k.shootdown!.stats.requests),
  },
  {
    arch: "arm64",
    run: (program, o) => runKernelArm64(program, o),
    migrating: MIGRATING_FORKS_ARM64(), kill: KILL_RUNNING_ARM64, sleepers: SLEEPERS_ARM64,
    examples: ["kernel/hello-arm64.S", ...SCENARIOS.map((n) => `scenarios/${n}-arm64.S`)],
    // A broadcast TLBI VAE1IS for each change: complete at the issuer's DSB, no acknowledgement awaited.
    shootdownOnTwo: (k) => {
      expect(k.shootdown!.stats.targets).toBe(k.shootdown!.stats.requests);
      expect(k.shootdown!.stats.deferred).toBe(0);
    },
  },
  {
    arch: "x86_64",
    run: (program, o) => {
      const stale = collect(formatX86StaleTlbReport);
      const r = runKernelX86(program, { harts: o.cpus, strictTlb: o.strictTlb, schedule: o.schedule, asidBits: o.asidBits, timeslice: o.timeslice, onStaleTlb: stale.push });
      return { ...r, strict: stale.lines };
    },
    migrating: MIGRATING_FORKS_X86(), kill: KILL_RUNNING_X86, sleepers: SLEEPERS_X86,
    examples: ["kernel/hello-x86_64.S", ...SCENARIOS.map((n) => `scenarios/${n}-x86_64.S`)],
    // An IPI per change; the frames it frees wait for every target's acknowledgement.
    shootdownOnTwo: (k) => {
      expect(k.shootdown!.stats.deferred).toBeGreaterThan(0);
      expect(k.shootdown!.pending).toBe(0);
      expect(k.cpus.list.reduce((n, c) => n + c.stats.ipis, 0)).toBeGreaterThan(0);
    },
  },
];

describe.each(ARCHES)("the kernel on several $arch CPUs", (a) => {
  it.each([1, 2, 4])("migrating forks print the same with %i CPU(s), reclaim everything, and use no stale TLB entry", (cpus) => {
    const r = a.run(a.migrating, { cpus, strictTlb: true });
    expect([r.stdout, r.exitCode, r.strict]).toEqual(["ok\n", 0, []]);
    expectFullReclaim(r);
    const k = r.km.kernel;
    expect(k.cpus.count).toBe(cpus);
    // Every CPU ran user processes.
    for (const c of k.cpus.list) expect(c.stats.resumes).toBeGreaterThan(0);
    expect(r.log.filter((l) => / online$/.test(l)).sort()).toEqual(k.cpus.list.slice(1).map((c) => `kernel: cpu ${c.index} (hardware id ${c.hwId}) online`));
    if (cpus === 1) expect(k.shootdown).toBeUndefined();
    if (cpus === 2) {
      // Four processes on two CPUs keep moving: fork's write-protection had to reach the other CPU.
      expect(k.shootdown!.stats.ranges).toBeGreaterThan(0);
      a.shootdownOnTwo(k);
    }
  });

  it.each([1, 7, 42])("a seeded random interleaving of 4 CPUs (seed %i) gives the same output, with 4-bit ASIDs (rollovers) and short slices", (seed) => {
    const r = a.run(a.migrating, { cpus: 4, strictTlb: true, schedule: { seed, quantum: 300 }, asidBits: 4, timeslice: 500 });
    expect([r.stdout, r.exitCode, r.strict]).toEqual(["ok\n", 0, []]);
    expectFullReclaim(r);
    expect(r.km.kernel.asids!.stats.rollovers).toBeGreaterThan(0);
  });

  it("with too few ASIDs for 4 CPUs (3 bits) the kernel runs without them, flushing at each switch, and stays right", () => {
    const r = a.run(a.migrating, { cpus: 4, strictTlb: true, asidBits: 3, schedule: { seed: 3, quantum: 300 }, timeslice: 500 });
    expect([r.stdout, r.exitCode, r.strict]).toEqual(["ok\n", 0, []]);
    expect(r.log).toContain("kernel: 3 ASID bits are too few for 4 CPUs; ASIDs off, the TLB is flushed at every address-space switch");
    expect(r.km.kernel.asids).toBeUndefined();
    expectFullReclaim(r);
  });

  it("the same seed gives the same run", () => {
    const [x, y] = [0, 1].map(() => a.run(a.migrating, { cpus: 3, schedule: { seed: 5 } }));
    expect(y!.icount).toBe(x!.icount);
    expect(y!.km.kernel.cpus.list.map((c) => c.stats)).toEqual(x!.km.kernel.cpus.list.map((c) => c.stats));
  });

  it.each([1, 2, 4])("a process spinning on another CPU is killed there (an IPI), and its parent reaps status 9 (%i CPUs)", (cpus) => {
    const r = a.run(a.kill, { cpus, strictTlb: true });
    expect([r.stdout, r.exitCode, r.strict]).toEqual(["ok\n", 0, []]);
    expectFullReclaim(r);
    const stats = r.km.kernel.cpus.list.map((c) => c.stats);
    // With several CPUs the child was running elsewhere: ended there, in its IPI handler.
    expect(stats.reduce((n, s) => n + s.remoteExits, 0)).toBe(cpus > 1 ? 1 : 0);
    if (cpus > 1) expect(stats.reduce((n, s) => n + s.ipis, 0)).toBeGreaterThan(0);
  });

  it("sleepers wake in deadline order on any number of CPUs; idle CPUs wait with their timer armed", () => {
    for (const cpus of [1, 2, 4]) {
      const r = a.run(a.sleepers, { cpus, strictTlb: true });
      expect([r.stdout, r.exitCode, r.strict]).toEqual(["child 3\nchild 2\nchild 1\ndone\n", 0, []]);
      expectFullReclaim(r);
    }
  });

  it.each(a.examples)("examples/%s prints, logs and exits the same with 1 and 4 CPUs", (path) => {
    const source = readFileSync(new URL(`../examples/${path}`, import.meta.url), "utf8");
    const [one, four] = [1, 4].map((cpus) => a.run(source, { cpus, strictTlb: true }));
    expect([four!.stdout, four!.exitCode, four!.strict]).toEqual([one!.stdout, one!.exitCode, []]);
    expect(four!.log.filter((l) => !l.endsWith(" online"))).toEqual(one!.log);
    expectFullReclaim(four!);
  });
});
