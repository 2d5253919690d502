/**
 * What the kernel does with user mistakes, through the whole trap path: system calls given bad
 * pointers or arguments return Linux's negative errno (each program exits with the negated result,
 * so the exit status is the errno), and fatal accesses kill the process with a one-line report that
 * names the address, the access and the mapping, as a shell reports SIGSEGV (139) or SIGILL (132).
 */
import { describe, expect, it } from "vitest";
import { E } from "../kernel/proc/syscalls.js";
import { fork, SYSCALLS } from "./support/kernel-asm.js";
import { expectFullReclaim, type KernelRun, NO_FAULTS, runKernel, symbol } from "./support/run-kernel.js";

const hex = (v: bigint): string => `0x${v.toString(16)}`;

/** A program that runs `body` (leaving a syscall result in a0) and exits with -a0. */
const returnsErrno = (body: string): string => `
    .data
word: .dword 0x1122334455667788
    .text
    .globl _start
_start:
${body}
    neg     a0, a0
    li      a7, 93
    ecall
`;

const call = (nr: number, ...args: (number | bigint)[]): string =>
  [...args.map((v, i) => `    li      a${i}, ${v}`), `    li      a7, ${nr}`, "    ecall"].join("\n");

describe("system calls refuse bad pointers and arguments with Linux's errno", () => {
  const cases: [string, string, number][] = [
    ["write() from an unmapped buffer → -EFAULT", call(64, 1, 0x1000, 8), E.EFAULT],
    ["write() from a kernel address → -EFAULT", call(64, 1, 0xffff_ffc0_8000_0000n, 8), E.EFAULT],
    ["write() of a buffer running off the end of user space → -EFAULT", call(64, 1, 0x3f_ffff_fff8n, 16), E.EFAULT],
    ["write() to a file descriptor that is not open → -EBADF", `    la      a1, word\n    li      a0, 5\n    li      a2, 8\n    li      a7, 64\n    ecall`, E.EBADF],
    ["an unknown system call number → -ENOSYS", call(999), E.ENOSYS],
    ["mmap without MAP_ANONYMOUS (no files yet) → -ENOSYS", call(222, 0, 4096, 3, 0x02, 3, 0), E.ENOSYS],
    ["mmap of length 0 → -EINVAL", call(222, 0, 0, 3, 0x22, -1, 0), E.EINVAL],
    ["mmap with MAP_FIXED at a misaligned address → -EINVAL", call(222, 0x4000_0800, 4096, 3, 0x32, -1, 0), E.EINVAL],
    ["munmap of a misaligned address → -EINVAL", call(215, 0x4000_0800, 4096), E.EINVAL],
    ["wait4 with no children → -ECHILD", call(260, -1, 0, 0, 0), E.ECHILD],
    ["clone with thread flags → -EINVAL", call(220, 0x10f00, 0), E.EINVAL],
  ];
  it.each(cases)("%s", (_what, body, errno) => {
    const run = runKernel(returnsErrno(body));
    expect(run.log).toEqual([]);
    expect(run.stdout).toBe("");
    expect(run.exitCode).toBe(errno);
    expectFullReclaim(run);
  });

  it("an unmapped buffer counts one failed user access and no other fault", () => {
    const run = runKernel(returnsErrno(call(64, 1, 0x1000, 8)));
    expect(run.exits[0]!.stats).toEqual({ ...NO_FAULTS, userAccessFailed: 1 });
  });

  it("write() succeeds from a buffer that is mapped on demand while the kernel copies it", () => {
    const run = runKernel(`
    .bss
buf: .zero 8192
    .text
    .globl _start
_start:
    li      a0, 1
    la      a1, buf
    li      a2, 8192
    li      a7, 64
    ecall
    li      t0, 8192
    sub     a0, a0, t0
    li      a7, 93
    ecall
`);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe("\0".repeat(8192));
    expect(run.exits[0]!.stats).toEqual({ ...NO_FAULTS, demandZero: 2 });
    expectFullReclaim(run);
  });
});

