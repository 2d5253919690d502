/**
 * The record file of `multios run --record` and `multios campaign --only N --record` (docs/replay.md):
 * what was run, and what it did (traps, state hashes at checkpoints, the end state). JSON, so a
 * record can be read, diffed and attached to a bug report.
 */
import type { RunSpec } from "./spec.js";

/** One trap as recorded: instruction count, cause, tval and epc (hex); what cause, tval and epc hold per architecture is in target.ts. */
export type TrapRow = [icount: number, cause: number, tval: string, epc: string];

/** The state every `every` instructions. */
export interface Checkpoint {
  icount: number;
  /** Digest of every hart's architectural state (registers, CSRs, counts). */
  hash: string;
  /** Traps taken and console bytes written so far. */
  traps: number;
  output: number;
  /** Processor 0's pc and general registers (riscv64 also its privilege, arm64 PSTATE, x86_64 RFLAGS and CPL), for a report that names what differs. */
  regs: Record<string, string>;
}

/** How the run ended. */
export interface RunEnd {
  reason: string;
  exitCode: number;
  icount: number;
  /** Final state digest (as in checkpoints), RAM digest, console output length and digest. */
  hash: string;
  ram: string;
  output: number;
  outputHash: string;
}

/** A fault-injection run of a campaign: the plan as loaded, and the run number. */
export interface CampaignRunSpec {
  /** The validated plan (tools/campaign/plan.ts CampaignPlan). */
  plan: unknown;
  /** Base64 of the program's ELF. */
  program: string;
  run: number;
}

/** A record file's contents. */
export interface RunRecordFile {
  format: "multios-record";
  version: 1;
  arch: string;
  /** Exactly one of `run` (a `multios run`) and `campaign` (one run of a campaign, its faulty run). */
  run?: JsonRunSpec;
  campaign?: CampaignRunSpec;
  /** Instructions between checkpoints. */
  every: number;
  checkpoints: Checkpoint[];
  traps: TrapRow[];
  /** More traps happened than {@link TRAP_LIMIT}; the rest are covered by the checkpoint hashes only. */
  trapsTruncated: boolean;
  end: RunEnd;
}

/** A {@link RunSpec} with its bytes in base64. */
export type JsonRunSpec = Omit<RunSpec, "image" | "files"> & { image: { name: string; data: string }; files: { name: string; data: string }[] };

/** The architectures a record may be of. */
const RECORD_ARCHES: readonly string[] = ["riscv64", "arm64", "x86_64"];

/** Traps kept in a record (about 40 bytes each). */
export const TRAP_LIMIT = 200_000;

/** A record file that cannot be used: the message is one line. */
export class RecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RecordError";
  }
}

/** Bytes as base64 (no Node Buffer, so this runs anywhere). */
export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Base64 back to bytes; throws RecordError naming `what` when the text is not base64. */
export function fromBase64(text: string, what: string): Uint8Array {
  let s: string;
  try {
    s = atob(text);
  } catch {
    throw new RecordError(`${what} is not base64`);
  }
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** The JSON form of a run spec. */
export function specToJson(spec: RunSpec): JsonRunSpec {
  return {
    ...spec,
    image: { name: spec.image.name, data: toBase64(spec.image.bytes) },
    files: spec.files.map((f) => ({ name: f.name, data: toBase64(f.bytes) })),
  };
}

/** A run spec from its JSON form. */
export function specFromJson(j: JsonRunSpec): RunSpec {
  return {
    ...j,
    image: { name: j.image.name, bytes: fromBase64(j.image.data, "run.image.data") },
    files: j.files.map((f, i) => ({ name: f.name, bytes: fromBase64(f.data, `run.files[${i}].data`) })),
  };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Parses and checks a record file's text. Throws RecordError with one line naming what is wrong
 * (not JSON, another format or version, a missing or mistyped field).
 */
export function parseRecord(text: string): RunRecordFile {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new RecordError(`not JSON: ${(e as Error).message}`);
  }
  if (!isObj(j) || j.format !== "multios-record") throw new RecordError("not a multios record (format is not \"multios-record\")");
  if (j.version !== 1) throw new RecordError(`record version ${String(j.version)} is not supported (this build reads version 1)`);
  if (typeof j.arch !== "string") throw new RecordError("arch: missing");
  if (!RECORD_ARCHES.includes(j.arch)) throw new RecordError(`arch '${j.arch}' is not available in this build (it records ${RECORD_ARCHES.join(", ")})`);
  if ((j.run === undefined) === (j.campaign === undefined)) throw new RecordError("a record has exactly one of run and campaign");
  if (j.run !== undefined) {
    const r = j.run;
    if (!isObj(r) || !isObj(r.image) || typeof r.image.data !== "string" || typeof r.image.name !== "string" || !Array.isArray(r.args) || !Array.isArray(r.files) || typeof r.bare !== "boolean") {
      throw new RecordError("run: not a run description (image, args, files, bare)");
    }
  } else if (!isObj(j.campaign) || typeof j.campaign.program !== "string" || !Number.isSafeInteger(j.campaign.run) || !isObj(j.campaign.plan)) {
    throw new RecordError("campaign: not a campaign run (plan, program, run)");
  }
  if (!Number.isSafeInteger(j.every) || (j.every as number) < 1) throw new RecordError("every: not a whole number >= 1");
  if (!Array.isArray(j.checkpoints) || !Array.isArray(j.traps) || typeof j.trapsTruncated !== "boolean") throw new RecordError("checkpoints, traps, trapsTruncated: missing");
  if (!isObj(j.end) || typeof j.end.hash !== "string" || !Number.isSafeInteger(j.end.icount)) throw new RecordError("end: missing");
  return j as unknown as RunRecordFile;
}
