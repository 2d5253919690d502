/**
 * The page-fault handler and the process memory operations behind mmap / munmap / mprotect / brk,
 * against a FakeHal with a reference-counted frame fake. Counts are exact: faults by class, frames
 * by owner, TLB flushes recorded by the fake.
 */
import { describe, expect, it } from "vitest";
import { PTE, PTE_SW_COW } from "../kernel/arch/riscv64/pte.js";
import { handlePageFault, isResolved } from "../kernel/mm/fault.js";
import { PageFaultError } from "../kernel/mm/fault-info.js";
import { MemoryFlags } from "../kernel/mm/flags.js";
import { pteFlags } from "../kernel/mm/process-memory.js";
import { PAGE, type Vma } from "../kernel/mm/vma.js";
import { KernelPanic } from "../kernel/panic.js";
import { anon, area, fault, peek, poke, procEnv, userFrames } from "./support/process-env.js";

const F = MemoryFlags;
const TEXT: Vma = { start: 0x10000n, end: 0x11000n, flags: F.userRx(), kind: "text", name: "text" };
const DATA: Vma = { start: 0x11000n, end: 0x13000n, flags: F.userRw(), kind: "data", name: "data" };
/** Stack top 0x4000_0000; may grow 4 pages down to 0x3fffc000; guard [0x3fffb000, 0x3fffc000). */
const STACK: Vma = { start: 0x3fff_f000n, end: 0x4000_0000n, flags: F.userRw(), kind: "stack", name: "stack", grows: "down", limit: 0x3fff_c000n, guard: PAGE };

describe("PageFaultError", () => {
  it("has the seed's predicates; RISC-V leaves presence unknown", () => {
    const e = new PageFaultError({ access: "write", user: true });
    expect([e.notPresent(), e.presenceKnown(), e.writeAccess(), e.userMode(), e.reservedBitViolation(), e.instructionFetch()])
      .toEqual([false, false, true, true, false, false]);
    const x = new PageFaultError({ access: "execute", user: false, present: false, reservedBit: true });
    expect([x.notPresent(), x.presenceKnown(), x.writeAccess(), x.userMode(), x.reservedBitViolation(), x.instructionFetch()])
      .toEqual([true, true, false, false, true, true]);
    expect(x.describe()).toBe("kernel execute (not present, reserved bit)");
  });
});

describe("demand paging", () => {
  it("touching N fresh pages of an anonymous area takes exactly N demand-zero faults and N frames", () => {
    const env = procEnv();
    const N = 37;
    const base = anon(env, N);
    expect(userFrames(env)).toBe(0);
    const kinds = [];
    for (let i = 0; i < N; i++) kinds.push(fault(env.mm, base + BigInt(i) * PAGE + 8n, i % 2 === 0 ? "write" : "read").kind);
    expect(kinds).toEqual(Array(N).fill("demand-zero"));
    expect(env.mm.stats.demandZero).toBe(N);
    expect(userFrames(env)).toBe(N);
    for (let i = 0; i < N; i++) expect(peek(env, env.mm, base + BigInt(i) * PAGE, 16)).toEqual(new Uint8Array(16));
    expect(env.mm.space.pendingFlushes()).toEqual([]);
  });

  it("a demand-zero page gets its area's permissions, USER included", () => {
    const env = procEnv();
    const base = anon(env, 1, F.READ);
    fault(env.mm, base, "read");
    const leaf = env.mm.space.walkPageTable(base).at(-1)!;
    expect(leaf.level).toBe(0);
    expect(leaf.pte & (PTE.R | PTE.W | PTE.X | PTE.U)).toBe(PTE.R | PTE.U);
  });

  it("a fault on a page the PTE already allows is spurious: the page is flushed, nothing allocated", () => {
    const env = procEnv();
    const base = anon(env, 1);
    fault(env.mm, base, "write");
    const frames = env.frames.live;
    env.hal.flushes.length = 0;
    const o = fault(env.mm, base + 0x10n, "read");
    expect(o).toEqual({ kind: "spurious", va: base });
    expect(env.hal.flushes).toEqual([{ kind: "page", va: base, asid: 1 }]);
    expect(env.frames.live).toBe(frames);
    expect(env.mm.stats.spurious).toBe(1);
  });

  it("munmap then MAP_FIXED at the same place reads zeros again", () => {
    const env = procEnv();
    const base = anon(env, 2);
    fault(env.mm, base, "write");
    fault(env.mm, base + PAGE, "write");
    poke(env, env.mm, base, Uint8Array.of(1, 2, 3, 4));
    expect(env.mm.unmapRange(base, 2n * PAGE)).toEqual({ ok: true, value: undefined });
    expect(userFrames(env)).toBe(0);
    expect(env.mm.space.isMapped(base)).toBe(false);
    expect(fault(env.mm, base, "read").kind).toBe("kill");
    anon(env, 2);
    expect(fault(env.mm, base, "read").kind).toBe("demand-zero");
    expect(peek(env, env.mm, base, 4)).toEqual(new Uint8Array(4));
  });

  it("runs out of memory cleanly when no frame is left", () => {
    const env = procEnv();
    const base = anon(env, 1);
    env.frames.failAfter = 0;
    const o = fault(env.mm, base, "write");
    expect(o.kind).toBe("out-of-memory");
    expect(isResolved(o)).toBe(false);
    if (o.kind === "out-of-memory") expect(o.report).toBe("out of memory: write to 0x20000000 in [anon] [0x20000000, 0x20001000) rw-, pc 0x100b0");
    expect(env.mm.stats.outOfMemory).toBe(1);
  });
});

