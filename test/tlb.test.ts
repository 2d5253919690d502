/**
 * Unit tests of the architectural TLB (emulator/core/tlb.ts): tagging, superpage matching,
 * invalidation scopes, deterministic replacement and the L1/L2 hierarchy.
 * @spec ARCH-SPEC §4.7 "Caching rules" (entries match if the ASID is equal or the entry is global),
 *       §4.7 SFENCE.VMA table (the four invalidation scopes), §6.1 (sticky TLB, deterministic policy).
 */
import { describe, expect, it } from "vitest";
import { Tlb, TlbSet, type TlbConfig, type TlbScope } from "../emulator/core/tlb.js";

const SHIFTS = [12, 21, 30, 39] as const;
/** 4 KiB pages per 2 MiB / 1 GiB page. */
const PAGES_2M = 512;
const PAGES_1G = 512 * 512;

/** A 32-entry 4-way array (8 sets) mapping the RISC-V page sizes. */
function mkTlb(entries = 32, ways = 4, name = "t"): Tlb {
  return new Tlb(name, { entries, ways }, SHIFTS);
}

/** Fills a translation of the 2^shift page containing `vpn`; the PTE fields are derived from ppn. */
function put(t: Tlb, vpn: number, opts: { shift?: number; asid?: number; global?: boolean; ppn?: number; perm?: number } = {}): number {
  const { shift = 12, asid = 0, global = false, ppn = 0x80000 + vpn, perm = 0xcf } = opts;
  return t.fill(vpn, shift, asid, global, ppn, perm, 0x8000_1000 + (vpn % 512) * 8, (ppn << 10) | perm, 0);
}

/** Records every onDrop call of `t`. */
function drops(t: Tlb): Array<[number, number]> {
  const log: Array<[number, number]> = [];
  t.onDrop = (vpnBase, shift) => log.push([vpnBase, shift]);
  return log;
}

describe("lookups probe only the page sizes present (a host-side shortcut, invisible to the guest)", () => {
  it("finds each size as it comes and goes: fills, evictions and invalidations of 4 KiB, 2 MiB and 1 GiB entries", () => {
    const t = mkTlb(8, 2);
    expect(t.lookup(PAGES_1G + 5, 0)).toBe(-1);
    const big = put(t, PAGES_1G, { shift: 30, ppn: 4 * PAGES_1G });
    expect(t.lookup(PAGES_1G + 5, 0)).toBe(big);
    expect(t.lookup(5, 0)).toBe(-1);
    const mid = put(t, 3 * PAGES_2M, { shift: 21, ppn: 0x80000 });
    const small = put(t, 7);
    expect([t.lookup(PAGES_1G + 9, 0), t.lookup(3 * PAGES_2M + 1, 0), t.lookup(7, 0)]).toEqual([big, mid, small]);
    t.invalidate({ kind: "va", vpn: 3 * PAGES_2M + 1 });
    expect(t.lookup(3 * PAGES_2M + 1, 0)).toBe(-1);
    // The 2 MiB size is back after the only 2 MiB entry went: found again when refilled.
    const again = put(t, 3 * PAGES_2M, { shift: 21, ppn: 0x80000 });
    expect(t.lookup(3 * PAGES_2M + 100, 0)).toBe(again);
    // Evicting the 1 GiB entry (same set, round robin) leaves the others found.
    const set0 = (PAGES_1G / PAGES_1G) % 4;
    put(t, (set0 + 4) * PAGES_1G, { shift: 30, ppn: 0 });
    put(t, (set0 + 8) * PAGES_1G, { shift: 30, ppn: 0 });
    expect(t.lookup(PAGES_1G + 5, 0)).toBe(-1);
    expect([t.lookup(3 * PAGES_2M + 1, 0), t.lookup(7, 0)]).toEqual([again, small]);
    t.invalidate({ kind: "all" });
    expect([t.lookup(3 * PAGES_2M + 1, 0), t.lookup(7, 0), t.lookup((set0 + 8) * PAGES_1G, 0)]).toEqual([-1, -1, -1]);
    expect(put(t, 7)).toBe(small);
    expect(t.lookup(7, 0)).toBe(small);
  });
});

