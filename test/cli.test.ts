/**
 * The `multios` command as a user runs it: exit statuses, one-line errors, output, traces.
 * Runs bin/multios.js (the bundle is rebuilt by the vitest global setup).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const BIN = new URL("../bin/multios.js", import.meta.url).pathname;
const EXAMPLES = new URL("../examples/", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "multios-cli-"));

function multios(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "latin1", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, content: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

const FINISH = (code: number): string => `li t0, 0x100000\nli t1, ${code === 0 ? "0x5555" : `(${code} << 16) | 0x3333`}\nsw t1, 0(t0)\n1: j 1b\n`;

describe("multios run --bare", () => {
  it("runs an assembly file in one step and prints the UART output byte for byte", () => {
    const r = multios("run", "--arch", "riscv64", "--bare", join(EXAMPLES, "demo-riscv64.S"));
    expect(r.stdout).toBe(readFileSync(join(EXAMPLES, "demo-riscv64.expected"), "latin1"));
    expect(r.status).toBe(0);
  });

  it("runs an ELF built by `multios asm`", () => {
    const elf = join(dir, "mmu.elf");
    expect(multios("asm", "--arch", "riscv64", join(EXAMPLES, "mmu-faults-riscv64.S"), "-o", elf).status).toBe(0);
    const r = multios("run", "--arch", "riscv64", "--bare", elf);
    expect(r.stdout).toBe(readFileSync(join(EXAMPLES, "mmu-faults-riscv64.expected"), "latin1"));
    expect(r.status).toBe(0);
  });

  it("exits with the code the guest gives the test finisher", () => {
    expect(multios("run", "--arch", "riscv64", "--bare", file("fail.S", `_start:\n${FINISH(42)}`)).status).toBe(42);
  });

  it("stops a runaway guest at --max-insns with exit 124 and a message", () => {
    const r = multios("run", "--arch", "riscv64", "--bare", "--max-insns", "1000", file("spin.S", "_start: j _start\n"));
    expect(r.status).toBe(124);
    expect(r.stderr).toMatch(/^multios: stopped after 1000 instructions/);
  });

  it("stops a hart that waits for an interrupt that can never come, exit 125", () => {
    const r = multios("run", "--arch", "riscv64", "--bare", file("wfi.S", "_start: wfi\nj _start\n"));
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/wfi/);
  });

  it("writes a JSON Lines trace of traps and TLB fills with walk steps", () => {
    const trace = join(dir, "demo.jsonl");
    expect(multios("run", "--arch", "riscv64", "--bare", "--trace", trace, join(EXAMPLES, "demo-riscv64.S")).status).toBe(0);
    const events = readFileSync(trace, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    const trap = events.find((e) => e.type === "trap" && e.from === "U")!;
    expect(trap).toMatchObject({ arch: "riscv64", cause: 15, name: "store/AMO page fault", tval: "0x40001000", to: "S" });
    const fill = events.find((e) => e.type === "tlb-fill" && e.va === "0x40001000") as { steps: unknown[]; level: number } | undefined;
    expect(fill?.level).toBe(0);
    expect(fill?.steps).toHaveLength(3);
    expect(events.some((e) => e.type === "tlb-invalidate" && e.kind === "sfence.vma va")).toBe(true);
  });

  it("accepts a 64 GiB machine and the TLB, A/D and fast-path options without changing the output", () => {
    const r = multios("run", "--arch", "riscv64", "--bare", "--ram", "64G", "--tlb", "8/2,unified,nol2", "--svadu", "--no-fast-path", "--stats", join(EXAMPLES, "demo-riscv64.S"));
    expect(r.stdout).toBe(readFileSync(join(EXAMPLES, "demo-riscv64.expected"), "latin1"));
    expect(r.stderr).toMatch(/^stats: instructions \d+/m);
    expect(r.status).toBe(0);
  });
});

describe("bad input gets a one-line error and exit status 2", () => {
  const cases: [string, string[], RegExp][] = [
    ["a file that is not ELF", ["run", "--arch", "riscv64", "--bare", file("junk.elf", "hello, world")], /junk\.elf: not an ELF file/],
    ["an ELF for another machine", ["run", "--arch", "riscv64", "--bare", file("x86.elf", Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, ...new Array(9).fill(0), 2, 0, 62, 0, 1, 0, 0, 0, ...new Array(40).fill(0)]))], /x86_64|62/],
    ["a missing file", ["run", "--arch", "riscv64", "--bare", join(dir, "nope.elf")], /cannot read .*nope\.elf: ENOENT/],
    ["an assembly error", ["run", "--arch", "riscv64", "--bare", file("bad.S", "_start:\n  addi a0, a0, 99999\n")], /bad\.S:2:/],
    ["an unknown option", ["run", "--arch", "riscv64", "--bare", "--fast", "x.elf"], /unknown option --fast/],
    ["a missing --arch", ["run", "--bare", "x.elf"], /--arch is required/],
    ["an architecture not built yet", ["run", "--arch", "sparc", "--bare", "x.elf"], /architecture 'sparc'/],
    ["a bad --max-insns", ["run", "--arch", "riscv64", "--bare", "--max-insns", "lots", "x.elf"], /--max-insns 'lots'/],
    ["a bad --ram", ["run", "--arch", "riscv64", "--bare", "--ram", "12Q", "x.elf"], /--ram '12Q'/],
    ["a bad --tlb", ["run", "--arch", "riscv64", "--bare", "--tlb", "30/4", "x.elf"], /power of two/],
    ["an unknown command", ["frobnicate"], /unknown command 'frobnicate'/],
  ];
  it.each(cases)("%s", (_what, args, message) => {
    const r = multios(...args);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^multios: /);
    expect(r.stderr).toMatch(message);
  });
});

describe("multios demo (npm start)", () => {
  it("boots the demo, prints the guest console and the trap log, and exits 0", () => {
    const r = multios("demo");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("guest | [U] print: 42");
    expect(r.stdout).toContain("store/AMO page fault");
    expect(r.stdout).toContain("guest finished: pass");
  });
});
