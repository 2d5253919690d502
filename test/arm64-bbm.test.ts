/**
 * Strict TLB mode of the AArch64 MMU (emulator/arch/arm64/bbm.ts): break-before-make violations and
 * translations that rely on a TLBI not completed by a DSB are reported; correct sequences are not.
 * @spec ARM-ARM D8.16.1 "Using break-before-make when updating translation table entries", D8.17
 * (TLBI completion by DSB); ARCH-SPEC §3.8
 */
import { describe, expect, it } from "vitest";
import { Arm64StrictTlb, formatStrictReport, type StrictReport } from "../emulator/arch/arm64/bbm.js";
import { LOAD, TLBI_ASIDE1, TLBI_VAAE1, TLBI_VAE1, TLBI_VALE1, TLBI_VMALLE1 } from "../emulator/arch/arm64/mmu.js";
import { type MmuRig, mmuRig, type MmuRigOptions, setReg, tlbiOperand, translateVa } from "../emulator/arch/arm64/mmu-tables.js";

const AF = 1n << 10n, NG = 1n << 11n;
const VA = 0x0000_0000_1020_3000n;
const PA1 = 0x4800_0000, PA2 = 0x4900_0000;

interface Strict extends MmuRig { det: Arm64StrictTlb; reports: StrictReport[] }

function strictRig(opts: MmuRigOptions = {}): Strict {
  const r = mmuRig(opts);
  const det = new Arm64StrictTlb();
  det.attach(r.mmu, r.bus);
  det.watch(r.bus);
  const reports: StrictReport[] = [];
  det.onReport = (rep) => reports.push(rep);
  det.context = () => ({ pc: 0x4000_0100n, icount: 42 });
  return { ...r, det, reports };
}

const tr = (r: MmuRig, va = VA): number => translateVa(r.mmu, va, LOAD, 1);
function tlbi(r: MmuRig, op: number, va = VA, asid = 0): void {
  const { lo, hi } = tlbiOperand(va, asid);
  r.mmu.tlbi(op, lo, hi);
}
const page = (pa: number, extra = 0n): bigint => BigInt(pa) | 3n | AF | extra;
const block = (pa: number): bigint => BigInt(pa) | 1n | AF;

