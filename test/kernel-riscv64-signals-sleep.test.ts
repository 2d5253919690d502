/**
 * kill with SIGKILL and SIGSEGV semantics, and nanosleep in simulated time, under the TypeScript
 * kernel: wait4 sees the signal number as the status, killing yourself works, a sleeper or a
 * waiter can be killed; sleepers wake in the order of their deadlines while others run, the `time`
 * CSR (readable from U-mode) advances by the sleep, and a hart with only sleepers idles in WFI
 * instead of spinning.
 */
import { describe, expect, it } from "vitest";
import { durationTicks } from "../kernel/proc/sleep.js";
import { ASM_LIB, fork, SYSCALLS } from "./support/kernel-asm.js";
import { expectFullReclaim, runKernel } from "./support/run-kernel.js";

const SIGNALS = `
    .equ SYS_nanosleep, 101
    .equ SYS_kill, 129
    .equ SYS_getppid, 173
    .equ SIGKILL, 9
    .equ SIGSEGV, 11
`;

/** kill(a0 = pid in `reg`, sig). */
const kill = (reg: string, sig: string): string => `
    mv      a0, ${reg}
    li      a1, ${sig}
    li      a7, SYS_kill
    ecall`;

/** wait4(pid in `reg`, &status, 0, 0). */
const wait = (reg: string): string => `
    mv      a0, ${reg}
    la      a1, status
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall`;

/** nanosleep(&label, 0). */
const sleep = (label: string): string => `
    la      a0, ${label}
    li      a1, 0
    li      a7, SYS_nanosleep
    ecall`;

/** A timespec label. */
const timespec = (label: string, sec: number, nsec: number): string => `${label}: .dword ${sec}, ${nsec}`;

describe("kill", () => {
  /** Forks a child that runs `child`, kills it with `sig` and exits with the wait4 status word. */
  const killChild = (sig: string, child = "1: j 1b"): string => `${SYSCALLS}${SIGNALS}
    .bss
status: .word 0
    .text
    .globl _start
_start:
    ${fork}
    bnez    a0, parent
${child}
parent:
    mv      s0, a0
    li      a7, SYS_sched_yield
    ecall
    ${kill("s0", sig)}
    bnez    a0, bad
    ${wait("s0")}
    bne     a0, s0, bad
    lw      a0, status
    li      a7, SYS_exit
    ecall
bad:
    li      a0, 99
    li      a7, SYS_exit
    ecall
`;

  it("SIGKILL ends a running child; wait4's status is 9 and a shell would say 137", () => {
    const run = runKernel(killChild("SIGKILL"));
    expect(run.exits.map((e) => [e.pid, e.status])).toEqual([[2, 137], [1, 9]]);
    expect(run.log).toEqual([]);
    expectFullReclaim(run);
  });

  it("SIGSEGV ends it as a segmentation fault would: status 11, 139 for a shell", () => {
    const run = runKernel(killChild("SIGSEGV"));
    expect(run.exits.map((e) => [e.pid, e.status])).toEqual([[2, 139], [1, 11]]);
  });

  it("a sleeping child is killed at once: the run does not wait out its sleep", () => {
    const run = runKernel(killChild("SIGKILL", `${sleep("long")}
    li      a0, 1
    li      a7, SYS_exit
    ecall
    .data
${timespec("long", 3600, 0)}
    .text`));
    expect(run.exits.map((e) => [e.pid, e.status])).toEqual([[2, 137], [1, 9]]);
    expect(run.km.machine.now()).toBeLessThan(1_000_000);
    expectFullReclaim(run);
  });

  it("killing yourself does not return: the first process's status is 128 + 9", () => {
    const run = runKernel(`${SYSCALLS}${SIGNALS}
    .section .rodata
after: .ascii "after\\n"
    .text
    .globl _start
_start:
    li      a7, SYS_getpid
    ecall
    li      a1, SIGKILL
    li      a7, SYS_kill
    ecall
    li      a0, 1
    la      a1, after
    li      a2, 6
    li      a7, SYS_write
    ecall
    li      a0, 0
    li      a7, SYS_exit
    ecall
`);
    expect(run.stdout).toBe("");
    expect(run.exitCode).toBe(137);
    expectFullReclaim(run);
  });

  it("a process blocked in wait4 can be killed; its running child is reparented to init", () => {
    // pid 1 forks pid 2, which forks pid 3 (spins) and waits for it; pid 1 kills 2, then 3, and reaps both.
    const run = runKernel(`${SYSCALLS}${SIGNALS}
    .bss
status: .word 0
    .text
    .globl _start
_start:
    ${fork}
    bnez    a0, init
    ${fork}
    bnez    a0, 1f
2:  j       2b
1:  mv      s0, a0
    ${wait("s0")}
    li      a0, 1
    li      a7, SYS_exit
    ecall
init:
    mv      s0, a0
    li      s1, 3
    li      a7, SYS_sched_yield
    ecall
    li      a7, SYS_sched_yield
    ecall
    ${kill("s0", "SIGKILL")}
    ${kill("s1", "SIGSEGV")}
    ${wait("s0")}
    lw      s2, status
    li      a0, -1
    la      a1, status
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    lw      a0, status
    slli    a0, a0, 4
    or      a0, a0, s2
    li      a7, SYS_exit
    ecall
`);
    expect(run.exits.map((e) => [e.pid, e.status])).toEqual([[2, 137], [3, 139], [1, (11 << 4 | 9) & 0xff]]);
    expectFullReclaim(run);
  });

  it("signal 0 probes; a missing pid is ESRCH; other signals and process groups are EINVAL; a zombie takes it quietly", () => {
    const run = runKernel(`${SYSCALLS}${SIGNALS}
    .section .rodata
n_probe:  .asciz "probe self"
n_srch:   .asciz "missing pid"
n_srch0:  .asciz "probe missing pid"
n_term:   .asciz "SIGTERM"
n_big:    .asciz "signal 65"
n_group:  .asciz "pid 0"
n_all:    .asciz "pid -1"
n_zombie: .asciz "zombie"
    .text
    .globl _start
_start:
    li      a7, SYS_getpid
    ecall
    mv      s0, a0
    li      a1, 0
    li      a7, SYS_kill
    ecall
    la      a1, n_probe
    jal     check
    li      s1, 99
    ${kill("s1", "SIGKILL")}
    addi    a0, a0, 3
    la      a1, n_srch
    jal     check
    ${kill("s1", "0")}
    addi    a0, a0, 3
    la      a1, n_srch0
    jal     check
    ${kill("s0", "15")}
    addi    a0, a0, 22
    la      a1, n_term
    jal     check
    ${kill("s0", "65")}
    addi    a0, a0, 22
    la      a1, n_big
    jal     check
    ${kill("zero", "SIGKILL")}
    addi    a0, a0, 22
    la      a1, n_group
    jal     check
    li      s1, -1
    ${kill("s1", "SIGKILL")}
    addi    a0, a0, 22
    la      a1, n_all
    jal     check
    ${fork}
    bnez    a0, 1f
    li      a0, 5
    li      a7, SYS_exit
    ecall
1:  mv      s1, a0
    li      a7, SYS_sched_yield
    ecall
    ${kill("s1", "SIGKILL")}
    la      a1, n_zombie
    jal     check
    mv      a0, s1
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    j       finish
${ASM_LIB}`);
    expect(run.stdout.split("\n").filter((l) => l.startsWith("FAIL"))).toEqual([]);
    expect(run.stdout.split("\n").filter((l) => l.startsWith("ok"))).toHaveLength(8);
    expect(run.exits.map((e) => [e.pid, e.status])).toEqual([[2, 5], [1, 0]]);
  });
});

