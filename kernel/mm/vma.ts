/**
 * Virtual memory areas: the per-process list of what user addresses *mean* (text, data, heap, an
 * anonymous mapping, the stack), independent of which pages are present in the page table. The
 * fault handler consults it to decide between demand-zero, stack growth and a kill; mmap, munmap,
 * mprotect and brk edit it.
 *
 * ```
 *  floor                                                              userEnd
 *   │ text │ data │ bss │ heap→ … ←mmap … mmap │ guard │ growth room │ stack │
 *                                              └───── reserved by the stack VMA ─────┘
 * ```
 *
 * Invariants: areas are page-aligned, non-empty, sorted by start, and their *reservations* do not
 * overlap. An area's reservation is `[start, end)`, except for a grows-down area (the stack), whose
 * reservation reaches down to `limit - guard`: the growth room `[limit, start)` and the guard gap
 * `[limit - guard, limit)` below it belong to nobody else, so growth never collides with an mmap and
 * a stack overflow always lands on the guard.
 *
 * Areas are immutable values; every edit replaces them. All addresses are unsigned bigints.
 */
import { type MemoryFlags, MemoryFlags as F } from "./flags.js";
import { hex } from "./safety.js";

/** The base page, as a bigint. User memory is mapped in 4 KiB pages only. */
export const PAGE = 4096n;

/** `va` rounded down to a page boundary. */
export const pageDown = (va: bigint): bigint => va - (va % PAGE);
/** `va` rounded up to a page boundary. */
export const pageUp = (va: bigint): bigint => pageDown(va + PAGE - 1n);

/** What an area holds (for reports and for brk, which edits the "heap" area). */
export type VmaKind = "text" | "data" | "bss" | "heap" | "stack" | "mmap";

/** One virtual memory area. */
export interface Vma {
  /** First byte (page-aligned). */
  readonly start: bigint;
  /** One past the last byte (page-aligned, > start). */
  readonly end: bigint;
  /** Permissions the process may have here (USER included); PTEs may grant less (copy-on-write). */
  readonly flags: MemoryFlags;
  readonly kind: VmaKind;
  /** Shown in reports ("text", "stack", "[anon]"…). */
  readonly name: string;
  /** "down": a fault in `[limit, start)` grows the area (the stack). */
  readonly grows?: "down";
  /** Grows-down only: the lowest `start` the area may reach. */
  readonly limit?: bigint;
  /** Grows-down only: bytes below `limit` kept unmapped (at least one page). */
  readonly guard?: bigint;
}

/** Why a list edit was refused; the message names the offending range and area. */
export interface VmaError {
  readonly kind: "Misaligned" | "Overlap" | "NotMapped" | "BadGrowth";
  readonly message: string;
}

export type VmaResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: VmaError };

/** Where an address falls relative to the areas. */
export type VmaLookup =
  | { readonly kind: "inside"; readonly vma: Vma }
  /** In the growth room of a grows-down area. */
  | { readonly kind: "growth"; readonly vma: Vma }
  /** In the guard gap below a grows-down area's limit. */
  | { readonly kind: "guard"; readonly vma: Vma }
  | { readonly kind: "none" };

/** `/proc/pid/maps` style permissions: "r-x", "rw-", "---". */
export function protString(flags: MemoryFlags): string {
  return `${flags & F.READ ? "r" : "-"}${flags & F.WRITE ? "w" : "-"}${flags & F.EXECUTE ? "x" : "-"}`;
}

/** One line for reports, e.g. "text [0x10000, 0x11000) r-x". */
export function describeVma(v: Vma): string {
  return `${v.name} [${hex(v.start)}, ${hex(v.end)}) ${protString(v.flags)}`;
}

/** First address an area reserves (its start, or the bottom of its guard gap if it grows down). */
export function reservedStart(v: Vma): bigint {
  return v.grows === "down" ? v.limit! - v.guard! : v.start;
}

const err = <T>(kind: VmaError["kind"], message: string): VmaResult<T> => ({ ok: false, error: { kind, message } });
const isPage = (v: bigint): boolean => v >= 0n && v % PAGE === 0n;

/** The part `[start, end)` of `v`; only the piece keeping `v.start` keeps the ability to grow down. */
function slice(v: Vma, start: bigint, end: bigint, flags = v.flags): Vma {
  const base = { start, end, flags, kind: v.kind, name: v.name };
  return v.grows === "down" && start === v.start ? { ...base, grows: "down", limit: v.limit!, guard: v.guard! } : base;
}

/**
 * The areas of one process.
 *
 * @example
 * ```ts
 * const vmas = new VmaList();
 * vmas.insert({ start: 0x10000n, end: 0x11000n, flags: MemoryFlags.userRx(), kind: "text", name: "text" });
 * vmas.find(0x10008n)?.name; // "text"
 * ```
 */
