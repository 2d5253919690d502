/**
 * Record and replay (docs/replay.md): a record holds the run's inputs, every trap and a state hash
 * every N instructions; a replay rebuilds the machine from the record alone and must agree to the
 * instruction, or report the first point where it does not.
 */
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assembleRiscv64 } from "../tools/asm/riscv64/index.js";
import { loadPlan } from "../tools/campaign/plan.js";
import { formatReplay, parseRecord, recordCampaignRun, recordRun, RecordError, replayRecord, type RunRecordFile } from "../tools/replay/index.js";
import type { RunSpec } from "../tools/replay/spec.js";
import { ASM_LIB, fork, SYSCALLS } from "./support/kernel-asm.js";

const BIN = new URL("../bin/multios.js", import.meta.url).pathname;
const quiet = { console: () => {}, log: () => {} };

/** Parent and child each spin long enough to be preempted by the timer many times, then print. */
const SPINNERS = `
    ${SYSCALLS}
    .globl _start
_start:
    ${fork}
    mv      s0, a0
    li      t0, 400000
1:  addi    t0, t0, -1
    bnez    t0, 1b
    la      a0, child
    beqz    s0, 2f
    mv      a0, s0
    la      a1, status
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    la      a0, parent
2:  call    puts
    li      a0, 0
    li      a7, SYS_exit
    ecall
    ${ASM_LIB}
    .data
child:  .asciz "child done\\n"
parent: .asciz "parent done\\n"
    .balign 8
status: .dword 0
`;

const spec = (overrides: Partial<RunSpec> = {}): RunSpec => ({
  arch: "riscv64", bare: false, image: { name: "spinners", bytes: assembleRiscv64(SPINNERS).elf }, args: ["spinners"], files: [],
  seed: 7, aslr: true, debug: false, tlbFlushOnPteWrite: false, svadu: false, sv39: false, noFastPath: false, strictTlb: false,
  ...overrides,
});

/** A deep copy of a record (tests edit copies). */
const copy = (r: RunRecordFile): RunRecordFile => JSON.parse(JSON.stringify(r)) as RunRecordFile;

describe("recording", () => {
  it("stopping at checkpoints changes nothing the guest sees: same traps, same end state, RAM and output", () => {
    const coarse = recordRun(spec(), quiet, 1e9).record;
    const fine = recordRun(spec(), quiet, 997).record;
    const interrupts = coarse.traps.filter((t) => t[1] >= 0x8000_0000).length;
    expect(interrupts).toBeGreaterThan(5); // the run is preempted by timer interrupts
    expect(fine.traps).toEqual(coarse.traps);
    expect(fine.end).toEqual(coarse.end);
    expect(fine.checkpoints.length).toBe(Math.floor(fine.end.icount / 997));
    expect(coarse.end.reason).toBe("pass");
  });

  it("a record is self-contained JSON: parseRecord reads back what recordRun wrote", () => {
    const { record } = recordRun(spec(), quiet, 50_000);
    const back = parseRecord(JSON.stringify(record));
    expect(back).toEqual(record);
    expect(back.run!.image.data.length).toBeGreaterThan(100);
  });
});

