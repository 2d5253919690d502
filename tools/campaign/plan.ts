/**
 * Campaign plans (docs/campaigns.md): the JSON file a campaign reads, its validation, and the
 * seed of each run. Validation errors are one line naming the field ("faults[0].probability: ...").
 */
import { readFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { HW_KINDS, type HwFault, type KernelArchName } from "../../boot/inject-hw.js";
import { INJECT_POINTS, Injector, type FaultPoint, type InjectPoint, type KernelFaultPlan } from "../../kernel/inject.js";
import { MAX_HARTS } from "../../boot/riscv64/virt.js";
import { MAX_CPUS } from "../../boot/arm64/virt.js";
import { MAX_X86_CPUS } from "../../boot/x86_64/pc.js";

/** The most processors of each machine (`machine.harts`). */
const MAX_PROCESSORS: Record<KernelArchName, number> = { riscv64: MAX_HARTS, arm64: MAX_CPUS, x86_64: MAX_X86_CPUS };
/**
 * The widest `machine.asidBits` of each machine: riscv64 the harts' implemented satp.ASID bits
 * (ASIDLEN); arm64 (16-bit ASIDs) and x86_64 (12-bit PCIDs) the bits the kernel uses at most.
 */
const ASID_BITS: Record<KernelArchName, number> = { riscv64: 16, arm64: 16, x86_64: 12 };
import { assemble } from "../asm/index.js";
import { parseSize } from "../options.js";

/** A plan that is not well-formed, or whose program cannot be read: the message is "file: field: reason". */
export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PlanError";
  }
}

/** A validated plan: everything a worker needs to run any run of the campaign. */
export interface CampaignPlan {
  name: string;
  /** The machine the kernel runs on (plan `arch`, default riscv64). */
  arch: KernelArchName;
  /** Base seed; run i uses {@link runSeed}(seed, i). */
  seed: number;
  /** Runs of the campaign (plan `runs`, or --runs). */
  runs: number;
  /** argv of the program (argv[0] first). */
  args: string[];
  /** RAM size in bytes, when the plan sets one. */
  ramSize?: number;
  /** Processors (plan `machine.harts`: riscv64 harts, arm64 PEs, x86_64 CPUs; default 1) and how they interleave. */
  harts?: number;
  /** Instructions per slice of the interleaving (`machine.quantum`). */
  quantum?: number;
  /**
   * `machine.schedule`: a fixed schedule seed for every run, or "round-robin"; absent: each run's
   * schedule seed follows from its seed ({@link scheduleSeed}).
   */
  schedule?: number | "round-robin";
  /** `machine.asidBits`: riscv64 the harts' satp.ASID bits (ASIDLEN); arm64 and x86_64 the ASID/PCID bits the kernel uses at most. */
  asidLen?: number;
  kernel: KernelFaultPlan;
  hardware: HwFault[];
}

/** A plan and its program's ELF bytes (assembled when the plan names a .S file). */
export interface LoadedPlan {
  plan: CampaignPlan;
  program: Uint8Array;
}

type Obj = Record<string, unknown>;

/** Each hardware fault's fields: a whole number up to a bound, or one of a list. */
type FieldRule = { max: number } | { oneOf: readonly string[] };
const AT: FieldRule = { max: Number.MAX_SAFE_INTEGER };
const HW_FIELDS: Record<HwFault["kind"], Record<string, FieldRule>> = {
  "pte-flip": { at: AT, bit: { max: 63 }, mode: { oneOf: ["flip", "clear"] }, target: { oneOf: ["data", "any"] } },
  "tlb-drop": { at: AT },
  "tlb-corrupt": { at: AT },
  "spurious-irq": { at: AT, irq: { oneOf: ["software", "timer"] } },
  "heap-corrupt": { at: AT, bit: { max: 127 } },
  "bad-frame": { at: AT, target: { oneOf: ["user", "free"] }, mode: { oneOf: ["hard", "soft"] } },
  "ipi-lose": { at: AT },
  "ipi-delay": { at: AT, ticks: AT },
};
const FAULT_FIELDS = ["probability", "interval", "times", "nth", "filter"];

const show = (v: unknown): string => (typeof v === "string" ? JSON.stringify(v) : Array.isArray(v) ? "an array" : v === null ? "null" : typeof v === "object" ? "an object" : String(v));

