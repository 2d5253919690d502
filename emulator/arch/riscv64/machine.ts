/**
 * A RISC-V machine: harts, a bus, and the clock that drives the CLINT. It runs harts until the
 * guest finishes (through a device), an instruction limit is reached, or the guest waits for an
 * interrupt that can never come.
 *
 * Time: mtime advances by one tick per instruction retired; WFI skips ahead to the next timer
 * event. So a run is a pure function of the image and the configuration.
 */
import type { Bus } from "../../core/memory.js";
import type { RunOptions, RunResult as CoreRunResult } from "../../core/run.js";
import { hex, type TraceSink } from "../../core/trace.js";
import type { Hart } from "./hart.js";
import { IRQ, PRV_NAME } from "./defs.js";
import { causeName } from "./causes.js";
import { StaleTlbDetector, staleTlbTraceEvent, type StaleTlbReport } from "./stale-tlb.js";
import { Schedule, type ScheduleOptions } from "../../core/schedule.js";
import { DeferredActions } from "../../core/deferred.js";
import { runHarts } from "./smp.js";

/** The timer device as the machine sees it. */
export interface TimerSource {
  timerPending(hart: number): boolean;
  softwarePending(hart: number): boolean;
  /** Ticks until the hart's timer fires: 0 if pending, Infinity if never. */
  nextTimerDeadline(hart: number): number;
}

/** Why a riscv64 run ended (emulator/core/run.ts). */
export type StopReason = "pass" | "fail" | "reset" | "max-insns" | "wfi-hang" | "trap-loop";
/** The outcome of {@link RiscvMachine.run}: the finisher's code, 124 for the limit, 125 for a hang or a trap loop. */
export type RunResult = CoreRunResult<StopReason>;
export type { RunOptions };

/** Machine options. */
export interface MachineOptions {
  /**
   * Strict TLB mode: every TLB hit is compared with a fresh walk and stale entries are reported
   * (stale-tlb.ts). Costs speed (the host fast path goes off); changes nothing the guest sees.
   */
  strictTlb?: boolean;
  /** How several harts interleave (emulator/core/schedule.ts); ignored with one hart. */
  schedule?: ScheduleOptions;
}

/** Slice length with one hart: long, since nothing else needs the host. */
const QUANTUM = 1 << 20;
/** Consecutive traps without a retired instruction that count as a livelock (e.g. a faulting vector). */
export const TRAP_LOOP_LIMIT = 10_000;

export class RiscvMachine {
  readonly arch = "riscv64";
  /** Ticks skipped by WFI (mtime = instructions + skipped). */
  skipped = 0;
  /** Instructions that idle harts were deemed to retire while waiting their turn (several harts only). */
  idleRetired = 0;
  /**
   * A slice the instruction bound cut short (several harts only): the next `run` finishes it before
   * the schedule picks again, so stopping and resuming a run changes nothing (record and replay
   * checkpoints, fault-injection instants).
   */
  unfinishedSlice: { core: number; end: number } | undefined;
  /** The interleaving of several harts. */
  readonly schedule: Schedule;
  /** Harts the firmware keeps stopped (SBI HSM), indexed by hart id: the machine does not run them. */
  readonly stopped: Uint8Array;
  /** Strict TLB mode's detector, or undefined when the mode is off. */
  readonly staleTlb: StaleTlbDetector | undefined;
  /** Strict TLB mode: receives every use of a stale TLB entry. */
  onStaleTlb: ((r: StaleTlbReport) => void) | undefined;
  private finish: { kind: "pass" | "fail" | "reset"; code: number } | undefined;
  /** Host actions due at a machine time (see {@link after}), earliest first. */
  private readonly deferred = new DeferredActions(() => this.now());
  /** The hart whose instructions are executing (stores are attributed to it), or undefined. */
  private running: Hart | undefined;
  private staleTrace: ((r: StaleTlbReport) => void) | undefined;

