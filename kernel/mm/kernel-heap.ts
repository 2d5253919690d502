/**
 * The running kernel's heap: a {@link GlobalAllocator} over a range of the kernel half, backed by
 * frames the heap maps into the kernel address space as it grows (never shrinks).
 *
 * Kernel half layout, as offsets from `physicalOffset` (Sv39: the half starts at
 * 0xffff_ffc0_0000_0000 and is 256 GiB long):
 *
 * | offset            | Sv39 VA                 | size           | what                                    |
 * |-------------------|-------------------------|----------------|-----------------------------------------|
 * | 0                 | 0xffff_ffc0_0000_0000   | 128 GiB        | direct map of physical [0, 128 GiB)     |
 * | HEAP_OFFSET       | 0xffff_ffe0_0000_0000   | HEAP_MAX_SIZE  | kernel heap, mapped on demand           |
 * | 254 GiB           | 0xffff_ffff_8000_0000   | 2 GiB          | kernel image (boot/riscv64)             |
 *
 * The heap sits 128 GiB up rather than right after RAM so that the layout does not depend on how
 * much RAM the machine has: a 64 GiB riscv64-virt's direct map ends at offset 0x10_8000_0000,
 * above 0xffff_ffd0_0000_0000. {@link createKernelHeap} refuses to boot when the direct map would
 * reach the heap. HEAP_MAX_SIZE is 1 GiB and the heap is 1 GiB-aligned, so all of it hangs off one
 * root-table entry, made when the first page is mapped at boot, before any process exists: every
 * address space copies that entry (process.ts `shareKernelHalf`), so pages mapped later are seen
 * by all of them through the shared lower tables.
 *
 * Addresses as numbers: the allocators take addresses below 2^53, which a kernel-half VA is not. A
 * heap address is therefore the VA truncated to the paging mode's `vaBits`, at most 48
 * (0x60_0000_0000 for 0xffff_ffe0_0000_0000 under Sv39); {@link KernelHeapMemory.vaOf}
 * sign-extends it back.
 *
 * State: the page table (in RAM) is the truth for what backs the heap. The host keeps one derived
 * table, the frame of each backed page in order (what a kernel's vmalloc area keeps in its
 * `vm_struct.pages`), so an access costs an array lookup instead of a walk; paranoid mode checks
 * it against the page table ({@link KernelHeapMemory.verify}).
 */
import type { PhysMemory, TlbControl } from "../hal.js";
import { KernelPanic } from "../panic.js";
import { MemoryFlags } from "./flags.js";
import { PAGE_SIZE, type FrameSource, type KernelMemory } from "./frames.js";
import { GlobalAllocator, HeapError } from "./heap/index.js";
import { BootError, type MemoryRegion } from "./phys/regions.js";
import { hex, validateAddressRange } from "./safety.js";
import type { AddressSpace } from "./vm/index.js";

/** Heap base, as an offset from the direct map's base (`physicalOffset`). */
export const HEAP_OFFSET = 128n * 1024n ** 3n;
/** Most bytes the heap may grow to (one root-table entry under Sv39). */
export const HEAP_MAX_SIZE = 1024 ** 3;
/** Bytes mapped at boot. */
export const HEAP_INITIAL_SIZE = 4 * PAGE_SIZE;
/** Least bytes mapped per growth. */
export const HEAP_GROW_STEP = 4 * PAGE_SIZE;
/** Owner name of the heap's frames (leak reports, `allocationsByOwner`). */
export const HEAP_FRAME_OWNER = "kernel heap";

/** Kernel mappings of heap pages: read-write, never executable, global (the kernel half). */
const HEAP_FLAGS = MemoryFlags.kernelRw() | MemoryFlags.GLOBAL;
const PAGE = BigInt(PAGE_SIZE);

/** What backs the heap: the kernel's address space, its frames, and the hardware. */
export interface KernelHeapBacking {
  readonly mem: PhysMemory;
  readonly tlb: TlbControl;
  readonly space: AddressSpace;
  readonly frames: FrameSource;
}

/**
 * The heap's {@link KernelMemory}: heap addresses (truncated VAs) are translated through the table
 * of backed pages and accessed by physical address. An access outside the backed range is a
 * kernel bug: RangeError naming the VA.
 */
export class KernelHeapMemory implements KernelMemory {
  /** Heap address of the first byte. */
  readonly start: number;
  private readonly pages: number[] = [];
  private readonly vaMask: bigint;
  private readonly signBit: bigint;

