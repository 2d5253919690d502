/**
 * The memory of one process: its address space (page tables), its areas (VMAs), and the shared
 * frame pool. This file holds the page-level helpers everything else builds on and the operations
 * behind brk, mmap, munmap and mprotect; the fault handler is fault.ts, fork is fork.ts.
 *
 * Invariants kept here:
 * - User memory is mapped in 4 KiB leaves only, each holding one reference to its frame.
 * - A present page's PTE grants what its area grants, except that a page of a writable area whose
 *   frame is shared (reference count > 1) is mapped read-only with COPY_ON_WRITE (see
 *   {@link pteFlags}). The reference count is the truth; the COW bit marks where to look.
 * - Pages of an area that grants no access at all (PROT_NONE) cannot be expressed as a leaf
 *   (XWR=000 is a table pointer on RISC-V), so they are unmapped and their frames *parked* by VA
 *   until mprotect grants access again or the range is unmapped.
 * - Every page-table change is followed by the TLB maintenance its {@link TlbFlush} calls for;
 *   no token is ignored. Frames are freed after the invalidation (the token's order).
 */
import type { PhysMemory, TlbControl } from "../hal.js";
import { KernelPanic } from "../panic.js";
import { type MemoryFlags, MemoryFlags as F } from "./flags.js";
import type { SharedFrames } from "./frames.js";
import { hex, userEnd } from "./safety.js";
import { type AddressSpace } from "./vm/index.js";
import { PAGE, pageDown, pageUp, reservedStart, type Vma, VmaList } from "./vma.js";

/** Fault counts by class (the "fault counts by class"). */
export interface FaultStats {
  demandZero: number;
  cowCopy: number;
  cowReuse: number;
  stackGrowth: number;
  /** User-mode faults that killed the process. */
  protectionKill: number;
  /** The PTE already allowed the access (stale TLB entry). */
  spurious: number;
  /** Kernel accesses to user memory that no handling could satisfy (the syscall returns -EFAULT). */
  userAccessFailed: number;
  /** Faults that needed a frame when none was left. */
  outOfMemory: number;
}

/** How to build a {@link ProcessMemory}. */
export interface ProcessMemoryOptions {
  readonly space: AddressSpace;
  readonly frames: SharedFrames;
  readonly mem: PhysMemory;
  readonly tlb: TlbControl;
  /** Owner name given to the frames allocated for this process (leak reports). Default "user". */
  readonly owner?: string;
  /** Areas to start with (fork passes a clone). Default empty. */
  readonly vmas?: VmaList;
  /** Lowest address mmap may place or map, like Linux vm.mmap_min_addr. Default 0x10000. */
  readonly minAddress?: bigint;
}

/** A present user page. */
export interface PresentPage {
  readonly va: bigint;
  /** Frame address (a RAM frame, so a JS number). */
  readonly pa: number;
  /** Flags of the PTE (COPY_ON_WRITE included). */
  readonly flags: MemoryFlags;
}

/** Why a memory operation was refused, with the errno the syscall should return. */
export interface MemError {
  readonly errno: "EINVAL" | "ENOMEM";
  readonly message: string;
}

export type MemResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: MemError };

const fail = <T>(errno: MemError["errno"], message: string): MemResult<T> => ({ ok: false, error: { errno, message } });

/**
 * The PTE flags for a page of an area with `vmaFlags`: USER added, READ added to WRITE (no
 * architecture here encodes write-only), and for a writable area whose frame is `shared`, WRITE
 * replaced by COPY_ON_WRITE. Flags without READ/WRITE/EXECUTE mean "not mappable" (PROT_NONE).
 */
export function pteFlags(vmaFlags: MemoryFlags, shared: boolean): MemoryFlags {
  let f = (vmaFlags & (F.READ | F.WRITE | F.EXECUTE)) | F.USER;
  if (f & F.WRITE) f |= F.READ;
  if (shared && (f & F.WRITE)) f = (f & ~F.WRITE) | F.COPY_ON_WRITE;
  return f;
}

/** True when `vmaFlags` grant some access, so pages can be mapped. */
export const accessible = (vmaFlags: MemoryFlags): boolean => (vmaFlags & (F.READ | F.WRITE | F.EXECUTE)) !== 0;

