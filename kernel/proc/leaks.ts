/**
 * Leak detection by owner: frames carry their owner in the frame records and heap blocks in their
 * headers, and a process's kernel objects are owned by `pid N` (its data frames and heap blocks)
 * or `pid N …` (its kernel stack). Once process N has exited and its memory is reclaimed, anything
 * still held under those names is a leak — except frames another live process still maps: a
 * copy-on-write page keeps the owner that allocated it, and outlives that owner when a child or
 * parent still shares it.
 *
 * Reported at each exit ({@link checkExitLeaks}) and on demand ({@link leakReport}), through the
 * kernel log. Page-table pages are owned by "page table" in every address space, so a leaked table
 * page cannot be pinned on a process here (the frame totals still show it).
 */
import type { Kernel } from "../kernel.js";
import { heapMemoryOf } from "../mm/kernel-heap.js";
import { hex } from "../mm/safety.js";
import type { Process } from "./process.js";

/** Addresses listed per line at most. */
const LIST_MAX = 16;

/** What an exited owner still holds. */
export interface OwnerLeak {
  readonly owner: string;
  /** Physical addresses of leaked frames, ascending. */
  readonly frames: readonly number[];
  /** Leaked heap blocks: kernel VA and requested bytes. */
  readonly heapBlocks: readonly { readonly va: bigint; readonly size: number }[];
}

/** True when `owner` names process `pid`: "pid N" or "pid N <what>". */
export function ownedBy(owner: string, pid: number): boolean {
  const name = `pid ${pid}`;
  return owner === name || owner.startsWith(name + " ");
}

/** The pid an owner name belongs to, or undefined for a kernel-wide owner ("page table", …). */
export function ownerPid(owner: string): number | undefined {
  const m = /^pid (\d+)(?: |$)/.exec(owner);
  return m === null ? undefined : Number(m[1]);
}

/** Frames mapped (or parked) by processes that are not zombies: shared pages outlive their allocator. */
function framesStillMapped(k: Kernel): Set<number> {
  const out = new Set<number>();
  for (const p of k.procs.processes()) {
    if (p.state === "zombie") continue;
    for (const page of p.mm.presentPages(0n, p.mm.userEnd)) out.add(page.pa);
    for (const pa of p.mm.parked.values()) out.add(pa);
  }
  return out;
}

/** The leaks of the owners `dead` selects, one entry per owner holding something. */
function leaksOfOwners(k: Kernel, dead: (owner: string) => boolean): OwnerLeak[] {
  const frames = k.memory!.frames;
  const heap = k.heap;
  const owners = new Set<string>([...frames.allocationsByOwner().keys()].filter(dead));
  if (heap !== undefined) for (const owner of heap.liveByOwner().keys()) if (dead(owner)) owners.add(owner);
  let mapped: Set<number> | undefined;
  const out: OwnerLeak[] = [];
  for (const owner of owners) {
    let held = frames.leaksOf(owner);
    if (held.length > 0) {
      mapped ??= framesStillMapped(k);
      held = held.filter((pa) => !mapped!.has(pa));
    }
    const mem = heap === undefined ? undefined : heapMemoryOf(heap);
    const blocks = heap === undefined ? [] : heap.liveBlocksOf(owner).map((b) => ({ va: mem ? mem.vaOf(b.addr) : BigInt(b.addr), size: b.size }));
    if (held.length > 0 || blocks.length > 0) out.push({ owner, frames: held, heapBlocks: blocks });
  }
  return out;
}

/** "0x1, 0x2, … (n more)". */
function list(items: readonly string[]): string {
  const shown = items.slice(0, LIST_MAX).join(", ");
  return items.length > LIST_MAX ? `${shown}, … (${items.length - LIST_MAX} more)` : shown;
}

/** Report lines for `leaks`, each starting with `prefix`. */
function describeLeaks(prefix: string, leaks: readonly OwnerLeak[]): string[] {
  const lines: string[] = [];
  for (const l of leaks) {
    if (l.frames.length > 0) {
      lines.push(`${prefix} ${l.frames.length} frame${l.frames.length === 1 ? "" : "s"} of "${l.owner}": ${list(l.frames.map((pa) => hex(pa)))}`);
    }
    if (l.heapBlocks.length > 0) {
      const n = l.heapBlocks.length;
      lines.push(`${prefix} ${n} heap block${n === 1 ? "" : "s"} of "${l.owner}": ${list(l.heapBlocks.map((b) => `${hex(b.va)} (${b.size} bytes)`))}`);
    }
  }
  return lines;
}

/**
 * The exit check: after `p`'s memory, kernel stack and record are released, whatever its owner
 * names still hold is logged as a leak. Returns the lines logged (empty when nothing leaked).
 */
export function checkExitLeaks(k: Kernel, p: Process): string[] {
  const lines = describeLeaks(`kernel: leak: pid ${p.pid} exited holding`, leaksOfOwners(k, (o) => ownedBy(o, p.pid)));
  for (const line of lines) k.report(line);
  return lines;
}

/** True when the owner belongs to a process that no longer runs (exited, zombie or reaped). */
function exitedOwner(k: Kernel, owner: string): boolean {
  const pid = ownerPid(owner);
  if (pid === undefined) return false;
  const p = k.procs.get(pid);
  return p === undefined || p.state === "zombie";
}

/**
 * The on-demand report: frames and heap blocks in use per owner, then every leak (what owners of
 * exited processes still hold). Each line is also logged. The first line sums up.
 */
export function leakReport(k: Kernel): string[] {
  const frames = k.memory!.frames;
  const byFrames = frames.allocationsByOwner();
  const byHeap = k.heap?.liveByOwner() ?? new Map();
  const owners = [...new Set([...byFrames.keys(), ...byHeap.keys()])];
  const leaks = leaksOfOwners(k, (o) => exitedOwner(k, o));
  const used = frames.getMemoryStats().usedFrames;
  const heap = k.heap?.stats();
  const lines = [
    `leak report: ${used} frames in use${heap ? `, heap ${heap.usedBlocks} blocks (${heap.bytesInUse} bytes) in use` : ""}, ${leaks.length} owner(s) of exited processes leaking`,
  ];
  for (const owner of owners) {
    const f = byFrames.get(owner) ?? 0;
    const h = byHeap.get(owner);
    lines.push(`  "${owner || "(no owner)"}": ${f} frame${f === 1 ? "" : "s"}${h ? `, ${h.count} heap block${h.count === 1 ? "" : "s"} (${h.bytes} bytes)` : ""}`);
  }
  lines.push(...describeLeaks("  leak:", leaks));
  for (const line of lines) k.report(line);
  return lines;
}
