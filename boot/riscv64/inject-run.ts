/**
 * One fault-injection run and its verdict: the program runs once untouched (the golden run) and
 * once under an {@link InjectionPlan}; comparing the two classifies the outcome.
 *
 * | outcome | when (checked in this order) |
 * |---|---|
 * | `oops` | the faulty run exited 134 or its kernel log has a `kernel oops` line |
 * | `hang` | it stopped on the instruction bound (10x the golden count), a `wfi` that can never wake, or a trap loop |
 * | `leak` | it ended with more frames or heap blocks in use than the golden run ended with, or its kernel log reports a leak (`kernel: leak: …`) |
 * | `handled` | the console output and the exit status equal the golden run's |
 * | `killed` | a process was killed with a report in the kernel log (`[pid N] killed by signal S: …`) and the machine powered off |
 * | `corruption` | anything else: different output or status and nothing reported |
 *
 * Everything is seeded: the kernel's injector by `plan.seed`, and the hardware faults' instants and
 * targets by a second generator from the same seed, so a plan and a program give the same
 * injections and the same outcome on every run.
 */
import { Injector, type Injection, type KernelFaultPlan } from "../../kernel/inject.js";
import { SplitMix64 } from "../../kernel/random.js";
import { applyHwFault, below, type HwFault } from "./inject-hw.js";
import type { RunResult } from "../../emulator/arch/riscv64/machine.js";
import { bootKernel, type KernelBootOptions, type KernelMachine } from "./kernel-boot.js";

/** What to inject. */
export interface InjectionPlan {
  /** Seeds the kernel injector and the hardware faults' instants and targets. */
  seed: number;
  /** Kernel points (kernel/inject.ts). */
  kernel?: KernelFaultPlan;
  /** Hardware faults (boot/riscv64/inject-hw.ts), each applied once. */
  hardware?: readonly HwFault[];
}

export type Outcome = "handled" | "killed" | "oops" | "hang" | "leak" | "corruption";

/** What one run produced. */
export interface RunRecord {
  exitCode: number;
  /** The machine's stop reason ("pass", "fail", "max-insns", "wfi-hang", "trap-loop", "reset"). */
  reason: string;
  /** User instructions retired. */
  icount: number;
  stdout: string;
  /** Kernel log lines. */
  log: string[];
  /** Frames and kernel heap blocks in use when the run ended. */
  framesInUse: number;
  heapBlocks: number;
}

export interface InjectRunResult {
  outcome: Outcome;
  /** Kernel and hardware injections, in the order they happened. */
  injections: Injection[];
  /** Hardware faults that found nothing to act on (the run ended first, or no target existed). */
  skipped: HwFault[];
  /** The faulty run's kernel log. */
  log: string[];
  golden: RunRecord;
  faulty: RunRecord;
}

/** Boot options of both runs (the plan supplies the injector; output and log are captured). */
export type InjectRunOptions = Omit<KernelBootOptions, "injector" | "log" | "console"> & {
  plan: InjectionPlan;
  /** Bound of the golden run (default 50 million instructions). */
  maxInsns?: number;
  /**
   * Drives the faulty run instead of `machine.run` (record and replay watch it this way): given the
   * booted machine and its console, returns the function that runs it to an instruction bound.
   */
  observe?: (km: KernelMachine) => (maxInsns: number) => RunResult;
  /** Receives the faulty run's console bytes too. */
  console?: (byte: number) => void;
};

/** How many times the golden instruction count a faulty run may take before it counts as a hang. */
export const HANG_FACTOR = 10;
/** Least bound of a faulty run, so a very short golden run still leaves room to recover. */
const MIN_BOUND = 100_000;

const KILL_REPORT = /^\[pid \d+\] killed by signal \d+: /;
/** The kernel's exit-time leak report (kernel/proc/leaks.ts). */
const LEAK_REPORT = "kernel: leak: ";

