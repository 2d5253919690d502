/**
 * Processes under the TypeScript kernel, end to end: the initial stack a program finds (argv, envp
 * and auxv laid out as Linux does), time slicing between two processes by the timer, sched_yield,
 * wait4's status word, and determinism of whole runs.
 */
import { describe, expect, it } from "vitest";
import { AT } from "../kernel/proc/exec.js";
import { STACK_TOP } from "../kernel/proc/process.js";
import { ASM_LIB, fork, SYSCALLS } from "./support/kernel-asm.js";
import { processOwners, runKernel, symbol } from "./support/run-kernel.js";

/** Prints sp, argc, every argv and envp pointer with its string, every auxv pair, and the AT_EXECFN and AT_RANDOM contents. */
const SHOW_STACK = `
    .equ AT_NULL, 0
    .equ AT_RANDOM, 25
    .equ AT_EXECFN, 31
    .text
    .globl _start
_start:
    mv      s0, sp
    la      a0, m_sp
    jal     puts
    mv      a0, s0
    jal     puthex
    la      a0, m_argc
    jal     puts
    ld      a0, 0(s0)
    jal     puthex
    addi    s2, s0, 8
    la      s5, m_argv
    jal     strings
    la      s5, m_envp
    jal     strings
1:  ld      s3, 0(s2)
    ld      s4, 8(s2)
    addi    s2, s2, 16
    la      a0, m_auxv
    jal     puts
    mv      a0, s3
    jal     puthex
    la      a0, m_sp1
    jal     puts
    mv      a0, s4
    jal     puthex
    li      t0, AT_EXECFN
    bne     s3, t0, 2f
    la      a0, m_sp1
    jal     puts
    mv      a0, s4
    jal     puts
2:  li      t0, AT_RANDOM
    bne     s3, t0, 3f
    la      a0, m_sp1
    jal     puts
    ld      a0, 0(s4)
    jal     puthex
    la      a0, m_sp1
    jal     puts
    ld      a0, 8(s4)
    jal     puthex
3:  la      a0, m_nl
    jal     puts
    bnez    s3, 1b
    j       finish

# strings: prints "<s5 label> <pointer> <string>" for each entry of the NULL-terminated vector at s2;
# leaves s2 after the NULL. Uses s3, s6.
strings:
    mv      s6, ra
1:  ld      s3, 0(s2)
    addi    s2, s2, 8
    beqz    s3, 2f
    mv      a0, s5
    jal     puts
    mv      a0, s3
    jal     puthex
    la      a0, m_sp1
    jal     puts
    mv      a0, s3
    jal     puts
    la      a0, m_nl
    jal     puts
    j       1b
2:  mv      ra, s6
    ret

    .section .rodata
m_sp:   .asciz "sp "
m_argc: .asciz "\\nargc "
m_argv: .asciz "\\nargv "
m_envp: .asciz "envp "
m_auxv: .asciz "auxv "
m_sp1:  .asciz " "
m_nl:   .asciz "\\n"
${ASM_LIB}`;

describe("the initial stack", () => {
  it("holds argc, argv, envp and auxv as Linux lays them out", () => {
    const random = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
    const args = ["prog", "one", "two words", "ünï"];
    const run = runKernel(SHOW_STACK, { args, random: (b) => b.set(random) });
    expect(run.exitCode).toBe(0);
    const lines = run.stdout.split("\n").filter((l) => l !== "");
    const field = (prefix: string): string[][] => lines.filter((l) => l.startsWith(prefix + " ")).map((l) => l.slice(prefix.length + 1).split(" "));
    const sp = BigInt(field("sp")[0]![0]!);
    expect(sp % 16n).toBe(0n);
    expect(sp < STACK_TOP && sp > STACK_TOP - 4096n).toBe(true);
    expect(BigInt(field("argc")[0]![0]!)).toBe(4n);

    const argv = lines.filter((l) => l.startsWith("argv ")).map((l) => ({ ptr: BigInt(l.split(" ")[1]!), s: l.split(" ").slice(2).join(" ") }));
    const envp = lines.filter((l) => l.startsWith("envp ")).map((l) => ({ ptr: BigInt(l.split(" ")[1]!), s: l.split(" ").slice(2).join(" ") }));
    expect(argv.map((a) => a.s)).toEqual(args.map((a) => Buffer.from(a, "utf8").toString("latin1")));
    expect(envp.map((e) => e.s)).toEqual(["PATH=/", "HOME=/"]);
    // The strings sit back to back above the vectors, argv[0] lowest, each followed by its NUL.
    const strings = [...argv, ...envp];
    for (let i = 1; i < strings.length; i++) expect(strings[i]!.ptr).toBe(strings[i - 1]!.ptr + BigInt(Buffer.byteLength(strings[i - 1]!.s, "latin1") + 1));
    expect(strings[0]!.ptr > sp).toBe(true);

    const auxv = field("auxv").map(([type, value, ...rest]) => ({ type: Number(BigInt(type!)), value: BigInt(value!), rest }));
    expect(auxv.at(-1)).toEqual({ type: AT.NULL, value: 0n, rest: [] });
    const aux = new Map(auxv.map((a) => [a.type, a]));
    expect(aux.get(AT.PAGESZ)?.value).toBe(4096n);
    expect(aux.get(AT.ENTRY)?.value).toBe(symbol(run, "_start"));
    expect(aux.get(AT.EXECFN)?.rest).toEqual(["prog"]);
    const at = aux.get(AT.RANDOM)!;
    expect(at.value > sp && at.value < strings[0]!.ptr).toBe(true);
    expect(at.rest.map((w) => BigInt(w))).toEqual([0xa7a6a5a4a3a2a1a0n, 0xafaeadacabaaa9a8n]);
    // The program found every vector by walking up from sp (argc, argv, NULL, envp, NULL, auxv
    // pairs up to AT_NULL), so each line it printed is accounted for above.
    expect(lines.length).toBe(2 + argv.length + envp.length + auxv.length);
    expect(processOwners(run.frames)).toEqual([]);
  });
});

