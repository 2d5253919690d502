/**
 * What the harts of one machine share about physical memory: the decode cache (decoded pages are a
 * function of RAM contents alone), the native entries, and the pages no hart may write through its
 * host fast path.
 *
 * A host fast-path store bypasses the bus, so nothing derived from RAM would see it. Every hart
 * therefore keeps fast store entries only for pages that are neither decoded (by any hart) nor
 * holding an LR reservation (of any hart): stores to those go through the bus, where the machine
 * drops stale decoded pages and breaks other harts' reservations. With one hart this reduces to
 * the single-hart rule (its own decoded pages).
 */
import type { DecodedPage } from "./decode.js";
import type { Hart, NativeEntry } from "./hart.js";

export class CodeCache {
  /** Physical page number → decoded instructions. */
  readonly decoded = new Map<number, DecodedPage>();
  /** Native entries: physical address → index into {@link nativeFns}. */
  readonly nativeAt = new Map<number, number>();
  readonly nativeFns: NativeEntry[] = [];
  /** Pages that held an LR reservation while more than one hart existed: never written through a fast path. */
  readonly guarded = new Set<number>();
  /** The harts sharing this cache. */
  readonly harts: Hart[] = [];

  /** May a hart cache page `ppn` for fast stores? */
  fastWritable(ppn: number): boolean {
    return !this.decoded.has(ppn) && !this.guarded.has(ppn);
  }

  /** A page became decoded or guarded: every hart drops its fast store entries. */
  dropFastStores(): void {
    for (const h of this.harts) h.dropFastStores();
  }

  /** An LR reserved `pa`: with other harts present, their stores to its page must reach the bus. */
  reserved(pa: number): void {
    if (this.harts.length < 2) return;
    const ppn = Math.floor(pa / 4096);
    if (this.guarded.has(ppn)) return;
    this.guarded.add(ppn);
    this.dropFastStores();
  }
}
