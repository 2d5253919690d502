/** Test helpers: assemble and run a bare-metal RV64 program on riscv64-virt, capturing everything. */
import { bootBare, createRiscvVirt, type RiscvVirtOptions } from "../../boot/riscv64/virt.js";
import type { RunResult } from "../../emulator/arch/riscv64/machine.js";
import type { TraceEvent, TrapTraceEvent } from "../../emulator/core/trace.js";
import { assembleRiscv64 } from "../../tools/asm/riscv64/index.js";

/** What a run produced. */
export interface BareRun {
  result: RunResult;
  console: string;
  events: TraceEvent[];
  traps: TrapTraceEvent[];
  v: ReturnType<typeof createRiscvVirt>;
}

/** Boots `elf` (or assembles `source`) and runs it to completion or `maxInsns`. */
export function runBare(program: { source: string } | { elf: Uint8Array }, opts: RiscvVirtOptions & { maxInsns?: number } = {}): BareRun {
  const elf = "elf" in program ? program.elf : assembleRiscv64(program.source, { fileName: "test.S" }).elf;
  let out = "";
  const v = createRiscvVirt({ ...opts, console: (b) => { out += String.fromCharCode(b); } });
  bootBare(v, elf);
  const events: TraceEvent[] = [];
  v.machine.setTrace((e) => events.push(e));
  const result = v.machine.run({ maxInsns: opts.maxInsns ?? 10_000_000 });
  return { result, console: out, events, traps: events.filter((e): e is TrapTraceEvent => e.type === "trap"), v };
}
