/**
 * The physical memory manager (kernel/mm/phys) against FakeHal: memory-map validation, the frame
 * bitmap kept in RAM, allocation rules, contiguous runs, reference counts, zeroing and poison,
 * panics on bad frees, statistics, owner leak tracking, determinism, and flat cost up to 64 GiB.
 */
import { describe, expect, it } from "vitest";
import type { PhysMemory } from "../kernel/hal.js";
import { PAGE_SIZE } from "../kernel/mm/frames.js";
import { FrameAllocator, type UseAfterFree } from "../kernel/mm/phys/allocator.js";
import { BootError, MemoryRegionKind as K, validateMemoryMap, type MemoryRegion } from "../kernel/mm/phys/regions.js";
import { KernelPanic } from "../kernel/panic.js";
import { FakeHal } from "./support/fake-hal.js";
import { rng } from "./support/rng.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const RAM = 0x80000000;
const hex = (n: number): string => `0x${n.toString(16)}`;

/**
 * A 128 MiB machine: 2 MiB kernel image, Usable RAM with a 1 MiB firmware hole at +64 MiB,
 * and a UART outside RAM.
 */
function standardMap(size = 128 * MiB): MemoryRegion[] {
  return [
    { base: 0x10000000, size: 0x1000, kind: K.DeviceMemory },
    { base: RAM, size: 2 * MiB, kind: K.KernelAndModules },
    { base: RAM + 2 * MiB, size: 62 * MiB, kind: K.Usable },
    { base: RAM + 64 * MiB, size: 1 * MiB, kind: K.Reserved },
    { base: RAM + 65 * MiB, size: size - 65 * MiB, kind: K.Usable },
  ];
}

function boot(options: ConstructorParameters<typeof FrameAllocator>[2] = {}, map = standardMap()): { hal: FakeHal; fa: FrameAllocator } {
  const hal = new FakeHal(RAM, 128 * MiB);
  return { hal, fa: new FrameAllocator(hal, map, options) };
}

/** A machine whose only Usable RAM is `frames` frames right after the metadata (given at RAM). */
function tiny(frames: number, options: ConstructorParameters<typeof FrameAllocator>[2] = {}): { hal: FakeHal; fa: FrameAllocator; first: number } {
  const hal = new FakeHal(RAM, 4 * MiB);
  const map: MemoryRegion[] = [
    { base: RAM, size: 1 * MiB, kind: K.KernelAndModules },
    { base: RAM + 1 * MiB, size: frames * PAGE_SIZE, kind: K.Usable },
  ];
  return { hal, fa: new FrameAllocator(hal, map, { bitmapAt: RAM, ...options }), first: RAM + 1 * MiB };
}

function kindAt(map: readonly MemoryRegion[], pa: number): string | undefined {
  return map.find((r) => pa >= r.base && pa < r.base + r.size)?.kind;
}