  constructor(readonly bus: Bus, readonly harts: Hart[], readonly timer: TimerSource, opts: MachineOptions = {}) {
    const detector = opts.strictTlb ? new StaleTlbDetector() : undefined;
    this.staleTlb = detector;
    this.schedule = new Schedule(harts.length, opts.schedule);
    this.stopped = new Uint8Array(Math.max(...harts.map((h) => h.hartId)) + 1);
    const code = harts.every((h) => h.code === harts[0]!.code) ? harts[0]!.code : undefined;
    bus.onRamWrite = (ppn, pa, len) => {
      // A page with no decoded instructions is in no hart's decode cache or fetch entries: only a
      // hart whose MMU tracks PTE pages (flushOnPteWrite) must hear of it. Asked before any hart
      // drops the page from the cache they share.
      const decoded = code === undefined || code.mayHoldDecoded(ppn);
      for (const h of harts) {
        if (decoded || h.mmu.ptePages !== undefined) h.ramWritten(ppn);
        // Another hart's store into the reservation set breaks the reservation. @spec RV-A §"Load-Reserved/Store-Conditional"
        if (h.reservation >= 0 && h !== this.running && pa < h.reservation + 8 && h.reservation < pa + len) h.reservation = -1;
      }
      detector?.ramWritten(ppn, pa, len, this.running);
    };
    for (const h of harts) {
      h.lines = timer;
      h.time = () => this.now();
    }
    // One hart: its slices need end only where an interrupt may be due (trap.ts, "Slices").
    if (harts.length === 1) harts[0]!.trapEndsSlice = false;
    if (detector) {
      detector.onReport = (r) => {
        this.onStaleTlb?.(r);
        this.staleTrace?.(r);
      };
      for (const h of harts) h.checkTlbHits(detector);
    }
  }

  /**
   * Runs `fn` once the machine time ({@link now}) has advanced `ticks` (a delayed interrupt, say).
   * It runs between slices, so at most one slice late when several harts interleave.
   */
  after(ticks: number, fn: () => void): void {
    this.deferred.after(ticks, fn);
    // The running slice's end was chosen without it; with one hart no trap return ends it for us.
    if (this.harts.length === 1) this.harts[0]!.interruptsChanged();
  }

  /** Runs the deferred actions that are due; returns the ticks until the next one (Infinity if none). */
  runDue(): number {
    return this.deferred.runDue();
  }

  /** Uses of stale TLB entries reported so far (0 when strict TLB mode is off). */
  get staleTlbReports(): number {
    return this.staleTlb?.count ?? 0;
  }

  /**
   * The current mtime: one tick per instruction of one hart. With n harts, the instructions of all
   * harts (and the turns idle harts waited) divided by n, so time runs at the speed of one hart.
   */
  now(): number {
    const hs = this.harts;
    if (hs.length === 1) return hs[0]!.icount + this.skipped;
    return Math.floor(this.retired() / hs.length) + this.skipped;
  }

  /** Instructions retired by all harts, plus the turns idle harts waited. */
  retired(): number {
    let n = this.idleRetired;
    for (const h of this.harts) n += h.icount;
    return n;
  }

  /** The hart whose instructions are executing, or undefined between slices. */
  get current(): Hart | undefined {
    return this.running;
  }

  /** Runs `h` until its icount reaches `limit` (or it stops), with stores attributed to it. */
  runSlice(h: Hart, limit: number): void {
    this.running = h;
    try {
      h.run(limit);
    } finally {
      this.running = undefined;
    }
  }

  /** Called by the finisher device: ends the run after the current instruction. */
  requestFinish(kind: "pass" | "fail" | "reset", code: number): void {
    this.finish = { kind, code };
    for (const h of this.harts) {
      h.stopAt = 0;
      h.halted = true;
    }
  }

