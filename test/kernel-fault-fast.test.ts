/**
 * The number-based demand-zero path of the page-fault handler and the pieces it stands on: the
 * RISC-V PTE number codec, AddressSpace.probePage / mapPageNow, VmaList.findNumber and
 * tryDemandZero. Each must give exactly what the bigint path gives (same entries, same tables, same
 * frames in the same order, same counts), and decline, changing nothing, every case it does not own.
 * @spec ARCH-SPEC §4.2 (Sv39/Sv48 PTE format), §4.7 ("invalid→valid … may be fenced lazily")
 */
import { describe, expect, it } from "vitest";
import { RISCV_SV39, RISCV_SV48 } from "../kernel/arch/riscv64/paging.js";
import { decode, encodeLeaf, encodeTable, vpn } from "../kernel/arch/riscv64/pte.js";
import { RISCV_PTE32 } from "../kernel/arch/riscv64/pte32.js";
import { DEMAND_ZERO_DECLINED, DEMAND_ZERO_NO_MEMORY, demandZeroOutOfMemory, tryDemandZero } from "../kernel/mm/fault.js";
import { type FaultAccess, PageFaultError } from "../kernel/mm/fault-info.js";
import { MemoryFlags } from "../kernel/mm/flags.js";
import { PAGE, type Vma, VmaList } from "../kernel/mm/vma.js";
import { AddressSpace, type ArchPaging } from "../kernel/mm/vm/index.js";
import { FakeHal } from "./support/fake-hal.js";
import { ANON, anon, area, fault, procEnv, type ProcEnv, userFrames } from "./support/process-env.js";
import { OwnerTable } from "../kernel/mm/phys/owners.js";
import { FakeSharedFrames } from "./support/shared-frames.js";
import { rng } from "./support/rng.js";
import { runKernel } from "./support/run-kernel.js";
import { readFileSync } from "node:fs";
import { bootKernel } from "../boot/riscv64/kernel-boot.js";
import { assembleRiscv64 } from "../tools/asm/riscv64/index.js";

const F = MemoryFlags;
const halves = (v: bigint): [number, number] => [Number(v & 0xffff_ffffn), Number(v >> 32n)];

describe("RISC-V PTE number codec (pte32.ts) agrees with the bigint format (pte.ts)", () => {
  const next = rng(7);
  const unit = (): number => next() / 2 ** 32;
  const frames = [0, 0x1000, 0x8000_0000, 0xffff_f000, 0x1_0000_0000, 0x3f_ffff_f000, 0x12_3456_7000, 2 ** 53 - 4096,
    ...Array.from({ length: 200 }, () => Math.floor(unit() * 2 ** 41) * 4096)];
  const flagSets = [F.READ, F.userRo(), F.userRw(), F.userRx(), F.READ | F.EXECUTE, (F.userRw() & ~F.WRITE) | F.COPY_ON_WRITE,
    F.kernelRw() | F.GLOBAL, F.READ | F.WRITE | F.EXECUTE | F.USER, F.userRw() | F.COPY_ON_WRITE];

  it("leaf and table entries have the same halves as encodeLeaf(pa, flags, 0) / encodeTable(pa)", () => {
    for (const pa of frames) {
      for (const flags of flagSets) {
        expect([RISCV_PTE32.leafLow(pa, flags), RISCV_PTE32.leafHigh(pa, flags)]).toEqual(halves(encodeLeaf(BigInt(pa), flags, 0)));
      }
      expect([RISCV_PTE32.tableLow(pa), RISCV_PTE32.tableHigh(pa)]).toEqual(halves(encodeTable(BigInt(pa))));
    }
  });

  it("valid, leaf and address read any entry as decode does", () => {
    const entries = [0n, 1n, 0x1n | (0x80000n << 10n), 0xcfn | (0x80000n << 10n), 0x3ffn | ((1n << 44n) - 1n) << 10n,
      ...Array.from({ length: 500 }, () => (BigInt(Math.floor(unit() * 2 ** 32)) << 32n) | BigInt(Math.floor(unit() * 2 ** 32)))];
    for (const pte of entries) {
      const d = decode(pte);
      const [lo, hi] = halves(pte);
      expect(RISCV_PTE32.valid(lo, hi)).toBe(d.valid);
      if (!d.valid) continue;
      expect(RISCV_PTE32.leaf(lo, hi)).toBe(d.leaf);
      if (d.pa < 2n ** 53n) expect(RISCV_PTE32.address(lo, hi)).toBe(Number(d.pa));
    }
  });

  it("index(va, level) is VPN[level] for Sv39 and Sv48 user addresses", () => {
    for (let i = 0; i < 500; i++) {
      const va = Math.floor(unit() * 2 ** 47);
      for (let level = 0; level < 4; level++) expect(RISCV_PTE32.index(va, level)).toBe(vpn(BigInt(va), level));
    }
  });
});