describe("break-before-make (strict mode)", () => {
  it("strict mode is off by default", () => {
    expect(mmuRig().mmu.strict).toBeUndefined();
  });

  it("a valid page replaced by a valid page with another PA is reported (valid-to-valid, pa)", () => {
    const r = strictRig();
    const path = r.t0.map(VA, PA1, 3, AF);
    expect(tr(r)).toBe(PA1);
    r.bus.write64(path[3]!, page(PA2));
    expect(r.reports).toHaveLength(1);
    expect(r.reports[0]).toMatchObject({ kind: "bbm", sequence: "valid-to-valid", changes: ["pa"], descAddr: path[3], level: 3, va: VA, global: true, where: { icount: 42 } });
    expect(formatStrictReport(r.reports[0]!)).toContain("break-before-make at pc 0x40000100");
    expect(tr(r), "the report changes nothing: the stale entry is still used").toBe(PA1);
  });

  it("a permission or attribute change that keeps the PA and size is not a violation", () => {
    const r = strictRig();
    const path = r.t0.map(VA, PA1, 3, AF);
    tr(r);
    r.bus.write64(path[3]!, page(PA1, (1n << 7n) | (1n << 54n) | NG));
    expect(r.reports).toEqual([]);
  });

  it("invalid, TLBI VAE1 covering it, DSB, then the new page: no report", () => {
    const r = strictRig({ asid0: 5 });
    const path = r.t0.map(VA, PA1, 3, AF | NG);
    tr(r);
    r.bus.write64(path[3]!, 0n);
    r.mmu.dsb();
    tlbi(r, TLBI_VAE1, VA, 5);
    r.mmu.dsb();
    r.bus.write64(path[3]!, page(PA2, NG));
    expect(tr(r)).toBe(PA2);
    expect(r.reports).toEqual([]);
  });

  it("invalid then the new page with no TLBI in between is reported (no-tlbi)", () => {
    const r = strictRig();
    const path = r.t0.map(VA, PA1, 3, AF);
    tr(r);
    r.bus.write64(path[3]!, 0n);
    r.bus.write64(path[3]!, page(PA2));
    expect(r.reports).toMatchObject([{ kind: "bbm", sequence: "no-tlbi", changes: ["pa"], old: page(PA1), new: page(PA2) }]);
  });

  it("a table page zeroed whole (freed) and reused by another address space: no report; a live one's stale use still is", () => {
    // An exited process's ASID is never reused before a flush, so its table page is recycled
    // without TLBI (Linux frees page tables that way): the new descriptors there are not a BBM case.
    const r = strictRig({ asid0: 5 });
    const path = r.t0.map(VA, PA1, 3, AF | NG);
    tr(r);
    const tablePage = path[3]! - (path[3]! % 4096);
    r.bus.fill(tablePage, 4096, 0);
    r.bus.write64(path[3]!, page(PA2, NG));
    expect(r.reports).toEqual([]);
    expect(tr(r), "the TLB still holds the ASID-5 entry, and a use of it is a stale use").toBe(PA1);
    expect(r.reports).toMatchObject([{ kind: "stale-tlb" }]);
  });

  it("restoring the same page after an invalid descriptor needs no TLBI", () => {
    const r = strictRig();
    const path = r.t0.map(VA, PA1, 3, AF);
    tr(r);
    r.bus.write64(path[3]!, 0n);
    r.bus.write64(path[3]!, page(PA1));
    expect(r.reports).toEqual([]);
  });

  const SCOPES: readonly [string, number, bigint, number, boolean][] = [
    ["TLBI VAE1 of another VA", TLBI_VAE1, VA + 0x1000n, 5, false],
    ["TLBI VAE1 of another ASID (nG leaf)", TLBI_VAE1, VA, 6, false],
    ["TLBI ASIDE1 of another ASID", TLBI_ASIDE1, 0n, 6, false],
    ["TLBI ASIDE1 of its ASID", TLBI_ASIDE1, 0n, 5, true],
    ["TLBI VAAE1 of the VA", TLBI_VAAE1, VA, 0, true],
    ["TLBI VALE1 of the VA and ASID", TLBI_VALE1, VA, 5, true],
    ["TLBI VMALLE1", TLBI_VMALLE1, 0n, 0, true],
  ];
  for (const [name, op, va, asid, covers] of SCOPES) {
    it(`an nG page of ASID 5 made invalid, then ${name}: ${covers ? "covered, no report" : "not covered, reported"}`, () => {
      const r = strictRig({ asid0: 5 });
      const path = r.t0.map(VA, PA1, 3, AF | NG);
      tr(r);
      r.bus.write64(path[3]!, 0n);
      tlbi(r, op, va, asid);
      r.mmu.dsb();
      r.bus.write64(path[3]!, page(PA2, NG));
      expect(r.reports.map((x) => x.kind === "bbm" && x.sequence)).toEqual(covers ? [] : ["no-tlbi"]);
    });
  }

  it("TLBI ASIDE1 spares global entries, so it does not cover a global page", () => {
    const r = strictRig({ asid0: 5 });
    const path = r.t0.map(VA, PA1, 3, AF);
    tr(r);
    r.bus.write64(path[3]!, 0n);
    tlbi(r, TLBI_ASIDE1, 0n, 5);
    r.bus.write64(path[3]!, page(PA2));
    expect(r.reports).toHaveLength(1);
  });

  it("splitting a valid 2 MiB block into a table while valid is reported (size)", () => {
    const r = strictRig();
    const path = r.t0.map(VA, PA1 - (PA1 % 0x20_0000), 2, AF);
    tr(r);
    const table = r.t0.alloc();
    r.bus.write64(path[2]!, BigInt(table) | 3n);
    expect(r.reports).toMatchObject([{ kind: "bbm", sequence: "valid-to-valid", changes: ["size"], level: 2 }]);
  });

  it("a table replaced by a block: VALE1 does not reach the table level (reported), VAE1 does", () => {
    for (const [op, reported] of [[TLBI_VALE1, true], [TLBI_VAE1, false]] as const) {
      const r = strictRig();
      const path = r.t0.map(VA, PA1, 3, AF);
      tr(r);
      r.bus.write64(path[2]!, 0n);
      tlbi(r, op, VA, 0);
      r.mmu.dsb();
      r.bus.write64(path[2]!, block(0x4a00_0000));
      expect(r.reports.length, `op ${op}`).toBe(reported ? 1 : 0);
    }
  });

  it("a leaf with AF=0 (HA=0) is never cached, so replacing it is not a violation", () => {
    const r = strictRig();
    const path = r.t0.map(VA, PA1, 3, 0n);
    expect(tr(r)).toBe(-1);
    r.bus.write64(path[3]!, page(PA2));
    expect(r.reports).toEqual([]);
  });

  it("big-endian tables (SCTLR_EL1.EE=1) are decoded in their byte order", () => {
    const r = strictRig({ sctlr: 1n | (1n << 25n) });
    const be = (v: bigint): bigint => {
      let s = 0n;
      for (let i = 0n; i < 8n; i++) s |= ((v >> (8n * i)) & 0xffn) << (8n * (7n - i));
      return s;
    };
    const path = r.t0.map(VA, PA1, 3, AF);
    for (const a of path) if (a !== undefined) r.bus.write64(a, be(r.bus.read64(a)!));
    expect(tr(r)).toBe(PA1);
    r.bus.write64(path[3]!, be(page(PA1, 1n << 7n)));
    expect(r.reports).toEqual([]);
    r.bus.write64(path[3]!, be(page(PA2)));
    expect(r.reports).toHaveLength(1);
  });
});

