/**
 * Campaigns on several harts (docs/campaigns.md "Several harts"): a plan's `machine` asks for harts
 * and a schedule; every run interleaves by a schedule seed drawn from its seed (golden and faulty
 * run alike), and the IPI faults now act on the kernel's IPIs. The example plan's runs classify
 * into the outcome classes for their reasons: a lost IPI that leaves the killed spinner running is
 * a hang (as is a parent killed before it kills the spinner), and nothing is an oops, a leak or a
 * corruption.
 * @spec RISC-V SBI v2.0 §7 (IPI: send_ipi), §8 (RFENCE)
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPlan, PlanError, runSeed, scheduleSeed } from "../tools/campaign/plan.js";
import { runCampaignRun } from "../tools/campaign/run.js";
import { expectSmpRunsClassified } from "./support/smp-campaign.js";
import { MIGRATING_FORKS } from "./support/smp-programs.js";

const EXAMPLE = new URL("../examples/campaign/", import.meta.url).pathname;
const SMP_PLAN = join(EXAMPLE, "smp-riscv64.campaign.json");
const dir = mkdtempSync(join(tmpdir(), "multios-campaign-smp-"));

function plan(name: string, body: object): string {
  const p = join(dir, `${name}.json`);
  writeFileSync(p, JSON.stringify({ name, program: { asmFile: join(EXAMPLE, "smp-riscv64.S") }, faults: [], ...body }));
  return p;
}

describe("campaign plans with several harts", () => {
  it("machine.harts, quantum, schedule and asidBits are read; each run's schedule seed follows from its seed unless fixed", () => {
    const { plan: p } = loadPlan(plan("m", { machine: { harts: 4, quantum: 200, asidBits: 3 } }));
    expect([p.harts, p.quantum, p.asidLen, p.schedule]).toEqual([4, 200, 3, undefined]);
    const s0 = scheduleSeed(p, runSeed(0, 0)), s1 = scheduleSeed(p, runSeed(0, 1));
    expect(s0).not.toBe(s1);
    expect(scheduleSeed(p, runSeed(0, 0))).toBe(s0);
    expect(scheduleSeed({ schedule: 17 }, 99)).toBe(17);
    expect(scheduleSeed({ schedule: "round-robin" }, 99)).toBeUndefined();
  });

  it.each([
    [{ machine: { harts: 9 } }, "machine.harts: expected 1..8, got 9"],
    [{ machine: { harts: 0 } }, "machine.harts: expected 1..8, got 0"],
    [{ machine: { quantum: 0 } }, "machine.quantum: expected 1..9007199254740991, got 0"],
    [{ machine: { schedule: "random" } }, 'machine.schedule: expected a seed (a whole number) or "round-robin", got "random"'],
    [{ machine: { asidBits: 17 } }, "machine.asidBits: expected 0..16, got 17"],
    [{ machine: { cpus: 2 } }, "machine.cpus: unknown field (allowed: ram, harts, quantum, schedule, asidBits)"],
    [{ arch: "arm64", machine: { harts: 9 } }, "machine.harts: expected 1..8, got 9"],
    [{ arch: "x86_64", machine: { asidBits: 13 } }, "machine.asidBits: expected 0..12, got 13"],
  ])("%j is a one-line plan error", (body, message) => {
    const p = plan("bad", body);
    expect(() => loadPlan(p)).toThrow(PlanError);
    expect(() => loadPlan(p)).toThrow(`${p}: ${message}`);
  });

  it("a run of a 4-hart plan runs on 4 harts with its schedule seed, and the same run is the same run", () => {
    const loaded = loadPlan(plan("same", { machine: { harts: 4, quantum: 500 }, hardware: [{ kind: "tlb-drop" }] }));
    const a = runCampaignRun(loaded.plan, loaded.program, 3), b = runCampaignRun(loaded.plan, loaded.program, 3);
    expect(a.summary.scheduleSeed).toBe(scheduleSeed(loaded.plan, a.summary.seed));
    expect(b.summary).toEqual(a.summary);
    expect([b.result.faulty.icount, b.result.faulty.stdout]).toEqual([a.result.faulty.icount, a.result.faulty.stdout]);
    expect(a.result.golden.log.filter((l) => / online$/.test(l))).toHaveLength(3);
    expect(a.result.golden.stdout).toBe("ok\n");
  });
});

describe("lost wake-up IPIs", () => {
  it("only cost time: a hart that makes a process runnable keeps a time slice while processes wait, so every run is handled", () => {
    const source = join(dir, "migrating-forks.S");
    writeFileSync(source, MIGRATING_FORKS(8));
    const p = plan("wakeups", {
      program: { asmFile: source }, machine: { harts: 4, quantum: 300 },
      hardware: [{ kind: "ipi-lose", at: 150 }, { kind: "ipi-lose", at: 600 }, { kind: "ipi-lose", at: 1200 }],
    });
    const loaded = loadPlan(p);
    let lost = 0;
    for (let run = 0; run < 8; run++) {
      const { summary, result } = runCampaignRun(loaded.plan, loaded.program, run);
      expect(result.golden.stdout).toBe("ok\n");
      expect(summary.outcome, result.log.join("\n")).toBe("handled");
      lost += result.log.filter((l) => /^inject: IPI to hart \d+ lost$/.test(l)).length;
    }
    expect(lost).toBeGreaterThan(4);
  });
});

describe("the example SMP campaign (examples/campaign/smp-riscv64.campaign.json)", () => {
  const loaded = loadPlan(SMP_PLAN);
  const RUNS = 30;
  const runs = Array.from({ length: RUNS }, (_, run) => runCampaignRun(loaded.plan, loaded.program, run));

  it("every run classifies, for its reason; no oops, leak or corruption", () => {
    expectSmpRunsClassified(runs, /^inject: IPI to hart \d+ lost$/);
  });

  it("the IPI faults act on the kernel's IPIs: some are delayed and delivered, some are lost", () => {
    const logs = runs.flatMap((r) => r.result.log);
    expect(logs.some((l) => /^inject: IPI to hart \d+ delayed/.test(l))).toBe(true);
    expect(logs.some((l) => /^inject: IPI to hart \d+ lost$/.test(l))).toBe(true);
    expect(runs.some((r) => r.summary.injections.some((i) => i.point === "tlb-drop" && /^hart [1-3] /.test(i.detail ?? "")))).toBe(true);
  });
});
