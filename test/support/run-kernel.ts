/**
 * Test helpers: boot the TypeScript kernel on riscv64-virt with one user program and watch it
 * through the whole trap path. The kernel is only read, except for two call-through wrappers that
 * take snapshots (Kernel.exit on this instance, Process.spawn for the duration of the run).
 *
 * Observation points:
 * - Checkpoints: every `getpid` system call (a real, side-effect-free Linux call, so the same
 *   program runs under qemu-user) records the calling process's fault statistics and the frames in
 *   use at the moment of the trap, before the kernel handles it.
 * - Exits: every process end (exit, exit_group or a fatal fault) records the same, taken just
 *   before the kernel reclaims the process's memory.
 * - The boot baseline: frames in use after memory initialisation, before the first process exists.
 */
import { expect } from "vitest";
import { bootKernel, type KernelMachine } from "../../boot/riscv64/kernel-boot.js";
import type { Kernel } from "../../kernel/kernel.js";
import type { FaultStats } from "../../kernel/mm/process-memory.js";
import type { FrameAllocator } from "../../kernel/mm/phys/allocator.js";
import { Process } from "../../kernel/proc/process.js";
import { SYS } from "../../kernel/proc/syscalls.js";
import { assembleRiscv64 } from "../../tools/asm/riscv64/index.js";
import type { ScheduleOptions } from "../../emulator/core/schedule.js";
import type { StaleTlbReport } from "../../emulator/arch/riscv64/stale-tlb.js";

/** scause of an environment call from U-mode. */
const ECALL_FROM_U = 8;
/** The register holding the system call number (a7 = x17). */
const A7 = 17;

/** A process's fault statistics and the machine's frames at one moment. */
export interface ProcessSnapshot {
  pid: number;
  stats: FaultStats;
  /** Frames in use machine-wide (FrameAllocator.getMemoryStats().usedFrames). */
  usedFrames: number;
  /** Frames the process owns (its data pages; its page tables are owned by "page table"). */
  ownedFrames: number;
}

/** A process end, with its exit status as a shell reports it (128 + signal when killed). */
export interface ExitSnapshot extends ProcessSnapshot {
  status: number;
}

/** What a kernel run produced. */
export interface KernelRun {
  /** The machine's exit status: the first process's exit status, 139 when it died of SIGSEGV. */
  exitCode: number;
  reason: string;
  /** User instructions retired (the kernel runs natively and retires none). */
  icount: number;
  stdout: string;
  /** Kernel log lines (kill reports, oopses). */
  log: string[];
  /** Frames in use once memory was initialised, before the first process was created. */
  bootUsedFrames: number;
  /** One per getpid call, in order. */
  checkpoints: ProcessSnapshot[];
  /** One per process end, in order. */
  exits: ExitSnapshot[];
  /** Labels and .equ constants of the program (empty for a prebuilt ELF). */
  symbols: Map<string, bigint>;
  km: KernelMachine;
  frames: FrameAllocator;
}

export interface RunKernelOptions {
  /** argv, argv[0] first. Default ["prog"]. */
  args?: string[];
  maxInsns?: number;
  /** Instructions per time slice (KernelOptions.timeslice). */
  timeslice?: number;
  debug?: boolean;
  /** RAM size in bytes (default 128 MiB). */
  ramSize?: number;
  /** Source of AT_RANDOM bytes (KernelOptions.random). */
  random?: (bytes: Uint8Array) => void;
  /** ASID bits the kernel may use (KernelOptions.asidBits), to force rollovers. */
  asidBits?: number;
  /** Initial-ramdisk files by name, in order: assembly source (assembled here) or bytes. */
  files?: Record<string, string | Uint8Array>;
  /** KernelOptions.seed and KernelOptions.aslr. */
  seed?: number;
  aslr?: boolean;
  /** Harts of the machine (default 1), how they interleave, and strict TLB mode with its reports. */
  harts?: number;
  schedule?: ScheduleOptions;
  strictTlb?: boolean;
  /** ASIDLEN of the harts (machine option), as opposed to asidBits, the kernel's own limit. */
  hartAsidBits?: number;
  onStaleTlb?: (r: StaleTlbReport) => void;
}

/** Frames `pid` owns right now. */
function owned(frames: FrameAllocator, pid: number): number {
  return frames.allocationsByOwner().get(`pid ${pid}`) ?? 0;
}

function snapshot(frames: FrameAllocator, p: Process): ProcessSnapshot {
  return { pid: p.pid, stats: { ...p.mm.stats }, usedFrames: frames.getMemoryStats().usedFrames, ownedFrames: owned(frames, p.pid) };
}

/** A kernel run's end: the machine's result, the frames in use when the first process was created, each exit. */
export interface WatchedRun {
  result: { exitCode: number; reason: string; icount: number };
  bootUsedFrames: number;
  exits: ExitSnapshot[];
}

/**
 * Runs a booted kernel machine (any architecture) to its end or `maxInsns` user instructions,
 * noting the frames in use when the first process is created (the boot baseline reclaim is
 * checked against) and a snapshot at each process exit.
 */
