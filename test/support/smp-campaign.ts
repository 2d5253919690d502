/**
 * The check the example SMP campaigns (examples/campaign/smp-*.campaign.json) share on every
 * architecture: each run classifies for its reason, and the injections reach all three classes.
 */
import { expect } from "vitest";
import { OUTCOMES, type runCampaignRun } from "../../tools/campaign/run.js";

const KILL = /^\[pid \d+\] killed by signal \d+: /;

/**
 * Every run of the example SMP plan is handled (output as the golden run's), killed (a kill is
 * logged) or a hang of the instruction bound where the spinner kept running: its kill IPI was lost
 * (`lost` matches the log line), or the parent (pid 1) was killed before it could kill the spinner,
 * which then spins as an orphan (the kernel powers off only when no process is left). No oops, leak
 * or corruption; some runs of each class.
 */
export function expectSmpRunsClassified(runs: readonly ReturnType<typeof runCampaignRun>[], lost: RegExp): void {
  const by = Object.fromEntries(OUTCOMES.map((o) => [o, 0]));
  for (const { summary, result } of runs) {
    by[summary.outcome]!++;
    const { golden, faulty, log } = result;
    expect(golden.stdout).toBe("ok\n");
    switch (summary.outcome) {
      case "handled": expect([faulty.stdout, faulty.exitCode]).toEqual([golden.stdout, golden.exitCode]); break;
      case "killed": expect(log.some((l) => KILL.test(l))).toBe(true); break;
      case "hang":
        expect(faulty.reason).toBe("max-insns");
        expect(log.some((l) => lost.test(l) || /^\[pid 1\] killed by signal/.test(l)), log.join("\n")).toBe(true);
        break;
      default: throw new Error(`run ${summary.run}: ${summary.outcome}\n${log.join("\n")}`);
    }
  }
  // The injections reach the kernel's SMP paths: runs are handled, killed and hung.
  expect(by.handled! + by.killed! + by.hang!).toBe(runs.length);
  expect(by.handled).toBeGreaterThan(0);
  expect(by.killed).toBeGreaterThan(0);
  expect(by.hang).toBeGreaterThan(0);
}
