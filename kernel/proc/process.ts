/**
 * Processes and the run queue: creation from an ELF, fork, exit with full reclaim, wait, and
 * round-robin scheduling. A process's saved user registers live in RAM, in its kernel-stack frame.
 */
import { USER_FRAME_SIZE } from "../arch/arch.js";
import type { Kernel } from "../kernel.js";
import type { AsidContext } from "../mm/asid.js";
import { forkMemory } from "../mm/fork.js";
import type { ProcessMemory } from "../mm/process-memory.js";
import { AddressSpace } from "../mm/vm/address-space.js";
import { KernelPanic } from "../panic.js";
import { ElfError, parseElf } from "./elf.js";
import { buildImage, discardMemory, shareKernelHalf } from "./image.js";
import { checkExitLeaks } from "./leaks.js";
import { newProcessRecord, processName, releaseProcessRecord } from "./process-record.js";
import { copyToUser } from "./user-memory.js";

/** User stack: its top without ASLR, and how far it may grow down (a guard page lies below). */
export { STACK_MAX, STACK_TOP } from "./aslr.js";

/** A pending wait4: which child, and where to store the status. */
interface PendingWait {
  pid: number;
  statusPtr: bigint;
}

/** "waiting": in wait4; "sleeping": in nanosleep (kernel/proc/sleep.ts). */
export type ProcessState = "runnable" | "waiting" | "sleeping" | "zombie";

export class Process {
  state: ProcessState = "runnable";
  /** wait4 status word once a zombie: (code << 8) for exit, the signal number for a kill. */
  waitStatus = 0;
  wait: PendingWait | undefined;
  /** This address space's ASID and its generation (kernel/mm/asid.ts); assigned when it runs. */
  readonly asid: AsidContext = { asid: 0, generation: 0 };
  /** A child whose exit ended this process's wait4; reaped when this process runs next. */
  reapable: Process | undefined;
  /** Ended by another CPU while running here: how, to be carried out by this CPU (kernel/proc/cpus.ts). */
  pendingExit: { code?: number; signal?: number } | undefined;

  /**
   * `mm`: replaced by execve (kernel/proc/execve.ts). `record`: heap address of the process's
   * record (process-record.ts); 0 when the kernel has no heap.
   */
  constructor(readonly pid: number, public ppid: number, public mm: ProcessMemory, readonly frame: number, public record = 0) {}

  /**
   * Creates a process running `program` (an ELF image) with `argv` and `envp`. Throws ElfError for
   * an image it cannot run (bad format, a segment in kernel space, W+X) and KernelPanic when memory
   * runs out while building it.
   */
  static spawn(k: Kernel, program: Uint8Array, argv: string[], envp: string[]): Process {
    const image = parseElf(program, k.arch.elfMachine);
    const pid = k.procs.nextPid();
    const frame = k.memory!.frames.allocateFrame(`pid ${pid} kernel stack`);
    if (frame === undefined) throw new KernelPanic(`spawn: no memory for the kernel stack of pid ${pid}`);
    const built = buildImage(k, pid, image, { argv, envp });
    if (!built.ok) {
      k.memory!.frames.freeFrame(frame);
      if (built.error.kind === "OutOfMemory") throw new KernelPanic(`spawn: ${built.error.message}`);
      throw new ElfError(built.error.message);
    }
    const mm = built.mm;
    k.arch.initUserFrame(frame, built.entry, built.sp);
    const record = newProcessRecord(k, pid, 0, argv[0] ?? "");
    if (record === undefined) throw new KernelPanic(`spawn: no kernel heap for the record of pid ${pid}`);
    return new Process(pid, 0, mm, frame, record);
  }

  /** fork: a copy of `parent` whose memory is shared copy-on-write; returns undefined without memory. */
  static fork(k: Kernel, parent: Process): Process | undefined {
    const pid = k.procs.nextPid();
    const created = AddressSpace.create({ arch: k.arch.paging, mem: k.hal, frames: k.memory!.frames, asid: 0 });
    if (!created.ok) return undefined;
    const r = forkMemory(parent.mm, created.space, { owner: `pid ${pid}` });
    if (!r.ok) return undefined;
    const frame = k.memory!.frames.allocateFrame(`pid ${pid} kernel stack`);
    if (frame === undefined) {
      r.child.destroy();
      return undefined;
    }
    const record = newProcessRecord(k, pid, parent.pid, processName(k, parent.pid, parent.record));
    if (record === undefined) {
      r.child.destroy();
      k.memory!.frames.freeFrame(frame);
      return undefined;
    }
    shareKernelHalf(k, created.space);
    r.child.hardwareAccess = (va, access) => k.arch.userAccess(va, access);
    r.child.mmapCeiling = parent.mm.mmapCeiling;
    k.hal.copy(frame, parent.frame, USER_FRAME_SIZE);
    k.arch.setSyscallReturn(frame, 0n);
    return new Process(pid, parent.pid, r.child, frame, record);
  }
}

/** All processes, the run queue, and the one each CPU runs. */
export class ProcessTable {
  private readonly all = new Map<number, Process>();
  private queue: number[] = [];
  private lastPid = 0;
  /** The process each CPU runs (by CPU index), undefined when it idles. */
  private readonly running: (Process | undefined)[] = [undefined];
  /** Index of the CPU now in the kernel: `current` is its process. */
  cpu = 0;

