/**
 * The kernel on several harts (riscv64): secondary harts brought up through SBI HSM, one run queue
 * served by every hart, idle harts woken by IPIs, TLB shootdown through SBI remote fences, ASID
 * rollover with harts running, and a process ended by another hart.
 * @spec RISC-V SBI v2.0 §7 (IPI), §8 (RFENCE), §9 (HSM)
 * @spec RV-S §"Supervisor Memory-Management Fence Instruction": a fence orders only the hart that
 * executes it, so changes must reach other harts' TLBs by their own fences
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { KILL_RUNNING, MIGRATING_FORKS, SLEEPERS } from "./support/smp-programs.js";
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

  it.each([1, 2, 4])("migrating forks print the same with %i hart(s), reclaim everything, and use no stale TLB entry", (harts) => {
    const r = run(program, { harts, strictTlb: true });
    expect([r.stdout, r.exitCode]).toEqual(["ok\n", 0]);
    expect(r.stale).toEqual([]);
    expectFullReclaim(r);
    const k = r.km.kernel;
    expect(k.cpus.count).toBe(harts);
    // Every hart ran user processes, and processes moved between harts.
    for (const c of k.cpus.list) expect(c.stats.resumes).toBeGreaterThan(0);
    if (harts > 1) expect(r.log.filter((l) => / online$/.test(l))).toHaveLength(harts - 1);
    if (harts === 2) {
      // Four processes on two harts keep moving: fork's write-protection had to reach the other hart.
      expect(k.shootdown!.stats.ranges).toBeGreaterThan(0);
      expect(k.shootdown!.stats.targets).toBe(k.shootdown!.stats.requests);
    }
    if (harts === 1) {
      expect(k.shootdown).toBeUndefined();
    }
  });

  it.each([1, 7, 42])("a seeded random interleaving of 4 harts (seed %i) gives the same output, with 4-bit ASIDs (rollovers) and short slices", (seed) => {
    const r = run(program, { harts: 4, strictTlb: true, schedule: { seed, quantum: 300 }, asidBits: 4, timeslice: 500 });
    expect([r.stdout, r.exitCode, r.stale]).toEqual(["ok\n", 0, []]);
    expectFullReclaim(r);
    expect(r.km.kernel.asids!.stats.rollovers).toBeGreaterThan(0);
  });

  it("with too few ASIDs for 4 harts (2 bits in the hardware) the kernel runs without them, flushing at each switch, and stays right", () => {
    const r = run(program, { harts: 4, strictTlb: true, hartAsidBits: 2, schedule: { seed: 3, quantum: 300 }, timeslice: 500 });
    expect([r.stdout, r.exitCode, r.stale]).toEqual(["ok\n", 0, []]);
    expect(r.log).toContain("kernel: 2 ASID bits are too few for 4 CPUs; ASIDs off, the TLB is flushed at every address-space switch");
    expect(r.km.kernel.asids).toBeUndefined();
    expectFullReclaim(r);
  });

  it("the same seed gives the same run", () => {
    const a = run(program, { harts: 3, schedule: { seed: 5 } });
    const b = run(program, { harts: 3, schedule: { seed: 5 } });
    expect(b.icount).toBe(a.icount);
    expect(b.km.kernel.cpus.list.map((c) => c.stats)).toEqual(a.km.kernel.cpus.list.map((c) => c.stats));
  });

  it.each([1, 2, 4])("a process spinning on another hart is killed there (an IPI), and its parent reaps status 9 (%i harts)", (harts) => {
    const r = run(KILL_RUNNING, { harts, strictTlb: true });
    expect([r.stdout, r.exitCode, r.stale]).toEqual(["ok\n", 0, []]);
    expectFullReclaim(r);
    const stats = r.km.kernel.cpus.list.map((c) => c.stats);
    // With several harts the child was running elsewhere: ended there, through an IPI.
    expect(stats.reduce((n, s) => n + s.remoteExits, 0)).toBe(harts > 1 ? 1 : 0);
    if (harts > 1) expect(stats.reduce((n, s) => n + s.ipis, 0)).toBeGreaterThan(0);
  });

  it("sleepers wake in deadline order on any number of harts; idle harts wait with their timer armed", () => {
    for (const harts of [1, 2, 4]) {
      const r = run(SLEEPERS, { harts, strictTlb: true });
      expect([r.stdout, r.exitCode, r.stale]).toEqual(["child 3\nchild 2\nchild 1\ndone\n", 0, []]);
      expectFullReclaim(r);
    }
  });

  const EXAMPLES = new URL("../examples/kernel/", import.meta.url).pathname;
  it.each(["hello", "mmap", "brk", "fork", "errors"])("examples/kernel/%s.S prints the same and exits the same with 1 and 4 harts", (name) => {
    const source = readFileSync(join(EXAMPLES, `${name}.S`), "utf8");
    const [one, four] = [1, 4].map((harts) => run(source, { harts, strictTlb: true }));
    expect([four!.stdout, four!.exitCode, four!.stale]).toEqual([one!.stdout, one!.exitCode, []]);
    expect(four!.log.filter((l) => !l.endsWith(" online"))).toEqual(one!.log);
    expectFullReclaim(four!);
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
