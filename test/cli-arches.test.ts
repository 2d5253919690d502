/**
 * `multios run --bare` and `multios asm` for arm64 and x86_64, as a user runs them: the bundled
 * hello programs print and end with the machine's exit convention (PSCI SYSTEM_OFF: 0;
 * isa-debug-exit: (value << 1) | 1), assembled ELFs carry the architecture's e_machine, and what
 * is riscv64-only so far is refused with one line.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const BIN = new URL("../bin/multios.js", import.meta.url).pathname;
const example = (name: string): string => new URL(`../examples/${name}`, import.meta.url).pathname;
const multios = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "latin1", timeout: 60_000 });

describe("bare runs on the other machines", () => {
  it("arm64: the hello program prints and PSCI SYSTEM_OFF exits 0", () => {
    const r = multios("run", "--arch", "arm64", "--bare", example("hello-arm64.S"));
    expect([r.stdout, r.stderr, r.status]).toEqual(["hello from arm64\n", "", 0]);
  });

  it("x86_64: the hello program prints and isa-debug-exit with 0 exits (0 << 1) | 1 = 1", () => {
    const r = multios("run", "--arch", "x86_64", "--bare", example("hello-x86_64.S"));
    expect([r.stdout, r.stderr, r.status]).toEqual(["hello from x86_64\n", "", 1]);
  });

  it("x86_64 --harts 4: the SMP example prints its expected lines under a seeded schedule", () => {
    const r = multios("run", "--arch", "x86_64", "--bare", example("smp-x86_64.S"), "--harts", "4", "--schedule-seed", "3", "--quantum", "5");
    expect([r.stdout, r.status]).toEqual([readFileSync(example("smp-x86_64.expected"), "utf8"), 1]);
  });

  it("--trace writes JSON Lines of TLB fills with their walk steps, --stats prints the counters", () => {
    const dir = mkdtempSync(join(tmpdir(), "multios-trace-"));
    const trace = join(dir, "x86.jsonl");
    const r = multios("run", "--arch", "x86_64", "--bare", example("hello-x86_64.S"), "--trace", trace, "--stats");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^stats: instructions \d+\n/);
    const first = JSON.parse(readFileSync(trace, "utf8").split("\n")[0]!) as { type: string; arch: string; steps: unknown[] };
    expect([first.type, first.arch, first.steps.length]).toEqual(["tlb-fill", "x86_64", 3]);
  });

  it("a runaway guest stops at --max-insns with exit 124 on every machine", () => {
    for (const [arch, file] of [["arm64", "hello-arm64.S"], ["x86_64", "hello-x86_64.S"]] as const) {
      const r = multios("run", "--arch", arch, "--bare", example(file), "--max-insns", "5");
      expect(r.status).toBe(124);
      expect(r.stderr).toMatch(/^multios: .*5/);
    }
  });
});

describe("the kernel on arm64 and x86_64", () => {
  it.each(["arm64", "x86_64"])("%s: runs a static Linux program: its output, and its exit status as the run's", (arch) => {
    const r = multios("run", "--arch", arch, example(`kernel/hello-${arch}.S`));
    expect([r.stdout, r.stderr, r.status]).toEqual([`hello from the kernel on ${arch}\n`, "", 7]);
  });
});

describe("--harts on arm64", () => {
  it("a bare arm64 image runs on N CPUs, round robin or by a seeded schedule, with the same output as QEMU -smp 4", () => {
    const expected = readFileSync(example("smp-arm64.expected"), "latin1");
    for (const extra of [[], ["--schedule-seed", "7", "--quantum", "3"]]) {
      const r = multios("run", "--arch", "arm64", "--bare", example("smp-arm64.S"), "--harts", "4", ...extra);
      expect([r.stdout, r.stderr, r.status]).toEqual([expected, "", 0]);
    }
  });

  it("an out-of-range CPU count is refused with one line", () => {
    expect(multios("run", "--arch", "arm64", "--bare", example("smp-arm64.S"), "--harts", "9").stderr).toBe("multios: --harts 9: 1 to 8 CPUs are supported\n");
  });
});

describe("the kernel on several CPUs of arm64 and x86_64", () => {
  const program = (arch: string): string => example(`scenarios/fork-cow-${arch}.S`);
  it.each(["arm64", "x86_64"])("%s: fork-cow prints the same on 1 and 4 CPUs; --stats shows each CPU's kernel counters", (arch) => {
    const one = multios("run", "--arch", arch, program(arch));
    expect(one.status).toBe(0);
    const four = multios("run", "--arch", arch, program(arch), "--harts", "4", "--schedule-seed", "5", "--quantum", "200", "--asid-bits", "4", "--stats");
    expect([four.stdout, four.status]).toEqual([one.stdout, 0]);
    const stats = four.stderr.split("\n").filter((l) => l.startsWith("stats: kernel cpu "));
    expect(stats.map((l) => l.replace(/\).*/, ")"))).toEqual([0, 1, 2, 3].map((i) => `stats: kernel cpu ${i} (hardware id ${i})`));
    expect(four.stderr).toMatch(/^stats: cpu 3 instructions \d+$/m);
    expect(four.stderr).toMatch(/^stats: kernel shootdowns \d+ requests/m);
  });

  it("--asid-bits is a kernel option and fits the architecture's width", () => {
    expect(multios("run", "--arch", "arm64", "--bare", example("hello-arm64.S"), "--asid-bits", "4").stderr).toBe("multios: --asid-bits is a kernel option; it does not apply with --bare\n");
    expect(multios("run", "--arch", "x86_64", program("x86_64"), "--asid-bits", "13").stderr).toBe("multios: --asid-bits 13: PCIDs have at most 12 bits\n");
    expect(multios("run", "--arch", "arm64", program("arm64"), "--asid-bits", "17").stderr).toBe("multios: --asid-bits 17: ASIDs have at most 16 bits\n");
  });
});