describe("nanosleep", () => {
  /** Parent sleeps `parentMs`, child `childMs`; each then writes its letter; the parent waits and exits 0. */
  const race = (parentMs: number, childMs: number): string => `${SYSCALLS}${SIGNALS}
    .section .rodata
letters: .ascii "PC"
    .data
${timespec("t_parent", 0, parentMs * 1_000_000)}
${timespec("t_child", 0, childMs * 1_000_000)}
status: .word 0
    .text
    .globl _start
_start:
    ${fork}
    mv      s0, a0
    bnez    s0, 1f
    ${sleep("t_child")}
    li      a0, 1
    la      a1, letters + 1
    li      a2, 1
    li      a7, SYS_write
    ecall
    li      a0, 0
    li      a7, SYS_exit
    ecall
1:  ${sleep("t_parent")}
    li      a0, 1
    la      a1, letters
    li      a2, 1
    li      a7, SYS_write
    ecall
    ${wait("s0")}
    li      a0, 0
    li      a7, SYS_exit
    ecall
`;

  it.each([[1, 2, "PC"], [2, 1, "CP"], [5, 3, "CP"]])("parent %i ms, child %i ms: they wake in deadline order (%s)", (p, c, out) => {
    const run = runKernel(race(p, c));
    expect(run.stdout).toBe(out);
    expect(run.exitCode).toBe(0);
    // Both slept through the longer deadline; the hart idled in WFI rather than spinning.
    expect(run.km.machine.now()).toBeGreaterThanOrEqual(Math.max(p, c) * 10_000);
    expect(run.icount).toBeLessThan(5_000);
    expectFullReclaim(run);
  });

  it("the time CSR, read in U-mode, advances by at least the sleep, and only by a little more", () => {
    const run = runKernel(`${SYSCALLS}${SIGNALS}
    .data
${timespec("half", 0, 500_000_000)}
    .text
    .globl _start
_start:
    rdtime  s0
    ${sleep("half")}
    mv      s2, a0
    rdtime  s1
    sub     a0, s1, s0
    jal     puthex
    mv      a0, s2
    li      a7, SYS_exit
    ecall
${ASM_LIB}`);
    expect(run.exitCode).toBe(0);
    const elapsed = Number(BigInt(run.stdout));
    expect(elapsed).toBeGreaterThanOrEqual(5_000_000);
    expect(elapsed).toBeLessThan(5_000_000 + 100);
    expect(run.km.machine.skipped).toBeGreaterThan(4_900_000);
  });

  it("others run while one sleeps: a child's wake-up lands between its parent's dots", () => {
    const run = runKernel(`${SYSCALLS}${SIGNALS}
    .section .rodata
chars: .ascii ".C"
    .data
${timespec("t", 0, 2_000_000)}
status: .word 0
    .text
    .globl _start
_start:
    ${fork}
    mv      s0, a0
    bnez    s0, 1f
    ${sleep("t")}
    li      a0, 1
    la      a1, chars + 1
    li      a2, 1
    li      a7, SYS_write
    ecall
    li      a0, 0
    li      a7, SYS_exit
    ecall
1:  li      s1, 40
2:  li      t0, 1000
3:  addi    t0, t0, -1
    bnez    t0, 3b
    li      a0, 1
    la      a1, chars
    li      a2, 1
    li      a7, SYS_write
    ecall
    addi    s1, s1, -1
    bnez    s1, 2b
    ${wait("s0")}
    li      a0, 0
    li      a7, SYS_exit
    ecall
`);
    expect(run.stdout).toMatch(/^\.{5,}C\.{5,}$/);
    expect(run.stdout.length).toBe(41);
  });

  it("EFAULT for an unreadable request, EINVAL for a bad tv_nsec or a negative tv_sec; rem gets 0; zero returns at once", () => {
    const run = runKernel(`${SYSCALLS}${SIGNALS}
    .section .rodata
n_fault: .asciz "bad pointer"
n_nsec:  .asciz "tv_nsec 1e9"
n_neg:   .asciz "tv_nsec -1"
n_sec:   .asciz "tv_sec -1"
n_zero:  .asciz "zero"
n_rem:   .asciz "rem zeroed"
n_ok:    .asciz "short sleep"
    .data
${timespec("big", 0, 1_000_000_000)}
${timespec("neg", 0, -1)}
${timespec("negsec", -1, 0)}
${timespec("nothing", 0, 0)}
${timespec("short", 0, 1000)}
rem: .dword 7, 7
    .text
    .globl _start
_start:
    li      a0, 0x1000
    li      a1, 0
    li      a7, SYS_nanosleep
    ecall
    addi    a0, a0, 14
    la      a1, n_fault
    jal     check
    ${sleep("big")}
    addi    a0, a0, 22
    la      a1, n_nsec
    jal     check
    ${sleep("neg")}
    addi    a0, a0, 22
    la      a1, n_neg
    jal     check
    ${sleep("negsec")}
    addi    a0, a0, 22
    la      a1, n_sec
    jal     check
    rdtime  s0
    ${sleep("nothing")}
    la      a1, n_zero
    jal     check
    la      a0, short
    la      a1, rem
    li      a7, SYS_nanosleep
    ecall
    la      a1, n_ok
    jal     check
    ld      a0, rem
    ld      t0, rem + 8
    or      a0, a0, t0
    la      a1, n_rem
    jal     check
    j       finish
${ASM_LIB}`);
    expect(run.stdout.split("\n").filter((l) => l.startsWith("FAIL"))).toEqual([]);
    expect(run.stdout.split("\n").filter((l) => l.startsWith("ok"))).toHaveLength(7);
    expect(run.exitCode).toBe(0);
  });

  it("rounds a duration up to whole ticks of the 10 MHz timebase", () => {
    expect(durationTicks(0n, 100n, 10_000_000)).toBe(1n);
    expect(durationTicks(0n, 101n, 10_000_000)).toBe(2n);
    expect(durationTicks(0n, 1n, 10_000_000)).toBe(1n);
    expect(durationTicks(2n, 0n, 10_000_000)).toBe(20_000_000n);
    expect(durationTicks(0n, 0n, 10_000_000)).toBe(0n);
  });

  it("a parent waiting in wait4 while its only child sleeps is not a deadlock: the hart idles (paranoid checks on)", () => {
    const run = runKernel(`${SYSCALLS}${SIGNALS}
    .data
${timespec("t", 1, 0)}
status: .word 0
    .text
    .globl _start
_start:
    ${fork}
    mv      s0, a0
    bnez    s0, 1f
    ${sleep("t")}
    li      a0, 4
    li      a7, SYS_exit
    ecall
1:  ${wait("s0")}
    lw      a0, status
    srli    a0, a0, 8
    li      a7, SYS_exit
    ecall
`, { debug: true });
    expect(run.exitCode).toBe(4);
    expect(run.log).toEqual([]);
    expect(run.km.machine.now()).toBeGreaterThanOrEqual(10_000_000);
  });
});
