/** Scenario files (`*.scenario.json`): read, parse and validate, with errors naming the file. */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Scenario } from "./types.js";
import { ScenarioError, validateScenario } from "./validate.js";

/** A scenario file's scenario and the directory its program paths are relative to. */
export interface LoadedScenario {
  path: string;
  scenario: Scenario;
  baseDir: string;
}

/** Parses and validates JSON text. Throws ScenarioError (bad JSON, or the first bad field). */
export function parseScenarioJson(text: string): Scenario {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ScenarioError("", `not valid JSON: ${(e as Error).message}`);
  }
  return validateScenario(v);
}

/** Reads `path`. Throws ScenarioError with the path in front ("x.scenario.json: expect.foo: ..."). */
export function loadScenarioFile(path: string): LoadedScenario {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ScenarioError("", `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, path);
  }
  try {
    return { path, scenario: parseScenarioJson(text), baseDir: dirname(resolve(path)) };
  } catch (e) {
    if (e instanceof ScenarioError) throw new ScenarioError(e.field, e.reason, path);
    throw e;
  }
}