/** The memory of one process. */
export class ProcessMemory {
  readonly space: AddressSpace;
  readonly vmas: VmaList;
  readonly frames: SharedFrames;
  readonly mem: PhysMemory;
  readonly tlb: TlbControl;
  readonly owner: string;
  readonly minAddress: bigint;
  readonly stats: FaultStats = { demandZero: 0, cowCopy: 0, cowReuse: 0, stackGrowth: 0, protectionKill: 0, spurious: 0, userAccessFailed: 0, outOfMemory: 0 };
  /** Frames of pages in PROT_NONE areas, by page VA (one reference each). */
  readonly parked = new Map<bigint, number>();
  /**
   * How the kernel reaches this process's memory while it is the current address space: the
   * physical address a supervisor access with SUM set would reach through the MMU (and its TLB),
   * or undefined where it would fault. Unset: walk the page table in software.
   */
  hardwareAccess: ((va: bigint, access: "read" | "write") => number | undefined) | undefined;
  /** Start of the heap (page-aligned, set by exec). */
  brkStart = 0n;
  /** The current program break (the heap area ends at pageUp(brk)). */
  brk = 0n;
  private destroyed = false;

  constructor(opts: ProcessMemoryOptions) {
    this.space = opts.space;
    this.frames = opts.frames;
    this.mem = opts.mem;
    this.tlb = opts.tlb;
    this.owner = opts.owner ?? "user";
    this.vmas = opts.vmas ?? new VmaList();
    this.minAddress = opts.minAddress ?? 0x10000n;
    this.userEndNumber = 2 ** (this.space.arch.vaBits - 1);
  }

  /** One past the highest user address (2^(vaBits-1)). */
  get userEnd(): bigint {
    return userEnd(this.space.arch);
  }

  /** {@link userEnd} as a number (for the number-based fault path). */
  readonly userEndNumber: number;

  /**
   * A randomised (ASLR) ceiling for top-down mmap placement; undefined = the top of user space.
   * Fork copies it, so a child keeps its parent's layout.
   */
  mmapCeiling: bigint | undefined;

  /**
   * Where top-down mmap placement starts: below the lowest stack's reservation (its guard gap) and
   * below {@link mmapCeiling}, or the top of user space.
   */
  mmapBase(): bigint {
    let base = this.mmapCeiling ?? this.userEnd;
    for (const v of this.vmas.all()) if (v.grows === "down" && reservedStart(v) < base) base = reservedStart(v);
    return base;
  }

  /** The present page containing `va`, from a walk of the page table, or undefined. */
  pageAt(va: bigint): PresentPage | undefined {
    const page = pageDown(va);
    const t = this.space.translate(page);
    if (t === undefined) return undefined;
    if (t.level !== 0) throw new KernelPanic(`user page ${hex(page)} is mapped by a level-${t.level} leaf; user memory uses 4 KiB pages`);
    return { va: page, pa: Number(t.pa), flags: t.flags };
  }

  /** Every present page in `[start, end)`, skipping unmapped tables a table-span at a time. */
  presentPages(start: bigint, end: bigint): PresentPage[] {
    const out: PresentPage[] = [];
    const arch = this.space.arch;
    let va = start;
    while (va < end) {
      const steps = this.space.walkPageTable(va);
      const last = steps[steps.length - 1];
      if (last === undefined) break;
      const span = arch.entrySpan(last.level);
      if (last.decoded.valid && last.decoded.leaf) {
        if (last.level !== 0) throw new KernelPanic(`user page ${hex(va)} is mapped by a level-${last.level} leaf; user memory uses 4 KiB pages`);
        out.push({ va, pa: Number(last.decoded.pa), flags: last.decoded.flags });
      }
      va = va - (va % span) + span;
    }
    return out;
  }

  /**
   * Maps the frame `pa` at page `va` with `flags` and flushes. False when a page-table page could
   * not be allocated. Any other refusal is a kernel bug (KernelPanic naming the page).
   */
  mapPage(va: bigint, pa: number, flags: MemoryFlags): boolean {
    const r = this.space.map(va, BigInt(pa), PAGE, flags, { allowWX: true });
    if (!r.ok) {
      if (r.error.kind === "OutOfFrames") return false;
      throw new KernelPanic(`ProcessMemory.mapPage: ${r.error.message}`);
    }
    r.flush.flush(this.tlb);
    return true;
  }

  /**
   * Points the present page `va` at frame `pa` with `flags` in one entry write, and flushes that
   * page before returning (so the old frame may be released afterwards). KernelPanic if `va` is not
   * a present 4 KiB page.
   */
  replacePage(va: bigint, pa: number, flags: MemoryFlags): void {
    const r = this.space.remap(va, BigInt(pa), flags, { allowWX: true }, this.tlb);
    if (!r.ok) throw new KernelPanic(`ProcessMemory.replacePage: ${r.error.message}`);
    r.flush.flush(this.tlb);
  }

