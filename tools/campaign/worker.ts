/**
 * The campaign worker (bundled as dist/campaign-worker.js): one machine at a time. It gets the plan
 * and program in workerData, then run numbers as messages, and answers each with its RunSummary.
 * A `null` message ends it.
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
  parentPort!.postMessage(runCampaignRun(plan, program, run).summary);
});
