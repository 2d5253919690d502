/** `multios campaign`: seeded fault-injection runs across worker threads (docs/campaigns.md). */
import { writeFileSync } from "node:fs";
import { campaignReport, formatHtml, formatSummary, runCampaign, shardRuns, type Shard } from "../campaign/index.js";
import { loadPlan } from "../campaign/plan.js";
import { FAILING, runCampaignRun, type RunSummary } from "../campaign/run.js";
import type { InjectRunResult } from "../../boot/inject-run.js";
import { DEFAULT_EVERY, recordCampaignRun } from "../replay/index.js";
import { writeRecord } from "./run.js";
import { parseArgs, UsageError, wholeOption } from "./args.js";

/** The --shard value "i/n" with 0 <= i < n. */
export function parseShard(s: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(s);
  const index = Number(m?.[1]), count = Number(m?.[2]);
  if (!m || !(count >= 1 && index < count)) throw new UsageError(`--shard '${s}' is not i/n with 0 <= i < n`);
  return { index, count };
}

export async function cmdCampaign(argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, ["--runs", "--jobs", "--shard", "--html", "--only", "--record", "--checkpoint-every"], ["--json"]);
  if (args.length !== 1) throw new UsageError(`campaign takes one plan file, got ${args.length}`);
  const planArg = args[0]!;
  const runs = flags.has("--runs") ? wholeOption("--runs", flags.get("--runs")!, 0) : undefined;
  const jobs = flags.has("--jobs") ? wholeOption("--jobs", flags.get("--jobs")!, 1) : 2;
  const shard = flags.has("--shard") ? parseShard(flags.get("--shard")!) : undefined;
  const loaded = loadPlan(planArg, runs);
  const json = flags.has("--json");
  if ((flags.has("--record") || flags.has("--checkpoint-every")) && !flags.has("--only")) throw new UsageError("--record and --checkpoint-every go with --only RUN");
  if (flags.has("--checkpoint-every") && !flags.has("--record")) throw new UsageError("--checkpoint-every goes with --record");
  if (flags.has("--only")) {
    const run = wholeOption("--only", flags.get("--only")!, 0);
    let summary: RunSummary, result: InjectRunResult;
    if (flags.has("--record")) {
      const every = flags.has("--checkpoint-every") ? wholeOption("--checkpoint-every", flags.get("--checkpoint-every")!, 1) : DEFAULT_EVERY;
      const recorded = recordCampaignRun(loaded.plan, loaded.program, run, every);
      writeRecord(flags.get("--record")!, recorded.record);
      ({ summary, result } = recorded);
    } else ({ summary, result } = runCampaignRun(loaded.plan, loaded.program, run));
    if (json) process.stdout.write(JSON.stringify({ ...summary, exitCode: result.faulty.exitCode, reason: result.faulty.reason, stdout: result.faulty.stdout, log: result.log, golden: { exitCode: result.golden.exitCode, stdout: result.golden.stdout } }, null, 2) + "\n");
    else {
      const out = [
        `run ${run} (seed ${summary.seed}${summary.scheduleSeed !== undefined ? `, schedule seed ${summary.scheduleSeed}` : ""}): ${summary.outcome}`,
        ...summary.injections.map((i) => `injection: ${i.point} at ${i.call}${i.pid !== undefined ? ` pid ${i.pid}` : ""}${i.owner ? ` owner ${i.owner}` : ""}${i.detail ? `: ${i.detail}` : ""}`),
        `golden: exit ${result.golden.exitCode}, output ${JSON.stringify(result.golden.stdout)}`,
        `faulty: exit ${result.faulty.exitCode} (${result.faulty.reason}), output ${JSON.stringify(result.faulty.stdout)}`,
        ...result.log.map((l) => `log: ${l}`),
      ];
      process.stdout.write(out.join("\n") + "\n");
    }
    return FAILING.includes(summary.outcome) ? 1 : 0;
  }
  const selected = shardRuns(loaded.plan.runs, shard);
  const tty = process.stderr.isTTY === true;
  const step = Math.max(1, Math.ceil(selected.length / 10));
  const progress = (done: number, total: number): void => {
    const line = `campaign ${loaded.plan.name}: ${done}/${total} runs`;
    if (tty) process.stderr.write(`\r${line}${done === total ? "\n" : ""}`);
    else if (done % step === 0 || done === total) process.stderr.write(line + "\n");
  };
  const results = await runCampaign(loaded, selected, jobs, new URL("./campaign-worker.js", import.meta.url), progress);
  const report = campaignReport(planArg, loaded, results, shard);
  if (json) {
    process.stderr.write(formatSummary(report));
    process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  } else process.stdout.write(formatSummary(report));
  if (flags.has("--html")) writeFileSync(flags.get("--html")!, formatHtml(report));
  return report.failures.length > 0 ? 1 : 0;
}

