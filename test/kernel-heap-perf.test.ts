/**
 * The running kernel's heap, perf counters, leak detection and paranoid mode, through the whole
 * trap path: each test boots the kernel on riscv64-virt with a small assembly program, and reads
 * the kernel's state (page tables, frame records, heap blocks) from emulated RAM.
 */
import { describe, expect, it } from "vitest";
import { bootKernel, type KernelMachine } from "../boot/riscv64/kernel-boot.js";
import { RISCV_SV39 } from "../kernel/arch/riscv64/paging.js";
import { MemoryFlags } from "../kernel/mm/flags.js";
import { createKernelHeap, HEAP_FRAME_OWNER, heapMemoryOf, KernelHeapMemory } from "../kernel/mm/kernel-heap.js";
import { FrameAllocator } from "../kernel/mm/phys/allocator.js";
import { BootError, MemoryRegionKind } from "../kernel/mm/phys/regions.js";
import type { FaultStats } from "../kernel/mm/process-memory.js";
import { AddressSpace } from "../kernel/mm/vm/index.js";
import type { Process } from "../kernel/proc/process.js";
import { assembleRiscv64 } from "../tools/asm/riscv64/index.js";
import { FakeHal } from "./support/fake-hal.js";

const HEAP_VA = 0xffff_ffe0_0000_0000n;
const hex = (v: number | bigint): string => "0x" + v.toString(16);

/** mmap(NULL, n pages, RW, PRIVATE|ANONYMOUS), a store to each page, then exit(7). */
const touch = (pages: number): string => `
    .text
    .globl _start
_start:
    li      a0, 0
    li      a1, ${pages} * 4096 + 4096
    li      a2, 3
    li      a3, 0x22
    li      a4, -1
    li      a5, 0
    li      a7, 222
    ecall
    li      t0, ${pages}
1:  beqz    t0, 2f
    sd      t0, 0(a0)
    li      t1, 4096
    add     a0, a0, t1
    addi    t0, t0, -1
    j       1b
2:  li      a0, 7
    li      a7, 93
    ecall
`;

/**
 * fork; the child writes a shared data page (one COW copy) and exits 3; the parent maps, touches
 * and unmaps a page, waits for the child, and exits 7.
 */
const FORK = `
    .text
    .globl _start
_start:
    li      a0, 17
    li      a1, 0
    li      a7, 220
    ecall
    bnez    a0, parent
    la      t0, buf
    sd      t0, 0(t0)
    li      a0, 3
    li      a7, 93
    ecall
parent:
    li      a0, 0
    li      a1, 4096
    li      a2, 3
    li      a3, 0x22
    li      a4, -1
    li      a5, 0
    li      a7, 222
    ecall
    mv      s0, a0
    sd      s0, 0(s0)
    mv      a0, s0
    li      a1, 4096
    li      a7, 215
    ecall
    li      a0, -1
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, 260
    ecall
    li      a0, 7
    li      a7, 93
    ecall
    .data
buf:
    .zero   64
`;

/**
 * pid 1 forks pid 2 and reaps every child. pid 2 touches a fresh page (a frame owned by "pid 2"),
 * forks pid 3, which shares that page, and exits at once; pid 3 yields, writes the page (reusing
 * the frame now that it is the last sharer) and exits.
 */
const ORPHAN_SHARE = `
    .text
    .globl _start
_start:
    li      a0, 17
    li      a1, 0
    li      a7, 220
    ecall
    bnez    a0, reap
    li      a0, 0
    li      a1, 4096
    li      a2, 3
    li      a3, 0x22
    li      a4, -1
    li      a5, 0
    li      a7, 222
    ecall
    mv      s0, a0
    sd      s0, 0(s0)
    li      a0, 17
    li      a1, 0
    li      a7, 220
    ecall
    bnez    a0, done
    li      a7, 124
    ecall
    ecall
    sd      s0, 8(s0)
done:
    li      a0, 0
    li      a7, 93
    ecall
reap:
    li      a0, -1
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, 260
    ecall
    bgtz    a0, reap
    li      a0, 0
    li      a7, 93
    ecall
`;

interface Booted {
  km: KernelMachine;
  log: string[];
}

function boot(source: string, opts: { debug?: boolean } = {}): Booted {
  const { elf } = assembleRiscv64(source, { base: 0x10000n, fileName: "prog.S" });
  const log: string[] = [];
  const km = bootKernel({ program: elf, args: ["/bin/prog"], debug: opts.debug, log: (l) => log.push(l) });
  return { km, log };
}

/** Runs one instruction at a time until `until` holds; returns false if the machine stopped first. */
function stepUntil(b: Booted, until: () => boolean): boolean {
  const hart = b.km.machine.harts[0]!;
  while (!until()) {
    const r = b.km.machine.run({ maxInsns: hart.icount + 1 });
    if (r.reason !== "max-insns") return false;
  }
  return true;
}

