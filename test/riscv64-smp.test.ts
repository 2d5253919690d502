/**
 * Several harts on one riscv64-virt machine: they interleave in slices (round robin, or a seeded
 * random schedule), each with its own TLB, sharing memory coherently — LR/SC reservations are broken
 * by other harts' stores, code another hart writes is what a hart then executes — and the same
 * schedule always gives the same run.
 * @spec RV-A §"Load-Reserved/Store-Conditional Instructions"; RV-Unpriv §"Zifencei"; RV-S §SFENCE.VMA
 * ("the fence applies only to the local hart")
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { hartsStateHash } from "../emulator/arch/riscv64/state-hash.js";
import { Schedule } from "../emulator/core/schedule.js";
import { assembleRiscv64 } from "../tools/asm/riscv64/index.js";
import { runBare } from "./support/run-riscv64.js";

const SMP = readFileSync(new URL("../examples/smp-riscv64.S", import.meta.url), "utf8");
const EXPECTED = readFileSync(new URL("../examples/smp-riscv64.expected", import.meta.url), "utf8");

/** Common header: hart id in s0, extra harts park, a finisher-based pass/fail. */
const PRELUDE = `
    .equ UART, 0x10000000
    .equ FINISHER, 0x100000
    .text
    .globl _start
_start:
    csrr    s0, mhartid
`;
const PASS = `li t0, 0x5555; li t1, FINISHER; sw t0, 0(t1)`;

/** Assembles `source`, runs it, and reads the 32-bit word at a label afterwards. */
function run(source: string, opts: Parameters<typeof runBare>[1] = {}) {
  const asm = assembleRiscv64(source, { fileName: "smp.S" });
  const r = runBare({ elf: asm.elf }, { maxInsns: 5_000_000, ...opts });
  const word = (label: string): number => {
    r.v.machine.bus.read(Number(asm.symbols.get(label)!), 4);
    return r.v.machine.bus.lo >>> 0;
  };
  return { ...r, word };
}

describe("examples/smp-riscv64.S", () => {
  it("prints what QEMU -smp 4 printed, under round robin and under random schedules", () => {
    for (const schedule of [{}, { seed: 1 }, { seed: 2, quantum: 3 }, { seed: 99, quantum: 1 }]) {
      const r = runBare({ source: SMP }, { harts: 4, schedule });
      expect({ schedule, out: r.console, exit: r.result.exitCode }).toEqual({ schedule, out: EXPECTED, exit: 0 });
    }
  });

  it("the same seed gives the same run; different seeds interleave differently", () => {
    const run = (seed: number) => {
      const r = runBare({ source: SMP }, { harts: 4, schedule: { seed, quantum: 7 } });
      return { hash: hartsStateHash(r.v.machine.harts), split: r.v.machine.harts.map((h) => h.icount), total: r.result.icount };
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5).split).not.toEqual(run(6).split);
    const r = run(5);
    expect(r.total).toBe(r.split.reduce((a, b) => a + b, 0));
  });

  it("with 2 harts the extra tickets never come: hart 0 waits forever, bounded by --max-insns", () => {
    const r = runBare({ source: SMP }, { harts: 2, maxInsns: 200_000 });
    expect(r.console).toBe("hart 0 is up\nhart 1 is up\n");
    expect(r.result.reason).toBe("max-insns");
    expect(r.result.icount).toBe(200_000);
  });
});