describe("replay", () => {
  const { record } = recordRun(spec(), quiet, 50_000);

  it("replaying an untouched record agrees to the end", () => {
    const r = replayRecord(record, quiet);
    expect(r.divergence).toBeUndefined();
    expect(r.icount).toBe(record.end.icount);
    expect(r.traps).toBe(record.traps.length);
    expect(formatReplay(r)[0]).toMatch(/identical to the record/);
  });

  it("a different seed (ASLR) diverges, and the report names the registers that differ", () => {
    const r = copy(record);
    r.run!.seed = 8;
    const rep = replayRecord(r, quiet);
    expect(rep.divergence).toBeDefined();
    expect(rep.divergence!.details.join("\n")).toMatch(/x2: recorded 0x[0-9a-f]+, replay 0x[0-9a-f]+|trap #\d+/);
  });

  it("a trap that differs is reported at that trap's instruction, with both versions", () => {
    const r = copy(record);
    const k = 10;
    r.traps[k]![2] = "0xdead";
    const rep = replayRecord(r, quiet);
    expect(rep.divergence!.icount).toBe(record.traps[k]![0]);
    expect(rep.divergence!.details[0]).toMatch(new RegExp(`^trap #${k}: recorded .*tval 0xdead`));
    expect(rep.divergence!.details[1]).toMatch(new RegExp(`^trap #${k}: replay `));
  });

  it("a recorded trap the replay does not take is reported", () => {
    const r = copy(record);
    const extra = [record.traps[3]![0], 5, "0x0", "0x0"] as [number, number, string, string];
    r.traps.splice(3, 0, extra);
    const rep = replayRecord(r, quiet);
    expect(rep.divergence!.icount).toBe(extra[0]);
    expect(rep.divergence!.details[0]).toMatch(/^trap #3: recorded exception 5/);
  });

  it("a different end (exit status, output) is a divergence", () => {
    const r = copy(record);
    r.end.outputHash = "0000000000000000";
    const rep = replayRecord(r, quiet);
    expect(rep.divergence!.details).toEqual([`end outputHash: recorded 0000000000000000, replay ${record.end.outputHash}`]);
  });
});

describe("campaign runs", () => {
  it("the injected run of a campaign records its injections' effects and replays identically", () => {
    const loaded = loadPlan(new URL("../examples/campaign/fork-mmap.campaign.json", import.meta.url).pathname);
    for (const run of [0, 3, 11]) {
      const { record, summary } = recordCampaignRun(loaded.plan, loaded.program, run, 100);
      expect(record.campaign!.run).toBe(run);
      const rep = replayRecord(parseRecord(JSON.stringify(record)), quiet);
      expect(rep.divergence, `run ${run} (${summary.outcome})`).toBeUndefined();
    }
  });
});

describe("record files", () => {
  it.each([
    ["not json", /^not JSON/],
    [JSON.stringify({ format: "other" }), /not a multios record/],
    [JSON.stringify({ format: "multios-record", version: 9 }), /record version 9 is not supported/],
    [JSON.stringify({ format: "multios-record", version: 1, arch: "sparc" }), /arch 'sparc' is not available/],
    [JSON.stringify({ format: "multios-record", version: 1, arch: "riscv64" }), /exactly one of run and campaign/],
  ])("%s is refused with one line", (text, message) => {
    expect(() => parseRecord(text)).toThrow(RecordError);
    expect(() => parseRecord(text)).toThrow(message);
  });
});

describe("multios run --record / multios replay", () => {
  const dir = mkdtempSync(join(tmpdir(), "multios-replay-"));
  const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "latin1", timeout: 60_000 });

  it("records a kernel run and replays it: exit 0 when identical, 1 with the first divergence, 2 for a bad record", () => {
    const prog = join(dir, "spin.S");
    writeFileSync(prog, SPINNERS);
    const rec = join(dir, "spin.json");
    const run = cli("run", "--arch", "riscv64", prog, "--seed", "3", "--record", rec, "--checkpoint-every", "100000");
    expect(run.status).toBe(0);
    expect(run.stdout).toBe("child done\nparent done\n");
    const same = cli("replay", rec);
    expect(same.stdout).toMatch(/^replay of riscv64 kernel run of spin \(seed 3\): identical to the record/);
    expect(same.status).toBe(0);
    const edited = JSON.parse(readFileSync(rec, "latin1")) as RunRecordFile;
    edited.run!.seed = 4;
    writeFileSync(join(dir, "edited.json"), JSON.stringify(edited));
    const diff = cli("replay", join(dir, "edited.json"));
    expect(diff.status).toBe(1);
    expect(diff.stdout).toMatch(/first divergence at instruction \d+/);
    writeFileSync(join(dir, "bad.json"), "{}");
    const bad = cli("replay", join(dir, "bad.json"));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^multios: .*bad\.json: not a multios record/);
  });

  it("--checkpoint-every without --record is a usage error", () => {
    const r = cli("run", "--arch", "riscv64", "x.S", "--checkpoint-every", "5");
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("multios: --checkpoint-every goes with --record\n");
  });
});
