/**
 * Memory errors reported by the platform at run time (fault injection's `bad-frame`, delivered as
 * the supervisor external interrupt): the kernel retires the frame as BadMemory, moves its data when
 * the error was corrected, kills the processes that map it (SIGBUS) when it was not, withdraws a free
 * frame, and oopses when kernel memory itself is lost. Nothing leaks, and a retired frame is never
 * handed out again.
 */
import { describe, expect, it } from "vitest";
import { runWithInjection } from "../boot/inject-run.js";
import { bootKernel } from "../boot/riscv64/kernel-boot.js";
import type { RiscvHal } from "../boot/riscv64/kernel-hal.js";
import { MemoryFlags } from "../kernel/mm/flags.js";
import { MemoryRegionKind } from "../kernel/mm/phys/regions.js";
import { memoryFailure } from "../kernel/proc/memory-failure.js";
import { assembleRiscv64 } from "../tools/asm/riscv64/index.js";
import { ASM_LIB, mmap, PAGE, SYSCALLS } from "./support/kernel-asm.js";

/** Writes N pages, then checks them 40 times over (a long window for the error to land in). */
const TOUCH = `${SYSCALLS}
    .equ N, 24
    .text
    .globl _start
_start:
    ${mmap("0", `N * ${PAGE}`)}
    mv      s0, a0
    li      t0, 0
    li      t2, ${PAGE}
1:  mul     t3, t0, t2
    add     t3, s0, t3
    addi    t4, t0, 0x55
    sd      t4, 8(t3)
    addi    t0, t0, 1
    li      t5, N
    bltu    t0, t5, 1b
    li      s1, 40
    li      s2, 0
2:  li      t0, 0
3:  mul     t3, t0, t2
    add     t3, s0, t3
    ld      t4, 8(t3)
    addi    t5, t0, 0x55
    beq     t4, t5, 4f
    addi    s2, s2, 1
4:  addi    t0, t0, 1
    li      t5, N
    bltu    t0, t5, 3b
    addi    s1, s1, -1
    bnez    s1, 2b
    mv      a0, s2
    la      a1, m_data
    jal     check
    j       finish
    .data
m_data: .asciz "data"
${ASM_LIB}`;
const program = assembleRiscv64(TOUCH, { fileName: "touch.S" }).elf;
const reportedAt = (log: string[]): number => Number(/memory error reported at (0x[0-9a-f]+)/.exec(log.join("\n"))?.[1]);

describe("a memory error in a user page", () => {
  it("corrected: the page moves to a new frame, the program never notices, and the old frame is BadMemory", () => {
    let moved = 0;
    for (let seed = 0; seed < 8; seed++) {
      const r = runWithInjection({ program, args: ["touch"], plan: { seed, hardware: [{ kind: "bad-frame", target: "user", mode: "soft" }] } });
      if (r.injections.length === 0) continue;
      expect({ seed, outcome: r.outcome, out: r.faulty.stdout }).toEqual({ seed, outcome: "handled", out: "ok data\n" });
      expect(r.log.some((l) => /^kernel: memory error at 0x[0-9a-f]+ \(corrected\): 1 mapping moved to a new frame; frame retired$/.test(l))).toBe(true);
      moved++;
    }
    expect(moved).toBeGreaterThan(5);
  });

  it("uncorrected: the process is killed with SIGBUS (status 135), reported, and nothing leaks", () => {
    let killed = 0;
    for (let seed = 0; seed < 8; seed++) {
      const r = runWithInjection({ program, args: ["touch"], plan: { seed, hardware: [{ kind: "bad-frame", target: "user", mode: "hard" }] } });
      if (r.injections.length === 0) continue;
      expect({ seed, outcome: r.outcome, exit: r.faulty.exitCode }).toEqual({ seed, outcome: "killed", exit: 135 });
      expect(r.log.some((l) => /^\[pid 1\] killed by signal 7: memory error at 0x[0-9a-f]+: page lost$/.test(l))).toBe(true);
      expect(r.faulty.framesInUse).toBeLessThanOrEqual(r.golden.framesInUse);
      killed++;
    }
    expect(killed).toBeGreaterThan(5);
  });
});

