/**
 * Acceptance of the fault-injection campaign: over a kernel with a deliberate error-path bug (a test
 * fixture, test/fixtures/buggy-kernel/fork.ts: fork forgets to drop a frame reference when the
 * child's page-table page cannot be allocated), the example campaign finds the bug — runs classified
 * `leak` — and prints a replay command; recording that run and replaying the record reproduces it
 * to the instruction. The same campaign over the real kernel finds nothing (test/campaign.test.ts).
 */
import { describe, expect, it, vi } from "vitest";
import { campaignReport, formatSummary } from "../tools/campaign/index.js";
import { loadPlan } from "../tools/campaign/plan.js";
import { runCampaignRun, type RunSummary } from "../tools/campaign/run.js";
import { parseRecord, recordCampaignRun, replayRecord } from "../tools/replay/index.js";

vi.mock("../kernel/mm/fork.js", async () => await import("./fixtures/buggy-kernel/fork.js"));

const PLAN = "examples/campaign/fork-mmap.campaign.json";
const quiet = { console: () => {}, log: () => {} };

describe("a campaign over a kernel with an error-path leak", () => {
  const loaded = loadPlan(new URL(`../${PLAN}`, import.meta.url).pathname, 120);
  const results: RunSummary[] = [];
  for (let run = 0; run < loaded.plan.runs; run++) results.push(runCampaignRun(loaded.plan, loaded.program, run).summary);
  const report = campaignReport(PLAN, loaded, results);

  it("classifies the runs that hit the bug as leaks, and only those fail", () => {
    expect(report.byOutcome.leak).toBeGreaterThan(0);
    expect(report.byOutcome.oops + report.byOutcome.hang + report.byOutcome.corruption).toBe(0);
    for (const f of report.failures) expect(f.injections.some((i) => i.point === "frame-alloc" && i.owner === "page table")).toBe(true);
  });

  it("prints each failing run with its replay command", () => {
    const first = report.failures[0]!;
    expect(formatSummary(report)).toContain(`run ${first.run} (seed ${first.seed}): leak; replay: multios campaign ${PLAN} --only ${first.run}`);
  });

  it("the failing run, recorded, replays identically and is a leak again", () => {
    const run = report.failures[0]!.run;
    const { summary, record } = recordCampaignRun(loaded.plan, loaded.program, run, 500);
    expect(summary.outcome).toBe("leak");
    const replay = replayRecord(parseRecord(JSON.stringify(record)), quiet);
    expect(replay.divergence).toBeUndefined();
    expect(replay.icount).toBe(record.end.icount);
  });
});
