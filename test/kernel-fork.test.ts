/**
 * fork's copy-on-write sharing and the syscall layer's user-memory helpers, against a FakeHal with
 * a reference-counted frame fake. Both processes' memory is read back through their own page tables.
 */
import { describe, expect, it } from "vitest";
import { PTE, PTE_SW_COW } from "../kernel/arch/riscv64/pte.js";
import { MemoryFlags } from "../kernel/mm/flags.js";
import { forkMemory } from "../kernel/mm/fork.js";
import type { ProcessMemory } from "../kernel/mm/process-memory.js";
import { PAGE, type Vma } from "../kernel/mm/vma.js";
import { copyFromUser, copyToUser, readUserString, utf8Decode, utf8Encode } from "../kernel/proc/user-memory.js";
import { anon, area, fault, newSpace, peek, poke, procEnv, type ProcEnv, userFrames } from "./support/process-env.js";

const F = MemoryFlags;
const TEXT: Vma = { start: 0x10000n, end: 0x11000n, flags: F.userRx(), kind: "text", name: "text" };
const DATA: Vma = { start: 0x11000n, end: 0x13000n, flags: F.userRw(), kind: "data", name: "data" };
const text = (s: string): Uint8Array => utf8Encode(s);

/** A parent with text and two data pages ("parent" written in the first), forked into asid 2. */
function forked(): ProcEnv & { child: ProcessMemory } {
  const env = procEnv();
  area(env, TEXT);
  area(env, DATA);
  poke(env, env.mm, 0x11000n, text("parent"));
  const r = forkMemory(env.mm, newSpace(env.hal, env.frames, 2), { owner: "proc 2" });
  if (!r.ok) throw new Error(r.error.message);
  return { ...env, child: r.child };
}

const leafPte = (mm: ProcessMemory, va: bigint): bigint => mm.space.walkPageTable(va).at(-1)!.pte;

describe("fork", () => {
  it("shares every present page: writable ones become COW (W clear, RSW bit) in both, read-only ones stay as they were", () => {
    const env = forked();
    for (const mm of [env.mm, env.child]) {
      const d = leafPte(mm, 0x11000n);
      expect([d & PTE.W, d & PTE_SW_COW, d & PTE.U]).toEqual([0n, PTE_SW_COW, PTE.U]);
      const t = leafPte(mm, 0x10000n);
      expect([t & (PTE.R | PTE.W | PTE.X), t & PTE_SW_COW]).toEqual([PTE.R | PTE.X, 0n]);
    }
    for (const va of [0x10000n, 0x11000n, 0x12000n]) {
      expect(env.child.space.translate(va)!.pa).toBe(env.mm.space.translate(va)!.pa);
      expect(env.frames.refCount(Number(env.mm.space.translate(va)!.pa))).toBe(2);
    }
    expect(userFrames(env, "proc 1")).toBe(3);
    expect(env.child.vmas.all().map((v) => v.name)).toEqual(["text", "data"]);
  });

  it("flushes the parent's pages that lost WRITE, and settles every token", () => {
    const env = procEnv();
    area(env, TEXT);
    area(env, DATA);
    env.hal.flushes.length = 0;
    const r = forkMemory(env.mm, newSpace(env.hal, env.frames, 2));
    expect(r.ok).toBe(true);
    const parentFlushes = env.hal.flushes.filter((f) => f.kind === "page" && f.asid === 1);
    expect(parentFlushes).toEqual([{ kind: "page", va: 0x11000n, asid: 1 }, { kind: "page", va: 0x12000n, asid: 1 }]);
    expect(env.mm.space.pendingFlushes()).toEqual([]);
    if (r.ok) expect(r.child.space.pendingFlushes()).toEqual([]);
  });

  it("a child write makes exactly one COW copy and leaves the parent's data untouched; the parent's later write reuses its frame", () => {
    const env = forked();
    const shared = Number(env.mm.space.translate(0x11000n)!.pa);
    const o = fault(env.child, 0x11003n, "write");
    expect(o.kind).toBe("cow-copy");
    expect(env.child.stats).toMatchObject({ cowCopy: 1, cowReuse: 0, demandZero: 0 });
    poke(env, env.child, 0x11000n, text("child!"));
    expect(utf8Decode(peek(env, env.mm, 0x11000n, 6))).toBe("parent");
    expect(utf8Decode(peek(env, env.child, 0x11000n, 6))).toBe("child!");
    expect(env.frames.refCount(shared)).toBe(1);
    expect(leafPte(env.child, 0x11000n) & PTE.W).toBe(PTE.W);

    const p = fault(env.mm, 0x11000n, "write");
    expect(p).toEqual({ kind: "cow-reuse", va: 0x11000n, frame: shared });
    expect(env.mm.stats).toMatchObject({ cowCopy: 0, cowReuse: 1 });
    const pte = leafPte(env.mm, 0x11000n);
    expect([pte & PTE.W, pte & PTE.D, pte & PTE_SW_COW]).toEqual([PTE.W, PTE.D, 0n]);
    expect(fault(env.mm, 0x11000n, "write").kind).toBe("spurious");
  });

  it("pages never touched before fork are demand-zero in each process separately", () => {
    const env = procEnv();
    const base = anon(env, 2);
    fault(env.mm, base, "write");
    const r = forkMemory(env.mm, newSpace(env.hal, env.frames, 2));
    if (!r.ok) throw new Error(r.error.message);
    expect(fault(r.child, base + PAGE, "read").kind).toBe("demand-zero");
    expect(env.mm.space.isMapped(base + PAGE)).toBe(false);
    expect(fault(env.mm, base + PAGE, "read").kind).toBe("demand-zero");
  });

  it("after both exit every frame is back", () => {
    const env = forked();
    fault(env.child, 0x11000n, "write");
    env.child.protectRange(0x12000n, PAGE, 0);
    env.mm.destroy();
    expect(env.frames.live).toBeGreaterThan(0);
    env.child.destroy();
    expect(env.frames.live).toBe(0);
  });

  it("out of page-table frames: the child is torn down and its references dropped", () => {
    const env = procEnv();
    area(env, TEXT);
    area(env, DATA);
    const before = env.frames.live;
    const space = newSpace(env.hal, env.frames, 2);
    env.frames.failAfter = 0;
    const r = forkMemory(env.mm, space);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toBe("fork: no page-table page to share 0x10000 of text");
    env.frames.failAfter = undefined;
    expect(env.frames.live).toBe(before);
    expect(env.frames.refCount(Number(env.mm.space.translate(0x10000n)!.pa))).toBe(1);
  });
});