/** Two processes (fork) each writing their letter COUNT times with a busy delay between letters. */
const SPIN = (count: number, delay: number): string => `${SYSCALLS}
    .equ COUNT, ${count}
    .equ DELAY, ${delay}
    .section .rodata
letters: .ascii "PC\\n"
    .text
    .globl _start
_start:
    ${fork}
    mv      s0, a0
    la      s1, letters
    bnez    s0, 1f
    addi    s1, s1, 1
1:  li      s2, COUNT
2:  li      a0, 1
    mv      a1, s1
    li      a2, 1
    li      a7, 64
    ecall
    li      t0, DELAY
3:  addi    t0, t0, -1
    bnez    t0, 3b
    addi    s2, s2, -1
    bnez    s2, 2b
    li      a0, 0
    beqz    s0, 4f
    li      a0, -1
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, 260
    ecall
    li      a0, 1
    la      a1, letters + 2
    li      a2, 1
    li      a7, 64
    ecall
    li      a0, 0
4:  li      a7, 93
    ecall
`;

/** Lengths of the runs of equal letters in `s`. */
const runs = (s: string): number[] => (s.match(/(.)\1*/g) ?? []).map((r) => r.length);

/** Asserts that `out` is both processes' letters, interleaved, with no run longer than `perSlice + 1`. */
function expectInterleaved(out: string, count: number, perSlice: number): void {
  expect(out).toMatch(new RegExp(`^[PC]{${2 * count}}\\n$`));
  expect(out.split("P").length - 1).toBe(count);
  expect(out.split("C").length - 1).toBe(count);
  // Both make progress before either finishes.
  expect(out.indexOf("C")).toBeLessThan(out.lastIndexOf("P"));
  expect(out.indexOf("P")).toBeLessThan(out.lastIndexOf("C"));
  const lengths = runs(out.trim());
  expect(Math.max(...lengths)).toBeLessThanOrEqual(perSlice + 1);
  expect(lengths.length).toBeGreaterThanOrEqual(Math.floor((2 * count) / (perSlice + 1)));
}

