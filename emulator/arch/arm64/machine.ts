/**
 * An AArch64 machine: one core, a bus, and the clock that drives the generic timer. It runs the
 * core until the guest finishes (PSCI SYSTEM_OFF), an instruction limit is reached, or the guest
 * waits for an interrupt that can never come or loops on exceptions.
 *
 * Time: the system counter advances by one tick per instruction retired; WFI skips ahead to the
 * next timer event. So a run is a pure function of the image and the configuration.
 */
import type { Bus } from "../../core/memory.js";
import { hex, type TraceSink } from "../../core/trace.js";
import type { RunOptions, RunResult as CoreRunResult } from "../../core/run.js";
import type { Arm64Cpu } from "./cpu.js";
import { PSR } from "./defs.js";
import type { FillEvent } from "./mmu-types.js";

/** Why an arm64 run ended (emulator/core/run.ts): SYSTEM_OFF is "pass" with exit 0. */
export type StopReason = "pass" | "fail" | "reset" | "max-insns" | "wfi-hang" | "trap-loop";
/** The outcome of {@link Arm64Machine.run}. */
export type RunResult = CoreRunResult<StopReason>;
export type { RunOptions };

const QUANTUM = 1 << 20;
/** Consecutive exceptions without a retired instruction that count as a livelock. */
const TRAP_LOOP_LIMIT = 10_000;

export class Arm64Machine {
  readonly arch = "arm64";
  /** Ticks skipped by WFI (counter = instructions + skipped). */
  skipped = 0;
  /** Called on SYSTEM_RESET to reload the image; without it a reset ends the run. */
  onReset: (() => void) | undefined;
  private finish: { kind: "pass" | "fail" | "reset"; code: number; message?: string } | undefined;

  constructor(readonly bus: Bus, readonly cpu: Arm64Cpu) {
    bus.onRamWrite = (ppn) => cpu.ramWritten(ppn);
    cpu.time = () => this.now();
  }

  /** The cores (one), for code written for several. */
  get harts(): Arm64Cpu[] {
    return [this.cpu];
  }

  /** The system counter. */
  now(): number {
    return this.cpu.icount + this.skipped;
  }

  /** Ends the run after the current instruction (PSCI SYSTEM_OFF, SYSTEM_RESET, CPU_OFF). */
  requestFinish(kind: "pass" | "fail" | "reset", code: number, message?: string): void {
    this.finish = { kind, code, message };
    this.cpu.stopAt = 0;
    this.cpu.halted = true;
  }

  /** Sends exceptions, TLB fills (when the MMU reports them) and TLB invalidations to `sink`. */
  setTrace(sink: TraceSink | undefined): void {
    const arch = this.arch, c = this.cpu;
    c.onTrap = sink && ((e) => sink({
      type: "trap", arch, hart: 0, icount: e.icount, cause: e.kind === 0 ? e.esr >>> 26 : -1, interrupt: e.kind !== 0,
      name: e.kind === 0 ? `EC 0x${(e.esr >>> 26).toString(16)}, ESR_EL1 0x${e.esr.toString(16)}` : "IRQ",
      tval: hex(e.far ?? 0n), epc: hex(e.elr), from: `EL${e.from}`, to: "EL1",
      ...(e.kind === 0 ? { syndrome: hex(e.esr >>> 0) } : {}),
    }));
    const mmu = c.mmu as { onFill?: ((e: FillEvent) => void) | undefined };
    if ("onFill" in mmu) {
      mmu.onFill = sink && ((e) => sink({
        type: "tlb-fill", arch, hart: 0, icount: c.icount, va: hex(e.va), asid: e.asid, global: e.global,
        level: e.level, pageSize: 2 ** e.pageShift, pa: hex(e.pa), perm: `0x${e.perm.toString(16)}`,
        steps: e.steps.map((s) => ({ level: s.level, pteAddr: hex(s.descAddr), pte: hex(s.desc) })),
      }));
    }
    c.tlbs.onInvalidate = sink && ((scope, removed) => sink({
      type: "tlb-invalidate", arch, hart: 0, icount: c.icount, kind: scope.kind,
      ...(scope.vpn !== undefined ? { va: hex(scope.vpn * 4096) } : {}),
      ...(scope.asid !== undefined ? { asid: scope.asid } : {}),
      removed,
    }));
  }

  /** Runs until the guest finishes, the limit is reached, or the core waits forever. */
  run(opts: RunOptions = {}): RunResult {
    const max = opts.maxInsns ?? Number.MAX_SAFE_INTEGER;
    const c = this.cpu;
    c.halted = false;
    this.finish = undefined;
    let stuck = 0;
    for (;;) {
      const f = this.pendingFinish();
      if (f) {
        if (f.kind === "reset" && this.onReset) {
          this.finish = undefined;
          c.halted = false;
          this.onReset();
          continue;
        }
        return this.finished(c);
      }
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
      if ((c.daif & PSR.I) === 0) {
        const d = c.timer.deadline();
        if (d > 0 && d !== Infinity) limit = Math.min(limit, c.icount + d);
      }
      const retired = c.icount;
      const traps = c.traps;
      c.run(limit);
      if (c.icount !== retired || c.traps === traps) {
        stuck = 0;
      } else if (++stuck >= TRAP_LOOP_LIMIT) {
        return { reason: "trap-loop", exitCode: 125, icount: c.icount, message: `cpu 0 is in an exception loop: ${TRAP_LOOP_LIMIT} exceptions without retiring an instruction; pc ${hex(c.pc)}, last EC 0x${c.lastEc.toString(16)}` };
      }
    }
  }

  private pendingFinish(): { kind: "pass" | "fail" | "reset"; code: number; message?: string } | undefined {
    return this.finish;
  }

  private finished(c: Arm64Cpu): RunResult {
    const f = this.finish!;
    const exitCode = f.kind === "fail" ? f.code : 0;
    const message = f.message ?? (f.kind === "pass" ? "guest finished: pass" : f.kind === "fail" ? `guest finished: fail, code ${f.code}` : "guest requested a reset");
    return { reason: f.kind, exitCode, icount: c.icount, message };
  }
}
