/** `multios run`: boot a machine (bare, or with the TypeScript kernel) and run it to the end. */
import { closeSync, openSync, writeFileSync, writeSync } from "node:fs";
import { ElfError } from "../../boot/elf.js";
import type { RiscvMachine, RunResult } from "../../emulator/arch/riscv64/machine.js";
import type { KernelMachine } from "../../boot/riscv64/kernel-boot.js";
import type { Kernel } from "../../kernel/kernel.js";
import type { RunResult as AnyRunResult } from "../../emulator/core/run.js";
import { MAX_HARTS } from "../../boot/riscv64/virt.js";
import { MAX_CPUS } from "../../boot/arm64/virt.js";
import { SBI_PAYLOAD_BASE } from "../../boot/riscv64/sbi-boot.js";
import type { TraceEvent } from "../../emulator/core/trace.js";
import { formatStaleTlbReport, type StaleTlbReport } from "../../emulator/arch/riscv64/stale-tlb.js";
import { parseTlbSpec, parseSize } from "../options.js";
import { DEFAULT_EVERY, recordRun } from "../replay/index.js";
import type { RunRecordFile } from "../replay/record.js";
import { startRun, type RunIo, type RunSpec, type Started } from "../replay/spec.js";
import { otherMachine, processorStats, type OtherMachine, type ProcessorStats } from "./arch.js";
import { loadImage, parseArgs, parseSeed, programName, ramdiskFile, requireArch, UsageError, wholeOption } from "./args.js";

