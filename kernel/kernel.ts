/**
 * The MultiOS kernel: entered only through native entries the hardware reaches (the boot entry the
 * firmware jumps to, and the trap vector), it initialises memory, runs user processes, and handles
 * their traps: system calls, page faults, timer interrupts and fatal exceptions.
 *
 * Architecture-neutral: everything architectural goes through {@link KernelArch}.
 */
import { SIGBUS, SIGILL, SIGSEGV } from "./proc/signals.js";
import { memoryFailure } from "./proc/memory-failure.js";
import type { KernelArch, KernelSmp, TrapInfo, UserPageFault } from "./arch/arch.js";
import { readBootInfo } from "./boot-info.js";
import { AsidAllocator } from "./mm/asid.js";
import type { Hal, TlbControl } from "./hal.js";
import type { Injector } from "./inject.js";
import { initMemory, type KernelImage, type KernelMemory } from "./init.js";
import { PageFaultError } from "./mm/fault-info.js";
import { DEMAND_ZERO_DECLINED, DEMAND_ZERO_NO_MEMORY, demandZeroOutOfMemory, handlePageFault, isResolved, tryDemandZero } from "./mm/fault.js";
import type { GlobalAllocator } from "./mm/heap/index.js";
import { createKernelHeap } from "./mm/kernel-heap.js";
import { kernelMemoryStats, type KernelMemoryStats } from "./mm/memory-stats.js";
import { Perf } from "./mm/perf.js";
import type { FrameAllocator } from "./mm/phys/allocator.js";
import { BootError } from "./mm/phys/regions.js";
import { invariantsHold } from "./paranoid.js";
import { ElfError } from "./proc/elf.js";
import { Cpus } from "./proc/cpus.js";
import type { Shootdown } from "./mm/shootdown.js";
import { asidRollover, asidWidth, secondaryEntry, setUpCpus, startSecondaries } from "./smp.js";
import { resume, timerTick } from "./sched.js";
import { leakReport } from "./proc/leaks.js";
import { Process, ProcessTable } from "./proc/process.js";
import { Ramdisk } from "./proc/ramdisk.js";
import { Sleepers } from "./proc/sleep.js";
import { syscall } from "./proc/syscalls.js";
import { SplitMix64 } from "./random.js";

/** Kernel options (command-line and test switches). */
export interface KernelOptions {
  /** Host-side kernel log (oops, kill reports, boot messages); default: discarded. */
  log?: (line: string) => void;
  /** Paranoid/debug mode: poisoning, invariant checks after operations. */
  debug?: boolean;
  /** Use at most this many ASID bits (default: all the hardware has), to exercise rollover. */
  asidBits?: number;
  /** Instructions per time slice when several processes are runnable. */
  timeslice?: number;
  /** Randomness for AT_RANDOM (a seeded source keeps runs reproducible); default: from `seed`. */
  random?: (bytes: Uint8Array) => void;
  /** Seed of the kernel's generator (kernel/random.ts): ASLR and AT_RANDOM. Unset: a fixed layout. */
  seed?: number;
  /** Randomise the user layout from `seed` (kernel/proc/aslr.ts); default true when a seed is given. */
  aslr?: boolean;
  /**
   * Fault injection (kernel/inject.ts): consulted by the frame allocator and the kernel heap from
   * the moment the heap exists (so the first process's creation can be failed too). Each injection
   * is logged as `inject: POINT call N (pid P, owner O)`.
   */
  injector?: Injector;
}

/** Where the kernel image is and where its trap vector sits in it. */
export interface KernelImageLayout extends KernelImage {
  trapVectorOffset: number;
  /** Offset of the idle loop in the text: `wfi; j .-4` (see {@link Kernel.resume}). */
  idleOffset: number;
  /** Offset of the secondary CPUs' entry in the text (a native entry, reached with translation off). */
  secondaryOffset?: number;
}

export { SIGBUS, SIGILL, SIGSEGV };