const SPLIT_L2: TlbConfig = { l1: { entries: 8, ways: 2 }, split: true, l2: { entries: 32, ways: 4 } };
const SPLIT_NO_L2: TlbConfig = { l1: { entries: 8, ways: 2 }, split: true };
const UNIFIED: TlbConfig = { l1: { entries: 8, ways: 2 }, split: false, l2: { entries: 32, ways: 4 } };

/** Fills a 4 KiB translation into `l1` (and L2) of a TlbSet. */
function putSet(s: TlbSet, l1: Tlb, vpn: number, asid = 0, global = false): number {
  return s.fill(l1, vpn, 12, asid, global, 0x80000 + vpn, 0xcf, 0, 0, 0);
}

describe("Tlb lookup", () => {
  it("a lookup of an absent page misses, returns -1 and counts one miss", () => {
    const t = mkTlb();
    expect(t.lookup(5, 0)).toBe(-1);
    expect(t.counters).toMatchObject({ hits: 0, misses: 1, fills: 0 });
  });

  it("a lookup of a filled page hits, returns the fill's index and counts one hit", () => {
    const t = mkTlb();
    const i = put(t, 5);
    expect(t.lookup(5, 0)).toBe(i);
    expect(t.counters).toMatchObject({ hits: 1, misses: 0, fills: 1 });
    expect(t.ppn[i]).toBe(0x80005);
  });

  it("probe finds the same entry as lookup but counts nothing", () => {
    const t = mkTlb();
    const i = put(t, 5);
    expect(t.probe(5, 0)).toBe(i);
    expect(t.probe(6, 0)).toBe(-1);
    expect(t.counters).toMatchObject({ hits: 0, misses: 0 });
  });

  it("entries() reports the fields of each valid entry, the PTE rebuilt from its halves", () => {
    const t = mkTlb();
    t.fill(7, 12, 3, false, 0x80007, 0xcf, 0x8000_2038, 0x2000_1ccf, 0x0030_0000);
    expect(t.entries()).toEqual([{
      vpnBase: 7, shift: 12, asid: 3, global: false, ppn: 0x80007, perm: 0xcf, pteAddr: 0x8000_2038,
      pte: 0x0030_0000_2000_1ccfn,
    }]);
  });

  it("a geometry whose entries/ways is not a power of two is refused with RangeError", () => {
    expect(() => mkTlb(24, 4)).toThrow(RangeError);
    expect(() => mkTlb(4, 8)).toThrow(RangeError);
    expect(() => mkTlb(16, 4)).not.toThrow();
  });
});

describe("Tlb ASID tagging (RV-S: an entry matches if its ASID is equal or it is global)", () => {
  it("a non-global entry of ASID 1 does not match ASID 2", () => {
    const t = mkTlb();
    const i = put(t, 9, { asid: 1 });
    expect(t.lookup(9, 2)).toBe(-1);
    expect(t.lookup(9, 1)).toBe(i);
  });

  it("a global entry matches every ASID", () => {
    const t = mkTlb();
    const i = put(t, 9, { asid: 1, global: true });
    for (const asid of [0, 1, 2, 0xffff]) expect(t.lookup(9, asid)).toBe(i);
  });

  it("the same page under two ASIDs holds two entries with their own frames", () => {
    const t = mkTlb();
    const a = put(t, 9, { asid: 1, ppn: 0x100 });
    const b = put(t, 9, { asid: 2, ppn: 0x200 });
    expect(a).not.toBe(b);
    expect(t.ppn[t.lookup(9, 1)]).toBe(0x100);
    expect(t.ppn[t.lookup(9, 2)]).toBe(0x200);
  });
});

