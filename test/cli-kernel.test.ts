/**
 * `multios run --arch riscv64 PROG [ARGS...]` without --bare, as a user runs it: the program runs
 * as the first process of the TypeScript kernel, its output goes to stdout, kernel reports to
 * stderr, and the exit status is the program's (128 + signal when a fault killed it).
 * Runs bin/multios.js (the bundle is rebuilt by the vitest global setup).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const BIN = new URL("../bin/multios.js", import.meta.url).pathname;
const EXAMPLES = new URL("../examples/kernel/", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "multios-cli-kernel-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function multios(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "latin1", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

describe("multios run (kernel)", () => {
  it("runs an assembly program with arguments; argv[0] is the file name without .S", () => {
    const r = multios("run", "--arch", "riscv64", join(EXAMPLES, "argv.S"), "one", "two words");
    expect(r.stdout).toBe("argc 3\nargv: argv\nargv: one\nargv: two words\n");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(3);
  });

  it("exits with the program's exit status", () => {
    const r = multios("run", "--arch", "riscv64", join(EXAMPLES, "hello.S"));
    expect(r.stdout).toBe("hello, world\nhello again, in two pieces\n");
    expect(r.status).toBe(42);
  });

  it("a program killed by a segmentation fault: status 139 and one report line on stderr", () => {
    const r = multios("run", "--arch", "riscv64", file("segv.S", "_start:\n  li t0, 0xffffffc080000000\n  sd zero, 0(t0)\n  li a7, 93\n  ecall\n"));
    expect(r.status).toBe(139);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^\[pid 1\] killed by signal 11: segfault: write to 0xffffffc080000000 \(kernel address\), pc 0x[0-9a-f]+\n$/);
  });

  it("a program killed by an illegal instruction: status 132 and one report line on stderr", () => {
    const r = multios("run", "--arch", "riscv64", file("ill.S", "_start:\n  csrr a0, satp\n  li a7, 93\n  ecall\n"));
    expect(r.status).toBe(132);
    expect(r.stderr).toMatch(/^\[pid 1\] killed by signal 4: illegal instruction at pc 0x80000000\n$/);
  });

  it("output written before a kill is not lost, and the report is the only line on stderr", () => {
    const r = multios("run", "--arch", "riscv64", file("late.S", `
    .section .rodata
msg: .ascii "before\\n"
    .text
_start:
    li a0, 1
    la a1, msg
    li a2, 7
    li a7, 64
    ecall
    sd zero, 0(zero)
`));
    expect(r.stdout).toBe("before\n");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.status).toBe(139);
  });
});
