/**
 * `multios run --arch riscv64 PROG --file [NAME=]PATH ... [--seed N | --no-aslr]`: files go into the
 * initial ramdisk where execve finds them (assembly sources are assembled, named after their base
 * name), and the seed fixes the layout of a run. Runs bin/multios.js (rebuilt by the vitest
 * global setup).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { STACK_TOP } from "../kernel/proc/aslr.js";
import { ASM_LIB } from "./support/kernel-asm.js";

const BIN = new URL("../bin/multios.js", import.meta.url).pathname;
const EXAMPLES = new URL("../examples/kernel/", import.meta.url).pathname;
const EXEC = join(EXAMPLES, "exec.S"), ARGV = join(EXAMPLES, "argv.S");
const dir = mkdtempSync(join(tmpdir(), "multios-cli-files-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function multios(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "latin1", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, content: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

/** Prints its initial stack pointer. */
const SP = file("sp.S", `
    .text
    .globl _start
_start:
    mv      a0, sp
    jal     puthex
    li      a0, 0
    li      a7, 93
    ecall
${ASM_LIB}`);

describe("multios run --file", () => {
  it("puts an assembly file in the ramdisk under its base name; the first program execs it by path", () => {
    const r = multios("run", "--arch", "riscv64", EXEC, "--file", ARGV, "/argv", "one", "two words");
    expect(r.stdout).toBe("argc 3\nargv: /argv\nargv: one\nargv: two words\n");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(3);
  });

  it("NAME=PATH chooses the name; a leading slash in the path given to execve is optional", () => {
    const r = multios("run", "--arch", "riscv64", EXEC, "--file", `bin/show=${ARGV}`, "bin/show", "x");
    expect(r.stdout).toBe("argc 2\nargv: bin/show\nargv: x\n");
    expect(r.status).toBe(2);
  });

  it("takes several files, ELF or data; execve of a data file says ENOEXEC, of a missing one ENOENT", () => {
    const data = file("data.bin", Uint8Array.from([1, 2, 3]));
    const files = ["--file", ARGV, "--file", data];
    const noexec = multios("run", "--arch", "riscv64", EXEC, ...files, "/data.bin");
    expect(noexec.stdout).toBe("exec: /data.bin: error 8\n");
    expect(noexec.status).toBe(8);
    const missing = multios("run", "--arch", "riscv64", EXEC, ...files, "/nothing");
    expect(missing.stdout).toBe("exec: /nothing: error 2\n");
    expect(missing.status).toBe(2);
  });

  it("the first program is in the ramdisk too, under its argv[0]", () => {
    const r = multios("run", "--arch", "riscv64", EXEC, "/exec", "/argv");
    expect(r.stdout).toBe("exec: /argv: error 2\n");
    expect(r.status).toBe(2);
  });

  it.each([
    ["a file that cannot be read", ["--file", join(dir, "absent.elf")], /^multios: cannot read .*absent\.elf: ENOENT\n$/],
    ["the same name twice", ["--file", ARGV, "--file", `argv=${SP}`], /^multios: ramdisk file name "argv" is already used by another file\n$/],
    ["the program's own name", ["--file", `exec=${ARGV}`], /^multios: ramdisk file name "exec" is already used by the program \(argv\[0\]\)\n$/],
    ["an empty name", ["--file", `=${ARGV}`], /^multios: --file '=.*': expected \[NAME=\]PATH with a non-empty name and path\n$/],
  ])("refuses %s with one line and status 2", (_, args, message) => {
    const r = multios("run", "--arch", "riscv64", EXEC, ...args);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe("");
    expect(r.status).toBe(2);
  });

  it("--file is a kernel option: refused with --bare", () => {
    const r = multios("run", "--arch", "riscv64", "--bare", SP, "--file", ARGV);
    expect(r.stderr).toBe("multios: --file is a kernel option; it does not apply with --bare\n");
    expect(r.status).toBe(2);
  });
});

describe("multios run --seed / --no-aslr", () => {
  const sp = (...flags: string[]): bigint => {
    const r = multios("run", "--arch", "riscv64", SP, ...flags);
    expect(r.status).toBe(0);
    return BigInt(r.stdout);
  };

  it("the same seed gives the same stack twice; other seeds move it; the default is seed 0", () => {
    const a = sp("--seed", "5");
    expect(sp("--seed", "5")).toBe(a);
    expect(sp("--seed", "6")).not.toBe(a);
    expect(sp()).toBe(sp("--seed", "0"));
  });

  it("--no-aslr puts the stack at the fixed top whatever the seed", () => {
    const fixed = sp("--no-aslr");
    expect(fixed < STACK_TOP && fixed > STACK_TOP - 4096n).toBe(true);
    expect(sp("--no-aslr", "--seed", "9")).toBe(fixed);
    expect(sp("--seed", "9")).not.toBe(fixed);
  });

  it("a seed that is not a whole number is a usage error", () => {
    const r = multios("run", "--arch", "riscv64", SP, "--seed", "-3");
    expect(r.stderr).toBe("multios: --seed '-3' is not a whole number below 2^53\n");
    const s = multios("run", "--arch", "riscv64", SP, "--seed=1.5");
    expect(s.stderr).toBe("multios: --seed '1.5' is not a whole number below 2^53\n");
    expect(s.status).toBe(2);
  });
});
