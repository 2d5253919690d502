#!/usr/bin/env node
/**
 * A longer fuzz campaign over the suites in test/fuzz: runs them with more runs per property and
 * a fresh seed per round, and prints how to replay any failure.
 *
 *   node tools/fuzz/campaign.mjs [--scale N] [--runs N] [--rounds R] [--seed S] [SUITE...]
 *
 * --scale N   runs per property = N times each suite's CI default (default 20)
 * --runs N    runs per property, exactly (overrides --scale)
 * --rounds R  rounds, each with its own seed S, S+1, ... (default 1)
 * --seed S    first seed (default: from the clock, printed)
 * SUITE       suite names (elf-parse, elf-exec, fdt, decode, decode-arm64, decode-x86, syscalls); default all
 *
 * Every property fast-check runs prints its seed and counterexample path when it fails; replay one
 * with FUZZ_SEED=<seed> FUZZ_PATH=<path> npx vitest run test/fuzz/<suite>.test.ts -t "<property>".
 */
import { spawnSync } from "node:child_process";

const SUITES = ["elf-parse", "elf-exec", "fdt", "decode", "decode-arm64", "decode-x86", "syscalls"];
const args = process.argv.slice(2);
const usage = (message) => {
  console.error(`campaign: ${message}\nusage: node tools/fuzz/campaign.mjs [--scale N] [--runs N] [--rounds R] [--seed S] [${SUITES.join("|")}...]`);
  process.exit(2);
};
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = args.splice(i, 2)[1];
  if (v === undefined || !/^\d+$/.test(v)) usage(`${name} needs a non-negative integer, not ${v}`);
  return Number(v);
};
const scale = opt("--scale", 20);
const runs = opt("--runs", undefined);
const rounds = opt("--rounds", 1);
const seed0 = opt("--seed", Date.now() % 0x7fffffff);
const unknown = args.filter((a) => !SUITES.includes(a));
if (unknown.length > 0) usage(`unknown suite or option ${unknown.join(", ")}`);
const suites = args.length > 0 ? args : SUITES;

let failed = 0;
for (let r = 0; r < rounds; r++) {
  const seed = seed0 + r;
  const env = { ...process.env, FUZZ_SEED: String(seed), ...(runs !== undefined ? { FUZZ_RUNS: String(runs) } : { FUZZ_SCALE: String(scale) }) };
  const files = suites.map((s) => `test/fuzz/${s}.test.ts`);
  console.log(`round ${r + 1}/${rounds}: seed ${seed}, ${runs !== undefined ? `${runs} runs` : `scale ${scale}`} per property: ${suites.join(" ")}`);
  const t0 = Date.now();
  const res = spawnSync("npx", ["vitest", "run", ...files], { env, stdio: "inherit" });
  console.log(`round ${r + 1}: ${res.status === 0 ? "no failure" : "FAILURES (replay with the seed and path printed above)"} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (res.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
