/**
 * The kernel's memory manager seen from a user program, through the whole trap path: demand-zero
 * faults of mmap and brk memory, copy-on-write after fork, munmap + MAP_FIXED, on-demand stack
 * growth, and full reclaim at exit. Counts come from getpid checkpoints (see support/run-kernel.ts):
 * a program touches its first page before the first checkpoint so that page-table pages are already
 * in place and the next N touches cost exactly N frames.
 */
import { describe, expect, it } from "vitest";
import { STACK_MAX, STACK_TOP } from "../kernel/proc/process.js";
import { ASM_LIB, checkpoint, exit0, fork, mmap, PAGE, SYSCALLS } from "./support/kernel-asm.js";
import { delta, expectFullReclaim, NO_FAULTS, type ProcessSnapshot, runKernel, symbol } from "./support/run-kernel.js";

/** Stores a byte into pages 1..N of the region at s0 (page 0 is touched separately). */
const touchPages = `
    li      t0, N
    mv      t1, s0
    li      t2, ${PAGE}
1:  add     t1, t1, t2
    sb      t0, 0(t1)
    addi    t0, t0, -1
    bnez    t0, 1b`;


describe("demand-zero paging", () => {
  it.each([1, 16, 200])("touching %i fresh pages of an mmap'd region takes exactly that many demand-zero faults and frames", (n) => {
    const run = runKernel(`${SYSCALLS}
    .equ N, ${n}
    .text
    .globl _start
_start:
    ${mmap("0x40000000", `(N + 1) * ${PAGE}`, "MAP_FIXED")}
    mv      s0, a0
    sb      zero, 0(s0)
    ${checkpoint}
    ${touchPages}
    ${checkpoint}
    ${exit0}
`);
    expect(run.exitCode).toBe(0);
    const [before, after] = run.checkpoints as [ProcessSnapshot, ProcessSnapshot];
    expect(run.checkpoints).toHaveLength(2);
    expect(delta(before, after)).toEqual({ stats: { ...NO_FAULTS, demandZero: n }, usedFrames: n, ownedFrames: n });
    expect(run.exits[0]!.stats).toEqual({ ...NO_FAULTS, demandZero: n + 1 });
    expectFullReclaim(run);
  });

  it.each([1, 16, 200])("touching %i fresh pages of brk-grown heap takes exactly that many faults and frames; shrinking gives them back", (n) => {
    const run = runKernel(`${SYSCALLS}
    .equ N, ${n}
    .text
    .globl _start
_start:
    li      a0, 0
    li      a7, SYS_brk
    ecall
    mv      s0, a0
    li      t0, (N + 1) * ${PAGE}
    add     a0, s0, t0
    mv      s1, a0
    li      a7, SYS_brk
    ecall
    bne     a0, s1, bad
    sb      zero, 0(s0)
    ${checkpoint}
    ${touchPages}
    ${checkpoint}
    mv      a0, s0
    li      a7, SYS_brk
    ecall
    bne     a0, s0, bad
    ${checkpoint}
    ${exit0}
bad:
    li      a0, 1
    li      a7, SYS_exit
    ecall
`);
    expect(run.exitCode).toBe(0);
    expect(run.checkpoints).toHaveLength(3);
    const [before, touched, shrunk] = run.checkpoints as [ProcessSnapshot, ProcessSnapshot, ProcessSnapshot];
    expect(delta(before, touched)).toEqual({ stats: { ...NO_FAULTS, demandZero: n }, usedFrames: n, ownedFrames: n });
    expect(delta(touched, shrunk).ownedFrames).toBe(-(n + 1));
    expect(run.exits[0]!.stats).toEqual({ ...NO_FAULTS, demandZero: n + 1 });
    expectFullReclaim(run);
  });

  // Debug mode poisons freed frames, so a stale translation to an old frame would not read zeros.
  it("munmap then MAP_FIXED mmap of the same range reads zeros, through fresh demand-zero frames", () => {
    const run = runKernel(`${SYSCALLS}
    .text
    .globl _start
_start:
    ${mmap("0", `4 * ${PAGE}`)}
    mv      s0, a0
    li      t0, -1
    li      t1, 0
    li      t2, ${PAGE}
1:  add     t3, s0, t1
    sd      t0, 0(t3)
    sd      t0, 2040(t3)
    add     t1, t1, t2
    li      t3, 4 * ${PAGE}
    bltu    t1, t3, 1b
    ${checkpoint}
    mv      a0, s0
    li      a1, 4 * ${PAGE}
    li      a7, SYS_munmap
    ecall
    la      a1, m_munmap
    jal     check
    ${checkpoint}
    ${mmap("s0", `4 * ${PAGE}`, "MAP_FIXED")}
    sub     a0, a0, s0
    la      a1, m_same
    jal     check
    li      s1, 0
    li      t1, 0
2:  add     t3, s0, t1
    ld      t0, 0(t3)
    or      s1, s1, t0
    ld      t0, 2040(t3)
    or      s1, s1, t0
    li      t2, ${PAGE}
    add     t1, t1, t2
    li      t3, 4 * ${PAGE}
    bltu    t1, t3, 2b
    mv      a0, s1
    la      a1, m_zeros
    jal     check
    ${checkpoint}
    j       finish
    .section .rodata
m_munmap: .asciz "munmap"
m_same:   .asciz "MAP_FIXED returns the same address"
m_zeros:  .asciz "the remapped pages read zeros"
${ASM_LIB}`, { debug: true });
    expect(run.stdout).toBe("ok munmap\nok MAP_FIXED returns the same address\nok the remapped pages read zeros\n");
    expect(run.exitCode).toBe(0);
    const [written, unmapped, reread] = run.checkpoints as [ProcessSnapshot, ProcessSnapshot, ProcessSnapshot];
    expect(delta(written, unmapped).ownedFrames).toBe(-4);
    expect(delta(unmapped, reread)).toMatchObject({ stats: { ...NO_FAULTS, demandZero: 4 }, ownedFrames: 4 });
    expectFullReclaim(run);
  });
});

