/**
 * nanosleep in simulated time. A sleeping process leaves the run queue's runnable set until the
 * `time` CSR reaches its wake-up tick; meanwhile other processes run, and when none is runnable
 * the kernel arms the timer for the earliest wake-up and waits in its idle loop (kernel.ts), where
 * the machine skips straight to that tick. Nothing interrupts a sleep (there are no signal
 * handlers), so it always completes, returns 0, and leaves 0 in `rem`.
 *
 * Ticks: the timebase is {@link KernelArch.timebaseHz} (10 MHz on riscv64-virt: 1 tick = 100 ns);
 * a duration is rounded up to whole ticks, so a process never wakes early.
 */
import type { Kernel } from "../kernel.js";
import type { Process } from "./process.js";
import { copyFromUser, copyToUser } from "./user-memory.js";

const NSEC_PER_SEC = 1_000_000_000n;
const EFAULT = 14, EINVAL = 22;

/** A sleeping process and the tick it wakes at; `seq` keeps equal ticks in call order. */
interface Sleeper {
  readonly p: Process;
  readonly wakeAt: bigint;
  readonly seq: number;
}

/**
 * Wake-up ticks at or past this never come: the `time` counter is 64 bits and a run would need
 * millions of simulated years to get there. Such a sleep lasts until the process is killed (Linux
 * clamps the same requests to KTIME_MAX, "forever"), and arms no timer.
 */
export const NEVER = 1n << 63n;

/** The sleeping processes, earliest wake-up first. */
export class Sleepers {
  private list: Sleeper[] = [];
  private seq = 0;

  /** Puts `p` to sleep until tick `wakeAt`. */
  add(p: Process, wakeAt: bigint): void {
    p.state = "sleeping";
    const s: Sleeper = { p, wakeAt, seq: this.seq++ };
    let i = this.list.length;
    while (i > 0 && this.list[i - 1]!.wakeAt > wakeAt) i--;
    this.list.splice(i, 0, s);
  }

  /** Makes every process due at `now` runnable, earliest first; returns them. */
  wake(now: bigint): Process[] {
    const woken: Process[] = [];
    while (this.list.length > 0 && this.list[0]!.wakeAt <= now) {
      const { p } = this.list.shift()!;
      if (p.state !== "sleeping") continue;
      p.state = "runnable";
      woken.push(p);
    }
    return woken;
  }

  /** The earliest wake-up that can come, of a process still asleep (one killed in its sleep is dropped), or undefined. */
  earliest(): bigint | undefined {
    while (this.list.length > 0 && this.list[0]!.p.state !== "sleeping") this.list.shift();
    const at = this.list[0]?.wakeAt;
    return at === undefined || at >= NEVER ? undefined : at;
  }

  /** Whether some process sleeps until {@link NEVER}. */
  sleepsForever(): boolean {
    return this.list.some((s) => s.p.state === "sleeping" && s.wakeAt >= NEVER);
  }
}

/** Ticks of `sec` seconds and `nsec` nanoseconds at `hz`, rounded up. */
export function durationTicks(sec: bigint, nsec: bigint, hz: number): bigint {
  const ns = sec * NSEC_PER_SEC + nsec;
  const scaled = ns * BigInt(hz);
  return (scaled + NSEC_PER_SEC - 1n) / NSEC_PER_SEC;
}

/**
 * nanosleep(req, rem): `req` points at a struct timespec { i64 tv_sec; i64 tv_nsec }. Returns
 * -EFAULT if it cannot be read, -EINVAL for a negative tv_sec or a tv_nsec outside 0..999999999;
 * else 0 — at once for a zero duration, otherwise written now and seen by the process when it
 * wakes. A non-null `rem` gets a zero timespec (a bad `rem` is ignored: Linux only writes it when a
 * signal interrupts the sleep, which cannot happen here).
 */
export function nanosleep(k: Kernel, p: Process, req: bigint, rem: bigint): bigint {
  const ts = copyFromUser(p.mm, req, 16);
  if (ts === undefined) return BigInt(-EFAULT);
  const dv = new DataView(ts.buffer, ts.byteOffset, 16);
  const sec = dv.getBigInt64(0, true), nsec = dv.getBigInt64(8, true);
  if (sec < 0n || nsec < 0n || nsec >= NSEC_PER_SEC) return BigInt(-EINVAL);
  if (rem !== 0n) copyToUser(p.mm, rem, new Uint8Array(16));
  const ticks = durationTicks(sec, nsec, k.arch.timebaseHz);
  if (ticks === 0n) return 0n;
  const wakeAt = k.arch.now() + ticks;
  k.sleepers.add(p, wakeAt < NEVER ? wakeAt : NEVER);
  return 0n;
}