describe("fatal accesses kill the process with a report naming the address, the access and the mapping", () => {
  /** Runs a program whose instruction at label `fault` dies; checks status, log line and reclaim. */
  function expectKilled(source: string, status: number, report: (run: KernelRun) => string): KernelRun {
    const run = runKernel(source);
    expect(run.exitCode).toBe(status);
    expect(run.stdout).toBe("");
    expect(run.log).toEqual([report(run)]);
    expectFullReclaim(run);
    return run;
  }

  it("a store to the text segment: SIGSEGV (139)", () => {
    const run = expectKilled(`
    .text
    .globl _start
_start:
    la      t0, _start
fault:
    sw      zero, 4(t0)
    li      a7, 93
    ecall
`, 139, (r) => `[pid 1] killed by signal 11: segfault: write to ${hex(symbol(r, "_start") + 4n)} in text [0x80000000, 0x80001000) r-x, pc ${hex(symbol(r, "fault"))}`);
    expect(run.exits[0]!.stats).toEqual({ ...NO_FAULTS, protectionKill: 1 });
  });

  it("a jump into the (non-executable) data segment: SIGSEGV (139)", () => {
    expectKilled(`
    .text
    .globl _start
_start:
    la      t0, code_in_data
    jr      t0
    .data
code_in_data:
    li      a7, 93
    ecall
`, 139, (r) => `[pid 1] killed by signal 11: segfault: execute at ${hex(symbol(r, "code_in_data"))} in data [0x80001000, 0x80002000) rw-, pc ${hex(symbol(r, "code_in_data"))}`);
  });

  it("a load from kernel space: SIGSEGV (139)", () => {
    expectKilled(`
    .text
    .globl _start
_start:
    li      t0, 0xffffffc080000000
fault:
    ld      a0, 0(t0)
    li      a7, 93
    ecall
`, 139, (r) => `[pid 1] killed by signal 11: segfault: read from 0xffffffc080000000 (kernel address), pc ${hex(symbol(r, "fault"))}`);
  });

  it("a load from an unmapped user address: SIGSEGV (139)", () => {
    expectKilled(`
    .text
    .globl _start
_start:
    li      t0, 0x12345678
fault:
    lbu     a0, 0(t0)
    li      a7, 93
    ecall
`, 139, (r) => `[pid 1] killed by signal 11: segfault: read from 0x12345678 (no mapping), pc ${hex(symbol(r, "fault"))}`);
  });

  it("a store to a page made read-only by mprotect: SIGSEGV (139)", () => {
    expectKilled(`
    .text
    .globl _start
_start:
    li      a0, 0x40000000
    li      a1, 4096
    li      a2, 3
    li      a3, 0x32
    li      a4, -1
    li      a5, 0
    li      a7, 222
    ecall
    mv      s0, a0
    sd      s0, 0(s0)
    li      a1, 4096
    li      a2, 1
    li      a7, 226
    ecall
    ld      t0, 0(s0)
fault:
    sd      t0, 8(s0)
    li      a7, 93
    ecall
`, 139, (r) => `[pid 1] killed by signal 11: segfault: write to 0x40000008 in [anon] [0x40000000, 0x40001000) r--, pc ${hex(symbol(r, "fault"))}`);
  });

  it.each([
    ["an all-zero instruction word", ".word 0"],
    ["a machine-mode CSR read", "csrr a0, mstatus"],
    ["sret from U-mode", "sret"],
  ])("%s in user mode: SIGILL (132)", (_what, insn) => {
    expectKilled(`
    .text
    .globl _start
_start:
    nop
fault:
    ${insn}
    li      a7, 93
    ecall
`, 132, (r) => `[pid 1] killed by signal 4: illegal instruction at pc ${hex(symbol(r, "fault"))}`);
  });

  it("a child killed by a fault reports its signal to wait4, and the parent goes on", () => {
    const run = runKernel(`${SYSCALLS}
    .bss
status: .zero 8
    .text
    .globl _start
_start:
    ${fork}
    bnez    a0, parent
fault:
    sd      zero, 0(zero)
parent:
    li      a0, -1
    la      a1, status
    li      a2, 0
    li      a3, 0
    li      a7, 260
    ecall
    lw      a0, status
    li      a7, 93
    ecall
`);
    expect(run.log).toEqual([`[pid 2] killed by signal 11: segfault: write to 0x0 (no mapping), pc ${hex(symbol(run, "fault"))}`]);
    expect(run.exitCode).toBe(11);
    expect(run.exits.map((e) => [e.pid, e.status])).toEqual([[2, 139], [1, 11]]);
    expectFullReclaim(run);
  });
});