describe("stack growth and the guard page", () => {
  it("a fault just below the stack grows it by that page; the area's start follows", () => {
    const env = procEnv();
    area(env, STACK);
    const o = fault(env.mm, 0x3fff_eff8n, "write");
    expect(o.kind).toBe("stack-growth");
    if (o.kind === "stack-growth") expect([o.va, o.vma.start]).toEqual([0x3fff_e000n, 0x3fff_e000n]);
    expect(env.mm.vmas.find(0x3fff_e000n)?.name).toBe("stack");
    expect(env.mm.space.isMapped(0x3fff_e000n)).toBe(true);
    expect(env.mm.stats.stackGrowth).toBe(1);
  });

  it("growth may jump to the limit; pages skipped are then demand-zero faults inside the stack", () => {
    const env = procEnv();
    area(env, STACK);
    expect(fault(env.mm, 0x3fff_c000n, "read").kind).toBe("stack-growth");
    expect(fault(env.mm, 0x3fff_d000n, "write").kind).toBe("demand-zero");
    expect(env.mm.stats).toMatchObject({ stackGrowth: 1, demandZero: 1 });
  });

  it("a fault in the guard page below the stack's maximum kills; the guard stays unmapped", () => {
    const env = procEnv();
    area(env, STACK);
    const o = fault(env.mm, 0x3fff_bff0n, "write");
    expect(o).toEqual({
      kind: "kill", reason: "guard-page", access: "write",
      report: "segfault: write to 0x3fffbff0 in the guard page below stack [0x3ffff000, 0x40000000) rw-, pc 0x100b0",
    });
    expect(env.mm.space.isMapped(0x3fff_b000n)).toBe(false);
    expect(env.mm.stats.protectionKill).toBe(1);
    expect(fault(env.mm, 0x3fff_aff0n, "write")).toMatchObject({ kind: "kill", reason: "unmapped" });
  });
});