/** fork; the child stores 'B' over the shared 'A' and prints it; the parent waits, prints its byte, then stores 'C'. */
const FORK_COW = `${SYSCALLS}
    .data
byte: .byte 'A'
    .text
    .globl _start
_start:
    la      s0, byte
    ${fork}
    bnez    a0, parent
    ${checkpoint}
    li      t0, 'B'
    sb      t0, 0(s0)
    ${checkpoint}
    li      a0, 1
    mv      a1, s0
    li      a2, 1
    li      a7, SYS_write
    ecall
    li      a0, 7
    li      a7, SYS_exit
    ecall
parent:
    mv      s1, a0
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    bne     a0, s1, bad
    ${checkpoint}
    li      a0, 1
    mv      a1, s0
    li      a2, 1
    li      a7, SYS_write
    ecall
    li      t0, 'C'
    sb      t0, 0(s0)
    ${checkpoint}
    li      a0, 1
    mv      a1, s0
    li      a2, 1
    li      a7, SYS_write
    ecall
    ${exit0}
bad:
    li      a0, 1
    li      a7, SYS_exit
    ecall
`;

describe("fork and copy-on-write", () => {
  it("a child's write makes exactly one copy and leaves the parent's byte untouched; the parent's later write reuses the frame", () => {
    const run = runKernel(FORK_COW);
    expect(run.stdout).toBe("BAC");
    expect(run.exitCode).toBe(0);
    const child = run.checkpoints.filter((c) => c.pid === 2);
    const parent = run.checkpoints.filter((c) => c.pid === 1);
    expect(child).toHaveLength(2);
    expect(parent).toHaveLength(2);
    expect(delta(child[0]!, child[1]!)).toEqual({ stats: { ...NO_FAULTS, cowCopy: 1 }, usedFrames: 1, ownedFrames: 1 });
    expect(delta(parent[0]!, parent[1]!)).toEqual({ stats: { ...NO_FAULTS, cowReuse: 1 }, usedFrames: 0, ownedFrames: 0 });
    expect(run.exits.map((e) => [e.pid, e.status])).toEqual([[2, 7], [1, 0]]);
    expect(run.exits[0]!.stats).toEqual({ ...NO_FAULTS, cowCopy: 1 });
    expect(run.exits[1]!.stats).toEqual({ ...NO_FAULTS, cowReuse: 1 });
    expectFullReclaim(run);
  });

  it("fork write-protects the parent's pages in its TLB too: the parent's next store copies, and the child still sees the old byte", () => {
    const run = runKernel(`${SYSCALLS}
    .data
byte: .byte 0
    .text
    .globl _start
_start:
    la      s0, byte
    li      t0, 'A'
    sb      t0, 0(s0)
    ${fork}
    bnez    a0, parent
    li      a0, 1
    mv      a1, s0
    li      a2, 1
    li      a7, SYS_write
    ecall
    ${exit0}
parent:
    li      t0, 'P'
    sb      t0, 0(s0)
    li      a0, -1
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    li      a0, 1
    mv      a1, s0
    li      a2, 1
    li      a7, SYS_write
    ecall
    ${exit0}
`, { debug: true });
    expect(run.stdout).toBe("AP");
    expect(run.exitCode).toBe(0);
    expect(run.exits.map((e) => [e.pid, e.stats])).toEqual([[2, NO_FAULTS], [1, { ...NO_FAULTS, cowCopy: 1 }]]);
    expectFullReclaim(run);
  });

  it("a child outliving its parent (init) still runs to the end, and every frame of both comes back", () => {
    const run = runKernel(`${SYSCALLS}
    .data
byte: .byte 'A'
    .text
    .globl _start
_start:
    la      s0, byte
    ${fork}
    bnez    a0, parent
    li      a7, 124
    ecall
    li      t0, 'B'
    sb      t0, 0(s0)
    li      a0, 1
    mv      a1, s0
    li      a2, 1
    li      a7, SYS_write
    ecall
    li      a0, 9
    li      a7, SYS_exit
    ecall
parent:
    li      a0, 3
    li      a7, SYS_exit
    ecall
`);
    expect(run.stdout).toBe("B");
    expect(run.exits.map((e) => [e.pid, e.status])).toEqual([[1, 3], [2, 9]]);
    expect(run.exitCode).toBe(3);
    expect(run.exits[1]!.stats).toEqual({ ...NO_FAULTS, cowReuse: 1 });
    expectFullReclaim(run);
  });
});

