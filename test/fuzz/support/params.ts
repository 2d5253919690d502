/**
 * Run parameters of the fuzz suites. `npm test` runs each property a modest fixed number of times
 * from a fixed seed, so CI is fast and deterministic; a campaign raises the count and varies the
 * seed through the environment, and a failure is replayed from the seed and path fast-check prints:
 *
 * | variable | effect |
 * |---|---|
 * | FUZZ_RUNS | runs per property, instead of each suite's default |
 * | FUZZ_SCALE | multiplies each suite's default (FUZZ_RUNS wins if both are set) |
 * | FUZZ_SEED | the seed (default: each property's fixed seed) |
 * | FUZZ_PATH | with FUZZ_SEED: replay only that counterexample path (select the property with `-t`) |
 */
import type { Parameters } from "fast-check";

const env = (name: string): string | undefined => {
  const v = process.env[name];
  return v === undefined || v === "" ? undefined : v;
};

/** An environment integer, or undefined; throws for a value that is not an integer. */
function envInt(name: string): number | undefined {
  const v = env(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`${name}=${v} is not an integer`);
  return n;
}

/** Runs per property: FUZZ_RUNS, else `defaultRuns` times FUZZ_SCALE (default 1). */
export function fuzzRuns(defaultRuns: number): number {
  return envInt("FUZZ_RUNS") ?? Math.max(1, Math.round(defaultRuns * (envInt("FUZZ_SCALE") ?? 1)));
}

/**
 * fast-check parameters for one property: `defaultRuns` runs from `defaultSeed` unless the
 * environment says otherwise (see the table above). Failures print the seed and path to replay.
 */
export function fuzzParams<T>(defaultRuns: number, defaultSeed: number): Parameters<T> {
  const seed = envInt("FUZZ_SEED") ?? defaultSeed;
  const path = env("FUZZ_PATH");
  return { numRuns: fuzzRuns(defaultRuns), seed, ...(path !== undefined ? { path } : {}), endOnFailure: path !== undefined };
}

/** The wall-clock limit one input may take to parse before it counts as a hang (milliseconds). */
export const PARSE_TIME_LIMIT_MS = 1000;

/**
 * A vitest timeout for a property of `defaultRuns` runs (scaled as {@link fuzzRuns}) that may take
 * up to `msPerRun` each, so a campaign's long properties are not cut off by the default timeout.
 */
export function fuzzTimeout(defaultRuns: number, msPerRun: number): number {
  return Math.max(60_000, fuzzRuns(defaultRuns) * msPerRun);
}
