/**
 * Reference check: each bare-metal AArch64 program, assembled (and for C, compiled with clang -O2
 * -mgeneral-regs-only) by the GNU/LLVM toolchain, prints the same bytes and exits with the same
 * status under `qemu-system-aarch64 -M virt -cpu cortex-a57 -kernel IMAGE.elf` as on MultiOS's
 * arm64-virt. Skips (with a printed reason) when a tool is missing.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assembleFixture, haveGnu, haveQemu, runArm64, runQemu, AS, LD } from "../fixtures/arm64/support.js";

const CLANG = "clang";
const haveClang = spawnSync(CLANG, ["--version"]).status === 0;
if (!haveQemu) console.log("skipping arm64 QEMU reference tests: qemu-system-aarch64 is not installed (apt-get install qemu-system-arm)");
if (!haveGnu) console.log("skipping arm64 QEMU reference tests: aarch64-linux-gnu-as/ld are not installed (apt-get install binutils-aarch64-linux-gnu)");
if (!haveClang) console.log("skipping the arm64 C reference program: clang is not installed");

const PROGRAMS = ["hello", "alu", "memory", "exceptions"];
const fixture = (name: string): string => new URL(`../fixtures/arm64/${name}`, import.meta.url).pathname;

/** Compiles cprog.c with crt0.S (MMU on with -DMMU_ON) and links it like the assembly programs. */
function buildC(mmu: boolean): { path: string; elf: Uint8Array } {
  const { path: libElf } = assembleFixture("hello"); // leaves lib.o in the work directory
  const dir = join(libElf, "..");
  const name = mmu ? "cprog-mmu" : "cprog";
  const run = (cmd: string, args: string[]): void => {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
  };
  const flags = ["--target=aarch64-none-elf", "-O2", "-mgeneral-regs-only", "-mstrict-align", "-ffreestanding", "-fno-stack-protector", "-nostdlib"];
  run(CLANG, [...flags, "-c", "-o", join(dir, `${name}.o`), fixture("cprog.c")]);
  run(CLANG, ["--target=aarch64-none-elf", ...(mmu ? ["-DMMU_ON"] : []), "-c", "-o", join(dir, `${name}-crt0.o`), fixture("crt0.S")]);
  const path = join(dir, `${name}.elf`);
  run(LD, ["-T", fixture("link.ld"), "-o", path, join(dir, `${name}-crt0.o`), join(dir, `${name}.o`), join(dir, "lib.o")]);
  return { path, elf: new Uint8Array(readFileSync(path)) };
}

describe.skipIf(!haveQemu || !haveGnu)(`bare-metal programs under QEMU and MultiOS (${AS})`, () => {
  it.each(PROGRAMS)("%s: same console bytes and exit status", (name) => {
    const { path, elf } = assembleFixture(name);
    const q = runQemu(path);
    const ours = runArm64(elf);
    expect(ours.console).toBe(q.console);
    expect(ours.result.exitCode).toBe(q.status);
  });

  it.skipIf(!haveClang).each([false, true])("clang -O2 C program (MMU on: %s): same console bytes and exit status", (mmu) => {
    const { path, elf } = buildC(mmu);
    const q = runQemu(path);
    const ours = runArm64(elf);
    expect(ours.console).toContain("cprog: done");
    expect(ours.console).toBe(q.console);
    expect(ours.result.exitCode).toBe(q.status);
  });
});
