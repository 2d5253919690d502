/**
 * The run loop of a riscv64 machine with several harts: emulator/core/smp.ts's loop, with the
 * RISC-V parts — a hart the firmware stopped (`machine.stopped`, SBI HSM) skips its turn, a waiting
 * hart wakes on any pending interrupt in `mip & mie`, and the timers that can wake one are those of
 * harts with `mie.MTIE` set.
 */
import { hex } from "../../core/trace.js";
import { runSlices, type SliceMachine } from "../../core/smp.js";
import { IRQ } from "./defs.js";
import type { Hart } from "./hart.js";
import type { RiscvMachine, RunResult } from "./machine.js";

/** Runs `m` (more than one hart) until the guest finishes, `max` instructions, or a hang. */
export function runHarts(m: RiscvMachine, max: number): RunResult {
  const host: SliceMachine<Hart> = {
    schedule: m.schedule,
    get idleRetired() { return m.idleRetired; },
    set idleRetired(v: number) { m.idleRetired = v; },
    get skipped() { return m.skipped; },
    set skipped(v: number) { m.skipped = v; },
    retired: () => m.retired(),
    finishedRun: (total) => m.finished(m.harts[0]!, total),
    runDue: () => m.runDue(),
    ready: (h) => ready(m, h),
    ownDeadline: (h) => m.timer.nextTimerDeadline(h.hartId),
    wakeDeadline: () => nextDeadline(m),
    runSlice: (h, limit) => m.runSlice(h, limit),
    where: (h) => `hart ${h.hartId} pc ${hex(h.pc)}`,
    trapLoop: (h, icount, limit) => ({ reason: "trap-loop", exitCode: 125, icount, message: `hart ${h.hartId} is in a trap loop: ${limit} traps without retiring an instruction; pc ${hex(h.pc)}, last cause ${h.lastInterrupt ? "interrupt" : "exception"} ${h.lastCause}` }),
    cutShort: (h, limit) => h.icount === limit && h.stopAt === limit && !h.waiting,
    get unfinishedSlice() { return m.unfinishedSlice; },
    set unfinishedSlice(v) { m.unfinishedSlice = v; },
    hang: (icount) => {
      const waiting = m.harts.filter((h) => !m.stopped[h.hartId]).map((h) => `hart ${h.hartId} at pc ${hex(h.pc)}`).join(", ");
      return { reason: "wfi-hang", exitCode: 125, icount, message: `every hart waits (wfi) for an interrupt that can never arrive: ${waiting || "all harts are stopped"}` };
    },
  };
  return runSlices(host, m.harts, max) as RunResult;
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