describe("the user stack", () => {
  const floor = STACK_TOP - STACK_MAX;

  it("grows on demand: touching 64 KiB below the initial sp takes 16 stack-growth faults and 16 frames", () => {
    const run = runKernel(`${SYSCALLS}
    .text
    .globl _start
_start:
    ${checkpoint}
    li      t0, 16
    mv      t1, sp
    li      t2, ${PAGE}
1:  sub     t1, t1, t2
    sd      t0, 0(t1)
    addi    t0, t0, -1
    bnez    t0, 1b
    ${checkpoint}
    ${exit0}
`);
    expect(run.exitCode).toBe(0);
    const [before, after] = run.checkpoints as [ProcessSnapshot, ProcessSnapshot];
    expect(delta(before, after)).toEqual({ stats: { ...NO_FAULTS, stackGrowth: 16 }, usedFrames: 16, ownedFrames: 16 });
    expectFullReclaim(run);
  });

  it(`may reach exactly ${STACK_MAX >> 20n} MiB below the stack top`, () => {
    const run = runKernel(`${SYSCALLS}
    .text
    .globl _start
_start:
    li      t0, 0x${floor.toString(16)}
    sd      t0, 0(t0)
    ld      a0, 0(t0)
    sub     a0, a0, t0
    li      a7, SYS_exit
    ecall
`);
    expect(run.log).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.exits[0]!.stats).toEqual({ ...NO_FAULTS, stackGrowth: 1 });
    expectFullReclaim(run);
  });

  it.each([
    ["the guard page", floor - 8n, `in the guard page below stack \\[0x[0-9a-f]+, 0x${STACK_TOP.toString(16)}\\) rw-`],
    ["below the guard page", floor - BigInt(PAGE) - 8n, "\\(no mapping\\)"],
  ])("a touch of %s kills the process with SIGSEGV", (_what, va, where) => {
    const run = runKernel(`${SYSCALLS}
    .text
    .globl _start
_start:
    li      t0, 0x${va.toString(16)}
fault:
    sd      zero, 0(t0)
    ${exit0}
`);
    expect(run.exitCode).toBe(139);
    expect(run.log).toHaveLength(1);
    expect(run.log[0]).toMatch(new RegExp(`^\\[pid 1\\] killed by signal 11: segfault: write to 0x${va.toString(16)} ${where}, pc 0x${symbol(run, "fault").toString(16)}$`));
    expect(run.exits[0]!.stats).toEqual({ ...NO_FAULTS, protectionKill: 1 });
    expectFullReclaim(run);
  });
});
