/**
 * An x86_64 machine: CPUs (one, or several interleaved by smp.ts), a bus, the port bus, a local
 * APIC per CPU and the clock. It runs the CPUs until the guest finishes (through a device), an
 * instruction limit is reached, every CPU halts with nothing that could wake it, one shuts down
 * (triple fault), or one loops on faults.
 *
 * Time: the clock (TSC and APIC timers) advances one tick per retired instruction of one CPU; HLT
 * with interrupts enabled skips ahead to the next timer expiry. So a run is a pure function of the
 * image and the configuration (and the schedule, with several CPUs).
 */
import type { RunOptions, RunResult } from "../../core/run.js";
import type { Bus } from "../../core/memory.js";
import { hex, type TraceSink } from "../../core/trace.js";
import type { X86Cpu } from "./cpu.js";
import { RFLAGS, VECTOR_NAMES } from "./defs.js";
import type { LocalApic } from "../../devices/lapic.js";
import { LapicWindow } from "../../devices/apic-ipi.js";
import { Schedule, type ScheduleOptions } from "../../core/schedule.js";
import { TLB_PERM } from "./paging-defs.js";
import { X86StaleTlbDetector, x86StaleTlbTraceEvent, type StaleTlbReport } from "./tlb-stale.js";
import { runCpus } from "./smp.js";
import { DeferredActions } from "../../core/deferred.js";

/** Why an x86_64 run ended (emulator/core/run.ts). */
export type X86StopReason = "exit" | "max-insns" | "hlt-hang" | "triple-fault" | "trap-loop";
/** The outcome of {@link X86Machine.run}: the debug-exit status, 124 for the limit, 125 for a hang, shutdown or trap loop. */
export type X86RunResult = RunResult<X86StopReason>;
export type X86RunOptions = RunOptions;

/** Machine options. */
export interface X86MachineOptions {
  /**
   * Strict TLB mode: every TLB hit is compared with a fresh walk and stale entries are reported
   * (tlb-stale.ts). Costs speed (the host fast path goes off); changes nothing the guest sees.
   */
  strictTlb?: boolean;
  /** How several CPUs interleave (emulator/core/schedule.ts); ignored with one CPU. */
  schedule?: ScheduleOptions;
}

const QUANTUM = 1 << 20;
/** Consecutive deliveries without a retired instruction that count as a livelock. */
export const TRAP_LOOP_LIMIT = 10_000;

export class X86Machine {
  readonly arch = "x86_64";
  /** Ticks skipped by HLT (clock = instructions + skipped). */
  skipped = 0;
  /** Instructions that idle CPUs were deemed to retire while waiting their turn (several CPUs only). */
  idleRetired = 0;
  /** The CPUs, indexed by hartId; `cpu` is the first (the bootstrap processor). */
  readonly cpus: readonly X86Cpu[];
  readonly cpu: X86Cpu;
  /** Each CPU's local APIC (same index); `lapic` is the first. */
  readonly lapics: readonly LocalApic[];
  readonly lapic: LocalApic;
  /** The APIC page on the bus: each CPU sees its own APIC there. */
  readonly apicWindow: LapicWindow;
  /**
   * A slice the instruction bound cut short (several CPUs only): the next `run` finishes it before
   * the schedule picks again, so stopping and resuming a run changes nothing (record and replay
   * checkpoints, fault-injection instants).
   */
  unfinishedSlice: { core: number; end: number } | undefined;
  /** Host actions due at a machine time (see {@link after}); several CPUs only. */
  readonly deferred = new DeferredActions(() => this.now());
  /** The interleaving of several CPUs. */
  readonly schedule: Schedule;
  /** CPUs the firmware holds (application processors waiting for the wakeup mailbox): not run. */
  readonly parked: Uint8Array;
  /** The firmware's look at a parked CPU's mailbox when its turn comes: true if it released the CPU. */
  onParkedTurn: ((cpu: X86Cpu) => boolean) | undefined;
  private finishCode: number | undefined;
  private finishDevice = "isa-debug-exit";
  /** The CPU whose instructions are executing (stores are attributed to it), or undefined. */
  private running: X86Cpu | undefined;
  /** Strict TLB mode's detector, or undefined when the mode is off. */
  readonly staleTlb: X86StaleTlbDetector | undefined;
  /** Strict TLB mode: receives every use of a stale TLB entry. */
  onStaleTlb: ((r: StaleTlbReport) => void) | undefined;
  private staleTrace: ((r: StaleTlbReport) => void) | undefined;

