/**
 * Running a scenario: build the machine its `machine` block describes, boot the program bare or
 * under the MultiOS kernel, record every trace event, then check the expectations
 * (tools/scenario/check.ts). Program paths resolve against `baseDir` (default: the working directory).
 */
import { readFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { bootBare, createRiscvVirt, type RiscvVirtOptions } from "../../boot/riscv64/virt.js";
import { bootKernel } from "../../boot/riscv64/kernel-boot.js";
import type { TraceEvent, TrapTraceEvent } from "../../emulator/core/trace.js";
import { FAULT_CLASSES, type FaultClass } from "../../kernel/mm/perf.js";
import { Process } from "../../kernel/proc/process.js";
import type { Kernel } from "../../kernel/kernel.js";
import { bootBareArm64, createArm64Virt } from "../../boot/arm64/virt.js";
import { bootKernelArm64 } from "../../boot/arm64/kernel-boot.js";
import { bootBareX86, createX86Pc } from "../../boot/x86_64/pc.js";
import { bootKernelX86 } from "../../boot/x86_64/kernel-boot.js";
import type { RunResult } from "../../emulator/core/run.js";
import { assemble } from "../asm/index.js";
import type { Arch } from "./kinds.js";
import { parseSize, parseTlbSpec } from "../options.js";
import { checkExpectations } from "./check.js";
import type { Scenario, ScenarioProgramSource } from "./types.js";

/** Instruction budget when the scenario gives none. */
export const DEFAULT_MAX_INSNS = 50_000_000;

/** Kernel-side results (mode "kernel" only). */
export interface KernelStats {
  /** Page-fault traps by class (kernel.perf.faultsByClass()). */
  faults: Record<FaultClass, number>;
  /** Frames in use at the end minus those in use before the first process was created. */
  framesLeaked: number;
  /** Processes killed by a fault (kill reports in the kernel log). */
  killed: number;
  oops: boolean;
  /** The kernel log. */
  log: string[];
}

/** What a run produced, whatever the expectations. */
export interface ScenarioStats {
  exitCode: number;
  /** Why the run stopped ("pass", "fail", "max-insns", ...). */
  reason: string;
  icount: number;
  stdout: string;
  traps: number;
  kernel?: KernelStats;
}

/** A scenario's verdict on one architecture: `failures` has one line per unmet expectation, naming expected and actual. */
export interface ScenarioResult {
  name: string;
  arch: Arch;
  passed: boolean;
  failures: string[];
  events: TraceEvent[];
  stats: ScenarioStats;
}

export interface RunScenarioOptions {
  /** Directory `asmFile` and `elf` paths are relative to. */
  baseDir?: string;
  /** The architecture to run on (default: the scenario's first). */
  arch?: Arch;
}

const KILL_LINE = /^\[pid \d+\] killed by signal /;
const OOPS_LINE = /^kernel oops: /;

/** The architectures `s` runs on, in the order given. */
export function scenarioArches(s: Scenario): Arch[] {
  return Array.isArray(s.machine.arch) ? s.machine.arch : [s.machine.arch];
}

/** The program's ELF image for `arch` and its argv[0]. Throws AsmError or a Node file error. */
function programImage(s: Scenario, arch: Arch, baseDir: string): { elf: Uint8Array; name: string } {
  const all = s.program as Record<string, ScenarioProgramSource | undefined>;
  const p = (all[arch] ?? s.program) as ScenarioProgramSource;
  if ("asm" in p) return { elf: assemble(arch, p.asm, { fileName: `${s.name}.S` }).elf, name: s.name };
  if ("asmFile" in p) {
    const path = resolve(baseDir, p.asmFile);
    return { elf: assemble(arch, readFileSync(path, "utf8"), { fileName: basename(path) }).elf, name: basename(path).replace(/\.[sS]$/, "") };
  }
  const path = resolve(baseDir, p.elf);
  return { elf: readFileSync(path), name: basename(path) };
}

/** Runs `s` on every architecture it names (see {@link runScenario}), one result each. */
export function runScenarioAll(s: Scenario, opts: RunScenarioOptions = {}): ScenarioResult[] {
  return scenarioArches(s).map((arch) => runScenario(s, { ...opts, arch }));
}

/**
 * Runs `s` (validate it first: {@link defineScenario} or a scenario file) and checks it. Throws
 * only for a program that cannot be loaded (missing file, assembly or ELF error, boot error).
 */
export function runScenario(s: Scenario, opts: RunScenarioOptions = {}): ScenarioResult {
  const arch = opts.arch ?? scenarioArches(s)[0]!;
  const { elf, name } = programImage(s, arch, opts.baseDir ?? process.cwd());
  const m = s.machine;
  const ramSize = m.ram === undefined ? undefined : typeof m.ram === "number" ? m.ram : parseSize(m.ram, "machine.ram");
  let stdout = "";
  const common = {
    ...(ramSize !== undefined ? { ramSize } : {}), tlb: parseTlbSpec(m.tlb),
    console: (b: number) => { stdout += String.fromCharCode(b); },
  };
  const schedule = { ...(m.scheduleSeed !== undefined ? { seed: m.scheduleSeed } : {}), ...(m.quantum !== undefined ? { quantum: m.quantum } : {}) };
  const harts = m.harts ?? 1;
  const riscvOpts: RiscvVirtOptions = { ...common, svadu: m.ad === "svadu", harts, schedule };
  const x86Opts = { ...common, harts, schedule };
  const arm64Opts = { ...common, cpus: harts, schedule };
  const events: TraceEvent[] = [];
  const maxInsns = s.maxInsns ?? DEFAULT_MAX_INSNS;
  let result: RunResult;
  let kernel: KernelStats | undefined;
  if (s.mode === "bare") {
    if (arch === "x86_64") {
      const pc = createX86Pc(x86Opts);
      bootBareX86(pc, elf);
      pc.machine.setTrace((e) => events.push(e));
      result = pc.machine.run({ maxInsns });
    } else if (arch === "arm64") {
      const v = createArm64Virt(arm64Opts);
      bootBareArm64(v, elf);
      v.machine.setTrace((e) => events.push(e));
      result = v.machine.run({ maxInsns });
    } else {
      const v = createRiscvVirt(riscvOpts);
      bootBare(v, elf);
      v.machine.setTrace((e) => events.push(e));
      result = v.machine.run({ maxInsns });
    }
  } else {
    const log: string[] = [];
    const boot = { program: elf, args: [name, ...(s.args ?? [])], seed: s.kernel?.seed, aslr: s.kernel?.aslr, debug: s.kernel?.debug, log: (line: string) => log.push(line) };
    const km = arch === "arm64" ? bootKernelArm64({ ...arm64Opts, ...boot }) : arch === "x86_64" ? bootKernelX86({ ...x86Opts, ...boot }) : bootKernel({ ...riscvOpts, ...boot });
    km.machine.setTrace((e) => events.push(e));
    let baseline: number | undefined;
    const spawn = Process.spawn;
    Process.spawn = (k: Kernel, image, argv, envp) => {
      baseline ??= k.memory!.frames.getMemoryStats().usedFrames;
      return spawn.call(Process, k, image, argv, envp);
    };
    try {
      result = km.machine.run({ maxInsns });
    } finally {
      Process.spawn = spawn;
    }
    const k = km.kernel;
    const used = k.memory?.frames.getMemoryStats().usedFrames ?? 0;
    const byClass = k.perf.faultsByClass();
    kernel = {
      faults: Object.fromEntries(FAULT_CLASSES.map((c) => [c, byClass[c]])) as Record<FaultClass, number>,
      framesLeaked: baseline === undefined ? 0 : used - baseline,
      killed: log.filter((l) => KILL_LINE.test(l)).length,
      oops: log.some((l) => OOPS_LINE.test(l)),
      log,
    };
  }
  const traps = events.filter((e): e is TrapTraceEvent => e.type === "trap");
  const stats: ScenarioStats = { exitCode: result.exitCode, reason: result.reason, icount: result.icount, stdout, traps: traps.length, kernel };
  const failures = checkExpectations(s, arch, stats, traps);
  return { name: s.name, arch, passed: failures.length === 0, failures, events, stats };
}