/** The idle loop's size, at most, on every architecture (`wfi; j .-4`, `wfi; b .-4`, `sti; hlt; jmp .-3`). */
const IDLE_LOOP_BYTES = 8n;

export class Kernel {
  memory: KernelMemory | undefined;
  /** The kernel heap (kernel/mm/kernel-heap.ts), made at boot right after memory. */
  heap: GlobalAllocator | undefined;
  /** This kernel's performance counters (kernel/mm/perf.ts). */
  readonly perf = new Perf();
  readonly procs = new ProcessTable();
  /** ASID allocator; undefined when the hardware has no ASIDs. */
  asids: AsidAllocator | undefined;
  /** Exit status of the first process, once it has exited (what `multios run` returns). */
  initExit: number | undefined;
  /** The initial ramdisk's files, the first program among them (kernel/proc/ramdisk.ts). */
  files: Ramdisk;
  /** The seeded generator; undefined without KernelOptions.seed. */
  readonly random: SplitMix64 | undefined;
  /** The generator when the user layout is randomised (ASLR on), else undefined. */
  readonly layoutRandom: SplitMix64 | undefined;
  readonly sleepers = new Sleepers();
  /** The CPUs (kernel/proc/cpus.ts); one until boot reads the boot-info record. */
  cpus: Cpus;
  /**
   * The TLB maintenance process memory and the kernel heap use: the HAL's local one on one CPU, a
   * {@link Shootdown} reaching every CPU that may cache the address space on several.
   */
  tlb: TlbControl;
  /** The shootdown, when several CPUs are online. */
  shootdown: Shootdown | undefined;
  /** The architecture's multi-processor operations, when the kernel runs on more than one CPU. */
  smp: KernelSmp | undefined;
  private readonly log: (line: string) => void;

  /** Throws RangeError for a seed that is not a non-negative safe integer. */
  constructor(readonly hal: Hal, readonly arch: KernelArch, readonly image: KernelImageLayout, readonly opts: KernelOptions = {}) {
    this.log = opts.log ?? (() => {});
    this.files = new Ramdisk(hal);
    this.random = opts.seed === undefined ? undefined : new SplitMix64(opts.seed);
    this.layoutRandom = opts.aslr === false ? undefined : this.random;
    this.cpus = new Cpus([0], arch, this.timeslice);
    this.tlb = hal.tlb;
  }

  /** Instructions (timer ticks) per time slice. */
  get timeslice(): number {
    return this.opts.timeslice ?? 20_000;
  }

  /** A line for the host-side kernel log. */
  report(line: string): void {
    this.log(line);
  }

  /** The boot entry: the firmware's `mret` lands here in S-mode with a1 = the boot-info record. */
  entry(bootInfoPa: number): void {
    try {
      const info = readBootInfo(this.hal, bootInfoPa);
      setUpCpus(this, info.hartId, info.cpus ?? [info.hartId]);
      this.memory = initMemory({
        memoryMap: info.memoryMap, kernelStart: info.kernelStart, kernelEnd: info.kernelEnd,
        physicalOffset: this.arch.physicalOffset, targetArch: this.arch.name,
      }, this.hal, this.arch, this.image, { debug: this.opts.debug });
      const { frames, space, map } = this.memory;
      const heap = createKernelHeap({ mem: this.hal, tlb: this.tlb, space, frames }, this.arch.physicalOffset, map, { debug: this.opts.debug });
      this.heap = heap;
      if (this.opts.injector) this.attachInjector(this.opts.injector, frames, heap);
      this.perf.observeAllocations("frames", () => frames.getMemoryStats().allocations);
      this.perf.observeAllocations("heap", () => heap.stats().allocations);
      this.arch.installTrapVector(this.image.va + BigInt(this.image.trapVectorOffset));
      this.arch.allowUserTimeRead();
      const bits = asidWidth(this);
      this.asids = bits > 0 ? new AsidAllocator(bits, () => asidRollover(this)) : undefined;
      const program = this.hal.readBytes(info.module.base, info.module.size);
      const args = new TextDecoder().decode(this.hal.readBytes(info.args.base, info.args.size)).split("\0").slice(0, -1);
      this.files = Ramdisk.parse(this.hal, info.ramdisk.base, info.ramdisk.size);
      this.files.add(args[0] ?? "", info.module.base, info.module.size);
      const init = Process.spawn(this, program, args, ["PATH=/", "HOME=/"]);
      this.procs.add(init);
      startSecondaries(this, info.kernelStart);
      this.resume();
    } catch (e) {
      if (e instanceof BootError) {
        this.log(`kernel: boot failed: ${e.message}`);
        this.arch.powerOff(1);
        return;
      }
      if (e instanceof ElfError) {
        this.log(`kernel: cannot run the program: ${e.message}`);
        this.arch.powerOff(2);
        return;
      }
      this.oops(e);
    }
  }

