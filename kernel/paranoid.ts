/**
 * Paranoid mode (KernelOptions.debug): after every trap the kernel checks its memory invariants and
 * oopses on the first trap that leaves one broken, so a bug is caught next to its cause.
 *
 * Checked, each against RAM:
 * - the frame allocator: bitmap vs its host summary and owner index (`frames.audit()`), and no
 *   use-after-free found by the debug poison;
 * - the kernel heap: every block, free list, red zone and counter (`heap.check()`), and its page
 *   table entries vs its table of backed pages;
 * - page tables vs reference counts: every frame a live process maps (or parks) is allocated and
 *   holds exactly one reference per mapping, a shared frame is never mapped writable, and each
 *   kernel stack holds one reference;
 * - TLB obligations: no flush token of the kernel's or a process's address space left unsettled;
 * - perf: no class has more fault traps recorded than the processes handled.
 * Cost: O(mapped user pages + RAM / 32768 + heap bytes) per trap; debug mode only.
 */
import type { TrapInfo } from "./arch/arch.js";
import type { Kernel } from "./kernel.js";
import { MemoryFlags as F } from "./mm/flags.js";
import { heapMemoryOf } from "./mm/kernel-heap.js";
import { hex } from "./mm/safety.js";

/** Every broken invariant, one line each; empty when all hold (or before memory is initialised). */
export function invariantProblems(k: Kernel): string[] {
  const mem = k.memory;
  if (mem === undefined) return [];
  const out = mem.frames.audit().map((p) => `frames: ${p}`);
  for (const c of mem.frames.corruptions) out.push(`frames: ${c.message}`);
  if (k.heap !== undefined) {
    for (const p of k.heap.check()) out.push(`heap: ${p}`);
    for (const p of heapMemoryOf(k.heap)?.verify() ?? []) out.push(`heap mapping: ${p}`);
  }
  const live = k.procs.processes().filter((p) => p.state !== "zombie");
  for (const t of mem.space.pendingFlushes()) out.push(`kernel space: TLB flush never settled: ${t.describe()}`);
  const refs = new Map<number, number>();
  const ref = (pa: number): void => { refs.set(pa, (refs.get(pa) ?? 0) + 1); };
  for (const p of live) {
    for (const t of p.mm.space.pendingFlushes()) out.push(`pid ${p.pid}: TLB flush never settled: ${t.describe()}`);
    for (const page of p.mm.presentPages(0n, p.mm.userEnd)) {
      ref(page.pa);
      if ((page.flags & F.WRITE) !== 0 && mem.frames.refCount(page.pa) > 1) {
        out.push(`pid ${p.pid}: page ${hex(page.va)} maps shared frame ${hex(page.pa)} writable`);
      }
    }
    for (const pa of p.mm.parked.values()) ref(pa);
    if (mem.frames.refCount(p.frame) !== 1) out.push(`pid ${p.pid}: kernel stack ${hex(p.frame)} has ${mem.frames.refCount(p.frame)} references, expected 1`);
  }
  for (const [pa, n] of refs) {
    const rc = mem.frames.refCount(pa);
    if (rc !== n) out.push(`frame ${hex(pa)} (owner ${mem.frames.ownerOf(pa) ?? "none: free"}) is mapped ${n} time(s) but has ${rc} reference(s)`);
  }
  out.push(...k.perf.inconsistencies(live.map((p) => p.mm.stats)));
  return out;
}

/**
 * Runs {@link invariantProblems}; when something is broken, logs every problem and oopses (the
 * machine stops with a non-zero status) and returns false, so the trap handler does not resume.
 */
export function invariantsHold(k: Kernel, t?: TrapInfo): boolean {
  const problems = invariantProblems(k);
  if (problems.length === 0) return true;
  for (const p of problems) k.report(`paranoid: ${p}`);
  k.oops(new Error(`paranoid check failed after ${t ? t.name : "boot"}: ${problems.length} problem(s); first: ${problems[0]}`), t);
  return false;
}