describe("user memory access for system calls", () => {
  it("copyFromUser reads across pages, faulting untouched pages in as zeros", () => {
    const env = procEnv();
    const base = anon(env, 2);
    fault(env.mm, base, "write");
    poke(env, env.mm, base + PAGE - 2n, Uint8Array.of(7, 8));
    expect(copyFromUser(env.mm, base + PAGE - 2n, 4)).toEqual(Uint8Array.of(7, 8, 0, 0));
    expect(env.mm.stats.demandZero).toBe(2);
    expect(copyFromUser(env.mm, base, 0)).toEqual(new Uint8Array(0));
  });

  it("copyFromUser of an unmapped, kernel or non-canonical address is undefined (-EFAULT)", () => {
    const env = procEnv();
    const base = anon(env, 1);
    expect(copyFromUser(env.mm, 0x5000n, 4)).toBeUndefined();
    expect(copyFromUser(env.mm, base + PAGE - 2n, 4)).toBeUndefined();
    expect(copyFromUser(env.mm, 0xffff_ffc0_8000_0000n, 4)).toBeUndefined();
    expect(copyFromUser(env.mm, 0x40_0000_0000n - 2n, 4)).toBeUndefined();
    expect(env.mm.stats.protectionKill).toBe(0);
    expect(env.mm.stats.userAccessFailed).toBe(2);
  });

  it("copyFromUser refuses pages the user cannot read", () => {
    const env = procEnv();
    const base = anon(env, 1, F.READ);
    fault(env.mm, base, "read");
    env.mm.protectRange(base, PAGE, 0);
    expect(copyFromUser(env.mm, base, 1)).toBeUndefined();
  });

  it("copyToUser refuses read-only memory and writes nothing when part of the range is bad", () => {
    const env = procEnv();
    area(env, TEXT);
    expect(copyToUser(env.mm, 0x10000n, text("x"))).toBe(false);
    const base = anon(env, 1);
    fault(env.mm, base, "write");
    expect(copyToUser(env.mm, base + PAGE - 2n, text("abcd"))).toBe(false);
    expect(peek(env, env.mm, base + PAGE - 2n, 2)).toEqual(new Uint8Array(2));
    expect(copyToUser(env.mm, base + 4n, text("abcd"))).toBe(true);
    expect(utf8Decode(peek(env, env.mm, base + 4n, 4))).toBe("abcd");
  });

  it("copyToUser into a COW page copies it first, as a kernel store through the MMU would fault", () => {
    const env = forked();
    expect(copyToUser(env.child, 0x11000n, text("kernel"))).toBe(true);
    expect(env.child.stats.cowCopy).toBe(1);
    expect(utf8Decode(peek(env, env.child, 0x11000n, 6))).toBe("kernel");
    expect(utf8Decode(peek(env, env.mm, 0x11000n, 6))).toBe("parent");
  });

  it("readUserString stops at the NUL, reports faults and strings longer than the limit", () => {
    const env = procEnv();
    const base = anon(env, 2);
    fault(env.mm, base, "write");
    fault(env.mm, base + PAGE, "write");
    poke(env, env.mm, base + PAGE - 3n, Uint8Array.of(0x68, 0xc3, 0xa9));
    poke(env, env.mm, base + PAGE, Uint8Array.of(0x21, 0));
    const ok = readUserString(env.mm, base + PAGE - 3n, 4096);
    expect(ok.ok && ok.value).toBe("hé!");
    expect(ok.ok && ok.bytes.length).toBe(4);
    expect(readUserString(env.mm, base + PAGE - 3n, 4)).toEqual({ ok: false, error: "too-long" });
    expect(readUserString(env.mm, base + PAGE - 3n, 5).ok).toBe(true);
    expect(readUserString(env.mm, 0x5000n, 16)).toEqual({ ok: false, error: "fault" });
    env.mm.unmapRange(base + PAGE, PAGE);
    expect(readUserString(env.mm, base + PAGE - 3n, 100)).toEqual({ ok: false, error: "fault" });
  });

  it("UTF-8 round-trips and malformed input becomes U+FFFD", () => {
    const s = "a\u00e9\u4e2d\u{1f600}";
    expect(utf8Decode(utf8Encode(s))).toBe(s);
    expect(utf8Encode(s).length).toBe(1 + 2 + 3 + 4);
    expect(utf8Decode(Uint8Array.of(0xc0, 0x80, 0x41, 0xe2, 0x82))).toBe("\ufffd\ufffd\u0041\ufffd");
  });
});
