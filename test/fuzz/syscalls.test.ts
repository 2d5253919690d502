/**
 * System-call fuzzing from user mode: programs issue random system-call numbers with random
 * arguments — kernel addresses (the direct map at 0xffff_ffc0_0000_0000, the image at
 * 0xffff_ffff_8000_0000, a planted secret among them), unmapped, misaligned and page-crossing
 * buffers, huge lengths — fork, wait with kernel status pointers, and load and store through
 * kernel pointers. Every run is bounded by an instruction count and runs in paranoid mode.
 *
 * Checked: the host never throws and the kernel never oopses or breaks an invariant; every result
 * is a value or a -errno, and unknown numbers get -ENOSYS; a call that names kernel memory as a
 * user buffer fails with -EFAULT and writes nothing to the console; nothing the kernel alone holds
 * (the secret, the device tree's strings) ever reaches the console; the RAM nothing may change after
 * boot is unchanged (so a store through a kernel pointer never lands, and a load never shows the
 * secret); and once every process has exited, every frame and heap block is back and the leak
 * detector reports nothing.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SYS } from "../../kernel/proc/syscalls.js";
import { assembleRiscv64 } from "../../tools/asm/riscv64/index.js";
import { DTB_STRINGS, runKernelFuzz, SECRET, type KernelFuzzRun, type SyscallRecord } from "./support/kernel-run.js";
import { actionsArb, type Action, EXEC_TARGET, programSource } from "./support/syscall-program.js";
import { fuzzParams, fuzzTimeout } from "./support/params.js";

const EFAULT = -14n, ENOSYS = -38n;
/** Every number the kernel implements. */
const IMPLEMENTED = new Set<number>(Object.values(SYS));
/** Instructions per run: far more than any generated program needs unless it sleeps or spins. */
const MAX_INSNS = 2_000_000;
const execTarget = assembleRiscv64(EXEC_TARGET, { fileName: "t.S" }).elf;

/** Runs the program of `actions` under the kernel in paranoid mode; a `seed` randomises the user layout (ASLR). */
function runActions(actions: readonly Action[], seed?: number): KernelFuzzRun {
  const { elf } = assembleRiscv64(programSource(actions), { fileName: "fuzz.S" });
  return runKernelFuzz(elf, { files: [{ name: "t", bytes: execTarget }], maxInsns: MAX_INSNS, debug: true, ramSize: 32 << 20, seed });
}

/** Unsigned `a + b` crosses `end` (or wraps past 2^64). */
const reaches = (a: bigint, len: bigint, end: bigint): boolean => BigInt.asUintN(64, a) + len > end;

/** The rules one recorded call must satisfy; `userEnd` is the first address past user space. */
function checkCall(c: SyscallRecord, userEnd: bigint): void {
  const where = `pid ${c.pid} syscall ${c.nr}(${c.args.map((a) => "0x" + a.toString(16)).join(", ")}) = ${c.result}`;
  if (c.result === undefined) return;
  const r = c.result;
  expect(r >= -4095n, where).toBe(true);
  if (!IMPLEMENTED.has(c.nr)) expect(r, where).toBe(ENOSYS);
  const [a0, a1, a2] = c.args as [bigint, bigint, bigint];
  if (c.nr !== SYS.wait4) {
    const printed = (c.nr === SYS.write || c.nr === SYS.writev) && r > 0n ? Number(r) : 0;
    expect(c.output?.length, where).toBe(printed);
  }
  switch (c.nr) {
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

/** The rules of the whole run. */
function checkRun(run: KernelFuzzRun): void {
  expect(run.stalled, "the run stalled the host").toBe(false);
  const log = run.log.join("\n");
  expect(log).not.toMatch(/kernel oops|paranoid:|leak:/);
  for (const s of [SECRET.slice(0, 8), ...DTB_STRINGS]) expect(run.stdout).not.toContain(s);
  expect(run.digestAtFirstCall).toBeDefined();
  expect(run.digestAtEnd).toBe(run.digestAtFirstCall);
  const userEnd = run.userEnd!;
  for (const c of run.calls) checkCall(c, userEnd);
  expect(["pass", "fail", "max-insns", "wfi-hang"]).toContain(run.result.reason);
  // A process asleep "forever" (a wake-up past the 64-bit clock, kernel/proc/sleep.ts NEVER) with
  // nothing else to run: the machine waits for good, which the emulator reports as a hang.
  if (run.result.reason === "wfi-hang") expect(run.kernel.sleepers.sleepsForever()).toBe(true);
  if (run.result.reason === "max-insns" || run.result.reason === "wfi-hang") return;
  const frames = run.kernel.memory!.frames;
  expect(run.kernel.procs.processes().filter((p) => p.state !== "zombie")).toEqual([]);
  expect(frames.getMemoryStats().usedFrames).toBe(run.bootUsedFrames);
  expect(frames.audit()).toEqual([]);
  const report = run.kernel.leakReport();
  expect(report[0]).toMatch(/ 0 owner\(s\) of exited processes leaking$/);
  expect(report.filter((l) => /"pid \d+/.test(l))).toEqual([]);
}

describe("random system calls from user mode", () => {
  it("never crash the host or the kernel, never reach kernel memory, and leave nothing behind", () => {
    let finished = 0, calls = 0;
    fc.assert(fc.property(actionsArb(), fc.option(fc.nat(), { nil: undefined }), (actions, seed) => {
      const run = runActions(actions, seed);
      checkRun(run);
      calls += run.calls.length;
      if (run.result.reason !== "max-insns") finished++;
    }), fuzzParams(30, 0x5c5c01));
    expect(finished).toBeGreaterThan(0);
    expect(calls).toBeGreaterThan(0);
  }, fuzzTimeout(30, 10_000));
});
