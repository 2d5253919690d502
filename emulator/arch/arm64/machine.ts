/**
 * An AArch64 machine: 1 to 8 cores (PEs), a bus, and the clock that drives the generic timers. It
 * runs the cores until the guest finishes (PSCI SYSTEM_OFF), an instruction limit is reached, or
 * the guest waits for an interrupt that can never come or loops on exceptions.
 *
 * Time: the system counter advances by one tick per instruction of one PE (with several PEs, all
 * their instructions and idle turns divided by their number); WFI skips ahead to the next timer
 * event. So a run is a pure function of the image and the configuration.
 *
 * Several PEs run one at a time in slices (emulator/core/smp.ts, the same loop as riscv64's harts):
 * a PE that PSCI has powered off, or that waits in WFI with no interrupt pending, skips its turn.
 * Memory is shared and sequentially consistent; each PE has its own registers, TLB, generic timer
 * and exclusive monitor, and a store by another PE to the granule an LDXR marked clears the mark.
 */
import type { Bus } from "../../core/memory.js";
import { hex, type TraceSink } from "../../core/trace.js";
import type { RunOptions, RunResult as CoreRunResult } from "../../core/run.js";
import { Schedule, type ScheduleOptions } from "../../core/schedule.js";
import { runSlices, TRAP_LOOP_LIMIT, type SliceMachine } from "../../core/smp.js";
import { DeferredActions } from "../../core/deferred.js";
import { EXCLUSIVE_GRANULE, type Arm64Cpu } from "./cpu.js";
import { PSR } from "./defs.js";
import type { FillEvent } from "./mmu-types.js";

/** Why an arm64 run ended (emulator/core/run.ts): SYSTEM_OFF is "pass" with exit 0. */
export type StopReason = "pass" | "fail" | "reset" | "max-insns" | "wfi-hang" | "trap-loop";
/** The outcome of {@link Arm64Machine.run}. */
export type RunResult = CoreRunResult<StopReason>;
export type { RunOptions };

/** Options of a machine. */
export interface Arm64MachineOptions {
  /** How several PEs interleave (emulator/core/schedule.ts); ignored with one. */
  schedule?: ScheduleOptions;
}

const QUANTUM = 1 << 20;

export class Arm64Machine {
  readonly arch = "arm64";
  /** The PEs, by number (PE i has MPIDR_EL1.Aff0 = i). */
  readonly cpus: readonly Arm64Cpu[];
  /** Ticks skipped by WFI (counter = instructions + skipped). */
  skipped = 0;
  /** Instructions idle PEs were deemed to retire while waiting their turn (several PEs only). */
  idleRetired = 0;
  /**
   * A slice the instruction bound cut short (several PEs only): the next `run` finishes it before
   * the schedule picks again, so stopping and resuming a run changes nothing (record and replay
   * checkpoints, fault-injection instants).
   */
  unfinishedSlice: { core: number; end: number } | undefined;
  /** The interleaving of several PEs. */
  readonly schedule: Schedule;
  /** PEs that are powered off (PSCI: every PE but 0 until CPU_ON, and after CPU_OFF), by number. */
  readonly off: Uint8Array;
  /** Called on SYSTEM_RESET to reload the image; without it a reset ends the run. */
  onReset: (() => void) | undefined;
  /** Host actions due at a machine time (see {@link after}). */
  private readonly deferred = new DeferredActions(() => this.now());
  private finish: { kind: "pass" | "fail" | "reset"; code: number; message?: string } | undefined;
  /** The PE whose instructions are executing (stores and device accesses are its), or undefined. */
  private running: Arm64Cpu | undefined;

  constructor(readonly bus: Bus, cpus: Arm64Cpu | readonly Arm64Cpu[], opts: Arm64MachineOptions = {}) {
    this.cpus = Array.isArray(cpus) ? cpus : [cpus as Arm64Cpu];
    const all = this.cpus;
    this.schedule = new Schedule(all.length, opts.schedule);
    this.off = new Uint8Array(all.length);
    bus.onRamWrite = (ppn, pa, len) => {
      for (const c of all) {
        c.ramWritten(ppn);
        // Another PE's store into the marked granule clears the global monitor's mark.
        const g = c.exclusivePa - (c.exclusivePa % EXCLUSIVE_GRANULE);
        if (c.exclusivePa >= 0 && c !== this.running && pa < g + EXCLUSIVE_GRANULE && g < pa + len) c.exclusivePa = -1;
      }
    };
    for (const c of all) c.time = () => this.now();
  }

