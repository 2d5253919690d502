import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defineScenario, kindOf, loadScenarioFile, parseScenarioJson, runScenario, runScenarioAll, ScenarioError, TRAP_KINDS, type Scenario } from "../tools/scenario/index.js";
import type { TrapTraceEvent } from "../emulator/core/trace.js";

const DIR = "examples/scenarios";
const examples = readdirSync(DIR).filter((f) => f.endsWith(".scenario.json")).sort();

const segfault: Scenario = {
  name: "segfault",
  machine: { arch: "riscv64" },
  mode: "kernel",
  program: { asm: ".globl _start\n_start:\n li t0, 0x1000\n sd zero, 0(t0)\n" },
  expect: { exitCode: 139, traps: [{ kind: "store-page-fault", tval: "0x1000" }], kernel: { killed: 1, framesLeaked: 0 } },
};

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return (e as Error).message;
  }
  throw new Error("no error");
}

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["bin/multios.js", ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("scenario examples", () => {
  it("ships the seven examples", () => {
    expect(examples).toEqual(["demand-zero.scenario.json", "fork-cow-smp.scenario.json", "fork-cow.scenario.json", "mmu-faults.scenario.json", "remap-zero.scenario.json", "segfault.scenario.json", "write-efault.scenario.json"]);
  });
  it.each(examples)("%s passes on every architecture it names", (file) => {
    const l = loadScenarioFile(join(DIR, file));
    for (const r of runScenarioAll(l.scenario, { baseDir: l.baseDir })) {
      expect({ arch: r.arch, failures: r.failures }).toEqual({ arch: r.arch, failures: [] });
    }
  });

  it("the kernel scenarios are stated once and run on riscv64, arm64 and x86_64", () => {
    for (const file of ["demand-zero.scenario.json", "fork-cow.scenario.json", "remap-zero.scenario.json", "segfault.scenario.json", "write-efault.scenario.json"]) {
      const l = loadScenarioFile(join(DIR, file));
      expect(runScenarioAll(l.scenario, { baseDir: l.baseDir }).map((r) => [r.arch, r.passed])).toEqual([["riscv64", true], ["arm64", true], ["x86_64", true]]);
    }
  });
});

describe("runScenario", () => {
  it("a killed process reports exit 139, the store page fault with its address, one kill", () => {
    const r = runScenario(defineScenario(segfault));
    expect(r.passed).toBe(true);
    expect(r.stats.exitCode).toBe(139);
    expect(r.stats.kernel?.faults["protection-kill"]).toBe(1);
    expect(r.events.some((e) => e.type === "trap" && e.cause === 15 && e.tval === "0x1000")).toBe(true);
  });

  it("wrong expectations fail with one line each naming expected and actual", () => {
    const r = runScenario(defineScenario({
      ...segfault,
      expect: { exitCode: 0, stdout: "hi", traps: [{ kind: "load-page-fault", tval: "0x1000" }], kernel: { demandZero: 2, killed: 0, oops: true } },
    }));
    expect(r.passed).toBe(false);
    expect(r.failures).toEqual([
      "expect.exitCode: expected 0, got 139",
      'expect.stdout: expected "hi", got ""',
      "expect.traps[0]: expected {kind load-page-fault, tval 0x1000} in the run, not found; 2 trap(s) left, none of that cause",
      "expect.kernel.demandZero: expected 2 demand-zero fault(s), got 0",
      "expect.kernel.killed: expected 0 process(es) killed, got 1",
      "expect.kernel.oops: expected an oops, got none",
    ]);
  });

  it("a trap with the right kind but another address is shown as the nearest candidate", () => {
    const r = runScenario(defineScenario({ ...segfault, expect: { traps: [{ kind: "store-page-fault", tval: "0x2000" }] } }));
    expect(r.failures).toEqual(["expect.traps[0]: expected {kind store-page-fault, tval 0x2000} in the run, not found; nearest: #0 store-page-fault (cause 15) tval 0x1000 U->S"]);
  });

  it("traps match as a subsequence, in order", () => {
    const ok = runScenario(defineScenario({ ...segfault, expect: { traps: [{ kind: "store-page-fault" }, { kind: "ecall-supervisor", from: "S", to: "M" }] } }));
    expect(ok.failures).toEqual([]);
    const reversed = runScenario(defineScenario({ ...segfault, expect: { traps: [{ kind: "ecall-supervisor" }, { kind: "store-page-fault" }] } }));
    expect(reversed.failures).toEqual(["expect.traps[1]: expected {kind store-page-fault} after trap #1, not found; 0 trap(s) left, none of that cause"]);
  });

  it("a run that hits the instruction budget fails", () => {
    const r = runScenario(defineScenario({ name: "loop", machine: { arch: "riscv64" }, mode: "bare", program: { asm: ".globl _start\n_start: j _start\n" }, maxInsns: 1000, expect: {} }));
    expect(r.failures).toEqual(["run: stopped by max-insns after 1000 instructions"]);
  });
});

describe("trap kinds", () => {
  const trap = (cause: number, extra: Partial<TrapTraceEvent> = {}): TrapTraceEvent => ({
    type: "trap", arch: "x", hart: 0, icount: 0, cause, interrupt: false, name: "", tval: "0x0", epc: "0x0", from: "U", to: "S", ...extra,
  });

  it("RISC-V: every neutral kind is a distinct cause (store page fault = 15)", () => {
    const kinds = Array.from({ length: 16 }, (_, c) => kindOf("riscv64", trap(c))).filter((k) => k !== undefined);
    expect(new Set(kinds).size).toBe(TRAP_KINDS.length);
    expect(kindOf("riscv64", trap(15))).toBe("store-page-fault");
  });

  it.each([
    [0x24, 0x47, "EL0", "store-page-fault"], [0x24, 0x07, "EL0", "load-page-fault"], [0x24, 0x4f, "EL0", "store-page-fault"],
    [0x20, 0x0f, "EL0", "instruction-page-fault"], [0x24, 0x10, "EL0", "load-access-fault"], [0x24, 0x61, "EL0", "store-misaligned"],
    [0x00, 0x00, "EL0", "illegal-instruction"], [0x15, 0x00, "EL0", "ecall-user"], [0x15, 0x00, "EL1", "ecall-supervisor"], [0x3c, 0x00, "EL0", "breakpoint"],
  ] as const)("Arm: EC 0x%s with ISS 0x%s from %s is %s", (ec, iss, from, kind) => {
    const esr = ((ec << 26) | (1 << 25) | iss) >>> 0;
    expect(kindOf("arm64", trap(ec, { syndrome: `0x${esr.toString(16)}`, from }))).toBe(kind);
  });

  it.each([
    [14, 0x6, "store-page-fault"], [14, 0x4, "load-page-fault"], [14, 0x15, "instruction-page-fault"], [6, 0, "illegal-instruction"], [3, 0, "breakpoint"], [13, 0, undefined],
  ] as const)("x86_64: vector %i with error code 0x%s is %s", (vector, ec, kind) => {
    expect(kindOf("x86_64", trap(vector, { syndrome: `0x${ec.toString(16)}` }))).toBe(kind);
  });
});

describe("scenario validation", () => {
  const base = { name: "x", machine: { arch: "riscv64" }, mode: "kernel", program: { asm: "" }, expect: {} };
  const bad = (patch: object): string => errorOf(() => parseScenarioJson(JSON.stringify({ ...base, ...patch })));

  it("rejects bad JSON in one line", () => {
    expect(errorOf(() => parseScenarioJson("{ nope"))).toMatch(/^not valid JSON: /);
  });
  it("names unknown fields", () => {
    expect(bad({ expcet: {} })).toBe("expcet: unknown field (allowed: name, machine, mode, program, expect, args, kernel, maxInsns, $schema, description)");
    expect(bad({ expect: { kernel: { cowCopies: 1 } } })).toMatch(/^expect\.kernel\.cowCopies: unknown field \(allowed: demandZero, /);
    expect(bad({ expect: { traps: [{ kind: "store-page-fault", addr: "0x1" }] } })).toMatch(/^expect\.traps\[0\]\.addr: unknown field/);
  });
  it("names missing and mistyped fields", () => {
    expect(errorOf(() => parseScenarioJson(JSON.stringify({ ...base, name: undefined })))).toBe("name: required field is missing");
    expect(bad({ machine: { arch: "sparc" } })).toBe('machine.arch: expected one of riscv64, arm64, x86_64, got "sparc"');
    expect(bad({ machine: { arch: ["riscv64", "arm64"] } })).toBe("program: a scenario on several architectures needs one program per architecture (program.riscv64, program.arm64, ...)");
    expect(bad({ machine: { arch: ["riscv64", "arm64"] }, program: { riscv64: { asm: "" } } })).toBe("program.arm64: the scenario runs on this architecture but gives no program for it");
    expect(bad({ machine: { arch: ["riscv64", "riscv64"] } })).toBe("machine.arch: an architecture is listed twice");
    expect(bad({ machine: { arch: "riscv64", tlb: "33/4" } })).toBe("machine.tlb: --tlb '33/4': entries/ways must be a power of two");
    expect(bad({ machine: { arch: "riscv64", ram: "lots" } })).toBe("machine.ram: machine.ram 'lots' is not a size (examples: 128M, 4G)");
    expect(bad({ machine: { arch: "riscv64", harts: 9 } })).toBe("machine.harts: 9 harts: 1 to 8 are supported");
    expect(bad({ machine: { arch: "riscv64", harts: 2, quantum: 0 } })).toBe("machine.quantum: a slice is at least 1 instruction");
    expect(bad({ machine: { arch: "riscv64", scheduleSeed: -1 } })).toBe("machine.scheduleSeed: expected a whole number >= 0, got -1");
    expect(bad({ program: { asm: "", elf: "a.elf" } })).toBe("program: expected exactly one of asm, asmFile, elf, got asm, elf");
    expect(bad({ expect: { exitCode: -1 } })).toBe("expect.exitCode: expected a whole number >= 0, got -1");
    expect(bad({ expect: { traps: [{ kind: "store-fault" }] } })).toMatch(/^expect\.traps\[0\]\.kind: unknown trap kind "store-fault" \(known: /);
    expect(bad({ expect: { traps: [{ tval: "banana" }] } })).toBe('expect.traps[0].tval: expected an address like "0x1000", got "banana"');
    expect(bad({ mode: "bare", expect: { kernel: { killed: 0 } } })).toBe('expect.kernel: kernel expectations do not apply to mode "bare"');
  });
  it("defineScenario validates too", () => {
    expect(errorOf(() => defineScenario({ ...segfault, expect: { traps: [{}] } }))).toBe("expect.traps[0]: an expected trap needs at least one field");
  });
});

describe("multios test", () => {
  const tmp = mkdtempSync(join(tmpdir(), "multios-scenario-"));
  const write = (name: string, v: unknown): string => {
    const p = join(tmp, name);
    writeFileSync(p, typeof v === "string" ? v : JSON.stringify(v));
    return p;
  };

  it("exit 0 and a ✓ per scenario when all pass", () => {
    const r = cli("test", ...examples.map((f) => join(DIR, f)));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n").filter((l) => l.startsWith("✓"))).toHaveLength(19);
    expect(r.stdout).toContain(`${examples.length} scenario(s), 19 run(s): 19 passed, 0 failed`);
    expect(r.stdout).toContain("✓ segfault: a store to an unmapped page kills the process [arm64]");
  });

  it("exit 1 with the failing expectations under the ✗", () => {
    const p = write("wrong.scenario.json", { ...segfault, name: "wrong", expect: { exitCode: 0 } });
    const r = cli("test", join(DIR, "segfault.scenario.json"), p);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`✗ wrong (${p})\n    expect.exitCode: expected 0, got 139\n`);
    expect(r.stdout).toContain("2 scenario(s), 4 run(s): 3 passed, 1 failed");
  });

  it("exit 2 for a bad file, naming the file and the field, running nothing", () => {
    const p = write("bad.scenario.json", { ...segfault, expect: { exitcode: 0 } });
    const r = cli("test", join(DIR, "segfault.scenario.json"), p);
    expect(r.status).toBe(2);
    expect(r.stdout).toContain(`! ${p}: expect.exitcode: unknown field`);
    expect(r.stdout).not.toContain("✓");
  });

  it("exit 2 for invalid JSON, a missing file, or a program that does not assemble", () => {
    expect(cli("test", write("junk.scenario.json", "{")).status).toBe(2);
    expect(cli("test", join(tmp, "missing.scenario.json")).stdout).toContain("cannot read: ENOENT");
    const asm = cli("test", write("asm.scenario.json", { ...segfault, program: { asm: "bogus x1\n" } }));
    expect(asm.status).toBe(2);
    expect(asm.stdout).toMatch(/^! segfault \[riscv64\] \(.*\): /m);
    expect(cli("test").status).toBe(2);
  });
});