export function cmdRun(argv: string[]): number {
  const { flags, lists, args } = parseArgs(argv,
    ["--arch", "--max-insns", "--trace", "--ram", "--tlb", "--seed", "--record", "--checkpoint-every", "--harts", "--schedule-seed", "--quantum", "--asid-bits"],
    ["--bare", "--sbi", "--la57", "--no-jit", "--svadu", "--sv39", "--no-fast-path", "--stats", "--tlb-flush-on-pte-write", "--debug", "--strict-tlb", "--no-aslr"],
    ["--file"]);
  const arch = requireArch(flags);
  if (arch !== "riscv64") return runOther(arch, flags, lists, args);
  if (flags.has("--la57")) throw new UsageError("--la57 is an x86_64 option");
  if (flags.has("--no-jit")) throw new UsageError("--no-jit is an arm64 and x86_64 option (riscv64 has no block translator)");
  const sbi = flags.has("--sbi");
  if (sbi && flags.has("--bare")) throw new UsageError("--sbi and --bare are different boots; give one");
  const bare = flags.has("--bare") || sbi;
  if (args.length === 0) throw new UsageError("run needs an image (or a program for the kernel)");
  const mode = sbi ? "--sbi" : "--bare";
  if (bare && args.length !== 1) throw new UsageError(`run ${mode} takes one image, got ${args.length}`);
  for (const kernelOnly of ["--file", "--seed", "--no-aslr", "--debug"]) {
    if (bare && (flags.has(kernelOnly) || lists.has(kernelOnly))) throw new UsageError(`${kernelOnly} is a kernel option; it does not apply with ${mode}`);
  }
  if (flags.has("--checkpoint-every") && !flags.has("--record")) throw new UsageError("--checkpoint-every goes with --record");
  const image = args[0]!;
  const options = {
    seed: parseSeed(flags.get("--seed")), aslr: !flags.has("--no-aslr"), debug: flags.has("--debug"),
    ...(flags.has("--max-insns") ? { maxInsns: wholeOption("--max-insns", flags.get("--max-insns")!, 0) } : {}),
    ...(flags.has("--ram") ? { ramSize: parseSize(flags.get("--ram")!, "--ram") } : {}),
    ...(flags.has("--tlb") ? { tlb: flags.get("--tlb")! } : {}),
    tlbFlushOnPteWrite: flags.has("--tlb-flush-on-pte-write"), svadu: flags.has("--svadu"), sv39: flags.has("--sv39"),
    noFastPath: flags.has("--no-fast-path"), strictTlb: flags.has("--strict-tlb"),
    ...(flags.has("--harts") ? { harts: wholeOption("--harts", flags.get("--harts")!, 1) } : {}),
    ...(flags.has("--schedule-seed") ? { scheduleSeed: wholeOption("--schedule-seed", flags.get("--schedule-seed")!, 0) } : {}),
    ...(flags.has("--quantum") ? { quantum: wholeOption("--quantum", flags.get("--quantum")!, 1) } : {}),
    ...(flags.has("--asid-bits") ? { asidLen: wholeOption("--asid-bits", flags.get("--asid-bits")!, 0) } : {}),
  };
  if (options.asidLen !== undefined && options.asidLen > 16) throw new UsageError(`--asid-bits ${options.asidLen}: satp.ASID has at most 16 bits`);
  parseTlbSpec(options.tlb, options.tlbFlushOnPteWrite);
  if (options.harts !== undefined && options.harts > MAX_HARTS) throw new UsageError(`--harts ${options.harts}: 1 to ${MAX_HARTS} harts are supported`);
  const spec: RunSpec = {
    arch: "riscv64", bare, ...(sbi ? { sbi } : {}), image: { name: programName(image), bytes: loadImage(image, sbi ? SBI_PAYLOAD_BASE : undefined) },
    args: bare ? [] : [programName(image), ...args.slice(1)],
    files: bare ? [] : (lists.get("--file") ?? []).map((f) => ramdiskFile(f)),
    ...options,
  };
  const every = flags.has("--checkpoint-every") ? wholeOption("--checkpoint-every", flags.get("--checkpoint-every")!, 1) : DEFAULT_EVERY;
  const { io, flush } = stdio();
  const trace = flags.has("--trace") ? traceWriter(openTrace(flags.get("--trace")!)) : undefined;
  const stale = flags.has("--strict-tlb") ? staleTlbPrinter((line) => { flush(); process.stderr.write(line + "\n"); }) : undefined;
  const watch = (started: Started): void => {
    if (started.arch !== "riscv64") return;
    const m = started.v.machine;
    if (trace) m.setTrace(trace.write);
    if (stale) m.onStaleTlb = stale.report;
  };
  let r: RunResult;
  let machine: RiscvMachine;
  let kernel: Kernel | undefined;
  try {
    if (flags.has("--record")) {
      const recordPath = flags.get("--record")!;
      const recorded = recordRun(spec, io, every, watch);
      writeRecord(recordPath, recorded.record);
      r = recorded.result as RunResult;
      machine = riscvMachine(recorded.started);
    } else {
      const started = startRun(spec, io);
      machine = riscvMachine(started);
      kernel = started.arch === "riscv64" ? (started.v as Partial<KernelMachine>).kernel : undefined;
      watch(started);
      r = machine.run({ ...(spec.maxInsns !== undefined ? { maxInsns: spec.maxInsns } : {}) });
    }
  } catch (e) {
    if (e instanceof ElfError) throw new ElfError(`${image}: ${e.message}`);
    throw e;
  } finally {
    flush();
    trace?.close();
  }
  stale?.summary();
  if (r.reason === "max-insns" || r.reason === "wfi-hang") process.stderr.write(`multios: ${r.message}\n`);
  if (flags.has("--stats")) printStats(processorStats(machine.harts, "hart"), machine.staleTlb ? machine.staleTlbReports : undefined, kernel);
  return r.exitCode;
}

/** Options the arm64 and x86_64 machines take so far; the kernel ones apply without --bare. */
const OTHER_ARCH_OPTIONS = new Set(["--arch", "--bare", "--max-insns", "--ram", "--tlb", "--no-fast-path", "--strict-tlb", "--trace", "--stats", "--la57", "--no-jit", "--record", "--checkpoint-every", "--harts", "--schedule-seed", "--quantum"]);
const OTHER_KERNEL_OPTIONS = new Set(["--file", "--seed", "--no-aslr", "--debug", "--asid-bits"]);

/**
 * `multios run --arch arm64|x86_64 ...`: bare images, or the kernel running a program, on one CPU
 * or several, optionally recorded; the RISC-V-specific options are riscv64-only.
 */
