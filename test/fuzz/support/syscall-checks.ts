/**
 * The rules of the system-call fuzz suite (syscalls.test.ts), for every architecture: a run's
 * recorded calls and its end state are checked here, so the suite and the regression tests that
 * replay its findings apply the same rules.
 */
import { expect } from "vitest";
import { SYS } from "../../../kernel/proc/syscalls.js";
import { runKernelFuzz, SECRET, type KernelFuzzRun, type SyscallRecord } from "./kernel-run.js";
import { type FuzzArch, KERNEL_TARGETS } from "./kernel-targets.js";
import { type Action, syscallFuzz, type SyscallFuzz } from "./syscall-program.js";

const EFAULT = -14n, ENOSYS = -38n;
/** Every number the kernel implements. */
const IMPLEMENTED = new Set<number>(Object.values(SYS));
/** Instructions per run: far more than any generated program needs unless it sleeps or spins. */
const MAX_INSNS = 2_000_000;

/** Runs the program of `actions` on `arch`'s kernel in paranoid mode; a `seed` randomises the user layout (ASLR). */
export function runActions(arch: FuzzArch, actions: readonly Action[], seed?: number): KernelFuzzRun {
  let g = generators.get(arch);
  if (g === undefined) {
    const gen = syscallFuzz(arch);
    g = { gen, execTarget: gen.execTarget() };
    generators.set(arch, g);
  }
  const elf = g.gen.dialect.assemble(g.gen.programSource(actions), "fuzz.S");
  return runKernelFuzz(elf, { arch, files: [{ name: "t", bytes: g.execTarget }], maxInsns: MAX_INSNS, debug: true, ramSize: 32 << 20, seed });
}
/** Each architecture's generator and assembled exec target, built once. */
const generators = new Map<FuzzArch, { gen: SyscallFuzz; execTarget: Uint8Array }>();

/** Unsigned `a + b` crosses `end` (or wraps past 2^64). */
const reaches = (a: bigint, len: bigint, end: bigint): boolean => BigInt.asUintN(64, a) + len > end;

/** The rules one recorded call must satisfy; `userEnd` is the first address past user space. */
export function checkCall(c: SyscallRecord, userEnd: bigint): void {
  const where = `pid ${c.pid} syscall ${c.nr}(${c.args.map((a) => "0x" + a.toString(16)).join(", ")}) = ${c.result}`;
  if (c.result === undefined) return;
  const r = c.result;
  expect(r >= -4095n, where).toBe(true);
  const nr = c.generic;
  if (!IMPLEMENTED.has(nr)) expect(r, where).toBe(ENOSYS);
  const [a0, a1, a2] = c.args as [bigint, bigint, bigint];
  if (nr !== SYS.wait4) {
    const printed = (nr === SYS.write || nr === SYS.writev) && r > 0n ? Number(r) : 0;
    expect(c.output?.length, where).toBe(printed);
  }
  switch (nr) {
    case SYS.write:
      if ((a0 === 1n || a0 === 2n) && a2 > 0n && reaches(a1, a2, userEnd)) expect(r, where).toBe(EFAULT);
      break;
    case SYS.wait4:
      if (a1 !== 0n && a1 >= userEnd) expect(r <= 0n, where).toBe(true);
      break;
    case SYS.nanosleep:
    case SYS.execve:
      if (reaches(a0, 1n, userEnd)) expect(r, where).toBe(EFAULT);
      break;
    case SYS.mmap:
      if (r >= 0n) expect(r + a1 <= userEnd, where).toBe(true);
      break;
    case SYS.munmap:
    case SYS.mprotect:
      if (a0 >= userEnd) expect(r < 0n, where).toBe(true);
      break;
    case SYS.brk:
      expect(r >= 0n && r < userEnd, where).toBe(true);
      break;
  }
}

/** The rules of the whole run on `arch`. */
export function checkRun(arch: FuzzArch, run: KernelFuzzRun): void {
  const target = KERNEL_TARGETS[arch];
  // A stall is a fault unless every process sleeps far ahead (an x86_64 machine wakes once per
  // local APIC timer period on the way there; kernel-run.ts asleepFar).
  expect(run.stalled && !run.asleepFar, "the run stalled the host").toBe(false);
  const log = run.log.join("\n");
  expect(log).not.toMatch(/kernel oops|paranoid:|leak:/);
  for (const s of [SECRET.slice(0, 8), ...target.platformStrings]) expect(run.stdout).not.toContain(s);
  expect(run.digestAtFirstCall).toBeDefined();
  expect(run.digestAtEnd).toBe(run.digestAtFirstCall);
  const userEnd = run.userEnd!;
  for (const c of run.calls) checkCall(c, userEnd);
  expect([...target.endReasons, "max-insns", target.hangReason], run.result.message).toContain(run.result.reason);
  // A process asleep "forever" (a wake-up past the 64-bit clock, kernel/proc/sleep.ts NEVER) with
  // nothing else to run: the machine waits for good, which the emulator reports as a hang.
  if (run.result.reason === target.hangReason) expect(run.kernel.sleepers.sleepsForever()).toBe(true);
  if (run.result.reason === "max-insns" || run.result.reason === target.hangReason) return;
  const frames = run.kernel.memory!.frames;
  expect(run.kernel.procs.processes().filter((p) => p.state !== "zombie")).toEqual([]);
  expect(frames.getMemoryStats().usedFrames).toBe(run.bootUsedFrames);
  expect(frames.audit()).toEqual([]);
  const report = run.kernel.leakReport();
  expect(report[0]).toMatch(/ 0 owner\(s\) of exited processes leaking$/);
  expect(report.filter((l) => /"pid \d+/.test(l))).toEqual([]);
}

