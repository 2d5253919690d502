/**
 * The run loop of an x86_64 machine with several CPUs, the counterpart of riscv64/smp.ts. CPUs run
 * one at a time, in slices chosen by the machine's {@link Schedule} and ending at instruction
 * boundaries; between slices nothing runs, so every interleaving is a sequential one (each
 * instruction, LOCK-prefixed or not, is atomic with respect to the other CPUs) and the same
 * schedule gives the same run.
 *
 * - A CPU halted with nothing pending, or parked in the firmware (`machine.parked`: an application
 *   processor waiting for the wakeup mailbox), skips its turn; the turn counts towards time
 *   (`idleRetired`) so that time keeps its rate of one tick per instruction of one CPU. A halted
 *   CPU with RFLAGS.IF=1 wakes when its APIC has a deliverable interrupt (a timer or an IPI); with
 *   IF=0 nothing this machine models wakes it.
 * - When no CPU can run, time jumps to the earliest timer deadline of a CPU that is halted with
 *   IF=1 and has an unmasked timer; with none, the run ends as a hang (exit 125).
 * - A slice ends early when the running CPU's own APIC timer is due, so its interrupt is taken on
 *   time; IPIs and other CPUs' timers are taken when the target's turn comes.
 * - The instruction bound (`maxInsns`) and the reported count are totals over all CPUs; a slice
 *   the bound cut short is finished first by the next run (emulator/core/smp.ts), so a run stopped
 *   and resumed at any instruction interleaves exactly as one that was not stopped.
 * - Host actions the machine deferred (`machine.after`: a delayed IPI) run between slices, when due;
 *   a slice ends early so none is more than one slice late, and time skips no further than one.
 * @spec Intel SDM Vol. 3A ch. 9 "Multiple-Processor Management": §9.1.2.2 (locked operations are
 * atomic with respect to other processors),
 * §9.2 (memory ordering: a sequential interleaving is one the x86 model allows)
 */
import { hex } from "../../core/trace.js";
import { finishCutSlice, runTo, type SliceBound } from "../../core/smp.js";
import { LVT_MASKED, SVR_ENABLE } from "../../devices/lapic.js";
import type { DecodedPage, NativeEntry, X86Cpu, X86CodeCache } from "./cpu.js";
import { RFLAGS } from "./defs.js";
import { INVALID_TAG } from "./fetch.js";
import { TRAP_LOOP_LIMIT, type X86Machine, type X86RunResult } from "./machine.js";

/**
 * The decode cache and native entries the CPUs of one machine share. Decoding a page (by any CPU)
 * drops every CPU's store fast path, as fetch.ts does for the decoding CPU alone: stores to pages
 * with decoded code must take the slow path, which drops the decoded copy for all of them.
 */
export class X86SharedCode implements X86CodeCache {
  readonly decoded: Map<number, DecodedPage>;
  readonly nativeAt = new Map<number, number>();
  readonly nativeFns: NativeEntry[] = [];
  /** The CPUs whose store fast paths a new decoded page drops (the machine's, once built). */
  cpus: readonly X86Cpu[] = [];

  constructor() {
    const code = this;
    this.decoded = new (class extends Map<number, DecodedPage> {
      override set(ppn: number, page: DecodedPage): this {
        super.set(ppn, page);
        for (const c of code.cpus) c.wTagLo.fill(INVALID_TAG);
        return this;
      }
    })();
  }
}

/** Consecutive time skips with no instruction run in between that count as a hang. */
const SKIP_LIMIT = 10_000;

