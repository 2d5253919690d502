/**
 * The `multios` command line. Node-only code lives here and in tools/; the machine itself
 * (emulator/, boot/) runs anywhere.
 *
 *   multios run --arch riscv64 --bare IMAGE.elf|PROG.S [options]
 *   multios run --arch riscv64 PROG.elf|PROG.S [ARGS...] [--file [NAME=]PATH ...] [--seed N | --no-aslr]
 *   multios asm --arch riscv64 PROG.S -o OUT.elf
 *   multios test FILE.scenario.json...
 *   multios campaign PLAN.json [--runs N] [--jobs J] [--shard i/n] [--json] [--html FILE] [--only RUN]
 *   multios demo
 */
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { basename } from "node:path";
import { ElfError } from "../boot/elf.js";
import { bootBare, createRiscvVirt, type RiscvVirt } from "../boot/riscv64/virt.js";
import { bootKernel } from "../boot/riscv64/kernel-boot.js";
import { BootError } from "../kernel/mm/phys/regions.js";
import type { TraceEvent } from "../emulator/core/trace.js";
import { formatStaleTlbReport, type StaleTlbReport } from "../emulator/arch/riscv64/stale-tlb.js";
import { parseTlbSpec, parseSize } from "./options.js";
import { AsmError, assembleRiscv64 } from "./asm/riscv64/index.js";
import { runDemo } from "./demo.js";
import { runScenarioFiles } from "./scenario/report.js";
import { campaignReport, formatHtml, formatSummary, runCampaign, shardRuns, type Shard } from "./campaign/index.js";
import { loadPlan, PlanError } from "./campaign/plan.js";
import { FAILING, runCampaignRun } from "./campaign/run.js";

const USAGE = `usage:
  multios run --arch riscv64 PROGRAM.elf|PROG.S [ARGS...] [options]   (kernel)
  multios run --arch riscv64 --bare IMAGE.elf|PROG.S [options]
  multios asm --arch riscv64 PROG.S -o OUT.elf
  multios test FILE.scenario.json...   run scenarios (docs/scenarios.md); exit 0 all pass, 1 a failure, 2 a bad file
  multios campaign PLAN.json [options]   seeded fault-injection runs (docs/campaigns.md); exit 0 no
                           failing run, 1 an oops/hang/corruption, 2 a bad plan
  multios demo
  multios --help | --version

run options:
  --max-insns N            stop after N instructions (exit 124)
  --trace FILE             write traps and TLB fills/invalidations as JSON Lines (docs/trace.md)
  --ram SIZE               RAM size, e.g. 128M, 1G, 64G (default 128M; host memory is used lazily)
  --tlb SPEC               TLB geometry: L1ENTRIES/WAYS[,split|unified][,l2=ENTRIES/WAYS|,nol2]
                           (default 32/4,split,l2=512/4)
  --tlb-flush-on-pte-write QEMU-like comparison mode: any write to a page-table page flushes the TLB
  --svadu                  hardware A/D updates available (enabled by the guest via menvcfg.ADUE)
  --sv39                   the hart supports Sv39 only (satp writes of Sv48 are ignored)
  --no-fast-path           disable the host fast path (output must not change)
  --strict-tlb             check every TLB hit against a fresh page walk and report stale entries
                           (missing sfence.vma) to stderr and the trace; slower, output unchanged
  --stats                  print instruction, trap and TLB counters to stderr at exit

kernel options (without --bare):
  --file [NAME=]PATH       put a file in the initial ramdisk (repeatable) under NAME, default the
                           file's base name (.S/.s files are assembled and lose the suffix);
                           programs execve it by path ("/NAME" or "NAME")
  --seed N                 seed of the kernel's randomness: ASLR and AT_RANDOM (default 0)
  --no-aslr                fixed user layout (stack, mmap base, brk, PIE load address); the
                           seed still feeds AT_RANDOM
  --debug                  kernel paranoid mode: poisoning and invariant checks

campaign options:
  --runs N                 number of runs (default: the plan's runs)
  --jobs J                 worker threads, one machine each (default 2)
  --shard i/n              only the runs whose number is i mod n
  --json                   print the JSON report to stdout (the summary goes to stderr)
  --html FILE              also write an HTML report
  --only RUN               re-run run RUN in-process and print its injections, output and kernel log`;

/** A usage error: printed as one line, exit status 2. */
class UsageError extends Error {}