  /**
   * The trap vector. A user page fault is first offered to the number-based demand-zero path
   * ({@link fastFault}); everything else, and every fault that path declines, is decoded in full.
   */
  trap(): void {
    let t: TrapInfo | undefined;
    try {
      if (this.smp !== undefined) {
        this.enterCpu(this.smp.cpuIndex());
        // Invalidations other CPUs queued for this one (x86_64 IPIs), before anything uses the TLB.
        this.shootdown!.processQueue(this.cpus.self);
      }
      const cpu = this.cpus.current;
      // The process this trap came from ended while the trap waited at its handler's entry (x86_64:
      // a machine check taken there killed it, and memoryErrors returned here): the trap is dropped.
      const ended = this.procs.current?.state === "zombie";
      const fault = cpu.idling || this.opts.debug || ended ? undefined : this.arch.userPageFault?.();
      if (fault !== undefined && this.fastFault(fault)) return;
      t = this.arch.trapInfo();
      if (t.kind === "memory-error") {
        this.memoryErrors(t);
        return;
      }
      if (t.kind === "ipi") {
        this.smp?.ackIpi();
        cpu.kicked = false;
        cpu.stats.ipis++;
      }
      if (ended && t.fromUser) {
        if (t.kind === "timer") this.timerTick();
        if (this.opts.debug && !invariantsHold(this, t)) return;
        this.resume();
        return;
      }
      if (cpu.idling && !t.fromUser && (t.kind === "timer" || t.kind === "ipi")) {
        cpu.idling = false;
        if (t.kind === "timer") this.timerTick();
        if (this.opts.debug && !invariantsHold(this, t)) return;
        this.resume();
        return;
      }
      if (!t.fromUser) {
        this.oops(new Error(`unexpected ${t.name} in the kernel at pc 0x${t.pc.toString(16)}, address 0x${t.faultAddr.toString(16)}`), t);
        return;
      }
      const p = this.procs.current!;
      this.arch.saveUserContext(p.frame);
      // Ended by another CPU: the exit happens at this CPU's first entry from the process, the
      // IPI's or any other (the IPI may be late, or lost to a fault), as Linux acts on a pending
      // SIGKILL on any return to user. The trap itself is dropped, as the process is.
      if (p.pendingExit !== undefined) {
        if (t.kind === "timer") this.timerTick();
        this.exit(p, p.pendingExit);
      } else switch (t.kind) {
        case "syscall": {
          this.arch.advancePastSyscall(p.frame);
          const raw = this.arch.syscallNumber(p.frame);
          const table = this.arch.syscallTable;
          const nr = table === undefined ? raw : table.get(raw) ?? -1;
          const args = [0, 1, 2, 3, 4, 5].map((i) => this.arch.syscallArg(p.frame, i));
          const r = syscall(this, p, nr, args);
          if (r !== undefined) this.arch.setSyscallReturn(p.frame, r);
          break;
        }
        case "page-fault": {
          const error = new PageFaultError({ access: t.access, user: true });
          const outcome = handlePageFault(p.mm, { faultAddr: t.faultAddr, instructionPtr: t.pc, error });
          this.perf.recordFault(outcome.kind);
          if (!isResolved(outcome)) this.kill(p, SIGSEGV, (outcome as { report: string }).report);
          break;
        }
        case "timer":
          this.timerTick();
          break;
        case "ipi":
          // Another CPU has work for this one (see kickIdleCpus): resume decides.
          break;
        default:
          this.kill(p, t.illegal ? SIGILL : SIGBUS, `${t.name} at pc 0x${t.pc.toString(16)}${t.faultAddr ? `, address 0x${t.faultAddr.toString(16)}` : ""}`);
      }
      if (this.opts.debug && !invariantsHold(this, t)) return;
      this.resume();
    } catch (e) {
      this.oops(e, t);
    }
  }

