/**
 * Validation of scenarios, from JSON or TypeScript: every field is checked, unknown keys are
 * errors, and the error is one line naming the field ("expect.traps[1].kind: ...").
 */
import { parseSize, parseTlbSpec } from "../options.js";
import { ARCHES, isTrapKind, TRAP_KINDS } from "./kinds.js";
import { FAULT_COUNTERS, type Scenario } from "./types.js";

/**
 * A scenario that is not well-formed: `field` is the path of the offending value ("" for the whole
 * file), `file` the scenario file when there is one. The message is "file: field: reason".
 */
export class ScenarioError extends Error {
  constructor(readonly field: string, readonly reason: string, readonly file?: string) {
    super([file, field, reason].filter((s) => s).join(": "));
    this.name = "ScenarioError";
  }
}

type Obj = Record<string, unknown>;

const show = (v: unknown): string => (typeof v === "string" ? JSON.stringify(v) : Array.isArray(v) ? "an array" : v === null ? "null" : typeof v === "object" ? "an object" : String(v));

function object(v: unknown, field: string, required: readonly string[], optional: readonly string[]): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ScenarioError(field, `expected an object, got ${show(v)}`);
  const o = v as Obj;
  const at = (k: string): string => (field ? `${field}.${k}` : k);
  for (const k of Object.keys(o)) {
    if (!required.includes(k) && !optional.includes(k)) throw new ScenarioError(at(k), `unknown field (allowed: ${[...required, ...optional].join(", ")})`);
  }
  for (const k of required) if (o[k] === undefined) throw new ScenarioError(at(k), "required field is missing");
  return o;
}

function string(v: unknown, field: string): string {
  if (typeof v !== "string") throw new ScenarioError(field, `expected a string, got ${show(v)}`);
  return v;
}

function count(v: unknown, field: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new ScenarioError(field, `expected a whole number >= 0, got ${show(v)}`);
  return v;
}

function boolean(v: unknown, field: string): boolean {
  if (typeof v !== "boolean") throw new ScenarioError(field, `expected true or false, got ${show(v)}`);
  return v;
}

function oneOf<T extends string>(v: unknown, field: string, allowed: readonly T[]): T {
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) throw new ScenarioError(field, `expected one of ${allowed.join(", ")}, got ${show(v)}`);
  return v as T;
}

function hex(v: unknown, field: string): string {
  const s = string(v, field);
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(s)) throw new ScenarioError(field, `expected an address like "0x1000", got ${show(s)}`);
  return s;
}

/** Runs `f` and turns a RangeError from a shared parser into a ScenarioError at `field`. */
function parsed<T>(field: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RangeError) throw new ScenarioError(field, e.message);
    throw e;
  }
}

/** Checks a single program: exactly one of asm, asmFile, elf, a string. */
function programSource(v: unknown, field: string): void {
  const p = object(v, field, [], ["asm", "asmFile", "elf"]);
  const given = Object.keys(p);
  if (given.length !== 1) throw new ScenarioError(field, `expected exactly one of asm, asmFile, elf, got ${given.length ? given.join(", ") : "none"}`);
  string(p[given[0]!], `${field}.${given[0]}`);
}