describe("Tlb superpages are matched by mask", () => {
  it("a 2 MiB entry serves every 4 KiB page inside it, not the page after it", () => {
    const t = mkTlb();
    const base = 3 * PAGES_2M;
    const i = put(t, base + 17, { shift: 21, ppn: 0x80200 });
    expect(t.vpnBase[i]).toBe(base);
    for (const vpn of [base, base + 1, base + 17, base + PAGES_2M - 1]) expect(t.probe(vpn, 0)).toBe(i);
    expect(t.probe(base + PAGES_2M, 0)).toBe(-1);
    expect(t.probe(base - 1, 0)).toBe(-1);
  });

  it("a superpage entry keeps the frame of the page start (ppn aligned to the page size)", () => {
    const t = mkTlb();
    const i = put(t, PAGES_2M + 5, { shift: 21, ppn: 0x80200 + 5 });
    expect(t.ppn[i]).toBe(0x80200);
  });

  it("a 1 GiB entry serves every 4 KiB page inside it, not the page after it", () => {
    const t = mkTlb();
    const base = 2 * PAGES_1G;
    const i = put(t, base, { shift: 30, ppn: 0xc0000 });
    for (const vpn of [base, base + PAGES_2M + 3, base + PAGES_1G - 1]) expect(t.probe(vpn, 0)).toBe(i);
    expect(t.probe(base + PAGES_1G, 0)).toBe(-1);
  });

  it("a 512 GiB entry serves pages up to its last one", () => {
    const t = mkTlb();
    const pages = 2 ** 27;
    const i = put(t, pages, { shift: 39, ppn: 2 ** 28 });
    expect(t.probe(2 * pages - 1, 0)).toBe(i);
    expect(t.probe(2 * pages, 0)).toBe(-1);
  });
});

describe("Tlb invalidation scopes (RV-S SFENCE.VMA table)", () => {
  /** ASID 1 and 2 entries, a global one, a 2 MiB and a 1 GiB page covering vpn 0x200. */
  function populated(): Tlb {
    const t = mkTlb(64, 8);
    put(t, 0x200, { asid: 1 });
    put(t, 0x200, { asid: 2 });
    put(t, 0x201, { asid: 1 });
    put(t, 0x300, { asid: 3, global: true });
    put(t, 0x200, { asid: 1, shift: 21 });
    put(t, 0x200, { asid: 2, shift: 30 });
    return t;
  }
  const key = (t: Tlb) => t.entries().map((e) => `${e.vpnBase.toString(16)}/${e.shift}/${e.global ? "g" : e.asid}`).sort();

  it("all: removes every entry, including globals, and counts the kind and the entries", () => {
    const t = populated();
    const log = drops(t);
    expect(t.invalidate({ kind: "all" })).toBe(6);
    expect(t.entries()).toEqual([]);
    expect(log).toHaveLength(6);
    expect(t.counters.invalidations).toEqual({ all: 1 });
    expect(t.counters.invalidated).toBe(6);
  });

  it("asid with keepGlobal: removes that ASID's entries of every size and keeps globals and other ASIDs", () => {
    const t = populated();
    expect(t.invalidate({ kind: "asid", asid: 1, keepGlobal: true })).toBe(3);
    expect(key(t)).toEqual(["0/30/2", "200/12/2", "300/12/g"]);
  });

  it("va: removes every size containing the page in every ASID, globals included", () => {
    const t = populated();
    put(t, 0x200, { asid: 5, global: true });
    const log = drops(t);
    expect(t.invalidate({ kind: "va", vpn: 0x200 })).toBe(5);
    expect(key(t)).toEqual(["201/12/1", "300/12/g"]);
    expect(log.sort()).toEqual([[0, 30], [0x200, 12], [0x200, 12], [0x200, 12], [0x200, 21]]);
  });

  it("va on a page inside a superpage removes the superpage but not neighbouring 4 KiB pages", () => {
    const t = populated();
    expect(t.invalidate({ kind: "va", vpn: 0x3ff })).toBe(2);
    expect(key(t)).toEqual(["200/12/1", "200/12/2", "201/12/1", "300/12/g"]);
  });

  it("va+asid with keepGlobal: removes only that ASID's non-global entries containing the page", () => {
    const t = populated();
    put(t, 0x200, { asid: 2, global: true });
    expect(t.invalidate({ kind: "va+asid", vpn: 0x200, asid: 2, keepGlobal: true })).toBe(2);
    expect(key(t)).toEqual(["200/12/1", "200/12/g", "200/21/1", "201/12/1", "300/12/g"]);
  });

  it("each kind is counted separately", () => {
    const t = populated();
    t.invalidate({ kind: "va", vpn: 1 });
    t.invalidate({ kind: "va", vpn: 2 });
    t.invalidate({ kind: "all" });
    expect(t.counters.invalidations).toEqual({ va: 2, all: 1 });
  });
});