/** Runs to the end; returns the exit status and the process objects seen while running. */
function finish(b: Booted): { exitCode: number; seen: Map<number, Process> } {
  const seen = new Map<number, Process>();
  const hart = b.km.machine.harts[0]!;
  for (;;) {
    const r = b.km.machine.run({ maxInsns: hart.icount + 1 });
    for (const p of b.km.kernel.procs.processes()) seen.set(p.pid, p);
    if (r.reason !== "max-insns") return { exitCode: r.exitCode, seen };
    if (hart.icount > 1_000_000) throw new Error("program did not finish");
  }
}

/** Boots and stops at pid 1's first user instruction. */
function bootToFirstProcess(source: string, opts: { debug?: boolean } = {}): Booted {
  const b = boot(source, opts);
  if (!stepUntil(b, () => b.km.kernel.procs.get(1) !== undefined)) throw new Error(`no first process: ${b.log.join(" | ")}`);
  return b;
}

describe("the kernel heap in the running kernel", () => {
  it("lives in the kernel half at 0xffff_ffe0_0000_0000, above the direct map, on global kernel-RW pages of its own frames", () => {
    const { km } = bootToFirstProcess(touch(1));
    const k = km.kernel;
    const mem = heapMemoryOf(k.heap!)!;
    expect(mem.baseVa).toBe(HEAP_VA);
    expect(mem.vaOf(mem.start)).toBe(HEAP_VA);
    const t = k.memory!.space.translate(HEAP_VA)!;
    expect(t.level).toBe(0);
    expect(t.flags).toBe(MemoryFlags.kernelRw() | MemoryFlags.GLOBAL);
    expect(k.memory!.frames.ownerOf(Number(t.pa))).toBe(HEAP_FRAME_OWNER);
    expect(k.memory!.frames.allocationsByOwner().get(HEAP_FRAME_OWNER)).toBe(k.heap!.stats().heapSize / 4096);
  });

  it("grows by mapping fresh frames: frames in use rise by exactly the pages mapped (plus any page-table page), seen by every address space", () => {
    const { km, log } = bootToFirstProcess(touch(2));
    const k = km.kernel;
    const frames = k.memory!.frames;
    const space = k.memory!.space;
    const heap = k.heap!;
    const before = { used: frames.getMemoryStats().usedFrames, size: heap.stats().heapSize, tables: space.tableCount };

    const addr = heap.allocate(3 * 1024 * 1024, 16, "test")!;
    expect(addr).toBeDefined();
    const grownPages = (heap.stats().heapSize - before.size) / 4096;
    expect(heap.stats().heapSize).toBeGreaterThan(3 * 1024 * 1024);
    expect(grownPages).toBeGreaterThan(700);
    const newTables = space.tableCount - before.tables;
    expect(newTables).toBe(1); // the heap crossed into a second 2 MiB span: one more level-0 table
    expect(frames.getMemoryStats().usedFrames - before.used).toBe(grownPages + newTables);
    expect(frames.allocationsByOwner().get(HEAP_FRAME_OWNER)).toBe(heap.stats().heapSize / 4096);
    expect(space.pendingFlushes()).toEqual([]);

    const user = k.procs.get(1)!.mm.space;
    for (const page of [0, before.size / 4096, heap.stats().heapSize / 4096 - 1]) {
      const va = HEAP_VA + BigInt(page * 4096);
      expect(user.translate(va), hex(va)).toEqual(space.translate(va));
    }
    expect(space.isMapped(HEAP_VA + BigInt(heap.stats().heapSize))).toBe(false);
    expect(heapMemoryOf(heap)!.verify()).toEqual([]);
    expect(heap.check()).toEqual([]);

    heap.free(addr);
    expect(finish({ km, log }).exitCode).toBe(7);
    expect(log).toEqual([]);
  });

  it("holds each process's record, owned by its pid, freed at exit", () => {
    const b = bootToFirstProcess(FORK);
    const heap = b.km.kernel.heap!;
    expect([...heap.liveByOwner()]).toEqual([["pid 1", { count: 1, bytes: 32 }]]);
    stepUntil(b, () => b.km.kernel.procs.get(2) !== undefined);
    expect(heap.liveByOwner().get("pid 2")).toEqual({ count: 1, bytes: 32 });
    expect(finish(b).exitCode).toBe(7);
    expect(heap.stats().usedBlocks).toBe(0);
    expect(heap.stats().allocations).toBe(2);
  });

  it("refuses to boot when the direct map of physical memory would reach the heap", () => {
    const hal = new FakeHal(0x8000_0000, 16 * 1024 * 1024);
    const map = [{ base: 0x8000_0000, size: 16 * 1024 * 1024, kind: MemoryRegionKind.Usable }];
    const frames = new FrameAllocator(hal, map);
    const created = AddressSpace.create({ arch: RISCV_SV39, mem: hal, frames });
    if (!created.ok) throw new Error(created.error.message);
    const backing = { mem: hal, tlb: hal.tlb, space: created.space, frames };
    const huge = [...map, { base: 129 * 1024 ** 3, size: 1024 ** 3, kind: MemoryRegionKind.DeviceMemory }];
    expect(() => createKernelHeap(backing, 0xffff_ffc0_0000_0000n, huge)).toThrow(BootError);
    expect(() => createKernelHeap(backing, 0xffff_ffc0_0000_0000n, huge)).toThrow(/direct map .* reaches 0xffffffe080000000/);
    const heap = createKernelHeap(backing, 0xffff_ffc0_0000_0000n, map);
    expect(heap.mem).toBeInstanceOf(KernelHeapMemory);
    expect(created.space.translate(HEAP_VA)).toBeDefined();
  });
});

