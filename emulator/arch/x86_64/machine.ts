/**
 * An x86_64 machine: one CPU, a bus, the port bus, the local APIC and its clock. It runs the CPU
 * until the guest finishes (through a device), an instruction limit is reached, the CPU halts with
 * nothing that could wake it, it shuts down (triple fault), or it loops on faults.
 *
 * Time: the clock (TSC and APIC timer) advances one tick per retired instruction; HLT with
 * interrupts enabled skips ahead to the next timer expiry. So a run is a pure function of the image
 * and the configuration.
 */
import type { RunOptions, RunResult } from "../../core/run.js";
import type { Bus } from "../../core/memory.js";
import { hex, type TraceSink } from "../../core/trace.js";
import type { X86Cpu } from "./cpu.js";
import { RFLAGS, VECTOR_NAMES } from "./defs.js";
import type { LocalApic } from "../../devices/lapic.js";
import { TLB_PERM } from "./paging-defs.js";
import { X86StaleTlbDetector, x86StaleTlbTraceEvent, type StaleTlbReport } from "./tlb-stale.js";

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
}

const QUANTUM = 1 << 20;
/** Consecutive deliveries without a retired instruction that count as a livelock. */
const TRAP_LOOP_LIMIT = 10_000;

export class X86Machine {
  readonly arch = "x86_64";
  /** Ticks skipped by HLT (clock = instructions + skipped). */
  skipped = 0;
  private finishCode: number | undefined;
  private finishDevice = "isa-debug-exit";
  /** Strict TLB mode's detector, or undefined when the mode is off. */
  readonly staleTlb: X86StaleTlbDetector | undefined;
  /** Strict TLB mode: receives every use of a stale TLB entry. */
  onStaleTlb: ((r: StaleTlbReport) => void) | undefined;
  private staleTrace: ((r: StaleTlbReport) => void) | undefined;

  constructor(readonly bus: Bus, readonly cpu: X86Cpu, readonly lapic: LocalApic, opts: X86MachineOptions = {}) {
    const detector = opts.strictTlb ? new X86StaleTlbDetector() : undefined;
    this.staleTlb = detector;
    bus.onRamWrite = (ppn, pa, len) => {
      cpu.ramWritten(ppn);
      detector?.ramWritten(ppn, pa, len, cpu);
    };
    if (detector) {
      detector.onReport = (r) => {
        this.onStaleTlb?.(r);
        this.staleTrace?.(r);
      };
      cpu.checkTlbHits(detector);
    }
    cpu.intr = lapic;
    cpu.time = () => this.now();
    lapic.onChange = () => cpu.interruptsChanged();
  }

  /** Uses of stale TLB entries reported so far (0 when strict TLB mode is off). */
  get staleTlbReports(): number {
    return this.staleTlb?.count ?? 0;
  }

  /** The clock: instructions retired plus ticks skipped while halted. */
  now(): number {
    return this.cpu.icount + this.skipped;
  }

  /** Called by an exit device (isa-debug-exit, the kernel's exit port): ends the run after the current instruction with `status`. */
  requestExit(status: number, device = "isa-debug-exit"): void {
    this.finishCode = status;
    this.finishDevice = device;
    this.cpu.stopAt = 0;
    this.cpu.stopped = true;
  }

  /** Sends delivered events, TLB fills and invalidations (and stale-TLB reports) to `sink`. */
  setTrace(sink: TraceSink | undefined): void {
    const arch = this.arch;
    const c = this.cpu;
    this.staleTrace = sink && ((r) => sink(x86StaleTlbTraceEvent(r)));
    c.mmu.onFill = sink && ((e) => sink({
      type: "tlb-fill", arch, hart: 0, icount: c.icount, va: hex(e.va), asid: e.asid, global: e.global,
      level: e.level, pageSize: 2 ** (12 + 9 * e.level), pa: hex(e.pa), perm: permString(e.perm),
      steps: e.steps.map((s) => ({ level: s.level, pteAddr: hex(s.pteAddr), pte: hex(s.pte) })),
    }));
    c.onTrap = sink && ((e) => sink({
      type: "trap", arch, hart: 0, icount: e.icount, cause: e.vector, interrupt: e.external,
      name: VECTOR_NAMES[e.vector] ?? `vector ${e.vector}`, tval: hex(e.vector === 14 ? e.cr2 : BigInt(e.errorCode ?? 0)),
      epc: hex(e.rip), from: `cpl${e.fromCpl}`, to: `cpl${e.toCpl}`,
      ...(e.errorCode !== undefined ? { syndrome: hex(BigInt(e.errorCode)) } : {}),
    }));
    c.tlbs.onInvalidate = sink && ((scope, removed) => sink({
      type: "tlb-invalidate", arch, hart: 0, icount: c.icount, kind: scope.kind,
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
    c.stopped = false;
    let stuck = 0;
    for (;;) {
      if (this.finishCode !== undefined) {
        return { reason: "exit", exitCode: this.finishCode, icount: c.icount, message: `guest exited through ${this.finishDevice} with status ${this.finishCode}` };
      }
      if (c.shutdown) {
        return { reason: "triple-fault", exitCode: 125, icount: c.icount, message: `triple fault (a fault while delivering #DF): shutdown at rip ${hex(c.rip)}` };
      }
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