/** Runs the command line; returns the process exit status. */
export async function main(argv: string[]): Promise<number> {
  try {
    const [cmd, ...rest] = argv;
    switch (cmd) {
      case "run": return cmdRun(rest);
      case "asm": return cmdAsm(rest);
      case "test": return cmdTest(rest);
      case "campaign": return await cmdCampaign(rest);
      case "demo": return runDemo((s) => process.stdout.write(s));
      case "--version": process.stdout.write(`multios ${version()}\n`); return 0;
      case "--help": case "-h": case undefined: process.stdout.write(USAGE + "\n"); return cmd === undefined ? 2 : 0;
      default: throw new UsageError(`unknown command '${cmd}' (try multios --help)`);
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof ElfError || e instanceof AsmError || e instanceof RangeError || e instanceof BootError || e instanceof PlanError) {
      process.stderr.write(`multios: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/**
 * Splits argv into flags (with values where the flag takes one) and positional arguments. A flag
 * in `repeatable` may be given many times; all its values are kept in order in `lists`.
 */
function parseArgs(argv: string[], withValue: readonly string[], boolean: readonly string[], repeatable: readonly string[] = []): { flags: Map<string, string>; lists: Map<string, string[]>; args: string[] } {
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

function readInput(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** An ELF image, or a .S/.s source assembled on the fly. */
function loadImage(path: string): Uint8Array {
  const bytes = readInput(path);
  if (/\.[sS]$/.test(path)) return assembleRiscv64(new TextDecoder().decode(bytes), { fileName: basename(path) }).elf;
  return bytes;
}

/** A program's default name: its base name without a .S/.s suffix. */
const programName = (path: string): string => basename(path).replace(/\.[sS]$/, "");

/** A --file value: "NAME=PATH" (split at the first "="), or PATH named after its base name. */
function ramdiskFile(spec: string): { name: string; bytes: Uint8Array } {
  const eq = spec.indexOf("=");
  const name = eq >= 0 ? spec.slice(0, eq) : programName(spec);
  const path = eq >= 0 ? spec.slice(eq + 1) : spec;
  if (name === "" || path === "") throw new UsageError(`--file '${spec}': expected [NAME=]PATH with a non-empty name and path`);
  return { name, bytes: loadImage(path) };
}

/** The --seed value: a whole number below 2^53. */
function parseSeed(s: string | undefined): number {
  if (s === undefined) return 0;
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(n)) throw new UsageError(`--seed '${s}' is not a whole number below 2^53`);
  return n;
}

function requireArch(flags: Map<string, string>): void {
  const arch = flags.get("--arch");
  if (arch === undefined) throw new UsageError("--arch is required (riscv64)");
  if (arch !== "riscv64") throw new UsageError(`architecture '${arch}' is not available yet; this build has riscv64`);
}

function cmdRun(argv: string[]): number {
  const { flags, lists, args } = parseArgs(argv,
    ["--arch", "--max-insns", "--trace", "--ram", "--tlb", "--seed"],
    ["--bare", "--svadu", "--sv39", "--no-fast-path", "--stats", "--tlb-flush-on-pte-write", "--debug", "--strict-tlb", "--no-aslr"],
    ["--file"]);
  requireArch(flags);
  const bare = flags.has("--bare");
  if (args.length === 0) throw new UsageError("run needs an image (or a program for the kernel)");
  if (bare && args.length !== 1) throw new UsageError(`run --bare takes one image, got ${args.length}`);
  for (const kernelOnly of ["--file", "--seed", "--no-aslr"]) {
    if (bare && (flags.has(kernelOnly) || lists.has(kernelOnly))) throw new UsageError(`${kernelOnly} is a kernel option; it does not apply with --bare`);
  }
  const seed = parseSeed(flags.get("--seed"));
  const image = args[0]!;
  let maxInsns: number | undefined;
  if (flags.has("--max-insns")) {
    const s = flags.get("--max-insns")!;
    maxInsns = Number(s);
    if (!/^\d+$/.test(s) || !Number.isSafeInteger(maxInsns)) throw new UsageError(`--max-insns '${s}' is not a whole number`);
  }
  const tlb = parseTlbSpec(flags.get("--tlb"), flags.has("--tlb-flush-on-pte-write"));
  const ramSize = flags.has("--ram") ? parseSize(flags.get("--ram")!, "--ram") : undefined;
  const out: number[] = [];
  const flush = (): void => {
    if (out.length) process.stdout.write(Uint8Array.from(out.splice(0)));
  };
  const machineOpts = {
    ramSize, tlb, svadu: flags.has("--svadu"), maxPaging: flags.has("--sv39") ? ("sv39" as const) : ("sv48" as const),
    noFastPath: flags.has("--no-fast-path"), strictTlb: flags.has("--strict-tlb"),
    console: (b: number) => { out.push(b); if (b === 10 || out.length >= 4096) flush(); },
  };
  const bytes = loadImage(image);
  let v: RiscvVirt;
  try {
    if (bare) {
      v = createRiscvVirt(machineOpts);
      bootBare(v, bytes);
    } else {
      const argv = [programName(image), ...args.slice(1)];
      const files = (lists.get("--file") ?? []).map(ramdiskFile);
      v = bootKernel({
        ...machineOpts, program: bytes, args: argv, files, seed, aslr: !flags.has("--no-aslr"), debug: flags.has("--debug"),
        log: (line) => { flush(); process.stderr.write(line + "\n"); },
      });
    }
  } catch (e) {
    if (e instanceof ElfError) throw new ElfError(`${image}: ${e.message}`);
    throw e;
  }
  const trace = flags.has("--trace") ? traceWriter(openTrace(flags.get("--trace")!)) : undefined;
  if (trace) v.machine.setTrace(trace.write);
  const stale = flags.has("--strict-tlb") ? staleTlbPrinter((line) => { flush(); process.stderr.write(line + "\n"); }) : undefined;
  if (stale) v.machine.onStaleTlb = stale.report;
  const r = v.machine.run({ maxInsns });
  flush();
  trace?.close();
  stale?.summary();
  if (r.reason === "max-insns" || r.reason === "wfi-hang") process.stderr.write(`multios: ${r.message}\n`);
  if (flags.has("--stats")) printStats(v.machine.harts[0]!, v.machine.staleTlb ? v.machine.staleTlbReports : undefined);
  return r.exitCode;
}

/** Stale-TLB lines printed before only a count is kept. */
const STALE_TLB_LINES = 20;

/**
 * Prints strict-TLB reports as one line each, deduplicated per (VA page, PTE address), at most
 * {@link STALE_TLB_LINES} of them; `summary` prints the totals when there was any report.
 */
function staleTlbPrinter(print: (line: string) => void): { report: (r: StaleTlbReport) => void; summary: () => void } {
  const seen = new Set<string>();
  let total = 0;
  return {
    report: (r) => {
      total++;
      const key = `${r.va >> 12n}:${r.entry.pteAddr}`;
      if (seen.has(key)) return;
      seen.add(key);
      if (seen.size <= STALE_TLB_LINES) print(`multios: ${formatStaleTlbReport(r)}`);
    },
    summary: () => {
      if (total === 0) return;
      const hidden = seen.size > STALE_TLB_LINES ? `, ${seen.size - STALE_TLB_LINES} of them not shown` : "";
      print(`multios: stale TLB: ${total} use${total === 1 ? "" : "s"} of stale entries, ${seen.size} distinct (VA page, PTE address)${hidden}`);
    },
  };
}

function openTrace(path: string): number {
  try {
    return openSync(path, "w");
  } catch (e) {
    throw new UsageError(`cannot write trace ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** Buffers trace lines and writes them to `fd` in blocks; `close` writes the rest. */
function traceWriter(fd: number): { write: (e: TraceEvent) => void; close: () => void } {
  let buf = "";
  const flush = (): void => { writeSync(fd, buf); buf = ""; };
  return {
    write: (e) => {
      buf += JSON.stringify(e) + "\n";
      if (buf.length > 1 << 16) flush();
    },
    close: () => { flush(); closeSync(fd); },
  };
}

function printStats(h: import("../emulator/arch/riscv64/hart.js").Hart, staleTlb: number | undefined): void {
  const s = h.tlbs.stats();
  const lines = [
    `instructions ${h.icount}`, `traps ${h.traps}`,
    `tlb hits ${s.hits} (slow path; fast-path hits are not counted) misses ${s.misses} fills ${s.fills} evictions ${s.evictions}`,
    `walks ${s.walks} walk memory references ${s.walkRefs}`,
    `invalidations ${Object.entries(s.invalidations).map(([k, n]) => `${k}: ${n}`).join(", ") || "none"} (entries removed ${s.invalidated})`,
    ...(staleTlb !== undefined ? [`stale TLB uses ${staleTlb} (--strict-tlb)`] : []),
  ];
  process.stderr.write(lines.map((l) => `stats: ${l}\n`).join(""));
}

function cmdTest(argv: string[]): number {
  const { args } = parseArgs(argv, [], []);
  if (args.length === 0) throw new UsageError("test needs at least one scenario file");
  return runScenarioFiles(args, (line) => process.stdout.write(line + "\n"));
}

/** A whole-number option value (a run count, a job count, a run number); `min` is its least value. */
function wholeOption(name: string, s: string, min: number): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`${name} '${s}' is not a whole number >= ${min}`);
  return n;
}

/** The --shard value "i/n" with 0 <= i < n. */
function parseShard(s: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(s);
  const index = Number(m?.[1]), count = Number(m?.[2]);
  if (!m || !(count >= 1 && index < count)) throw new UsageError(`--shard '${s}' is not i/n with 0 <= i < n`);
  return { index, count };
}

async function cmdCampaign(argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, ["--runs", "--jobs", "--shard", "--html", "--only"], ["--json"]);
  if (args.length !== 1) throw new UsageError(`campaign takes one plan file, got ${args.length}`);
  const planArg = args[0]!;
  const runs = flags.has("--runs") ? wholeOption("--runs", flags.get("--runs")!, 0) : undefined;
  const jobs = flags.has("--jobs") ? wholeOption("--jobs", flags.get("--jobs")!, 1) : 2;
  const shard = flags.has("--shard") ? parseShard(flags.get("--shard")!) : undefined;
  const loaded = loadPlan(planArg, runs);
  const json = flags.has("--json");
  if (flags.has("--only")) {
    const run = wholeOption("--only", flags.get("--only")!, 0);
    const { summary, result } = runCampaignRun(loaded.plan, loaded.program, run);
    if (json) process.stdout.write(JSON.stringify({ ...summary, exitCode: result.faulty.exitCode, reason: result.faulty.reason, stdout: result.faulty.stdout, log: result.log, golden: { exitCode: result.golden.exitCode, stdout: result.golden.stdout } }, null, 2) + "\n");
    else {
      const out = [
        `run ${run} (seed ${summary.seed}): ${summary.outcome}`,
        ...summary.injections.map((i) => `injection: ${i.point} at ${i.call}${i.pid !== undefined ? ` pid ${i.pid}` : ""}${i.owner ? ` owner ${i.owner}` : ""}${i.detail ? `: ${i.detail}` : ""}`),
        `golden: exit ${result.golden.exitCode}, output ${JSON.stringify(result.golden.stdout)}`,
        `faulty: exit ${result.faulty.exitCode} (${result.faulty.reason}), output ${JSON.stringify(result.faulty.stdout)}`,
        ...result.log.map((l) => `log: ${l}`),
      ];
      process.stdout.write(out.join("\n") + "\n");
    }
    return FAILING.includes(summary.outcome) ? 1 : 0;
  }
  const selected = shardRuns(loaded.plan.runs, shard);
  const tty = process.stderr.isTTY === true;
  const step = Math.max(1, Math.ceil(selected.length / 10));
  const progress = (done: number, total: number): void => {
    const line = `campaign ${loaded.plan.name}: ${done}/${total} runs`;
    if (tty) process.stderr.write(`\r${line}${done === total ? "\n" : ""}`);
    else if (done % step === 0 || done === total) process.stderr.write(line + "\n");
  };
  const results = await runCampaign(loaded, selected, jobs, new URL("./campaign-worker.js", import.meta.url), progress);
  const report = campaignReport(planArg, loaded, results, shard);
  if (json) {
    process.stderr.write(formatSummary(report));
    process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  } else process.stdout.write(formatSummary(report));
  if (flags.has("--html")) writeFileSync(flags.get("--html")!, formatHtml(report));
  return report.failures.length > 0 ? 1 : 0;
}

function cmdAsm(argv: string[]): number {
  const { flags, args } = parseArgs(argv, ["--arch", "-o"], []);
  requireArch(flags);
  if (args.length !== 1) throw new UsageError(`asm takes one source file, got ${args.length}`);
  const outPath = flags.get("-o");
  if (outPath === undefined) throw new UsageError("asm needs -o OUT.elf");
  const src = new TextDecoder().decode(readInput(args[0]!));
  const r = assembleRiscv64(src, { fileName: basename(args[0]!) });
  writeFileSync(outPath, r.elf);
  return 0;
}
