/**
 * The hart's one timer, shared by time slices and sleepers. Before each return to user (or to the
 * idle loop) the kernel asks for the earliest of two deadlines: the end of the running slice (only
 * while more than one process is runnable) and the earliest sleeper's wake-up. The timer is only
 * reprogrammed when that deadline changes or an interrupt has used up the programmed one, so a lone
 * process pays no SBI call per trap.
 *
 * A slice is `timeslice` ticks of the `time` CSR (one tick per instruction retired on MultiOS's
 * riscv64-virt, 10 MHz nominal); it continues across a sched_yield or a block, and a new one starts
 * after the timer ends it.
 */
import type { KernelArch } from "../arch/arch.js";

/** The largest relative deadline handed to the architecture (ticks are a JS number there). */
const MAX_TICKS = BigInt(Number.MAX_SAFE_INTEGER);

/** The timer plan of one hart: the running slice's end and what the timer is programmed for. */
export class Clock {
  /** When the running slice ends; undefined while at most one process is runnable. */
  private sliceEnd: bigint | undefined;
  /** The deadline the timer is programmed for; undefined: off. */
  private armedAt: bigint | undefined;
  /** An interrupt was taken since the timer was last programmed (its pending bit must be cleared). */
  private fired = false;

  constructor(private readonly arch: KernelArch, private readonly timeslice: number) {}

  /** A timer interrupt was taken at `now`: true when it ended the running slice. */
  interrupt(now: bigint): boolean {
    this.fired = true;
    if (this.sliceEnd === undefined || now < this.sliceEnd) return false;
    this.sliceEnd = undefined;
    return true;
  }

  /**
   * Programs the timer for what comes next: a slice when `slicing` (more than one runnable
   * process), and the wake-up at `wakeAt` if a process sleeps; off when neither.
   */
  program(slicing: boolean, wakeAt: bigint | undefined): void {
    let now: bigint | undefined;
    if (!slicing) this.sliceEnd = undefined;
    else if (this.sliceEnd === undefined) {
      now = this.arch.now();
      this.sliceEnd = now + BigInt(this.timeslice);
    }
    const s = this.sliceEnd;
    const deadline = s === undefined ? wakeAt : wakeAt === undefined || s < wakeAt ? s : wakeAt;
    if (!this.fired && deadline === this.armedAt) return;
    if (deadline === undefined) {
      this.arch.armTimer(undefined);
    } else {
      now ??= this.arch.now();
      const ticks = deadline <= now ? 0n : deadline - now;
      this.arch.armTimer(Number(ticks < MAX_TICKS ? ticks : MAX_TICKS));
    }
    this.armedAt = deadline;
    this.fired = false;
  }
}
