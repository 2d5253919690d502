/**
 * One fault-injection run and its verdict: the program runs once untouched (the golden run) and
 * once under an {@link InjectionPlan}; comparing the two classifies the outcome.
 *
 * | outcome | when (checked in this order) |
 * |---|---|
 * | `oops` | the faulty run exited 134, its kernel log has a `kernel oops` line, or the machine shut down (x86_64 triple fault) |
 * | `hang` | it stopped on the instruction bound (10x the golden count), a `wfi`/`hlt` that can never wake, or a trap loop |
 * | `leak` | it ended with more frames or heap blocks in use than the golden run ended with, or its kernel log reports a leak (`kernel: leak: …`) |
 * | `handled` | the console output and the exit status equal the golden run's |
 * | `killed` | a process was killed with a report in the kernel log (`[pid N] killed by signal S: …`) and the machine powered off (or, on x86_64, exited through its exit port) |
 * | `corruption` | anything else: different output or status and nothing reported |
 *
 * Everything is seeded: the kernel's injector by `plan.seed`, and the hardware faults' instants and
 * targets by a second generator from the same seed, so a plan and a program give the same
 * injections and the same outcome on every run. The same holds on every machine the kernel runs on
 * (`arch`); each supplies its {@link InjectTarget} (boot/<arch>/inject-hw.ts).
 */
import { Injector, type Injection, type KernelFaultPlan } from "../kernel/inject.js";
import { SplitMix64 } from "../kernel/random.js";
import { applyHwFault, below, type HwFault, type InjectTarget, type KernelArchName } from "./inject-hw.js";
import type { RunResult } from "../emulator/core/run.js";
import { bootRiscvInjectTarget } from "./riscv64/inject-hw.js";
import { bootArm64InjectTarget } from "./arm64/inject-hw.js";
import { bootX86InjectTarget } from "./x86_64/inject-hw.js";
import type { KernelBootOptions, KernelMachine as RiscvKernelMachine } from "./riscv64/kernel-boot.js";
import type { KernelMachine as Arm64KernelMachine } from "./arm64/kernel-boot.js";
import type { KernelMachine as X86KernelMachine } from "./x86_64/kernel-boot.js";

/** What to inject. */
export interface InjectionPlan {
  /** Seeds the kernel injector and the hardware faults' instants and targets. */
  seed: number;
  /** Kernel points (kernel/inject.ts). */
  kernel?: KernelFaultPlan;
  /** Hardware faults (boot/inject-hw.ts), each applied once. */
  hardware?: readonly HwFault[];
}

export type Outcome = "handled" | "killed" | "oops" | "hang" | "leak" | "corruption";