describe("TLBI not followed by DSB (strict mode)", () => {
  /** A correct break-before-make up to the TLBI; the DSB is left to the test. */
  function remapped(dsb: boolean): Strict {
    const r = strictRig();
    const path = r.t0.map(VA, PA1, 3, AF);
    tr(r);
    r.bus.write64(path[3]!, 0n);
    r.mmu.dsb();
    tlbi(r, TLBI_VAE1, VA, 0);
    if (dsb) r.mmu.dsb();
    r.bus.write64(path[3]!, page(PA2));
    return r;
  }

  it("a translation of the remapped page before the DSB is reported once", () => {
    const r = remapped(false);
    expect(tr(r)).toBe(PA2);
    expect(tr(r)).toBe(PA2);
    expect(r.reports).toHaveLength(1);
    expect(r.reports[0]).toMatchObject({ kind: "tlbi-without-dsb", op: "vae1", va: VA, access: "load", entry: { pa: PA1, shift: 12 }, fresh: { outcome: "leaf", pa: PA2, shift: 12 } });
    expect(formatStrictReport(r.reports[0]!)).toContain("missing DSB after TLBI?");
  });

  it("with the DSB before the access: no report", () => {
    const r = remapped(true);
    expect(tr(r)).toBe(PA2);
    expect(r.reports).toEqual([]);
  });

  it("TLBI VMALLE1 then an access to an unchanged page before the DSB (e.g. fetching the DSB itself): no report", () => {
    const r = strictRig();
    r.t0.map(VA, PA1, 3, AF);
    const other = VA + 0x10_0000n;
    r.t0.map(other, PA2, 3, AF);
    tr(r);
    tr(r, other);
    tlbi(r, TLBI_VMALLE1);
    expect(translateVa(r.mmu, other, 0, 1)).toBe(PA2);
    expect(tr(r)).toBe(PA1);
    expect(r.reports).toEqual([]);
  });

  it("a page that became invalid and is accessed before the DSB is reported with no fresh translation", () => {
    const r = strictRig();
    const path = r.t0.map(VA, PA1, 3, AF);
    tr(r);
    r.bus.write64(path[3]!, 0n);
    tlbi(r, TLBI_VAE1, VA, 0);
    expect(tr(r)).toBe(-1);
    expect(r.reports).toMatchObject([{ kind: "tlbi-without-dsb", fresh: { outcome: "fault" } }]);
  });

  it("an ASID switch: the removed entry of another ASID is not what the access relies on", () => {
    const r = strictRig({ asid0: 1 });
    const path = r.t0.map(VA, PA1, 3, AF | NG);
    tr(r);
    r.bus.write64(path[3]!, 0n);
    tlbi(r, TLBI_ASIDE1, 0n, 1);
    r.bus.write64(path[3]!, page(PA2, NG));
    setReg(r.mmu, "ttbr0", BigInt(r.t0.root) | (2n << 48n));
    expect(tr(r)).toBe(PA2);
    expect(r.reports).toEqual([]);
  });
});

