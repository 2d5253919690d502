/**
 * System calls with Linux's numbers and semantics for the calls a static freestanding program
 * makes. Results are returned as the kernel's return value (a negative errno on failure);
 * `undefined` means "no return now" (the process exited or is blocked).
 * Numbers: Linux include/uapi/asm-generic/unistd.h (shared by riscv64 and arm64).
 */
import type { Kernel } from "../kernel.js";
import { MemoryFlags } from "../mm/flags.js";
import type { MemResult } from "../mm/process-memory.js";
import { userFlags } from "./exec.js";
import { execve } from "./execve.js";
import { Process } from "./process.js";
import { kill } from "./signals.js";
import { nanosleep } from "./sleep.js";
import { copyFromUser } from "./user-memory.js";

export const SYS = {
  write: 64, writev: 66, exit: 93, exit_group: 94, nanosleep: 101, sched_yield: 124, kill: 129, getpid: 172, getppid: 173,
  brk: 214, munmap: 215, clone: 220, execve: 221, mmap: 222, mprotect: 226, wait4: 260,
} as const;

/** errno values (asm-generic/errno-base.h, errno.h). */
export const E = { EBADF: 9, ECHILD: 10, ENOMEM: 12, EFAULT: 14, EINVAL: 22, ENOSYS: 38 } as const;

const PROT_READ = 1n, PROT_WRITE = 2n, PROT_EXEC = 4n;
const MAP_SHARED = 0x01n, MAP_PRIVATE = 0x02n, MAP_FIXED = 0x10n, MAP_ANONYMOUS = 0x20n;
const SIGCHLD = 17n;
const WNOHANG = 1n;
/** The most one write may move (larger counts write a prefix, as Linux does for huge counts). */
const MAX_WRITE = 1 << 20;

const err = (e: number): bigint => BigInt(-e);
const s64 = (v: bigint): bigint => BigInt.asIntN(64, v);

/** MemoryFlags for mmap/mprotect's `prot` in `p`'s address space (WRITE implies READ; userFlags for EXEC). */
function protFlags(p: Process, prot: bigint): MemoryFlags {
  return userFlags(p.mm.space.arch, (prot & PROT_READ ? MemoryFlags.READ : 0) | (prot & PROT_WRITE ? MemoryFlags.WRITE | MemoryFlags.READ : 0) | (prot & PROT_EXEC ? MemoryFlags.EXECUTE : 0));
}

function memResult<T>(r: MemResult<T>, ok: (v: T) => bigint): bigint {
  return r.ok ? ok(r.value) : err(E[r.error.errno]);
}

/** Dispatches system call `nr` for process `p`. */
export function syscall(k: Kernel, p: Process, nr: number, a: bigint[]): bigint | undefined {
  switch (nr) {
    case SYS.write: return write(k, p, a[0]!, a[1]!, a[2]!);
    case SYS.writev: return writev(k, p, a[0]!, a[1]!, a[2]!);
    case SYS.exit:
    case SYS.exit_group:
      k.exit(p, { code: Number(a[0]! & 0xffn) });
      return undefined;
    case SYS.nanosleep: return nanosleep(k, p, a[0]!, a[1]!);
    case SYS.kill: return kill(k, p, a[0]!, a[1]!);
    case SYS.execve: return execve(k, p, a[0]!, a[1]!, a[2]!);
    case SYS.sched_yield:
      k.procs.rotate();
      return 0n;
    case SYS.getpid: return BigInt(p.pid);
    case SYS.getppid: return BigInt(p.ppid);
    case SYS.brk: return p.mm.setBrk(a[0]!);
    case SYS.mmap: {
      const [addr, len, prot, flags, fd, off] = a as [bigint, bigint, bigint, bigint, bigint, bigint];
      if ((flags & MAP_ANONYMOUS) === 0n) return err(E.ENOSYS); // no files yet
      if ((flags & (MAP_SHARED | MAP_PRIVATE)) !== MAP_PRIVATE) return err(E.EINVAL);
      if (s64(fd) !== -1n && fd !== 0n) return err(E.EINVAL);
      if (off !== 0n || len === 0n) return err(E.EINVAL);
      return memResult(p.mm.mapAnonymous(addr, len, protFlags(p, prot), { fixed: (flags & MAP_FIXED) !== 0n }), (v) => v);
    }
    case SYS.munmap: return memResult(p.mm.unmapRange(a[0]!, a[1]!), () => 0n);
    case SYS.mprotect: return memResult(p.mm.protectRange(a[0]!, a[1]!, protFlags(p, a[2]!)), () => 0n);
    case SYS.clone: {
      // fork semantics only: flags = SIGCHLD and no new stack.
      if (a[0] !== SIGCHLD || a[1] !== 0n) return err(E.EINVAL);
      const child = Process.fork(k, p);
      if (child === undefined) return err(E.ENOMEM);
      k.procs.add(child);
      return BigInt(child.pid);
    }
    case SYS.wait4: {
      const pid = Number(s64(a[0]!)), statusPtr = a[1]!, options = a[2]!;
      if (pid < -1 || pid === 0) return err(E.EINVAL); // process groups are not modelled
      const children = k.procs.childrenOf(p).filter((c) => pid === -1 || c.pid === pid);
      if (children.length === 0) return err(E.ECHILD);
      const zombie = children.find((c) => c.state === "zombie");
      if (zombie) return BigInt(k.procs.reap(zombie, p, statusPtr));
      if (options & WNOHANG) return 0n;
      p.state = "waiting";
      p.wait = { pid, statusPtr };
      return undefined;
    }
    default:
      return err(E.ENOSYS);
  }
}