export class VmaList {
  private list: Vma[] = [];

  /** The areas in address order. */
  all(): readonly Vma[] {
    return this.list;
  }

  get size(): number {
    return this.list.length;
  }

  /** A copy for fork (areas are immutable, so they are shared). */
  clone(): VmaList {
    const c = new VmaList();
    c.list = [...this.list];
    return c;
  }

  /** The area containing `va`, or undefined. */
  find(va: bigint): Vma | undefined {
    const l = this.lookup(va);
    return l.kind === "inside" ? l.vma : undefined;
  }

  /**
   * The area containing `va` (a number below 2^53): the same answer as `find(BigInt(va))`, without a
   * bigint when `va` is in the area found last (the fault path's common case). The remembered area
   * is used only while it is still at the same place in the list; since areas never overlap, an
   * area still in the list is the only one that can contain `va`.
   */
  findNumber(va: number): Vma | undefined {
    const hit = this.hit;
    if (hit !== undefined && va >= this.hitStart && va < this.hitEnd && this.list[this.hitIndex] === hit) return hit;
    const big = BigInt(va);
    const i = this.firstEndingAfter(big);
    const v = this.list[i];
    if (v === undefined || big < v.start) return undefined;
    this.hit = v;
    this.hitIndex = i;
    this.hitStart = Number(v.start);
    this.hitEnd = Number(v.end);
    return v;
  }

  /** The area {@link findNumber} found last, its index in the list, and its bounds as numbers. */
  private hit: Vma | undefined;
  private hitIndex = -1;
  private hitStart = 0;
  private hitEnd = 0;

  /** Where `va` falls: inside an area, in a stack's growth room or guard gap, or nowhere. */
  lookup(va: bigint): VmaLookup {
    const i = this.firstEndingAfter(va);
    const v = this.list[i];
    if (v === undefined) return { kind: "none" };
    if (va >= v.start) return { kind: "inside", vma: v };
    if (v.grows === "down") {
      if (va >= v.limit!) return { kind: "growth", vma: v };
      if (va >= v.limit! - v.guard!) return { kind: "guard", vma: v };
    }
    return { kind: "none" };
  }

  /** The area whose reservation overlaps `[start, end)`, if any. */
  overlapping(start: bigint, end: bigint): Vma | undefined {
    for (let i = this.firstEndingAfter(start); i < this.list.length; i++) {
      const v = this.list[i]!;
      if (reservedStart(v) < end) return v;
      if (v.start >= end) break;
    }
    return undefined;
  }

  /** True when no reservation overlaps `[start, end)`. */
  isFree(start: bigint, end: bigint): boolean {
    return this.overlapping(start, end) === undefined;
  }

  /** Adds an area. Refuses a misaligned or empty range, bad growth fields, or any overlap. */
  insert(v: Vma): VmaResult<Vma> {
    if (!isPage(v.start) || !isPage(v.end) || v.end <= v.start) return err("Misaligned", `vma: [${hex(v.start)}, ${hex(v.end)}) is not a non-empty page-aligned range`);
    if (v.grows === "down") {
      const { limit, guard } = v;
      if (limit === undefined || guard === undefined || !isPage(limit) || !isPage(guard) || guard === 0n || limit > v.start || limit - guard < 0n) {
        return err("BadGrowth", `vma: ${v.name} at ${hex(v.start)} grows down but limit ${limit === undefined ? "none" : hex(limit)} / guard ${guard === undefined ? "none" : hex(guard)} are not page-aligned, below start, with a guard of at least a page`);
      }
    }
    const other = this.overlapping(reservedStart(v), v.end);
    if (other !== undefined) return err("Overlap", `vma: ${v.name} [${hex(reservedStart(v))}, ${hex(v.end)}) overlaps ${describeVma(other)}`);
    this.list.splice(this.firstEndingAfter(v.start), 0, v);
    return { ok: true, value: v };
  }

  /**
   * Removes `[start, end)` from every area it touches, splitting areas at the edges (munmap).
   * Returns the pieces removed, so the caller can unmap their pages. Holes are fine.
   */
  remove(start: bigint, end: bigint): VmaResult<Vma[]> {
    if (!isPage(start) || !isPage(end) || end <= start) return err("Misaligned", `munmap: [${hex(start)}, ${hex(end)}) is not a non-empty page-aligned range`);
    const removed: Vma[] = [];
    const kept: Vma[] = [];
    for (const v of this.list) {
      if (v.end <= start || v.start >= end) { kept.push(v); continue; }
      if (v.start < start) kept.push(slice(v, v.start, start));
      removed.push(slice(v, v.start > start ? v.start : start, v.end < end ? v.end : end));
      if (v.end > end) kept.push(slice(v, end, v.end));
    }
    this.list = kept;
    return { ok: true, value: removed };
  }

