/**
 * Reference check: each bare-metal AArch64 program, assembled (and for C, compiled with clang -O2
 * -mgeneral-regs-only) by the GNU/LLVM toolchain, prints the same bytes and exits with the same
 * status under `qemu-system-aarch64 -M virt -cpu cortex-a57 -kernel IMAGE.elf` as on MultiOS's
 * arm64-virt. Skips (with a printed reason) when a tool is missing.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assemble } from "../../tools/asm/index.js";
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

describe.skipIf(!haveQemu)("an SMP program under QEMU -smp 4 and MultiOS --harts 4", () => {
  it("examples/smp-arm64.S (assembled by multios asm): same console bytes and exit status", () => {
    const source = readFileSync(new URL("../../examples/smp-arm64.S", import.meta.url), "utf8");
    const { elf } = assemble("arm64", source, { fileName: "smp-arm64.S" });
    const path = join(mkdtempSync(join(tmpdir(), "multios-qemu-arm64-smp-")), "smp.elf");
    writeFileSync(path, elf);
    const q = runQemu(path, ["-smp", "4"]);
    const ours = runArm64(elf, { cpus: 4 });
    expect(q.console).toContain("cpus 1-3 are off");
    expect(ours.console).toBe(q.console);
    expect(ours.result.exitCode).toBe(q.status);
  });
});