describe("interleaving is real", () => {
  /** Every hart adds 1 to `count` 300 times with a plain load, add, store: updates can be lost. */
  const RACE = `${PRELUDE}
    li      s1, 300
    la      s3, count
1:  lw      t2, 0(s3)
    addi    t2, t2, 1
    sw      t2, 0(s3)
    addi    s1, s1, -1
    bnez    s1, 1b
    li      t3, 1
    la      s4, done
    amoadd.w zero, t3, (s4)
    bnez    s0, 3f
2:  lw      t2, 0(s4)
    li      t3, 4
    bne     t2, t3, 2b
    ${PASS}
3:  wfi
    j       3b
    .data
    .balign 8
count: .word 0
done:  .word 0
`;

  it("plain increments lose updates under a fine random schedule, none with slices longer than the loop", () => {
    const fine = run(RACE, { harts: 4, schedule: { seed: 3, quantum: 2 } });
    const coarse = run(RACE, { harts: 4, schedule: { quantum: 100_000 } });
    expect([fine.result.exitCode, coarse.result.exitCode]).toEqual([0, 0]);
    expect(coarse.word("count")).toBe(1200);
    expect(fine.word("count")).toBeLessThan(1200);
  });
});

describe("shared memory between harts", () => {
  it("another hart's store to the reservation set makes sc.w fail; the hart's own lr/sc pair succeeds", () => {
    // Hart 0: lr.w flag word, signal hart 1, wait until hart 1 has stored to the word, sc.w must fail.
    const src = `${PRELUDE}
    la      s3, word
    la      s4, step
    bnez    s0, hart1
    lr.w    t2, (s3)
    li      t3, 1
    sw      t3, 0(s4)
1:  lw      t3, 0(s4)
    li      t4, 2
    bne     t3, t4, 1b
    li      t2, 7
    sc.w    t5, t2, (s3)
    la      t6, result1
    sw      t5, 0(t6)
    lr.w    t2, (s3)
    sc.w    t5, t2, (s3)
    la      t6, result2
    sw      t5, 0(t6)
    ${PASS}
hart1:
2:  lw      t3, 0(s4)
    beqz    t3, 2b
    li      t3, 42
    sw      t3, 0(s3)
    li      t3, 2
    sw      t3, 0(s4)
3:  wfi
    j       3b
    .data
    .balign 8
word:    .word 0
step:    .word 0
result1: .word 99
result2: .word 99
`;
    for (const schedule of [{ quantum: 5 }, { seed: 4, quantum: 3 }]) {
      const r = run(src, { harts: 2, schedule });
      expect(r.result.exitCode).toBe(0);
      expect([r.word("result1"), r.word("word"), r.word("result2")]).toEqual([1, 42, 0]);
    }
  });

  it("code one hart writes is what another hart executes after fence.i (the decode cache is shared and coherent)", () => {
    // Hart 1 rewrites "li a0, 1" in \`patched\` to "li a0, 2" (c.li a0, 2 = 0x4509) after hart 0 ran it once.
    const src = `${PRELUDE}
    la      s3, step
    bnez    s0, hart1
    call    patched
    mv      s5, a0
    li      t3, 1
    sw      t3, 0(s3)
1:  lw      t3, 0(s3)
    li      t4, 2
    bne     t3, t4, 1b
    fence.i
    call    patched
    slli    s5, s5, 4
    or      s5, s5, a0
    la      t6, result
    sw      s5, 0(t6)
    ${PASS}
hart1:
2:  lw      t3, 0(s3)
    beqz    t3, 2b
    la      t4, patched
    li      t5, 0x4509
    sh      t5, 0(t4)
    li      t3, 2
    sw      t3, 0(s3)
3:  wfi
    j       3b
patched:
    c.li    a0, 1
    ret
    .data
    .balign 8
step:   .word 0
result: .word 0
`;
    for (const noFastPath of [false, true]) {
      const r = run(src, { harts: 2, schedule: { quantum: 10 }, noFastPath });
      expect(r.result.exitCode).toBe(0);
      expect(r.word("result")).toBe(0x12);
    }
  });
});

