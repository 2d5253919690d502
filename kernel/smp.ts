/**
 * The kernel on several CPUs: reading the CPU list, starting the secondary CPUs and bringing each
 * one up, waking idle CPUs with IPIs, and the ASID rollover's per-CPU flushes. The per-CPU state
 * is in kernel/proc/cpus.ts, the TLB shootdown in kernel/mm/shootdown.ts; docs/kernel.md
 * "Several CPUs" describes the whole.
 */
import type { Kernel } from "./kernel.js";
import { Shootdown } from "./mm/shootdown.js";
import { Cpus } from "./proc/cpus.js";

/**
 * The entry of a secondary CPU, started by {@link startSecondaries} with translation off and its
 * CPU index as argument: it records the index in its per-CPU register, turns translation on with
 * the kernel's tables, installs the trap vector, takes part in shootdowns, and looks for work.
 */
export function secondaryEntry(k: Kernel, index: number): void {
  try {
    const cpu = k.cpus.list[index];
    if (k.smp === undefined || cpu === undefined || cpu.online) throw new Error(`secondary entry with CPU index ${index}`);
    k.smp.setCpuIndex(index);
    k.enterCpu(index);
    const root = k.memory!.space.rootRegister();
    if (k.arch.installKernelSpace) k.arch.installKernelSpace(root);
    else k.arch.switchAddressSpace(root);
    k.hal.tlb.flushAll();
    k.arch.installTrapVector(k.image.va + BigInt(k.image.trapVectorOffset));
    k.arch.allowUserTimeRead();
    k.smp.enableIpi();
    k.cpus.setOnline(cpu);
    k.report(`kernel: cpu ${index} (hardware id ${cpu.hwId}) online`);
    k.resume();
  } catch (e) {
    k.oops(e);
  }
}

/**
 * ASID bits to use: what the hardware has, capped by KernelOptions.asidBits. On several CPUs the
 * ASIDs must outnumber twice the CPUs, or the kernel runs without them and flushes its TLB on
 * every address-space switch, as Linux riscv does (arch/riscv/mm/context.c, asids_init: "ASID
 * allocator disabled" unless num_asids > 2 * num_possible_cpus()).
 */
export function asidWidth(k: Kernel): number {
  const bits = Math.min(k.arch.asidBits(), k.opts.asidBits ?? 16);
  const cpus = k.cpus.count;
  if (bits > 0 && cpus > 1 && 2 ** bits <= 2 * cpus) {
    k.report(`kernel: ${bits} ASID bits are too few for ${cpus} CPUs; ASIDs off, the TLB is flushed at every address-space switch`);
    return 0;
  }
  return bits;
}

/** The CPUs from the boot-info record; several only where the architecture layer has SMP operations. */
export function setUpCpus(k: Kernel, bootHwId: number, hwIds: readonly number[]): void {
  const ids = [bootHwId, ...hwIds.filter((id) => id !== bootHwId)];
  if (ids.length > 1 && k.arch.smp === undefined) {
    k.report(`kernel: ${ids.length} CPUs present; the ${k.arch.name} layer runs on the boot CPU only`);
    ids.length = 1;
  }
  k.cpus = new Cpus(ids, k.arch, k.timeslice);
  if (ids.length === 1) return;
  const smp = k.arch.smp!;
  k.smp = smp;
  smp.setCpuIndex(0);
  smp.enableIpi();
  const cpus = k.cpus;
  k.shootdown = new Shootdown(k.hal.tlb, { self: () => cpus.self, onlineMask: () => cpus.onlineMask(), hwId: (i) => cpus.list[i]!.hwId }, smp.remoteFlush);
  k.tlb = k.shootdown;
}

/** Starts every other CPU at the secondary entry (its physical address in the kernel image). */
export function startSecondaries(k: Kernel, kernelStart: number): void {
  if (k.smp === undefined) return;
  const offset = k.image.secondaryOffset;
  if (offset === undefined) throw new Error("kernel: several CPUs but no secondary entry in the image layout");
  for (const c of k.cpus.list.slice(1)) {
    if (!k.smp.startCpu(c.hwId, kernelStart + offset, c.index)) k.report(`kernel: cpu ${c.index} (hardware id ${c.hwId}) did not start`);
  }
}

/** Interrupts idle CPUs, one per process waiting for a CPU, so they pick them up. */
export function kickIdleCpus(k: Kernel): void {
  const waiting = k.procs.queuedCount();
  if (waiting === 0) return;
  const idle = k.cpus.idleUnkicked().slice(0, waiting);
  if (idle.length === 0) return;
  for (const c of idle) c.kicked = true;
  k.smp!.sendIpi(idle.map((c) => c.hwId));
}

/**
 * An ASID rollover: this CPU flushes now; every other CPU flushes before its next address-space
 * switch (Linux arm64 `tlb_flush_pending`), and keeps the ASID it runs (kernel/mm/asid.ts).
 */
export function asidRollover(k: Kernel): void {
  k.hal.tlb.flushAll();
  for (const c of k.cpus.list) if (c !== k.cpus.current && c.online) c.flushPending = true;
  k.shootdown?.rollover(k.procs.runningElsewhere().map(([i, q]) => [i, q.mm.space.asid] as const));
}
