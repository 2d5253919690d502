/**
 * Reference check for the kernel's Linux ABI: the same static riscv64 program, run as
 *   qemu-riscv64 PROG.elf ARGS...                      (Linux user-mode emulation: the real ABI)
 *   multios run --arch riscv64 PROG.elf ARGS...         (our emulator and TypeScript kernel)
 * must print the same stdout and exit with the same status. The programs are examples/kernel/*.S,
 * assembled by our assembler (a static ET_EXEC at 0x8000_0000, and one linked at 0x10000 as Linux
 * programs usually are), and examples/kernel/fork-mmap.c built with riscv64-linux-gnu-gcc.
 *
 * Both run in a scratch directory with the program named by its bare file name, so argv[0] is the
 * same. qemu-user refuses a file without execute permission (exit 1, no message), hence the chmod.
 * Skips with a printed reason when qemu-riscv64 (Debian: qemu-user) or, for the C program,
 * riscv64-linux-gnu-gcc (Debian: gcc-riscv64-linux-gnu) is missing.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { assembleRiscv64 } from "../../tools/asm/riscv64/index.js";

const QEMU = "qemu-riscv64";
const CC = "riscv64-linux-gnu-gcc";
const CFLAGS = ["-static", "-nostdlib", "-ffreestanding", "-fno-stack-protector", "-O2", "-march=rv64imac", "-mabi=lp64"];
const BIN = new URL("../../bin/multios.js", import.meta.url).pathname;
const EXAMPLES = new URL("../../examples/kernel/", import.meta.url).pathname;

const haveQemu = spawnSync(QEMU, ["--version"]).status === 0;
const haveCc = spawnSync(CC, ["--version"]).status === 0;
if (!haveQemu) console.log(`skipping the qemu-user reference tests: ${QEMU} is not installed (apt-get install qemu-user)`);
else if (!haveCc) console.log(`skipping the C program of the qemu-user reference tests: ${CC} is not installed (apt-get install gcc-riscv64-linux-gnu)`);

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

const dir = haveQemu ? mkdtempSync(join(tmpdir(), "multios-qemu-user-")) : "";
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function run(command: string, args: string[]): Outcome {
  // A fixed, small environment: the programs do not print envp, but qemu passes its own to the guest.
  const r = spawnSync(command, args, { cwd: dir, encoding: "latin1", timeout: 30_000, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Writes `elf` as an executable file named `name` in the scratch directory. */
function install(name: string, elf: Uint8Array): string {
  writeFileSync(join(dir, name), elf);
  chmodSync(join(dir, name), 0o755);
  return name;
}

/** Runs `name` under both and checks they agree, and that MultiOS gives `status`; returns MultiOS's outcome. */
function expectSameAsLinux(name: string, args: string[], status: number): Outcome {
  const linux = run(QEMU, [name, ...args]);
  const ours = run(process.execPath, [BIN, "run", "--arch", "riscv64", name, ...args]);
  expect(ours.stderr).toBe("");
  expect(ours.stdout).toBe(linux.stdout);
  expect(ours.status).toBe(linux.status);
  expect(ours.status).toBe(status);
  expect(ours.stdout).not.toMatch(/^FAIL /m);
  return ours;
}

/** The example programs, the arguments they get, and the status they must exit with. */
const PROGRAMS: [name: string, args: string[], status: number][] = [
  ["hello", [], 42],
  ["argv", ["one", "two words", ""], 4],
  ["mmap", [], 0],
  ["brk", [], 0],
  ["fork", [], 0],
  ["errors", [], 0],
];

const source = (name: string): string => readFileSync(join(EXAMPLES, `${name}.S`), "utf8");

describe.skipIf(!haveQemu)("static programs under qemu-riscv64 and under multios run", () => {
  it.each(PROGRAMS)("%s %j: same stdout and exit status", (name, args, status) => {
    const elf = install(`${name}.elf`, assembleRiscv64(source(name), { fileName: `${name}.S` }).elf);
    expectSameAsLinux(elf, args, status);
  });

  it("argv linked at 0x10000, where Linux programs usually start: same stdout and exit status", () => {
    const elf = install("argv-10000.elf", assembleRiscv64(source("argv"), { fileName: "argv.S", base: 0x10000n }).elf);
    const out = expectSameAsLinux(elf, ["x"], 2);
    expect(out.stdout).toBe("argc 2\nargv: argv-10000.elf\nargv: x\n");
  });

  it.skipIf(!haveCc)("a freestanding C program built by gcc (mmap, fork, wait4): same stdout and exit status", () => {
    const c = join(EXAMPLES, "fork-mmap.c");
    const built = spawnSync(CC, [...CFLAGS, "-o", join(dir, "fork-mmap.elf"), c], { encoding: "utf8" });
    expect(built.stderr).toBe("");
    expect(built.status).toBe(0);
    chmodSync(join(dir, "fork-mmap.elf"), 0o755);
    const out = expectSameAsLinux("fork-mmap.elf", ["x", "y z"], 0);
    expect(out.stdout).toMatch(/^argc 3\nargv: fork-mmap\.elf\nargv: x\nargv: y z\n/);
    expect(out.stdout.match(/^ok /gm)).toHaveLength(10);
  });
});
