/**
 * System-call fuzzing from user mode, on the riscv64, arm64 and x86_64 kernels (each with its own
 * Linux system-call numbers and calling convention): programs issue random system-call numbers with
 * random arguments — kernel addresses (the direct map, the image at 0xffff_ffff_8000_0000, a planted
 * secret among them), unmapped, misaligned and page-crossing
 * buffers, huge lengths — fork, wait with kernel status pointers, and load and store through
 * kernel pointers. Every run is bounded by an instruction count and runs in paranoid mode.
 *
 * Checked: the host never throws and the kernel never oopses or breaks an invariant; every result
 * is a value or a -errno, and unknown numbers get -ENOSYS; a call that names kernel memory as a
 * user buffer fails with -EFAULT and writes nothing to the console; nothing the kernel alone holds
 * (the secret, the device tree's strings) ever reaches the console; the RAM nothing may change after
 * boot is unchanged (so a store through a kernel pointer never lands, and a load never shows the
 * secret); and once every process has exited, every frame and heap block is back and the leak
 * detector reports nothing. The rules are in support/syscall-checks.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FUZZ_ARCHES, type FuzzArch } from "./support/kernel-targets.js";
import { checkRun, runActions } from "./support/syscall-checks.js";
import { syscallFuzz } from "./support/syscall-program.js";
import { fuzzParams, fuzzTimeout } from "./support/params.js";

/** Programs per architecture in `npm test`, and each architecture's fixed seed. */
const RUNS: Record<FuzzArch, number> = { riscv64: 30, arm64: 20, x86_64: 20 };
const SEEDS: Record<FuzzArch, number> = { riscv64: 0x5c5c01, arm64: 0x5c5ca4, x86_64: 0x5c5c86 };

describe.each(FUZZ_ARCHES)("random system calls from user mode on %s", (arch) => {
  it("never crash the host or the kernel, never reach kernel memory, and leave nothing behind", () => {
    const gen = syscallFuzz(arch);
    let finished = 0, calls = 0;
    fc.assert(fc.property(gen.actionsArb(), fc.option(fc.nat(), { nil: undefined }), (actions, seed) => {
      const run = runActions(arch, actions, seed);
      checkRun(arch, run);
      calls += run.calls.length;
      if (run.result.reason !== "max-insns") finished++;
    }), fuzzParams(RUNS[arch], SEEDS[arch]));
    expect(finished).toBeGreaterThan(0);
    expect(calls).toBeGreaterThan(0);
  }, fuzzTimeout(RUNS[arch], 10_000));
});