/**
 * Linux access_ok: [va, va + len) lies inside user space (include/asm-generic/access_ok.h:
 * `size <= TASK_SIZE_MAX && addr <= TASK_SIZE_MAX - size`). Checked before any byte moves, so a
 * buffer that reaches into the kernel fails with -EFAULT however long it is, and nothing is written.
 */
function accessOk(p: Process, va: bigint, len: bigint): boolean {
  const end = p.mm.userEnd;
  return len <= end && va <= end - len;
}

/**
 * write(fd, buf, count) as Linux fs/read_write.c vfs_write: -EBADF for a descriptor other than 1
 * and 2, -EFAULT when [buf, buf + count) is not inside user space (access_ok) or not readable;
 * counts above {@link MAX_WRITE} write that prefix.
 */
function write(k: Kernel, p: Process, fd: bigint, buf: bigint, count: bigint): bigint {
  if (fd !== 1n && fd !== 2n) return err(E.EBADF);
  if (count === 0n) return 0n;
  if (!accessOk(p, buf, count)) return err(E.EFAULT);
  const n = Number(count > BigInt(MAX_WRITE) ? BigInt(MAX_WRITE) : count);
  const bytes = copyFromUser(p.mm, buf, n);
  if (bytes === undefined) return err(E.EFAULT);
  k.arch.consoleWrite(bytes);
  return BigInt(n);
}

/** The most iovecs one writev takes (include/uapi/linux/uio.h UIO_MAXIOV). */
const UIO_MAXIOV = 1024;

/**
 * writev(fd, iov, iovcnt) as Linux does it (fs/read_write.c do_writev; lib/iov_iter.c
 * __import_iovec): -EBADF for a bad descriptor; -EINVAL for more than {@link UIO_MAXIOV} vectors
 * (iovcnt is taken as a 32-bit unsigned count); -EFAULT when the iovec array is unreadable or any
 * vector reaches outside user space — checked for every vector before anything is written. Then
 * the vectors are written in order, {@link MAX_WRITE} bytes in all at most; a vector that cannot be
 * read (unmapped user memory) ends the call with the bytes written so far, or -EFAULT if none.
 */
function writev(k: Kernel, p: Process, fd: bigint, iov: bigint, iovcnt: bigint): bigint {
  if (fd !== 1n && fd !== 2n) return err(E.EBADF);
  const cnt = Number(BigInt.asUintN(32, iovcnt));
  if (cnt > UIO_MAXIOV) return err(E.EINVAL);
  if (cnt === 0) return 0n;
  const vec = copyFromUser(p.mm, iov, cnt * 16);
  if (vec === undefined) return err(E.EFAULT);
  const dv = new DataView(vec.buffer, vec.byteOffset, vec.length);
  const segments: { base: bigint; len: number }[] = [];
  let room = BigInt(MAX_WRITE);
  for (let i = 0; i < cnt; i++) {
    const base = dv.getBigUint64(i * 16, true), len = dv.getBigUint64(i * 16 + 8, true);
    if (!accessOk(p, base, len)) return err(E.EFAULT);
    const take = len < room ? len : room;
    room -= take;
    segments.push({ base, len: Number(take) });
  }
  let total = 0;
  for (const { base, len } of segments) {
    if (len === 0) continue;
    const bytes = copyFromUser(p.mm, base, len);
    if (bytes === undefined) return total > 0 ? BigInt(total) : err(E.EFAULT);
    k.arch.consoleWrite(bytes);
    total += len;
  }
  return BigInt(total);
}
