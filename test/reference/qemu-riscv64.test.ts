/**
 * Reference check: each bare-metal program, assembled by our assembler, prints the same bytes and
 * exits with the same status under `qemu-system-riscv64 -M virt -bios none` as on MultiOS.
 * Skips (with a printed reason) when QEMU is not installed.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assembleRiscv64 } from "../../tools/asm/riscv64/index.js";
import { runBare } from "../support/run-riscv64.js";

const QEMU = "qemu-system-riscv64";
const have = spawnSync(QEMU, ["--version"]).status === 0;
if (!have) console.log(`skipping QEMU reference tests: ${QEMU} is not installed (apt-get install qemu-system-misc)`);

const PROGRAMS = ["demo-riscv64", "mmu-faults-riscv64"];

describe.skipIf(!have)("bare-metal programs under QEMU and MultiOS", () => {
  const dir = have ? mkdtempSync(join(tmpdir(), "multios-qemu-")) : "";
  it.each(PROGRAMS)("%s: same console bytes and exit status", (name) => {
    const source = readFileSync(new URL(`../../examples/${name}.S`, import.meta.url), "utf8");
    const { elf } = assembleRiscv64(source, { fileName: `${name}.S` });
    const path = join(dir, `${name}.elf`);
    writeFileSync(path, elf);
    // The UART goes to a file: through a pipe, QEMU drops bytes the guest writes while the pipe is busy.
    const serial = join(dir, `${name}.out`);
    const q = spawnSync(QEMU, ["-M", "virt", "-bios", "none", "-display", "none", "-monitor", "none", "-serial", `file:${serial}`, "-kernel", path], {
      input: "", timeout: 30_000,
    });
    expect(q.error).toBeUndefined();
    const ours = runBare({ elf });
    expect(ours.console).toBe(readFileSync(serial, "latin1"));
    expect(ours.result.exitCode).toBe(q.status);
  });
});

describe.skipIf(!have)("an SMP program under QEMU -smp 4 and MultiOS --harts 4", () => {
  it("examples/smp-riscv64.S: same console bytes and exit status", () => {
    const dir = mkdtempSync(join(tmpdir(), "multios-qemu-smp-"));
    const source = readFileSync(new URL("../../examples/smp-riscv64.S", import.meta.url), "utf8");
    const { elf } = assembleRiscv64(source, { fileName: "smp-riscv64.S" });
    const path = join(dir, "smp.elf");
    writeFileSync(path, elf);
    const serial = join(dir, "smp.out");
    const q = spawnSync(QEMU, ["-M", "virt", "-smp", "4", "-bios", "none", "-display", "none", "-monitor", "none", "-serial", `file:${serial}`, "-kernel", path], {
      input: "", timeout: 30_000,
    });
    expect(q.error).toBeUndefined();
    const ours = runBare({ elf }, { harts: 4 });
    expect(ours.console).toBe(readFileSync(serial, "latin1"));
    expect(ours.result.exitCode).toBe(q.status);
  });
});

describe.skipIf(!have)("an S-mode payload under QEMU's OpenSBI and MultiOS's SBI firmware", () => {
  it("examples/sbi-smp-riscv64.S: QEMU prints OpenSBI's banner, then our output (OpenSBI's console turns \\n into \\r\\n); same exit status", () => {
    const dir = mkdtempSync(join(tmpdir(), "multios-qemu-sbi-"));
    const source = readFileSync(new URL("../../examples/sbi-smp-riscv64.S", import.meta.url), "utf8");
    const { elf } = assembleRiscv64(source, { fileName: "sbi-smp-riscv64.S", base: 0x8020_0000n });
    const path = join(dir, "sbi.elf");
    writeFileSync(path, elf);
    const serial = join(dir, "sbi.out");
    const q = spawnSync(QEMU, ["-M", "virt", "-smp", "4", "-display", "none", "-monitor", "none", "-serial", `file:${serial}`, "-kernel", path], {
      input: "", timeout: 30_000,
    });
    expect(q.error).toBeUndefined();
    const expected = readFileSync(new URL("../../examples/sbi-smp-riscv64.expected", import.meta.url), "latin1");
    const qemuOut = readFileSync(serial, "latin1").replace(/\r\n/g, "\n");
    expect(qemuOut.endsWith(expected)).toBe(true);
    expect(qemuOut).toContain("OpenSBI");
    expect(q.status).toBe(0);
  });
});
