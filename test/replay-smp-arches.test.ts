/**
 * Record and replay on several arm64 and x86_64 CPUs (docs/replay.md "Several processors"), as
 * test/replay-smp.test.ts checks riscv64: a 4-CPU kernel run with a seeded random schedule, recorded
 * twice with checkpoints every 150 instructions (user instructions: the kernel runs natively), gives identical records (every CPU's traps,
 * every CPU's state at every checkpoint, the end); it replays identically; a modified record (another
 * schedule seed, an altered trap row) reports the first divergence; and stopping the machine at any
 * instruction and resuming it interleaves the CPUs exactly as a run that was never stopped.
 */
import { describe, expect, it } from "vitest";
import { assembleArm64 } from "../tools/asm/arm64/index.js";
import { assembleX86_64 } from "../tools/asm/x86_64/index.js";
import { parseRecord, recordRun, replayRecord } from "../tools/replay/index.js";
import { startRun, type RunSpec } from "../tools/replay/spec.js";
import { MIGRATING_FORKS_ARM64 } from "./support/smp-programs-arm64.js";
import { MIGRATING_FORKS_X86 } from "./support/smp-programs-x86_64.js";

const quiet = { console: () => {}, log: () => {} };
const EVERY = 150;
const PROGRAMS = {
  arm64: () => assembleArm64(MIGRATING_FORKS_ARM64(12)).elf,
  x86_64: () => assembleX86_64(MIGRATING_FORKS_X86(12)).elf,
};

describe.each(["arm64", "x86_64"] as const)("a 4-CPU %s kernel run with a random schedule", (arch) => {
  const elf = PROGRAMS[arch]();
  const spec = (scheduleSeed: number): RunSpec => ({
    arch, bare: false, image: { name: "migrating-forks", bytes: elf }, args: ["migrating-forks"], files: [],
    seed: 11, aslr: true, debug: false, tlbFlushOnPteWrite: false, svadu: false, sv39: false, noFastPath: false, strictTlb: false,
    harts: 4, scheduleSeed, quantum: 300, asidLen: 4,
  });
  const first = recordRun(spec(21), quiet, EVERY).record;

  it("recorded twice gives the same record; every CPU's traps are in it, on the machine's instruction count", () => {
    const second = recordRun(spec(21), quiet, EVERY).record;
    expect(first.checkpoints.length).toBeGreaterThan(3);
    expect(first.end.reason).toBe(arch === "arm64" ? "pass" : "exit");
    expect(second).toEqual(first);
    // Trap rows are in machine order: the counts never go back, and they stay within the run.
    const counts = first.traps.map((t) => t[0]);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(counts.at(-1)!).toBeLessThanOrEqual(first.end.icount);
  });

  it("replays identically from its JSON", () => {
    const rep = replayRecord(parseRecord(JSON.stringify(first)), quiet);
    expect(rep.divergence).toBeUndefined();
    expect(rep.checkpoints).toBe(first.checkpoints.length);
    expect(rep.what).toContain("on 4 harts (schedule seed 21)");
  });

  it("another schedule seed interleaves differently: the replay reports the first divergence", () => {
    const other = parseRecord(JSON.stringify(first));
    other.run!.scheduleSeed = 22;
    const rep = replayRecord(other, quiet);
    expect(rep.divergence).toBeDefined();
    expect(rep.divergence!.icount).toBeLessThan(first.end.icount);
  });

  it("a trap row changed in the record is the divergence reported, at its instruction", () => {
    const bad = parseRecord(JSON.stringify(first));
    const k = Math.floor(bad.traps.length / 2);
    bad.traps[k]![3] = "0x1";
    const rep = replayRecord(bad, quiet);
    expect(rep.divergence).toBeDefined();
    expect(rep.divergence!.icount).toBe(first.traps[k]![0]);
  });

  it("stopping and resuming at any instruction interleaves exactly as one uninterrupted run", () => {
    const run = (step: number): [number, string, string] => {
      let out = "";
      const { target } = startRun(spec(9), { console: (b) => { out += String.fromCharCode(b); }, log: () => {} });
      let r = target.run(step);
      for (let max = 2 * step; r.reason === "max-insns"; max += step) r = target.run(max);
      return [r.icount, out, target.stateHash()];
    };
    const whole = run(Number.MAX_SAFE_INTEGER);
    expect(whole[1]).toBe("ok\n");
    for (const step of [1, 37, 97, 500]) expect(run(step), `stopped every ${step} instructions`).toEqual(whole);
  });
});
