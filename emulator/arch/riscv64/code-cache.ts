/**
 * The decode cache, native entries and fast-store rules the harts of one riscv64 machine share:
 * emulator/core/code-cache.ts's, for RV64 decoded pages and native entries, plus a count of decoded
 * pages per bucket of page numbers, so that a RAM write can tell cheaply that no decoded page (and
 * so no hart's fetch entry, which is always made from one) can be on the written page.
 */
import { CodeCache as SharedCode } from "../../core/code-cache.js";
import type { DecodedPage } from "./decode.js";
import type { Hart, NativeEntry } from "./hart.js";

/** Buckets of {@link CodeCache.mayHoldDecoded}: page number mod 4096. */
const BUCKETS = 4096;

export class CodeCache extends SharedCode<DecodedPage, NativeEntry, Hart> {
  /** Decoded pages per bucket (page number mod {@link BUCKETS}). */
  private readonly perBucket = new Uint32Array(BUCKETS);

  /** Records `page` as the decoded instructions of page `ppn` (not decoded yet). */
  addDecoded(ppn: number, page: DecodedPage): void {
    this.decoded.set(ppn, page);
    this.perBucket[ppn & (BUCKETS - 1)]!++; // ppn is an integer below 2^53: its low bits survive ToInt32
  }

  /** Drops the decoded instructions of page `ppn`; false if it had none. */
  dropDecoded(ppn: number): boolean {
    if (!this.decoded.delete(ppn)) return false;
    this.perBucket[ppn & (BUCKETS - 1)]!--;
    return true;
  }

  /** May a hart cache page `ppn` for fast stores? (The shared rule, asking the buckets first.) */
  override fastWritable(ppn: number): boolean {
    return !(this.mayHoldDecoded(ppn) && this.decoded.has(ppn)) && (this.guarded.size === 0 || !this.guarded.has(ppn));
  }

  /** False when page `ppn` certainly has no decoded instructions (true: it may have). */
  mayHoldDecoded(ppn: number): boolean {
    return this.perBucket[ppn & (BUCKETS - 1)] !== 0;
  }
}