/** Run i's seed: a SplitMix64 finalizer over (plan seed, i), cut to 53 bits. Same inputs, same seed, on any host. */
export function runSeed(planSeed: number, run: number): number {
  const mask = (1n << 64n) - 1n;
  let z = ((BigInt(planSeed) << 32n) ^ BigInt(run)) * 0x9e3779b97f4a7c15n & mask;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & mask;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & mask;
  return Number((z ^ (z >> 31n)) >> 11n);
}

/**
 * The schedule seed of a run with several harts: the plan's fixed one, none for "round-robin", else
 * drawn from the run's seed (a second SplitMix64 stream), so every run interleaves differently and
 * the same run the same way.
 */
export function scheduleSeed(plan: Pick<CampaignPlan, "schedule">, seed: number): number | undefined {
  if (plan.schedule === "round-robin") return undefined;
  return plan.schedule ?? runSeed(seed, SCHEDULE_STREAM);
}

/** The second argument of {@link runSeed} that derives a run's schedule seed from its seed. */
const SCHEDULE_STREAM = 0x5ced;

/**
 * Reads and validates the plan at `path`, and loads its program (paths are relative to the plan).
 * `runs` overrides the plan's run count. Throws PlanError for the first bad field.
 */
export function loadPlan(path: string, runs?: number): LoadedPlan {
  const fail = (field: string, reason: string): never => { throw new PlanError(`${path}: ${field ? field + ": " : ""}${reason}`); };
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    return fail("", `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return fail("", `not JSON: ${(e as Error).message}`);
  }
  const object = (v: unknown, field: string, required: readonly string[], optional: readonly string[]): Obj => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) fail(field, `expected an object, got ${show(v)}`);
    const o = v as Obj;
    const at = (k: string): string => (field ? `${field}.${k}` : k);
    for (const k of Object.keys(o)) if (!required.includes(k) && !optional.includes(k)) fail(at(k), `unknown field (allowed: ${[...required, ...optional].join(", ")})`);
    for (const k of required) if (o[k] === undefined) fail(at(k), "required field is missing");
    return o;
  };
  const count = (v: unknown, field: string): number =>
    typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : fail(field, `expected a whole number >= 0, got ${show(v)}`);
  const string = (v: unknown, field: string): string => (typeof v === "string" ? v : fail(field, `expected a string, got ${show(v)}`));
  const array = (v: unknown, field: string): unknown[] => (Array.isArray(v) ? v : fail(field, `expected an array, got ${show(v)}`));

  const o = object(raw, "", ["name", "program", "faults"], ["$schema", "description", "arch", "seed", "args", "machine", "runs", "hardware"]);
  const name = string(o.name, "name");
  const arches = Object.keys(HW_KINDS) as KernelArchName[];
  if (o.arch !== undefined && !(arches as unknown[]).includes(o.arch)) fail("arch", `expected one of ${arches.join(", ")}, got ${show(o.arch)}`);
  const arch = (o.arch ?? "riscv64") as KernelArchName;
  const seed = o.seed === undefined ? 0 : count(o.seed, "seed");
  const planRuns = o.runs === undefined ? 100 : count(o.runs, "runs");
  const prog = object(o.program, "program", [], ["asmFile", "elf"]);
  if ((prog.asmFile === undefined) === (prog.elf === undefined)) fail("program", "expected exactly one of asmFile, elf");
  const progField = prog.asmFile !== undefined ? "program.asmFile" : "program.elf";
  const progPath = resolve(dirname(path), string(prog.asmFile ?? prog.elf, progField));
  const args = o.args === undefined ? [basename(progPath).replace(/\.[sS]$/, "")] : array(o.args, "args").map((a, i) => string(a, `args[${i}]`));
  if (args.length === 0) fail("args", "expected at least argv[0]");
  let ramSize: number | undefined;
  const smp: Pick<CampaignPlan, "harts" | "quantum" | "schedule" | "asidLen"> = {};
  if (o.machine !== undefined) {
    const m = object(o.machine, "machine", [], ["ram", "harts", "quantum", "schedule", "asidBits"]);
    const within = (k: string, lo: number, hi: number): number | undefined => {
      if (m[k] === undefined) return undefined;
      const v = count(m[k], `machine.${k}`);
      return v >= lo && v <= hi ? v : fail(`machine.${k}`, `expected ${lo}..${hi}, got ${v}`);
    };
    const harts = within("harts", 1, MAX_PROCESSORS[arch]);
    if (harts !== undefined) smp.harts = harts;
    const quantum = within("quantum", 1, Number.MAX_SAFE_INTEGER);
    if (quantum !== undefined) smp.quantum = quantum;
    if (m.schedule === "round-robin") smp.schedule = "round-robin";
    else if (m.schedule !== undefined) {
      if (typeof m.schedule !== "number") fail("machine.schedule", `expected a seed (a whole number) or "round-robin", got ${show(m.schedule)}`);
      smp.schedule = count(m.schedule, "machine.schedule");
    }
    const asidBits = within("asidBits", 0, ASID_BITS[arch]);
    if (asidBits !== undefined) smp.asidLen = asidBits;
    if (typeof m.ram === "number") ramSize = count(m.ram, "machine.ram");
    else if (m.ram !== undefined) {
      try {
        ramSize = parseSize(string(m.ram, "machine.ram"), "machine.ram");
      } catch (e) {
        if (e instanceof RangeError) fail("", e.message);
        throw e;
      }
    }
  }
  const kernel: KernelFaultPlan = {};
  array(o.faults, "faults").forEach((f, i) => {
    const at = `faults[${i}]`;
    const fo = object(f, at, ["point"], FAULT_FIELDS);
    if (!(INJECT_POINTS as readonly unknown[]).includes(fo.point)) fail(`${at}.point`, `expected one of ${INJECT_POINTS.join(", ")}, got ${show(fo.point)}`);
    const point = fo.point as InjectPoint;
    if (kernel[point] !== undefined) fail(`${at}.point`, `${point} is already in the plan`);
    for (const k of ["probability", "interval", "times", "nth"]) if (fo[k] !== undefined && typeof fo[k] !== "number") fail(`${at}.${k}`, `expected a number, got ${show(fo[k])}`);
    if (fo.filter !== undefined) {
      const fl = object(fo.filter, `${at}.filter`, [], ["pid", "owner"]);
      if (fl.pid !== undefined) count(fl.pid, `${at}.filter.pid`);
      if (fl.owner !== undefined) string(fl.owner, `${at}.filter.owner`);
    }
    const { point: _point, ...spec } = fo;
    try {
      new Injector(0, { [point]: spec as FaultPoint });
    } catch (e) {
      if (e instanceof RangeError) fail(at, e.message);
      throw e;
    }
    kernel[point] = spec as FaultPoint;
  });
  const hardware = (o.hardware === undefined ? [] : array(o.hardware, "hardware")).map((h, i) => {
    const at = `hardware[${i}]`;
    const kinds = Object.keys(HW_FIELDS);
    const allFields = [...new Set(Object.values(HW_FIELDS).flatMap((f) => Object.keys(f)))];
    const kind = object(h, at, ["kind"], allFields).kind;
    if (typeof kind !== "string" || !kinds.includes(kind)) fail(`${at}.kind`, `expected one of ${kinds.join(", ")}, got ${show(kind)}`);
    if (!HW_KINDS[arch].includes(kind as HwFault["kind"])) fail(`${at}.kind`, `${kind} is riscv64-only (on ${arch}: ${HW_KINDS[arch].join(", ")})`);
    const rules = HW_FIELDS[kind as HwFault["kind"]];
    const ho = object(h, at, ["kind"], Object.keys(rules));
    for (const [k, rule] of Object.entries(rules)) {
      if (ho[k] === undefined) continue;
      if ("oneOf" in rule) {
        if (!rule.oneOf.includes(ho[k] as string)) fail(`${at}.${k}`, `expected one of ${rule.oneOf.join(", ")}, got ${show(ho[k])}`);
      } else if (!(count(ho[k], `${at}.${k}`) <= rule.max)) fail(`${at}.${k}`, `expected 0..${rule.max}, got ${show(ho[k])}`);
    }
    if (kind === "spurious-irq" && arch !== "riscv64" && ho.irq === "software") fail(`${at}.irq`, `"software" is riscv64-only (its supervisor software interrupt); ${arch} has "timer"`);
    return ho as unknown as HwFault;
  });
  const plan: CampaignPlan = { name, arch, seed, runs: runs ?? planRuns, args, kernel, hardware, ...(ramSize !== undefined ? { ramSize } : {}), ...smp };
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(progPath);
  } catch (e) {
    return fail(progField, `cannot read ${progPath}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  if (prog.asmFile === undefined) return { plan, program: bytes };
  try {
    return { plan, program: assemble(arch, new TextDecoder().decode(bytes), { fileName: basename(progPath) }).elf };
  } catch (e) {
    return fail(progField, (e as Error).message.split("\n")[0]!);
  }
}
