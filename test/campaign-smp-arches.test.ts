/**
 * Campaigns on several arm64 and x86_64 CPUs (docs/campaigns.md "Several processors"), as
 * test/campaign-smp.test.ts checks riscv64: a plan's `machine` asks for CPUs and a schedule; a run
 * is the same run every time; TLB faults pick an entry of any CPU; the IPI faults act on the
 * kernel's IPIs (arm64: SGIs written to GICD_SGIR; x86_64: fixed IPIs written to the ICR), one
 * target at a time, lost or delivered late; and the example plans' runs classify for their
 * reasons: a lost kill IPI that leaves the spinner running, or a parent killed before it kills the
 * spinner, is a hang; nothing is an oops, a leak or a corruption. A recorded campaign run on 4
 * CPUs is the campaign's run, and replays identically.
 * @spec Arm IHI 0048B (GICv2) §4.3.15 GICD_SGIR; Intel SDM Vol. 3A §11.6.1 (ICR, fixed delivery)
 */
import { describe, expect, it } from "vitest";
import { loadPlan, scheduleSeed } from "../tools/campaign/plan.js";
import { runCampaignRun } from "../tools/campaign/run.js";
import { expectSmpRunsClassified } from "./support/smp-campaign.js";
import { parseRecord, recordCampaignRun, replayRecord } from "../tools/replay/index.js";
import { runWithInjection } from "../boot/inject-run.js";
import { assembleArm64 } from "../tools/asm/arm64/index.js";
import { assembleX86_64 } from "../tools/asm/x86_64/index.js";
import { MIGRATING_FORKS_ARM64 } from "./support/smp-programs-arm64.js";
import { MIGRATING_FORKS_X86 } from "./support/smp-programs-x86_64.js";

const LOST = /^inject: IPI to cpu \d+ lost$/;
const quiet = { console: () => {}, log: () => {} };
const MIGRATING = {
  arm64: () => assembleArm64(MIGRATING_FORKS_ARM64(8)).elf,
  x86_64: () => assembleX86_64(MIGRATING_FORKS_X86(8)).elf,
};

describe.each(["arm64", "x86_64"] as const)("campaigns on several %s CPUs", (arch) => {
  const loaded = loadPlan(new URL(`../examples/campaign/smp-${arch}.campaign.json`, import.meta.url).pathname);

  it("the example plan asks for 4 CPUs; a run interleaves by its schedule seed, and the same run is the same run", () => {
    expect([loaded.plan.arch, loaded.plan.harts, loaded.plan.quantum]).toEqual([arch, 4, 500]);
    const a = runCampaignRun(loaded.plan, loaded.program, 3), b = runCampaignRun(loaded.plan, loaded.program, 3);
    expect(a.summary.scheduleSeed).toBe(scheduleSeed(loaded.plan, a.summary.seed));
    expect(b.summary).toEqual(a.summary);
    expect([b.result.faulty.icount, b.result.faulty.stdout, b.result.log]).toEqual([a.result.faulty.icount, a.result.faulty.stdout, a.result.log]);
    expect(a.result.golden.log.filter((l) => / online$/.test(l))).toHaveLength(3);
    expect(a.result.golden.stdout).toBe("ok\n");
  });

  it("an ipi-lose or ipi-delay on one CPU finds no IPI to act on: skipped", () => {
    const elf = MIGRATING[arch]();
    const r = runWithInjection({ arch, program: elf, args: ["m"], seed: 1, plan: { seed: 1, hardware: [{ kind: "ipi-lose" }, { kind: "ipi-delay" }] } });
    expect(r.skipped.map((f) => f.kind)).toEqual(["ipi-lose", "ipi-delay"]);
    expect(r.outcome).toBe("handled");
  });

  it("a delayed IPI arrives late and costs only time; a lost one is logged with its target", () => {
    const elf = MIGRATING[arch]();
    const opts = { arch, program: elf, args: ["m"], harts: 4, schedule: { seed: 5, quantum: 300 } };
    let delayed = 0, lost = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const d = runWithInjection({ ...opts, seed, plan: { seed, hardware: [{ kind: "ipi-delay", at: 200, ticks: 5000 }, { kind: "ipi-delay", at: 900, ticks: 5000 }] } });
      expect(d.golden.stdout).toBe("ok\n");
      expect(d.outcome, d.log.join("\n")).toBe("handled");
      delayed += d.log.filter((l) => /^inject: IPI to cpu \d+ delayed 5000 ticks$/.test(l)).length;
      const l = runWithInjection({ ...opts, seed, plan: { seed, hardware: [{ kind: "ipi-lose", at: 200 }] } });
      expect(["handled", "hang"]).toContain(l.outcome);
      lost += l.log.filter((x) => LOST.test(x)).length;
    }
    expect(delayed).toBeGreaterThan(3);
    expect(lost).toBeGreaterThan(2);
  });

  describe("the example SMP campaign", () => {
    const RUNS = 30;
    const runs = Array.from({ length: RUNS }, (_, run) => runCampaignRun(loaded.plan, loaded.program, run));

    it("every run classifies, for its reason; no oops, leak or corruption", () => {
      expectSmpRunsClassified(runs, LOST);
    });

    it("the IPI faults act on the kernel's IPIs, and TLB drops reach every CPU", () => {
      const logs = runs.flatMap((r) => r.result.log);
      expect(logs.some((l) => /^inject: IPI to cpu \d+ delayed 20000 ticks$/.test(l))).toBe(true);
      expect(logs.some((l) => LOST.test(l))).toBe(true);
      expect(runs.some((r) => r.summary.injections.some((i) => i.point === "tlb-drop" && /^cpu [1-3] /.test(i.detail ?? "")))).toBe(true);
    });
  });

  it("a run recorded with checkpoints every 300 instructions is the campaign's run, and it replays identically", () => {
    for (const run of [0, 1, 2]) {
      const plain = runCampaignRun(loaded.plan, loaded.program, run);
      const { record, summary, result } = recordCampaignRun(loaded.plan, loaded.program, run, 300);
      expect(summary).toEqual(plain.summary);
      expect([result.faulty.icount, result.faulty.stdout]).toEqual([plain.result.faulty.icount, plain.result.faulty.stdout]);
      const rep = replayRecord(parseRecord(JSON.stringify(record)), quiet);
      expect(rep.divergence, `run ${run} (${summary.outcome})`).toBeUndefined();
      expect(rep.what).toBe(`${arch} campaign smp-${arch} run ${run} on 4 harts`);
    }
  });
});