function runOther(arch: "arm64" | "x86_64", flags: Map<string, string>, lists: Map<string, string[]>, args: string[]): number {
  const bare = flags.has("--bare");
  if (flags.has("--la57") && arch !== "x86_64") throw new UsageError("--la57 is an x86_64 option");
  for (const name of [...flags.keys(), ...lists.keys()]) {
    if (OTHER_KERNEL_OPTIONS.has(name)) {
      if (bare) throw new UsageError(`${name} is a kernel option; it does not apply with --bare`);
    } else if (!OTHER_ARCH_OPTIONS.has(name)) throw new UsageError(`${name} is not available for ${arch} yet`);
  }
  if (args.length === 0) throw new UsageError("run needs an image (or a program for the kernel)");
  if (bare && args.length !== 1) throw new UsageError(`run --bare takes one image, got ${args.length}`);
  if (flags.has("--checkpoint-every") && !flags.has("--record")) throw new UsageError("--checkpoint-every goes with --record");
  const tlb = flags.get("--tlb");
  parseTlbSpec(tlb);
  const harts = flags.has("--harts") ? wholeOption("--harts", flags.get("--harts")!, 1) : undefined;
  if (harts !== undefined && harts > MAX_CPUS) throw new UsageError(`--harts ${harts}: 1 to ${MAX_CPUS} CPUs are supported`);
  const asidBits = flags.has("--asid-bits") ? wholeOption("--asid-bits", flags.get("--asid-bits")!, 0) : undefined;
  const widest = arch === "arm64" ? 16 : 12;
  if (asidBits !== undefined && asidBits > widest) throw new UsageError(`--asid-bits ${asidBits}: ${arch === "arm64" ? "ASIDs have" : "PCIDs have"} at most ${widest} bits`);
  const image = args[0]!;
  const spec: RunSpec = {
    arch, bare, image: { name: programName(image), bytes: loadImage(image, undefined, arch) },
    args: bare ? [] : [programName(image), ...args.slice(1)],
    files: bare ? [] : (lists.get("--file") ?? []).map((f) => ramdiskFile(f, arch)),
    seed: parseSeed(flags.get("--seed")), aslr: !flags.has("--no-aslr"), debug: flags.has("--debug"),
    ...(flags.has("--max-insns") ? { maxInsns: wholeOption("--max-insns", flags.get("--max-insns")!, 0) } : {}),
    ...(flags.has("--ram") ? { ramSize: parseSize(flags.get("--ram")!, "--ram") } : {}),
    ...(tlb !== undefined ? { tlb } : {}),
    tlbFlushOnPteWrite: false, svadu: false, sv39: false, la57: flags.has("--la57"),
    noFastPath: flags.has("--no-fast-path"), strictTlb: flags.has("--strict-tlb"), noJit: flags.has("--no-jit"),
    ...(harts !== undefined ? { harts } : {}),
    ...(flags.has("--schedule-seed") ? { scheduleSeed: wholeOption("--schedule-seed", flags.get("--schedule-seed")!, 0) } : {}),
    ...(flags.has("--quantum") ? { quantum: wholeOption("--quantum", flags.get("--quantum")!, 1) } : {}),
    ...(asidBits !== undefined ? { asidLen: asidBits } : {}),
  };
  const { io, flush } = stdio();
  const trace = flags.has("--trace") ? traceWriter(openTrace(flags.get("--trace")!)) : undefined;
  let m: OtherMachine | undefined;
  const watch = (started: Started): void => {
    if (started.arch === "riscv64") return;
    m = otherMachine(started);
    if (trace) m.setTrace(trace.write);
    if (flags.has("--strict-tlb")) m.onStrictReport((line) => { flush(); process.stderr.write(`multios: ${line}
`); });
  };
  let r: AnyRunResult;
  try {
    if (flags.has("--record")) {
      const every = flags.has("--checkpoint-every") ? wholeOption("--checkpoint-every", flags.get("--checkpoint-every")!, 1) : DEFAULT_EVERY;
      const recorded = recordRun(spec, io, every, watch);
      writeRecord(flags.get("--record")!, recorded.record);
      r = recorded.result;
    } else {
      const started = startRun(spec, io);
      watch(started);
      r = started.target.run(spec.maxInsns ?? Number.MAX_SAFE_INTEGER);
    }
  } catch (e) {
    if (e instanceof ElfError) throw new ElfError(`${image}: ${e.message}`);
    throw e;
  } finally {
    flush();
    trace?.close();
  }
  if (r.exitCode === 124 || r.exitCode === 125) process.stderr.write(`multios: ${r.message}\n`);
  if (flags.has("--stats") && m) printStats(m.processors(), undefined, m.kernel);
  return r.exitCode;
}