  /** `baseVa` is page aligned and canonical in `backing.space`'s paging mode. */
  constructor(private readonly backing: KernelHeapBacking, readonly baseVa: bigint, readonly maxSize: number) {
    // 48 bits at most, so heap addresses stay below 2^53 under 5-level paging too: the kernel half's
    // VAs have every bit from 63 down to 47 set in both 4- and 5-level layouts used here.
    const bits = BigInt(Math.min(backing.space.arch.vaBits, 48));
    this.vaMask = (1n << bits) - 1n;
    this.signBit = 1n << (bits - 1n);
    this.start = this.addressOf(baseVa);
  }

  /** Bytes backed so far. */
  get backedBytes(): number {
    return this.pages.length * PAGE_SIZE;
  }

  /** The heap address of kernel VA `va` (its low `vaBits` bits, at most 48). */
  addressOf(va: bigint): number {
    return Number(va & this.vaMask);
  }

  /** The canonical kernel VA of heap address `addr` (for reports and page tables). */
  vaOf(addr: number): bigint {
    const v = BigInt(addr);
    return v & this.signBit ? BigInt.asUintN(64, v - (this.signBit << 1n)) : v;
  }

  /**
   * Backs `[at, at + bytes)` — exactly the bytes after those backed so far — with fresh frames
   * mapped kernel read-write, flushing each mapping's TLB token. False (nothing left mapped) when
   * frames or page-table pages run out. KernelPanic for any other refusal (a kernel bug).
   */
  grow(bytes: number, at: number): boolean {
    if (at !== this.start + this.backedBytes || bytes % PAGE_SIZE !== 0 || at + bytes > this.start + this.maxSize) {
      throw new KernelPanic(`kernel heap: grow of ${hex(bytes)} bytes at ${hex(this.vaOf(at))} does not extend [${hex(this.baseVa)}, +${hex(this.backedBytes)})`);
    }
    const { space, frames, tlb } = this.backing;
    const before = this.pages.length;
    for (let off = 0; off < bytes; off += PAGE_SIZE) {
      const va = this.vaOf(at + off);
      const pa = frames.allocateFrame(HEAP_FRAME_OWNER);
      if (pa === undefined) return this.rollBack(before);
      const r = space.map(va, BigInt(pa), PAGE, HEAP_FLAGS);
      if (!r.ok) {
        frames.freeFrame(pa);
        if (r.error.kind === "OutOfFrames") return this.rollBack(before);
        throw new KernelPanic(`kernel heap: cannot map ${hex(va)}: ${r.error.message}`);
      }
      r.flush.flush(tlb);
      this.pages.push(pa);
    }
    return true;
  }

  /** Unmaps and frees the pages backed since the first `keep`; returns false for `grow`. */
  private rollBack(keep: number): false {
    const { space, frames, tlb } = this.backing;
    while (this.pages.length > keep) {
      const pa = this.pages.pop()!;
      const va = this.baseVa + BigInt(this.pages.length) * PAGE;
      const r = space.unmap(va, PAGE);
      if (!r.ok) throw new KernelPanic(`kernel heap: cannot unmap ${hex(va)}: ${r.error.message}`);
      r.flush.flush(tlb);
      frames.freeFrame(pa);
    }
    return false;
  }

  /** Physical address of heap address `addr`. */
  private pa(addr: number): number {
    const off = addr - this.start;
    const page = Math.floor(off / PAGE_SIZE);
    if (off < 0 || page >= this.pages.length) {
      throw new RangeError(`kernel heap: access at ${hex(this.vaOf(addr))} is outside the backed range [${hex(this.baseVa)}, +${hex(this.backedBytes)})`);
    }
    return this.pages[page]! + (off % PAGE_SIZE);
  }

  read8(addr: number): number {
    return this.backing.mem.read8(this.pa(addr));
  }

  write8(addr: number, v: number): void {
    this.backing.mem.write8(this.pa(addr), v);
  }

  /** Unsigned little-endian; a word that straddles two pages is read a byte at a time. */
  read32(addr: number): number {
    if (addr % PAGE_SIZE <= PAGE_SIZE - 4) return this.backing.mem.read32(this.pa(addr));
    let v = 0;
    for (let i = 3; i >= 0; i--) v = v * 256 + this.read8(addr + i);
    return v;
  }

  write32(addr: number, v: number): void {
    if (addr % PAGE_SIZE <= PAGE_SIZE - 4) {
      this.backing.mem.write32(this.pa(addr), v);
      return;
    }
    for (let i = 0; i < 4; i++) this.write8(addr + i, (v >>> (8 * i)) & 0xff);
  }

