/**
 * The kernel's general-purpose heap: boundary-tagged blocks on segregated power-of-two free lists,
 * all of it in kernel memory (format in layout.ts), grown on demand through a callback that backs
 * more of its virtual range.
 *
 * Costs (n = free blocks in one size class): `allocate` finds a class in O(1) with the bitmap and
 * looks at no more than SCAN_LIMIT blocks of the request's own class before taking any block of a
 * larger class; only when every larger class is empty does it scan the rest of its own class
 * (O(n)) before growing. `free` is O(1): boundary tags give both neighbours, lists are doubly
 * linked. Debug mode adds O(block size) for poisoning and red-zone checks.
 *
 * Host-side state is configuration plus the owner-name table: RAM stores an owner id, and
 * `ownerNames[id]` is its name (append-only interning, the only thing RAM cannot hold as text).
 */
import type { InjectHook } from "../../inject.js";
import type { KernelMemory } from "../frames.js";
import { PAGE_SIZE } from "../frames.js";
import { checkHeap, explainBadPointer, redZoneProblem, walk } from "./check.js";
import { alignUp, copyBytes, fillBytes, firstMismatch, HeapError, hex, isPowerOfTwo, POISON } from "./common.js";
import type { GlobalAllocatorOptions, HeapStats, OwnerUsage } from "./options.js";
import { type BlockHeader, classOf, CTL, CTL_SIZE, FIRST_BLOCK, FOOTER, GRANULE, HEADER, HEAP_MAGIC, HeapRam, MIN_BLOCK } from "./layout.js";

export { HeapError } from "./common.js";
export type { GlobalAllocatorOptions, HeapStats, OwnerUsage } from "./options.js";

/** Blocks of the request's own class examined before a larger class is used. */
const SCAN_LIMIT = 8;

/** The kernel heap. Every method throws {@link HeapError} when it finds RAM corrupted. */
export class GlobalAllocator {
  readonly start: number;
  readonly maxSize: number;
  readonly debug: boolean;
  /** Red-zone bytes on each side of every payload (0 outside debug mode). */
  readonly redZone: number;
  private readonly lead: number;
  private readonly ram: HeapRam;
  private readonly growFn: (bytes: number, at: number) => boolean;
  private readonly growStep: number;
  private readonly ownerNames: string[] = [""];
  private readonly ownerIds = new Map<string, number>();

  /**
   * Backs the first `initialSize` bytes and writes an empty heap there.
   * Throws RangeError for a misaligned range, HeapError if `grow` refuses the first page.
   */
  constructor(readonly mem: KernelMemory, opts: GlobalAllocatorOptions) {
    const { start, maxSize } = opts;
    if (!Number.isSafeInteger(start) || start < 0 || start % PAGE_SIZE !== 0) throw new RangeError(`heap: start ${hex(start)} is not page aligned`);
    if (!Number.isSafeInteger(maxSize) || maxSize <= 0 || maxSize % PAGE_SIZE !== 0 || maxSize >= 2 ** 32) {
      throw new RangeError(`heap: maxSize ${hex(maxSize)} is not a positive multiple of ${PAGE_SIZE} below 4 GiB`);
    }
    this.start = start;
    this.maxSize = maxSize;
    this.debug = opts.debug ?? false;
    this.redZone = this.debug ? alignUp(opts.redZone ?? 16, GRANULE) : 0;
    this.lead = HEADER + this.redZone;
    this.growFn = opts.grow;
    this.growStep = alignUp(opts.growStep ?? PAGE_SIZE, PAGE_SIZE);
    this.ram = new HeapRam(mem, start);
    const initial = alignUp(Math.max(opts.initialSize ?? PAGE_SIZE, FIRST_BLOCK + MIN_BLOCK), PAGE_SIZE);
    if (initial > maxSize) throw new RangeError(`heap: initialSize ${initial} exceeds maxSize ${maxSize}`);
    if (!this.growFn(initial, start)) throw new HeapError(`heap: grow refused the first ${initial} bytes at ${hex(start)}`, start);
    mem.fill(start, CTL_SIZE, 0);
    this.ram.set(CTL.MAGIC, HEAP_MAGIC);
    this.ram.set(CTL.BRK, initial);
    if (this.debug) mem.fill(start + FIRST_BLOCK, initial - FIRST_BLOCK, POISON.FREED);
    this.ram.insert(FIRST_BLOCK, initial - FIRST_BLOCK);
    this.ram.set(CTL.FREE_BLOCKS, 1);
    this.ram.set(CTL.FREE_BYTES, initial - FIRST_BLOCK);
  }