  /** PE 0 (the only one on a uniprocessor machine). */
  get cpu(): Arm64Cpu {
    return this.cpus[0]!;
  }

  /** The cores, for code written for several (riscv64's name). */
  get harts(): Arm64Cpu[] {
    return this.cpus as Arm64Cpu[];
  }

  /** The PE whose instructions are executing, or undefined between slices. */
  get current(): Arm64Cpu | undefined {
    return this.running;
  }

  /** The system counter: one tick per instruction of one PE. */
  now(): number {
    const cs = this.cpus;
    if (cs.length === 1) return cs[0]!.icount + this.skipped;
    return Math.floor(this.retired() / cs.length) + this.skipped;
  }

  /** Instructions retired by all PEs, plus the turns idle PEs waited. */
  retired(): number {
    let n = this.idleRetired;
    for (const c of this.cpus) n += c.icount;
    return n;
  }

  /**
   * Runs `fn` once the system counter ({@link now}) has advanced `ticks` (a delayed SGI, say). It
   * runs between slices, so at most one slice late; only a machine with several PEs runs them.
   */
  after(ticks: number, fn: () => void): void {
    this.deferred.after(ticks, fn);
  }

  /** Ends the run after the current instruction (PSCI SYSTEM_OFF, SYSTEM_RESET, the last CPU_OFF). */
  requestFinish(kind: "pass" | "fail" | "reset", code: number, message?: string): void {
    this.finish = { kind, code, message };
    for (const c of this.cpus) {
      c.stopAt = 0;
      c.halted = true;
    }
  }

  /** Sends exceptions, TLB fills (when the MMU reports them) and TLB invalidations of every PE to `sink`. */
  setTrace(sink: TraceSink | undefined): void {
    const arch = this.arch;
    for (const c of this.cpus) {
      const hart = c.index;
      c.onTrap = sink && ((e) => sink({
        type: "trap", arch, hart, icount: e.icount, cause: e.kind === 0 ? e.esr >>> 26 : -1, interrupt: e.kind !== 0,
        name: e.kind === 0 ? `EC 0x${(e.esr >>> 26).toString(16)}, ESR_EL1 0x${e.esr.toString(16)}` : "IRQ",
        tval: hex(e.far ?? 0n), epc: hex(e.elr), from: `EL${e.from}`, to: "EL1",
        ...(e.kind === 0 ? { syndrome: hex(e.esr >>> 0) } : {}),
      }));
      const mmu = c.mmu as { onFill?: ((e: FillEvent) => void) | undefined };
      if ("onFill" in mmu) {
        mmu.onFill = sink && ((e) => sink({
          type: "tlb-fill", arch, hart, icount: c.icount, va: hex(e.va), asid: e.asid, global: e.global,
          level: e.level, pageSize: 2 ** e.pageShift, pa: hex(e.pa), perm: `0x${e.perm.toString(16)}`,
          steps: e.steps.map((s) => ({ level: s.level, pteAddr: hex(s.descAddr), pte: hex(s.desc) })),
        }));
      }
      c.tlbs.onInvalidate = sink && ((scope, removed) => sink({
        type: "tlb-invalidate", arch, hart, icount: c.icount, kind: scope.kind,
        ...(scope.vpn !== undefined ? { va: hex(scope.vpn * 4096) } : {}),
        ...(scope.asid !== undefined ? { asid: scope.asid } : {}),
        removed,
      }));
    }
  }

  /** Runs `c` until its icount reaches `limit` (or it stops), with its stores and device accesses attributed to it. */
  runSlice(c: Arm64Cpu, limit: number): void {
    this.running = c;
    try {
      c.run(limit);
    } finally {
      this.running = undefined;
    }
  }

