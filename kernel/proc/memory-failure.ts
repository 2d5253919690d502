/**
 * What the kernel does when the platform reports a bad frame (memory_failure(), in Linux's terms):
 * the frame is taken out of service for good, and whoever used it is moved or stopped.
 *
 * | the frame | corrected error (data still good) | uncorrected error (data lost) |
 * |---|---|---|
 * | free | withdrawn: never handed out again | the same |
 * | already retired (a second report) | nothing to do (reported) | the same |
 * | user data, mapped by processes | migrated: a new frame gets a copy, every mapping is re-pointed and flushed, the old frame retired | every process mapping it is killed with SIGBUS (as Linux's BUS_MCEERR_AR); the frame is retired once the last reference goes |
 * | anything else (page tables, kernel stacks, heap, kernel image) | reported, retired when freed | a kernel oops: the kernel cannot run without that memory (Linux panics too) |
 *
 * A migration that finds no free frame falls back to the uncorrected column. Reports go to the
 * kernel log ("kernel: memory error at 0x…: …").
 */
import type { MemoryError } from "../hal.js";
import type { Kernel } from "../kernel.js";
import { KernelPanic } from "../panic.js";
import { hex } from "../mm/safety.js";
import { MemoryRegionKind } from "../mm/phys/regions.js";
import type { PresentPage } from "../mm/process-memory.js";
import { ownerPid } from "./leaks.js";
import type { Process } from "./process.js";
import { SIGBUS } from "./signals.js";


/** What was done about one error. */
export type MemoryFailureAction = "withdrawn" | "migrated" | "killed" | "retire-on-free";

interface Mapping {
  p: Process;
  page: PresentPage;
}

/** Every present user page of a live process that maps `pa`. */
function mappingsOf(k: Kernel, pa: number): Mapping[] {
  const out: Mapping[] = [];
  for (const p of k.procs.processes()) {
    if (p.state === "zombie") continue;
    for (const page of p.mm.presentPages(0n, p.mm.userEnd)) if (page.pa === pa) out.push({ p, page });
  }
  return out;
}

/**
 * Handles one reported error (see the table above) and returns what it did. Throws KernelPanic for
 * an uncorrected error in memory the kernel itself needs.
 */
export function memoryFailure(k: Kernel, e: MemoryError): MemoryFailureAction {
  const frames = k.memory!.frames;
  const pa = Math.floor(e.pa / 4096) * 4096;
  const where = `kernel: memory error at ${hex(e.pa)} (${e.corrected ? "corrected" : "uncorrected"})`;
  // A second report of a frame already out of service (two errors queued before the first was
  // handled; Linux's "already hardware poisoned"): nobody uses it, nothing more to do.
  if (frames.regions.some((r) => r.kind === MemoryRegionKind.BadMemory && pa >= r.base && pa < r.base + r.size)) {
    k.report(`${where}: frame already retired`);
    return "withdrawn";
  }
  if (frames.refCount(pa) === 0) {
    frames.retire(pa);
    k.report(`${where}: free frame withdrawn`);
    return "withdrawn";
  }
  const owner = frames.ownerOf(pa) ?? "";
  const mappings = mappingsOf(k, pa);
  const userFrame = mappings.length > 0 || /^pid \d+$/.test(owner);
  if (!userFrame) {
    if (!e.corrected) throw new KernelPanic(`${where}: frame of "${owner}" is kernel memory`);
    frames.retire(pa);
    k.report(`${where}: frame of "${owner}" is kernel memory; retired when freed`);
    return "retire-on-free";
  }
  if (e.corrected && migrate(k, pa, owner, mappings)) {
    k.report(`${where}: ${mappings.length} mapping${mappings.length === 1 ? "" : "s"} moved to a new frame; frame retired`);
    return "migrated";
  }
  frames.retire(pa);
  const victims = new Set(mappings.map((m) => m.p));
  const pid = ownerPid(owner);
  const ownerProc = pid === undefined ? undefined : k.procs.get(pid);
  if (ownerProc !== undefined && ownerProc.state !== "zombie") victims.add(ownerProc);
  for (const p of victims) k.kill(p, SIGBUS, `memory error at ${hex(e.pa)}: page lost`);
  k.report(`${where}: ${victims.size} process${victims.size === 1 ? "" : "es"} killed; frame ${frames.refCount(pa) === 0 ? "retired" : "retired when freed"}`);
  return "killed";
}

/**
 * Copies the frame to a new one and re-points every mapping at it (one reference each), flushing
 * each page before the old reference is dropped; the old frame is retired as its last reference
 * goes. False, with nothing changed, when there is no free frame or the frame has references this
 * scan cannot account for (parked pages).
 */
function migrate(k: Kernel, pa: number, owner: string, mappings: Mapping[]): boolean {
  const frames = k.memory!.frames;
  if (mappings.length === 0 || frames.refCount(pa) !== mappings.length) return false;
  const fresh = frames.allocateFrame(owner || undefined);
  if (fresh === undefined) return false;
  k.hal.copy(fresh, pa, 4096);
  for (let i = 1; i < mappings.length; i++) frames.addRef(fresh);
  frames.retire(pa);
  for (const { p, page } of mappings) {
    p.mm.replacePage(page.va, fresh, page.flags);
    frames.freeFrame(pa);
  }
  return true;
}
