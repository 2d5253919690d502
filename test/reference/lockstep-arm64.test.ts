/**
 * Lockstep reference check: the bare-metal arm64 programs run under QEMU one instruction per
 * translation block, logging the CPU state before each one:
 *   qemu-system-aarch64 -M virt -cpu cortex-a57 -singlestep -d cpu,nochain -D LOG -kernel ELF
 * and on MultiOS one step at a time (a step is one retired instruction or one exception taken,
 * which is what QEMU logs). Before every step PC, X0-X30, SP and PSTATE must be the same, with one
 * known difference: QEMU 7.2 clears NZCV on exception entry, MultiOS leaves it unchanged (as the
 * architecture and KVM do), so from an exception entry until the flags agree again NZCV is not
 * compared (SPSR_EL1 still records the same flags on both).
 * Skips (with a printed reason) when QEMU or the GNU toolchain is not installed.
 *
 * QEMU 7.2's AArch64 `-d cpu` block, as parsed here:
 *    PC=0000000040080000 X00=0000000000000000 X01=0000000000000000
 *   X02=... (three registers a line) ... X29=... X30=...  SP=0000000000000000
 *   PSTATE=400003c5 -Z-- EL1h
 */
import { describe, expect, it } from "vitest";
import { assembleFixture, buildCProgram, haveClang, haveGnu, haveQemu, lockstep } from "../fixtures/arm64/support.js";

if (!haveQemu || !haveGnu) console.log("skipping the arm64 lockstep test: qemu-system-aarch64 or aarch64-linux-gnu-as/ld is not installed");

const PROGRAMS = ["alu", "memory", "exceptions"];

describe.skipIf(!haveQemu || !haveGnu)("arm64 lockstep with qemu-system-aarch64 -d cpu", () => {
  it.each(PROGRAMS)("%s: PC, X0-X30, SP and PSTATE agree before every step", (name) => {
    const { path, elf } = assembleFixture(name);
    expect(lockstep(path, elf)).toBeGreaterThan(100);
  });

  it.skipIf(!haveClang).each([false, true])("clang -O2 C program, small sizes (MMU on: %s): every step agrees", (mmu) => {
    const { path, elf } = buildCProgram(mmu ? "cprog-small-mmu" : "cprog-small", mmu, ["N_ARR=40", "N_SIEVE=300", "FIB_N=9"]);
    expect(lockstep(path, elf)).toBeGreaterThan(10_000);
  });
});
