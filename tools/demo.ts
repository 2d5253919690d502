/**
 * `multios demo` (and `npm start`): boots the bundled bare-metal RV64 demo (examples/demo-riscv64.S)
 * on the riscv64-virt machine and prints its console, then the trap log the hardware recorded.
 */
import demoSource from "../examples/demo-riscv64.S?raw";
import { bootBare, createRiscvVirt } from "../boot/riscv64/virt.js";
import type { TraceEvent } from "../emulator/core/trace.js";
import { assembleRiscv64 } from "./asm/riscv64/index.js";

/** Runs the demo, writing everything through `write`. Returns the exit status (0 on success). */
export function runDemo(write: (s: string) => void): number {
  const { elf } = assembleRiscv64(demoSource, { fileName: "demo-riscv64.S" });
  let line = "";
  const v = createRiscvVirt({
    console: (b) => {
      line += String.fromCharCode(b);
      if (b === 10) { write("  guest | " + line); line = ""; }
    },
  });
  bootBare(v, elf);
  const events: TraceEvent[] = [];
  v.machine.setTrace((e) => events.push(e));
  write("MultiOS demo: riscv64-virt, bare boot of examples/demo-riscv64.S (Sv39, M -> S -> U)\n\n");
  const r = v.machine.run({ maxInsns: 10_000_000 });
  if (line) write("  guest | " + line + "\n");
  write("\nTrap log recorded by the emulated hart:\n");
  for (const e of events) {
    if (e.type === "trap") write(`  #${String(e.icount).padStart(5)}  ${e.from}->${e.to}  cause ${String(e.cause).padStart(2)} ${e.name.padEnd(28)} tval ${e.tval.padEnd(11)} epc ${e.epc}\n`);
  }
  const s = v.machine.harts[0]!.tlbs.stats();
  write(`\nTLB: ${s.walks} walks (${s.walkRefs} PTE reads), ${s.invalidated} entries invalidated by ${Object.values(s.invalidations).reduce((a, b) => a + b, 0)} fences\n`);
  write(`${r.message}; ${r.icount} instructions\n`);
  return r.exitCode;
}