describe("the kernel heap over a fake machine", () => {
  it("unmaps and frees every page of a growth that runs out of frames, and the allocation fails cleanly", () => {
    const hal = new FakeHal(0x8000_0000, 8 * 1024 * 1024);
    const map = [{ base: 0x8000_0000, size: 8 * 1024 * 1024, kind: MemoryRegionKind.Usable }];
    const frames = new FrameAllocator(hal, map);
    const created = AddressSpace.create({ arch: RISCV_SV39, mem: hal, frames });
    if (!created.ok) throw new Error(created.error.message);
    const heap = createKernelHeap({ mem: hal, tlb: hal.tlb, space: created.space, frames }, 0xffff_ffc0_0000_0000n, map);
    const before = { used: frames.getMemoryStats().usedFrames, size: heap.stats().heapSize };
    expect(heap.allocate(16 * 1024 * 1024)).toBeUndefined();
    expect(frames.getMemoryStats().usedFrames).toBe(before.used);
    expect(heap.stats()).toMatchObject({ heapSize: before.size, failures: 1 });
    expect(heapMemoryOf(heap)!.verify()).toEqual([]);
    expect(heap.check()).toEqual([]);
    const small = heap.allocate(64 * 1024, 16, "after");
    expect(small).toBeDefined();
    expect(heap.liveByOwner().get("after")).toEqual({ count: 1, bytes: 64 * 1024 });
  });

  it("names heap addresses by their canonical kernel VA (heap addresses are VAs cut to 39 bits)", () => {
    const hal = new FakeHal(0x8000_0000, 8 * 1024 * 1024);
    const map = [{ base: 0x8000_0000, size: 8 * 1024 * 1024, kind: MemoryRegionKind.Usable }];
    const frames = new FrameAllocator(hal, map);
    const created = AddressSpace.create({ arch: RISCV_SV39, mem: hal, frames });
    if (!created.ok) throw new Error(created.error.message);
    const heap = createKernelHeap({ mem: hal, tlb: hal.tlb, space: created.space, frames }, 0xffff_ffc0_0000_0000n, map);
    const mem = heapMemoryOf(heap)!;
    expect(mem.start).toBe(0x60_0000_0000);
    const a = heap.allocate(100)!;
    expect(mem.vaOf(a)).toBe(HEAP_VA + BigInt(a - mem.start));
    expect(mem.addressOf(mem.vaOf(a))).toBe(a);
    mem.write32(a, 0xdeadbeef);
    expect(hal.read32(Number(created.space.translate(mem.vaOf(a))!.pa))).toBe(0xdeadbeef);
    expect(() => mem.read32(mem.start + heap.stats().heapSize)).toThrow(/kernel heap: access at 0xffffffe000004000 is outside the backed range/);
  });
});

describe("leak detection", () => {
  it("reports, at exit, a heap block and a frame a buggy kernel hook left under the process's name", () => {
    const b = bootToFirstProcess(touch(1));
    const k = b.km.kernel;
    const block = k.heap!.allocate(24, 16, "pid 1")!;
    const frame = k.memory!.frames.allocateFrame("pid 1 buggy hook")!;
    const blockVa = heapMemoryOf(k.heap!)!.vaOf(block);
    expect(finish(b).exitCode).toBe(7);
    expect(b.log).toEqual([
      `kernel: leak: pid 1 exited holding 1 frame of "pid 1 buggy hook": ${hex(frame)}`,
      `kernel: leak: pid 1 exited holding 1 heap block of "pid 1": ${hex(blockVa)} (24 bytes)`,
    ]);
    const report = k.leakReport();
    expect(report[0]).toMatch(/, 2 owner\(s\) of exited processes leaking$/);
    expect(report).toContain(`  leak: 1 heap block of "pid 1": ${hex(blockVa)} (24 bytes)`);
    expect(report).toContain(`  leak: 1 frame of "pid 1 buggy hook": ${hex(frame)}`);
  });

  it("reports nothing for a program that forks, copies on write and unmaps", () => {
    const b = boot(FORK);
    expect(finish(b).exitCode).toBe(7);
    expect(b.log).toEqual([]);
    const report = b.km.kernel.leakReport();
    expect(report[0]).toMatch(/, 0 owner\(s\) of exited processes leaking$/);
    expect(report.some((l) => l.includes("pid"))).toBe(false);
  });

  it("does not call a copy-on-write frame a leak when it outlives the process that allocated it", () => {
    const b = boot(ORPHAN_SHARE);
    const { exitCode, seen } = finish(b);
    expect(exitCode).toBe(0);
    expect([...seen.keys()]).toEqual([1, 2, 3]);
    expect(seen.get(3)!.mm.stats.cowReuse).toBe(1);
    expect(b.log).toEqual([]);
    expect(b.km.kernel.memory!.frames.leaksOf("pid 2")).toEqual([]);
  });
});

