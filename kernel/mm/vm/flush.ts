/**
 * The TLB obligation of a page-table change, made visible (after rust-osdev/x86_64 `MapperFlush`).
 * `map`, `unmap`, `protect` and `destroy` return a {@link TlbFlush}; the caller must `flush(tlb)` it
 * or `ignore()` it. TypeScript has no `#[must_use]`, so an AddressSpace in debug mode keeps every
 * token that is neither and lists them in `pendingFlushes()`.
 *
 * Frames the change released (emptied page tables, and leaf frames when the caller asked unmap to
 * free them) are handed back to the FrameSource only when the token is settled, never before:
 * "unhook, invalidate, free" (Linux include/asm-generic/tlb.h), so no stale translation can reach a
 * reused frame. `ignore()` is the caller's statement that no translation can remain (for example a
 * destroyed space whose ASID will be flushed before reuse), so it frees them too.
 *
 * Flush policy ({@link TlbFlush.operation}), with `ceiling` = {@link FLUSH_CEILING} by default:
 * 1. Nothing changed: no operation.
 * 2. The whole address space must go (one `flushAsid`) when the space was destroyed, when a table
 *    was unhooked and the architecture's page flush does not reach cached non-leaf entries (RISC-V:
 *    SFENCE.VMA rs1≠x0 orders leaf entries only; Linux riscv `tlb_flush` does `flush_tlb_mm` when
 *    `freed_tables`), or when more than `ceiling` leaves changed.
 * 3. Otherwise one `flushPage(va, asid)` per changed leaf (a superpage needs one: the invalidation
 *    hits any entry containing the VA).
 * 4. If a global translation changed and the per-page form spares globals (RISC-V rs2≠x0 does, and
 *    `flushAsid` spares them by definition), a single `flushAll` replaces 2 or 3.
 * The ceiling follows Linux `tlb_single_page_flush_ceiling` (33 on x86, 32 on powerpc radix): past
 * a few dozen single invalidations, one ASID-wide flush is cheaper than the loop, and the refill cost
 * falls on this address space only.
 */
import type { TlbControl } from "../../hal.js";
import { hex } from "../safety.js";
import type { FlushCapabilities } from "./arch.js";

/** Leaves changed above this count are flushed with one ASID-wide operation. */
export const FLUSH_CEILING = 32;

/** What `flush` does. */
export type FlushOperation = "none" | "pages" | "asid" | "all";
/** A token's life: pending until flushed or ignored, exactly once. */
export type FlushState = "pending" | "flushed" | "ignored";
/** The change that produced a token. */
export type FlushCause = "map" | "unmap" | "protect" | "remap" | "destroy";

/** One changed leaf translation. */
export interface FlushedPage {
  readonly va: bigint;
  /** Bytes the leaf maps (4 KiB, 2 MiB, 1 GiB). */
  readonly size: bigint;
}

/** Everything a token is built from; public so other mappers can return tokens too. */
export interface TlbFlushInit {
  readonly cause: FlushCause;
  readonly asid: number;
  readonly pages: readonly FlushedPage[];
  /** A global translation (G=1 leaf or path) changed. */
  readonly global: boolean;
  /** A non-leaf entry was cleared (a page-table page was unhooked). */
  readonly tablesFreed: boolean;
  /** The whole address space is gone (destroy). */
  readonly wholeSpace?: boolean;
  readonly capabilities: FlushCapabilities;
  /** Defaults to {@link FLUSH_CEILING}. */
  readonly ceiling?: number;
  /** Runs once when the token is settled, after the invalidation: frees deferred frames. */
  readonly release?: () => void;
  /** Told when the token is settled (the owning space's pending list). */
  readonly onSettle?: (token: TlbFlush) => void;
}

/**
 * A pending TLB invalidation for one page-table change.
 *
 * @example
 * ```ts
 * const r = space.map(va, pa, 0x1000n, MemoryFlags.userRw());
 * if (r.ok) r.flush.flush(hal.tlb);
 * ```
 */
export class TlbFlush {
  readonly cause: FlushCause;
  /** The ASID of the space when the change was made. */
  readonly asid: number;
  readonly pages: readonly FlushedPage[];
  readonly global: boolean;
  readonly tablesFreed: boolean;
  readonly wholeSpace: boolean;
  readonly ceiling: number;
  private readonly capabilities: FlushCapabilities;
  private readonly release: (() => void) | undefined;
  private readonly onSettle: ((token: TlbFlush) => void) | undefined;
  private current: FlushState = "pending";

  constructor(init: TlbFlushInit) {
    this.cause = init.cause;
    this.asid = init.asid;
    this.pages = init.pages;
    this.global = init.global;
    this.tablesFreed = init.tablesFreed;
    this.wholeSpace = init.wholeSpace ?? false;
    this.ceiling = init.ceiling ?? FLUSH_CEILING;
    this.capabilities = init.capabilities;
    this.release = init.release;
    this.onSettle = init.onSettle;
  }

  get state(): FlushState {
    return this.current;
  }

  /** The operation {@link flush} will perform, by the policy in the module comment. */
  get operation(): FlushOperation {
    const caps = this.capabilities;
    if (this.pages.length === 0 && !this.tablesFreed && !this.wholeSpace) return "none";
    const whole = this.wholeSpace || (this.tablesFreed && !caps.pageFlushCoversTables) || this.pages.length > this.ceiling;
    if (this.global && (whole || !caps.pageFlushCoversGlobal)) return "all";
    return whole ? "asid" : "pages";
  }

  /**
   * Performs the invalidation on `tlb`, then frees the frames the change released.
   * Returns the operation used. Throws Error if the token was already settled.
   */
  flush(tlb: TlbControl): FlushOperation {
    this.settle("flushed");
    const op = this.operation;
    if (op === "pages") {
      if (tlb.flushPages) tlb.flushPages(this.pages, this.asid);
      else for (const p of this.pages) tlb.flushPage(p.va, this.asid);
    }
    else if (op === "asid") tlb.flushAsid(this.asid);
    else if (op === "all") tlb.flushAll();
    this.release?.();
    return op;
  }

  /**
   * Settles the token without TLB maintenance: the caller asserts no stale translation can be used
   * (e.g. invalid→valid changes it accepts spurious faults for, ARCH-SPEC §4.7, or an ASID flushed
   * before reuse). Released frames are freed now. Throws Error if the token was already settled.
   */
  ignore(): void {
    this.settle("ignored");
    this.release?.();
  }

  /** One line for reports: cause, page count, first VA, ASID, state. */
  describe(): string {
    const first = this.pages[0];
    const where = first === undefined ? "" : ` from ${hex(first.va)}`;
    const tables = this.tablesFreed ? ", tables freed" : "";
    return `${this.cause} of ${this.pages.length} page(s)${where} (asid ${this.asid}${this.global ? ", global" : ""}${tables}): ${this.current}`;
  }

  private settle(to: FlushState): void {
    if (this.current !== "pending") throw new Error(`TlbFlush: cannot mark ${to}: ${this.describe()}`);
    this.current = to;
    this.onSettle?.(this);
  }
}