/** Runs `m` (more than one CPU) until the guest finishes, `max` instructions, or a hang. */
export function runCpus(m: X86Machine, max: number): X86RunResult {
  const cpus = m.cpus;
  const n = cpus.length;
  const stuck = new Int32Array(n);
  const sched = m.schedule;
  let idleTurns = 0;
  /** Time skips since an instruction last ran: a timer whose interrupt can never be taken (its
   * priority class is blocked) would otherwise let time skip forever. */
  let skips = 0;
  // A slice the bound cut short (the CPU stopped only because of it) is finished by the next run.
  const bound: SliceBound<X86Cpu> = {
    runSlice: (c, limit) => m.runSlice(c, limit),
    cutShort: (c, limit) => c.icount === limit && c.stopAt === limit && !c.halted && !c.stopped && !c.shutdown,
    get unfinishedSlice() { return m.unfinishedSlice; },
    set unfinishedSlice(v) { m.unfinishedSlice = v; },
  };
  for (;;) {
    const total = m.retired() - m.idleRetired;
    const done = m.finished(total);
    if (done) return done;
    if (total >= max) {
      return { reason: "max-insns", exitCode: 124, icount: total, message: `stopped after ${total} instructions (--max-insns)${cpus.map((c) => `; cpu ${c.hartId} rip ${hex(c.rip)}`).join("")}` };
    }
    if (finishCutSlice(bound, cpus, max - total)) continue;
    const due = m.deferred.runDue();
    const i = sched.pickHart();
    const c = cpus[i]!;
    const slice = due === Infinity ? sched.sliceLength() : Math.min(sched.sliceLength(), Math.max(1, due));
    if (!ready(m, c)) {
      m.idleRetired += slice;
      if (++idleTurns < 2 * n) continue;
      // Every CPU had a turn and none could run: skip time, or give up.
      idleTurns = 0;
      if (cpus.every((x) => !ready(m, x))) {
        const d = Math.min(nextDeadline(m), due);
        if (d === Infinity || ++skips > SKIP_LIMIT) return hang(m, total);
        m.skipped += Math.max(1, d);
      }
      continue;
    }
    idleTurns = 0;
    skips = 0;
    let end = c.icount + slice;
    const d = m.lapics[c.hartId]!.nextDeadline();
    if (d > 0 && d !== Infinity) end = Math.min(end, c.icount + ticksToInsns(m, d));
    if (c.icount < c.shadowUntil) end = Math.min(end, c.shadowUntil);
    const retired = c.icount;
    const traps = c.traps;
    runTo(bound, i, c, Math.min(end, c.icount + (max - total)), end);
    if (c.icount !== retired || c.traps === traps) stuck[c.hartId] = 0;
    else if (++stuck[c.hartId]! >= TRAP_LOOP_LIMIT) {
      return { reason: "trap-loop", exitCode: 125, icount: m.retired() - m.idleRetired, message: `cpu ${c.hartId} is in a trap loop: ${TRAP_LOOP_LIMIT} deliveries without retiring an instruction; rip ${hex(c.rip)}, last vector ${c.lastVector}` };
    }
  }
}

/** Can `c` run now? A parked CPU asks the firmware; a pending interrupt is taken first (waking HLT). */
function ready(m: X86Machine, c: X86Cpu): boolean {
  if (m.parked[c.hartId] && !(m.onParkedTurn?.(c) ?? false)) return false;
  if (c.shutdown) return false;
  c.checkInterrupts();
  return !c.halted;
}

/** Ticks until the earliest unmasked APIC timer of a CPU halted with IF=1, or Infinity. */
function nextDeadline(m: X86Machine): number {
  let best = Infinity;
  for (const c of m.cpus) {
    const a = m.lapics[c.hartId]!;
    if (m.parked[c.hartId] || (c.rflags & RFLAGS.IF) === 0) continue;
    if ((a.lvtTimer & LVT_MASKED) !== 0 || (a.svr & SVR_ENABLE) === 0) continue;
    best = Math.min(best, a.nextDeadline());
  }
  return best;
}

/** Instructions the running CPU must retire for time to advance `d` ticks (time = retired / n). */
function ticksToInsns(m: X86Machine, d: number): number {
  const n = m.cpus.length;
  return Math.max(1, d * n - (m.retired() % n));
}

function hang(m: X86Machine, total: number): X86RunResult {
  const why = m.cpus.map((c) => {
    if (m.parked[c.hartId]) return `cpu ${c.hartId} waits in the firmware for the wakeup mailbox`;
    return `cpu ${c.hartId} ${(c.rflags & RFLAGS.IF) === 0 ? "halted with interrupts disabled" : "halted"} at rip ${hex(c.rip)}`;
  }).join(", ");
  return { reason: "hlt-hang", exitCode: 125, icount: total, message: `every CPU waits for an interrupt that can never arrive: ${why}` };
}
