/** One run of a campaign, the unit a worker executes: seed, injections and verdict. */
import { runWithInjection, type InjectRunOptions, type InjectRunResult, type Outcome } from "../../boot/inject-run.js";
import type { Injection } from "../../kernel/inject.js";
import { runSeed, scheduleSeed, type CampaignPlan } from "./plan.js";

/** What a campaign keeps of one run. */
export interface RunSummary {
  run: number;
  seed: number;
  /** The seed of the harts' interleaving (several harts; absent for round robin). */
  scheduleSeed?: number;
  outcome: Outcome;
  injections: Injection[];
}

/** Outcomes that make a run a failure: the kernel broke, lost memory, or data changed silently. */
export const FAILING: readonly Outcome[] = ["oops", "hang", "leak", "corruption"];

/** Every outcome class, in report order. */
export const OUTCOMES: readonly Outcome[] = ["handled", "killed", "oops", "hang", "leak", "corruption"];

/**
 * Runs run `run` of `plan` over `program` on the plan's machine (golden + injected, boot/inject-run.ts). The kernel's ASLR seed is the run's seed too;
 * with several harts both runs interleave by the same schedule seed ({@link scheduleSeed}).
 * `watch` observes the injected run (record and replay).
 */
export function runCampaignRun(plan: CampaignPlan, program: Uint8Array, run: number, watch: Pick<InjectRunOptions, "observe" | "console"> = {}): { summary: RunSummary; result: InjectRunResult } {
  const seed = runSeed(plan.seed, run);
  const harts = plan.harts ?? 1;
  const sched = harts > 1 ? scheduleSeed(plan, seed) : undefined;
  const result = runWithInjection({
    arch: plan.arch ?? "riscv64", program, args: plan.args, seed, ...(plan.ramSize !== undefined ? { ramSize: plan.ramSize } : {}),
    ...(harts > 1 ? { harts, schedule: { ...(sched !== undefined ? { seed: sched } : {}), ...(plan.quantum !== undefined ? { quantum: plan.quantum } : {}) } } : {}),
    ...(plan.asidLen !== undefined ? { asidLen: plan.asidLen } : {}),
    plan: { seed, kernel: plan.kernel, hardware: plan.hardware }, ...watch,
  });
  return { summary: { run, seed, ...(sched !== undefined ? { scheduleSeed: sched } : {}), outcome: result.outcome, injections: result.injections }, result };
}