  /** The process of the CPU now in the kernel. */
  get current(): Process | undefined {
    return this.running[this.cpu];
  }

  set current(p: Process | undefined) {
    this.running[this.cpu] = p;
  }

  /** The index of the CPU running `p`, or undefined. */
  cpuOf(p: Process): number | undefined {
    const i = this.running.indexOf(p);
    return i < 0 ? undefined : i;
  }

  /** The processes running on CPUs other than the current one, with their CPU index. */
  runningElsewhere(): [number, Process][] {
    const out: [number, Process][] = [];
    this.running.forEach((p, i) => {
      if (p !== undefined && i !== this.cpu) out.push([i, p]);
    });
    return out;
  }

  nextPid(): number {
    return ++this.lastPid;
  }

  get(pid: number): Process | undefined {
    return this.all.get(pid);
  }

  /** Every process in the table (zombies included), in creation order. */
  processes(): Process[] {
    return [...this.all.values()];
  }

  add(p: Process): void {
    this.all.set(p.pid, p);
    this.queue.push(p.pid);
  }

  childrenOf(p: Process): Process[] {
    return [...this.all.values()].filter((c) => c.ppid === p.pid);
  }

  runnableCount(): number {
    return this.queue.filter((pid) => this.all.get(pid)?.state === "runnable").length;
  }

  /** Runnable processes that no CPU runs: they wait for one. */
  queuedCount(): number {
    return this.queue.filter((pid) => {
      const p = this.all.get(pid);
      return p !== undefined && p.state === "runnable" && !this.running.includes(p);
    }).length;
  }

  /** `p` is runnable and no other CPU runs it. */
  private runnableHere(p: Process | undefined): boolean {
    if (p === undefined || p.state !== "runnable") return false;
    const on = this.running.indexOf(p);
    return on < 0 || on === this.cpu;
  }

  waitingCount(): number {
    return [...this.all.values()].filter((p) => p.state === "waiting").length;
  }

  /** Moves the current process to the back of the queue (time slice over, or sched_yield). */
  rotate(): void {
    const cur = this.current?.pid;
    if (cur === undefined) return;
    this.queue = [...this.queue.filter((pid) => pid !== cur), cur];
  }

  /** The first runnable process in queue order that no other CPU runs becomes current. */
  pickNext(): Process | undefined {
    const pid = this.queue.find((q) => this.runnableHere(this.all.get(q)));
    this.current = pid === undefined ? undefined : this.all.get(pid);
    return this.current;
  }

  /** Ends `p`: reclaims its memory, reparents its children to pid 1, wakes or notifies the parent. */
  exit(k: Kernel, p: Process, how: { code?: number; signal?: number }): void {
    p.state = "zombie";
    p.waitStatus = how.signal !== undefined ? how.signal & 0x7f : ((how.code ?? 0) & 0xff) << 8;
    this.queue = this.queue.filter((pid) => pid !== p.pid);
    discardMemory(k, p.mm);
    k.asids?.release(p.asid);
    k.memory!.frames.freeFrame(p.frame);
    releaseProcessRecord(k, p.record);
    // Frames whose release waits for other CPUs' TLB acknowledgements (x86_64 IPIs) are not leaks: check after.
    if (k.shootdown) k.shootdown.whenReleased(() => checkExitLeaks(k, p));
    else checkExitLeaks(k, p);
    for (const c of this.childrenOf(p)) {
      c.ppid = 1;
      if (c.state === "zombie") this.reapOrphan(c);
    }
    const parent = this.all.get(p.ppid);
    if (parent === undefined) {
      this.all.delete(p.pid);
      return;
    }
    if (parent.state === "waiting" && parent.wait && (parent.wait.pid === -1 || parent.wait.pid === p.pid)) {
      // The wait completes in the parent's own context (its address space current), see finishWait.
      parent.state = "runnable";
      parent.reapable = p;
    }
  }

  /**
   * Completes a wait4 that a child's exit ended, in the waiting process's context: reaps the child
   * and sets the system call's result. Call with `p`'s address space current.
   */
  finishWait(k: Kernel, p: Process): void {
    const child = p.reapable, wait = p.wait;
    if (child === undefined || wait === undefined) return;
    p.reapable = undefined;
    p.wait = undefined;
    k.arch.setSyscallReturn(p.frame, BigInt(this.reap(child, p, wait.statusPtr)));
  }

  /**
   * Removes a zombie child and stores its status at `statusPtr` in the parent (if non-zero).
   * Returns the child's pid, or -EFAULT if the status could not be written.
   */
  reap(child: Process, parent: Process, statusPtr: bigint): number {
    this.all.delete(child.pid);
    if (statusPtr !== 0n) {
      const word = new Uint8Array(4);
      new DataView(word.buffer).setInt32(0, child.waitStatus, true);
      if (!copyToUser(parent.mm, statusPtr, word)) return -14;
    }
    return child.pid;
  }

  private reapOrphan(c: Process): void {
    const init = this.all.get(1);
    if (init === undefined || init.state === "zombie") this.all.delete(c.pid);
  }
}