/** Runs the program untouched, then under `opts.plan`, and classifies the difference. Host errors propagate. */
export function runWithInjection(opts: InjectRunOptions): InjectRunResult {
  const { plan, maxInsns, observe, console: tap, ...boot } = opts;
  const golden = runOnce(boot, undefined, [], new SplitMix64(plan.seed), maxInsns ?? 50_000_000);
  const hwRng = new SplitMix64(plan.seed);
  hwRng.next64();
  const hardware = (plan.hardware ?? []).map((f) => ({ fault: f, at: f.at ?? 1 + below(hwRng, Math.max(1, golden.record.icount - 1)) }));
  const injector = new Injector(plan.seed, plan.kernel ?? {});
  const bound = Math.max(MIN_BOUND, HANG_FACTOR * golden.record.icount);
  const faulty = runOnce(boot, injector, hardware, hwRng, bound, observe, tap);
  const injections = [...faulty.injections].sort((a, b) => a.order - b.order).map((x) => x.injection);
  return { outcome: classify(golden.record, faulty.record), injections, skipped: faulty.skipped, log: faulty.record.log, golden: golden.record, faulty: faulty.record };
}

/** The verdict for a faulty run against its golden run (see the table above). */
export function classify(golden: RunRecord, faulty: RunRecord): Outcome {
  if (faulty.exitCode === 134 || faulty.log.some((l) => l.startsWith("kernel oops"))) return "oops";
  if (faulty.reason === "max-insns" || faulty.reason === "wfi-hang" || faulty.reason === "trap-loop") return "hang";
  if (faulty.framesInUse > golden.framesInUse || faulty.heapBlocks > golden.heapBlocks || faulty.log.some((l) => l.startsWith(LEAK_REPORT))) return "leak";
  if (faulty.stdout === golden.stdout && faulty.exitCode === golden.exitCode) return "handled";
  if ((faulty.reason === "pass" || faulty.reason === "fail") && faulty.log.some((l) => KILL_REPORT.test(l))) return "killed";
  return "corruption";
}

interface Ordered { order: number; injection: Injection }

function runOnce(
  boot: Omit<KernelBootOptions, "injector" | "log" | "console">, injector: Injector | undefined,
  hardware: { fault: HwFault; at: number }[], rng: SplitMix64, bound: number,
  observe?: (km: KernelMachine) => (maxInsns: number) => RunResult, tap?: (byte: number) => void,
): { record: RunRecord; injections: Ordered[]; skipped: HwFault[] } {
  let stdout = "";
  const log: string[] = [];
  const injections: Ordered[] = [];
  let order = 0;
  if (injector) injector.onInject = (i) => injections.push({ order: order++, injection: i });
  const km = bootKernel({ ...boot, injector, log: (l) => log.push(l), console: (b) => { stdout += String.fromCharCode(b); tap?.(b); } });
  if (km.sbi) km.sbi.onFault = (line) => km.kernel.report(line);
  const run = observe ? observe(km) : (maxInsns: number) => km.machine.run({ maxInsns });
  const skipped: HwFault[] = [];
  const pending = [...hardware].sort((a, b) => a.at - b.at);
  let result = run(Math.min(bound, pending[0]?.at ?? bound));
  while (pending.length > 0 && result.reason === "max-insns" && result.icount < bound) {
    const { fault } = pending.shift()!;
    const made = applyHwFault(km, fault, rng);
    if (made) {
      injections.push({ order: order++, injection: made });
      km.kernel.report(`inject: ${made.point} at instruction ${made.call}: ${made.detail ?? ""}`);
    } else skipped.push(fault);
    result = run(Math.min(bound, pending[0]?.at ?? bound));
  }
  skipped.push(...pending.map((p) => p.fault));
  const framesInUse = km.kernel.memory?.frames.getMemoryStats().usedFrames ?? 0;
  const heapBlocks = km.kernel.heap?.stats().usedBlocks ?? 0;
  return { record: { exitCode: result.exitCode, reason: result.reason, icount: result.icount, stdout, log, framesInUse, heapBlocks }, injections, skipped };
}
