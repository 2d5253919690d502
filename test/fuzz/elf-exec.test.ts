/**
 * ELF loading fuzzing in the kernel: mutated executables (header fields, program-header counts,
 * offsets and sizes, overlapping or kernel-space segments, filesz > memsz, huge memsz, entry
 * outside every segment, wrong class, encoding or machine) are run by execve from the ramdisk and
 * as the first program. The host never throws; the kernel never oopses or breaks an invariant
 * (paranoid mode); execve either runs the image or fails with ENOEXEC (exactly when the parser
 * refuses it), EACCES, E2BIG or ENOMEM, leaving the caller running; the RAM nothing may change after
 * boot is unchanged; and once every process has exited the leak detector reports nothing.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EM_RISCV, ElfError, parseElf } from "../../kernel/proc/elf.js";
import { SYS } from "../../kernel/proc/syscalls.js";
import { assembleRiscv64 } from "../../tools/asm/riscv64/index.js";
import { applyMutations, type ElfMutation, elfMutationsArb } from "./support/elf-mutate.js";
import { runKernelFuzz, type KernelFuzzRun } from "./support/kernel-run.js";
import { fuzzParams, fuzzTimeout } from "./support/params.js";

/** The target: prints "ok", touches its bss, exits 0. */
const target = assembleRiscv64(`
    .text
    .globl _start
_start:
    la      t0, buf
    sd      t0, 2040(t0)
    li      a0, 1
    la      a1, msg
    li      a2, 3
    li      a7, ${SYS.write}
    ecall
    li      a0, 0
    li      a7, ${SYS.exit}
    ecall
    .data
msg: .ascii "ok\\n"
    .bss
buf: .skip 8192
`, { fileName: "target.S" }).elf;
const TARGET_BASE = 0x8000_0000n;

/** The caller: execve("/t", ["t"], NULL); on failure exits with the low byte of the -errno. */
const caller = assembleRiscv64(`
    .text
    .globl _start
_start:
    la      a0, path
    la      a1, argv
    li      a2, 0
    li      a7, ${SYS.execve}
    ecall
    li      a7, ${SYS.exit}
    ecall
    .data
    .balign 8
argv: .dword path + 1, 0
path: .asciz "/t"
`, { fileName: "caller.S" }).elf;

const MAX_INSNS = 200_000;
const ENOEXEC = -8n, E2BIG = -7n, ENOMEM = -12n, EACCES = -13n;

/** What every kernel run must show, whatever the image did. */
function expectSoundKernel(run: KernelFuzzRun): void {
  expect(run.log.join("\n")).not.toMatch(/kernel oops|paranoid:|leak:/);
  expect(run.digestAtEnd).toBe(run.digestAtFirstCall);
  expect(["pass", "fail", "max-insns"]).toContain(run.result.reason);
  if (run.result.reason === "max-insns") return;
  const frames = run.kernel.memory!.frames;
  expect(frames.getMemoryStats().usedFrames).toBe(run.bootUsedFrames);
  expect(frames.audit()).toEqual([]);
  expect(run.kernel.leakReport()[0]).toMatch(/ 0 owner\(s\) of exited processes leaking$/);
}

/** Runs `mutations` of the target through execve and checks the kernel's answer. */
function execMutated(mutations: readonly ElfMutation[]): void {
  const bytes = applyMutations(target, mutations);
  let parsed: boolean;
  try {
    parseElf(bytes, EM_RISCV);
    parsed = true;
  } catch (e) {
    if (!(e instanceof ElfError)) throw e;
    parsed = false;
  }
  const run = runKernelFuzz(caller, { files: [{ name: "t", bytes }], maxInsns: MAX_INSNS, debug: true, ramSize: 32 << 20 });
  expectSoundKernel(run);
  const exec = run.calls.find((c) => c.pid === 1 && c.nr === SYS.execve);
  expect(exec).toBeDefined();
  if (!parsed) expect(exec!.result).toBe(ENOEXEC);
  else if (exec!.result !== undefined) expect([EACCES, E2BIG, ENOMEM]).toContain(exec!.result);
}

/** Boots `mutations` of the target as the first program: refused with ElfError before the run, or run soundly. */
function spawnMutated(mutations: readonly ElfMutation[]): void {
  const bytes = applyMutations(target, mutations);
  let run: KernelFuzzRun;
  try {
    run = runKernelFuzz(bytes, { maxInsns: MAX_INSNS, debug: true, ramSize: 32 << 20 });
  } catch (e) {
    if (e instanceof ElfError) return;
    throw e;
  }
  if (run.log.some((l) => l.startsWith("kernel: cannot run the program"))) {
    expect(run.result.exitCode).toBe(2);
    expect(run.log.join("\n")).not.toMatch(/kernel oops|paranoid:/);
    expect(run.kernel.leakReport()[0]).toMatch(/ 0 owner\(s\) of exited processes leaking$/);
    return;
  }
  expectSoundKernel(run);
}

describe("mutated executables in the kernel", () => {
  it("execve runs them or fails cleanly (ENOEXEC exactly when the parser refuses), and the kernel stays sound", () => {
    fc.assert(fc.property(elfMutationsArb(target, TARGET_BASE), (ms) => execMutated(ms)), fuzzParams(20, 0xe1fe01));
  }, fuzzTimeout(20, 5000));

  it("as the first program, they are refused before boot, refused by the kernel with status 2, or run soundly", () => {
    fc.assert(fc.property(elfMutationsArb(target, TARGET_BASE), (ms) => spawnMutated(ms)), fuzzParams(20, 0xe1fe02));
  }, fuzzTimeout(20, 5000));
});