describe("scheduling", () => {
  const count = 20, delay = 6000, timeslice = 10_000;

  it("the timer interleaves two processes spinning between system calls", () => {
    const run = runKernel(SPIN(count, delay), { timeslice });
    expect(run.exitCode).toBe(0);
    // A letter costs about 2 * delay instructions, more than a slice: at most one letter per slice.
    expectInterleaved(run.stdout, count, 1);
    expect(processOwners(run.frames)).toEqual([]);
  });

  it("a process making a system call more often than once per slice is still preempted when its slice ends", () => {
    const fastDelay = 1000;
    const run = runKernel(SPIN(count, fastDelay), { timeslice });
    expect(run.exitCode).toBe(0);
    expectInterleaved(run.stdout, count, Math.ceil(timeslice / (2 * fastDelay)));
  });

  it("is deterministic: the same run twice gives the same output, instruction count and exits", () => {
    const a = runKernel(SPIN(count, delay), { timeslice });
    const b = runKernel(SPIN(count, delay), { timeslice });
    expect(b.stdout).toBe(a.stdout);
    expect(b.icount).toBe(a.icount);
    expect(b.exits).toEqual(a.exits);
    expect(a.icount).toBeGreaterThan(2 * count * 2 * delay);
  });

  it("sched_yield hands the hart to the other process at once", () => {
    const run = runKernel(`${SYSCALLS}
    .section .rodata
letters: .ascii "PC"
    .text
    .globl _start
_start:
    ${fork}
    mv      s0, a0
    la      s1, letters
    bnez    s0, 1f
    addi    s1, s1, 1
1:  li      s2, 5
2:  li      a0, 1
    mv      a1, s1
    li      a2, 1
    li      a7, 64
    ecall
    li      a7, 124
    ecall
    addi    s2, s2, -1
    bnez    s2, 2b
    li      a0, 0
    li      a7, 93
    ecall
`);
    expect(run.stdout).toBe("PCPCPCPCPC");
    expect(run.exitCode).toBe(0);
  });

  it("wait4 stores the child's exit status as (code << 8) and returns its pid; WNOHANG returns 0 while it runs", () => {
    const run = runKernel(`${SYSCALLS}
    .bss
status: .zero 8
    .text
    .globl _start
_start:
    ${fork}
    bnez    a0, parent
    li      a7, 124
    ecall
    li      a0, 0x1234
    li      a7, 94
    ecall
parent:
    mv      s0, a0
    li      a0, -1
    la      a1, status
    li      a2, 1
    li      a3, 0
    li      a7, 260
    ecall
    bnez    a0, bad
    mv      a0, s0
    la      a1, status
    li      a2, 0
    li      a3, 0
    li      a7, 260
    ecall
    bne     a0, s0, bad
    lw      a0, status
    srli    a0, a0, 8
    li      a7, 93
    ecall
bad:
    li      a0, 1
    li      a7, 93
    ecall
`);
    expect(run.exits.map((e) => [e.pid, e.status])).toEqual([[2, 0x34], [1, 0x34]]);
    expect(run.exitCode).toBe(0x34);
  });

  it("wait4 writes the status into the parent's own copy of a page it still shares with another child", () => {
    const run = runKernel(`${SYSCALLS}
    .data
status: .word 0x11111111
    .text
    .globl _start
_start:
    ${fork}
    bnez    a0, 1f
    li      a0, 5
    li      a7, SYS_exit
    ecall
1:  mv      s0, a0
    ${fork}
    bnez    a0, 2f
    li      s2, 5
3:  li      a7, SYS_sched_yield
    ecall
    addi    s2, s2, -1
    bnez    s2, 3b
    lw      a0, status
    li      a7, SYS_exit
    ecall
2:  mv      s1, a0
    mv      a0, s0
    la      a1, status
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    lw      s3, status
    mv      a0, s1
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    srli    a0, s3, 8
    li      a7, SYS_exit
    ecall
`);
    expect(run.exits.map((e) => [e.pid, e.status])).toEqual([[2, 5], [3, 0x11], [1, 5]]);
    expect(run.exitCode).toBe(5);
  });

  it("an orphaned grandchild is reparented to init, which reaps it with wait4(-1); then wait4 says -ECHILD", () => {
    const run = runKernel(`${SYSCALLS}
    .bss
status: .zero 4
    .text
    .globl _start
_start:
    ${fork}
    bnez    a0, init
    ${fork}
    bnez    a0, 1f
    li      s2, 5
2:  li      a7, SYS_sched_yield
    ecall
    addi    s2, s2, -1
    bnez    s2, 2b
    li      a7, 173
    ecall
    li      a7, SYS_exit
    ecall
1:  li      a0, 2
    li      a7, SYS_exit
    ecall
init:
    li      s1, 0
3:  li      a0, -1
    la      a1, status
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    blt     a0, zero, 4f
    lw      t0, status
    srli    t0, t0, 8
    slli    s1, s1, 8
    or      s1, s1, t0
    j       3b
4:  addi    a0, a0, 10
    bnez    a0, 5f
    srli    a0, s1, 8
    li      a7, SYS_exit
    ecall
5:  li      a0, 99
    li      a7, SYS_exit
    ecall
`);
    // pid 2 exits 2; its child pid 3, reparented, exits with getppid() = 1; init exits with the first status reaped.
    expect(run.exits.map((e) => [e.pid, e.status])).toEqual([[2, 2], [3, 1], [1, 2]]);
    expect(run.exitCode).toBe(2);
  });
});