describe("--la57", () => {
  it("x86_64 runs the kernel with 5-level paging; other architectures refuse the flag", () => {
    const r = multios("run", "--arch", "x86_64", "--la57", example("kernel/hello-x86_64.S"));
    expect([r.stdout, r.status]).toEqual(["hello from the kernel on x86_64\n", 7]);
    expect(multios("run", "--arch", "arm64", "--la57", "--bare", example("hello-arm64.S")).stderr).toBe("multios: --la57 is an x86_64 option\n");
    expect(multios("run", "--arch", "riscv64", "--la57", "--bare", "x.S").stderr).toBe("multios: --la57 is an x86_64 option\n");
  });
});

describe("--no-jit", () => {
  it.each(["arm64", "x86_64"])("%s runs the same without its block translator (output, status, instruction count)", (arch) => {
    const on = multios("run", "--arch", arch, example(`scenarios/fork-exec-${arch}.S`), "--stats");
    const off = multios("run", "--arch", arch, example(`scenarios/fork-exec-${arch}.S`), "--stats", "--no-jit");
    const count = (s: string) => s.split("\n").find((l) => l.startsWith("stats: instructions"));
    expect([off.stdout, off.status, count(off.stderr)]).toEqual([on.stdout, 3, count(on.stderr)]);
  });

  it("riscv64 refuses it", () => {
    expect(multios("run", "--arch", "riscv64", "--no-jit", "--bare", example("smp-riscv64.S")).stderr).toBe("multios: --no-jit is an arm64 and x86_64 option (riscv64 has no block translator)\n");
  });
});

describe("multios asm for every architecture", () => {
  const dir = mkdtempSync(join(tmpdir(), "multios-asm-"));
  it.each([["arm64", "hello-arm64.S", 183], ["x86_64", "hello-x86_64.S", 62], ["riscv64", "smp-riscv64.S", 243]] as const)("%s: an ELF64 with e_machine %i", (arch, file, machine) => {
    const out = join(dir, `${arch}.elf`);
    const r = multios("asm", "--arch", arch, example(file), "-o", out);
    expect(r.status).toBe(0);
    const elf = readFileSync(out);
    expect([...elf.subarray(0, 5)]).toEqual([0x7f, 0x45, 0x4c, 0x46, 2]);
    expect(elf.readUInt16LE(18)).toBe(machine);
  });
});

describe("one-line refusals", () => {
  it.each([
    [["run", "--arch", "arm64", "--bare", example("hello-arm64.S"), "--seed", "1"], "multios: --seed is a kernel option; it does not apply with --bare\n"],
    [["run", "--arch", "x86_64", example("kernel/hello-x86_64.S"), "--harts", "0"], "multios: --harts '0' is not a whole number >= 1\n"],
    [["run", "--arch", "x86_64", "--bare", example("hello-x86_64.S"), "--harts", "9"], "multios: --harts 9: 1 to 8 CPUs are supported\n"],
    [["run", "--arch", "sparc", "--bare", "x.elf"], "multios: unknown architecture 'sparc' (riscv64, arm64, x86_64)\n"],
    [["run", "--bare", "x.elf"], "multios: --arch is required (riscv64, arm64, x86_64)\n"],
  ])("%j", (args, message) => {
    const r = multios(...args);
    expect([r.stderr, r.status]).toEqual([message, 2]);
  });

  it("an arm64 source with an error names the file and line", () => {
    const dir = mkdtempSync(join(tmpdir(), "multios-bad-"));
    const bad = join(dir, "bad.S");
    spawnSync("sh", ["-c", `printf 'nop\\nfrobnicate x0\\n' > ${bad}`]);
    const r = multios("run", "--arch", "arm64", "--bare", bad);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^multios: bad\.S:2: /);
  });
});
