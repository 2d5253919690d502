/**
 * Test helper: boot the TypeScript kernel on x86_64-pc (boot/x86_64/kernel-boot.ts) with one user
 * program in x86_64 AT&T assembly (linked at 0x40_0000, where GNU ld puts a static program), on
 * one or several CPUs, and record what test/support/run-kernel.ts records for riscv64: output,
 * kernel log, process ends, the boot baseline of frames, and stale-TLB reports in strict mode.
 */
import { bootKernelX86, type KernelMachine } from "../../boot/x86_64/kernel-boot.js";
import type { FrameAllocator } from "../../kernel/mm/phys/allocator.js";
import { runWatched } from "./run-kernel.js";
import type { ScheduleOptions } from "../../emulator/core/schedule.js";
import type { StaleTlbReport } from "../../emulator/arch/x86_64/tlb-stale.js";
import { assembleX86_64 } from "../../tools/asm/x86_64/index.js";

export const X86_USER_BASE = 0x40_0000n;

export interface X86KernelRunOptions {
  harts?: number;
  schedule?: ScheduleOptions;
  strictTlb?: boolean;
  /** KernelOptions.asidBits (PCID bits the kernel may use) and timeslice. */
  asidBits?: number;
  timeslice?: number;
  maxInsns?: number;
  onStaleTlb?: (r: StaleTlbReport) => void;
  /** Called with the booted machine before it runs (to wrap the kernel instance's entry points). */
  onBoot?: (km: KernelMachine) => void;
}

/** What a run produced (the fields test/support/run-kernel.ts expectFullReclaim reads included). */
export interface X86KernelRun {
  exitCode: number;
  reason: string;
  icount: number;
  stdout: string;
  log: string[];
  bootUsedFrames: number;
  exits: { pid: number; status: number }[];
  /** Labels and .equ constants of the program. */
  symbols: Map<string, bigint>;
  km: KernelMachine;
  frames: FrameAllocator;
}

/** Boots the kernel with `source` as the first process and runs until power-off or `maxInsns` (default 50 million). */
export function runKernelX86(source: string, opts: X86KernelRunOptions = {}): X86KernelRun {
  const asm = assembleX86_64(source, { base: X86_USER_BASE, fileName: "prog.s" });
  let stdout = "";
  const log: string[] = [];
  const km = bootKernelX86({
    program: asm.elf, args: ["prog"], harts: opts.harts, strictTlb: opts.strictTlb, asidBits: opts.asidBits, timeslice: opts.timeslice,
    ...(opts.schedule ? { schedule: opts.schedule } : {}), log: (l) => log.push(l), console: (b) => { stdout += String.fromCharCode(b); },
  });
  const kernel = km.kernel;
  if (opts.onStaleTlb) km.machine.onStaleTlb = opts.onStaleTlb;
  opts.onBoot?.(km);
  const { result: r, bootUsedFrames, exits } = runWatched(km, "runKernelX86", log, opts.maxInsns);
  return { exitCode: r.exitCode, reason: r.reason, icount: r.icount, stdout, log, bootUsedFrames, exits, symbols: asm.symbols, km, frames: kernel.memory!.frames };
}