  /**
   * Gives `[start, end)` the permissions `flags`, splitting areas at the edges (mprotect).
   * Refuses with NotMapped, changing nothing, when part of the range is in no area (Linux: ENOMEM).
   * Returns the pieces as they now are.
   */
  protect(start: bigint, end: bigint, flags: MemoryFlags): VmaResult<Vma[]> {
    if (!isPage(start) || !isPage(end) || end <= start) return err("Misaligned", `mprotect: [${hex(start)}, ${hex(end)}) is not a non-empty page-aligned range`);
    let at = start;
    for (const v of this.list) {
      if (v.end <= at || v.start >= end) continue;
      if (v.start > at) break;
      at = v.end;
    }
    if (at < end) return err("NotMapped", `mprotect: [${hex(start)}, ${hex(end)}) is not fully mapped: nothing at ${hex(at)}`);
    const changed: Vma[] = [];
    const next: Vma[] = [];
    for (const v of this.list) {
      if (v.end <= start || v.start >= end) { next.push(v); continue; }
      if (v.start < start) next.push(slice(v, v.start, start));
      const piece = slice(v, v.start > start ? v.start : start, v.end < end ? v.end : end, flags);
      next.push(piece);
      changed.push(piece);
      if (v.end > end) next.push(slice(v, end, v.end));
    }
    this.list = next;
    return { ok: true, value: changed };
  }

  /** Lowers the start of grows-down area `v` to `newStart` (page-aligned, not below its limit). */
  growDown(v: Vma, newStart: bigint): VmaResult<Vma> {
    const i = this.list.indexOf(v);
    if (i < 0 || v.grows !== "down") throw new Error(`VmaList.growDown: ${describeVma(v)} is not a grows-down area of this list`);
    if (!isPage(newStart) || newStart >= v.start || newStart < v.limit!) {
      return err("BadGrowth", `stack: cannot grow ${describeVma(v)} down to ${hex(newStart)} (limit ${hex(v.limit!)})`);
    }
    const grown: Vma = { ...v, start: newStart };
    this.list[i] = grown;
    return { ok: true, value: grown };
  }

  /**
   * Sets the end of the heap area that starts at `start` to `newEnd` (brk): creates it, grows it
   * (refusing Overlap with the next area), shrinks it, or removes it when `newEnd <= start`.
   * Returns the previous end (`start` if there was no heap). The caller unmaps what a shrink freed.
   */
  resizeHeap(start: bigint, newEnd: bigint, flags: MemoryFlags): VmaResult<bigint> {
    if (!isPage(start) || !isPage(newEnd)) return err("Misaligned", `brk: heap [${hex(start)}, ${hex(newEnd)}) is not page-aligned`);
    const i = this.list.findIndex((v) => v.kind === "heap" && v.start === start);
    const heap = i < 0 ? undefined : this.list[i]!;
    const oldEnd = heap?.end ?? start;
    if (newEnd > oldEnd) {
      const other = this.overlapping(oldEnd, newEnd);
      if (other !== undefined) return err("Overlap", `brk: growing the heap to ${hex(newEnd)} would overlap ${describeVma(other)}`);
    }
    if (newEnd <= start) {
      if (heap !== undefined) this.list.splice(i, 1);
    } else if (heap !== undefined) {
      this.list[i] = { ...heap, end: newEnd };
    } else {
      this.list.splice(this.firstEndingAfter(start), 0, { start, end: newEnd, flags, kind: "heap", name: "heap" });
    }
    return { ok: true, value: oldEnd };
  }

  /**
   * A free page-aligned place for `size` bytes (a positive page multiple) inside `[floor, ceiling)`:
   * `hint` rounded up to a page when that range is free, else the highest free gap (top-down, as
   * Linux places mmaps below the stack). Undefined when nothing fits.
   */
  findFree(size: bigint, hint: bigint | undefined, floor: bigint, ceiling: bigint): bigint | undefined {
    if (!isPage(size) || size === 0n) throw new RangeError(`VmaList.findFree: size ${hex(size)} is not a positive page multiple`);
    if (hint !== undefined && hint !== 0n) {
      const h = pageUp(hint);
      if (h >= floor && h + size <= ceiling && this.isFree(h, h + size)) return h;
    }
    let top = ceiling;
    for (let i = this.list.length - 1; i >= 0; i--) {
      const v = this.list[i]!;
      const bottom = reservedStart(v);
      if (bottom >= top) continue;
      const gapBottom = v.end > floor ? v.end : floor;
      if (v.end < top && top - gapBottom >= size) return top - size;
      top = bottom;
      if (top <= floor) return undefined;
    }
    return top - floor >= size ? top - size : undefined;
  }

  /** Index of the first area whose end is above `va` (binary search). */
  private firstEndingAfter(va: bigint): number {
    let lo = 0, hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.list[mid]!.end <= va) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