/** A PhysMemory that counts the calls made through it. */
function counting(hal: FakeHal): { mem: PhysMemory; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const mem = new Proxy(hal, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        calls.set(String(prop), (calls.get(String(prop)) ?? 0) + 1);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { mem, calls };
}

describe("memory map validation", () => {
  const r = (base: number, size: number, kind: K = K.Usable): MemoryRegion => ({ base, size, kind });

  it("returns a sorted copy and leaves the input alone", () => {
    const input = [r(RAM + 0x2000, 0x1000, K.Reserved), r(RAM, 0x2000)];
    const out = validateMemoryMap(input);
    expect(out.map((x) => x.base)).toEqual([RAM, RAM + 0x2000]);
    expect(input[0]!.base).toBe(RAM + 0x2000);
  });

  it.each([
    [[], "memory map is empty"],
    [[r(RAM, 0)], "memory map: region [0x80000000, +0x0) Usable has size 0"],
    [[r(RAM + 0x800, 0x1000)], "memory map: region [0x80000800, +0x1000) Usable is not 4 KiB aligned"],
    [[r(RAM, 0x1800)], "memory map: region [0x80000000, +0x1800) Usable is not 4 KiB aligned"],
    [[r(RAM, 0x1000), r(RAM + 0x800, 0x1000, K.Reserved)],
      "memory map: regions [0x80000000, +0x1000) Usable and [0x80000800, +0x1000) Reserved overlap"],
    [[r(RAM + 0x1000, 0x1000, K.Reserved), r(RAM, 0x4000)],
      "memory map: regions [0x80000000, +0x4000) Usable and [0x80001000, +0x1000) Reserved overlap"],
    [[r(-0x1000, 0x1000)], "memory map: region [0x-1000, +0x1000) Usable is outside the physical address space"],
    [[r(2 ** 53 - 0x1000, 0x2000)], "is outside the physical address space"],
    [[{ base: RAM, size: 0x1000, kind: "Ram" as K }], "memory map: region [0x80000000, +0x1000) Ram has an unknown kind"],
  ])("rejects %j with a one-line BootError naming the region", (map, message) => {
    expect(() => validateMemoryMap(map)).toThrow(BootError);
    expect(() => validateMemoryMap(map)).toThrow(message);
  });

  it("the allocator refuses a map with no room for its metadata, or metadata placed over a device", () => {
    const hal = new FakeHal(RAM, 4 * MiB);
    expect(() => new FrameAllocator(hal, [{ base: 0x10000000, size: 0x1000, kind: K.DeviceMemory }])).toThrow("memory map has no RAM");
    expect(() => new FrameAllocator(hal, [{ base: RAM, size: 4 * MiB, kind: K.Reserved }])).toThrow(/no Usable region can hold .* metadata/);
    const map = [{ base: RAM, size: 0x1000, kind: K.BadMemory }, { base: RAM + 0x1000, size: 0x1000, kind: K.Usable }];
    expect(() => new FrameAllocator(hal, map, { bitmapAt: RAM })).toThrow(
      "frame allocator metadata [0x80000000, +0x1000) overlaps [0x80000000, +0x1000) BadMemory");
  });
});

describe("frame bitmap lives in RAM", () => {
  it("places its metadata in the first Usable region and carves it out as KernelAndModules", () => {
    const { fa } = boot();
    expect(fa.metadataBase).toBe(RAM + 2 * MiB);
    expect(fa.metadataBytes).toBe(4 * KiB + 4 * KiB + 32768 * 4);
    expect(kindAt(fa.regions, fa.metadataBase)).toBe(K.KernelAndModules);
    expect(kindAt(fa.regions, fa.metadataBase + fa.metadataBytes)).toBe(K.Usable);
  });

  it("an allocation sets the frame's bit in the RAM word that covers it", () => {
    const { hal, fa } = boot();
    const pa = fa.allocateFrame()!;
    const i = (pa - fa.managedBase) / PAGE_SIZE;
    const word = hal.read32(fa.metadataBase + 4 * (i >>> 5));
    expect((word >>> (i & 31)) & 1).toBe(1);
    fa.freeFrame(pa);
    expect((hal.read32(fa.metadataBase + 4 * (i >>> 5)) >>> (i & 31)) & 1).toBe(0);
  });

  it("a bit set behind the allocator's back makes it skip that frame", () => {
    const { hal, fa } = boot();
    const a = fa.allocateFrame()!;
    const b = a + PAGE_SIZE;
    const i = (b - fa.managedBase) / PAGE_SIZE;
    const addr = fa.metadataBase + 4 * (i >>> 5);
    hal.write32(addr, hal.read32(addr) | (1 << (i & 31)));
    expect(fa.allocateFrame()).toBe(b + PAGE_SIZE);
  });

  it("a word that RAM says is full is skipped even though the host summary said it had room", () => {
    const { hal, fa } = boot();
    const a = fa.allocateFrame()!;
    const i = (a - fa.managedBase) / PAGE_SIZE;
    const addr = fa.metadataBase + 4 * (i >>> 5);
    hal.write32(addr, 0xffffffff);
    expect(fa.allocateFrame()).toBe(fa.managedBase + ((i >>> 5) + 1) * 32 * PAGE_SIZE);
  });

  it("a kernel frame marked free in RAM is caught as bitmap corruption, not handed out", () => {
    const { hal, fa } = boot();
    const free = fa.getMemoryStats().freeFrames;
    hal.write32(fa.metadataBase, 0xfffffffe);
    expect(fa.audit()).toEqual([
      "bitmap word 0 (frames 0..31) is 0xfffffffe but the summary says full",
      `bitmap has ${free + 1} free frames in RAM but the host counts ${free}`,
    ]);
    fa.rebuildSummary();
    expect(() => fa.allocateFrame()).toThrow(new KernelPanic("frame bitmap corrupt: frame 0x80000000 in a KernelAndModules region is marked free"));
  });

  // assertUsable remembers the Usable region it checked last; reserveRange must make it forget.
  it("a frame reserved as BadMemory inside the region allocated from last, then marked free in RAM, is caught as corruption", () => {
    const { hal, fa } = boot();
    const a = fa.allocateFrame()!;
    const bad = a + 4 * PAGE_SIZE;
    fa.reserveRange(bad, PAGE_SIZE, K.BadMemory);
    const i = (bad - fa.managedBase) / PAGE_SIZE;
    const addr = fa.metadataBase + 4 * (i >>> 5);
    hal.write32(addr, hal.read32(addr) & ~(1 << (i & 31)));
    fa.rebuildSummary();
    for (let k = 0; k < 3; k++) fa.allocateFrame();
    expect(() => fa.allocateFrame()).toThrow(new KernelPanic(`frame bitmap corrupt: frame 0x${bad.toString(16)} in a BadMemory region is marked free`));
  });
});

describe("allocation", () => {
  it("hands out every Usable frame exactly once, never a reserved, kernel or metadata frame, then undefined", () => {
    const { fa } = boot();
    const free = fa.getMemoryStats().freeFrames;
    const regions = fa.regions;
    const seen = new Set<number>();
    const wrong: number[] = [];
    for (let pa = fa.allocateFrame(); pa !== undefined; pa = fa.allocateFrame()) {
      if (kindAt(regions, pa) !== K.Usable) wrong.push(pa);
      seen.add(pa);
    }
    expect(wrong).toEqual([]);
    expect(seen.size).toBe(free);
    expect(free).toBe((128 * MiB - 3 * MiB - fa.metadataBytes) / PAGE_SIZE);
    expect(fa.allocateFrame()).toBeUndefined();
    expect(fa.allocateContiguous(1)).toBeUndefined();
    const stats = fa.getMemoryStats();
    expect(stats.freeFrames).toBe(0);
    expect(stats.failedAllocations).toBe(3);
    const back = [...seen][1234]!;
    fa.freeFrame(back);
    expect(fa.allocateFrame()).toBe(back);
    expect(fa.audit()).toEqual([]);
  });

  it("zeroes a frame on allocation even when the firmware left junk in it", () => {
    const hal = new FakeHal(RAM, 128 * MiB);
    hal.fill(RAM + 2 * MiB, 128 * KiB, 0xa5);
    const fa = new FrameAllocator(hal, standardMap(), { bitmapAt: RAM });
    const pa = fa.allocateFrame()!;
    expect(pa).toBe(RAM + 2 * MiB);
    expect(hal.readBytes(pa, PAGE_SIZE).every((b) => b === 0)).toBe(true);
    const run = fa.allocateContiguous(16, 16)!;
    expect(run).toBe(RAM + 2 * MiB + 64 * KiB);
    expect(hal.readBytes(run, 16 * PAGE_SIZE).every((b) => b === 0)).toBe(true);
  });

  it("with zeroedAtBoot hands out a frame never used since boot as it is, and still zeroes every frame it frees", () => {
    const hal = new FakeHal(RAM, 128 * MiB);
    // Junk the allocator must not write over: the platform vouched that Usable RAM was zero.
    hal.write32(RAM + 2 * MiB + 8, 0x1234);
    const calls = counting(hal);
    const fa = new FrameAllocator(calls.mem, standardMap(), { bitmapAt: RAM, zeroedAtBoot: true });
    const fills = (): number => calls.calls.get("fill") ?? 0;
    const bootFills = fills();
    const pa = fa.allocateFrame()!;
    expect(pa).toBe(RAM + 2 * MiB);
    expect(fills()).toBe(bootFills);
    expect(hal.read32(pa + 8)).toBe(0x1234);
    fa.freeFrame(pa);
    expect(hal.read32(pa + 8)).toBe(0);
    expect(fills()).toBe(bootFills + 1);
    // In debug mode every frame handed out is zeroed, whatever the platform says.
    const dbg = new FrameAllocator(hal, standardMap(), { bitmapAt: RAM, zeroedAtBoot: true, debug: true });
    hal.write32(RAM + 2 * MiB + 8, 0x1234);
    expect(dbg.allocateFrame()).toBe(RAM + 2 * MiB);
    expect(hal.read32(RAM + 2 * MiB + 8)).toBe(0);
  });

  it("searches on from the last frame handed out, but from the lowest frame freed since when that is lower", () => {
    const { fa, first } = tiny(6);
    const [a, b, c] = [fa.allocateFrame()!, fa.allocateFrame()!, fa.allocateFrame()!];
    expect([a, b, c]).toEqual([first, first + PAGE_SIZE, first + 2 * PAGE_SIZE]);
    // Freed frames come back first, lowest first (they are zeroed and were in use a moment ago).
    fa.freeFrame(b);
    fa.freeFrame(a);
    expect(fa.allocateFrame()).toBe(a);
    expect(fa.allocateFrame()).toBe(b);
    // Then the search goes on from there: past the frames in use, to the never-used ones.
    expect(fa.allocateFrame()).toBe(first + 3 * PAGE_SIZE);
    fa.freeFrame(first + 3 * PAGE_SIZE);
    fa.freeFrame(c);
    expect(fa.allocateFrame()).toBe(c);
    expect(fa.allocateFrame()).toBe(first + 3 * PAGE_SIZE);
    expect(fa.allocateFrame()).toBe(first + 4 * PAGE_SIZE);
    expect(fa.allocateFrame()).toBe(first + 5 * PAGE_SIZE);
    expect(fa.allocateFrame()).toBeUndefined();
  });

  it("is deterministic: the same sequence of calls yields the same frames", () => {
    const run = (): number[] => {
      const { fa } = boot();
      const next = rng(42);
      const live: number[] = [];
      const out: number[] = [];
      for (let step = 0; step < 3000; step++) {
        const r = next() % 10;
        if (r < 6 || live.length === 0) {
          const pa = r === 0 ? fa.allocateContiguous(1 + (next() % 40), 1 << (next() % 5)) : fa.allocateFrame(`proc ${r}`);
          if (pa !== undefined) { live.push(pa); out.push(pa); }
        } else {
          const [pa] = live.splice(next() % live.length, 1);
          fa.freeFrame(pa!);
        }
      }
      return out;
    };
    expect(run()).toEqual(run());
  });
});

describe("contiguous allocation", () => {
  it("returns a 2 MiB-aligned run of 512 frames for a huge page, zeroed, each frame with one reference", () => {
    const { hal, fa } = boot();
    fa.allocateFrame();
    const pa = fa.allocateContiguous(512, 512)!;
    expect(pa % (2 * MiB)).toBe(0);
    for (let k = 0; k < 512; k++) {
      expect(kindAt(fa.regions, pa + k * PAGE_SIZE)).toBe(K.Usable);
      expect(fa.refCount(pa + k * PAGE_SIZE)).toBe(1);
    }
    expect(hal.read32(pa + 511 * PAGE_SIZE + 4092)).toBe(0);
    const second = fa.allocateContiguous(512, 512)!;
    expect(second).toBe(pa + 2 * MiB);
    expect(fa.getMemoryStats().contiguousAllocations).toBe(2);
    fa.freeContiguous(pa, 512);
    expect(fa.allocateContiguous(512, 512)).toBe(pa);
  });

  it("skips runs broken by a used frame or by a reserved region", () => {
    const { fa } = boot();
    const below = RAM + 64 * MiB - 8 * PAGE_SIZE;
    while (fa.allocateFrame()! < below - PAGE_SIZE);
    const run = fa.allocateContiguous(16, 1)!;
    expect(run).toBe(RAM + 65 * MiB);
    const aligned = fa.allocateContiguous(8, 8)!;
    expect(aligned).toBe(below);
    expect(fa.allocateContiguous(4, 4)).toBe(RAM + 65 * MiB + 16 * PAGE_SIZE);
  });

  it("returns undefined when no run is long enough, and rejects a bad alignment", () => {
    const { fa, first } = tiny(8);
    fa.allocateFrame();
    expect(fa.allocateContiguous(8)).toBeUndefined();
    expect(fa.allocateContiguous(7)).toBe(first + PAGE_SIZE);
    expect(() => fa.allocateContiguous(2, 3)).toThrow(RangeError);
    expect(() => fa.allocateContiguous(0)).toThrow(RangeError);
  });
});

describe("reference counts", () => {
  it("a frame with an added reference survives one free and is released by the second", () => {
    const { hal, fa } = boot();
    const pa = fa.allocateFrame("proc 1")!;
    hal.write32(pa, 0x12345678);
    fa.addRef(pa);
    expect(fa.refCount(pa)).toBe(2);
    fa.freeFrame(pa);
    expect(fa.refCount(pa)).toBe(1);
    expect(hal.read32(pa)).toBe(0x12345678);
    expect(fa.getMemoryStats().frees).toBe(0);
    fa.freeFrame(pa);
    expect(fa.refCount(pa)).toBe(0);
    expect(fa.getMemoryStats().frees).toBe(1);
    expect(() => fa.freeFrame(pa)).toThrow(new KernelPanic(`double free of frame ${hex(pa)} (owner: proc 1)`));
  });

  it("keeps the count in the frame's RAM record, and panics on a corrupt one", () => {
    const { hal, fa } = boot();
    const pa = fa.allocateFrame()!;
    fa.addRef(pa);
    const i = (pa - fa.managedBase) / PAGE_SIZE;
    const record = fa.metadataBase + 2 * 4 * KiB + 4 * i;
    expect(hal.read32(record) & 0xffff).toBe(2);
    hal.write32(record, 0);
    expect(() => fa.freeFrame(pa)).toThrow(`frame records corrupt: allocated frame ${hex(pa)} has reference count 0`);
  });

  it("refuses references to free frames", () => {
    const { fa } = boot();
    const pa = fa.allocateFrame("proc 7")!;
    fa.freeFrame(pa);
    expect(() => fa.addRef(pa)).toThrow(new KernelPanic(`addRef of freed frame ${hex(pa)} (owner: proc 7)`));
    expect(fa.refCount(RAM)).toBe(0);
    expect(() => fa.refCount(RAM + 1)).toThrow(RangeError);
  });
});

describe("zeroing and poison", () => {
  it("zeroes a frame when it is freed", () => {
    const { hal, fa } = boot();
    const pa = fa.allocateFrame()!;
    hal.fill(pa, PAGE_SIZE, 0x77);
    fa.freeFrame(pa);
    expect(hal.readBytes(pa, PAGE_SIZE).every((b) => b === 0)).toBe(true);
  });

  it("in debug mode poisons a freed frame with 0xDEADBEEF and hands it out zeroed when the poison is intact", () => {
    const { hal, fa, first } = tiny(1, { debug: true });
    const pa = fa.allocateFrame()!;
    fa.freeFrame(pa);
    for (let off = 0; off < PAGE_SIZE; off += 4) expect(hal.read32(pa + off)).toBe(0xdeadbeef);
    expect(fa.allocateFrame()).toBe(first);
    expect(fa.corruptions).toEqual([]);
    expect(hal.readBytes(pa, PAGE_SIZE).every((b) => b === 0)).toBe(true);
  });

  it("in debug mode reports a write to a free frame as a use after free, then zeroes the frame", () => {
    const seen: UseAfterFree[] = [];
    const { hal, fa } = tiny(1, { debug: true, onCorruption: (c) => seen.push(c) });
    const pa = fa.allocateFrame("proc 3")!;
    fa.freeFrame(pa);
    hal.write32(pa + 0x40, 42);
    expect(fa.allocateFrame("proc 4")).toBe(pa);
    const message = `use after free: frame ${hex(pa)} offset 0x40 holds 0x2a, not 0xdeadbeef (last owner: proc 3)`;
    expect(fa.corruptions).toEqual([{ frame: pa, offset: 0x40, found: 42, lastOwner: "proc 3", message }]);
    expect(seen).toEqual(fa.corruptions);
    expect(fa.getMemoryStats().corruptionsDetected).toBe(1);
    expect(hal.read32(pa + 0x40)).toBe(0);
  });
});

describe("bad frees panic and name the frame", () => {
  it.each([
    ["a double free", (fa: FrameAllocator) => { const pa = fa.allocateFrame("proc 3")!; fa.freeFrame(pa); return pa; },
      (pa: number) => `double free of frame ${hex(pa)} (owner: proc 3)`],
    ["an unaligned address", () => RAM + 3 * MiB + 8, (pa: number) => `invalid free of ${hex(pa)}: not frame-aligned`],
    ["an address below managed RAM", () => 0x1000, () => "invalid free of frame 0x1000: outside managed RAM [0x80000000, 0x88000000)"],
    ["an address past managed RAM", () => RAM + 128 * MiB, () => "invalid free of frame 0x88000000: outside managed RAM [0x80000000, 0x88000000)"],
    ["a kernel frame", () => RAM, () => "invalid free of frame 0x80000000: in a KernelAndModules region"],
    ["a firmware frame", () => RAM + 64 * MiB, () => "invalid free of frame 0x84000000: in a Reserved region"],
    ["a metadata frame", (fa: FrameAllocator) => fa.metadataBase, (pa: number) => `invalid free of frame ${hex(pa)}: in a KernelAndModules region`],
    ["a frame never allocated", () => RAM + 100 * MiB, () => "invalid free of frame 0x86400000: never allocated"],
  ])("%s", (_what, setup, message) => {
    const { fa } = boot();
    const pa = setup(fa);
    expect(() => fa.freeFrame(pa)).toThrow(KernelPanic);
    expect(() => fa.freeFrame(pa)).toThrow(new KernelPanic(message(pa)));
  });
});

describe("regions, statistics and owners", () => {
  it("reports totals and per-kind sizes with total = used + free + reserved", () => {
    const { fa } = boot();
    const s0 = fa.getMemoryStats();
    expect(s0.totalBytes).toBe(128 * MiB);
    expect(s0.byKind.KernelAndModules.bytes).toBe(2 * MiB + fa.metadataBytes);
    expect(s0.byKind.Reserved.frames).toBe(256);
    expect(s0.byKind.DeviceMemory.bytes).toBe(0x1000);
    expect(s0.byKind.Usable.bytes).toBe(125 * MiB - fa.metadataBytes);
    expect(s0.usedFrames).toBe(0);
    expect(s0.reservedBytes).toBe(3 * MiB + fa.metadataBytes);
    const pages = Array.from({ length: 10 }, () => fa.allocateFrame()!);
    fa.allocateContiguous(512, 512);
    for (const pa of pages.slice(0, 4)) fa.freeFrame(pa);
    const s = fa.getMemoryStats();
    expect(s.usedFrames).toBe(518);
    expect(s.usedBytes).toBe(518 * PAGE_SIZE);
    expect(s.usedFrames + s.freeFrames + s.reservedFrames).toBe(s.totalFrames);
    expect([s.allocations, s.frees, s.contiguousAllocations, s.peakUsedFrames]).toEqual([522, 4, 1, 522]);
    expect(s.metadataBytes).toBe(fa.metadataBytes);
  });

  it("reserves a range at run time: its frames leave the pool and are never handed out", () => {
    const { fa, first } = tiny(8);
    fa.reserveRange(first + 2 * PAGE_SIZE, 2 * PAGE_SIZE, K.BadMemory);
    const s = fa.getMemoryStats();
    expect([s.byKind.BadMemory.frames, s.freeFrames, s.byKind.Usable.frames]).toEqual([2, 6, 6]);
    const got: number[] = [];
    for (let pa = fa.allocateFrame(); pa !== undefined; pa = fa.allocateFrame()) got.push(pa);
    expect(got.map((pa) => (pa - first) / PAGE_SIZE)).toEqual([0, 1, 4, 5, 6, 7]);
    expect(() => fa.freeFrame(first + 2 * PAGE_SIZE)).toThrow(`invalid free of frame ${hex(first + 2 * PAGE_SIZE)}: in a BadMemory region`);
  });

  it("refuses to reserve an allocated frame, the metadata, or an unaligned range", () => {
    const { fa, first } = tiny(8);
    fa.allocateFrame("proc 9");
    expect(() => fa.reserveRange(first, PAGE_SIZE, K.BadMemory)).toThrow(`frame ${hex(first)} is allocated (owner: proc 9)`);
    expect(() => fa.reserveRange(RAM, PAGE_SIZE, K.BadMemory)).toThrow("overlaps the frame allocator's metadata");
    expect(() => fa.reserveRange(first + 1, PAGE_SIZE, K.BadMemory)).toThrow(RangeError);
    expect(() => fa.reserveRange(first, PAGE_SIZE, K.Usable)).toThrow(RangeError);
    expect(fa.getMemoryStats().byKind.BadMemory.frames).toBe(0);
  });

  it("tracks live frames per owner and lists an owner's leaks", () => {
    const { fa } = boot();
    const p1 = [fa.allocateFrame("proc 1")!, fa.allocateFrame("proc 1")!, fa.allocateFrame("proc 1")!];
    const p2 = [fa.allocateFrame("proc 2")!, fa.allocateFrame("proc 2")!];
    fa.allocateFrame();
    const dma = fa.allocateContiguous(4, 4, "virtio")!;
    fa.freeFrame(p1[1]!);
    expect(fa.allocationsByOwner()).toEqual(new Map([["(anonymous)", 1], ["proc 1", 2], ["proc 2", 2], ["virtio", 4]]));
    expect(fa.leaksOf("proc 1")).toEqual([p1[0], p1[2]]);
    expect(fa.ownerOf(dma + 3 * PAGE_SIZE)).toBe("virtio");
    for (const pa of p2) fa.freeFrame(pa);
    expect(fa.leaksOf("proc 2")).toEqual([]);
    expect(fa.leaksOf("nobody")).toEqual([]);
    expect(fa.allocationsByOwner().has("proc 2")).toBe(false);
  });
});

describe("large machines (sparse RAM)", () => {
  it.each([
    ["4 GiB", 4 * GiB, 3],
    ["64 GiB", 64 * GiB, 4],
  ])("%s: boots, allocates and frees with the same RAM traffic per allocation as 128 MiB", (_name, size, depth) => {
    const traffic = (ramSize: number): { fa: FrameAllocator; perAlloc: Map<string, number>; hal: FakeHal } => {
      const hal = new FakeHal(RAM, ramSize);
      const { mem, calls } = counting(hal);
      const fa = new FrameAllocator(mem, standardMap(ramSize));
      for (let k = 0; k < 100; k++) fa.allocateFrame();
      calls.clear();
      fa.allocateFrame("p");
      return { fa, perAlloc: new Map(calls), hal };
    };
    const small = traffic(128 * MiB);
    const big = traffic(size);
    expect(big.perAlloc).toEqual(small.perAlloc);
    expect([small.fa.searchDepth, big.fa.searchDepth]).toEqual([2, depth]);

    const { fa, hal } = big;
    const s = fa.getMemoryStats();
    expect(s.totalBytes).toBe(size);
    expect(s.metadataBytes).toBe(2 * (size / PAGE_SIZE / 8) + (size / PAGE_SIZE) * 4);
    const huge = fa.allocateContiguous(512, 512)!;
    expect(huge % (2 * MiB)).toBe(0);
    const halfRam = size / 2;
    const high = fa.allocateContiguous(512, halfRam / PAGE_SIZE, "dma")!;
    expect(high).toBe(Math.ceil((RAM + 1) / halfRam) * halfRam);
    expect(high).toBeGreaterThanOrEqual(2 ** 32);
    const top = RAM + size - PAGE_SIZE;
    fa.reserveRange(top, PAGE_SIZE, K.BadMemory);
    expect(() => fa.freeFrame(top)).toThrow(`invalid free of frame ${hex(top)}: in a BadMemory region`);
    fa.freeContiguous(huge, 512);
    fa.freeContiguous(high, 512);
    expect(fa.getMemoryStats().byKind.BadMemory.frames).toBe(1);
    expect(fa.audit()).toEqual([]);
    expect(hal.bus.ramAt(RAM)!.allocatedBytes).toBeLessThan(16 * MiB);
  });
});