  /** Fault injection (kernel/inject.ts): consulted first by {@link allocate}; true fails the call (point "heap-alloc"). */
  inject: InjectHook | undefined;

  /**
   * Allocates `size` bytes aligned to `align` (a power of two; at least 16 is given anyway),
   * recorded under `owner` for leak reports. Returns the payload address, or undefined when the
   * heap cannot grow enough. Debug mode fills the payload with 0xCD. RangeError for bad arguments.
   */
  allocate(size: number, align = GRANULE, owner?: string): number | undefined {
    if (this.inject?.("heap-alloc", { owner })) { this.ram.add(CTL.FAILURES, 1); return undefined; }
    return this.alloc(size, align, this.ownerId(owner));
  }

  /** {@link allocate}, with the payload zeroed. */
  allocateZeroed(size: number, align = GRANULE, owner?: string): number | undefined {
    const addr = this.allocate(size, align, owner);
    if (addr !== undefined) fillBytes(this.mem, addr, size, 0);
    return addr;
  }

  /**
   * Returns the block of `addr` to the heap, merging it with free neighbours. Throws HeapError for
   * a pointer that is not a live block's payload (wild pointer, double free), a corrupted header
   * or footer, or (debug) an overwritten red zone. Debug mode fills the freed bytes with 0xDD.
   */
  free(addr: number): void {
    const h = this.usedBlock(addr, "free");
    this.verifyUsed(h, addr);
    const r = this.ram;
    r.add(CTL.USED_BLOCKS, -1);
    r.add(CTL.USED_BYTES, -h.size);
    r.add(CTL.REQUESTED_BYTES, -h.a);
    r.add(CTL.FREES, 1);
    if (this.debug) fillBytes(this.mem, r.va(h.off + HEADER), h.size - HEADER - FOOTER, POISON.FREED);
    let off = h.off;
    let size = h.size;
    let merged = 0;
    const next = off + size;
    if (next < r.brk) {
      const n = this.neighbour(next, addr);
      if (!n.used) {
        r.remove(n);
        this.absorb(next);
        size += n.size;
        merged++;
      }
    }
    if (off > FIRST_BLOCK) {
      const pf = r.readFooter(off);
      if (pf === undefined) throw new HeapError(`heap: footer at ${hex(r.va(off - FOOTER))}, before block ${hex(addr)}, corrupted`, r.va(off - FOOTER));
      if (!pf.used) {
        const p = this.neighbour(off - pf.size, addr);
        if (p.used || p.size !== pf.size) throw new HeapError(`heap: footer at ${hex(r.va(off - FOOTER))}, before block ${hex(addr)}, disagrees with its header`, r.va(off - FOOTER));
        r.remove(p);
        this.absorb(off);
        off = p.off;
        size += p.size;
        merged++;
      }
    }
    r.insert(off, size);
    r.add(CTL.FREE_BLOCKS, 1 - merged);
    r.add(CTL.FREE_BYTES, h.size);
  }