  /** A fresh zeroed frame mapped at page `va` with `flags`; its address, or undefined when out of memory. */
  allocatePage(va: bigint, flags: MemoryFlags): number | undefined {
    const pa = this.frames.allocateFrame(this.owner);
    if (pa === undefined) return undefined;
    if (this.mapPage(va, pa, flags)) return pa;
    this.frames.freeFrame(pa);
    return undefined;
  }

  /** Changes the PTE flags of the present page `va` (keeping its frame) and flushes. */
  reprotectPage(va: bigint, flags: MemoryFlags): void {
    const r = this.space.protect(va, PAGE, flags, { allowWX: true });
    if (!r.ok) throw new KernelPanic(`ProcessMemory.reprotectPage: ${r.error.message}`);
    r.flush.flush(this.tlb);
  }

  /**
   * Removes the page at `va` from the page table, flushes, and returns its frame with the reference
   * still held (the caller frees or re-maps it). Undefined when the page was not present.
   */
  takePage(va: bigint): number | undefined {
    const r = this.space.unmap(va, PAGE);
    if (!r.ok) throw new KernelPanic(`ProcessMemory.takePage: ${r.error.message}`);
    r.flush.flush(this.tlb);
    const f = r.frames[0];
    return f === undefined ? undefined : Number(f.pa);
  }

  /** Unmaps `[start, end)`, dropping one reference to every frame there (parked ones included). */
  releasePages(start: bigint, end: bigint): void {
    const r = this.space.unmap(start, end - start, { freeFrames: true });
    if (!r.ok) throw new KernelPanic(`ProcessMemory.releasePages: ${r.error.message}`);
    r.flush.flush(this.tlb);
    for (const [va, pa] of this.parked) {
      if (va >= start && va < end) {
        this.parked.delete(va);
        this.frames.freeFrame(pa);
      }
    }
  }

  /**
   * Creates an anonymous private mapping of `length` bytes with permissions `prot` (READ, WRITE,
   * EXECUTE; USER is added) and returns its address. Without `fixed`, `addr` is a hint used when
   * the range is free, else the highest free gap below the stack ({@link mmapBase}), else the
   * highest anywhere; with `fixed`, exactly `addr`,
   * replacing whatever was there (MAP_FIXED). Pages are faulted in on first touch. Refuses with
   * EINVAL (length 0, a misaligned fixed address, a range outside user space) or ENOMEM (no room).
   */
  mapAnonymous(addr: bigint, length: bigint, prot: MemoryFlags, opts: { fixed?: boolean; name?: string } = {}): MemResult<bigint> {
    if (length <= 0n) return fail("EINVAL", `mmap: length ${hex(length)} is not positive`);
    const size = pageUp(length);
    const flags = (prot & (F.READ | F.WRITE | F.EXECUTE)) | F.USER;
    let start: bigint;
    if (opts.fixed === true) {
      if (addr % PAGE !== 0n) return fail("EINVAL", `mmap: MAP_FIXED address ${hex(addr)} is not page-aligned`);
      if (addr < this.minAddress || addr + size > this.userEnd) return fail("EINVAL", `mmap: [${hex(addr)}, ${hex(addr + size)}) is outside user space`);
      start = addr;
      const stack = this.vmas.all().find((v) => v.grows === "down" && reservedStart(v) < start + size && start < v.start);
      if (stack !== undefined) return fail("ENOMEM", `mmap: [${hex(start)}, ${hex(start + size)}) overlaps the growth room or guard of ${stack.name}`);
      this.unmapRange(start, size);
    } else {
      const hint = pageUp(addr);
      const hintFree = addr > 0n && hint >= this.minAddress && hint + size <= this.userEnd && this.vmas.isFree(hint, hint + size);
      const found = hintFree ? hint
        : this.vmas.findFree(size, undefined, this.minAddress, this.mmapBase()) ?? this.vmas.findFree(size, undefined, this.minAddress, this.userEnd);
      if (found === undefined) return fail("ENOMEM", `mmap: no free range of ${hex(size)} bytes`);
      start = found;
    }
    const r = this.vmas.insert({ start, end: start + size, flags, kind: "mmap", name: opts.name ?? "[anon]" });
    if (!r.ok) throw new KernelPanic(`mmap: ${r.error.message}`);
    return { ok: true, value: start };
  }

