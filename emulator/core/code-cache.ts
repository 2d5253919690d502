/**
 * What the processors of one machine share about physical memory: the decode cache (decoded pages
 * are a function of RAM contents alone), the native entries, and the pages no processor may write
 * through its host fast path. The same for every architecture; `P` is the decoded page, `N` the
 * native entry.
 *
 * A host fast-path store bypasses the bus, so nothing derived from RAM would see it. Every
 * processor therefore keeps fast store entries only for pages that are neither decoded (by any
 * processor) nor holding an exclusive reservation (LR on RISC-V, LDXR on AArch64) of any
 * processor: stores to those go through the bus, where the machine drops stale decoded pages and
 * breaks other processors' reservations. With one processor this reduces to the single-processor
 * rule (its own decoded pages).
 */

/** A processor with host fast-path store entries. */
export interface FastStoreOwner {
  dropFastStores(): void;
}

export class CodeCache<P, N, H extends FastStoreOwner = FastStoreOwner> {
  /** Physical page number → decoded instructions. */
  readonly decoded = new Map<number, P>();
  /** Native entries: physical address → index into {@link nativeFns}. */
  readonly nativeAt = new Map<number, number>();
  readonly nativeFns: N[] = [];
  /** Pages that held a reservation while more than one processor existed: never written through a fast path. */
  readonly guarded = new Set<number>();
  /** The processors sharing this cache. */
  readonly harts: H[] = [];

  /** May a processor cache page `ppn` for fast stores? */
  fastWritable(ppn: number): boolean {
    return !this.decoded.has(ppn) && !this.guarded.has(ppn);
  }

  /** A page became decoded or guarded: every processor drops its fast store entries. */
  dropFastStores(): void {
    for (const h of this.harts) h.dropFastStores();
  }

  /** A reservation was taken on `pa`: with other processors present, their stores to its page must reach the bus. */
  reserved(pa: number): void {
    if (this.harts.length < 2) return;
    const ppn = Math.floor(pa / 4096);
    if (this.guarded.has(ppn)) return;
    this.guarded.add(ppn);
    this.dropFastStores();
  }
}
