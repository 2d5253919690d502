/** Scenarios: define, validate, load and run them (docs/scenarios.md). */
export { defineScenario, FAULT_COUNTERS, type Scenario, type ScenarioExpectation, type ScenarioMachine, type ScenarioProgram, type TrapExpectation, type KernelExpectation } from "./types.js";
export { ScenarioError, validateScenario } from "./validate.js";
export { runScenario, type ScenarioResult, type ScenarioStats, type KernelStats, type RunScenarioOptions } from "./run.js";
export { TRAP_KINDS, TRAP_CAUSES, causeOf, kindOf, type TrapKind, type Arch } from "./kinds.js";
export { loadScenarioFile, parseScenarioJson } from "./file.js";
export { formatResult, runScenarioFiles } from "./report.js";