/** What one run produced. */
export interface RunRecord {
  exitCode: number;
  /** The machine's stop reason (emulator/core/run.ts: "pass", "fail", "exit", "max-insns", "wfi-hang", "hlt-hang", "trap-loop", "triple-fault", "reset"). */
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

/** A booted kernel machine of one of the architectures, for observers (record and replay). */
export type BootedKernel =
  | { arch: "riscv64"; km: RiscvKernelMachine }
  | { arch: "arm64"; km: Arm64KernelMachine }
  | { arch: "x86_64"; km: X86KernelMachine };

/**
 * Boot options of both runs (the plan supplies the injector; output and log are captured). The
 * riscv64 options are a superset: the other machines take the ones they share (RAM, TLB, program,
 * arguments, files, seed, `harts` and `schedule`; `asidLen` caps the kernel's ASID bits there);
 * `arch` picks the machine (default riscv64).
 */
export type InjectRunOptions = Omit<KernelBootOptions, "injector" | "log" | "console"> & {
  arch?: KernelArchName;
  plan: InjectionPlan;
  /** Bound of the golden run (default 50 million instructions). */
  maxInsns?: number;
  /**
   * Drives the faulty run instead of the target's `run` (record and replay watch it this way):
   * given the booted machine, returns the function that runs it to an instruction bound.
   */
  observe?: (booted: BootedKernel) => (maxInsns: number) => RunResult;
  /** Receives the faulty run's console bytes too. */
  console?: (byte: number) => void;
};

type BootOptions = Omit<InjectRunOptions, "plan" | "maxInsns" | "observe" | "console">;

/** Boots `opts.arch`'s kernel machine for one run. */
function boot(opts: BootOptions & Pick<KernelBootOptions, "injector" | "log" | "console">): { target: InjectTarget; booted: BootedKernel } {
  const { arch = "riscv64", ...o } = opts;
  switch (arch) {
    case "riscv64": {
      const { target, km } = bootRiscvInjectTarget(o);
      return { target, booted: { arch, km } };
    }
    case "arm64": {
      const { target, km } = bootArm64InjectTarget({ ...o, ...(o.harts !== undefined ? { cpus: o.harts } : {}), ...asidBitsOf(o) });
      return { target, booted: { arch, km } };
    }
    case "x86_64": {
      const { target, km } = bootX86InjectTarget({ ...o, ...asidBitsOf(o) });
      return { target, booted: { arch, km } };
    }
  }
}

/**
 * `asidLen` (riscv64: the harts' implemented ASID bits) as the arm64 and x86_64 kernels take it:
 * their ASID widths are fixed, so it caps the bits the kernel uses (KernelOptions.asidBits).
 */
function asidBitsOf(o: Pick<BootOptions, "asidLen">): { asidBits?: number } {
  return o.asidLen !== undefined ? { asidBits: o.asidLen } : {};
}

/** How many times the golden instruction count a faulty run may take before it counts as a hang. */
export const HANG_FACTOR = 10;
/** Least bound of a faulty run, so a very short golden run still leaves room to recover. */
const MIN_BOUND = 100_000;

const KILL_REPORT = /^\[pid \d+\] killed by signal \d+: /;
/** The kernel's exit-time leak report (kernel/proc/leaks.ts). */
const LEAK_REPORT = "kernel: leak: ";

/** Runs the program untouched, then under `opts.plan`, and classifies the difference. Host errors propagate. */
export function runWithInjection(opts: InjectRunOptions): InjectRunResult {
  const { plan, maxInsns, observe, console: tap, ...bootOpts } = opts;
  const golden = runOnce(bootOpts, undefined, [], new SplitMix64(plan.seed), maxInsns ?? 50_000_000);
  const hwRng = new SplitMix64(plan.seed);
  hwRng.next64();
  const hardware = (plan.hardware ?? []).map((f) => ({ fault: f, at: f.at ?? 1 + below(hwRng, Math.max(1, golden.record.icount - 1)) }));
  const injector = new Injector(plan.seed, plan.kernel ?? {});
  const bound = Math.max(MIN_BOUND, HANG_FACTOR * golden.record.icount);
  const faulty = runOnce(bootOpts, injector, hardware, hwRng, bound, observe, tap);
  const injections = [...faulty.injections].sort((a, b) => a.order - b.order).map((x) => x.injection);
  return { outcome: classify(golden.record, faulty.record), injections, skipped: faulty.skipped, log: faulty.record.log, golden: golden.record, faulty: faulty.record };
}

/** The verdict for a faulty run against its golden run (see the table above). */
export function classify(golden: RunRecord, faulty: RunRecord): Outcome {
  if (faulty.exitCode === 134 || faulty.reason === "triple-fault" || faulty.log.some((l) => l.startsWith("kernel oops"))) return "oops";
  if (faulty.reason === "max-insns" || faulty.reason === "wfi-hang" || faulty.reason === "hlt-hang" || faulty.reason === "trap-loop") return "hang";
  if (faulty.framesInUse > golden.framesInUse || faulty.heapBlocks > golden.heapBlocks || faulty.log.some((l) => l.startsWith(LEAK_REPORT))) return "leak";
  if (faulty.stdout === golden.stdout && faulty.exitCode === golden.exitCode) return "handled";
  if ((faulty.reason === "pass" || faulty.reason === "fail" || faulty.reason === "exit") && faulty.log.some((l) => KILL_REPORT.test(l))) return "killed";
  return "corruption";
}

interface Ordered { order: number; injection: Injection }

function runOnce(
  opts: BootOptions, injector: Injector | undefined,
  hardware: { fault: HwFault; at: number }[], rng: SplitMix64, bound: number,
  observe?: (booted: BootedKernel) => (maxInsns: number) => RunResult, tap?: (byte: number) => void,
): { record: RunRecord; injections: Ordered[]; skipped: HwFault[] } {
  let stdout = "";
  const log: string[] = [];
  const injections: Ordered[] = [];
  let order = 0;
  if (injector) injector.onInject = (i) => injections.push({ order: order++, injection: i });
  const { target: km, booted } = boot({ ...opts, injector, log: (l) => log.push(l), console: (b) => { stdout += String.fromCharCode(b); tap?.(b); } });
  const run = observe ? observe(booted) : (maxInsns: number) => km.run(maxInsns);
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
