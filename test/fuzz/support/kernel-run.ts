/**
 * Runs a user program under the kernel for the kernel-facing fuzz suites, on any of the three
 * architectures (kernel-targets.ts), watching every system call: its number and arguments as the
 * kernel reads them from the saved frame (KernelArch.syscallNumber, wrapped on this instance) and
 * its result (setSyscallReturn, wrapped too), with the console output around it. Also plants a
 * secret in kernel-only RAM and digests the RAM that nothing may change after boot (firmware,
 * kernel text, the program module and ramdisk, the device tree).
 */
import { createHash } from "node:crypto";
import type { Kernel } from "../../../kernel/kernel.js";
import { Process } from "../../../kernel/proc/process.js";
import { directMapOf, type FuzzArch, imageVaOf, KERNEL_TARGETS, type BootedKernel } from "./kernel-targets.js";

/** A secret only the kernel can reach: planted at the target's secretPas before the run. */
export const SECRET = "KERNEL-SECRET-7f3a9c";
const RISCV = KERNEL_TARGETS.riscv64;
/** riscv64's secret addresses and device-tree strings (the riscv64 suites' names; other arches: KERNEL_TARGETS). */
export const SECRET_PAS = RISCV.secretPas;
export const DTB_STRINGS = RISCV.platformStrings;

/** riscv64's kernel virtual addresses of a physical address: the direct map, and the image mapping. */
export const directMap = (pa: number): bigint => directMapOf(RISCV, pa);
export const imageVa = (pa: number): bigint => imageVaOf(RISCV, pa);

/** One system call as the kernel saw it. */
export interface SyscallRecord {
  pid: number;
  nr: number;
  /** The generic number the kernel dispatched on (kernel/proc/syscalls.ts SYS; -1 for a number it does not know). */
  generic: number;
  /** The six argument registers (riscv64 a0..a5, arm64 x0..x5, x86_64 rdi, rsi, rdx, r10, r8, r9). */
  args: bigint[];
  /** The value stored as the call's result (signed); undefined if it never returned (exit, exec, still blocked). */
  result?: bigint;
  /** Console bytes written while the call was handled (set with the result). */
  output?: string;
}

/** What a fuzz run of the kernel produced. */
export interface KernelFuzzRun {
  result: { reason: string; exitCode: number; message?: string };
  /**
   * The run used up its host CPU-time budget before its instruction limit (it was stopped there): the
   * guest made the machine spend far more host time per instruction than any program should.
   */
  stalled: boolean;
  /**
   * When the run stalled: every live process was asleep (or waiting for one that is) with the next
   * wake-up more than {@link FAR_WAKEUP_TICKS} away. An x86_64 machine idles through such a sleep
   * one local APIC timer period (2^39 ticks at most) at a time, each a trap that paranoid mode
   * checks in full: slow, but not a fault (see docs/fuzzing.md).
   */
  asleepFar: boolean;
  stdout: string;
  log: string[];
  calls: SyscallRecord[];
  /** Frames in use when the first process was about to be created. */
  bootUsedFrames: number;
  /** Digest of the RAM nothing may change after boot, at the first trap from user mode and at the end. */
  digestAtFirstCall: string | undefined;
  digestAtEnd: string;
  /** The first address past user space (from the first process that trapped). */
  userEnd: bigint | undefined;
  km: BootedKernel;
  kernel: Kernel;
}

export interface KernelFuzzOptions {
  /** Default riscv64. */
  arch?: FuzzArch;
  files?: { name: string; bytes: Uint8Array }[];
  maxInsns: number;
  /** Paranoid mode: invariants checked after every trap. */
  debug?: boolean;
  ramSize?: number;
  /** KernelOptions.seed: randomises the user layout (ASLR); unset, the fixed layout. */
  seed?: number;
  /**
   * Host CPU milliseconds the run may take before it counts as stalled (default
   * {@link HOST_BUDGET_MS}); CPU time, so a loaded machine does not make a run look stalled.
   */
  hostBudgetMs?: number;
  /**
   * Host CPU milliseconds after which a run whose processes all sleep far ahead is stopped (default
   * {@link FAR_SLEEP_MS}); Infinity for a test that asserts where such a sleep ends.
   */
  farSleepMs?: number;
}

/**
 * Instructions per slice of a run; the host-time budget is checked between slices (small, since
 * in paranoid mode each timer interrupt costs 1 to 5 ms: a slice of them must stay short).
 */
const SLICE = 250;
/** Host CPU milliseconds after which a run whose processes all sleep far ahead ({@link FAR_WAKEUP_TICKS}) is stopped. */
const FAR_SLEEP_MS = 500;
/** The longest one x86_64 local APIC timer period can be (2^32 counts divided by 128). */
export const FAR_WAKEUP_TICKS = 1n << 39n;
/** Default host CPU-time budget of one run (a normal run of the fuzz suites takes well under 1 s). */
export const HOST_BUDGET_MS = 4000;