/** Checks `v` as a scenario; returns it typed. Throws ScenarioError for the first bad field. */
export function validateScenario(v: unknown): Scenario {
  const o = object(v, "", ["name", "machine", "mode", "program", "expect"], ["args", "kernel", "maxInsns", "$schema", "description"]);
  string(o.name, "name");
  if (o.description !== undefined) string(o.description, "description");
  const m = object(o.machine, "machine", ["arch"], ["ram", "tlb", "ad", "harts", "scheduleSeed", "quantum"]);
  const arches = Array.isArray(m.arch) ? m.arch : [m.arch];
  if (arches.length === 0) throw new ScenarioError("machine.arch", "expected an architecture or a non-empty list of them");
  arches.forEach((a, i) => oneOf(a, Array.isArray(m.arch) ? `machine.arch[${i}]` : "machine.arch", ARCHES));
  if (new Set(arches).size !== arches.length) throw new ScenarioError("machine.arch", "an architecture is listed twice");
  if (m.ram !== undefined) {
    if (typeof m.ram === "number") count(m.ram, "machine.ram");
    else parsed("machine.ram", () => parseSize(string(m.ram, "machine.ram"), "machine.ram"));
  }
  if (m.tlb !== undefined) parsed("machine.tlb", () => parseTlbSpec(string(m.tlb, "machine.tlb")));
  if (m.ad !== undefined) oneOf(m.ad, "machine.ad", ["svade", "svadu"] as const);
  if (m.ad === "svadu" && arches.some((a) => a !== "riscv64")) throw new ScenarioError("machine.ad", "svadu is a RISC-V option");
  if (m.harts !== undefined && (count(m.harts, "machine.harts") < 1 || (m.harts as number) > 8)) throw new ScenarioError("machine.harts", `${String(m.harts)} harts: 1 to 8 are supported`);
  if (m.scheduleSeed !== undefined) count(m.scheduleSeed, "machine.scheduleSeed");
  if (m.quantum !== undefined && count(m.quantum, "machine.quantum") < 1) throw new ScenarioError("machine.quantum", "a slice is at least 1 instruction");
  const mode = oneOf(o.mode, "mode", ["kernel", "bare"] as const);

  const p = object(o.program, "program", [], ["asm", "asmFile", "elf", ...ARCHES]);
  if (Object.keys(p).some((k) => (ARCHES as readonly string[]).includes(k))) {
    for (const a of arches) if (p[a] === undefined) throw new ScenarioError(`program.${a}`, "the scenario runs on this architecture but gives no program for it");
    for (const [a, src] of Object.entries(p)) {
      if (!(ARCHES as readonly string[]).includes(a)) throw new ScenarioError(`program.${a}`, "mix a per-architecture program map with a single program");
      programSource(src, `program.${a}`);
    }
  } else {
    programSource(p, "program");
    if (arches.length > 1 && !("elf" in p)) throw new ScenarioError("program", "a scenario on several architectures needs one program per architecture (program.riscv64, program.arm64, ...)");
  }

  if (o.args !== undefined) {
    if (!Array.isArray(o.args)) throw new ScenarioError("args", `expected an array of strings, got ${show(o.args)}`);
    o.args.forEach((a, i) => string(a, `args[${i}]`));
    if (mode === "bare" && o.args.length) throw new ScenarioError("args", "a bare program takes no arguments");
  }
  if (o.kernel !== undefined) {
    if (mode === "bare") throw new ScenarioError("kernel", "kernel options do not apply to mode \"bare\"");
    const k = object(o.kernel, "kernel", [], ["seed", "aslr", "debug"]);
    if (k.seed !== undefined) count(k.seed, "kernel.seed");
    if (k.aslr !== undefined) boolean(k.aslr, "kernel.aslr");
    if (k.debug !== undefined) boolean(k.debug, "kernel.debug");
  }
  if (o.maxInsns !== undefined) count(o.maxInsns, "maxInsns");

  const e = object(o.expect, "expect", [], ["exitCode", "stdout", "traps", "kernel"]);
  if (e.exitCode !== undefined) count(e.exitCode, "expect.exitCode");
  if (e.stdout !== undefined && typeof e.stdout !== "string") string(object(e.stdout, "expect.stdout", ["contains"], []).contains, "expect.stdout.contains");
  if (e.traps !== undefined) {
    if (!Array.isArray(e.traps)) throw new ScenarioError("expect.traps", `expected an array, got ${show(e.traps)}`);
    e.traps.forEach((t, i) => {
      const f = `expect.traps[${i}]`;
      const tr = object(t, f, [], ["cause", "kind", "tval", "from", "to"]);
      if (Object.keys(tr).length === 0) throw new ScenarioError(f, "an expected trap needs at least one field");
      if (tr.cause !== undefined) count(tr.cause, `${f}.cause`);
      if (tr.kind !== undefined && !isTrapKind(string(tr.kind, `${f}.kind`))) throw new ScenarioError(`${f}.kind`, `unknown trap kind ${show(tr.kind)} (known: ${TRAP_KINDS.join(", ")})`);
      if (tr.tval !== undefined) hex(tr.tval, `${f}.tval`);
      for (const k of ["from", "to"] as const) if (tr[k] !== undefined) oneOf(tr[k], `${f}.${k}`, ["U", "S", "M"] as const);
    });
  }
  if (e.kernel !== undefined) {
    if (mode === "bare") throw new ScenarioError("expect.kernel", "kernel expectations do not apply to mode \"bare\"");
    const k = object(e.kernel, "expect.kernel", [], [...Object.keys(FAULT_COUNTERS), "framesLeaked", "killed", "oops"]);
    for (const [key, val] of Object.entries(k)) {
      if (key === "oops") boolean(val, "expect.kernel.oops");
      else count(val, `expect.kernel.${key}`);
    }
  }
  return o as unknown as Scenario;
}