  /**
   * Resizes the allocation at `addr` to `newSize` bytes: in place when its block has room and
   * `addr` meets `align`, else by allocating a new block (same owner), copying, and freeing the old
   * one. Returns the payload address, or undefined (the old block untouched) when out of memory.
   */
  reallocate(addr: number, newSize: number, align = GRANULE): number | undefined {
    checkSize(newSize);
    const h = this.usedBlock(addr, "reallocate");
    this.verifyUsed(h, addr);
    if (newSize <= h.size - this.lead - FOOTER - this.redZone && addr % Math.max(align, GRANULE) === 0) {
      if (this.debug) {
        if (newSize > h.a) fillBytes(this.mem, addr + h.a, newSize - h.a, POISON.FRESH);
        else fillBytes(this.mem, addr + newSize, h.a - newSize, POISON.RED_ZONE);
      }
      this.ram.writeHeader(h.off, h.size, true, newSize, h.b);
      this.ram.add(CTL.REQUESTED_BYTES, newSize - h.a);
      return addr;
    }
    const moved = this.alloc(newSize, align, h.b);
    if (moved === undefined) return undefined;
    copyBytes(this.mem, moved, addr, Math.min(h.a, newSize));
    this.free(addr);
    return moved;
  }

  /** The requested size of the live allocation at `addr` (HeapError if it is not one). */
  sizeOf(addr: number): number {
    return this.usedBlock(addr, "sizeOf").a;
  }

  /** Walks the whole heap and its free lists; one line per problem, empty when consistent. */
  check(): string[] {
    return checkHeap(this.ram, { maxSize: this.maxSize, debug: this.debug, lead: this.lead, redZone: this.redZone });
  }

  /** Counters from the control block, plus the largest free block (a scan of the top class list). */
  stats(): HeapStats {
    const r = this.ram;
    const freeBytes = r.get(CTL.FREE_BYTES);
    const bitmap = r.get(CTL.BITMAP);
    let largest = 0;
    if (bitmap !== 0) {
      for (let off = r.head(classOf(bitmap)); off !== 0; ) {
        const h = r.linked(off, 0);
        largest = Math.max(largest, h.size);
        off = h.a;
      }
    }
    return {
      heapSize: r.brk,
      maxSize: this.maxSize,
      bytesInUse: r.get(CTL.REQUESTED_BYTES),
      blockBytesInUse: r.get(CTL.USED_BYTES),
      freeBytes,
      usedBlocks: r.get(CTL.USED_BLOCKS),
      freeBlocks: r.get(CTL.FREE_BLOCKS),
      largestFreeBlock: largest,
      fragmentation: freeBytes === 0 ? 0 : 1 - largest / freeBytes,
      allocations: r.get(CTL.ALLOCATIONS),
      frees: r.get(CTL.FREES),
      failures: r.get(CTL.FAILURES),
    };
  }

  /**
   * Live allocations per owner, found by walking the heap in RAM (O(blocks)); allocations made
   * without an owner are listed under "". For leak reports: compare before and after a workload.
   */
  liveByOwner(): Map<string, OwnerUsage> {
    const out = new Map<string, OwnerUsage>();
    const w = walk(this.ram);
    if (w.corruptAt !== undefined) throw this.corrupt(w.corruptAt, "while listing owners");
    for (const h of w.blocks) {
      if (!h.used) continue;
      const name = this.ownerNames[h.b] ?? `#${h.b}`;
      const u = out.get(name) ?? { count: 0, bytes: 0 };
      out.set(name, { count: u.count + 1, bytes: u.bytes + h.a });
    }
    return out;
  }

  /**
   * The live allocations of `owner` (payload address and requested bytes), in address order, found
   * by walking the heap in RAM (O(blocks)). Empty for an owner never seen. For leak reports that
   * name the blocks.
   */
  liveBlocksOf(owner: string): { addr: number; size: number }[] {
    const id = this.ownerIds.get(owner);
    if (id === undefined) return [];
    const w = walk(this.ram);
    if (w.corruptAt !== undefined) throw this.corrupt(w.corruptAt, "while listing blocks");
    return w.blocks.filter((h) => h.used && h.b === id).map((h) => ({ addr: this.ram.va(h.off + this.lead), size: h.a }));
  }