describe("Tlb replacement", () => {
  it("filling ways+1 pages of one set evicts the first-filled (round-robin), counts one eviction and reports it to onDrop", () => {
    const t = mkTlb(32, 4);
    const log = drops(t);
    const vpns = [0, 8, 16, 24, 32].map((v) => v + 3);
    for (const v of vpns) put(t, v);
    expect(t.counters.evictions).toBe(1);
    expect(log).toEqual([[3, 12]]);
    expect(t.probe(3, 0)).toBe(-1);
    for (const v of vpns.slice(1)) expect(t.probe(v, 0)).toBeGreaterThanOrEqual(0);
    put(t, 43);
    expect(log).toEqual([[3, 12], [11, 12]]);
  });

  it("a superpage eviction reports its vpnBase and shift", () => {
    const t = mkTlb(8, 2);
    const log = drops(t);
    for (const k of [0, 4, 8]) put(t, k * PAGES_2M + 7, { shift: 21 });
    expect(log).toEqual([[0, 21]]);
  });

  it("replacement does not depend on hits: the same fills evict the same entry whatever was looked up", () => {
    const a = mkTlb(32, 4);
    const b = mkTlb(32, 4);
    for (const v of [0, 8, 16, 24]) { put(a, v); put(b, v); }
    for (let k = 0; k < 10; k++) a.lookup(0, 0);
    put(a, 32);
    put(b, 32);
    expect(a.entries()).toEqual(b.entries());
    expect(a.probe(0, 0)).toBe(-1);
  });

  it("pages in other sets are untouched by a full set", () => {
    const t = mkTlb(32, 4);
    put(t, 1);
    for (const v of [0, 8, 16, 24, 32, 40]) put(t, v);
    expect(t.probe(1, 0)).toBeGreaterThanOrEqual(0);
  });

  it("refilling the same page, size and tag replaces the entry in place (no eviction, no drop)", () => {
    const t = mkTlb();
    const log = drops(t);
    const i = put(t, 5, { asid: 1, ppn: 0x100 });
    const j = put(t, 5, { asid: 1, ppn: 0x200, perm: 0x4f });
    expect(j).toBe(i);
    expect(t.entries()).toHaveLength(1);
    expect(t.ppn[i]).toBe(0x200);
    expect(t.perm[i]).toBe(0x4f);
    expect(t.counters).toMatchObject({ fills: 2, evictions: 0 });
    expect(log).toEqual([]);
  });

  it("a global refill of a page replaces the global entry in place whatever the ASID it was filled under", () => {
    const t = mkTlb();
    const i = put(t, 5, { asid: 1, global: true });
    expect(put(t, 5, { asid: 2, global: true })).toBe(i);
    expect(t.entries()).toHaveLength(1);
  });
});

