/**
 * The campaign worker (bundled as dist/campaign-worker.js): one machine at a time. It gets the plan
 * and program in workerData, then run numbers as messages, and answers each with its RunSummary.
 * A `null` message ends it. A run that throws (a host error) ends the worker with an error naming the run.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { CampaignPlan } from "./plan.js";
import { runCampaignRun } from "./run.js";

const { plan, program } = workerData as { plan: CampaignPlan; program: Uint8Array };
parentPort!.on("message", (run: number | null) => {
  if (run === null) {
    parentPort!.close();
    return;
  }
  try {
    parentPort!.postMessage(runCampaignRun(plan, program, run).summary);
  } catch (e) {
    // A host error (an emulator or kernel-boundary invariant broke): name the run, so `--only` reproduces it.
    throw new Error(`campaign ${plan.name} run ${run}: host error: ${e instanceof Error ? e.message : String(e)} (reproduce it with --only ${run})`, { cause: e });
  }
});