  /** Sends traps, TLB fills and invalidations of every hart (and stale-TLB reports) to `sink`. */
  setTrace(sink: TraceSink | undefined): void {
    const arch = this.arch;
    this.staleTrace = sink && ((r) => sink(staleTlbTraceEvent(r, arch)));
    for (const h of this.harts) {
      const hart = h.hartId;
      h.onTrap = sink && ((e) => sink({
        type: "trap", arch, hart, icount: e.icount, cause: e.cause, interrupt: e.interrupt,
        name: causeName(e.cause, e.interrupt), tval: hex(e.tval), epc: hex(e.epc),
        from: PRV_NAME[e.from]!, to: PRV_NAME[e.to]!,
      }));
      h.mmu.onFill = sink && ((e) => sink({
        type: "tlb-fill", arch, hart, icount: h.icount, va: hex(e.va), asid: e.asid, global: e.global,
        level: e.level, pageSize: 2 ** (12 + 9 * e.level), pa: hex(e.pa), perm: permString(e.perm),
        steps: e.steps.map((s) => ({ level: s.level, pteAddr: hex(s.pteAddr), pte: hex(s.pte) })),
      }));
      h.tlbs.onInvalidate = sink && ((scope, removed) => sink({
        type: "tlb-invalidate", arch, hart, icount: h.icount, kind: scope.kind,
        ...(scope.vpn !== undefined ? { va: hex(scope.vpn * 4096) } : {}),
        ...(scope.asid !== undefined ? { asid: scope.asid } : {}),
        removed,
      }));
    }
  }

  /** Runs until the guest finishes, the limit is reached, or every hart waits forever. */
  run(opts: RunOptions = {}): RunResult {
    const max = opts.maxInsns ?? Number.MAX_SAFE_INTEGER;
    const h = this.harts[0]!;
    this.finish = undefined;
    for (const hart of this.harts) hart.halted = false;
    if (this.harts.length > 1) return runHarts(this, max);
    let stuck = 0;
    for (;;) {
      if (this.finish) return this.finished(h)!;
      if (h.icount >= max) {
        return { reason: "max-insns", exitCode: 124, icount: h.icount, message: `stopped after ${h.icount} instructions (--max-insns); pc ${hex(h.pc)}` };
      }
      const due = this.runDue();
      h.checkInterrupts();
      if (h.waiting) {
        h.waiting = false;
        if ((h.mipValue() & h.mie) === 0) {
          const timer = (h.mie & (1 << IRQ.MTI)) === 0 ? Infinity : this.timer.nextTimerDeadline(h.hartId);
          const d = Math.min(timer, due);
          if (d === Infinity) {
            return { reason: "wfi-hang", exitCode: 125, icount: h.icount, message: `hart ${h.hartId} waits (wfi) at pc ${hex(h.pc)} for an interrupt that can never arrive` };
          }
          this.skipped += d;
          continue;
        }
      }
      let limit = Math.min(max, h.icount + QUANTUM);
      const d = this.timer.nextTimerDeadline(h.hartId);
      if (d > 0 && d !== Infinity) limit = Math.min(limit, h.icount + d);
      if (due !== Infinity) limit = Math.min(limit, h.icount + Math.max(1, due));
      const retired = h.icount;
      const traps = h.traps;
      this.runSlice(h, limit);
      if (h.icount !== retired || h.traps === traps) {
        stuck = 0;
      } else if (++stuck >= TRAP_LOOP_LIMIT) {
        return { reason: "trap-loop", exitCode: 125, icount: h.icount, message: `hart ${h.hartId} is in a trap loop: ${TRAP_LOOP_LIMIT} traps without retiring an instruction; pc ${hex(h.pc)}, last cause ${h.lastInterrupt ? "interrupt" : "exception"} ${h.lastCause}` };
      }
    }
  }

  /** The result of a run the guest ended (undefined while it has not). */
  finished(h: Hart, icount = h.icount): RunResult | undefined {
    const f = this.finish;
    if (f === undefined) return undefined;
    const exitCode = f.kind === "fail" ? f.code : 0;
    const message = f.kind === "pass" ? "guest finished: pass" : f.kind === "fail" ? `guest finished: fail, code ${f.code}` : "guest requested a reset";
    return { reason: f.kind, exitCode, icount, message };
  }
}

/** RISC-V permission bits as "DAGUXWRV" with '-' for clear bits. */
function permString(perm: number): string {
  const names = "VRWXUGAD";
  let s = "";
  for (let b = 7; b >= 0; b--) s += perm & (1 << b) ? names[b] : "-";
  return s;
}