/** An address space over its own RAM and frames. */
function spaceEnv(arch: ArchPaging = RISCV_SV39, frameCount = 4096): { hal: FakeHal; frames: FakeSharedFrames; space: AddressSpace } {
  const hal = new FakeHal();
  const frames = new FakeSharedFrames(hal, 0x8100_0000, frameCount);
  const r = AddressSpace.create({ arch, mem: hal, frames, asid: 3 });
  if (!r.ok) throw new Error(r.error.message);
  return { hal, frames, space: r.space };
}

describe("AddressSpace.probePage / mapPageNow", () => {
  const pages = [0x10000, 0x11000, 0x20_0000, 0x3fff_f000, 0x1234_5000, 0x40_0000_0000 - 0x1000];

  it.each([["Sv39", RISCV_SV39], ["Sv48", RISCV_SV48]] as const)("%s: builds the same tables and entries, from the same frames, as map", (_name, arch) => {
    const a = spaceEnv(arch);
    const b = spaceEnv(arch);
    for (const va of pages) {
      const flags = va === 0x10000 ? F.userRx() : F.userRw();
      const pa = 0x9000_0000 + (va % 0x100_0000);
      expect(b.space.probePage(va)).toBe(0);
      const m = a.space.map(BigInt(va), BigInt(pa), PAGE, flags, { allowWX: true });
      if (!m.ok) throw new Error(m.error.message);
      m.flush.ignore();
      expect(b.space.mapPageNow(va, pa, flags)).toBe(true);
      expect(b.space.probePage(va)).toBe(1);
      expect(b.space.walkPageTable(BigInt(va))).toEqual(a.space.walkPageTable(BigInt(va)));
    }
    expect(b.space.tableCount).toBe(a.space.tableCount);
    expect(b.frames.allocations).toBe(a.frames.allocations);
    expect(b.hal.flushes).toEqual([]);
  });

  it("answers -1 (ask translate) for a kernel-half address and for a page inside a 2 MiB leaf", () => {
    const e = spaceEnv();
    expect(e.space.probePage(2 ** 38)).toBe(-1);
    expect(e.space.probePage(-4096)).toBe(-1);
    const m = e.space.map(0x4000_0000n, 0x8200_0000n, 0x20_0000n, F.userRw());
    if (!m.ok) throw new Error(m.error.message);
    m.flush.ignore();
    expect(e.space.probePage(0x4000_1000)).toBe(-1);
  });

  it("refuses to map over a present page, and needs no TLB maintenance (invalid→valid only)", () => {
    const e = spaceEnv();
    expect(e.space.mapPageNow(0x10000, 0x9000_0000, F.userRw())).toBe(true);
    expect(() => e.space.mapPageNow(0x10000, 0x9000_1000, F.userRw())).toThrow(/not an unmapped 4 KiB user page/);
    expect(e.hal.flushes).toEqual([]);
    expect(e.space.pendingFlushes()).toEqual([]);
  });

  it("out of frames for a page-table page: returns false, changing nothing, every frame it took given back", () => {
    const e = spaceEnv();
    e.frames.failAfter = 1;
    const before = e.space.walkPageTable(0x10000n);
    expect(e.space.mapPageNow(0x10000, 0x9000_0000, F.userRw())).toBe(false);
    expect(e.space.walkPageTable(0x10000n)).toEqual(before);
    expect(e.frames.live).toBe(1);
    expect(e.space.tableCount).toBe(1);
  });
});

