/**
 * Address-space operations seen from a user program: mprotect (PROT_NONE keeps the contents, also
 * across fork), munmap of part of a region, mmap hints, brk shrink and regrowth, copy-on-write of
 * the stack, many short-lived children, and running out of memory, each ending with every frame
 * back where boot left it.
 */
import { describe, expect, it } from "vitest";
import { ASM_LIB, checkpoint, exit0, fork, mmap, PAGE, SYSCALLS } from "./support/kernel-asm.js";
import { delta, expectFullReclaim, NO_FAULTS, type ProcessSnapshot, runKernel, symbol } from "./support/run-kernel.js";

const hex = (v: bigint): string => `0x${v.toString(16)}`;

/** mprotect(s0, len, prot); result in a0. */
const mprotect = (len: string, prot: string): string => `
    mv      a0, s0
    li      a1, ${len}
    li      a2, ${prot}
    li      a7, SYS_mprotect
    ecall`;

describe("mprotect", () => {
  it("PROT_NONE keeps the pages' contents and frames; PROT_READ|PROT_WRITE gives them back unchanged", () => {
    const run = runKernel(`${SYSCALLS}
    .text
    .globl _start
_start:
    ${mmap("0x40000000", `2 * ${PAGE}`, "MAP_FIXED")}
    mv      s0, a0
    li      t0, 0x5a5a5a5a
    sd      t0, 0(s0)
    li      t1, ${PAGE}
    add     t1, t1, s0
    sd      t0, 0(t1)
    ${checkpoint}
    ${mprotect(`2 * ${PAGE}`, "PROT_NONE")}
    ${checkpoint}
    ${mprotect(`2 * ${PAGE}`, "PROT_RW")}
    ld      t2, 0(s0)
    li      t1, ${PAGE}
    add     t1, t1, s0
    ld      t3, 0(t1)
    ${checkpoint}
    li      t0, 0x5a5a5a5a
    xor     t2, t2, t0
    xor     t3, t3, t0
    or      a0, t2, t3
    li      a7, SYS_exit
    ecall
`);
    expect(run.exitCode).toBe(0);
    const [before, hidden, shown] = run.checkpoints as [ProcessSnapshot, ProcessSnapshot, ProcessSnapshot];
    expect(delta(before, hidden).ownedFrames).toBe(0);
    expect(delta(hidden, shown)).toMatchObject({ stats: NO_FAULTS, ownedFrames: 0 });
    expectFullReclaim(run);
  });

  it("a read of a PROT_NONE page kills the process with a report naming the area", () => {
    const run = runKernel(`${SYSCALLS}
    .text
    .globl _start
_start:
    ${mmap("0x40000000", `${PAGE}`, "MAP_FIXED")}
    mv      s0, a0
    sd      s0, 0(s0)
    ${mprotect(`${PAGE}`, "PROT_NONE")}
fault:
    ld      a0, 0(s0)
    ${exit0}
`);
    expect(run.exitCode).toBe(139);
    expect(run.log).toEqual([`[pid 1] killed by signal 11: segfault: read from 0x40000000 in [anon] [0x40000000, 0x40001000) ---, pc ${hex(symbol(run, "fault"))}`]);
    expectFullReclaim(run);
  });

  it("a PROT_NONE page shared by fork is copied when the child makes it writable and writes; the parent's copy is untouched", () => {
    const run = runKernel(`${SYSCALLS}
    .text
    .globl _start
_start:
    ${mmap("0x40000000", `${PAGE}`, "MAP_FIXED")}
    mv      s0, a0
    li      t0, 'A'
    sb      t0, 0(s0)
    ${mprotect(`${PAGE}`, "PROT_NONE")}
    ${fork}
    bnez    a0, parent
    ${mprotect(`${PAGE}`, "PROT_RW")}
    ${checkpoint}
    li      t0, 'B'
    sb      t0, 0(s0)
    ${checkpoint}
    li      a0, 1
    mv      a1, s0
    li      a2, 1
    li      a7, SYS_write
    ecall
    ${exit0}
parent:
    li      a0, -1
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    ${mprotect(`${PAGE}`, "PROT_READ")}
    li      a0, 1
    mv      a1, s0
    li      a2, 1
    li      a7, SYS_write
    ecall
    ${exit0}
`);
    expect(run.stdout).toBe("BA");
    expect(run.exitCode).toBe(0);
    const [before, after] = run.checkpoints.filter((c) => c.pid === 2) as [ProcessSnapshot, ProcessSnapshot];
    expect(delta(before, after)).toEqual({ stats: { ...NO_FAULTS, cowCopy: 1 }, usedFrames: 1, ownedFrames: 1 });
    expectFullReclaim(run);
  });
});

