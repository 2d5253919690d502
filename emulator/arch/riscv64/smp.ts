/**
 * The run loop of a machine with several harts. Harts run one at a time, in slices chosen by the
 * machine's {@link Schedule}; between slices nothing runs, so every interleaving is a sequential
 * one and the same schedule gives the same run.
 *
 * - A hart that waits in `wfi` with no interrupt pending, or that the firmware has stopped
 *   (`machine.stopped`), skips its turn; the turn counts towards time (`idleRetired`) so that time
 *   keeps its rate of one tick per instruction of one hart.
 * - When every hart waits, time jumps to the earliest timer deadline of a hart whose timer interrupt
 *   is enabled; with none, the run ends as a hang (exit 125).
 * - A slice ends early when the running hart's own timer is due, so its interrupt is taken on time;
 *   another hart's interrupt is taken when that hart's turn comes.
 * - The instruction bound (`maxInsns`) and the reported count are totals over all harts. A slice
 *   the bound cuts short is finished first by the next run, so a run stopped and resumed at any
 *   instruction interleaves exactly as one that was not stopped.
 */
import { hex } from "../../core/trace.js";
import { IRQ } from "./defs.js";
import type { Hart } from "./hart.js";
import { TRAP_LOOP_LIMIT, type RiscvMachine, type RunResult } from "./machine.js";

/** Runs `m` (more than one hart) until the guest finishes, `max` instructions, or a hang. */
export function runHarts(m: RiscvMachine, max: number): RunResult {
  const harts = m.harts;
  const n = harts.length;
  const stuck = new Int32Array(n);
  const sched = m.schedule;
  let idleTurns = 0;
  for (;;) {
    const total = m.retired() - m.idleRetired;
    const done = m.finished(harts[0]!, total);
    if (done) return done;
    if (total >= max) {
      return { reason: "max-insns", exitCode: 124, icount: total, message: `stopped after ${total} instructions (--max-insns)${harts.map((h) => `; hart ${h.hartId} pc ${hex(h.pc)}`).join("")}` };
    }
    const cut = m.unfinishedSlice;
    if (cut) {
      // Finish the slice an earlier bound cut short, as an uninterrupted run would have.
      const h = harts[cut.hart]!;
      m.unfinishedSlice = undefined;
      runTo(m, h, Math.min(cut.limit, h.icount + (max - total)), cut.limit);
      continue;
    }
    const due = m.runDue();
    const h = harts[sched.pickHart()]!;
    const slice = due === Infinity ? sched.sliceLength() : Math.min(sched.sliceLength(), Math.max(1, due));
    if (!ready(m, h)) {
      m.idleRetired += slice;
      if (++idleTurns < 2 * n) continue;
      // Every hart had a turn and none could run: skip time, or give up.
      idleTurns = 0;
      if (harts.every((x) => !ready(m, x))) {
        const d = Math.min(nextDeadline(m), due);
        if (d === Infinity) return hang(m, total);
        m.skipped += d;
      }
      continue;
    }
    idleTurns = 0;
    let end = h.icount + slice;
    const d = m.timer.nextTimerDeadline(h.hartId);
    if (d > 0 && d !== Infinity) end = Math.min(end, h.icount + ticksToInsns(m, d));
    const retired = h.icount;
    const traps = h.traps;
    runTo(m, h, Math.min(end, h.icount + (max - total)), end);
    const i = harts.indexOf(h);
    if (h.icount !== retired || h.traps === traps) stuck[i] = 0;
    else if (++stuck[i]! >= TRAP_LOOP_LIMIT) {
      return { reason: "trap-loop", exitCode: 125, icount: m.retired() - m.idleRetired, message: `hart ${h.hartId} is in a trap loop: ${TRAP_LOOP_LIMIT} traps without retiring an instruction; pc ${hex(h.pc)}, last cause ${h.lastInterrupt ? "interrupt" : "exception"} ${h.lastCause}` };
    }
  }
}

/** Runs `h` to `limit`; when that is short of its slice's `end` (the bound cut it), the next run resumes the slice. */
function runTo(m: RiscvMachine, h: Hart, limit: number, end: number): void {
  m.runSlice(h, limit);
  // A hart that stopped itself (an interrupt to check, wfi, a finish) had ended its slice anyway.
  if (h.icount === limit && h.stopAt === limit && limit < end && !h.waiting) m.unfinishedSlice = { hart: m.harts.indexOf(h), limit: end };
}

/** Can `h` run now? Takes a pending, enabled interrupt first; a waiting hart wakes on any pending one. */
function ready(m: RiscvMachine, h: Hart): boolean {
  if (m.stopped[h.hartId]) return false;
  h.checkInterrupts();
  if (!h.waiting) return true;
  if ((h.mipValue() & h.mie) === 0) return false;
  h.waiting = false;
  return true;
}

/** Ticks until the earliest timer interrupt a waiting hart has enabled, or Infinity. */
function nextDeadline(m: RiscvMachine): number {
  let best = Infinity;
  for (const h of m.harts) {
    if (m.stopped[h.hartId] || (h.mie & (1 << IRQ.MTI)) === 0) continue;
    best = Math.min(best, m.timer.nextTimerDeadline(h.hartId));
  }
  return best;
}

/** Instructions the running hart must retire for time to advance `d` ticks (time = retired / n). */
function ticksToInsns(m: RiscvMachine, d: number): number {
  const n = m.harts.length;
  return Math.max(1, d * n - (m.retired() % n));
}

function hang(m: RiscvMachine, total: number): RunResult {
  const waiting = m.harts.filter((h) => !m.stopped[h.hartId]).map((h) => `hart ${h.hartId} at pc ${hex(h.pc)}`).join(", ");
  return { reason: "wfi-hang", exitCode: 125, icount: total, message: `every hart waits (wfi) for an interrupt that can never arrive: ${waiting || "all harts are stopped"}` };
}
