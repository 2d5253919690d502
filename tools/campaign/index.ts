/**
 * Campaigns (docs/campaigns.md): many seeded fault-injection runs of one plan, spread over
 * `worker_threads`, and their reports. Results are sorted by run number, so the report does not
 * depend on how many workers ran it or in which order they finished.
 */
import { Worker } from "node:worker_threads";
import type { Outcome } from "../../boot/inject-run.js";
import type { LoadedPlan } from "./plan.js";
import { FAILING, OUTCOMES, type RunSummary } from "./run.js";

/** `--shard i/n`: this batch runs the runs whose number is ≡ index (mod count). */
export interface Shard { index: number; count: number }

/** The runs of a campaign of `runs` runs that `shard` selects, ascending. */
export function shardRuns(runs: number, shard: Shard = { index: 0, count: 1 }): number[] {
  const out: number[] = [];
  for (let r = shard.index; r < runs; r += shard.count) out.push(r);
  return out;
}

/**
 * Runs `runs` on `jobs` workers loaded from `workerUrl` (dist/campaign-worker.js), handing each
 * idle worker the next run. `progress(done, total)` is called after every run. Rejects with the
 * first worker error (a host error in a run).
 */
export function runCampaign(loaded: LoadedPlan, runs: readonly number[], jobs: number, workerUrl: URL, progress?: (done: number, total: number) => void): Promise<RunSummary[]> {
  const results: RunSummary[] = [];
  let next = 0;
  return new Promise((resolvePromise, reject) => {
    if (runs.length === 0) { resolvePromise([]); return; }
    const workers: Worker[] = [];
    let failed = false;
    const stopAll = (): void => { for (const w of workers) void w.terminate(); };
    const feed = (w: Worker): void => { w.postMessage(next < runs.length ? runs[next++]! : null); };
    for (let j = 0; j < Math.min(jobs, runs.length); j++) {
      const w = new Worker(workerUrl, { workerData: loaded });
      workers.push(w);
      w.on("message", (s: RunSummary) => {
        results.push(s);
        progress?.(results.length, runs.length);
        if (results.length === runs.length) {
          stopAll();
          resolvePromise(results.sort((a, b) => a.run - b.run));
        } else feed(w);
      });
      w.on("error", (e) => {
        if (failed) return;
        failed = true;
        stopAll();
        reject(e);
      });
      feed(w);
    }
  });
}

/** The JSON report of a campaign (the shape `--json` prints). */
export interface CampaignReport {
  plan: string;
  name: string;
  /** Runs in the campaign (all shards). */
  runs: number;
  shard?: string;
  /** Runs made by this batch. */
  ran: number;
  byOutcome: Record<Outcome, number>;
  failures: (RunSummary & { replay: string })[];
  results: { run: number; seed: number; outcome: Outcome }[];
}

/** Builds the report; `planArg` is the plan path as given on the command line (used in replay commands). */
export function campaignReport(planArg: string, loaded: LoadedPlan, results: readonly RunSummary[], shard?: Shard): CampaignReport {
  const byOutcome = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  for (const r of results) byOutcome[r.outcome]++;
  return {
    plan: planArg, name: loaded.plan.name, runs: loaded.plan.runs, ...(shard ? { shard: `${shard.index}/${shard.count}` } : {}), ran: results.length, byOutcome,
    failures: results.filter((r) => FAILING.includes(r.outcome)).map((r) => ({ ...r, replay: `multios campaign ${planArg} --only ${r.run}` })),
    results: results.map(({ run, seed, outcome }) => ({ run, seed, outcome })),
  };
}

/** Failing runs listed in the summary table; the JSON and HTML reports list all. */
const MAX_LISTED = 20;

/** The summary table: one line per outcome class with count and share, then the failing runs' replays. */
export function formatSummary(r: CampaignReport): string {
  const w = Math.max(...OUTCOMES.map((o) => o.length));
  const lines = [`campaign ${r.name}: ${r.ran} run${r.ran === 1 ? "" : "s"}${r.shard ? ` (shard ${r.shard} of ${r.runs})` : ""}`, `  ${"outcome".padEnd(w)}  ${"runs".padStart(6)}  share`];
  for (const o of OUTCOMES) {
    const n = r.byOutcome[o];
    lines.push(`  ${o.padEnd(w)}  ${String(n).padStart(6)}  ${r.ran ? ((100 * n) / r.ran).toFixed(1).padStart(5) : "  0.0"}%${FAILING.includes(o) && n > 0 ? "  FAIL" : ""}`);
  }
  for (const f of r.failures.slice(0, MAX_LISTED)) lines.push(`  run ${f.run} (seed ${f.seed}${f.scheduleSeed !== undefined ? `, schedule seed ${f.scheduleSeed}` : ""}): ${f.outcome}; replay: ${f.replay}`);
  if (r.failures.length > MAX_LISTED) lines.push(`  ... and ${r.failures.length - MAX_LISTED} more failing runs (see --json or --html)`);
  return lines.join("\n") + "\n";
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/** A self-contained HTML page: the outcome table and the failing runs with their injections and replay commands. */
export function formatHtml(r: CampaignReport): string {
  const rows = OUTCOMES.map((o) => `<tr><td>${o}</td><td>${r.byOutcome[o]}</td></tr>`).join("\n");
  const fails = r.failures.map((f) => `<tr><td>${f.run}</td><td>${f.seed}</td><td>${f.outcome}</td><td>${esc(f.injections.map((i) => `${i.point}@${i.call}${i.detail ? ` ${i.detail}` : ""}`).join("; "))}</td><td><code>${esc(f.replay)}</code></td></tr>`).join("\n");
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>campaign ${esc(r.name)}</title>
<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 8px}</style></head>
<body><h1>campaign ${esc(r.name)}</h1>
<p>${r.ran} runs${r.shard ? ` (shard ${esc(r.shard)} of ${r.runs})` : ""}, plan <code>${esc(r.plan)}</code></p>
<table><tr><th>outcome</th><th>runs</th></tr>
${rows}
</table>
<h2>failing runs (${r.failures.length})</h2>
<table><tr><th>run</th><th>seed</th><th>outcome</th><th>injections</th><th>replay</th></tr>
${fails}
</table></body></html>
`;
}
