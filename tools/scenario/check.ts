/**
 * Checking a run against a scenario's expectations: one failure line per unmet expectation, each
 * naming the field, what was expected and what the run produced.
 */
import type { TrapTraceEvent } from "../../emulator/core/trace.js";
import { kindOf, privilegeOf, type Arch } from "./kinds.js";
import type { ScenarioStats } from "./run.js";
import { FAULT_COUNTERS, type FaultCounter, type Scenario, type TrapExpectation } from "./types.js";

/** Console output shown in a failure line at most. */
const SHOW_MAX = 120;

const quote = (s: string): string => JSON.stringify(s.length > SHOW_MAX ? s.slice(0, SHOW_MAX) + "..." : s);

/** "{kind store-page-fault, tval 0x1000}" */
function describeExpected(t: TrapExpectation): string {
  return `{${Object.entries(t).map(([k, v]) => `${k} ${String(v)}`).join(", ")}}`;
}

/** "#3 store-page-fault (cause 15) tval 0x1000 U->S" */
function describeTrap(arch: Arch, t: TrapTraceEvent, i: number): string {
  const kind = t.interrupt ? `interrupt ${t.cause}` : `${kindOf(arch, t) ?? t.name} (cause ${t.cause}${t.syndrome ? `, syndrome ${t.syndrome}` : ""})`;
  return `#${i} ${kind} tval ${t.tval} ${t.from}->${t.to}`;
}

/** True when trap `t` matches every field `x` gives. */
function trapMatches(arch: Arch, x: TrapExpectation, t: TrapTraceEvent): boolean {
  if (t.interrupt) return false;
  if (x.cause !== undefined && t.cause !== x.cause) return false;
  if (x.kind !== undefined && kindOf(arch, t) !== x.kind) return false;
  if (x.tval !== undefined && BigInt(t.tval) !== BigInt(x.tval)) return false;
  if (x.from !== undefined && t.from !== privilegeOf(arch, x.from)) return false;
  if (x.to !== undefined && t.to !== privilegeOf(arch, x.to)) return false;
  return true;
}

/**
 * The expected traps as a subsequence of `traps`: the first unmatched expectation is reported,
 * with the nearest traps of the same cause after the last match (if any) to show what differed.
 */
function checkTraps(arch: Arch, expected: readonly TrapExpectation[], traps: readonly TrapTraceEvent[]): string[] {
  let next = 0;
  for (let i = 0; i < expected.length; i++) {
    const x = expected[i]!;
    const at = traps.findIndex((t, j) => j >= next && trapMatches(arch, x, t));
    if (at >= 0) { next = at + 1; continue; }
    const after = next === 0 ? "in the run" : `after trap #${next - 1}`;
    const same = (t: TrapTraceEvent): boolean => (x.cause === undefined || t.cause === x.cause) && (x.kind === undefined || kindOf(arch, t) === x.kind);
    const near = traps.map((t, j) => ({ t, j })).filter(({ t, j }) => j >= next && !t.interrupt && same(t)).slice(0, 3);
    const seen = near.length ? `; nearest: ${near.map(({ t, j }) => describeTrap(arch, t, j)).join("; ")}` : `; ${traps.length - next} trap(s) left, none of that cause`;
    return [`expect.traps[${i}]: expected ${describeExpected(x)} ${after}, not found${seen}`];
  }
  return [];
}

/** Every unmet expectation of `s` in its run on `arch`, one line each; empty when the run passes. */
export function checkExpectations(s: Scenario, arch: Arch, stats: ScenarioStats, traps: readonly TrapTraceEvent[]): string[] {
  const e = s.expect;
  const out: string[] = [];
  const stopped = stats.reason === "max-insns" || stats.reason === "wfi-hang" || stats.reason === "trap-loop";
  if (stopped) out.push(`run: stopped by ${stats.reason} after ${stats.icount} instructions`);
  if (e.exitCode !== undefined && stats.exitCode !== e.exitCode) out.push(`expect.exitCode: expected ${e.exitCode}, got ${stats.exitCode}`);
  if (typeof e.stdout === "string" && stats.stdout !== e.stdout) out.push(`expect.stdout: expected ${quote(e.stdout)}, got ${quote(stats.stdout)}`);
  if (typeof e.stdout === "object" && !stats.stdout.includes(e.stdout.contains)) out.push(`expect.stdout.contains: expected output containing ${quote(e.stdout.contains)}, got ${quote(stats.stdout)}`);
  if (e.traps !== undefined) out.push(...checkTraps(arch, e.traps, traps));
  const k = e.kernel, ks = stats.kernel;
  if (k !== undefined && ks !== undefined) {
    for (const key of Object.keys(FAULT_COUNTERS) as FaultCounter[]) {
      const want = k[key];
      const got = ks.faults[FAULT_COUNTERS[key]];
      if (want !== undefined && got !== want) out.push(`expect.kernel.${key}: expected ${want} ${FAULT_COUNTERS[key]} fault(s), got ${got}`);
    }
    if (k.framesLeaked !== undefined && ks.framesLeaked !== k.framesLeaked) out.push(`expect.kernel.framesLeaked: expected ${k.framesLeaked}, got ${ks.framesLeaked}`);
    if (k.killed !== undefined && ks.killed !== k.killed) out.push(`expect.kernel.killed: expected ${k.killed} process(es) killed, got ${ks.killed}`);
    if (k.oops !== undefined && ks.oops !== k.oops) out.push(`expect.kernel.oops: expected ${k.oops ? "an oops" : "no oops"}, got ${ks.oops ? `an oops (${ks.log.find((l) => l.startsWith("kernel oops"))})` : "none"}`);
  }
  return out;
}
