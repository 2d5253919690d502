/**
 * Scenarios: a machine, a guest program and expectations over what the run produced (exit status,
 * console output, the trap sequence, the kernel's fault counters and leaks). The same shape is
 * written in TypeScript ({@link defineScenario}) or as a `*.scenario.json` file (docs/scenarios.md).
 *
 * @example
 * const s = defineScenario({
 *   name: "segfault",
 *   machine: { arch: "riscv64" },
 *   mode: "kernel",
 *   program: { asm: "li t0, 0x1000\n sd zero, 0(t0)\n" },
 *   expect: { exitCode: 139, traps: [{ kind: "store-page-fault", tval: "0x1000" }], kernel: { killed: 1 } },
 * });
 * const r = runScenario(s);   // { passed, failures, events, stats }
 */
import type { Arch, TrapKind } from "./kinds.js";
import { validateScenario } from "./validate.js";

/** The machine to build. */
export interface ScenarioMachine {
  /** One architecture, or several: the scenario then runs on each, with the same expectations. */
  arch: Arch | Arch[];
  /** RAM size: bytes, or a size string like "128M" (default 128 MiB). */
  ram?: number | string;
  /** TLB geometry in the CLI's `--tlb` syntax: "L1ENTRIES/WAYS[,split|unified][,l2=E/W|,nol2]". */
  tlb?: string;
  /** A/D bit management: "svade" (faults, the default) or "svadu" (hardware updates available). */
  ad?: "svade" | "svadu";
  /** Harts or CPUs, 1 to 8 (default 1); the kernel runs on all of them. */
  harts?: number;
  /** Seed of a random interleaving of the harts (round robin without it); the same seed, the same run. */
  scheduleSeed?: number;
  /** Instructions per slice when harts interleave (default 1000). */
  quantum?: number;
}

/**
 * The guest program: assembly source inline (`asm`), an assembly file (`asmFile`) or an ELF image
 * (`elf`). Paths are relative to the scenario file (or the working directory in TypeScript).
 */
export type ScenarioProgramSource = { asm: string } | { asmFile: string } | { elf: string };

/** One program for every architecture, or one per architecture (keyed by arch) for a scenario that runs on several. */
export type ScenarioProgram = ScenarioProgramSource | Partial<Record<Arch, ScenarioProgramSource>>;

/** Kernel options (mode "kernel" only). */
export interface ScenarioKernelOptions {
  /** KernelOptions.seed (default 0). */
  seed?: number;
  /** KernelOptions.aslr (default true). */
  aslr?: boolean;
  /** Paranoid mode: poisoning and invariant checks. */
  debug?: boolean;
}

/**
 * One expected trap. Every field given must match; `tval` is compared as a number ("0x1000" and
 * "0x01000" are equal); `kind` is translated to the architecture's cause (tools/scenario/kinds.ts).
 */
export interface TrapExpectation {
  cause?: number;
  kind?: TrapKind;
  tval?: string;
  /** Privilege before and after the trap: "U", "S", "M". */
  from?: string;
  to?: string;
}

/** Fault classes whose counts a scenario can pin (kernel.perf.faultsByClass()). */
export const FAULT_COUNTERS = {
  demandZero: "demand-zero",
  cowCopy: "cow-copy",
  cowReuse: "cow-reuse",
  stackGrowth: "stack-growth",
  protectionKill: "protection-kill",
  spurious: "spurious",
} as const;

export type FaultCounter = keyof typeof FAULT_COUNTERS;

/** Kernel outcomes: exact fault counts by class, leaks, kills and oopses. */
export type KernelExpectation = { [K in FaultCounter]?: number } & {
  /** Frames still in use at the end beyond those in use before the first process existed. */
  framesLeaked?: number;
  /** Processes killed by a fault. */
  killed?: number;
  /** Whether the kernel oopsed. */
  oops?: boolean;
};

/** What the run must show. Traps are a subsequence match: other traps may come in between. */
export interface ScenarioExpectation {
  exitCode?: number;
  /** Exact console output, or a substring of it. */
  stdout?: string | { contains: string };
  traps?: TrapExpectation[];
  kernel?: KernelExpectation;
}

export interface Scenario {
  name: string;
  machine: ScenarioMachine;
  /** "kernel": firmware and the MultiOS kernel run the program as the first process; "bare": bare boot. */
  mode: "kernel" | "bare";
  program: ScenarioProgram;
  /** argv after argv[0] (kernel mode). */
  args?: string[];
  kernel?: ScenarioKernelOptions;
  /** Instruction budget (default 50 million); a run that hits it fails with reason max-insns. */
  maxInsns?: number;
  expect: ScenarioExpectation;
}

/**
 * Checks `s` as a scenario file would be checked and returns it. Throws ScenarioError naming the
 * first bad field ("expect.traps[0].kind: ...").
 */
export function defineScenario(s: Scenario): Scenario {
  return validateScenario(s);
}
