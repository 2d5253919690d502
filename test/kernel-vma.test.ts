/**
 * The per-process list of virtual memory areas: lookup, overlap refusal (stack reservations
 * included), munmap / mprotect splitting, brk resizing and mmap placement.
 */
import { describe, expect, it } from "vitest";
import { MemoryFlags } from "../kernel/mm/flags.js";
import { describeVma, PAGE, pageDown, pageUp, protString, type Vma, VmaList } from "../kernel/mm/vma.js";

const F = MemoryFlags;
const text: Vma = { start: 0x10000n, end: 0x12000n, flags: F.userRx(), kind: "text", name: "text" };
const data: Vma = { start: 0x12000n, end: 0x14000n, flags: F.userRw(), kind: "data", name: "data" };
/** A stack [0x7f000, 0x80000) that may grow to 0x7c000, guard page [0x7b000, 0x7c000). */
const stack: Vma = { start: 0x7f000n, end: 0x80000n, flags: F.userRw(), kind: "stack", name: "stack", grows: "down", limit: 0x7c000n, guard: PAGE };

function list(...vmas: Vma[]): VmaList {
  const l = new VmaList();
  for (const v of vmas) {
    const r = l.insert(v);
    if (!r.ok) throw new Error(r.error.message);
  }
  return l;
}

const ranges = (l: VmaList): string[] => l.all().map(describeVma);

