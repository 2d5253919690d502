/**
 * The `multios` command line. Node-only code lives here and in tools/; the machine itself
 * (emulator/, boot/) runs anywhere.
 *
 *   multios run --arch riscv64 --bare IMAGE.elf|PROG.S [options]
 *   multios run --arch riscv64 PROG.elf|PROG.S [ARGS...] [--file [NAME=]PATH ...] [--seed N | --no-aslr]
 *   multios asm --arch riscv64 PROG.S -o OUT.elf
 *   multios test FILE.scenario.json...
 *   multios campaign PLAN.json [--runs N] [--jobs J] [--shard i/n] [--json] [--html FILE] [--only RUN]
 *   multios replay RECORD.json [--json] [--show-output]
 *   multios demo
 */
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { ElfError } from "../boot/elf.js";
import { BootError } from "../kernel/mm/phys/regions.js";
import { AsmError } from "./asm/common/errors.js";
import { assemble } from "./cli/arch.js";
import { runDemo } from "./demo.js";
import { runScenarioFiles } from "./scenario/report.js";
import { PlanError } from "./campaign/plan.js";
import { parseAddress, parseArgs, readInput, requireArch, UsageError } from "./cli/args.js";
import { cmdCampaign } from "./cli/campaign.js";
import { cmdReplay } from "./cli/replay.js";
import { cmdRun } from "./cli/run.js";

const USAGE = `usage:
  multios run --arch riscv64 PROGRAM.elf|PROG.S [ARGS...] [options]   (kernel)
  multios run --arch riscv64 --bare IMAGE.elf|PROG.S [options]
  multios run --arch riscv64 --sbi PAYLOAD.elf|PROG.S [options]   (S-mode payload on the SBI firmware)
  multios run --arch arm64|x86_64 PROGRAM.elf|PROG.S [ARGS...] [--file ..] [--seed N] [--no-aslr] [--debug]   (kernel)
  multios run --arch arm64|x86_64 --bare IMAGE.elf|PROG.S
      arm64 and x86_64 take: --max-insns N --ram SIZE --tlb SPEC --no-fast-path --strict-tlb --trace FILE --stats
      x86_64 also: --la57 (5-level paging from the firmware's hand-off; the kernel then uses 5-level tables)
  multios asm --arch riscv64|arm64|x86_64 PROG.S -o OUT.elf [--base ADDR]   (default base: start of RAM;
                           arm64 0x40080000, x86_64 0x100000)
  multios test FILE.scenario.json...   run scenarios (docs/scenarios.md); exit 0 all pass, 1 a failure, 2 a bad file
  multios campaign PLAN.json [options]   seeded fault-injection runs (docs/campaigns.md); exit 0 no
                           failing run, 1 an oops/hang/corruption, 2 a bad plan
  multios replay RECORD.json [--json] [--show-output]   re-run a record (run --record, campaign
                           --only N --record) and report the first divergence (docs/replay.md);
                           exit 0 identical, 1 diverged, 2 a bad record
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
  --harts N                harts or CPUs, 1 to 8 (default 1); see docs/riscv64.md, docs/arm64.md, docs/x86_64.md (arm64, x86_64: --bare only)
  --schedule-seed S        interleave harts by a seeded random schedule (default: round robin)
  --quantum N              instructions per slice when harts interleave (default 1000)
  --record FILE            record the run (its inputs, every trap, state hashes) for multios replay
  --checkpoint-every N     instructions between the record's state hashes (default 1000000)

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
  --only RUN               re-run run RUN in-process and print its injections, output and kernel log
  --record FILE            with --only: record the injected run for multios replay`;

/** Runs the command line; returns the process exit status. */
export async function main(argv: string[]): Promise<number> {
  // A reader that goes away (`multios run ... | head`) ends the run quietly with the status a
  // process killed by SIGPIPE has (128 + 13), as `cat` does, instead of a host stack trace.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(141);
    throw e;
  });
  try {
    const [cmd, ...rest] = argv;
    switch (cmd) {
      case "run": return cmdRun(rest);
      case "asm": return cmdAsm(rest);
      case "test": return cmdTest(rest);
      case "campaign": return await cmdCampaign(rest);
      case "replay": return cmdReplay(rest);
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

function cmdTest(argv: string[]): number {
  const { args } = parseArgs(argv, [], []);
  if (args.length === 0) throw new UsageError("test needs at least one scenario file");
  return runScenarioFiles(args, (line) => process.stdout.write(line + "\n"));
}

function cmdAsm(argv: string[]): number {
  const { flags, args } = parseArgs(argv, ["--arch", "-o", "--base"], []);
  const arch = requireArch(flags);
  if (args.length !== 1) throw new UsageError(`asm takes one source file, got ${args.length}`);
  const outPath = flags.get("-o");
  if (outPath === undefined) throw new UsageError("asm needs -o OUT.elf");
  const base = flags.has("--base") ? parseAddress("--base", flags.get("--base")!) : undefined;
  const src = new TextDecoder().decode(readInput(args[0]!));
  const r = assemble(arch, src, { fileName: basename(args[0]!), ...(base !== undefined ? { base } : {}) });
  writeFileSync(outPath, r.elf);
  return 0;
}