describe("TlbSet hierarchy", () => {
  it("a split configuration has separate I and D arrays: a data fill is not visible to fetches", () => {
    const s = new TlbSet(SPLIT_NO_L2, SHIFTS);
    expect(s.itlb).not.toBe(s.dtlb);
    expect(s.arrays.map((t) => t.name)).toEqual(["itlb", "dtlb"]);
    putSet(s, s.dtlb, 5);
    expect(s.lookup(s.dtlb, 5, 0)).toBeGreaterThanOrEqual(0);
    expect(s.lookup(s.itlb, 5, 0)).toBe(-1);
  });

  it("a unified configuration shares one L1 array between fetches and data", () => {
    const s = new TlbSet(UNIFIED, SHIFTS);
    expect(s.itlb).toBe(s.dtlb);
    expect(s.arrays.map((t) => t.name)).toEqual(["tlb", "l2tlb"]);
    const i = putSet(s, s.dtlb, 5);
    expect(s.lookup(s.itlb, 5, 0)).toBe(i);
  });

  it("a walk result fills both L1 and L2", () => {
    const s = new TlbSet(SPLIT_L2, SHIFTS);
    putSet(s, s.dtlb, 5, 1);
    expect(s.dtlb.probe(5, 1)).toBeGreaterThanOrEqual(0);
    expect(s.l2!.probe(5, 1)).toBeGreaterThanOrEqual(0);
  });

  it("an L1 miss that hits L2 refills L1 with the L2 entry; the next lookup hits L1", () => {
    const s = new TlbSet(SPLIT_L2, SHIFTS);
    s.fill(s.dtlb, 3 * PAGES_2M + 9, 21, 1, true, 0x80400, 0xdf, 0x8000_3000, 0, 0);
    const i = s.lookup(s.itlb, 3 * PAGES_2M + 100, 4);
    expect(i).toBeGreaterThanOrEqual(0);
    expect(s.itlb.entries()).toEqual(s.l2!.entries());
    expect(s.itlb.counters).toMatchObject({ hits: 0, misses: 1, fills: 1 });
    expect(s.l2!.counters.hits).toBe(1);
    expect(s.lookup(s.itlb, 3 * PAGES_2M + 100, 4)).toBe(i);
    expect(s.itlb.counters.hits).toBe(1);
    expect(s.l2!.counters.hits).toBe(1);
  });

  it("a miss in L1 and L2 returns -1", () => {
    const s = new TlbSet(SPLIT_L2, SHIFTS);
    expect(s.lookup(s.dtlb, 5, 0)).toBe(-1);
    expect(s.l2!.counters.misses).toBe(1);
  });

  it("invalidate applies to every level, returns the total removed and calls onInvalidate with the scope", () => {
    const s = new TlbSet(SPLIT_L2, SHIFTS);
    putSet(s, s.dtlb, 5, 1);
    putSet(s, s.itlb, 5, 1);
    putSet(s, s.dtlb, 6, 1);
    const seen: Array<[TlbScope, number]> = [];
    s.onInvalidate = (scope, n) => seen.push([scope, n]);
    const scope: TlbScope = { kind: "sfence.vma va", vpn: 5 };
    expect(s.invalidate(scope)).toBe(3);
    expect(seen).toEqual([[scope, 3]]);
    expect(s.itlb.probe(5, 1)).toBe(-1);
    expect(s.dtlb.probe(5, 1)).toBe(-1);
    expect(s.l2!.probe(5, 1)).toBe(-1);
    expect(s.dtlb.probe(6, 1)).toBeGreaterThanOrEqual(0);
  });

  it("the onDrop setter installs the hook on every array", () => {
    const s = new TlbSet(SPLIT_L2, SHIFTS);
    const log: number[] = [];
    s.onDrop = (vpnBase) => log.push(vpnBase);
    putSet(s, s.itlb, 7);
    s.invalidate({ kind: "all" });
    expect(log).toEqual([7, 7]);
  });

  it("stats() sums fills, evictions and invalidated over every array, hits and misses over L1, and adds the walk counters", () => {
    const s = new TlbSet(SPLIT_L2, SHIFTS);
    putSet(s, s.dtlb, 5);
    s.lookup(s.dtlb, 5, 0);
    s.lookup(s.itlb, 5, 0);
    s.lookup(s.itlb, 6, 0);
    for (const v of [0, 4, 8]) putSet(s, s.dtlb, v);
    s.walk.walks = 4;
    s.walk.walkRefs = 12;
    s.invalidate({ kind: "all" });
    const st = s.stats();
    const sum = (k: "fills" | "evictions" | "invalidated") => s.arrays.reduce((n, t) => n + t.counters[k], 0);
    expect(st.hits).toBe(s.itlb.counters.hits + s.dtlb.counters.hits);
    expect(st.misses).toBe(s.itlb.counters.misses + s.dtlb.counters.misses);
    expect(st).toMatchObject({ hits: 1, misses: 2, walks: 4, walkRefs: 12 });
    expect(st.fills).toBe(sum("fills"));
    expect(st.fills).toBe(9);
    expect(st.evictions).toBe(sum("evictions"));
    expect(st.evictions).toBe(1);
    expect(st.invalidated).toBe(sum("invalidated"));
    expect(st.invalidations).toEqual({ all: 1 });
    expect(Object.keys(st.arrays)).toEqual(["itlb", "dtlb", "l2tlb"]);
  });
});
