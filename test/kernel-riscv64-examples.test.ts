/**
 * The example Linux programs in examples/kernel/ pass their own checks under the kernel (the
 * qemu-user reference test compares them with Linux where qemu-riscv64 is installed), and every
 * frame they used is back when they end.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { expectFullReclaim, runKernel } from "./support/run-kernel.js";

const EXAMPLES = new URL("../examples/kernel/", import.meta.url).pathname;

describe("examples/kernel programs under the TypeScript kernel", () => {
  it("hello prints two lines (write, writev) and exits 42", () => {
    const run = runKernel(readFileSync(join(EXAMPLES, "hello.S"), "utf8"));
    expect(run.stdout).toBe("hello, world\nhello again, in two pieces\n");
    expect(run.exitCode).toBe(42);
    expectFullReclaim(run);
  });

  it("argv prints argc and each argument, and exits with argc", () => {
    const run = runKernel(readFileSync(join(EXAMPLES, "argv.S"), "utf8"), { args: ["argv", "one", "two words", ""] });
    expect(run.stdout).toBe("argc 4\nargv: argv\nargv: one\nargv: two words\nargv: \n");
    expect(run.exitCode).toBe(4);
    expectFullReclaim(run);
  });

  it("argv finds arguments that take several pages of the initial stack", () => {
    const long = "x".repeat(3 * 4096 + 123);
    const run = runKernel(readFileSync(join(EXAMPLES, "argv.S"), "utf8"), { args: ["argv", long, "end"] });
    expect(run.stdout).toBe(`argc 3\nargv: argv\nargv: ${long}\nargv: end\n`);
    expect(run.exitCode).toBe(3);
    expectFullReclaim(run);
  });

  it.each([["mmap", 10], ["brk", 6], ["fork", 8], ["errors", 12]])("%s passes all its %i checks", (name, checks) => {
    const run = runKernel(readFileSync(join(EXAMPLES, `${name}.S`), "utf8"));
    expect(run.log).toEqual([]);
    expect(run.stdout.match(/^ok /gm)).toHaveLength(checks);
    expect(run.stdout).not.toMatch(/^FAIL /m);
    expect(run.exitCode).toBe(0);
    expectFullReclaim(run);
  });
});