describe("protection kills name the address, the access and the mapping", () => {
  it("a write to text", () => {
    const env = procEnv();
    area(env, TEXT);
    expect(fault(env.mm, 0x10008n, "write")).toEqual({
      kind: "kill", reason: "write-to-readonly", access: "write", report: "segfault: write to 0x10008 in text [0x10000, 0x11000) r-x, pc 0x100b0",
    });
    expect(env.mm.space.walkPageTable(0x10008n).at(-1)!.pte & PTE.W).toBe(0n);
  });

  it("an instruction fetch from data", () => {
    const env = procEnv();
    area(env, DATA);
    expect(fault(env.mm, 0x11004n, "execute", true, 0x11004n)).toEqual({
      kind: "kill", reason: "exec-non-executable", access: "execute", report: "segfault: execute at 0x11004 in data [0x11000, 0x13000) rw-, pc 0x11004",
    });
  });

  it("an access to no mapping, to kernel space, and to a non-canonical address", () => {
    const env = procEnv();
    expect(fault(env.mm, 0n, "read")).toMatchObject({ reason: "unmapped", report: "segfault: read from 0x0 (no mapping), pc 0x100b0" });
    expect(fault(env.mm, 0xffff_ffc0_8000_0000n, "read")).toMatchObject({
      reason: "kernel-address", report: "segfault: read from 0xffffffc080000000 (kernel address), pc 0x100b0",
    });
    expect(fault(env.mm, 0x0000_0040_0000_0000n, "write")).toMatchObject({ reason: "kernel-address", report: expect.stringContaining("(non-canonical address)") });
    expect(env.mm.stats.protectionKill).toBe(3);
  });

  it("a kernel-mode fault that cannot be fixed is counted as a failed user access, not a kill", () => {
    const env = procEnv();
    expect(fault(env.mm, 0x5000n, "read", false).kind).toBe("kill");
    expect(env.mm.stats).toMatchObject({ protectionKill: 0, userAccessFailed: 1 });
  });

  it("a reserved-bit fault is a kernel panic naming the walk", () => {
    const env = procEnv();
    expect(() => handlePageFault(env.mm, { faultAddr: 0x10000n, instructionPtr: 0n, error: new PageFaultError({ access: "read", user: true, reservedBit: true }) }))
      .toThrow(KernelPanic);
  });
});