describe("VmaList.findNumber", () => {
  it("answers as find(BigInt(va)) at every page, also after inserts, removals, protects and stack growth", () => {
    const list = new VmaList();
    const stack: Vma = { start: 0x3fff_f000n, end: 0x4000_0000n, flags: F.userRw(), kind: "stack", name: "stack", grows: "down", limit: 0x3fff_0000n, guard: PAGE };
    const check = (): void => {
      for (let va = 0xe000; va < 0x4000_1000; va += va < 0x20_0000 ? 0x800 : 0x3fff_0000 - 0x20_0000) {
        for (const at of [va, va + 0x7ff]) expect(list.findNumber(at)).toBe(list.find(BigInt(at)));
      }
      for (let va = 0x3ffe_e000; va < 0x4000_1000; va += 0x800) expect(list.findNumber(va)).toBe(list.find(BigInt(va)));
    };
    check();
    list.insert({ start: 0x10000n, end: 0x12000n, flags: F.userRx(), kind: "text", name: "text" });
    list.insert({ start: 0x12000n, end: 0x20000n, flags: F.userRw(), kind: "data", name: "data" });
    list.insert(stack);
    check();
    list.protect(0x13000n, 0x14000n, F.userRo());
    check();
    list.remove(0x11000n, 0x13000n);
    check();
    list.growDown(list.find(0x3fff_f000n)!, 0x3fff_d000n);
    check();
  });
});

/** Twin process environments with the same areas: one for handlePageFault, one for tryDemandZero. */
function twins(setup: (env: ProcEnv) => void): [ProcEnv, ProcEnv] {
  const a = procEnv();
  const b = procEnv();
  setup(a);
  setup(b);
  return [a, b];
}

const TEXT: Vma = { start: 0x10000n, end: 0x11000n, flags: F.userRx(), kind: "text", name: "text" };
const STACK: Vma = { start: 0x3fff_f000n, end: 0x4000_0000n, flags: F.userRw(), kind: "stack", name: "stack", grows: "down", limit: 0x3fff_c000n, guard: PAGE };

describe("tryDemandZero", () => {
  it("handles a demand-zero fault as handlePageFault does: same frame, same entry, same count, no flush", () => {
    const [a, b] = twins((env) => { anon(env, 600); area(env, TEXT, false); });
    const touches: [number, FaultAccess][] = [[0, "write"], [1, "read"], [513, "write"], [599, "read"], [7, "write"]];
    for (const [i, access] of touches) {
      const va = ANON + BigInt(i) * PAGE + 24n;
      const o = fault(a.mm, va, access);
      expect(o.kind).toBe("demand-zero");
      const frame = tryDemandZero(b.mm, Number(va), access);
      expect(frame).toBe((o as { frame: number }).frame);
      expect(b.mm.space.walkPageTable(va)).toEqual(a.mm.space.walkPageTable(va));
    }
    const exec = fault(a.mm, TEXT.start, "execute");
    expect(tryDemandZero(b.mm, Number(TEXT.start), "execute")).toBe((exec as { frame: number }).frame);
    expect(b.mm.stats).toEqual(a.mm.stats);
    expect(userFrames(b)).toBe(userFrames(a));
    expect(b.frames.allocations).toBe(a.frames.allocations);
    expect(b.hal.flushes).toEqual([]);
  });

  it("declines, changing nothing, every other fault: no area, guard page, stack growth, denied access, kernel address, present page, parked frames", () => {
    const env = procEnv();
    anon(env, 4);
    area(env, TEXT);
    area(env, STACK);
    const before = { stats: { ...env.mm.stats }, allocations: env.frames.allocations };
    const declined: [number, FaultAccess][] = [
      [0x5000_0000, "read"], // no area
      [0x3fff_b008, "write"], // guard page below the stack
      [0x3fff_e008, "write"], // growth room: stack growth is the full path's
      [Number(TEXT.start), "write"], // write to r-x
      [Number(ANON), "execute"], // fetch from rw-
      [2 ** 38, "read"], // kernel half
      [2 ** 64, "read"], // a kernel address as a number
      [Number(TEXT.start) + 8, "read"], // present: spurious, the full path's
    ];
    for (const [va, access] of declined) expect(tryDemandZero(env.mm, va, access)).toBe(DEMAND_ZERO_DECLINED);
    expect({ stats: env.mm.stats, allocations: env.frames.allocations }).toEqual(before);
  });

  it("declines while frames are parked (PROT_NONE pages), which only the full path maps back", () => {
    const env = procEnv();
    anon(env, 4);
    fault(env.mm, ANON, "write");
    expect(env.mm.protectRange(ANON, PAGE, 0).ok).toBe(true);
    expect(env.mm.parked.size).toBe(1);
    expect(tryDemandZero(env.mm, Number(ANON + 2n * PAGE), "write")).toBe(DEMAND_ZERO_DECLINED);
  });

  it("out of memory: nothing mapped, every frame given back, and the same report as handlePageFault", () => {
    const [a, b] = twins((env) => { anon(env, 4); });
    a.frames.failAfter = 1;
    b.frames.failAfter = 1;
    const va = ANON + 8n;
    const info = { faultAddr: va, instructionPtr: 0x100b0n, error: new PageFaultError({ access: "write", user: true }) };
    const expected = fault(a.mm, va, "write");
    expect(tryDemandZero(b.mm, Number(va), "write")).toBe(DEMAND_ZERO_NO_MEMORY);
    expect(b.mm.space.probePage(Number(ANON))).toBe(0);
    expect(demandZeroOutOfMemory(b.mm, info)).toEqual(expected);
    expect(b.mm.stats).toEqual(a.mm.stats);
    expect(b.frames.live).toBe(a.frames.live);
  });

  it("a frame from the pool is zeroed: a page freed with data reads zeros when faulted in again", () => {
    const env = procEnv();
    anon(env, 1);
    expect(tryDemandZero(env.mm, Number(ANON), "write")).toBeGreaterThan(0);
    const pa = Number(env.mm.space.translate(ANON)!.pa);
    env.hal.writeBytes(pa, new Uint8Array(4096).fill(0x5a));
    expect(env.mm.unmapRange(ANON, PAGE).ok).toBe(true);
    anon(env, 1);
    const again = tryDemandZero(env.mm, Number(ANON), "read");
    expect(env.hal.readBytes(again, 4096)).toEqual(new Uint8Array(4096));
  });
});