  /** The entry of a secondary CPU (kernel/smp.ts), started with translation off and its CPU index as argument. */
  secondaryEntry(index: number): void {
    secondaryEntry(this, index);
  }

  /** The CPU with kernel index `index` is now in the kernel. */
  enterCpu(index: number): void {
    this.cpus.self = index;
    this.procs.cpu = index;
  }

  /**
   * The platform reported memory errors (from user mode or the idle loop): each is handled by
   * memoryFailure (retire the frame; move or kill its users), then the next runnable process runs,
   * which is the interrupted one unless it was killed. A report that interrupted other kernel code
   * (x86_64's #MC, which nothing masks: between SYSCALL and its entry, or at the entry of a trap the
   * processor delivered and whose handler has not run) returns there, so that the system call or
   * trap is handled as it would have been; {@link trap} drops it if its process was killed.
   */
  private memoryErrors(t: TrapInfo): void {
    const p = t.fromUser ? this.procs.current : undefined;
    if (p !== undefined) this.arch.saveUserContext(p.frame);
    const inKernel = !t.fromUser && !this.inIdleLoop(t.pc);
    for (const e of this.hal.takeMemoryErrors?.() ?? []) memoryFailure(this, e);
    if (inKernel && this.arch.returnToInterrupted) {
      this.arch.returnToInterrupted();
      return;
    }
    this.cpus.current.idling = false;
    if (this.opts.debug && !invariantsHold(this, t)) return;
    this.resume();
  }

  /** Is `pc` in the idle loop (at most {@link IDLE_LOOP_BYTES} bytes at the image's idle offset)? */
  private inIdleLoop(pc: bigint): boolean {
    const idle = this.image.va + BigInt(this.image.idleOffset);
    return pc >= idle && pc < idle + IDLE_LOOP_BYTES;
  }

  /**
   * The demand-zero fast path of a user page fault (outside paranoid mode): saves the user context
   * as every trap does, lets {@link tryDemandZero} handle the common case, counts it, and returns to
   * the faulting process. False when the fault is not that case (nothing was changed).
   *
   * A resolved demand-zero fault changes nothing {@link resume} decides from: no process became
   * runnable or blocked, no timer deadline moved, no ASID or wait changed (each of those happens
   * only in a trap that takes the full path). So `resume` would pick the same process with the same
   * address space and timer, and the fault returns straight to it, as Linux returns from an
   * exception to the interrupted task unless a reschedule is pending.
   */
  private fastFault(f: UserPageFault): boolean {
    const p = this.procs.current;
    if (p === undefined) return false;
    // A declined fault takes the full path, which saves the context itself.
    const resumeAfterFault = this.arch.resumeAfterFault;
    if (resumeAfterFault === undefined) this.arch.saveUserContext(p.frame);
    const frame = tryDemandZero(p.mm, f.va, f.access);
    if (frame === DEMAND_ZERO_DECLINED) return false;
    if (frame === DEMAND_ZERO_NO_MEMORY) {
      if (resumeAfterFault !== undefined) this.arch.saveUserContext(p.frame);
      const t = this.arch.trapInfo();
      const outcome = demandZeroOutOfMemory(p.mm, { faultAddr: t.faultAddr, instructionPtr: t.pc, error: new PageFaultError({ access: t.access, user: true }) });
      this.perf.recordFault(outcome.kind);
      this.kill(p, SIGSEGV, (outcome as { report: string }).report);
      this.resume();
      return true;
    }
    this.perf.recordFault("demand-zero");
    if (resumeAfterFault !== undefined) this.arch.resumeAfterFault!();
    else this.arch.returnToUser(p.frame);
    return true;
  }

