/** `multios replay RECORD`: re-run a recorded run and report the first divergence (docs/replay.md). */
import { formatReplay, parseRecord, RecordError, replayRecord } from "../replay/index.js";
import { parseArgs, readInput, UsageError } from "./args.js";

/** Exit status: 0 identical, 1 diverged, 2 a bad record or usage. */
export function cmdReplay(argv: string[]): number {
  const { flags, args } = parseArgs(argv, [], ["--json", "--show-output"]);
  if (args.length !== 1) throw new UsageError(`replay takes one record file, got ${args.length}`);
  const path = args[0]!;
  let record;
  try {
    record = parseRecord(new TextDecoder().decode(readInput(path)));
  } catch (e) {
    if (e instanceof RecordError) throw new UsageError(`${path}: ${e.message}`);
    throw e;
  }
  const show = flags.has("--show-output");
  const report = replayRecord(record, {
    console: (b) => { if (show) process.stdout.write(String.fromCharCode(b)); },
    log: (line) => { if (show) process.stderr.write(line + "\n"); },
  });
  if (flags.has("--json")) process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  else process.stdout.write(formatReplay(report).join("\n") + "\n");
  return report.divergence ? 1 : 0;
}