describe("the fast path through the whole trap path (riscv64 kernel)", () => {
  it("returns to the faulting store with every register as the trap left it, saving and restoring none", () => {
    // x1..x31 but sp and s0 get distinct values (s0 walks the pages, sp is scratch), four
    // demand-zero faults follow, then each
    // register is compared with its value; the exit status is the first that differs (0: none).
    const regs = Array.from({ length: 31 }, (_, i) => i + 1).filter((r) => r !== 8 && r !== 2);
    const value = (r: number): bigint => 0x0123_4567_0000_0000n + BigInt(r) * 0x1_0001n;
    const program = `
    .text
    .globl _start
_start:
    li      a0, 0
    li      a1, 8 * 4096
    li      a2, 3
    li      a3, 0x22
    li      a4, -1
    li      a5, 0
    li      a7, 222
    ecall
    mv      s0, a0
${regs.map((r) => `    li      x${r}, ${value(r)}`).join("\n")}
    li      x2, 4096
    sd      x1, 0(s0)
    add     s0, s0, x2
    sd      x1, 0(s0)
    add     s0, s0, x2
    sd      x1, 0(s0)
    add     s0, s0, x2
    sd      x1, 0(s0)
${regs.map((r) => `    li      x2, ${value(r)}\n    li      x8, ${r}\n    bne     x${r}, x2, 1f`).join("\n")}
    li      x8, 0
1:  mv      a0, x8
    li      a7, 93
    ecall
`;
    const run = runKernel(program);
    expect(run.exitCode).toBe(0);
    expect(run.exits[0]!.stats.demandZero).toBeGreaterThanOrEqual(4);
    expect(run.km.kernel.perf.faultsByClass()["demand-zero"]).toBe(run.exits[0]!.stats.demandZero);
  });
});

describe("the host fast path under the kernel (fetch entries kept per privilege across traps)", () => {
  /** Output, instructions, and every trap, TLB fill and invalidation of one kernel run of `name`. */
  const traced = (name: string, noFastPath: boolean): { stdout: string; exitCode: number; icount: number; events: string[] } => {
    const { elf } = assembleRiscv64(readFileSync(new URL(`../examples/kernel/${name}.S`, import.meta.url), "utf8"), { fileName: `${name}.S` });
    let stdout = "";
    const km = bootKernel({ program: elf, args: [name], noFastPath, console: (b) => { stdout += String.fromCharCode(b); } });
    const events: string[] = [];
    km.machine.setTrace((e) => events.push(JSON.stringify(e)));
    const r = km.machine.run({ maxInsns: 50_000_000 });
    return { stdout, exitCode: r.exitCode, icount: r.icount, events };
  };

  it.each(["fork", "mmap", "brk"])("%s: the same output, instruction count, traps, fills and invalidations with --no-fast-path", (name) => {
    const fast = traced(name, false);
    const slow = traced(name, true);
    expect(fast.exitCode).toBe(0);
    expect(fast.stdout).toBe(slow.stdout);
    expect(fast.icount).toBe(slow.icount);
    expect(fast.events.length).toBe(slow.events.length);
    expect(fast.events).toEqual(slow.events);
  });
});