  /** munmap: removes `[addr, addr + length)` from the areas and the page table. EINVAL if misaligned or outside user space. */
  unmapRange(addr: bigint, length: bigint): MemResult<void> {
    if (addr % PAGE !== 0n || length <= 0n) return fail("EINVAL", `munmap: ${hex(addr)}+${hex(length)} is not a page-aligned non-empty range`);
    const end = pageUp(addr + length);
    if (addr < 0n || end > this.userEnd) return fail("EINVAL", `munmap: [${hex(addr)}, ${hex(end)}) is outside user space`);
    const r = this.vmas.remove(addr, end);
    if (!r.ok) return fail("EINVAL", r.error.message);
    for (const piece of r.value) this.releasePages(piece.start, piece.end);
    return { ok: true, value: undefined };
  }

  /**
   * mprotect: gives `[addr, addr + length)` the permissions `prot` and updates the present pages
   * (shared frames of writable areas stay copy-on-write). EINVAL if misaligned, ENOMEM if part of the
   * range is in no area.
   */
  protectRange(addr: bigint, length: bigint, prot: MemoryFlags): MemResult<void> {
    if (addr % PAGE !== 0n || length <= 0n) return fail("EINVAL", `mprotect: ${hex(addr)}+${hex(length)} is not a page-aligned non-empty range`);
    const end = pageUp(addr + length);
    if (addr < 0n || end > this.userEnd) return fail("ENOMEM", `mprotect: [${hex(addr)}, ${hex(end)}) is outside user space`);
    const r = this.vmas.protect(addr, end, (prot & (F.READ | F.WRITE | F.EXECUTE)) | F.USER);
    if (!r.ok) return fail(r.error.kind === "NotMapped" ? "ENOMEM" : "EINVAL", r.error.message);
    for (const piece of r.value) this.applyFlags(piece);
    return { ok: true, value: undefined };
  }

  /**
   * brk: moves the program break to `newBrk` and returns the break now in force (the old one when
   * the request is refused: below the heap start, or growing into another area), as Linux does.
   * Before exec has set {@link brkStart} there is no heap and every request is refused.
   */
  setBrk(newBrk: bigint): bigint {
    if (this.brkStart === 0n || newBrk < this.brkStart || newBrk > this.userEnd) return this.brk;
    const oldEnd = pageUp(this.brk);
    const newEnd = pageUp(newBrk);
    if (newEnd !== oldEnd) {
      const r = this.vmas.resizeHeap(this.brkStart, newEnd, F.userRw());
      if (!r.ok) return this.brk;
      if (newEnd < oldEnd) this.releasePages(newEnd, oldEnd);
    }
    this.brk = newBrk;
    return this.brk;
  }

  /**
   * Exit reclaim: the whole page table and one reference to every mapped or parked frame go back to
   * the frame pool after one ASID-wide invalidation. The object is unusable afterwards.
   */
  destroy(): void {
    if (this.destroyed) throw new Error(`ProcessMemory.destroy: already destroyed (root ${hex(this.space.rootPa)})`);
    this.destroyed = true;
    this.space.destroy({ freeFrames: true }).flush.flush(this.tlb);
    for (const pa of this.parked.values()) this.frames.freeFrame(pa);
    this.parked.clear();
    this.vmas.remove(0n, pageUp(this.userEnd));
  }

  /** Brings the present and parked pages of area `v` in line with its (new) flags. */
  private applyFlags(v: Vma): void {
    if (!accessible(v.flags)) {
      for (const p of this.presentPages(v.start, v.end)) {
        const pa = this.takePage(p.va);
        if (pa !== undefined) this.parked.set(p.va, pa);
      }
      return;
    }
    for (const p of this.presentPages(v.start, v.end)) {
      const want = pteFlags(v.flags, this.frames.refCount(p.pa) > 1);
      if (want !== p.flags) this.reprotectPage(p.va, want);
    }
    for (const va of [...this.parked.keys()]) if (va >= v.start && va < v.end) this.unpark(va, v);
  }

  /**
   * Maps the parked frame of page `va` back with the flags of its area `v`. False when no
   * page-table page was available: the frame stays parked and the next fault retries.
   */
  unpark(va: bigint, v: Vma): boolean {
    const pa = this.parked.get(va);
    if (pa === undefined) return false;
    if (!this.mapPage(va, pa, pteFlags(v.flags, this.frames.refCount(pa) > 1))) return false;
    this.parked.delete(va);
    return true;
  }
}
