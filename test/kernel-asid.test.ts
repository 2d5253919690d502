/**
 * ASIDs with generations (kernel/mm/asid.ts), alone and in the running kernel: an ASID is never
 * handed to a second address space within a generation, exhaustion rolls the generation over with
 * one full flush, and a process keeps its ASID while its generation is current.
 */
import { describe, expect, it } from "vitest";
import { AsidAllocator, type AsidContext } from "../kernel/mm/asid.js";
import { expectFullReclaim, runKernel } from "./support/run-kernel.js";

const ctx = (): AsidContext => ({ asid: 0, generation: 0 });

describe("AsidAllocator", () => {
  it("hands out 1..2^bits-1 (0 is the kernel's), each once per generation, without flushing", () => {
    let flushes = 0;
    const a = new AsidAllocator(3, () => flushes++);
    const got = Array.from({ length: 7 }, () => a.acquire(ctx()));
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(flushes).toBe(0);
  });

  it("keeps a context's ASID while its generation is current", () => {
    const a = new AsidAllocator(4, () => {});
    const c = ctx();
    const first = a.acquire(c);
    a.acquire(ctx());
    expect(a.acquire(c)).toBe(first);
  });

  it("rolls over on exhaustion: one flush, a new generation, stale contexts get fresh ASIDs", () => {
    let flushes = 0;
    const a = new AsidAllocator(2, () => flushes++);
    const cs = [ctx(), ctx(), ctx()];
    cs.forEach((c) => a.acquire(c));
    const late = ctx();
    expect(a.acquire(late)).toBe(1);
    expect(flushes).toBe(1);
    expect(a.stats.rollovers).toBe(1);
    expect(late.generation).toBe(2);
    // The old contexts are stale now and are given ASIDs of the new generation, distinct from `late`'s.
    const again = cs.map((c) => a.acquire(c));
    expect(new Set([late.asid, ...again.slice(0, 2)]).size).toBe(3);
  });

  it("does not reuse a released ASID within the generation (no flush is ever needed on allocation)", () => {
    const a = new AsidAllocator(2, () => {});
    const c = ctx();
    a.acquire(c);
    a.release(c);
    expect(a.acquire(ctx())).toBe(2);
  });

  it("on a rollover, the contexts running on other CPUs keep their ASIDs into the new generation (Linux's reserved ASIDs)", () => {
    const a = new AsidAllocator(2, () => {});
    const [x, y, z] = [ctx(), ctx(), ctx()];
    expect([a.acquire(x), a.acquire(y), a.acquire(z)]).toEqual([1, 2, 3]);
    const w = ctx();
    // x and z run on other CPUs: the rollover keeps 1 and 3 for them, so w gets 2.
    expect(a.acquire(w, [x, z])).toBe(2);
    expect(a.stats.rollovers).toBe(1);
    expect([x.generation, z.generation, w.generation]).toEqual([2, 2, 2]);
    expect(y.generation).toBe(1);
    expect(a.acquire(x)).toBe(1);
  });

  it("says so when every ASID is held by a running address space", () => {
    const a = new AsidAllocator(1, () => {});
    const x = ctx();
    a.acquire(x);
    expect(() => a.acquire(ctx(), [x])).toThrow("AsidAllocator: all 1 ASIDs are held by running address spaces");
  });

  it("refuses a width outside 1..16", () => {
    expect(() => new AsidAllocator(0, () => {})).toThrow(RangeError);
    expect(() => new AsidAllocator(17, () => {})).toThrow(RangeError);
  });
});

/** 12 children, one after another: each writes its letter to a COW page and exits; the parent waits. */
const FORKS = `
.equ COUNT, 12
.text
.globl _start
_start:
    li      s0, 0
1:  li      a0, 17
    li      a1, 0
    li      a7, 220             # clone(SIGCHLD): fork
    ecall
    beqz    a0, child
    li      a0, -1
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, 260             # wait4(-1)
    ecall
    addi    s0, s0, 1
    li      t0, COUNT
    blt     s0, t0, 1b
    la      a1, byte
    li      a0, 1
    li      a2, 1
    li      a7, 64
    ecall                       # the parent's byte is still '.'
    li      a0, 0
    li      a7, 93
    ecall
child:
    la      t0, byte
    addi    t1, s0, 'a'
    sb      t1, 0(t0)           # COW copy
    li      a0, 1
    mv      a1, t0
    li      a2, 1
    li      a7, 64
    ecall
    li      a0, 0
    li      a7, 93
    ecall
.data
byte: .byte '.'
`;

describe("ASIDs in the running kernel", () => {
  it("find the hart's ASIDLEN by probing satp (a machine with 3 ASID bits: --asid-bits 3) and roll over with it", () => {
    // @spec RV-S §satp: ASID is WARL; writing ones to every ASID bit and reading back gives ASIDLEN
    const r = runKernel(FORKS, { hartAsidBits: 3 });
    expect([r.stdout, r.exitCode]).toEqual(["abcdefghijkl.", 0]);
    const a = r.km.kernel.asids!;
    expect(a.bits).toBe(3);
    expect(a.stats.rollovers).toBeGreaterThanOrEqual(1);
    expect(r.km.machine.harts[0]!.csrHi[0x180]! >>> 12 & 0xffff).toBeLessThan(8);
    expectFullReclaim(r);
  });

  it("roll over with 2-bit ASIDs and every process still sees only its own memory", () => {
    const r = runKernel(FORKS, { asidBits: 2 });
    expect(r.stdout).toBe("abcdefghijkl.");
    expect(r.exitCode).toBe(0);
    const a = r.km.kernel.asids!;
    expect(a.bits).toBe(2);
    expect(a.stats.rollovers).toBeGreaterThanOrEqual(3);
    expectFullReclaim(r);
  });

  it("use the hardware's 16 bits by default and never roll over for a few processes", () => {
    const r = runKernel(FORKS);
    expect(r.stdout).toBe("abcdefghijkl.");
    expect(r.km.kernel.asids!.bits).toBe(16);
    expect(r.km.kernel.asids!.stats.rollovers).toBe(0);
  });
});
