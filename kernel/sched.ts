/**
 * Scheduling: which process runs next on this CPU, with which ASID and timer plan; the idle loop
 * when none can; power-off when none is left. Called from the kernel's trap handling.
 */
import type { Kernel } from "./kernel.js";
import type { Process } from "./proc/process.js";
import { kickIdleCpus } from "./smp.js";

/** A timer interrupt: wakes the sleepers that are due and ends the running slice if it is over. */
export function timerTick(k: Kernel): void {
  const now = k.arch.now();
  k.sleepers.wake(now);
  if (k.cpus.current.clock.interrupt(now)) k.procs.rotate();
}

/**
 * Returns to the next runnable process. When none is runnable but some sleep, the timer is armed
 * for the earliest wake-up and the hart waits in the idle loop: `wfi; j .-4` in kernel text, run
 * in S-mode with interrupts on (there is no idle process; the timer interrupt brings the hart
 * back to the trap vector, from the kernel). With nobody left it powers off; with only waiters,
 * it is a deadlock (oops).
 */
export function resume(k: Kernel): void {
  const cpu = k.cpus.current;
  const next = k.procs.pickNext();
  if (next === undefined) {
    const wakeAt = k.sleepers.earliest();
    // Only sleeps that never end, or processes running on other CPUs: idle with no timer.
    if (wakeAt !== undefined || k.sleepers.sleepsForever() || k.procs.runningElsewhere().length > 0) idle(k, wakeAt);
    else if (k.procs.waitingCount() > 0) k.oops(new Error("every process is waiting: deadlock"));
    else {
      // Nothing can run again: frames waiting for other CPUs' acknowledgements go back now.
      k.shootdown?.releaseAll();
      k.arch.powerOff(k.initExit ?? 0);
    }
    return;
  }
  cpu.clock.program(k.procs.queuedCount() > 0, k.sleepers.earliest());
  if (k.smp !== undefined) kickIdleCpus(k);
  assignAsid(k, next);
  k.arch.switchAddressSpace(next.mm.space.rootRegister());
  k.shootdown?.noteActive(cpu.index, next.mm.space.asid);
  cpu.stats.resumes++;
  if (cpu.lastPid !== next.pid) {
    cpu.stats.switches++;
    cpu.lastPid = next.pid;
  }
  k.procs.finishWait(k, next);
  k.arch.returnToUser(next.frame);
}

/**
 * Leaves for the idle loop (`wfi; j .-4` in kernel text, S-mode, interrupts on; there is no idle
 * process), the timer armed for `wakeAt` if given; a timer interrupt or an IPI brings the CPU
 * back to the trap vector, from the kernel. On several CPUs the idle CPU first switches to the
 * kernel's own address space, so that it holds no table of a process another CPU may free.
 */
function idle(k: Kernel, wakeAt: bigint | undefined): void {
  const cpu = k.cpus.current;
  cpu.clock.program(false, wakeAt);
  cpu.idling = true;
  cpu.stats.idles++;
  if (k.smp !== undefined && k.arch.kernelHalfInUserTables !== false) {
    k.arch.switchAddressSpace(k.memory!.space.rootRegister());
    cpu.lastSpace = undefined;
  }
  k.arch.idle(k.image.va + BigInt(k.image.idleOffset));
}

/**
 * Gives `p` the ASID it must run with. Without ASIDs in the hardware, every switch to another
 * address space flushes all translations (RV-S note: "SFENCE.VMA x0, x0 after each satp write").
 */
function assignAsid(k: Kernel, p: Process): void {
  const cpu = k.cpus.current;
  if (cpu.flushPending) {
    cpu.flushPending = false;
    k.hal.tlb.flushAll();
  }
  if (k.asids) {
    const others = k.smp === undefined ? undefined : k.procs.runningElsewhere().map(([, q]) => q.asid);
    const asid = k.asids.acquire(p.asid, others);
    if (p.mm.space.asid !== asid) p.mm.space.asid = asid;
  } else if (cpu.lastSpace !== p.mm.space) {
    k.hal.tlb.flushAll();
  }
  cpu.lastSpace = p.mm.space;
}