describe("per-hart state", () => {
  it("each hart has its own TLB: sfence.vma on one hart leaves the other's entries", () => {
    // Both harts enable the same Sv39 identity gigapage table and touch it; then only hart 1 fences.
    const src = `${PRELUDE}
    la      t0, root
    srli    t0, t0, 12
    li      t1, 8 << 60
    or      t0, t0, t1
    li      t1, 1 << 11
    csrs    mstatus, t1          # MPP = S
    csrw    satp, t0
    la      t1, 1f
    csrw    mepc, t1
    li      t1, -1
    csrw    pmpaddr0, t1
    li      t1, 0x1f
    csrw    pmpcfg0, t1
    mret
1:  la      t2, data
    lw      t3, 0(t2)
    la      s3, step
    bnez    s0, hart1
2:  lw      t3, 0(s3)
    beqz    t3, 2b
    ${PASS}
hart1:
    sfence.vma
    li      t3, 1
    sw      t3, 0(s3)
3:  j       3b
    .data
    .balign 4096
root:
    .dword 0xcf
    .dword 0
    .dword (0x80000000 >> 12 << 10) | 0xcf
    .fill 509, 8, 0
data: .word 5
step: .word 0
`;
    const r = run(src, { harts: 2, schedule: { quantum: 50 } });
    expect(r.result.exitCode).toBe(0);
    const [h0, h1] = r.v.machine.harts;
    const s0 = h0!.tlbs.stats(), s1 = h1!.tlbs.stats();
    expect(s1.invalidations["sfence.vma all"]).toBe(1);
    expect(s1.invalidated).toBeGreaterThan(0);
    expect(s0.invalidations["sfence.vma all"]).toBeUndefined();
    expect(s0.invalidated).toBe(0);
    expect(h0!.tlbs.dtlb.entries().map((e) => e.shift)).toContain(30);
  });

  it("each hart takes its own timer interrupt; a machine whose harts all wait with no timer stops (exit 125)", () => {
    // Hart 1 arms mtimecmp[1] and waits; its interrupt handler records the hart id in \`fired\`.
    const src = `${PRELUDE}
    la      t0, handler
    csrw    mtvec, t0
    bnez    s0, hart1
    la      s3, fired
1:  lw      t3, 0(s3)
    beqz    t3, 1b
    ${PASS}
hart1:
    li      t0, 0x2000000 + 0xbff8
    ld      t1, 0(t0)
    addi    t1, t1, 500
    li      t0, 0x2000000 + 0x4000 + 8
    sd      t1, 0(t0)
    li      t0, 1 << 7
    csrs    mie, t0
    csrsi   mstatus, 8
2:  wfi
    j       2b
    .balign 4
handler:
    la      t0, fired
    addi    t1, s0, 0x10
    sw      t1, 0(t0)
    li      t0, -1
    li      t1, 0x2000000 + 0x4000 + 8
    sd      t0, 0(t1)
    mret
    .data
    .balign 8
fired: .word 0
`;
    const r = run(src, { harts: 2 });
    expect(r.result.exitCode).toBe(0);
    expect(r.word("fired")).toBe(0x11);
    const allWait = run(`${PRELUDE}\n1: wfi\n j 1b\n`, { harts: 3 });
    expect(allWait.result.reason).toBe("wfi-hang");
    expect(allWait.result.exitCode).toBe(125);
    expect(allWait.result.message).toMatch(/^every hart waits \(wfi\)/);
  });
});

describe("Schedule", () => {
  it("round robin visits 0..n-1 in order with the quantum; a seeded schedule is reproducible and covers every hart", () => {
    const rr = new Schedule(3, { quantum: 5 });
    expect(Array.from({ length: 7 }, () => rr.pickHart())).toEqual([0, 1, 2, 0, 1, 2, 0]);
    expect(rr.sliceLength()).toBe(5);
    const a = new Schedule(4, { seed: 11, quantum: 10 }), b = new Schedule(4, { seed: 11, quantum: 10 });
    const draws = Array.from({ length: 200 }, () => [a.pickHart(), a.sliceLength()]);
    expect(Array.from({ length: 200 }, () => [b.pickHart(), b.sliceLength()])).toEqual(draws);
    expect(new Set(draws.map((d) => d[0])).size).toBe(4);
    expect(draws.every((d) => d[1]! >= 1 && d[1]! <= 20)).toBe(true);
    expect(() => new Schedule(2, { quantum: 0 })).toThrow(/quantum 0/);
  });
});
