/**
 * The kernel heap allocators, against kernel memory that is the fake HAL's RAM mapped 1:1
 * (va === pa). Every header, link, red zone and poison byte the tests look at is read from RAM.
 */
import { describe, expect, it } from "vitest";
import { CHUNK_SIZE } from "../emulator/core/memory.js";
import type { KernelMemory } from "../kernel/mm/frames.js";
import { PAGE_SIZE } from "../kernel/mm/frames.js";
import { BumpAllocator } from "../kernel/mm/heap/bump.js";
import { GlobalAllocator, HeapError } from "../kernel/mm/heap/global.js";
import { PoolAllocator } from "../kernel/mm/heap/pool.js";
import { allocateSlice, type DirectBytes } from "../kernel/mm/heap/views.js";
import { FakeHal } from "./support/fake-hal.js";
import { rng } from "./support/rng.js";

/** Kernel memory identity-mapped onto the fake HAL's RAM, with direct byte views inside one RAM chunk. */
class IdentityMemory implements KernelMemory, DirectBytes {
  accesses = 0;
  constructor(readonly hal: FakeHal) {}
  read32(va: number): number { this.accesses++; return this.hal.read32(va); }
  write32(va: number, v: number): void { this.accesses++; this.hal.write32(va, v); }
  read8(va: number): number { this.accesses++; return this.hal.read8(va); }
  write8(va: number, v: number): void { this.accesses++; this.hal.write8(va, v); }
  fill(va: number, len: number, byte: number): void { this.accesses++; this.hal.fill(va, len, byte); }
  bytesAt(va: number, len: number): Uint8Array | undefined {
    const ram = this.hal.bus.ramAt(va);
    if (ram === undefined) return undefined;
    const off = va - ram.base;
    const inChunk = off % CHUNK_SIZE;
    if (inChunk + len > CHUNK_SIZE) return undefined;
    const chunk = ram.chunk(off);
    return new Uint8Array(chunk.buffer, chunk.byteOffset + inChunk, len);
  }
}

const HEAP = 0x80100000;
/** Bytes before the first block: the control block. */
const CONTROL = 176;
/** Header bytes before a payload outside debug mode; debug mode adds a 16-byte red zone. */
const HEADER = 16;

interface HeapSetup { debug?: boolean; limit?: number; maxSize?: number; initialSize?: number }

function makeHeap(setup: HeapSetup = {}) {
  const hal = new FakeHal();
  const mem = new IdentityMemory(hal);
  const limit = setup.limit ?? 1 << 20;
  const grows: { bytes: number; at: number }[] = [];
  let backed = 0;
  const heap = new GlobalAllocator(mem, {
    start: HEAP,
    maxSize: setup.maxSize ?? 1 << 20,
    initialSize: setup.initialSize,
    debug: setup.debug,
    grow: (bytes, at) => {
      if (backed + bytes > limit) return false;
      grows.push({ bytes, at });
      backed += bytes;
      return true;
    },
  });
  return { hal, mem, heap, grows };
}

const hex = (v: number) => "0x" + v.toString(16);

function heapError(fn: () => void): HeapError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(HeapError);
    return e as HeapError;
  }
  throw new Error("expected a HeapError");
}