describe("stale TLB entries (strict mode): a hit compared with a fresh walk", () => {
  /** A page mapped and cached at PA1 through a strict rig. */
  function cached(opts: MmuRigOptions = {}, bits = AF): Strict & { leaf: number } {
    const r = strictRig(opts);
    const path = r.t0.map(VA, PA1, 3, bits);
    expect(tr(r)).toBe(PA1);
    return { ...r, leaf: path[3]! };
  }
  const staleOnly = (r: Strict): StrictReport[] => r.reports.filter((x) => x.kind === "stale-tlb");

  it("a descriptor changed without TLBI: the hit still uses the entry and is reported (pa), with the writer", () => {
    const r = cached();
    r.det.context = () => ({ pc: 0x4000_0200n, icount: 7 });
    r.bus.write64(r.leaf, 0n);
    r.bus.write64(r.leaf, page(PA2));
    r.det.context = () => ({ pc: 0x4000_0300n, icount: 9 });
    expect(tr(r)).toBe(PA1);
    const s = staleOnly(r);
    expect(s).toMatchObject([{ kind: "stale-tlb", changes: ["pa"], va: VA, access: "load", entry: { pa: PA1, descAddr: r.leaf, level: 3 }, fresh: { outcome: "leaf", pa: PA2 }, writer: { icount: 7 }, where: { icount: 9 } }]);
    expect(formatStrictReport(s[0]!)).toContain("missing TLBI?");
  });

  it("an invalidated descriptor without TLBI is reported (invalid); after TLBI VAE1 the walk faults", () => {
    const r = cached();
    r.bus.write64(r.leaf, 0n);
    expect(tr(r)).toBe(PA1);
    expect(staleOnly(r)).toMatchObject([{ changes: ["invalid"], fresh: { outcome: "fault", fsc: 0x07 } }]);
    tlbi(r, TLBI_VAE1, VA, 0);
    expect(tr(r)).toBe(-1);
    expect(staleOnly(r)).toHaveLength(1);
  });

  it("a permission change without TLBI (made read-only) is reported (perm)", () => {
    const r = cached();
    r.bus.write64(r.leaf, page(PA1, 1n << 7n));
    tr(r);
    expect(staleOnly(r)).toMatchObject([{ changes: ["perm"] }]);
  });

  it("clearing AF without TLBI (page aging) is not reported", () => {
    const r = cached();
    r.bus.write64(r.leaf, page(PA1) & ~AF);
    tr(r);
    expect(r.reports).toEqual([]);
  });

  it("a hardware dirty-state update is not reported; making the page writable-clean again without TLBI is", () => {
    const DBM = 1n << 51n, AP_RO = 1n << 7n;
    const r = cached({ tcr: { ha: true, hd: true } }, AF | DBM | AP_RO);
    expect(translateVa(r.mmu, VA, 2, 1)).toBe(PA1);
    expect(translateVa(r.mmu, VA, 2, 1)).toBe(PA1);
    expect(r.reports).toEqual([]);
    r.bus.write64(r.leaf, page(PA1, DBM | AP_RO));
    expect(translateVa(r.mmu, VA, 2, 1)).toBe(PA1);
    expect(staleOnly(r)).toMatchObject([{ changes: ["perm"], access: "store" }]);
  });

  it("SCTLR_EL1.WXN and MAIR_EL1 are cached with the entry: changing them without TLBI is reported", () => {
    const r = cached();
    setReg(r.mmu, "sctlr", 1n | (1n << 19n));
    translateVa(r.mmu, VA, 0, 1);
    expect(staleOnly(r)).toMatchObject([{ changes: ["perm"], access: "fetch" }]);
    const m = cached();
    setReg(m.mmu, "mair", 0xffn);
    tr(m);
    expect(staleOnly(m)).toMatchObject([{ changes: ["attr"] }]);
  });

  it("a 2 MiB block split into pages with the same PAs, without TLBI: size change", () => {
    const r = strictRig();
    const base = PA1 - (PA1 % 0x20_0000);
    const path = r.t0.map(VA, base, 2, AF);
    tr(r);
    const table = r.t0.alloc();
    for (let i = 0; i < 512; i++) r.bus.write64(table + i * 8, page(base + i * 0x1000));
    r.bus.write64(path[2]!, BigInt(table) | 3n);
    tr(r);
    expect(staleOnly(r)).toMatchObject([{ changes: ["size"] }]);
  });

  it("strict mode changes no translation result", () => {
    const plain = mmuRig();
    const strict = strictRig();
    for (const r of [plain, strict]) {
      const path = r.t0.map(VA, PA1, 3, AF);
      tr(r);
      r.bus.write64(path[3]!, page(PA2));
    }
    for (const access of [0, 1, 2] as const) {
      expect(translateVa(strict.mmu, VA, access, 1)).toBe(translateVa(plain.mmu, VA, access, 1));
    }
    expect(strict.tlbs.stats()).toEqual(plain.tlbs.stats());
  });
});