  private ownerId(owner: string | undefined): number {
    if (owner === undefined) return 0;
    let id = this.ownerIds.get(owner);
    if (id === undefined) {
      id = this.ownerNames.length;
      this.ownerNames.push(owner);
      this.ownerIds.set(owner, id);
    }
    return id;
  }

  private alloc(size: number, align: number, ownerId: number): number | undefined {
    checkSize(size);
    if (!isPowerOfTwo(align)) throw new RangeError(`heap: alignment ${align} is not a power of two`);
    const a = Math.max(align, GRANULE);
    const n = Math.max(MIN_BLOCK, alignUp(this.lead + size + this.redZone + FOOTER, GRANULE));
    const need = a === GRANULE ? n : n + MIN_BLOCK + a - GRANULE;
    const f = need > this.maxSize - FIRST_BLOCK ? undefined : (this.findFree(need) ?? this.growFor(need));
    if (f === undefined) {
      this.ram.add(CTL.FAILURES, 1);
      return undefined;
    }
    return this.place(f, n, a, size, ownerId);
  }

  /** A free block of at least `need` bytes, or undefined. */
  private findFree(need: number): BlockHeader | undefined {
    const r = this.ram;
    const c = classOf(need);
    let off = r.head(c);
    let prev = 0;
    for (let seen = 0; off !== 0 && seen < SCAN_LIMIT; seen++) {
      const h = r.linked(off, prev);
      if (h.size >= need) return h;
      prev = off;
      off = h.a;
    }
    const larger = c >= 31 ? 0 : r.get(CTL.BITMAP) & ~((2 << c) - 1);
    if (larger !== 0) return r.linked(r.head(classOf(larger & -larger)), 0);
    while (off !== 0) {
      const h = r.linked(off, prev);
      if (h.size >= need) return h;
      prev = off;
      off = h.a;
    }
    return undefined;
  }

  /** Backs more of the range so that the last block is free and at least `need` bytes. */
  private growFor(need: number): BlockHeader | undefined {
    const r = this.ram;
    const brk = r.brk;
    let last: BlockHeader | undefined;
    const lf = r.readFooter(brk);
    if (lf === undefined) throw new HeapError(`heap: footer of the last block, at ${hex(r.va(brk - FOOTER))}, corrupted`, r.va(brk - FOOTER));
    if (!lf.used) last = this.neighbour(brk - lf.size, r.va(brk));
    let bytes = alignUp(need - (last?.size ?? 0), PAGE_SIZE);
    if (bytes > this.maxSize - brk) return undefined;
    bytes = Math.max(bytes, Math.min(this.growStep, this.maxSize - brk));
    if (!this.growFn(bytes, r.va(brk))) return undefined;
    r.set(CTL.BRK, brk + bytes);
    if (this.debug) this.mem.fill(r.va(brk), bytes, POISON.FREED);
    let off = brk;
    if (last === undefined) r.add(CTL.FREE_BLOCKS, 1);
    else {
      r.remove(last);
      if (this.debug) this.mem.fill(r.va(brk - FOOTER), FOOTER, POISON.FREED);
      off = last.off;
    }
    r.insert(off, brk + bytes - off);
    r.add(CTL.FREE_BYTES, bytes);
    return r.linked(off, 0);
  }

