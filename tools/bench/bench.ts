/**
 * `npm run bench`: guest MIPS of an S-mode integer loop with loads and stores (satp Bare and Sv39),
 * the cost of an architectural TLB hit, host memory for a large sparse machine, and the kernel's
 * fault and frame-allocation costs (kernel-bench.ts), several harts, remote fences and context
 * switches (smp-bench.ts), and the arm64 and x86_64 machines' MIPS with translation on (arch-bench.ts).
 * Numbers from one run on a shared machine: compare ratios within a run, not across runs.
 *
 * Each section runs in its own process (this script again, with `BENCH_ONLY=section`), as each
 * `multios run` boots one machine: V8 shares compiled code between the machines of one process, so
 * a section run after another architecture's machines measures code the JIT has made polymorphic
 * for them (the arm64 loop lost about a third of its speed after the x86_64 sections, and the
 * kernel's fault path ran 1.3x the host's minor fault instead of 0.8x). `BENCH_ONLY=riscv64`,
 * `x86_64`, `arm64`, `kernel` or `smp` runs one section here.
 */
import { spawnSync } from "node:child_process";
import loopSource from "./loop-riscv64.S?raw";
import { bootBare, createRiscvVirt } from "../../boot/riscv64/virt.js";
import { Tlb } from "../../emulator/core/tlb.js";
import { assembleRiscv64 } from "../asm/riscv64/index.js";
import { kernelBench } from "./kernel-bench.js";
import { smpBench } from "./smp-bench.js";
import { arm64Bench, x86Bench } from "./arch-bench.js";

const ITERS = Number(process.env.BENCH_ITERS ?? 30_000_000);
/** `BENCH_ONLY=section`: run only that section (in this process). */
const ONLY = process.env.BENCH_ONLY;
const INSNS_PER_ITER = 7;
const ACCESSES_PER_ITER = 3;

function loop(mode: number, noFastPath: boolean, iters: number): { mips: number; seconds: number; icount: number } {
  const src = `.equ MODE, ${mode}\n.equ ITERS, ${iters}\n` + loopSource;
  const { elf } = assembleRiscv64(src, { fileName: "loop-riscv64.S" });
  const v = createRiscvVirt({ noFastPath });
  bootBare(v, elf);
  const t0 = performance.now();
  const r = v.machine.run({ maxInsns: iters * INSNS_PER_ITER * 2 + 1000 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.reason !== "pass") throw new Error(`bench loop did not pass: ${r.message}`);
  return { mips: r.icount / seconds / 1e6, seconds, icount: r.icount };
}

function tlbLookupNs(): number {
  const t = new Tlb("bench", { entries: 64, ways: 4 }, [12, 21, 30, 39]);
  for (let i = 0; i < 64; i++) t.fill(0x80000 + i, 12, 1, false, 0x80000 + i, 0xcf, 0, 0, 0);
  const n = 20_000_000;
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) sink += t.lookup(0x80000 + (i & 63), 1);
  const ns = ((performance.now() - t0) * 1e6) / n;
  if (sink < 0) throw new Error("unreachable");
  return ns;
}

function sparseRam(): { mib: number } {
  const before = process.memoryUsage().rss;
  const v = createRiscvVirt({ ramSize: 64 * 1024 ** 3 });
  const { elf } = assembleRiscv64(`.equ MODE, 8\n.equ ITERS, 1000\n` + loopSource, {});
  bootBare(v, elf);
  v.machine.run({ maxInsns: 1e6 });
  return { mib: (process.memoryUsage().rss - before) / 1024 ** 2 };
}

/** The riscv64 loop with and without the fast path, the TLB lookup, the sparse-RAM footprint. */
function riscvBench(): void {
  loop(8, false, 1_000_000); // warm-up: let the JIT settle
  const bare = loop(0, false, ITERS);
  const sv39 = loop(8, false, ITERS);
  const slowIters = Math.max(1, Math.floor(ITERS / 5));
  const sv39Tlb = loop(8, true, slowIters);
  console.log(`S-mode loop, satp=Bare : ${bare.mips.toFixed(1)} MIPS (${bare.seconds.toFixed(2)} s)`);
  console.log(`S-mode loop, satp=Sv39 : ${sv39.mips.toFixed(1)} MIPS (${sv39.seconds.toFixed(2)} s)  [target >= 100]`);
  console.log(`S-mode loop, Sv39, fast path off (every access looks up the architectural TLB): ${sv39Tlb.mips.toFixed(1)} MIPS`);
  // Without the fast path every fetch and every data access translates through the TLB.
  const perAccess = ((1e3 / sv39Tlb.mips - 1e3 / sv39.mips) * INSNS_PER_ITER) / (INSNS_PER_ITER + ACCESSES_PER_ITER);
  console.log(`  => cost of a translation that hits the architectural TLB (per fetch or data access): ${perAccess.toFixed(1)} ns`);
  console.log(`Tlb.lookup alone (64-entry 4-way, hit): ${tlbLookupNs().toFixed(1)} ns`);
  console.log(`Host memory for a 64 GiB riscv64-virt running the loop: +${sparseRam().mib.toFixed(0)} MiB RSS`);
}

const SECTIONS: Record<string, () => void> = {
  riscv64: riscvBench,
  x86_64: () => x86Bench(ITERS),
  arm64: () => arm64Bench(ITERS),
  kernel: kernelBench,
  smp: () => smpBench(Math.min(1, ITERS / 30_000_000)),
};

function main(): void {
  if (ONLY !== undefined) {
    const section = SECTIONS[ONLY];
    if (section === undefined) {
      console.error(`bench: BENCH_ONLY=${ONLY} is not a section (${Object.keys(SECTIONS).join(", ")})`);
      process.exit(2);
    }
    return section();
  }
  console.log(`MultiOS bench (node ${process.version}); loop of ${ITERS} iterations x ${INSNS_PER_ITER} instructions; each section in its own process\n`);
  for (const name of Object.keys(SECTIONS)) {
    const r = spawnSync(process.execPath, [process.argv[1]!], { stdio: "inherit", env: { ...process.env, BENCH_ONLY: name } });
    if (r.status !== 0) process.exit(r.status ?? 1);
    console.log("");
  }
}

main();