describe("mprotect, brk and mmap", () => {
  it("mprotect to read-only makes writes kill, and back to read-write lets them through", () => {
    const env = procEnv();
    const base = anon(env, 3);
    for (let i = 0n; i < 3n; i++) fault(env.mm, base + i * PAGE, "write");
    expect(env.mm.protectRange(base + PAGE, PAGE, F.READ)).toEqual({ ok: true, value: undefined });
    expect(env.mm.vmas.all().map((v) => v.flags & F.WRITE)).toEqual([F.WRITE, 0, F.WRITE]);
    expect(fault(env.mm, base + PAGE, "write")).toMatchObject({ reason: "write-to-readonly" });
    expect(env.mm.space.translate(base + PAGE)!.flags & F.WRITE).toBe(0);
    env.mm.protectRange(base, 3n * PAGE, F.READ | F.WRITE);
    expect(env.mm.space.translate(base + PAGE)!.flags & F.WRITE).toBe(F.WRITE);
    expect(env.mm.protectRange(base, 4n * PAGE, F.READ)).toMatchObject({ ok: false, error: { errno: "ENOMEM" } });
    expect(env.mm.protectRange(base + 1n, PAGE, F.READ)).toMatchObject({ ok: false, error: { errno: "EINVAL" } });
  });

  it("PROT_NONE parks the frames: accesses kill, the data survives a round trip", () => {
    const env = procEnv();
    const base = anon(env, 1);
    fault(env.mm, base, "write");
    poke(env, env.mm, base, Uint8Array.of(0xab, 0xcd));
    env.mm.protectRange(base, PAGE, 0);
    expect(env.mm.space.isMapped(base)).toBe(false);
    expect(fault(env.mm, base, "read")).toMatchObject({ reason: "read-protected" });
    expect(userFrames(env)).toBe(1);
    env.mm.protectRange(base, PAGE, F.READ | F.WRITE);
    expect(peek(env, env.mm, base, 2)).toEqual(Uint8Array.of(0xab, 0xcd));
    env.mm.protectRange(base, PAGE, 0);
    env.mm.unmapRange(base, PAGE);
    expect(userFrames(env)).toBe(0);
  });

  it("brk grows the heap (demand-zero), refuses to go below its start, and shrinking frees pages", () => {
    const env = procEnv();
    env.mm.brkStart = env.mm.brk = 0x20000n;
    expect(env.mm.setBrk(0x1f000n)).toBe(0x20000n);
    expect(env.mm.setBrk(0x22800n)).toBe(0x22800n);
    expect(env.mm.vmas.find(0x22fffn)?.kind).toBe("heap");
    for (let va = 0x20000n; va < 0x23000n; va += PAGE) expect(fault(env.mm, va, "write").kind).toBe("demand-zero");
    expect(userFrames(env)).toBe(3);
    expect(env.mm.setBrk(0x21000n)).toBe(0x21000n);
    expect(userFrames(env)).toBe(1);
    expect(fault(env.mm, 0x21000n, "read")).toMatchObject({ reason: "unmapped" });
    env.mm.mapAnonymous(0x30000n, PAGE, F.READ, { fixed: true });
    expect(env.mm.setBrk(0x30001n)).toBe(0x21000n);
  });

  it("mmap uses a free hint, otherwise the highest free range below the stack", () => {
    const env = procEnv();
    area(env, STACK, false);
    expect(env.mm.mapAnonymous(0x5000_0000n, 0x1800n, F.READ)).toEqual({ ok: true, value: 0x5000_0000n });
    expect(env.mm.mapAnonymous(0x5000_0000n, PAGE, F.READ)).toEqual({ ok: true, value: 0x3fff_a000n });
    expect(env.mm.mapAnonymous(0n, PAGE, F.READ)).toEqual({ ok: true, value: 0x3fff_9000n });
    expect(env.mm.mapAnonymous(0n, 0n, F.READ)).toMatchObject({ ok: false, error: { errno: "EINVAL" } });
    expect(env.mm.mapAnonymous(0x3fff_c000n, PAGE, F.READ, { fixed: true })).toMatchObject({ ok: false, error: { errno: "ENOMEM" } });
    expect(env.mm.mapAnonymous(0x1001n, PAGE, F.READ, { fixed: true })).toMatchObject({ ok: false, error: { errno: "EINVAL" } });
  });

  it("MAP_FIXED over present pages replaces them with fresh zero pages", () => {
    const env = procEnv();
    const base = anon(env, 2);
    fault(env.mm, base, "write");
    poke(env, env.mm, base, Uint8Array.of(9));
    anon(env, 1);
    expect(env.mm.vmas.all().length).toBe(2);
    expect(env.mm.space.isMapped(base)).toBe(false);
    expect(fault(env.mm, base, "read").kind).toBe("demand-zero");
    expect(peek(env, env.mm, base, 1)).toEqual(Uint8Array.of(0));
  });
});

describe("exit reclaim", () => {
  it("destroy returns every frame: data, parked and page tables", () => {
    const env = procEnv();
    area(env, TEXT);
    area(env, STACK);
    const base = anon(env, 4);
    for (let i = 0n; i < 4n; i++) fault(env.mm, base + i * PAGE, "write");
    fault(env.mm, 0x3fff_d000n, "write");
    env.mm.protectRange(base, PAGE, 0);
    expect(env.frames.live).toBeGreaterThan(7);
    env.hal.flushes.length = 0;
    env.mm.destroy();
    expect(env.frames.live).toBe(0);
    expect(env.hal.flushes).toEqual([{ kind: "asid", asid: 1 }]);
    expect(env.mm.vmas.size).toBe(0);
  });

  it("a COW page's PTE keeps W clear with the software bit set", () => {
    const env = procEnv();
    const base = anon(env, 1);
    fault(env.mm, base, "write");
    env.frames.addRef(env.mm.pageAt(base)!.pa);
    env.mm.reprotectPage(base, pteFlags(F.userRw(), true));
    const pte = env.mm.space.walkPageTable(base).at(-1)!.pte;
    expect([pte & PTE.W, pte & PTE_SW_COW]).toEqual([0n, PTE_SW_COW]);
  });
});