describe("frames outside any process", () => {
  it("a free frame is withdrawn and never handed out again", () => {
    const km = bootKernel({ program, args: ["touch"] });
    km.machine.run({ maxInsns: 3_000 });
    const frames = km.kernel.memory!.frames;
    const free = frames.allocateFrame("probe")!;
    frames.freeFrame(free);
    (km.kernel.hal as RiscvHal).reportMemoryError({ pa: free, corrected: false });
    const r = km.machine.run({ maxInsns: 50_000_000 });
    expect(r.exitCode).toBe(0);
    expect(frames.regions.some((g) => g.kind === MemoryRegionKind.BadMemory && g.base === free && g.size === 4096)).toBe(true);
    for (let i = 0; i < 2000; i++) {
      const f = frames.allocateFrame("after");
      if (f === undefined) break;
      expect(f).not.toBe(free);
    }
  });

  it("a second report of a frame already retired (two errors queued before the first is handled) changes nothing", () => {
    const log: string[] = [];
    const km = bootKernel({ program, args: ["touch"], log: (l) => log.push(l) });
    km.machine.run({ maxInsns: 3_000 });
    const frames = km.kernel.memory!.frames;
    const page = km.kernel.procs.current!.mm.presentPages(0n, km.kernel.procs.current!.mm.userEnd).find((p) => (p.flags & MemoryFlags.EXECUTE) === 0 && frames.refCount(p.pa) === 1)!;
    // Corrected, then uncorrected, reported before the kernel takes the interrupt (a campaign on 4 harts found this).
    (km.kernel.hal as RiscvHal).reportMemoryError({ pa: page.pa, corrected: true });
    (km.kernel.hal as RiscvHal).reportMemoryError({ pa: page.pa, corrected: false });
    const r = km.machine.run({ maxInsns: 50_000_000 });
    expect([r.exitCode, r.reason]).toEqual([0, "pass"]);
    expect(log.filter((l) => l.startsWith("kernel: memory error"))).toEqual([
      `kernel: memory error at 0x${page.pa.toString(16)} (corrected): 1 mapping moved to a new frame; frame retired`,
      `kernel: memory error at 0x${page.pa.toString(16)} (uncorrected): frame already retired`,
    ]);
    expect(frames.regions.some((g) => g.kind === MemoryRegionKind.BadMemory && g.base === page.pa)).toBe(true);
  });

  it("an uncorrected error in kernel memory (a page-table page) is a kernel oops; a corrected one retires it when freed", () => {
    const km = bootKernel({ program, args: ["touch"], log: () => {} });
    km.machine.run({ maxInsns: 3_000 });
    const frames = km.kernel.memory!.frames;
    const table = Number(km.kernel.procs.current!.mm.space.rootPa);
    expect(frames.ownerOf(table)).toBe("page table");
    expect(memoryFailure(km.kernel, { pa: table, corrected: true })).toBe("retire-on-free");
    expect(frames.retiringFrames).toContain(table);
    expect(() => memoryFailure(km.kernel, { pa: table + 0, corrected: false })).toThrow(/kernel memory/);
  });

  it("the campaign's bad-frame faults never pass silently (20 runs of each kind)", () => {
    for (const fault of [{ kind: "bad-frame", target: "user", mode: "hard" }, { kind: "bad-frame", target: "user", mode: "soft" }, { kind: "bad-frame", target: "free" }] as const) {
      for (let seed = 0; seed < 20; seed++) {
        const r = runWithInjection({ program, args: ["touch"], plan: { seed, hardware: [fault] } });
        expect(["handled", "killed"]).toContain(r.outcome);
        if (r.injections.length > 0) expect(Number.isFinite(reportedAt(r.log))).toBe(true);
      }
    }
  });
});