describe("munmap, mmap hints and brk", () => {
  it("munmap of the middle page frees exactly its frame; the pages on either side keep their data and the hole kills", () => {
    const run = runKernel(`${SYSCALLS}
    .text
    .globl _start
_start:
    ${mmap("0x40000000", `3 * ${PAGE}`, "MAP_FIXED")}
    mv      s0, a0
    li      t0, 1
    li      t1, ${PAGE}
    sd      t0, 0(s0)
    add     t2, s0, t1
    sd      t0, 0(t2)
    add     t2, t2, t1
    sd      t0, 0(t2)
    ${checkpoint}
    li      a0, 0x40001000
    li      a1, ${PAGE}
    li      a7, SYS_munmap
    ecall
    ${checkpoint}
    ld      t0, 0(s0)
    li      t1, 0x40002000
    ld      t1, 0(t1)
    add     t0, t0, t1
    addi    t0, t0, -2
    bnez    t0, 1f
    li      t1, 0x40001000
fault:
    ld      t0, 0(t1)
1:  li      a0, 1
    li      a7, SYS_exit
    ecall
`);
    const [before, after] = run.checkpoints as [ProcessSnapshot, ProcessSnapshot];
    expect(delta(before, after).ownedFrames).toBe(-1);
    expect(run.exitCode).toBe(139);
    expect(run.log).toEqual([`[pid 1] killed by signal 11: segfault: read from 0x40001000 (no mapping), pc ${hex(symbol(run, "fault"))}`]);
    expectFullReclaim(run);
  });

  it("mmap uses a free hint as given and places an overlapping request elsewhere, leaving the first mapping intact", () => {
    const run = runKernel(`${SYSCALLS}
    .text
    .globl _start
_start:
    ${mmap("0x50000000", `2 * ${PAGE}`)}
    mv      s0, a0
    li      t0, 0x50000000
    sub     a0, s0, t0
    la      a1, m_hint
    jal     check
    li      t0, 77
    sd      t0, 0(s0)
    ${mmap("0x50001000", `2 * ${PAGE}`)}
    mv      s1, a0
    li      t0, ${2 * PAGE}
    add     t0, t0, s0
    sltu    t1, s1, t0
    li      t0, ${2 * PAGE}
    add     t0, t0, s1
    sltu    t2, s0, t0
    and     a0, t1, t2
    la      a1, m_apart
    jal     check
    slli    a0, s1, 52
    la      a1, m_aligned
    jal     check
    ld      a0, 0(s0)
    addi    a0, a0, -77
    la      a1, m_intact
    jal     check
    j       finish
    .section .rodata
m_hint:    .asciz "a free hint is used"
m_apart:   .asciz "an overlapping hint is moved clear of the first mapping"
m_aligned: .asciz "the moved mapping is page-aligned"
m_intact:  .asciz "the first mapping keeps its data"
${ASM_LIB}`);
    expect(run.stdout).toBe("ok a free hint is used\nok an overlapping hint is moved clear of the first mapping\nok the moved mapping is page-aligned\nok the first mapping keeps its data\n");
    expect(run.exitCode).toBe(0);
    expectFullReclaim(run);
  });

  it("brk shrunk and grown again reads zeros where it had data", () => {
    const run = runKernel(`${SYSCALLS}
    .text
    .globl _start
_start:
    li      a0, 0
    li      a7, SYS_brk
    ecall
    mv      s0, a0
    li      t0, ${2 * PAGE}
    add     a0, s0, t0
    li      a7, SYS_brk
    ecall
    li      t0, -1
    sd      t0, 0(s0)
    li      t1, ${PAGE}
    add     t1, t1, s0
    sd      t0, 0(t1)
    mv      a0, s0
    li      a7, SYS_brk
    ecall
    li      t0, ${2 * PAGE}
    add     a0, s0, t0
    li      a7, SYS_brk
    ecall
    ld      a0, 0(s0)
    li      t1, ${PAGE}
    add     t1, t1, s0
    ld      t1, 0(t1)
    or      a0, a0, t1
    li      a7, SYS_exit
    ecall
`);
    expect(run.exitCode).toBe(0);
    expect(run.exits[0]!.stats).toEqual({ ...NO_FAULTS, demandZero: 4 });
    expectFullReclaim(run);
  });
});