  /** Fills page by page (the frames are not contiguous). */
  fill(addr: number, len: number, byte: number): void {
    for (let at = addr, end = addr + len; at < end; ) {
      const n = Math.min(end - at, PAGE_SIZE - (at % PAGE_SIZE));
      this.backing.mem.fill(this.pa(at), n, byte);
      at += n;
    }
  }

  /**
   * Compares the page table with the table of backed pages: every backed page must be a present
   * 4 KiB kernel read-write global leaf on its frame, and the page after the last one unmapped.
   * One line per problem; empty when they agree.
   */
  verify(): string[] {
    const problems: string[] = [];
    const { space } = this.backing;
    this.pages.forEach((pa, i) => {
      const va = this.baseVa + BigInt(i) * PAGE;
      const t = space.translate(va);
      if (t === undefined) problems.push(`heap page ${hex(va)} (frame ${hex(pa)}) is not mapped`);
      else if (t.pa !== BigInt(pa) || t.level !== 0 || t.flags !== HEAP_FLAGS) {
        problems.push(`heap page ${hex(va)} maps ${hex(t.pa)} at level ${t.level} with flags ${hex(t.flags)}; expected frame ${hex(pa)}, level 0, flags ${hex(HEAP_FLAGS)}`);
      }
    });
    if (this.backedBytes < this.maxSize) {
      const next = this.baseVa + BigInt(this.backedBytes);
      if (space.isMapped(next)) problems.push(`${hex(next)}, past the heap's last backed page, is mapped`);
    }
    return problems;
  }
}

/** Options of {@link createKernelHeap}. */
export interface KernelHeapOptions {
  /** Red zones and poisoning (KernelOptions.debug). */
  readonly debug?: boolean;
}

/**
 * Creates the kernel heap at `physicalOffset + HEAP_OFFSET` in the kernel's `space` and maps its
 * first pages. `map` is the boot memory map (the direct map covers it). Throws BootError when the
 * range is not in the kernel half, when the direct map reaches it, when it is already mapped, or
 * when there is no memory for its first pages.
 *
 * @example
 * ```ts
 * const heap = createKernelHeap({ mem: hal, tlb: hal.tlb, space, frames }, arch.physicalOffset, map);
 * const rec = heap.allocate(32, 16, "pid 1");
 * ```
 */
export function createKernelHeap(backing: KernelHeapBacking, physicalOffset: bigint, map: readonly MemoryRegion[], opts: KernelHeapOptions = {}): GlobalAllocator {
  const base = physicalOffset + HEAP_OFFSET;
  const where = `kernel heap [${hex(base)}, +${hex(HEAP_MAX_SIZE)})`;
  const inHalf = validateAddressRange(base, BigInt(HEAP_MAX_SIZE), "kernel", backing.space.arch);
  if (!inHalf.ok) throw new BootError(`${where}: ${inHalf.error}`);
  const physEnd = map.reduce((e, r) => Math.max(e, r.base + r.size), 0);
  if (physicalOffset + BigInt(physEnd) > base) {
    throw new BootError(`${where}: the direct map of physical memory up to ${hex(physEnd)} reaches ${hex(physicalOffset + BigInt(physEnd))}, above the heap's base`);
  }
  for (let va = base; va < base + BigInt(HEAP_MAX_SIZE); va += backing.space.arch.entrySpan(1)) {
    if (backing.space.isMapped(va)) throw new BootError(`${where}: ${hex(va)} is already mapped`);
  }
  const memory = new KernelHeapMemory(backing, base, HEAP_MAX_SIZE);
  try {
    return new GlobalAllocator(memory, {
      start: memory.start, maxSize: HEAP_MAX_SIZE, initialSize: HEAP_INITIAL_SIZE, growStep: HEAP_GROW_STEP,
      grow: (bytes, at) => memory.grow(bytes, at), debug: opts.debug ?? false,
    });
  } catch (e) {
    if (e instanceof HeapError) throw new BootError(`${where}: no memory for its first ${HEAP_INITIAL_SIZE} bytes`);
    throw e;
  }
}

/** The {@link KernelHeapMemory} under `heap`, if it is a running kernel's heap. */
export function heapMemoryOf(heap: GlobalAllocator): KernelHeapMemory | undefined {
  return heap.mem instanceof KernelHeapMemory ? heap.mem : undefined;
}

