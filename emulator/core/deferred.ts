/**
 * Host actions a machine runs once its time has advanced far enough: a delayed interrupt (fault
 * injection's late IPI), say. The machine runs them between slices, so an action is at most one
 * slice late when several processors interleave; ordered by due time, then by arrival.
 */
export class DeferredActions {
  private readonly queue: { at: number; fn: () => void }[] = [];

  /** @param clock the machine's time in ticks (read only when an action is queued) */
  constructor(private readonly clock: () => number) {}

  /** Queues `fn` to run once the time has advanced `ticks` (below 0 counts as 0). */
  after(ticks: number, fn: () => void): void {
    const at = this.clock() + Math.max(0, Math.floor(ticks));
    const q = this.queue;
    let i = q.length;
    while (i > 0 && q[i - 1]!.at > at) i--;
    q.splice(i, 0, { at, fn });
  }

  /** Runs the actions that are due now; returns the ticks until the next one (Infinity if none). */
  runDue(): number {
    const q = this.queue;
    if (q.length === 0) return Infinity;
    const now = this.clock();
    while (q.length > 0 && q[0]!.at <= now) q.shift()!.fn();
    return q.length > 0 ? q[0]!.at - now : Infinity;
  }

  /** Actions still queued. */
  get size(): number {
    return this.queue.length;
  }
}
