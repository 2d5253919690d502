/**
 * The run loop of a machine with several processors (riscv64 harts, arm64 PEs), the same for every
 * architecture. Processors run one at a time, in slices chosen by the machine's {@link Schedule};
 * between slices nothing runs, so every interleaving is a sequential one and the same schedule
 * gives the same run.
 *
 * - A processor that waits for an interrupt with none pending, or that is powered off / stopped by
 *   the firmware, skips its turn; the turn counts towards time (`idleRetired`) so that time keeps its
 *   rate of one tick per instruction of one processor.
 * - When every processor waits, time jumps to the earliest timer deadline that can wake one; with
 *   none, the run ends as a hang (exit 125).
 * - A slice ends early when the running processor's own timer is due, so its interrupt is taken on
 *   time; another processor's interrupt is taken when that processor's turn comes.
 * - The instruction bound (`maxInsns`) and the reported count are totals over all processors.
 *   Where the machine says which slices the bound cut short ({@link SliceMachine.cutShort}), such a
 *   slice is finished first by the next run, so a run stopped and resumed at any instruction
 *   interleaves exactly as one that was not stopped (record and replay checkpoints, injection
 *   instants).
 */
import type { RunResult } from "./run.js";
import type { Schedule } from "./schedule.js";

/** What the loop reads of one processor. */
export interface SliceCore {
  readonly icount: number;
  readonly traps: number;
}

/** What the loop needs of the machine (the architecture-specific parts). */
export interface SliceMachine<C extends SliceCore> {
  readonly schedule: Schedule;
  /** Instructions idle processors were deemed to retire while waiting their turn. */
  idleRetired: number;
  /** Ticks skipped while every processor waited. */
  skipped: number;
  /** Instructions retired by all processors, plus {@link idleRetired}. */
  retired(): number;
  /** The result once the guest has ended the run (`total` = instructions retired), else undefined. */
  finishedRun(total: number): RunResult | undefined;
  /** Runs host actions that are due; ticks until the next one (Infinity if none). */
  runDue(): number;
  /** Can `c` run now? (Takes a pending, enabled interrupt; wakes a waiting processor that has one.) */
  ready(c: C): boolean;
  /** Ticks until `c`'s own timer interrupt can be taken (0: now; Infinity: never or masked). */
  ownDeadline(c: C): number;
  /** Ticks until the earliest timer that can wake a waiting processor, or Infinity. */
  wakeDeadline(): number;
  /** Runs `c` until its icount reaches `limit` (or it stops). */
  runSlice(c: C, limit: number): void;
  /** "hart 1 pc 0x80000010": a processor, for messages. */
  where(c: C): string;
  /** The result for `c` looping on traps without retiring anything. */
  trapLoop(c: C, total: number, limit: number): RunResult;
  /** The result when every processor waits for an interrupt that can never arrive. */
  hang(total: number): RunResult;
  /**
   * Did `c`, just run to `limit`, stop only because of that limit (not by ending its slice itself:
   * an interrupt to take, a wait, a finish)? Machines without it restart the schedule after a bound.
   */
  cutShort?(c: C, limit: number): boolean;
  /** A slice the instruction bound cut short: the next run finishes it before the schedule picks. */
  unfinishedSlice?: { core: number; end: number } | undefined;
}

/** Consecutive traps without a retired instruction that count as a livelock (e.g. a faulting vector). */
export const TRAP_LOOP_LIMIT = 10_000;

/** Runs `m`'s processors `cores` (more than one) until the guest finishes, `max` instructions, or a hang. */
export function runSlices<C extends SliceCore>(m: SliceMachine<C>, cores: readonly C[], max: number): RunResult {
  const n = cores.length;
  const stuck = new Int32Array(n);
  const sched = m.schedule;
  let idleTurns = 0;
  for (;;) {
    const total = m.retired() - m.idleRetired;
    const done = m.finishedRun(total);
    if (done) return done;
    if (total >= max) {
      return { reason: "max-insns", exitCode: 124, icount: total, message: `stopped after ${total} instructions (--max-insns)${cores.map((c) => `; ${m.where(c)}`).join("")}` };
    }
    if (finishCutSlice(m, cores, max - total)) continue;
    const due = m.runDue();
    const i = sched.pickHart();
    const c = cores[i]!;
    const slice = due === Infinity ? sched.sliceLength() : Math.min(sched.sliceLength(), Math.max(1, due));
    if (!m.ready(c)) {
      m.idleRetired += slice;
      if (++idleTurns < 2 * n) continue;
      // Every processor had a turn and none could run: skip time, or give up.
      idleTurns = 0;
      if (cores.every((x) => !m.ready(x))) {
        const d = Math.min(m.wakeDeadline(), due);
        if (d === Infinity) return m.hang(total);
        m.skipped += d;
      }
      continue;
    }
    idleTurns = 0;
    let end = c.icount + slice;
    const d = m.ownDeadline(c);
    if (d > 0 && d !== Infinity) end = Math.min(end, c.icount + ticksToInsns(m, n, d));
    const retired = c.icount;
    const traps = c.traps;
    runTo(m, i, c, Math.min(end, c.icount + (max - total)), end);
    if (c.icount !== retired || c.traps === traps) stuck[i] = 0;
    else if (++stuck[i]! >= TRAP_LOOP_LIMIT) return m.trapLoop(c, m.retired() - m.idleRetired, TRAP_LOOP_LIMIT);
  }
}

/** What {@link runTo} and {@link finishCutSlice} need of a machine (a loop of its own may use them too). */
export type SliceBound<C extends SliceCore> = Pick<SliceMachine<C>, "runSlice" | "cutShort" | "unfinishedSlice">;

/**
 * Finishes the slice an earlier bound cut short, as an uninterrupted run would have, within `room`
 * more instructions (all processors). Returns false when there is none.
 */
export function finishCutSlice<C extends SliceCore>(m: SliceBound<C>, cores: readonly C[], room: number): boolean {
  const cut = m.unfinishedSlice;
  if (cut === undefined) return false;
  m.unfinishedSlice = undefined;
  const c = cores[cut.core]!;
  runTo(m, cut.core, c, Math.min(cut.end, c.icount + room), cut.end);
  return true;
}

/** Runs core `i` (`c`) to `limit`; when the bound made that short of its slice's `end`, the next run resumes the slice. */
export function runTo<C extends SliceCore>(m: SliceBound<C>, i: number, c: C, limit: number, end: number): void {
  m.runSlice(c, limit);
  if (limit < end && m.cutShort?.(c, limit)) m.unfinishedSlice = { core: i, end };
}

/** Instructions the running processor must retire for time to advance `d` ticks (time = retired / n). */
function ticksToInsns(m: SliceMachine<SliceCore>, n: number, d: number): number {
  return Math.max(1, d * n - (m.retired() % n));
}
