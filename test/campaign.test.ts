/**
 * `multios campaign` (tools/campaign/, docs/campaigns.md) as a user runs it: reports are a function
 * of the plan alone (not of the job count, the shard split or the run), failing runs replay to the
 * same outcome, and bad plans are one-line errors with exit status 2.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CampaignReport } from "../tools/campaign/index.js";

const BIN = new URL("../bin/multios.js", import.meta.url).pathname;
const EXAMPLE = new URL("../examples/campaign/", import.meta.url).pathname;
const PLAN = join(EXAMPLE, "fork-mmap.campaign.json");
const dir = mkdtempSync(join(tmpdir(), "multios-campaign-"));

function multios(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const report = (...args: string[]): CampaignReport => JSON.parse(multios("campaign", ...args, "--json").stdout) as CampaignReport;

function plan(name: string, body: object): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(body));
  return p;
}

/** Unfiltered frame-allocation failures also hit the first exec, which the kernel reports as an oops: a plan that finds failures. */
const failing = plan("failing.json", {
  name: "unfiltered", program: { asmFile: join(EXAMPLE, "fork-mmap.S") }, seed: 1, runs: 20,
  faults: [{ point: "frame-alloc", probability: 0.05 }], hardware: [{ kind: "tlb-drop" }],
});

describe("multios campaign", () => {
  it("the report depends on the plan only: the same JSON twice, and with --jobs 1 as with --jobs 2", () => {
    const a = report(PLAN, "--runs", "20", "--jobs", "2");
    expect(a.ran).toBe(20);
    expect(a.results.map((r) => r.run)).toEqual([...Array(20).keys()]);
    expect(Object.values(a.byOutcome).reduce((x, y) => x + y, 0)).toBe(20);
    expect(report(PLAN, "--runs", "20", "--jobs", "2")).toEqual(a);
    expect(report(PLAN, "--runs", "20", "--jobs", "1")).toEqual(a);
  });

  it("the example plan finds no failing run: allocation failures and TLB drops are handled or kill the process", () => {
    const r = multios("campaign", PLAN, "--runs", "40");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^campaign fork-mmap-frame-alloc: 40 runs\n/);
    expect(r.stdout).toMatch(/ oops +0 /);
    expect(r.stdout).toMatch(/ corruption +0 /);
  });

  it("--shard 0/2 and 1/2 run the even and the odd runs; together they are the whole campaign", () => {
    const all = report(failing);
    const s0 = report(failing, "--shard", "0/2");
    const s1 = report(failing, "--shard", "1/2");
    expect(s0.results.every((r) => r.run % 2 === 0) && s1.results.every((r) => r.run % 2 === 1)).toBe(true);
    expect([...s0.results, ...s1.results].sort((a, b) => a.run - b.run)).toEqual(all.results);
    expect([...s0.failures, ...s1.failures].sort((a, b) => a.run - b.run)).toEqual(all.failures);
  });

  it("lists each failing run with its injections and a replay command; --only replays it to the same outcome", () => {
    const r = multios("campaign", failing, "--json");
    expect(r.status).toBe(1);
    const rep = JSON.parse(r.stdout) as CampaignReport;
    expect(rep.failures.length).toBeGreaterThan(0);
    const f = rep.failures[0]!;
    expect(f.replay).toBe(`multios campaign ${failing} --only ${f.run}`);
    expect(f.injections.length).toBeGreaterThan(0);
    const replay = multios(...f.replay.split(" ").slice(1), "--json");
    expect(replay.status).toBe(1);
    const one = JSON.parse(replay.stdout) as { run: number; seed: number; outcome: string; injections: unknown[]; log: string[] };
    expect({ run: one.run, seed: one.seed, outcome: one.outcome, injections: one.injections }).toEqual({ run: f.run, seed: f.seed, outcome: f.outcome, injections: f.injections });
    expect(one.log.some((l) => l.startsWith("inject: frame-alloc"))).toBe(true);
    const text = multios(...f.replay.split(" ").slice(1));
    expect(text.stdout).toMatch(new RegExp(`^run ${f.run} \\(seed ${f.seed}\\): ${f.outcome}\\ninjection: `));
  });

  it("--html writes a table of outcomes and failing runs", () => {
    const html = join(dir, "report.html");
    multios("campaign", failing, "--runs", "6", "--html", html);
    const page = readFileSync(html, "utf8");
    expect(page).toContain("<tr><td>oops</td>");
    expect(page).toContain(`--only `);
  });

  it.each([
    [{ name: "x", program: { asmFile: "fork-mmap.S" }, faults: [], bogus: 1 }, /: bogus: unknown field/],
    [{ name: "x", program: { asmFile: "fork-mmap.S" }, faults: [{ point: "frame-alloc", probability: 2 }] }, /: faults\[0\]: fault point frame-alloc: probability 2 is out of range$/],
    [{ name: "x", program: { asmFile: "fork-mmap.S" }, faults: [{ point: "disk-read" }] }, /: faults\[0\]\.point: expected one of frame-alloc, heap-alloc, got "disk-read"$/],
    [{ name: "x", program: { asmFile: "fork-mmap.S" }, faults: [], hardware: [{ kind: "tlb-drop", bit: 3 }] }, /: hardware\[0\]\.bit: unknown field/],
    [{ name: "x", program: { asmFile: "missing.S" }, faults: [] }, /: program\.asmFile: cannot read .*missing\.S: ENOENT$/],
    [{ name: "x", program: {}, faults: [] }, /: program: expected exactly one of asmFile, elf$/],
  ])("a bad plan is a one-line error and exit status 2 (%#)", (body, message) => {
    const file = plan(`bad-${JSON.stringify(body).length}-${String(message).length}.json`, body);
    writeFileSync(join(dir, "fork-mmap.S"), readFileSync(join(EXAMPLE, "fork-mmap.S")));
    const r = multios("campaign", file);
    expect(r.status).toBe(2);
    expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
  });

  it("bad options are one-line usage errors", () => {
    expect(multios("campaign", PLAN, "--shard", "2/2")).toMatchObject({ status: 2, stderr: "multios: --shard '2/2' is not i/n with 0 <= i < n\n" });
    expect(multios("campaign", PLAN, "--jobs", "0")).toMatchObject({ status: 2, stderr: "multios: --jobs '0' is not a whole number >= 1\n" });
  });
});
