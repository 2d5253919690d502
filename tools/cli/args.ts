/**
 * Command-line plumbing shared by the `multios` commands: argument parsing, input files, and the
 * option values several commands take. Errors are {@link UsageError}s: one line, exit status 2.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { ARCHES, assemble, type Arch } from "./arch.js";

/** A usage error: printed as one line, exit status 2. */
export class UsageError extends Error {}

/**
 * Splits argv into flags (with values where the flag takes one) and positional arguments. A flag
 * in `repeatable` may be given many times; all its values are kept in order in `lists`.
 */
export function parseArgs(argv: string[], withValue: readonly string[], boolean: readonly string[], repeatable: readonly string[] = []): { flags: Map<string, string>; lists: Map<string, string[]>; args: string[] } {
  const flags = new Map<string, string>();
  const lists = new Map<string, string[]>();
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("-") || a === "-") { args.push(a); continue; }
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (withValue.includes(name) || repeatable.includes(name)) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new UsageError(`option ${name} needs a value`);
      if (repeatable.includes(name)) lists.set(name, [...(lists.get(name) ?? []), v]);
      else flags.set(name, v);
    } else if (boolean.includes(name) && eq < 0) {
      flags.set(name, "");
    } else {
      throw new UsageError(`unknown option ${name} (try multios --help)`);
    }
  }
  return { flags, lists, args };
}

export function readInput(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** An ELF image, or a .S/.s source assembled on the fly for `arch` (at `base`, default the assembler's). */
export function loadImage(path: string, base?: bigint, arch: Arch = "riscv64"): Uint8Array {
  const bytes = readInput(path);
  if (/\.[sS]$/.test(path)) return assemble(arch, new TextDecoder().decode(bytes), { fileName: basename(path), ...(base !== undefined ? { base } : {}) }).elf;
  return bytes;
}

/** A program's default name: its base name without a .S/.s suffix. */
export const programName = (path: string): string => basename(path).replace(/\.[sS]$/, "");

/** A --file value: "NAME=PATH" (split at the first "="), or PATH named after its base name. */
export function ramdiskFile(spec: string, arch: Arch = "riscv64"): { name: string; bytes: Uint8Array } {
  const eq = spec.indexOf("=");
  const name = eq >= 0 ? spec.slice(0, eq) : programName(spec);
  const path = eq >= 0 ? spec.slice(eq + 1) : spec;
  if (name === "" || path === "") throw new UsageError(`--file '${spec}': expected [NAME=]PATH with a non-empty name and path`);
  return { name, bytes: loadImage(path, undefined, arch) };
}

/** The --seed value: a whole number below 2^53. */
export function parseSeed(s: string | undefined): number {
  if (s === undefined) return 0;
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(n)) throw new UsageError(`--seed '${s}' is not a whole number below 2^53`);
  return n;
}

export function requireArch(flags: Map<string, string>): Arch {
  const arch = flags.get("--arch");
  if (arch === undefined) throw new UsageError(`--arch is required (${ARCHES.join(", ")})`);
  if (!(ARCHES as readonly string[]).includes(arch)) throw new UsageError(`unknown architecture '${arch}' (${ARCHES.join(", ")})`);
  return arch as Arch;
}

/** A whole-number option value (a run count, a job count, a run number); `min` is its least value. */
export function wholeOption(name: string, s: string, min: number): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`${name} '${s}' is not a whole number >= ${min}`);
  return n;
}


/** A page-aligned address option ("0x80200000" or decimal) below 2^64. */
export function parseAddress(name: string, s: string): bigint {
  let v: bigint;
  try {
    v = BigInt(s);
  } catch {
    throw new UsageError(`${name} '${s}' is not a number`);
  }
  if (v < 0n || v >= 1n << 64n || v % 4096n !== 0n) throw new UsageError(`${name} '${s}' is not a page-aligned 64-bit address`);
  return v;
}