  /** Carves a used block of `n` bytes whose payload meets `align` out of free block `f`. */
  private place(f: BlockHeader, n: number, align: number, size: number, ownerId: number): number {
    const r = this.ram;
    let b = f.off;
    if (align > GRANULE) {
      const u0 = r.va(f.off + this.lead);
      let u = alignUp(u0, align);
      while (u !== u0 && u - u0 < MIN_BLOCK) u += align;
      b += u - u0;
    }
    const end = f.off + f.size;
    const used = end - b - n >= MIN_BLOCK ? n : end - b;
    if (this.debug) {
      const bad = firstMismatch(this.mem, r.va(b + HEADER), used - HEADER - FOOTER, POISON.FREED);
      if (bad >= 0) throw new HeapError(`heap: free block at ${hex(r.va(f.off))} written after free at ${hex(bad)} (byte ${hex(this.mem.read8(bad))})`, bad);
    }
    r.remove(f);
    let freeDelta = -1;
    if (b > f.off) {
      r.insert(f.off, b - f.off);
      freeDelta++;
    }
    if (used < end - b) {
      r.insert(b + used, end - b - used);
      freeDelta++;
    }
    r.writeHeader(b, used, true, size, ownerId);
    r.writeFooter(b, used, true);
    r.add(CTL.FREE_BLOCKS, freeDelta);
    r.add(CTL.FREE_BYTES, -used);
    r.add(CTL.USED_BLOCKS, 1);
    r.add(CTL.USED_BYTES, used);
    r.add(CTL.REQUESTED_BYTES, size);
    r.add(CTL.ALLOCATIONS, 1);
    const u = r.va(b + this.lead);
    if (this.debug) {
      fillBytes(this.mem, r.va(b + HEADER), this.lead - HEADER, POISON.RED_ZONE);
      fillBytes(this.mem, u, size, POISON.FRESH);
      fillBytes(this.mem, u + size, r.va(b + used - FOOTER) - u - size, POISON.RED_ZONE);
    }
    return u;
  }

  /** The live block whose payload is `addr`, or a HeapError saying what `addr` is instead. */
  private usedBlock(addr: number, op: string): BlockHeader {
    const r = this.ram;
    const lo = r.va(FIRST_BLOCK + this.lead);
    const hi = r.va(r.brk);
    if (!Number.isSafeInteger(addr) || addr < lo || addr >= hi) {
      throw new HeapError(`heap: ${op} of wild pointer ${hex(addr)} (outside the heap's payloads [${hex(lo)}, ${hex(hi)}))`, addr);
    }
    const off = addr - this.lead - this.start;
    if (off % GRANULE !== 0) throw new HeapError(`heap: ${op} of wild pointer ${hex(addr)} (not a payload address)`, addr);
    const h = r.readHeader(off);
    if (h?.used) return h;
    if (h !== undefined) throw new HeapError(op === "free" ? `heap: double free of ${hex(addr)}` : `heap: ${op} of freed block ${hex(addr)}`, addr);
    throw explainBadPointer(r, off, addr, op, this.lead);
  }

  /** Footer and (debug) red zones of a live block. */
  private verifyUsed(h: BlockHeader, addr: number): void {
    const f = this.ram.readFooter(h.off + h.size);
    if (f === undefined || f.size !== h.size || !f.used) {
      const at = this.ram.va(h.off + h.size - FOOTER);
      throw new HeapError(`heap: footer of block ${hex(addr)} corrupted (at ${hex(at)}): overrun past its ${h.a}-byte payload?`, addr);
    }
    if (this.debug) {
      const rz = redZoneProblem(this.mem, this.ram.va(h.off), h.size, this.lead, h.a);
      if (rz !== undefined) throw new HeapError(`heap: ${rz}`, addr);
    }
  }

  /** The block at `off`, next to the block of `addr`; HeapError if its header is corrupted. */
  private neighbour(off: number, addr: number): BlockHeader {
    const h = this.ram.readHeader(off);
    if (h === undefined) throw this.corrupt(off, `next to block ${hex(addr)}`);
    return h;
  }

  /** Kills the header at `off`, which merging is about to bury, and poisons the seam in debug mode. */
  private absorb(off: number): void {
    this.ram.kill(off);
    if (this.debug) this.mem.fill(this.ram.va(off - FOOTER), FOOTER + HEADER, POISON.FREED);
  }

  private corrupt(off: number, context: string): HeapError {
    const va = this.ram.va(off);
    return new HeapError(`heap: header at ${hex(va)} corrupted (magic ${hex(this.ram.rawSeal(off))}) ${context}`, va);
  }
}

function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`heap: allocation size ${size} is not a non-negative integer`);
}