export function runWatched(km: { kernel: Kernel; machine: { run(o: { maxInsns: number }): WatchedRun["result"] } }, name: string, log: readonly string[], maxInsns = 50_000_000): WatchedRun {
  const kernel = km.kernel;
  const frames = (): FrameAllocator => kernel.memory!.frames;
  const exits: ExitSnapshot[] = [];
  let bootUsedFrames: number | undefined;
  const exit = kernel.exit.bind(kernel);
  kernel.exit = (p, how) => {
    const status = how.signal !== undefined ? 128 + how.signal : (how.code ?? 0) & 0xff;
    exits.push({ ...snapshot(frames(), p), status });
    exit(p, how);
  };
  const spawn = Process.spawn;
  Process.spawn = (k: Kernel, image, argv, envp) => {
    bootUsedFrames ??= k.memory!.frames.getMemoryStats().usedFrames;
    return spawn.call(Process, k, image, argv, envp);
  };
  let result;
  try {
    result = km.machine.run({ maxInsns });
  } finally {
    Process.spawn = spawn;
  }
  if (bootUsedFrames === undefined) throw new Error(`${name}: the kernel never created the first process (log: ${log.join(" | ")})`);
  return { result, bootUsedFrames, exits };
}

/**
 * Boots the kernel with `program` (assembly source, or an ELF image) as the first process and runs
 * the machine until it powers off or `maxInsns` (default 50 million) user instructions retire.
 */
export function runKernel(program: string | Uint8Array, opts: RunKernelOptions = {}): KernelRun {
  const asm = typeof program === "string" ? assembleRiscv64(program, { fileName: "prog.S" }) : undefined;
  const elf = asm?.elf ?? (program as Uint8Array);
  const files = Object.entries(opts.files ?? {}).map(([name, f]) => ({ name, bytes: typeof f === "string" ? assembleRiscv64(f, { fileName: `${name}.S` }).elf : f }));
  let stdout = "";
  const log: string[] = [];
  const km = bootKernel({
    program: elf, args: opts.args ?? ["prog"], timeslice: opts.timeslice, debug: opts.debug, random: opts.random, ramSize: opts.ramSize, asidBits: opts.asidBits,
    files, seed: opts.seed, aslr: opts.aslr, harts: opts.harts, strictTlb: opts.strictTlb, ...(opts.hartAsidBits !== undefined ? { asidLen: opts.hartAsidBits } : {}), ...(opts.schedule ? { schedule: opts.schedule } : {}),
    log: (line) => log.push(line), console: (b) => { stdout += String.fromCharCode(b); },
  });
  const kernel = km.kernel;
  const checkpoints: ProcessSnapshot[] = [];
  const frames = (): FrameAllocator => kernel.memory!.frames;

  if (opts.onStaleTlb) km.machine.onStaleTlb = opts.onStaleTlb;
  km.machine.setTrace((e) => {
    if (e.type !== "trap" || e.from !== "U" || e.interrupt || e.cause !== ECALL_FROM_U) return;
    const hart = km.machine.harts[e.hart]!;
    if (hart.x(A7) !== BigInt(SYS.getpid)) return;
    checkpoints.push(snapshot(frames(), kernel.procs.current!));
  });
  const { result, bootUsedFrames, exits } = runWatched(km, "runKernel", log, opts.maxInsns);
  return {
    exitCode: result.exitCode, reason: result.reason, icount: result.icount, stdout, log, bootUsedFrames,
    checkpoints, exits, symbols: asm?.symbols ?? new Map(), km, frames: frames(),
  };
}

const PROCESS_OWNER = /^pid \d+/;

/** Owners of live frames whose name says they belong to a process ("pid 3", "pid 3 kernel stack"). */
export function processOwners(frames: FrameAllocator): string[] {
  return [...frames.allocationsByOwner().keys()].filter((o) => PROCESS_OWNER.test(o));
}

/** The value of a label or constant of the program; throws if the program has no such symbol. */
export function symbol(run: KernelRun, name: string): bigint {
  const v = run.symbols.get(name);
  if (v === undefined) throw new Error(`symbol ${name} is not defined by the program`);
  return v;
}

/** A process's fault counts with nothing counted. */
export const NO_FAULTS: FaultStats = { demandZero: 0, cowCopy: 0, cowReuse: 0, stackGrowth: 0, protectionKill: 0, spurious: 0, userAccessFailed: 0, outOfMemory: 0 };

/** What changed between two checkpoints of the same process. */
export function delta(a: ProcessSnapshot, b: ProcessSnapshot): { stats: FaultStats; usedFrames: number; ownedFrames: number } {
  expect(b.pid).toBe(a.pid);
  const stats = Object.fromEntries(Object.entries(b.stats).map(([k, v]) => [k, v - a.stats[k as keyof FaultStats]])) as unknown as FaultStats;
  return { stats, usedFrames: b.usedFrames - a.usedFrames, ownedFrames: b.ownedFrames - a.ownedFrames };
}

/** What {@link expectFullReclaim} reads of a run (a KernelRun of any architecture). */
export type ReclaimRun = Pick<KernelRun, "frames" | "bootUsedFrames"> & { exits: readonly { pid: number }[]; km: { kernel: Kernel } };

/**
 * Every frame a process held is back: frames in use equal the boot baseline, no "pid N" owner is
 * left among frames or kernel heap blocks, no exited process has leaks, and the allocator's bitmap
 * agrees with its owner index.
 */
export function expectFullReclaim(run: ReclaimRun): void {
  expect(run.frames.getMemoryStats().usedFrames).toBe(run.bootUsedFrames);
  expect(processOwners(run.frames)).toEqual([]);
  const heap = run.km.kernel.heap;
  if (heap !== undefined) expect([...heap.liveByOwner().keys()].filter((o) => PROCESS_OWNER.test(o))).toEqual([]);
  for (const e of run.exits) expect(run.frames.leaksOf(`pid ${e.pid}`)).toEqual([]);
  expect(run.frames.audit()).toEqual([]);
}