describe("perf counters", () => {
  const N = 12;

  it(`count exactly ${N} demand-zero fault traps for a program touching ${N} pages, matching the process's FaultStats`, () => {
    const b = boot(touch(N));
    const { exitCode, seen } = finish(b);
    expect(exitCode).toBe(7);
    const stats: FaultStats = seen.get(1)!.mm.stats;
    const perf = b.km.kernel.perf;
    expect(stats.demandZero).toBe(N);
    expect(perf.getFaultCount()).toBe(N);
    expect(perf.faultsByClass()["demand-zero"]).toBe(N);
    const all = b.km.kernel.getMemoryStats();
    expect(all.faults).toEqual(stats);
    expect(all.faultCount).toBe(N);
    expect(all.faultTraps).toEqual({ "demand-zero": N, "cow-copy": 0, "cow-reuse": 0, "stack-growth": 0, "protection-kill": 0, spurious: 0, unpark: 0, "out-of-memory": 0 });
  });

  it("sum fault classes over processes and count frame and heap allocations since boot", () => {
    const b = boot(FORK);
    const { seen } = finish(b);
    const k = b.km.kernel;
    const sum = (f: keyof FaultStats): number => [...seen.values()].reduce((n, p) => n + p.mm.stats[f], 0);
    const s = k.getMemoryStats();
    expect(s.faults.cowCopy).toBe(1);
    expect(s.faults.demandZero).toBe(sum("demandZero"));
    expect(s.faultTraps["cow-copy"]).toBe(1);
    expect(s.faultCount).toBe(sum("demandZero") + sum("cowCopy"));
    const sources = k.perf.allocationsBySource();
    expect(sources.get("heap")).toBe(2);
    expect(s.allocationCount).toBe(sources.get("frames")! + 2);
    k.perf.recordAllocation(3);
    expect(k.perf.getAllocationCount()).toBe(s.allocationCount + 3);
    expect(s.heap?.usedBlocks).toBe(0);
    expect(s.usedFrames).toBe(k.memory!.frames.getMemoryStats().usedFrames);
  });
});

describe("paranoid mode (KernelOptions.debug)", () => {
  it("runs a program that forks, copies on write, maps and unmaps without a finding", () => {
    const b = boot(FORK, { debug: true });
    expect(finish(b).exitCode).toBe(7);
    expect(b.log).toEqual([]);
    expect(b.km.kernel.heap!.redZone).toBe(16);
  });

  it("oopses at the first trap after the reference counts stop matching the page tables", () => {
    const b = bootToFirstProcess(touch(2), { debug: true });
    const k = b.km.kernel;
    const p = k.procs.get(1)!;
    const page = p.mm.presentPages(0n, p.mm.userEnd)[0]!;
    k.memory!.frames.addRef(page.pa);
    expect(finish(b).exitCode).toBe(134);
    expect(b.log[0]).toBe(`paranoid: frame ${hex(page.pa)} (owner pid 1) is mapped 1 time(s) but has 2 reference(s)`);
    expect(b.log[1]).toMatch(/^kernel oops: paranoid check failed after environment call from U-mode: 1 problem\(s\)/);
  });

  it("oopses at the first trap after a kernel heap block's red zone is overwritten", () => {
    const b = bootToFirstProcess(touch(2), { debug: true });
    const k = b.km.kernel;
    const record = k.procs.get(1)!.record;
    k.heap!.mem.write8(record + 32, 0);
    expect(finish(b).exitCode).toBe(134);
    expect(b.log[0]).toMatch(/^paranoid: heap: red zone after block 0x[0-9a-f]+ overwritten at 0x[0-9a-f]+, 0 bytes past its 32-byte payload/);
    expect(b.log.some((l) => l.startsWith("kernel oops: paranoid check failed"))).toBe(true);
  });
});