  /**
   * `cpus` and `lapics` pair up by index (a single CPU and APIC may be passed as they are); the
   * caller puts {@link apicWindow} on the bus at the APIC's base.
   */
  constructor(readonly bus: Bus, cpus: X86Cpu | readonly X86Cpu[], lapics: LocalApic | readonly LocalApic[], opts: X86MachineOptions = {}) {
    const cs = Array.isArray(cpus) ? cpus : [cpus as X86Cpu];
    const as = Array.isArray(lapics) ? lapics : [lapics as LocalApic];
    if (cs.length !== as.length || cs.some((c, i) => c.hartId !== i)) throw new RangeError("X86Machine: one APIC per CPU, CPUs numbered 0..n-1");
    this.cpus = cs;
    this.cpu = cs[0]!;
    this.lapics = as;
    this.lapic = as[0]!;
    this.apicWindow = new LapicWindow(as);
    this.schedule = new Schedule(cs.length, opts.schedule);
    this.parked = new Uint8Array(cs.length);
    const detector = opts.strictTlb ? new X86StaleTlbDetector() : undefined;
    this.staleTlb = detector;
    const single = cs.length === 1 ? this.cpu : undefined;
    bus.onRamWrite = (ppn, pa, len) => {
      for (const c of cs) c.ramWritten(ppn);
      detector?.ramWritten(ppn, pa, len, single ?? this.running);
    };
    if (detector) {
      detector.onReport = (r) => {
        this.onStaleTlb?.(r);
        this.staleTrace?.(r);
      };
      for (const c of cs) c.checkTlbHits(detector);
    }
    cs.forEach((c, i) => {
      c.intr = as[i]!;
      c.time = () => this.now();
      as[i]!.onChange = () => c.interruptsChanged();
    });
  }

  /** Uses of stale TLB entries reported so far (0 when strict TLB mode is off). */
  get staleTlbReports(): number {
    return this.staleTlb?.count ?? 0;
  }

  /**
   * The clock: instructions retired plus ticks skipped while halted. With n CPUs, the instructions
   * of all of them (and the turns idle CPUs waited) divided by n: time runs at the speed of one CPU.
   */
  now(): number {
    const cs = this.cpus;
    if (cs.length === 1) return this.cpu.icount + this.skipped;
    return Math.floor(this.retired() / cs.length) + this.skipped;
  }

  /**
   * Runs `fn` once the clock ({@link now}) has advanced `ticks` (a delayed IPI, say). It runs
   * between slices, so at most one slice late; only a machine with several CPUs runs them.
   */
  after(ticks: number, fn: () => void): void {
    this.deferred.after(ticks, fn);
  }

  /** Instructions retired by all CPUs, plus the turns idle CPUs waited. */
  retired(): number {
    let n = this.idleRetired;
    for (const c of this.cpus) n += c.icount;
    return n;
  }

  /** The CPU whose instructions are executing, or undefined between slices. */
  get current(): X86Cpu | undefined {
    return this.running;
  }

  /** Runs `c` until its icount reaches `limit` (or it stops), seeing its own APIC, with stores attributed to it. */
  runSlice(c: X86Cpu, limit: number): void {
    this.running = c;
    this.apicWindow.current = c.hartId;
    try {
      c.run(limit);
    } finally {
      this.running = undefined;
      this.apicWindow.current = 0;
    }
  }

  /** Called by an exit device (isa-debug-exit, the kernel's exit port): ends the run after the current instruction with `status`. */
  requestExit(status: number, device = "isa-debug-exit"): void {
    this.finishCode = status;
    this.finishDevice = device;
    for (const c of this.cpus) {
      c.stopAt = 0;
      c.stopped = true;
    }
  }

  /** The result if the run is over (the guest exited, or a CPU shut down), else undefined. */
  finished(icount: number): X86RunResult | undefined {
    if (this.finishCode !== undefined) {
      return { reason: "exit", exitCode: this.finishCode, icount, message: `guest exited through ${this.finishDevice} with status ${this.finishCode}` };
    }
    const down = this.cpus.find((c) => c.shutdown);
    if (down) {
      const who = this.cpus.length > 1 ? ` of cpu ${down.hartId}` : "";
      return { reason: "triple-fault", exitCode: 125, icount, message: `triple fault (a fault while delivering #DF): shutdown${who} at rip ${hex(down.rip)}` };
    }
    return undefined;
  }

