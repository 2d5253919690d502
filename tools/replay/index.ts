/**
 * Record and replay (docs/replay.md). A record holds what was run (the run's spec with its files,
 * or a campaign plan and run number: seed, schedule and injections follow from them) and what
 * happened (every trap, a state hash every N instructions, the end state). Replaying rebuilds the
 * machine from the record alone, runs it the same way, and stops at the first difference.
 */
import type { RunResult } from "../../emulator/core/run.js";
import type { BootedKernel, InjectRunResult } from "../../boot/inject-run.js";
import type { CampaignPlan } from "../campaign/plan.js";
import { runCampaignRun, type RunSummary } from "../campaign/run.js";
import { DivergedError, Observer, type Divergence } from "./observer.js";
import { fromBase64, specFromJson, specToJson, toBase64, type RunEnd, type RunRecordFile } from "./record.js";
import { startRun, type RunIo, type RunSpec, type Started } from "./spec.js";
import { arm64Target, riscvTarget, x86Target, type ReplayTarget } from "./target.js";

export { parseRecord, RecordError, type RunRecordFile } from "./record.js";
export type { Divergence } from "./observer.js";

/** Default instructions between checkpoints. */
export const DEFAULT_EVERY = 1_000_000;

/** A finished run, its machine and its record. */
export interface Recorded {
  result: RunResult;
  started: Started;
  record: RunRecordFile;
}

/** The record-and-replay view of a campaign run's booted kernel machine. */
function kernelTarget(b: BootedKernel): ReplayTarget {
  return b.arch === "riscv64" ? riscvTarget(b.km.machine) : b.arch === "arm64" ? arm64Target(b.km.machine) : x86Target(b.km.machine);
}

function finish(obs: Observer, arch: string, result: RunResult, what: Pick<RunRecordFile, "run" | "campaign">): RunRecordFile {
  return {
    format: "multios-record", version: 1, arch, ...what, every: obs.every,
    checkpoints: obs.checkpoints, traps: obs.traps, trapsTruncated: obs.trapCount > obs.traps.length, end: obs.end(result),
  };
}

/**
 * Runs `spec` (console and log to `io`) and records it, with a checkpoint every `every`
 * instructions. `watch` sees the machine before it starts (to attach a trace).
 */
export function recordRun(spec: RunSpec, io: RunIo, every = DEFAULT_EVERY, watch?: (s: Started) => void): Recorded {
  let obs: Observer | undefined;
  const started = startRun(spec, { ...io, console: (b) => { obs!.consoleByte(b); io.console(b); } });
  watch?.(started);
  obs = new Observer(started.target, every);
  const result = obs.run(spec.maxInsns);
  return { result, started, record: finish(obs, started.arch, result, { run: specToJson(spec) }) };
}

/** Runs run `run` of a campaign and records its injected run. */
export function recordCampaignRun(plan: CampaignPlan, program: Uint8Array, run: number, every = DEFAULT_EVERY): { summary: RunSummary; result: InjectRunResult; record: RunRecordFile } {
  let obs: Observer | undefined;
  let last: RunResult | undefined;
  const { summary, result } = runCampaignRun(plan, program, run, {
    observe: (booted) => {
      obs = new Observer(kernelTarget(booted), every);
      return (max) => (last = obs!.run(max));
    },
    console: (b) => obs!.consoleByte(b),
  });
  const record = finish(obs!, plan.arch ?? "riscv64", last!, { campaign: { plan, program: toBase64(program), run } });
  return { summary, result, record };
}

/** What a replay found. */
export interface ReplayReport {
  /** The run the record describes, in words. */
  what: string;
  /** Undefined when the replay matched the record to the end. */
  divergence?: Divergence;
  /** Instructions replayed, checkpoints checked, traps checked. */
  icount: number;
  checkpoints: number;
  traps: number;
  end?: RunEnd;
}

/** Replays `record`, with console and log to `io`; stops at the first divergence. Throws RecordError for an unusable record. */
export function replayRecord(record: RunRecordFile, io: RunIo): ReplayReport {
  let obs: Observer | undefined;
  let last: RunResult | undefined;
  let what: string;
  try {
    if (record.run) {
      const spec = specFromJson(record.run);
      const harts = (spec.harts ?? 1) > 1 ? ` on ${spec.harts} harts (${spec.scheduleSeed !== undefined ? `schedule seed ${spec.scheduleSeed}` : "round robin"})` : "";
      what = `${spec.arch} ${spec.bare ? "bare run of" : "kernel run of"} ${spec.image.name}${spec.bare ? "" : ` (seed ${spec.seed}${spec.aslr ? "" : ", no ASLR"})`}${harts}`;
      const started = startRun(spec, { ...io, console: (b) => { obs!.consoleByte(b); io.console(b); } });
      obs = new Observer(started.target, record.every, record);
      last = obs.run(spec.maxInsns);
    } else {
      const c = record.campaign!;
      const plan = { ...(c.plan as CampaignPlan), arch: (c.plan as Partial<CampaignPlan>).arch ?? "riscv64" };
      what = `${plan.arch} campaign ${plan.name} run ${c.run}${(plan.harts ?? 1) > 1 ? ` on ${plan.harts} harts` : ""}`;
      runCampaignRun(plan, fromBase64(c.program, "campaign.program"), c.run, {
        observe: (booted) => {
          obs = new Observer(kernelTarget(booted), record.every, record);
          return (max) => (last = obs!.run(max));
        },
        console: (b) => { obs!.consoleByte(b); io.console(b); },
      });
    }
  } catch (e) {
    if (!(e instanceof DivergedError)) throw e;
    return { what: what!, divergence: e.divergence, icount: e.divergence.icount, checkpoints: obs!.checkpoints.length, traps: obs!.trapCount };
  }
  const watched = obs!;
  const end = watched.end(last!);
  const divergence = watched.checkEnd(end);
  return { what, ...(divergence ? { divergence } : {}), icount: end.icount, checkpoints: watched.checkpoints.length, traps: watched.trapCount, end };
}

/** The report as lines: a verdict, then what differs. */
export function formatReplay(r: ReplayReport): string[] {
  if (!r.divergence) {
    return [`replay of ${r.what}: identical to the record (${r.icount} instructions, ${r.traps} traps, ${r.checkpoints} checkpoints; end state, RAM and output match)`];
  }
  const d = r.divergence;
  return [
    `replay of ${r.what}: first divergence at instruction ${d.icount} (the state matched at instruction ${d.lastMatch})`,
    ...d.details.map((l) => `  ${l}`),
  ];
}
