/**
 * Determinism on several harts (issue 6 "the same seed yields the same trace hash, run twice";
 * docs/replay.md "Several harts"): a 4-hart kernel run with a seeded random schedule, recorded
 * twice, gives identical records (every trap, the state hash of every hart at every checkpoint, the
 * end); it replays identically; another schedule seed diverges. Stopping a run at any instruction
 * and resuming it interleaves the harts exactly as the unstopped run, so checkpoints and
 * fault-injection instants change nothing, and a recorded campaign run is the campaign's run.
 */
import { describe, expect, it } from "vitest";
import { bootKernel } from "../boot/riscv64/kernel-boot.js";
import { hartsStateHash } from "../emulator/arch/riscv64/state-hash.js";
import { assembleRiscv64 } from "../tools/asm/riscv64/index.js";
import { loadPlan } from "../tools/campaign/plan.js";
import { runCampaignRun } from "../tools/campaign/run.js";
import { parseRecord, recordCampaignRun, recordRun, replayRecord } from "../tools/replay/index.js";
import type { RunSpec } from "../tools/replay/spec.js";
import { MIGRATING_FORKS } from "./support/smp-programs.js";

const quiet = { console: () => {}, log: () => {} };
const elf = assembleRiscv64(MIGRATING_FORKS(16)).elf;
const spec = (scheduleSeed: number): RunSpec => ({
  arch: "riscv64", bare: false, image: { name: "migrating-forks", bytes: elf }, args: ["migrating-forks"], files: [],
  seed: 11, aslr: true, debug: false, tlbFlushOnPteWrite: false, svadu: false, sv39: false, noFastPath: false, strictTlb: false,
  harts: 4, scheduleSeed, quantum: 300, asidLen: 4,
});
const EVERY = 500;

describe("a 4-hart kernel run with a random schedule", () => {
  const first = recordRun(spec(21), quiet, EVERY).record;

  it("recorded twice gives the same record: every trap, every checkpoint's state hash, the end", () => {
    const second = recordRun(spec(21), quiet, EVERY).record;
    expect(first.checkpoints.length).toBeGreaterThan(3);
    expect(first.end.reason).toBe("pass");
    expect(second.checkpoints.map((c) => c.hash)).toEqual(first.checkpoints.map((c) => c.hash));
    expect(second).toEqual(first);
  });

  it("replays identically from its JSON", () => {
    const rep = replayRecord(parseRecord(JSON.stringify(first)), quiet);
    expect(rep.divergence).toBeUndefined();
    expect(rep.checkpoints).toBe(first.checkpoints.length);
  });

  it("another schedule seed interleaves differently: the replay diverges", () => {
    const other = parseRecord(JSON.stringify(first));
    other.run!.scheduleSeed = 22;
    const rep = replayRecord(other, quiet);
    expect(rep.divergence).toBeDefined();
    expect(rep.divergence!.icount).toBeLessThan(first.end.icount);
  });

  it("stopping and resuming at any instruction interleaves exactly as one uninterrupted run", () => {
    const run = (step: number): [number, string, string] => {
      let out = "";
      const km = bootKernel({ program: elf, args: ["p"], harts: 4, schedule: { seed: 9, quantum: 300 }, console: (b) => { out += String.fromCharCode(b); } });
      let r = km.machine.run({ maxInsns: step });
      for (let max = 2 * step; r.reason === "max-insns"; max += step) r = km.machine.run({ maxInsns: max });
      return [r.icount, out, hartsStateHash(km.machine.harts)];
    };
    const whole = run(Number.MAX_SAFE_INTEGER);
    expect(whole[1]).toBe("ok\n");
    for (const step of [97, 1000, 4099]) expect(run(step), `stopped every ${step} instructions`).toEqual(whole);
  });
});

describe("a campaign run on 4 harts", () => {
  const loaded = loadPlan(new URL("../examples/campaign/smp-riscv64.campaign.json", import.meta.url).pathname);

  it("recorded (checkpoints every 300 instructions) it is the campaign's run, and it replays identically", () => {
    for (const run of [0, 1, 2]) {
      const plain = runCampaignRun(loaded.plan, loaded.program, run);
      const { record, summary, result } = recordCampaignRun(loaded.plan, loaded.program, run, 300);
      expect(summary).toEqual(plain.summary);
      expect([result.faulty.icount, result.faulty.stdout]).toEqual([plain.result.faulty.icount, plain.result.faulty.stdout]);
      expect((record.campaign!.plan as { harts: number }).harts).toBe(4);
      const rep = replayRecord(parseRecord(JSON.stringify(record)), quiet);
      expect(rep.divergence, `run ${run} (${summary.outcome})`).toBeUndefined();
    }
  });
});