describe("OwnerTable (the allocator's owner index, linked through host arrays)", () => {
  it("answers as a map of sets would, through adds, removes, moves and removes under the wrong owner", () => {
    const t = new OwnerTable();
    const model = new Map<number, Set<number>>();
    const next = rng(11);
    const ids = [t.idOf("a"), t.idOf("b"), t.idOf(undefined), t.idOf("c")];
    for (let step = 0; step < 5000; step++) {
      const id = ids[next() % ids.length]!;
      const frame = next() % 3000;
      const holder = [...model].find(([, s]) => s.has(frame))?.[0];
      if (next() % 3 === 0) {
        t.remove(id, frame);
        if (holder === id) model.get(id)!.delete(frame);
      } else {
        t.add(id, frame);
        if (holder !== undefined) model.get(holder)!.delete(frame);
        if (!model.has(id)) model.set(id, new Set());
        model.get(id)!.add(frame);
      }
    }
    const expected = new Map([...model].filter(([, s]) => s.size > 0).sort((x, y) => x[0] - y[0]).map(([id, s]) => [t.nameOf(id), s.size]));
    expect(t.counts()).toEqual(expected);
    for (const id of ids) expect(t.framesOf(t.nameOf(id))).toEqual([...(model.get(id) ?? [])].sort((x, y) => x - y));
    expect(t.liveFrames()).toBe([...model.values()].reduce((n, s) => n + s.size, 0));
    expect(t.framesOf("nobody")).toEqual([]);
  });
});

describe("one-hart run slices (emulator/arch/riscv64/trap.ts, \"Slices\") under the kernel", () => {
  /** Two processes touching fresh pages and spinning, preempted by the timer every 2000 instructions. */
  const SPINNERS = `
.text
.globl _start
_start:
    li      a7, 220             # clone(SIGCHLD): fork
    li      a0, 17
    li      a1, 0
    ecall
    mv      s1, a0
    li      a0, 0
    li      a1, 64 * 4096
    li      a2, 3
    li      a3, 0x22
    li      a4, -1
    li      a5, 0
    li      a7, 222             # mmap
    ecall
    li      t0, 64
    li      t1, 4096
1:  sd      t0, 0(a0)           # one demand-zero fault per page
    add     a0, a0, t1
    li      t2, 300
2:  addi    t2, t2, -1          # spin, so the timer preempts
    bnez    t2, 2b
    addi    t0, t0, -1
    bnez    t0, 1b
    beqz    s1, 3f
    li      a0, -1              # parent: wait4(-1, 0, 0, 0)
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, 260
    ecall
3:  li      a0, 0
    li      a7, 93              # exit
    ecall
`;
  const traced = (trapEndsSlice: boolean): { exitCode: number; icount: number; events: string[] } => {
    const { elf } = assembleRiscv64(SPINNERS, { fileName: "spinners.S" });
    const km = bootKernel({ program: elf, args: ["spinners"], timeslice: 2000 });
    km.machine.harts[0]!.trapEndsSlice = trapEndsSlice;
    const events: string[] = [];
    km.machine.setTrace((e) => events.push(JSON.stringify(e)));
    const r = km.machine.run({ maxInsns: 50_000_000 });
    return { exitCode: r.exitCode, icount: r.icount, events };
  };

  it("a one-hart machine takes the same traps at the same instructions, with the same fills and invalidations, as when every trap entry and sret ends the slice", () => {
    const one = traced(false);
    const every = traced(true);
    expect(one.exitCode).toBe(0);
    const timer = one.events.filter((e) => e.includes('"type":"trap"') && e.includes('"interrupt":true')).length;
    const faults = one.events.filter((e) => e.includes('"type":"trap"') && e.includes('"cause":15')).length;
    expect(timer).toBeGreaterThan(10);
    expect(faults).toBeGreaterThanOrEqual(128);
    expect(one.icount).toBe(every.icount);
    expect(one.events).toEqual(every.events);
  });
});
