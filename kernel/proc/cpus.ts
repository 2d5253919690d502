/**
 * The CPUs the kernel runs on and what each one holds: whether it is online, whether it waits in
 * the idle loop, its timer plan, the address space it ran last, and a TLB flush it owes since an
 * ASID rollover on another CPU.
 *
 * The kernel itself needs no locks: the machine runs one CPU at a time and a trap handler runs to
 * completion in one step of its CPU (native kernel entries), so every kernel operation is atomic
 * with respect to the other CPUs, as under a big kernel lock. What the CPUs do share, and must
 * coordinate through the hardware, is the TLBs (kernel/mm/shootdown.ts) and the processes: a
 * process runs on at most one CPU at a time, and one CPU ends a process running on another by
 * interrupting it (an IPI; the exit happens on that CPU, Linux's "kill then reschedule IPI").
 */
import type { KernelArch } from "../arch/arch.js";
import type { AddressSpace } from "../mm/vm/address-space.js";
import { Clock } from "./clock.js";

/** One CPU as the kernel sees it. */
export class Cpu {
  /** Brought up: it runs the kernel's trap vector and takes part in shootdowns. */
  online = false;
  /** Waiting in the idle loop for an interrupt. */
  idling = false;
  /** An IPI was sent to wake it from the idle loop and has not been taken yet. */
  kicked = false;
  /** An ASID rollover happened elsewhere: flush the whole TLB before the next address-space switch. */
  flushPending = false;
  /** The address space it ran last (for flushing when there are no ASIDs). */
  lastSpace: AddressSpace | undefined;
  readonly clock: Clock;
  /**
   * Returns to a user process, of them to another process than the last one, entries of the idle
   * loop, IPIs taken, and processes it ended that were running on another CPU (by IPI).
   */
  readonly stats = { resumes: 0, switches: 0, idles: 0, ipis: 0, remoteExits: 0 };
  /** The pid it returned to last (for counting switches). */
  lastPid = 0;

  constructor(readonly index: number, readonly hwId: number, arch: KernelArch, timeslice: number) {
    this.clock = new Clock(arch, timeslice);
  }
}

/** All CPUs, indexed by the kernel's CPU index (0 = the boot CPU). */
export class Cpus {
  readonly list: Cpu[];
  /** Index of the CPU now in the kernel. */
  self = 0;
  private online = 1;

  /** `hwIds[0]` is the boot CPU, which is online from the start. */
  constructor(hwIds: readonly number[], arch: KernelArch, timeslice: number) {
    this.list = hwIds.map((id, i) => new Cpu(i, id, arch, timeslice));
    this.list[0]!.online = true;
  }

  get current(): Cpu {
    return this.list[this.self]!;
  }

  get count(): number {
    return this.list.length;
  }

  /** Bit i: CPU i is online. */
  onlineMask(): number {
    return this.online;
  }

  setOnline(c: Cpu): void {
    c.online = true;
    this.online |= 1 << c.index;
  }

  /** The online CPUs waiting in the idle loop that no IPI is already on its way to. */
  idleUnkicked(): Cpu[] {
    return this.list.filter((c) => c.online && c.idling && !c.kicked && c !== this.current);
  }
}
