/**
 * Reference check: each bare-metal AArch64 program, assembled (and for C, compiled with clang -O2
 * -mgeneral-regs-only) by the GNU/LLVM toolchain, prints the same bytes and exits with the same
 * status under `qemu-system-aarch64 -M virt -cpu cortex-a57 -kernel IMAGE.elf` as on MultiOS's
 * arm64-virt. Skips (with a printed reason) when a tool is missing.
 */
import { describe, expect, it } from "vitest";
import { assembleFixture, buildCProgram, haveClang, haveGnu, haveQemu, runArm64, runQemu, AS } from "../fixtures/arm64/support.js";

if (!haveQemu) console.log("skipping arm64 QEMU reference tests: qemu-system-aarch64 is not installed (apt-get install qemu-system-arm)");
if (!haveGnu) console.log("skipping arm64 QEMU reference tests: aarch64-linux-gnu-as/ld are not installed (apt-get install binutils-aarch64-linux-gnu)");
if (!haveClang) console.log("skipping the arm64 C reference program: clang is not installed");

const PROGRAMS = ["hello", "alu", "memory", "exceptions", "timer"];

describe.skipIf(!haveQemu || !haveGnu)(`bare-metal programs under QEMU and MultiOS (${AS})`, () => {
  it.each(PROGRAMS)("%s: same console bytes and exit status", (name) => {
    const { path, elf } = assembleFixture(name);
    const q = runQemu(path);
    const ours = runArm64(elf);
    expect(ours.console).toBe(q.console);
    expect(ours.result.exitCode).toBe(q.status);
  });

  it.skipIf(!haveClang).each([false, true])("clang -O2 C program (MMU on: %s): same console bytes and exit status", (mmu) => {
    const { path, elf } = buildCProgram(mmu ? "cprog-mmu" : "cprog", mmu);
    const q = runQemu(path);
    const ours = runArm64(elf);
    expect(ours.console).toContain("cprog: done");
    expect(ours.console).toBe(q.console);
    expect(ours.result.exitCode).toBe(q.status);
  });
});