describe("GlobalAllocator: blocks and reuse", () => {
  it("hands out distinct 16-byte-aligned payloads and reuses a freed block", () => {
    const { heap } = makeHeap();
    const a = heap.allocate(100)!;
    const b = heap.allocate(100)!;
    expect(a % 16).toBe(0);
    expect(b % 16).toBe(0);
    expect(Math.abs(b - a)).toBeGreaterThanOrEqual(100);
    expect(heap.stats()).toMatchObject({ usedBlocks: 2, bytesInUse: 200, allocations: 2, frees: 0 });
    heap.free(a);
    expect(heap.stats()).toMatchObject({ usedBlocks: 1, bytesInUse: 100, frees: 1 });
    expect(heap.allocate(100)).toBe(a);
    expect(heap.check()).toEqual([]);
  });

  it("merges a freed block with both free neighbours (free A, C, then B gives one block)", () => {
    const { heap } = makeHeap();
    // 104 payload bytes + 16 header + 8 footer = a 128-byte block.
    const [a, b, c, d] = [0, 1, 2, 3].map(() => heap.allocate(104)!);
    expect([b! - a!, c! - b!, d! - c!]).toEqual([128, 128, 128]);
    const tail = heap.stats().freeBlocks;
    expect(tail).toBe(1);
    heap.free(a!);
    expect(heap.stats().freeBlocks).toBe(2);
    heap.free(c!);
    expect(heap.stats().freeBlocks).toBe(3);
    heap.free(b!);
    expect(heap.stats().freeBlocks).toBe(2);
    expect(heap.check()).toEqual([]);
    // The merged block is exactly 384 bytes: a 360-byte payload fills it, at A's address.
    expect(heap.allocate(384 - HEADER - 8)).toBe(a);
    heap.free(a!);
    heap.free(d!);
    const s = heap.stats();
    expect(s).toMatchObject({ freeBlocks: 1, usedBlocks: 0, freeBytes: s.heapSize - CONTROL, largestFreeBlock: s.heapSize - CONTROL, fragmentation: 0 });
  });

  it("aligns payloads to any power of two and keeps the heap consistent", () => {
    const { heap } = makeHeap();
    const got: number[] = [];
    for (const align of [1, 8, 16, 32, 64, 256, 1024, 4096]) {
      const p = heap.allocate(40, align)!;
      expect(p % Math.max(align, 16)).toBe(0);
      got.push(p);
    }
    expect(heap.check()).toEqual([]);
    for (const p of got) heap.free(p);
    expect(heap.stats()).toMatchObject({ usedBlocks: 0, freeBlocks: 1 });
    expect(heap.check()).toEqual([]);
  });

  it("rejects bad sizes and alignments with RangeError", () => {
    const { heap } = makeHeap();
    expect(() => heap.allocate(-1)).toThrow(RangeError);
    expect(() => heap.allocate(1.5)).toThrow(RangeError);
    expect(() => heap.allocate(8, 24)).toThrow(/alignment 24/);
  });
});

describe("GlobalAllocator: growth through the callback", () => {
  it("asks for more pages at the end of what is backed, and extends a free last block", () => {
    const { heap, grows } = makeHeap({ limit: 4 * PAGE_SIZE });
    expect(grows).toEqual([{ bytes: PAGE_SIZE, at: HEAP }]);
    const a = heap.allocate(3000)!;
    const b = heap.allocate(3000)!;
    expect(grows[1]!.at).toBe(HEAP + PAGE_SIZE);
    expect(b).toBeGreaterThan(a);
    expect(heap.stats().heapSize).toBe(2 * PAGE_SIZE);
    expect(heap.stats().freeBlocks).toBe(1);
    expect(heap.check()).toEqual([]);
  });

  it("fails the allocation (undefined) when the callback refuses, and stays usable", () => {
    const { heap } = makeHeap({ limit: 2 * PAGE_SIZE });
    const a = heap.allocate(3000)!;
    expect(heap.allocate(3000)).toBeDefined();
    expect(heap.allocate(3000)).toBeUndefined();
    expect(heap.stats().failures).toBe(1);
    expect(heap.check()).toEqual([]);
    heap.free(a);
    expect(heap.allocate(3000)).toBe(a);
  });

  it("fails an allocation larger than the whole range without calling the callback", () => {
    const { heap, grows } = makeHeap({ maxSize: 16 * PAGE_SIZE });
    expect(heap.allocate(16 * PAGE_SIZE)).toBeUndefined();
    expect(grows).toHaveLength(1);
  });
});

