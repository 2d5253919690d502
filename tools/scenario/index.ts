/** Scenarios: define, validate, load and run them (docs/scenarios.md). */
export { defineScenario, FAULT_COUNTERS, type Scenario, type ScenarioExpectation, type ScenarioMachine, type ScenarioProgram, type ScenarioProgramSource, type TrapExpectation, type KernelExpectation } from "./types.js";
export { ScenarioError, validateScenario } from "./validate.js";
export { runScenario, runScenarioAll, scenarioArches, type ScenarioResult, type ScenarioStats, type KernelStats, type RunScenarioOptions } from "./run.js";
export { ARCHES, TRAP_KINDS, kindOf, privilegeOf, type TrapKind, type Arch } from "./kinds.js";
export { loadScenarioFile, parseScenarioJson } from "./file.js";
export { formatResult, runScenarioFiles } from "./report.js";