function digest(bus: BootedKernel["bus"], ranges: [number, number][]): string {
  const h = createHash("sha256");
  for (const [pa, len] of ranges) {
    const ram = bus.ramAt(pa)!;
    h.update(ram.readBytes(pa - ram.base, len));
  }
  return h.digest("hex");
}

/** Boots `program` (with `files` in the ramdisk), plants the secret, and runs it, recording every system call. */
export function runKernelFuzz(program: Uint8Array, opts: KernelFuzzOptions): KernelFuzzRun {
  const target = KERNEL_TARGETS[opts.arch ?? "riscv64"];
  let stdout = "";
  const log: string[] = [];
  const km = target.boot({
    program, args: ["prog"], files: opts.files ?? [], debug: opts.debug, ramSize: opts.ramSize, seed: opts.seed,
    log: (line) => log.push(line), console: (b) => { stdout += String.fromCharCode(b); },
  });
  const kernel = km.kernel, bus = km.bus, arch = kernel.arch;
  const secret = new TextEncoder().encode(SECRET);
  for (const pa of target.secretPas) bus.load(pa, secret);
  let ranges: [number, number][] | undefined;

  const calls: SyscallRecord[] = [];
  const pending = new Map<number, { rec: SyscallRecord; outAt: number }>();
  let digestAtFirstCall: string | undefined;
  let userEnd: bigint | undefined;
  // The first trap from user mode: the digest of the stable RAM, and the end of user space.
  const trapInfo = arch.trapInfo.bind(arch);
  arch.trapInfo = () => {
    const t = trapInfo();
    if (t.fromUser && digestAtFirstCall === undefined) {
      ranges = target.stableRanges(kernel);
      digestAtFirstCall = digest(bus, ranges);
      userEnd = kernel.procs.current!.mm.userEnd;
    }
    return t;
  };
  // The kernel reads the number once per system call, from the saved frame (kernel.ts trap).
  const syscallNumber = arch.syscallNumber.bind(arch);
  arch.syscallNumber = (frame) => {
    const nr = syscallNumber(frame);
    const generic = arch.syscallTable === undefined ? nr : arch.syscallTable.get(nr) ?? -1;
    const rec: SyscallRecord = { pid: kernel.procs.current!.pid, nr, generic, args: [0, 1, 2, 3, 4, 5].map((i) => arch.syscallArg(frame, i)) };
    calls.push(rec);
    pending.set(frame, { rec, outAt: stdout.length });
    return nr;
  };
  const setReturn = arch.setSyscallReturn.bind(arch);
  arch.setSyscallReturn = (frame, v) => {
    const open = pending.get(frame);
    if (open) {
      open.rec.result = BigInt.asIntN(64, v);
      open.rec.output = stdout.slice(open.outAt);
      pending.delete(frame);
    }
    setReturn(frame, v);
  };
  let bootUsedFrames: number | undefined;
  const spawn = Process.spawn;
  Process.spawn = (k, image, argv, envp) => {
    bootUsedFrames ??= k.memory!.frames.getMemoryStats().usedFrames;
    return spawn.call(Process, k, image, argv, envp);
  };
  let result: KernelFuzzRun["result"];
  let stalled = false, asleepFar = false;
  const waitingFar = (): boolean => {
    const at = kernel.sleepers.earliest();
    const live = kernel.procs.processes().filter((p) => p.state !== "zombie");
    return at !== undefined && at - arch.now() > FAR_WAKEUP_TICKS && live.every((p) => p.state === "sleeping" || p.state === "waiting");
  };
  const cpuMs = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const started = cpuMs();
  try {
    for (let limit = Math.min(SLICE, opts.maxInsns); ; limit = Math.min(limit + SLICE, opts.maxInsns)) {
      result = km.run(limit);
      if (result.reason !== "max-insns" || limit >= opts.maxInsns) break;
      const spent = cpuMs() - started;
      // A machine asleep far ahead only re-arms its timer until then: stop it early (FAR_SLEEP_MS).
      if (spent > (opts.hostBudgetMs ?? HOST_BUDGET_MS) || (spent > (opts.farSleepMs ?? FAR_SLEEP_MS) && waitingFar())) {
        stalled = true;
        asleepFar = waitingFar();
        break;
      }
    }
  } finally {
    Process.spawn = spawn;
  }
  return {
    result: result!, stalled, asleepFar, stdout, log, calls, bootUsedFrames: bootUsedFrames ?? -1, digestAtFirstCall, userEnd, digestAtEnd: ranges === undefined ? "" : digest(bus, ranges), km, kernel,
  };
}