describe("fork at scale and out of memory", () => {
  it("a child's first write to the shared stack copies that one page", () => {
    const run = runKernel(`${SYSCALLS}
    .text
    .globl _start
_start:
    sd      zero, -8(sp)
    ${fork}
    bnez    a0, parent
    ${checkpoint}
    li      t0, 1
    sd      t0, -8(sp)
    sd      t0, -16(sp)
    ${checkpoint}
    ${exit0}
parent:
    li      a0, -1
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    ld      a0, -8(sp)
    li      a7, SYS_exit
    ecall
`);
    expect(run.exitCode).toBe(0);
    const [before, after] = run.checkpoints as [ProcessSnapshot, ProcessSnapshot];
    expect(delta(before, after)).toEqual({ stats: { ...NO_FAULTS, cowCopy: 1 }, usedFrames: 1, ownedFrames: 1 });
    expectFullReclaim(run);
  });

  it("50 children forked, each writing a page, and reaped one by one: pids 2..51 and no frame left behind", () => {
    const run = runKernel(`${SYSCALLS}
    .data
page: .dword 0
    .text
    .globl _start
_start:
    li      s1, 50
    la      s0, page
1:  ${fork}
    bnez    a0, 2f
    sd      s1, 0(s0)
    mv      a0, s1
    li      a7, SYS_exit
    ecall
2:  mv      s2, a0
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    bne     a0, s2, 3f
    addi    s1, s1, -1
    bnez    s1, 1b
    ld      a0, 0(s0)
    li      a7, SYS_exit
    ecall
3:  li      a0, 99
    li      a7, SYS_exit
    ecall
`);
    expect(run.exitCode).toBe(0);
    expect(run.exits).toHaveLength(51);
    expect(run.exits.slice(0, 50).map((e) => [e.pid, e.status])).toEqual(Array.from({ length: 50 }, (_, i) => [i + 2, 50 - i]));
    for (const e of run.exits.slice(0, 50)) expect(e.stats).toEqual({ ...NO_FAULTS, cowCopy: 1 });
    expectFullReclaim(run);
  });

  it("a process that touches more memory than the machine has is killed with an out-of-memory report, and everything is reclaimed", () => {
    const ramSize = 16 * 1024 * 1024;
    const run = runKernel(`${SYSCALLS}
    .text
    .globl _start
_start:
    ${mmap("0", `${ramSize}`)}
    mv      s0, a0
    li      t0, ${ramSize / PAGE}
    li      t2, ${PAGE}
1:  sb      t0, 0(s0)
    add     s0, s0, t2
    addi    t0, t0, -1
    bnez    t0, 1b
    ${exit0}
`, { ramSize });
    expect(run.exitCode).toBe(139);
    expect(run.log).toHaveLength(1);
    expect(run.log[0]).toMatch(/^\[pid 1\] killed by signal 11: out of memory: write to 0x[0-9a-f]+ in \[anon\] \[0x[0-9a-f]+, 0x[0-9a-f]+\) rw-, pc 0x[0-9a-f]+$/);
    const exit = run.exits[0]!;
    expect(exit.stats.outOfMemory).toBe(1);
    expect(exit.stats.demandZero).toBeGreaterThan(1000);
    expect(run.frames.getMemoryStats().failedAllocations).toBeGreaterThan(0);
    expectFullReclaim(run);
  });
});