describe("GlobalAllocator: corruption is detected in RAM", () => {
  it("a double free throws HeapError naming the address", () => {
    const { heap } = makeHeap();
    const a = heap.allocate(64)!;
    heap.allocate(64);
    heap.free(a);
    expect(heapError(() => heap.free(a)).message).toBe(`heap: double free of ${hex(a)}`);
  });

  it("a double free of a block that was merged into its free predecessor is still caught", () => {
    const { heap } = makeHeap();
    const a = heap.allocate(64)!;
    const b = heap.allocate(64)!;
    heap.allocate(64);
    heap.free(a);
    heap.free(b);
    const e = heapError(() => heap.free(b));
    expect(e.message).toContain(`double free of ${hex(b)}`);
    expect(e.message).toContain(`inside free block at ${hex(a - HEADER)}`);
    expect(e.addr).toBe(b);
  });

  it("a wild free throws HeapError: outside the heap, misaligned, inside another block", () => {
    const { heap } = makeHeap();
    const a = heap.allocate(256)!;
    expect(heapError(() => heap.free(0x80000000)).message).toMatch(/^heap: free of wild pointer 0x80000000 \(outside/);
    expect(heapError(() => heap.free(a + 4)).message).toBe(`heap: free of wild pointer ${hex(a + 4)} (not a payload address)`);
    expect(heapError(() => heap.free(a + 64)).message).toBe(`heap: free of wild pointer ${hex(a + 64)} (inside block ${hex(a)})`);
    heap.free(a);
    expect(heap.check()).toEqual([]);
  });

  it("garbage written over a header (size, seal or owner word) is reported with the block's address", () => {
    for (const word of [0, 4, 8, 12]) {
      const { hal, heap } = makeHeap();
      const a = heap.allocate(64)!;
      hal.write32(a - HEADER + word, 0xdeadbeef);
      expect(heapError(() => heap.free(a)).message).toMatch(new RegExp(`^heap: header of block ${hex(a)} corrupted \\(magic 0x[0-9a-f]+\\)$`));
      expect(heap.check().join("\n")).toContain(`header at ${hex(a - HEADER)} corrupted`);
    }
  });

  it("a corrupted neighbour header stops coalescing with a HeapError", () => {
    const { hal, heap } = makeHeap();
    const a = heap.allocate(64)!;
    const b = heap.allocate(64)!;
    hal.write32(b - HEADER, 0x1234);
    expect(heapError(() => heap.free(a)).message).toContain(`header at ${hex(b - HEADER)} corrupted`);
  });

  it("a corrupted free-list link is caught by check() and by the next allocation", () => {
    const { hal, heap } = makeHeap();
    const a = heap.allocate(104)!;
    heap.allocate(104);
    heap.free(a);
    hal.write32(a - HEADER + 8, 0x4000);
    expect(heap.check().join("\n")).toContain(`header at ${hex(a - HEADER)} corrupted`);
    expect(heapError(() => heap.allocate(104)).message).toMatch(/^heap: free list corrupted/);
  });

  it("an overrun into the footer is caught on free outside debug mode", () => {
    const { hal, heap } = makeHeap();
    const a = heap.allocate(104)!;
    heap.allocate(104);
    hal.write32(a + 104, 0x41414141);
    expect(heapError(() => heap.free(a)).message).toContain(`footer of block ${hex(a)} corrupted`);
  });
});

describe("GlobalAllocator: debug mode", () => {
  it("fills fresh payloads with 0xCD, red zones with 0xFD and freed payloads with 0xDD", () => {
    const { hal, heap } = makeHeap({ debug: true });
    const a = heap.allocate(40)!;
    const guard = heap.allocate(40)!;
    expect([...hal.readBytes(a, 40)].every((x) => x === 0xcd)).toBe(true);
    expect([...hal.readBytes(a - 16, 16)].every((x) => x === 0xfd)).toBe(true);
    expect([...hal.readBytes(a + 40, 16)].every((x) => x === 0xfd)).toBe(true);
    hal.writeBytes(a, new Uint8Array(40).fill(0x11));
    heap.free(a);
    expect([...hal.readBytes(a - 16, 72)].every((x) => x === 0xdd)).toBe(true);
    expect(heap.check()).toEqual([]);
    heap.free(guard);
  });

  it("allocateZeroed zeroes the payload even in debug mode", () => {
    const { hal, heap } = makeHeap({ debug: true });
    const a = heap.allocateZeroed(100)!;
    expect([...hal.readBytes(a, 100)].every((x) => x === 0)).toBe(true);
  });

  it("a write one byte past the payload is reported by check() and by free", () => {
    const { hal, heap } = makeHeap({ debug: true });
    const a = heap.allocate(40)!;
    hal.write8(a + 40, 0x41);
    expect(heap.check()).toEqual([expect.stringContaining(`red zone after block ${hex(a)} overwritten at ${hex(a + 40)}`)]);
    const e = heapError(() => heap.free(a));
    expect(e.message).toBe(`heap: red zone after block ${hex(a)} overwritten at ${hex(a + 40)}, 0 bytes past its 40-byte payload (byte 0x41): overrun`);
    expect(e.addr).toBe(a);
  });

  it("a write just before the payload is reported as an underrun", () => {
    const { hal, heap } = makeHeap({ debug: true });
    const a = heap.allocate(40)!;
    hal.write8(a - 1, 0);
    expect(heapError(() => heap.free(a)).message).toMatch(/red zone before block .* 1 bytes before the payload .*underrun/);
  });

  it("a write to freed memory is reported by check() and by the allocation that reuses it", () => {
    const { hal, heap } = makeHeap({ debug: true });
    const a = heap.allocate(64)!;
    heap.allocate(64);
    heap.free(a);
    hal.write8(a + 10, 0x55);
    expect(heap.check()).toEqual([expect.stringContaining(`written after free at ${hex(a + 10)}`)]);
    expect(heapError(() => heap.allocate(64)).message).toContain(`written after free at ${hex(a + 10)}`);
  });

  it("reallocate keeps the contents, in place when the block has room and by moving otherwise", () => {
    const { hal, heap } = makeHeap({ debug: true });
    const a = heap.allocate(20)!;
    hal.writeBytes(a, Uint8Array.from({ length: 20 }, (_, i) => i));
    expect(heap.reallocate(a, 24)).toBe(a);
    expect([...hal.readBytes(a + 20, 4)]).toEqual([0xcd, 0xcd, 0xcd, 0xcd]);
    heap.allocate(16);
    const b = heap.reallocate(a, 500)!;
    expect(b).not.toBe(a);
    expect([...hal.readBytes(b, 20)]).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(heap.sizeOf(b)).toBe(500);
    expect(heapError(() => heap.sizeOf(a)).message).toContain("freed block");
    expect(heap.check()).toEqual([]);
  });
});

describe("GlobalAllocator: statistics and leaks", () => {
  it("liveByOwner lists what each owner still holds, read from the headers in RAM", () => {
    const { heap } = makeHeap();
    const v1 = heap.allocate(100, 16, "vfs")!;
    heap.allocate(50, 16, "vfs");
    const n1 = heap.allocate(10, 16, "net")!;
    heap.allocate(7);
    heap.free(v1);
    heap.free(n1);
    expect(Object.fromEntries(heap.liveByOwner())).toEqual({ vfs: { count: 1, bytes: 50 }, "": { count: 1, bytes: 7 } });
  });

  it("fragmentation is 1 - largest free block / free bytes", () => {
    const { heap } = makeHeap();
    const ps = Array.from({ length: 8 }, () => heap.allocate(104)!);
    for (let i = 0; i < 8; i += 2) heap.free(ps[i]!);
    const s = heap.stats();
    expect(s.freeBlocks).toBe(5);
    expect(s.fragmentation).toBeCloseTo(1 - s.largestFreeBlock / s.freeBytes);
    expect(s.fragmentation).toBeGreaterThan(0);
    expect(s.blockBytesInUse).toBe(4 * 128);
  });

  it("free costs the same number of memory accesses with 10 or 1,000 live blocks", () => {
    const cost = (live: number) => {
      const { mem, heap } = makeHeap();
      const ps = Array.from({ length: live }, () => heap.allocate(32)!);
      mem.accesses = 0;
      heap.free(ps[live >> 1]!);
      return mem.accesses;
    };
    expect(cost(1000)).toBe(cost(10));
  });
});

describe("PoolAllocator", () => {
  function makePool(slabs = 4, debug = false) {
    const hal = new FakeHal();
    const mem = new IdentityMemory(hal);
    let next = HEAP;
    let given = 0;
    const pool = new PoolAllocator(mem, {
      objectSize: 48,
      debug,
      getSlab: () => {
        if (given === slabs) return undefined;
        given++;
        next += PAGE_SIZE;
        return next;
      },
    });
    return { hal, mem, pool };
  }

  it("reuses freed objects last-in first-out, through links stored in the objects", () => {
    const { hal, pool } = makePool();
    const [a, b, c] = [pool.allocate()!, pool.allocate()!, pool.allocate()!];
    expect([b - a, c - b]).toEqual([48, 48]);
    pool.free(a);
    pool.free(c);
    expect(hal.read32(c)).toBe(a);
    expect(pool.allocate()).toBe(c);
    expect(pool.allocate()).toBe(a);
    expect(pool.stats()).toMatchObject({ inUse: 3, slabs: 1 });
    expect(pool.check()).toEqual([]);
  });

  it("allocate and free cost a constant number of memory accesses", () => {
    const cost = (live: number) => {
      const { mem, pool } = makePool(64);
      for (let i = 0; i < live; i++) pool.allocate();
      const p = pool.allocate()!;
      mem.accesses = 0;
      pool.free(p);
      pool.allocate();
      return mem.accesses;
    };
    expect(cost(1000)).toBe(cost(10));
  });

  it("takes a new slab when one is full and fails when the callback has none", () => {
    const { pool } = makePool(2);
    const per = pool.slotsPerSlab;
    const got = new Set<number>();
    for (let i = 0; i < 2 * per; i++) got.add(pool.allocate()!);
    expect(got.size).toBe(2 * per);
    expect(pool.allocate()).toBeUndefined();
    expect(pool.stats()).toEqual({ inUse: 2 * per, capacity: 2 * per, slabs: 2 });
    expect(pool.check()).toEqual([]);
  });

  it("a double free or a wild free throws HeapError naming the address", () => {
    const { pool } = makePool();
    const a = pool.allocate()!;
    pool.free(a);
    expect(heapError(() => pool.free(a)).message).toBe(`pool: double free of ${hex(a)}`);
    expect(heapError(() => pool.free(a + 8)).message).toContain(`wild pointer ${hex(a + 8)} (not a slot boundary`);
    expect(heapError(() => pool.free(HEAP + 0x10000)).message).toContain("no slab of this pool");
  });

  it("debug mode poisons objects and notices writes to freed ones", () => {
    const { hal, pool } = makePool(4, true);
    const a = pool.allocate()!;
    expect([...hal.readBytes(a, 48)].every((x) => x === 0xcd)).toBe(true);
    pool.free(a);
    expect([...hal.readBytes(a + 8, 40)].every((x) => x === 0xdd)).toBe(true);
    hal.write8(a + 20, 1);
    expect(pool.check()).toEqual([`slot ${hex(a)} written after free at ${hex(a + 20)}`]);
    expect(heapError(() => pool.allocate()).message).toContain(`slot ${hex(a)} written after free`);
  });
});

describe("BumpAllocator", () => {
  it("allocates aligned addresses upward, fails when full, and reset frees everything", () => {
    const bump = new BumpAllocator({ start: HEAP, size: 256 });
    expect(bump.allocate(10, 1)).toBe(HEAP);
    expect(bump.allocate(8, 64)).toBe(HEAP + 64);
    expect(bump.used).toBe(72);
    expect(bump.remaining).toBe(184);
    expect(bump.allocate(200)).toBeUndefined();
    const m = bump.mark();
    expect(bump.allocate(100)).toBe(HEAP + 80);
    bump.release(m);
    expect(bump.used).toBe(72);
    bump.reset();
    expect([bump.used, bump.remaining, bump.allocations]).toEqual([0, 256, 0]);
    expect(bump.allocate(256)).toBe(HEAP);
  });

  it("debug mode poisons fresh and released memory", () => {
    const hal = new FakeHal();
    const bump = new BumpAllocator({ start: HEAP, size: 64, mem: new IdentityMemory(hal), debug: true });
    const a = bump.allocate(16)!;
    expect(hal.read32(a)).toBe(0xcdcdcdcd);
    bump.reset();
    expect(hal.read32(a)).toBe(0xdddddddd);
  });
});

describe("allocateSlice", () => {
  it("reads and writes elements through kernel memory, and offers a live typed view", () => {
    const { hal, heap } = makeHeap();
    const s = allocateSlice(heap, 10, 4, "table")!;
    expect(s.get(3)).toBe(0);
    s.set(3, 0xfeedf00d);
    expect(hal.read32(s.addr + 12)).toBe(0xfeedf00d);
    const v = s.view() as Uint32Array;
    expect(v).toBeInstanceOf(Uint32Array);
    expect(v[3]).toBe(0xfeedf00d);
    v[4] = 7;
    expect(s.get(4)).toBe(7);
    expect(() => s.get(10)).toThrow(RangeError);
    expect(() => s.set(0, 2 ** 32)).toThrow(RangeError);
    const h = allocateSlice(heap, 3, 2)!;
    h.set(1, 0xbeef);
    expect([hal.read8(h.addr + 2), hal.read8(h.addr + 3)]).toEqual([0xef, 0xbe]);
    expect(heap.liveByOwner().get("table")).toEqual({ count: 1, bytes: 40 });
  });

  it("has no typed view across a host chunk boundary or without direct access, yet still works", () => {
    const { heap } = makeHeap();
    const big = allocateSlice(heap, CHUNK_SIZE, 1)!;
    expect(big.view()).toBeUndefined();
    big.set(CHUNK_SIZE - 1, 9);
    expect(big.get(CHUNK_SIZE - 1)).toBe(9);
    const hal = new FakeHal();
    const plain: KernelMemory = {
      read32: (va) => hal.read32(va), write32: (va, v) => hal.write32(va, v),
      read8: (va) => hal.read8(va), write8: (va, v) => hal.write8(va, v),
      fill: (va, len, b) => hal.fill(va, len, b),
    };
    const heap2 = new GlobalAllocator(plain, { start: HEAP, maxSize: 1 << 20, grow: () => true });
    const s = allocateSlice(heap2, 4, 1)!;
    expect(s.view()).toBeUndefined();
    s.set(2, 200);
    expect(s.get(2)).toBe(200);
  });
});

describe("GlobalAllocator: randomized against a host model", () => {
  it.each([false, true])("5,000 mixed operations keep payloads disjoint and intact (debug %s)", (debug) => {
    const { hal, heap } = makeHeap({ debug, maxSize: 4 << 20, limit: 4 << 20 });
    const next = rng(0x5eed + (debug ? 1 : 0));
    const live = new Map<number, { size: number; fill: number }>();
    const pattern = (size: number, fill: number) => Uint8Array.from({ length: size }, (_, i) => (fill + i * 7) & 0xff);
    const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
    const verify = (addr: number) => {
      const { size, fill } = live.get(addr)!;
      if (!same(hal.readBytes(addr, size), pattern(size, fill))) expect.fail(`payload at ${hex(addr)} (${size} bytes) changed`);
    };
    const overlaps = (addr: number, size: number) => {
      for (const [b, o] of live) if (addr < b + Math.max(o.size, 1) && b < addr + Math.max(size, 1)) return b;
      return undefined;
    };
    for (let op = 0; op < 5000; op++) {
      const r = next();
      const pick = () => [...live.keys()][next() % live.size]!;
      if (live.size > 0 && (live.size >= 300 || r % 100 < 40)) {
        const addr = pick();
        verify(addr);
        heap.free(addr);
        live.delete(addr);
      } else if (live.size > 0 && r % 100 < 50) {
        const addr = pick();
        const old = live.get(addr)!;
        const size = next() % 600;
        const moved = heap.reallocate(addr, size)!;
        live.delete(addr);
        const kept = Math.min(old.size, size);
        if (!same(hal.readBytes(moved, kept), pattern(old.size, old.fill).subarray(0, kept))) expect.fail(`reallocate lost the contents of ${hex(addr)}`);
        expect(overlaps(moved, size)).toBeUndefined();
        live.set(moved, { size, fill: old.fill });
        hal.writeBytes(moved, pattern(size, old.fill));
      } else {
        const size = next() % 20 === 0 ? next() % 8192 : next() % 300;
        const align = [16, 16, 16, 8, 32, 64, 128, 512][next() % 8]!;
        const addr = heap.allocate(size, align, `owner${next() % 3}`)!;
        expect(addr).toBeDefined();
        expect(addr % align).toBe(0);
        expect(overlaps(addr, size)).toBeUndefined();
        const fill = next() & 0xff;
        live.set(addr, { size, fill });
        hal.writeBytes(addr, pattern(size, fill));
      }
      if (op % 1000 === 999) {
        expect(heap.check()).toEqual([]);
        expect(heap.stats().bytesInUse).toBe([...live.values()].reduce((n, o) => n + o.size, 0));
      }
    }
    const owners = [...heap.liveByOwner().values()].reduce((n, o) => n + o.count, 0);
    expect(owners).toBe(live.size);
    for (const addr of [...live.keys()]) {
      verify(addr);
      heap.free(addr);
    }
    expect(heap.check()).toEqual([]);
    const s = heap.stats();
    expect(s).toMatchObject({ usedBlocks: 0, bytesInUse: 0, blockBytesInUse: 0, freeBlocks: 1, freeBytes: s.heapSize - CONTROL, largestFreeBlock: s.heapSize - CONTROL, fragmentation: 0 });
    expect(s.allocations).toBe(s.frees);
  });
});
