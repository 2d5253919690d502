/**
 * The x86_64 Linux system-call numbers, translated to the generic numbers the kernel dispatches on
 * (kernel/proc/syscalls.ts SYS, the riscv64/arm64 table). A number missing here stays unknown
 * (-ENOSYS): it never aliases another call.
 *
 * fork (57) is clone (220) with its arguments fixed to (SIGCHLD, 0): the x86_64 layer supplies
 * them (kernel-arch.ts syscallArg), since fork takes none.
 * @spec Linux arch/x86/entry/syscalls/syscall_64.tbl; include/uapi/asm-generic/unistd.h
 */
import { SYS } from "../../proc/syscalls.js";

/** x86_64 numbers of the calls the kernel implements. */
export const X86_SYS = {
  write: 1, mmap: 9, mprotect: 10, munmap: 11, brk: 12, writev: 20, sched_yield: 24, nanosleep: 35, getpid: 39,
  clone: 56, fork: 57, execve: 59, exit: 60, wait4: 61, kill: 62, getppid: 110, exit_group: 231,
} as const;

/** x86_64 number -> generic number. */
export const X86_SYSCALL_TABLE: ReadonlyMap<number, number> = new Map<number, number>([
  [X86_SYS.write, SYS.write], [X86_SYS.mmap, SYS.mmap], [X86_SYS.mprotect, SYS.mprotect], [X86_SYS.munmap, SYS.munmap],
  [X86_SYS.brk, SYS.brk], [X86_SYS.writev, SYS.writev], [X86_SYS.sched_yield, SYS.sched_yield], [X86_SYS.nanosleep, SYS.nanosleep],
  [X86_SYS.getpid, SYS.getpid], [X86_SYS.clone, SYS.clone], [X86_SYS.fork, SYS.clone], [X86_SYS.execve, SYS.execve],
  [X86_SYS.exit, SYS.exit], [X86_SYS.wait4, SYS.wait4], [X86_SYS.kill, SYS.kill], [X86_SYS.getppid, SYS.getppid],
  [X86_SYS.exit_group, SYS.exit_group],
]);
