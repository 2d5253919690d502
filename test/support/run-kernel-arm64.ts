/**
 * Test helper: boot the TypeScript kernel on arm64-virt (boot/arm64/kernel-boot.ts) with one user
 * program, optionally on several CPUs under strict TLB mode, and record what
 * {@link expectFullReclaim} needs (the boot baseline of frames and every process end), as
 * test/support/run-kernel.ts does for riscv64.
 */
import { bootKernelArm64, type KernelMachine } from "../../boot/arm64/kernel-boot.js";
import { formatStrictReport, type StrictReport } from "../../emulator/arch/arm64/bbm.js";
import type { ScheduleOptions } from "../../emulator/core/schedule.js";
import { assembleArm64 } from "../../tools/asm/arm64/index.js";
import { runWatched, type ReclaimRun } from "./run-kernel.js";

/** User programs are linked where GNU ld puts a static program. */
const USER_BASE = 0x40_0000n;

export interface Arm64RunOptions {
  args?: string[];
  cpus?: number;
  schedule?: ScheduleOptions;
  strictTlb?: boolean;
  /** KernelOptions.asidBits (to force rollovers) and KernelOptions.timeslice. */
  asidBits?: number;
  timeslice?: number;
  maxInsns?: number;
}

export interface Arm64Run extends ReclaimRun {
  exitCode: number;
  reason: string;
  icount: number;
  stdout: string;
  log: string[];
  /** Strict-mode reports (stale TLB, TLBI without DSB, break-before-make), first 20, formatted. */
  strict: string[];
  /** Every strict-mode report, as the detector gave it. */
  reports: StrictReport[];
  symbols: Map<string, bigint>;
  km: KernelMachine;
}

/** Boots `program` (arm64 assembly or an ELF image) as the first process and runs until power-off or `maxInsns` (default 50 million). */
export function runKernelArm64(program: string | Uint8Array, opts: Arm64RunOptions = {}): Arm64Run {
  const asm = typeof program === "string" ? assembleArm64(program, { base: USER_BASE, fileName: "prog.S" }) : undefined;
  let stdout = "";
  const log: string[] = [];
  const km = bootKernelArm64({
    program: asm?.elf ?? (program as Uint8Array), args: opts.args ?? ["prog"], cpus: opts.cpus, strictTlb: opts.strictTlb,
    asidBits: opts.asidBits, timeslice: opts.timeslice, ...(opts.schedule ? { schedule: opts.schedule } : {}),
    log: (l) => log.push(l), console: (b) => { stdout += String.fromCharCode(b); },
  });
  const reports: StrictReport[] = [];
  if (km.strict) km.strict.onReport = (r) => reports.push(r);
  const kernel = km.kernel;
  const { result, bootUsedFrames, exits } = runWatched(km, "runKernelArm64", log, opts.maxInsns);
  return {
    exitCode: result.exitCode, reason: result.reason, icount: result.icount, stdout, log, strict: reports.slice(0, 20).map(formatStrictReport), reports,
    symbols: asm?.symbols ?? new Map(), km, frames: kernel.memory!.frames, bootUsedFrames, exits,
  };
}
