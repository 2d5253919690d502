/**
 * `multios test FILE...`: runs scenario files and prints one ✓/✗ line per scenario, the failing
 * expectations under each ✗, and a summary. Exit status: 0 all passed, 1 some failed, 2 a file
 * could not be used (unreadable, bad JSON, a bad field, or a program that does not load).
 */
import { ElfError } from "../../boot/elf.js";
import { BootError } from "../../kernel/mm/phys/regions.js";
import { AsmError } from "../asm/common/errors.js";
import { loadScenarioFile, type LoadedScenario } from "./file.js";
import { runScenario, scenarioArches, type ScenarioResult } from "./run.js";
import { ScenarioError } from "./validate.js";

/** The report lines of one result: "✓ name (file)" or "✗ name (file)" then its failures indented. */
export function formatResult(r: ScenarioResult, file?: string, showArch = false): string[] {
  const where = file === undefined ? "" : ` (${file})`;
  return [`${r.passed ? "✓" : "✗"} ${r.name}${showArch ? ` [${r.arch}]` : ""}${where}`, ...r.failures.map((f) => `    ${f}`)];
}

/** Errors that mean the scenario's program cannot be used, as opposed to a failed expectation. */
const isLoadError = (e: unknown): e is Error =>
  e instanceof AsmError || e instanceof ElfError || e instanceof BootError || e instanceof RangeError || (e instanceof Error && "code" in e);

/** Runs every file, writing the report through `write`; returns the exit status. */
export function runScenarioFiles(paths: readonly string[], write: (line: string) => void): number {
  const loaded: LoadedScenario[] = [];
  let bad = 0;
  for (const path of paths) {
    try {
      loaded.push(loadScenarioFile(path));
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      write(`! ${e.message}`);
      bad++;
    }
  }
  if (bad) {
    write(`${bad} bad scenario file(s); nothing run`);
    return 2;
  }
  let passed = 0, failed = 0, runs = 0;
  for (const l of loaded) {
    const arches = scenarioArches(l.scenario);
    for (const arch of arches) {
      runs++;
      let r: ScenarioResult;
      try {
        r = runScenario(l.scenario, { baseDir: l.baseDir, arch });
      } catch (e) {
        if (!isLoadError(e)) throw e;
        write(`! ${l.scenario.name} [${arch}] (${l.path}): ${e.message}`);
        bad++;
        continue;
      }
      for (const line of formatResult(r, l.path, arches.length > 1)) write(line);
      if (r.passed) passed++;
      else failed++;
    }
  }
  write(`${loaded.length} scenario(s), ${runs} run(s): ${passed} passed, ${failed} failed${bad ? `, ${bad} could not run` : ""}`);
  return bad ? 2 : failed ? 1 : 0;
}