describe("VmaList", () => {
  it("page rounding and permission strings follow /proc/pid/maps", () => {
    expect([pageDown(0x12345n), pageUp(0x12345n), pageUp(0x12000n)]).toEqual([0x12000n, 0x13000n, 0x12000n]);
    expect([protString(F.userRx()), protString(F.userRw()), protString(F.USER)]).toEqual(["r-x", "rw-", "---"]);
    expect(describeVma(text)).toBe("text [0x10000, 0x12000) r-x");
  });

  it("finds the area containing an address and nothing in the gaps", () => {
    const l = list(stack, data, text);
    expect(ranges(l)).toEqual(["text [0x10000, 0x12000) r-x", "data [0x12000, 0x14000) rw-", "stack [0x7f000, 0x80000) rw-"]);
    expect(l.find(0x10000n)).toBe(text);
    expect(l.find(0x11fffn)).toBe(text);
    expect(l.find(0x12000n)).toBe(data);
    expect(l.find(0x14000n)).toBeUndefined();
    expect(l.find(0xfffn)).toBeUndefined();
    expect(l.find(0x80000n)).toBeUndefined();
  });

  it("tells a stack's growth room and its guard gap apart from unmapped space", () => {
    const l = list(text, stack);
    expect(l.lookup(0x7f000n)).toEqual({ kind: "inside", vma: stack });
    expect(l.lookup(0x7eff8n)).toEqual({ kind: "growth", vma: stack });
    expect(l.lookup(0x7c000n)).toEqual({ kind: "growth", vma: stack });
    expect(l.lookup(0x7bfffn)).toEqual({ kind: "guard", vma: stack });
    expect(l.lookup(0x7b000n)).toEqual({ kind: "guard", vma: stack });
    expect(l.lookup(0x7afffn)).toEqual({ kind: "none" });
  });

  it("refuses overlapping areas, including ones in a stack's growth room or guard", () => {
    const l = list(text, stack);
    const r = l.insert({ ...data, start: 0x11000n });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toEqual({ kind: "Overlap", message: "vma: data [0x11000, 0x14000) overlaps text [0x10000, 0x12000) r-x" });
    expect(l.insert({ ...data, start: 0x7b000n, end: 0x7c000n }).ok).toBe(false);
    expect(l.insert({ ...data, start: 0x7d000n, end: 0x7e000n }).ok).toBe(false);
    expect(l.insert({ ...data, start: 0x7a000n, end: 0x7b000n }).ok).toBe(true);
    expect(l.insert({ ...data, start: 0x20001n, end: 0x21000n }).ok).toBe(false);
    expect(l.insert({ ...data, start: 0x20000n, end: 0x20000n }).ok).toBe(false);
    expect(l.insert({ ...stack, start: 0x90000n, end: 0x91000n, limit: 0x91000n }).ok).toBe(false);
  });

  it("munmap of a middle range splits an area in two and returns the removed piece", () => {
    const big: Vma = { start: 0x20000n, end: 0x28000n, flags: F.userRw(), kind: "mmap", name: "[anon]" };
    const l = list(text, big);
    const r = l.remove(0x22000n, 0x24000n);
    expect(r.ok && r.value.map(describeVma)).toEqual(["[anon] [0x22000, 0x24000) rw-"]);
    expect(ranges(l)).toEqual(["text [0x10000, 0x12000) r-x", "[anon] [0x20000, 0x22000) rw-", "[anon] [0x24000, 0x28000) rw-"]);
    const r2 = l.remove(0x11000n, 0x25000n);
    expect(r2.ok && r2.value.map(describeVma)).toEqual(["text [0x11000, 0x12000) r-x", "[anon] [0x20000, 0x22000) rw-", "[anon] [0x24000, 0x25000) rw-"]);
    expect(ranges(l)).toEqual(["text [0x10000, 0x11000) r-x", "[anon] [0x25000, 0x28000) rw-"]);
  });

  it("mprotect of a sub-range splits the area; a hole refuses the whole change", () => {
    const big: Vma = { start: 0x20000n, end: 0x28000n, flags: F.userRw(), kind: "mmap", name: "[anon]" };
    const l = list(big);
    const r = l.protect(0x21000n, 0x23000n, F.userRo());
    expect(r.ok && r.value.map(describeVma)).toEqual(["[anon] [0x21000, 0x23000) r--"]);
    expect(ranges(l)).toEqual(["[anon] [0x20000, 0x21000) rw-", "[anon] [0x21000, 0x23000) r--", "[anon] [0x23000, 0x28000) rw-"]);
    const bad = l.protect(0x27000n, 0x29000n, F.userRo());
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.message).toBe("mprotect: [0x27000, 0x29000) is not fully mapped: nothing at 0x28000");
    expect(l.size).toBe(3);
  });

  it("only the lowest piece of a split stack keeps growing down", () => {
    const l = list({ ...stack, start: 0x7e000n });
    l.protect(0x7f000n, 0x80000n, F.userRo());
    const [low, high] = l.all();
    expect(low!.grows).toBe("down");
    expect(high!.grows).toBeUndefined();
    const g = l.growDown(low!, 0x7c000n);
    expect(g.ok && g.value.start).toBe(0x7c000n);
    expect(l.growDown(l.all()[0]!, 0x7b000n).ok).toBe(false);
  });

  it("brk creates, grows, shrinks and removes the heap, never into the next area", () => {
    const l = list(text, { ...data, start: 0x40000n, end: 0x41000n, kind: "mmap", name: "[anon]" });
    expect(l.resizeHeap(0x12000n, 0x14000n, F.userRw())).toEqual({ ok: true, value: 0x12000n });
    expect(l.find(0x13000n)?.kind).toBe("heap");
    expect(l.resizeHeap(0x12000n, 0x40000n, F.userRw())).toEqual({ ok: true, value: 0x14000n });
    const over = l.resizeHeap(0x12000n, 0x41000n, F.userRw());
    expect(over.ok).toBe(false);
    if (!over.ok) expect(over.error.message).toBe("brk: growing the heap to 0x41000 would overlap [anon] [0x40000, 0x41000) rw-");
    expect(l.resizeHeap(0x12000n, 0x13000n, F.userRw())).toEqual({ ok: true, value: 0x40000n });
    expect(l.find(0x13000n)).toBeUndefined();
    expect(l.resizeHeap(0x12000n, 0x12000n, F.userRw())).toEqual({ ok: true, value: 0x13000n });
    expect(l.find(0x12000n)).toBeUndefined();
  });

  it("mmap placement respects a free hint, else takes the highest gap below the ceiling", () => {
    const l = list(text, stack);
    expect(l.findFree(0x2000n, 0x30000n, 0x10000n, 0x80000n)).toBe(0x30000n);
    expect(l.findFree(0x2000n, 0x30001n, 0x10000n, 0x80000n)).toBe(0x31000n);
    expect(l.findFree(0x2000n, 0x11000n, 0x10000n, 0x80000n)).toBe(0x79000n);
    expect(l.findFree(0x2000n, undefined, 0x10000n, 0x80000n)).toBe(0x79000n);
    l.insert({ ...data, start: 0x70000n, end: 0x7b000n });
    expect(l.findFree(0x2000n, undefined, 0x10000n, 0x80000n)).toBe(0x6e000n);
    expect(l.findFree(0x5e000n, undefined, 0x10000n, 0x80000n)).toBe(0x12000n);
    expect(l.findFree(0x5e000n + PAGE, undefined, 0x10000n, 0x80000n)).toBeUndefined();
    expect(() => l.findFree(0x1001n, undefined, 0n, 0x80000n)).toThrow(RangeError);
  });

  it("a clone is independent of the original", () => {
    const l = list(text, data);
    const c = l.clone();
    c.remove(0x12000n, 0x14000n);
    expect(l.size).toBe(2);
    expect(c.size).toBe(1);
  });
});
