/**
 * The per-architecture half of the system-call fuzz programs (syscall-program.ts holds the
 * architecture-neutral half): each architecture's Linux system-call numbers, its calling convention
 * (number register, six argument registers, the instruction), how a register gets a constant, a
 * label's address or the previous result, and how a load or store goes through a pointer.
 * @spec Linux syscall(2) "Architecture calling conventions" (riscv: ecall, a7, a0..a5; arm64: svc #0,
 *       x8, x0..x5; x86-64: syscall, rax, rdi, rsi, rdx, r10, r8, r9; result in a0/x0/rax)
 * @spec Linux include/uapi/asm-generic/unistd.h (riscv64, arm64); arch/x86/entry/syscalls/syscall_64.tbl
 */
import { X86_SYS } from "../../../kernel/arch/x86_64/syscalls.js";
import { SYS } from "../../../kernel/proc/syscalls.js";
import { assembleArm64 } from "../../../tools/asm/arm64/index.js";
import { assembleRiscv64 } from "../../../tools/asm/riscv64/index.js";
import { assembleX86_64 } from "../../../tools/asm/x86_64/index.js";
import type { FuzzArch } from "./kernel-targets.js";

/** The calls the suites name, by their generic names. */
export type SysName = keyof typeof SYS;
export type SysNumbers = Readonly<Record<SysName, number>>;

/** One architecture's dialect of the generated programs. */
export interface SyscallDialect {
  arch: FuzzArch;
  /** This architecture's Linux numbers of the calls the kernel implements. */
  sys: SysNumbers;
  /** Argument registers, in order. */
  args: readonly string[];
  /** Sets `reg` to a 64-bit constant / the address of `label` plus `off` / the previous result. */
  imm(reg: string, value: bigint): string;
  addr(reg: string, label: string, off: number): string;
  last(reg: string): string;
  /** The call with number `nr` (arguments already loaded); the result is kept as "the previous result". */
  call(nr: bigint): string;
  /** The pointer register of {@link load}/{@link store}. */
  ptr: string;
  /** Loads 8 bytes through `ptr` and writes them to stdout (a leak would show there). */
  load(): string;
  /** Stores 0x5a5a5a5a5a5a5a5a through `ptr`. */
  store(): string;
  /** The 8-byte data directive. */
  quad: string;
  assemble(source: string, fileName: string): Uint8Array;
}

const hex = (v: bigint): string => "0x" + BigInt.asUintN(64, v).toString(16);

const RISCV64: SyscallDialect = {
  arch: "riscv64",
  sys: SYS,
  args: ["a0", "a1", "a2", "a3", "a4", "a5"],
  imm: (reg, v) => `    li      ${reg}, ${hex(v)}\n`,
  addr: (reg, label, off) => `    la      ${reg}, ${label}\n    li      t6, ${off}\n    add     ${reg}, ${reg}, t6\n`,
  last: (reg) => `    mv      ${reg}, s1\n`,
  call: (nr) => `    li      a7, ${hex(nr)}\n    ecall\n    mv      s1, a0\n`,
  ptr: "t0",
  load: () => `    ld      t1, 0(t0)\n    la      a1, buf\n    sd      t1, 0(a1)\n    li      a0, 1\n    li      a2, 8\n    li      a7, ${SYS.write}\n    ecall\n`,
  store: () => `    li      t1, 0x5a5a5a5a5a5a5a5a\n    sd      t1, 0(t0)\n`,
  quad: ".dword",
  assemble: (source, fileName) => assembleRiscv64(source, { fileName }).elf,
};

const ARM64: SyscallDialect = {
  arch: "arm64",
  sys: SYS,
  args: ["x0", "x1", "x2", "x3", "x4", "x5"],
  imm: (reg, v) => `    ldr     ${reg}, =${hex(v)}\n`,
  addr: (reg, label, off) => `    ldr     ${reg}, =${label}\n    ldr     x11, =${hex(BigInt(off))}\n    add     ${reg}, ${reg}, x11\n`,
  last: (reg) => `    mov     ${reg}, x19\n`,
  call: (nr) => `    ldr     x8, =${hex(nr)}\n    svc     #0\n    mov     x19, x0\n`,
  ptr: "x9",
  load: () => `    ldr     x10, [x9]\n    ldr     x1, =buf\n    str     x10, [x1]\n    mov     x0, #1\n    mov     x2, #8\n    mov     x8, #${SYS.write}\n    svc     #0\n`,
  store: () => `    ldr     x10, =0x5a5a5a5a5a5a5a5a\n    str     x10, [x9]\n`,
  quad: ".quad",
  assemble: (source, fileName) => assembleArm64(source, { fileName }).elf,
};

/** x86_64 numbers under the generic names (fork is clone(SIGCHLD, 0) on every architecture here). */
const X86_NUMBERS: SysNumbers = {
  write: X86_SYS.write, writev: X86_SYS.writev, exit: X86_SYS.exit, exit_group: X86_SYS.exit_group, nanosleep: X86_SYS.nanosleep,
  sched_yield: X86_SYS.sched_yield, kill: X86_SYS.kill, getpid: X86_SYS.getpid, getppid: X86_SYS.getppid, brk: X86_SYS.brk,
  munmap: X86_SYS.munmap, clone: X86_SYS.clone, execve: X86_SYS.execve, mmap: X86_SYS.mmap, mprotect: X86_SYS.mprotect, wait4: X86_SYS.wait4,
};

/** rbx holds the previous result, r12 the pointer, r13 scratch (SYSCALL itself clobbers rcx and r11). */
const X86_64: SyscallDialect = {
  arch: "x86_64",
  sys: X86_NUMBERS,
  args: ["%rdi", "%rsi", "%rdx", "%r10", "%r8", "%r9"],
  imm: (reg, v) => `    movabs  $${hex(v)}, ${reg}\n`,
  addr: (reg, label, off) => `    lea     ${label}(%rip), ${reg}\n    add     $${off}, ${reg}\n`,
  last: (reg) => `    mov     %rbx, ${reg}\n`,
  call: (nr) => `    movabs  $${hex(nr)}, %rax\n    syscall\n    mov     %rax, %rbx\n`,
  ptr: "%r12",
  load: () => `    mov     (%r12), %r13\n    lea     buf(%rip), %rsi\n    mov     %r13, (%rsi)\n    mov     $1, %edi\n    mov     $8, %edx\n    mov     $${X86_SYS.write}, %eax\n    syscall\n`,
  store: () => `    movabs  $0x5a5a5a5a5a5a5a5a, %r13\n    mov     %r13, (%r12)\n`,
  quad: ".quad",
  assemble: (source, fileName) => assembleX86_64(source, { fileName }).elf,
};

export const SYSCALL_DIALECTS: Readonly<Record<FuzzArch, SyscallDialect>> = { riscv64: RISCV64, arm64: ARM64, x86_64: X86_64 };