  /** Runs until the guest finishes, the limit is reached, or every core waits forever. */
  run(opts: RunOptions = {}): RunResult {
    const max = opts.maxInsns ?? Number.MAX_SAFE_INTEGER;
    for (const c of this.cpus) c.halted = false;
    this.finish = undefined;
    if (this.cpus.length > 1) return runSlices(this.sliceHost(), this.cpus, max) as RunResult;
    const c = this.cpu;
    let stuck = 0;
    for (;;) {
      const f = this.finishedRun(c.icount);
      if (f) return f;
      if (c.icount >= max) {
        return { reason: "max-insns", exitCode: 124, icount: c.icount, message: `stopped after ${c.icount} instructions (--max-insns); pc ${hex(c.pc)}` };
      }
      c.checkInterrupts();
      if (c.waiting) {
        c.waiting = false;
        if (!c.irqPending()) {
          const d = c.timer.deadline();
          // d === 0: the timer fired but its interrupt does not reach the core (masked at the GIC).
          if (d === Infinity || d === 0) {
            return { reason: "wfi-hang", exitCode: 125, icount: c.icount, message: `cpu 0 waits (wfi) at pc ${hex(c.pc)} for an interrupt that can never arrive` };
          }
          this.skipped += d;
          continue;
        }
      }
      let limit = Math.min(max, c.icount + QUANTUM);
      const d = this.ownDeadline(c);
      if (d > 0 && d !== Infinity) limit = Math.min(limit, c.icount + d);
      const retired = c.icount;
      const traps = c.traps;
      this.runSlice(c, limit);
      if (c.icount !== retired || c.traps === traps) {
        stuck = 0;
      } else if (++stuck >= TRAP_LOOP_LIMIT) {
        return this.trapLoop(c, c.icount);
      }
    }
  }

  /** The result once the guest has ended the run (SYSTEM_RESET with {@link onReset} restarts it instead). */
  private finishedRun(icount: number): RunResult | undefined {
    const f = this.finish;
    if (f === undefined) return undefined;
    if (f.kind === "reset" && this.onReset) {
      this.finish = undefined;
      for (const c of this.cpus) c.halted = false;
      this.onReset();
      return undefined;
    }
    const exitCode = f.kind === "fail" ? f.code : 0;
    const message = f.message ?? (f.kind === "pass" ? "guest finished: pass" : f.kind === "fail" ? `guest finished: fail, code ${f.code}` : "guest requested a reset");
    return { reason: f.kind, exitCode, icount, message };
  }

  /** Ticks until `c`'s timer interrupt can be taken: Infinity while PSTATE.I masks it. */
  private ownDeadline(c: Arm64Cpu): number {
    return (c.daif & PSR.I) === 0 ? c.timer.deadline() : Infinity;
  }

  private trapLoop(c: Arm64Cpu, icount: number): RunResult {
    return { reason: "trap-loop", exitCode: 125, icount, message: `cpu ${c.index} is in an exception loop: ${TRAP_LOOP_LIMIT} exceptions without retiring an instruction; pc ${hex(c.pc)}, last EC 0x${c.lastEc.toString(16)}` };
  }

  /** Can `c` run now? Takes a pending, unmasked IRQ first; a PE in WFI wakes on any pending one. */
  private ready(c: Arm64Cpu): boolean {
    if (this.off[c.index]) return false;
    c.checkInterrupts();
    if (!c.waiting) return true;
    if (!c.irqPending()) return false;
    c.waiting = false;
    return true;
  }

  /** The several-PE loop's view of this machine. */
  private sliceHost(): SliceMachine<Arm64Cpu> {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const m = this;
    return {
      schedule: m.schedule,
      get idleRetired() { return m.idleRetired; },
      set idleRetired(v: number) { m.idleRetired = v; },
      get skipped() { return m.skipped; },
      set skipped(v: number) { m.skipped = v; },
      retired: () => m.retired(),
      finishedRun: (total) => m.finishedRun(total),
      runDue: () => m.deferred.runDue(),
      ready: (c) => m.ready(c),
      ownDeadline: (c) => m.ownDeadline(c),
      // A deadline of 0 is a timer that fired without waking its PE (masked at the GIC): no wake-up.
      wakeDeadline: () => Math.min(...m.cpus.filter((c) => !m.off[c.index]).map((c) => c.timer.deadline() || Infinity)),
      runSlice: (c, limit) => m.runSlice(c, limit),
      where: (c) => `cpu ${c.index} pc ${hex(c.pc)}`,
      trapLoop: (c, icount) => m.trapLoop(c, icount),
      cutShort: (c, limit) => c.icount === limit && c.stopAt === limit && !c.waiting && !c.halted,
      get unfinishedSlice() { return m.unfinishedSlice; },
      set unfinishedSlice(v) { m.unfinishedSlice = v; },
      hang: (icount) => {
        const waiting = m.cpus.filter((c) => !m.off[c.index]).map((c) => `cpu ${c.index} at pc ${hex(c.pc)}`).join(", ");
        return { reason: "wfi-hang", exitCode: 125, icount, message: `every cpu waits (wfi) for an interrupt that can never arrive: ${waiting || "all cpus are off"}` };
      },
    };
  }
}
