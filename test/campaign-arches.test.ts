/**
 * Fault-injection campaigns on arm64-virt and x86_64-pc (docs/campaigns.md), as test/campaign.test.ts
 * and test/inject.test.ts check them on riscv64: the example plans find no failing run (no silent
 * corruption); every outcome class is reached and means what it says; a memory error reaches the
 * kernel's memory_failure through the platform's own notification; plans that ask for what a
 * machine does not have are one-line errors.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runWithInjection } from "../boot/inject-run.js";
import type { HwFault } from "../boot/inject-hw.js";
import { loadPlan, PlanError } from "../tools/campaign/plan.js";
import { runCampaignRun } from "../tools/campaign/run.js";
import type { CampaignReport } from "../tools/campaign/index.js";

const BIN = new URL("../bin/multios.js", import.meta.url).pathname;
const EXAMPLE = new URL("../examples/campaign/", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "multios-campaign-arches-"));
const ARCHES = ["arm64", "x86_64"] as const;

function plan(name: string, body: object): string {
  const p = join(dir, `${name}.json`);
  writeFileSync(p, JSON.stringify(body));
  return p;
}

const program = (arch: string) => ({ asmFile: join(EXAMPLE, `fork-mmap-${arch}.S`) });
const KILL = /^\[pid \d+\] killed by signal \d+: /;
const TLB_CORRUPT_RUNS = { arm64: [9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19], x86_64: [9, 10, 11, 14, 17] };

describe.each(ARCHES)("campaigns on %s", (arch) => {
  it("the example plan (frame-allocation failures, a TLB drop, an uncorrected memory error) finds no failing run", () => {
    const r = spawnSync(process.execPath, [BIN, "campaign", join(EXAMPLE, `fork-mmap-${arch}.campaign.json`), "--runs", "24", "--json"], { encoding: "utf8", timeout: 60_000 });
    expect(r.status).toBe(0);
    const rep = JSON.parse(r.stdout) as CampaignReport;
    expect(rep.ran).toBe(24);
    expect(rep.failures).toEqual([]);
    expect(rep.byOutcome.corruption + rep.byOutcome.oops + rep.byOutcome.hang + rep.byOutcome.leak).toBe(0);
    expect(rep.byOutcome.killed).toBeGreaterThan(0);
    expect(rep.byOutcome.handled).toBeGreaterThan(0);
  });

  it("a corrupted TLB entry (not legal hardware) reaches handled, killed, hang and corruption, each for its reason", () => {
    const loaded = loadPlan(plan(`${arch}-tlb-corrupt`, { name: "tlb-corrupt", arch, program: program(arch), seed: 5, runs: 30, faults: [], hardware: [{ kind: "tlb-corrupt" }] }));
    const seen = new Set<string>();
    // Runs of this 30-run campaign that cover the classes: a hang runs to the 100 000-instruction
    // bound, and on x86_64 that is ~3000 kernel page faults (seconds), so CI runs one.
    for (const run of TLB_CORRUPT_RUNS[arch]) {
      const { summary, result } = runCampaignRun(loaded.plan, loaded.program, run);
      seen.add(summary.outcome);
      const { golden, faulty } = result;
      switch (summary.outcome) {
        case "handled": expect([faulty.stdout, faulty.exitCode]).toEqual([golden.stdout, golden.exitCode]); break;
        case "killed": expect(faulty.log.some((l) => KILL.test(l))).toBe(true); break;
        case "hang": expect(["max-insns", "trap-loop", "wfi-hang", "hlt-hang"]).toContain(faulty.reason); break;
        case "corruption":
          expect([faulty.stdout, faulty.exitCode]).not.toEqual([golden.stdout, golden.exitCode]);
          expect(faulty.log.some((l) => KILL.test(l) || l.startsWith("kernel oops"))).toBe(false);
          break;
        case "oops": expect(faulty.exitCode === 134 || faulty.reason === "triple-fault" || faulty.log.some((l) => l.startsWith("kernel oops"))).toBe(true); break;
        default: throw new Error(`run ${run}: ${summary.outcome}`);
      }
    }
    expect([...seen].sort()).toEqual(expect.arrayContaining(["corruption", "handled", "hang", "killed"]));
  });

  it("a cleared or flipped bit of a data PTE is never silent: some runs leak the frame the kernel lost track of", () => {
    const loaded = loadPlan(plan(`${arch}-pte-flip`, { name: "pte-flip", arch, program: program(arch), seed: 5, runs: 10, faults: [], hardware: [{ kind: "pte-flip" }] }));
    const outcomes = [...Array(loaded.plan.runs).keys()].map((run) => runCampaignRun(loaded.plan, loaded.program, run));
    expect(outcomes.some((o) => o.summary.outcome === "leak" && o.result.log.some((l) => l.startsWith("kernel: leak: ")))).toBe(true);
    expect(outcomes.map((o) => o.summary.outcome)).not.toContain("corruption");
  });

  it("a flipped bit of a live kernel heap header is caught by the heap's seal: oops", () => {
    const loaded = loadPlan(plan(`${arch}-heap`, { name: "heap", arch, program: program(arch), seed: 5, runs: 3, faults: [], hardware: [{ kind: "heap-corrupt" }] }));
    for (let run = 0; run < loaded.plan.runs; run++) {
      const { summary, result } = runCampaignRun(loaded.plan, loaded.program, run);
      expect(summary.outcome).toBe("oops");
      expect(result.log.some((l) => /^kernel oops: heap: .*corrupted/.test(l))).toBe(true);
    }
  });

  it.each([
    // A killed child leaves the parent's output unchanged: that run is "handled" (the table's order).
    [{ kind: "bad-frame", target: "user", mode: "hard" }, ["killed", "handled"], /^kernel: memory error at 0x[0-9a-f]+ \(uncorrected\): \d process(es)? killed/],
    [{ kind: "bad-frame", target: "user", mode: "soft" }, ["handled"], /^kernel: memory error at 0x[0-9a-f]+ \(corrected\): \d mappings? moved to a new frame; frame retired$/],
    [{ kind: "bad-frame", target: "free" }, ["handled"], /^kernel: memory error at 0x[0-9a-f]+ \(uncorrected\): free frame withdrawn$/],
  ] as [HwFault, string[], RegExp][])("%o reaches memory_failure through the platform's notification: %s", (fault, outcomes, report) => {
    const elf = loadPlan(plan(`${arch}-prog`, { name: "p", arch, program: program(arch), faults: [] })).program;
    let injected = 0;
    for (let seed = 0; seed < 6; seed++) {
      const r = runWithInjection({ arch, program: elf, args: ["fork-mmap"], seed, plan: { seed, hardware: [fault] } });
      if (r.injections.length === 0) continue;
      injected++;
      expect(r.injections[0]!.detail).toMatch(arch === "arm64" ? /by an SError interrupt$/ : /by a machine check \(#MC\)$/);
      expect(outcomes).toContain(r.outcome);
      expect(r.log.some((l) => report.test(l))).toBe(true);
    }
    expect(injected).toBeGreaterThan(2);
  });

  it.each([
    [{ hardware: [{ kind: "spurious-irq", irq: "software" }] }, /: hardware\[0\]\.irq: "software" is riscv64-only/],
  ])("a plan asking for a riscv64-only fault is a one-line error (%#)", (extra, message) => {
    expect(() => loadPlan(plan(`${arch}-bad-${JSON.stringify(extra).length}`, { name: "x", arch, program: program(arch), faults: [], ...extra }))).toThrow(PlanError);
    expect(() => loadPlan(plan(`${arch}-bad-${JSON.stringify(extra).length}`, { name: "x", arch, program: program(arch), faults: [], ...extra }))).toThrow(message);
  });

  it("a spurious timer interrupt is an interrupt the kernel takes in its stride: handled", () => {
    const loaded = loadPlan(plan(`${arch}-spurious`, { name: "spurious", arch, program: program(arch), seed: 2, runs: 6, faults: [], hardware: [{ kind: "spurious-irq", irq: "timer" }] }));
    const results = [...Array(loaded.plan.runs).keys()].map((run) => runCampaignRun(loaded.plan, loaded.program, run).summary);
    expect(results.filter((s) => s.injections.length > 0).length).toBeGreaterThan(2);
    for (const s of results) expect(s.outcome).toBe("handled");
  });
});

it("an unknown arch in a plan is a one-line error", () => {
  expect(() => loadPlan(plan("bad-arch", { name: "x", arch: "mips", program: program("arm64"), faults: [] }))).toThrow(/: arch: expected one of riscv64, arm64, x86_64, got "mips"$/);
});
