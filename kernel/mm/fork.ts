/**
 * fork's half of the memory manager: the child gets a copy of the parent's areas and shares every
 * present user page with it. Writable pages become copy-on-write in *both* address spaces (the
 * first store on either side takes a fault that copies or, for the last sharer, reuses the frame);
 * read-only pages are simply shared. Each shared frame gains one reference per sharer.
 *
 * TLB: the child's new entries are flushed like any map (harmless for a fresh ASID, required if
 * the ASID is being reused); the parent's pages that lost WRITE are flushed page by page, because
 * the parent keeps running and its TLB may still hold writable translations of them.
 */
import type { AddressSpace } from "./vm/index.js";
import { ProcessMemory, pteFlags } from "./process-memory.js";
import { hex } from "./safety.js";

export type ForkResult =
  | { readonly ok: true; readonly child: ProcessMemory }
  | { readonly ok: false; readonly error: { readonly kind: "OutOfFrames"; readonly message: string } };

/**
 * Builds the child's memory in `childSpace` (a fresh, empty AddressSpace with its own ASID) from
 * `parent`. On OutOfFrames (no page-table page for the child) the child's space is destroyed and
 * every reference taken is dropped; the parent's pages already made copy-on-write stay so, which
 * only costs a cow-reuse fault later.
 *
 * @example
 * ```ts
 * const r = forkMemory(parentMm, AddressSpace.create({ arch, mem, frames, asid: 2 }).space);
 * if (r.ok) children.push(r.child);
 * ```
 */
export function forkMemory(parent: ProcessMemory, childSpace: AddressSpace, opts: { owner?: string } = {}): ForkResult {
  const child = new ProcessMemory({
    space: childSpace, frames: parent.frames, mem: parent.mem, tlb: parent.tlb,
    owner: opts.owner ?? parent.owner, vmas: parent.vmas.clone(), minAddress: parent.minAddress,
  });
  child.brkStart = parent.brkStart;
  child.brk = parent.brk;
  for (const vma of parent.vmas.all()) {
    const shared = pteFlags(vma.flags, true);
    for (const page of parent.presentPages(vma.start, vma.end)) {
      parent.frames.addRef(page.pa);
      if (!child.mapPage(page.va, page.pa, shared)) {
        parent.frames.freeFrame(page.pa);
        child.destroy();
        return { ok: false, error: { kind: "OutOfFrames", message: `fork: no page-table page to share ${hex(page.va)} of ${vma.name}` } };
      }
      if (page.flags !== shared) parent.reprotectPage(page.va, shared);
    }
  }
  for (const [va, pa] of parent.parked) {
    parent.frames.addRef(pa);
    child.parked.set(va, pa);
  }
  return { ok: true, child };
}