/** Console bytes to stdout (flushed per line and before each log line), kernel log lines to stderr. */
function stdio(): { io: RunIo; flush: () => void } {
  const out: number[] = [];
  const flush = (): void => {
    if (out.length) process.stdout.write(Uint8Array.from(out.splice(0)));
  };
  const io: RunIo = {
    console: (b) => { out.push(b); if (b === 10 || out.length >= 4096) flush(); },
    log: (line) => { flush(); process.stderr.write(line + "\n"); },
  };
  return { io, flush };
}

/** The riscv64 machine of a started run. */
function riscvMachine(s: Started): RiscvMachine {
  if (s.arch !== "riscv64") throw new Error(`expected a riscv64 machine, got ${s.arch}`);
  return s.v.machine;
}

/** Writes a record file (JSON); a path that cannot be written is a usage error. */
export function writeRecord(path: string, record: RunRecordFile): void {
  try {
    writeFileSync(path, JSON.stringify(record) + "\n");
  } catch (e) {
    throw new UsageError(`cannot write record ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** Stale-TLB lines printed before only a count is kept. */
const STALE_TLB_LINES = 20;

/**
 * Prints strict-TLB reports as one line each, deduplicated per (VA page, PTE address), at most
 * {@link STALE_TLB_LINES} of them; `summary` prints the totals when there was any report.
 */
export function staleTlbPrinter(print: (line: string) => void): { report: (r: StaleTlbReport) => void; summary: () => void } {
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

export function openTrace(path: string): number {
  try {
    return openSync(path, "w");
  } catch (e) {
    throw new UsageError(`cannot write trace ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** Buffers trace lines and writes them to `fd` in blocks; `close` writes the rest. */
export function traceWriter(fd: number): { write: (e: TraceEvent) => void; close: () => void } {
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

/** Per-processor machine counters, and the kernel's per-CPU and shootdown counters when a kernel ran. */
export function printStats(cpus: readonly ProcessorStats[], staleTlb: number | undefined, kernel?: Kernel): void {
  const lines: string[] = [];
  for (const { who, icount, traps, tlb: s } of cpus) {
    lines.push(
      `${who}instructions ${icount}`, `${who}traps ${traps}`,
      `${who}tlb hits ${s.hits} (slow path; fast-path hits are not counted) misses ${s.misses} fills ${s.fills} evictions ${s.evictions}`,
      `${who}walks ${s.walks} walk memory references ${s.walkRefs}`,
      `${who}invalidations ${Object.entries(s.invalidations).map(([k, n]) => `${k}: ${n}`).join(", ") || "none"} (entries removed ${s.invalidated})`,
    );
  }
  if (staleTlb !== undefined) lines.push(`stale TLB uses ${staleTlb} (--strict-tlb)`);
  if (kernel !== undefined && kernel.cpus.count > 1) {
    for (const c of kernel.cpus.list) {
      const s = c.stats;
      lines.push(`kernel cpu ${c.index} (hardware id ${c.hwId}) returns to user ${s.resumes} (process switches ${s.switches}) idle ${s.idles} ipis taken ${s.ipis}`);
    }
    const d = kernel.shootdown?.stats;
    if (d) lines.push(`kernel shootdowns ${d.requests} requests to ${d.targets} CPUs (ranges ${d.ranges}, whole ASIDs ${d.asids}, everything ${d.all})`);
  }
  process.stderr.write(lines.map((l) => `stats: ${l}\n`).join(""));
}