  /** Sends delivered events, TLB fills and invalidations (and stale-TLB reports) to `sink`. */
  setTrace(sink: TraceSink | undefined): void {
    this.staleTrace = sink && ((r) => sink(x86StaleTlbTraceEvent(r)));
    for (const c of this.cpus) this.traceCpu(c, sink);
  }

  private traceCpu(c: X86Cpu, sink: TraceSink | undefined): void {
    const arch = this.arch;
    const hart = c.hartId;
    c.mmu.onFill = sink && ((e) => sink({
      type: "tlb-fill", arch, hart, icount: c.icount, va: hex(e.va), asid: e.asid, global: e.global,
      level: e.level, pageSize: 2 ** (12 + 9 * e.level), pa: hex(e.pa), perm: permString(e.perm),
      steps: e.steps.map((s) => ({ level: s.level, pteAddr: hex(s.pteAddr), pte: hex(s.pte) })),
    }));
    c.onTrap = sink && ((e) => sink({
      type: "trap", arch, hart, icount: e.icount, cause: e.vector, interrupt: e.external,
      name: VECTOR_NAMES[e.vector] ?? `vector ${e.vector}`, tval: hex(e.vector === 14 ? e.cr2 : BigInt(e.errorCode ?? 0)),
      epc: hex(e.rip), from: `cpl${e.fromCpl}`, to: `cpl${e.toCpl}`,
      ...(e.errorCode !== undefined ? { syndrome: hex(BigInt(e.errorCode)) } : {}),
    }));
    c.tlbs.onInvalidate = sink && ((scope, removed) => sink({
      type: "tlb-invalidate", arch, hart, icount: c.icount, kind: scope.kind,
      ...(scope.vpn !== undefined ? { va: hex(scope.vpn * 4096) } : {}),
      ...(scope.asid !== undefined ? { asid: scope.asid } : {}),
      removed,
    }));
  }

  /** Runs until the guest exits, the limit is reached, or the CPU can make no progress. */
  run(opts: X86RunOptions = {}): X86RunResult {
    const max = opts.maxInsns ?? Number.MAX_SAFE_INTEGER;
    const c = this.cpu;
    this.finishCode = undefined;
    for (const x of this.cpus) x.stopped = false;
    if (this.cpus.length > 1) return runCpus(this, max);
    let stuck = 0;
    for (;;) {
      const done = this.finished(c.icount);
      if (done) return done;
      if (c.icount >= max) {
        return { reason: "max-insns", exitCode: 124, icount: c.icount, message: `stopped after ${c.icount} instructions (--max-insns); rip ${hex(c.rip)}` };
      }
      c.checkInterrupts();
      if (c.halted) {
        if ((c.rflags & RFLAGS.IF) === 0) {
          return { reason: "hlt-hang", exitCode: 125, icount: c.icount, message: `hlt with interrupts disabled at rip ${hex(c.rip)}: nothing can wake the CPU` };
        }
        const d = this.lapic.nextDeadline();
        if (d === Infinity || (d === 0 && this.lapic.pendingVector() < 0)) {
          return { reason: "hlt-hang", exitCode: 125, icount: c.icount, message: `hlt at rip ${hex(c.rip)} waits for an interrupt that can never arrive` };
        }
        this.skipped += d;
        continue;
      }
      if (c.shutdown) continue;
      let limit = Math.min(max, c.icount + QUANTUM);
      const d = this.lapic.nextDeadline();
      if (d !== Infinity) limit = Math.min(limit, c.icount + Math.max(1, d));
      if (c.icount < c.shadowUntil) limit = Math.min(limit, c.shadowUntil);
      const retired = c.icount;
      const traps = c.traps;
      c.run(limit);
      if (c.icount !== retired || c.traps === traps) {
        stuck = 0;
      } else if (++stuck >= TRAP_LOOP_LIMIT) {
        return { reason: "trap-loop", exitCode: 125, icount: c.icount, message: `the CPU is in a trap loop: ${TRAP_LOOP_LIMIT} deliveries without retiring an instruction; rip ${hex(c.rip)}, last vector ${c.lastVector}` };
      }
    }
  }
}

/** TLB rights as "XD D A US RW" letters with '-' for clear bits, e.g. "-DAUW". */
function permString(perm: number): string {
  return ((perm & TLB_PERM.XD) !== 0 ? "X" : "-") + ((perm & TLB_PERM.D) !== 0 ? "D" : "-") + ((perm & TLB_PERM.A) !== 0 ? "A" : "-") +
    ((perm & TLB_PERM.US) !== 0 ? "U" : "-") + ((perm & TLB_PERM.RW) !== 0 ? "W" : "-");
}
