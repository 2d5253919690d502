/**
 * System calls with Linux's numbers and semantics for the calls a static freestanding program
 * makes. Results are returned as the kernel's return value (a negative errno on failure);
 * `undefined` means "no return now" (the process exited or is blocked).
 * Numbers: Linux include/uapi/asm-generic/unistd.h (shared by riscv64 and arm64).
 */
import type { Kernel } from "../kernel.js";
import { MemoryFlags } from "../mm/flags.js";
import type { MemResult } from "../mm/process-memory.js";
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

function protFlags(prot: bigint): MemoryFlags {
  return (prot & PROT_READ ? MemoryFlags.READ : 0) | (prot & PROT_WRITE ? MemoryFlags.WRITE | MemoryFlags.READ : 0) | (prot & PROT_EXEC ? MemoryFlags.EXECUTE : 0);
}

function memResult<T>(r: MemResult<T>, ok: (v: T) => bigint): bigint {
  return r.ok ? ok(r.value) : err(E[r.error.errno]);
}

/** Dispatches system call `nr` for process `p`. */
export function syscall(k: Kernel, p: Process, nr: number, a: bigint[]): bigint | undefined {
  switch (nr) {
    case SYS.write: return write(k, p, a[0]!, a[1]!, a[2]!);
    case SYS.writev: {
      const fd = a[0]!, iov = a[1]!, cnt = Number(a[2]! & 0xffffn);
      if (cnt > 1024) return err(E.EINVAL);
      const vec = copyFromUser(p.mm, iov, cnt * 16);
      if (vec === undefined) return err(E.EFAULT);
      const dv = new DataView(vec.buffer, vec.byteOffset, vec.length);
      let total = 0n;
      for (let i = 0; i < cnt; i++) {
        const r = write(k, p, fd, dv.getBigUint64(i * 16, true), dv.getBigUint64(i * 16 + 8, true));
        if (r! < 0n) return total > 0n ? total : r;
        total += r!;
      }
      return total;
    }
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
      return memResult(p.mm.mapAnonymous(addr, len, protFlags(prot), { fixed: (flags & MAP_FIXED) !== 0n }), (v) => v);
    }
    case SYS.munmap: return memResult(p.mm.unmapRange(a[0]!, a[1]!), () => 0n);
    case SYS.mprotect: return memResult(p.mm.protectRange(a[0]!, a[1]!, protFlags(a[2]!)), () => 0n);
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

function write(k: Kernel, p: Process, fd: bigint, buf: bigint, count: bigint): bigint {
  if (fd !== 1n && fd !== 2n) return err(E.EBADF);
  const n = Number(count > BigInt(MAX_WRITE) ? BigInt(MAX_WRITE) : count);
  if (n === 0) return 0n;
  const bytes = copyFromUser(p.mm, buf, n);
  if (bytes === undefined) return err(E.EFAULT);
  k.arch.consoleWrite(bytes);
  return BigInt(n);
}