  /** Frames, heap and fault statistics (kernel/mm/memory-stats.ts). Throws Error before boot has initialised memory. */
  getMemoryStats(): KernelMemoryStats {
    if (this.memory === undefined) throw new Error("kernel: getMemoryStats before memory is initialised");
    return kernelMemoryStats(this.memory.frames, this.heap, this.perf, this.procs.processes().filter((p) => p.state !== "zombie").map((p) => p.mm.stats));
  }

  /** Memory in use per owner and every leak of an exited process, logged and returned (kernel/proc/leaks.ts). */
  leakReport(): string[] {
    return leakReport(this);
  }

  /** Ends `p` as if by a fatal signal, with a one-line report in the kernel log. */
  kill(p: Process, signal: number, why: string): void {
    this.log(`[pid ${p.pid}] killed by signal ${signal}: ${why}`);
    this.exit(p, { signal });
  }

  /**
   * Ends a process: frees its memory, wakes a waiting parent, records init's status. A process
   * running on another CPU is ended there: that CPU is interrupted and exits it in its IPI handler
   * (its address space is in use there until then).
   */
  exit(p: Process, how: { code?: number; signal?: number }): void {
    const on = this.smp === undefined ? undefined : this.procs.cpuOf(p);
    if (on !== undefined && on !== this.cpus.self) {
      p.pendingExit ??= how;
      this.cpus.current.stats.remoteExits++;
      this.smp!.sendIpi([this.cpus.list[on]!.hwId]);
      return;
    }
    const status = how.signal !== undefined ? 128 + how.signal : (how.code ?? 0) & 0xff;
    if (p.pid === 1) this.initExit = status;
    this.procs.exit(this, p, how);
  }

  /** Hands `inj`'s hook to the frame allocator and the heap, and logs its injections (after calling any `onInject` already set). */
  private attachInjector(inj: Injector, frames: FrameAllocator, heap: GlobalAllocator): void {
    const previous = inj.onInject;
    inj.onInject = (i) => {
      previous?.(i);
      this.log(`inject: ${i.point} call ${i.call} (pid ${i.pid ?? "-"}, owner ${i.owner ?? "-"})`);
    };
    const hook = inj.hook(() => this.procs.current?.pid);
    frames.inject = hook;
    heap.inject = hook;
  }

  /** A timer interrupt: wakes the sleepers that are due and ends the running slice if it is over (kernel/sched.ts). */
  private timerTick(): void {
    timerTick(this);
  }

  /** Returns to the next runnable process, or idles, or powers off (kernel/sched.ts). */
  resume(): void {
    resume(this);
  }

  /**
   * An unexpected kernel fault or a broken invariant: report registers, the fault and the walk,
   * then stop the machine with a non-zero status. Never a host stack trace.
   */
  oops(e: unknown, t?: TrapInfo): void {
    const message = e instanceof Error ? e.message : String(e);
    this.log(`kernel oops: ${message}`);
    try {
      if (t) this.log(`  trap: ${t.name} (cause ${t.cause}) pc 0x${t.pc.toString(16)} address 0x${t.faultAddr.toString(16)} from ${t.fromUser ? "user" : "kernel"}`);
      const regs = this.arch.registers().map(([n, v]) => `${n}=0x${v.toString(16)}`);
      for (let i = 0; i < regs.length; i += 6) this.log("  " + regs.slice(i, i + 6).join(" "));
      const space = this.procs.current?.mm.space ?? this.memory?.space;
      if (t && space && t.faultAddr) {
        for (const s of space.walkPageTable(t.faultAddr)) this.log(`  walk: level ${s.level} pte@0x${s.pteAddr.toString(16)} = 0x${s.pte.toString(16)}`);
      }
    } catch {
      this.log("  (could not collect registers)");
    }
    this.arch.powerOff(134);
  }
}
