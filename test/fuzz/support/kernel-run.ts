/**
 * Runs a user program under the kernel for the kernel-facing fuzz suites, watching every system
 * call: its number and arguments at the `ecall` (from the trap trace, before the kernel acts) and
 * its result (from the kernel's setSyscallReturn, wrapped on this instance), with the console
 * output around it. Also plants a secret in kernel-only RAM and digests the RAM that nothing may
 * change after boot (firmware, kernel text, the program module and ramdisk, the device tree).
 */
import { createHash } from "node:crypto";
import { BOOT_INFO_ADDR, bootKernel, FIRMWARE_BASE, FIRMWARE_SIZE, KERNEL_BASE, KERNEL_VA, type KernelMachine } from "../../../boot/riscv64/kernel-boot.js";
import type { RunResult } from "../../../emulator/arch/riscv64/machine.js";
import { RISCV_PHYSICAL_OFFSET } from "../../../kernel/arch/riscv64/kernel-arch.js";
import { readBootInfo } from "../../../kernel/boot-info.js";
import type { Kernel } from "../../../kernel/kernel.js";
import { Process } from "../../../kernel/proc/process.js";

/** scause of an environment call from U-mode. */
const ECALL_FROM_U = 8;

/** A secret only the kernel can reach: planted at {@link SECRET_PAS} before the run. */
export const SECRET = "KERNEL-SECRET-7f3a9c";
/** Where the secret is planted: unused firmware RAM, and the kernel text page after the idle loop. */
export const SECRET_PAS = [FIRMWARE_BASE + 0x10_0000, KERNEL_BASE + 0x800] as const;
/** Strings of the device tree, which no user process ever holds. */
export const DTB_STRINGS = ["riscv-virtio,qemu", "sifive,clint0"] as const;

/** Kernel virtual addresses of a physical address: the direct map, and the image mapping for the kernel's 2 MiB. */
export const directMap = (pa: number): bigint => RISCV_PHYSICAL_OFFSET + BigInt(pa);
export const imageVa = (pa: number): bigint => KERNEL_VA + BigInt(pa - KERNEL_BASE);

/** One system call as the kernel saw it. */
export interface SyscallRecord {
  pid: number;
  nr: number;
  /** a0..a5. */
  args: bigint[];
  /** The value stored as the call's result (signed); undefined if it never returned (exit, exec, still blocked). */
  result?: bigint;
  /** Console bytes written while the call was handled (set with the result). */
  output?: string;
}

/** What a fuzz run of the kernel produced. */
export interface KernelFuzzRun {
  result: RunResult;
  /**
   * The run used up its host CPU-time budget before its instruction limit (it was stopped there): the
   * guest made the machine spend far more host time per instruction than any program should.
   */
  stalled: boolean;
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
  km: KernelMachine;
  kernel: Kernel;
}

export interface KernelFuzzOptions {
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
}

/** Instructions per slice of a run; the host-time budget is checked between slices. */
const SLICE = 50_000;
/** Default host CPU-time budget of one run (a normal run of the fuzz suites takes well under 1 s). */
export const HOST_BUDGET_MS = 4000;

/** The physical ranges that must not change once the kernel runs (read from the boot-info record). */
function stableRanges(km: KernelMachine): [number, number][] {
  const info = readBootInfo(km.kernel.hal, BOOT_INFO_ADDR);
  return [
    [FIRMWARE_BASE, FIRMWARE_SIZE],
    [KERNEL_BASE, 0x1000],
    [info.module.base, info.module.size],
    ...(info.ramdisk.size > 0 ? [[info.ramdisk.base, info.ramdisk.size] as [number, number]] : []),
    [info.dtb.base, info.dtb.size],
  ];
}

function digest(km: KernelMachine, ranges: [number, number][]): string {
  const ram = km.machine.bus.ramAt(km.ramBase)!;
  const h = createHash("sha256");
  for (const [pa, len] of ranges) h.update(ram.readBytes(pa - km.ramBase, len));
  return h.digest("hex");
}

/** Boots `program` (with `files` in the ramdisk), plants the secret, and runs it, recording every system call. */
export function runKernelFuzz(program: Uint8Array, opts: KernelFuzzOptions): KernelFuzzRun {
  let stdout = "";
  const log: string[] = [];
  const km = bootKernel({
    program, args: ["prog"], files: opts.files ?? [], debug: opts.debug, ramSize: opts.ramSize, seed: opts.seed,
    log: (line) => log.push(line), console: (b) => { stdout += String.fromCharCode(b); },
  });
  const kernel = km.kernel, hart = km.machine.harts[0]!, bus = km.machine.bus;
  const secret = new TextEncoder().encode(SECRET);
  for (const pa of SECRET_PAS) bus.load(pa, secret);
  let ranges: [number, number][] | undefined;

  const calls: SyscallRecord[] = [];
  const pending = new Map<number, { rec: SyscallRecord; outAt: number }>();
  let digestAtFirstCall: string | undefined;
  let userEnd: bigint | undefined;
  km.machine.setTrace((e) => {
    if (e.type !== "trap" || e.from !== "U") return;
    const p = kernel.procs.current!;
    ranges ??= stableRanges(km);
    digestAtFirstCall ??= digest(km, ranges);
    userEnd ??= p.mm.userEnd;
    if (e.interrupt || e.cause !== ECALL_FROM_U) return;
    const rec: SyscallRecord = { pid: p.pid, nr: Number(BigInt.asIntN(32, hart.x(17))), args: [10, 11, 12, 13, 14, 15].map((r) => hart.x(r)) };
    calls.push(rec);
    pending.set(p.frame, { rec, outAt: stdout.length });
  });
  const setReturn = kernel.arch.setSyscallReturn.bind(kernel.arch);
  kernel.arch.setSyscallReturn = (frame, v) => {
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
  let result: RunResult;
  let stalled = false;
  const cpuMs = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const started = cpuMs();
  try {
    for (let limit = Math.min(SLICE, opts.maxInsns); ; limit = Math.min(limit + SLICE, opts.maxInsns)) {
      result = km.machine.run({ maxInsns: limit });
      if (result.reason !== "max-insns" || limit >= opts.maxInsns) break;
      if (cpuMs() - started > (opts.hostBudgetMs ?? HOST_BUDGET_MS)) {
        stalled = true;
        break;
      }
    }
  } finally {
    Process.spawn = spawn;
  }
  return {
    result: result!, stalled, stdout, log, calls, bootUsedFrames: bootUsedFrames ?? -1, digestAtFirstCall, userEnd, digestAtEnd: ranges === undefined ? "" : digest(km, ranges), km, kernel,
  };
}
