/**
 * TLB tagging (ASID / global) and the exact scope of each EL1 TLBI operation on the AArch64 MMU.
 * Each test fills entries, then changes the tables in memory so that a surviving entry (old PA) and
 * a fresh walk (new PA) are told apart, then issues the TLBI.
 * @spec ARM-ARM D8.16 "Translation Lookaside Buffers", D8.17 "TLB maintenance instructions" (TLBI
 * VMALLE1, VAE1, VALE1, VAAE1, VAALE1, ASIDE1 and their IS forms); ARCH-SPEC §3.8
 */
import { describe, expect, it } from "vitest";
import {
  type Access, LOAD, TLBI_ASIDE1, TLBI_ASIDE1IS, TLBI_VAAE1, TLBI_VAAE1IS, TLBI_VAALE1, TLBI_VAALE1IS, TLBI_VAE1, TLBI_VAE1IS,
  TLBI_VALE1, TLBI_VALE1IS, TLBI_VMALLE1, TLBI_VMALLE1IS,
} from "../emulator/arch/arm64/mmu.js";
import { type MmuRig, mmuRig, setReg, tlbiOperand, translateVa } from "../emulator/arch/arm64/mmu-tables.js";

const AF = 1n << 10n, NG = 1n << 11n;
const PA_OLD = 0x4800_0000, PA_NEW = 0x4900_0000;
/** Three pages in different TLB sets, so capacity never evicts one of them. */
const X = 0x0000_0000_1000_1000n, Y = 0x0000_0000_2000_2000n, G = 0x0000_0000_3000_3000n;
const KVA = -0x2000_0000n;

const tr = (rig: MmuRig, va: bigint, el = 1, access: Access = LOAD): number => translateVa(rig.mmu, va, access, el);
const useAsid = (rig: MmuRig, asid: number): void => setReg(rig.mmu, "ttbr0", BigInt(rig.t0.root) | (BigInt(asid) << 48n));
function tlbi(rig: MmuRig, op: number, va = 0n, asid = 0): void {
  const { lo, hi } = tlbiOperand(va, asid);
  rig.mmu.tlbi(op, lo, hi);
}

/**
 * X and Y non-global, G global; entries filled under ASIDs 1 and 2; then every leaf is moved to
 * PA_NEW in memory. Returns the rig and the remapper.
 */
function filled(): MmuRig {
  const r = mmuRig();
  const leaves = [r.t0.map(X, PA_OLD, 3, AF | NG), r.t0.map(Y, PA_OLD, 3, AF | NG), r.t0.map(G, PA_OLD, 3, AF)].map((p) => p[3]!);
  for (const asid of [1, 2]) {
    useAsid(r, asid);
    for (const va of [X, Y, G]) expect(tr(r, va)).toBe(PA_OLD);
  }
  for (const a of leaves) r.bus.write64(a, (r.bus.read64(a)! & ~0xffff_ffff_f000n) | BigInt(PA_NEW));
  return r;
}

/** Which of (ASID, VA) still translate through the old entry ("old") or walk afresh ("new"). */
function survey(r: MmuRig): Record<string, "old" | "new"> {
  const out: Record<string, "old" | "new"> = {};
  for (const asid of [1, 2]) {
    useAsid(r, asid);
    for (const [name, va] of [["X", X], ["Y", Y], ["G", G]] as const) {
      const pa = tr(r, va);
      out[`${asid}${name}`] = pa === PA_OLD ? "old" : pa === PA_NEW ? "new" : (`bad ${pa}` as "old");
    }
  }
  return out;
}

const ALL_OLD = { "1X": "old", "1Y": "old", "1G": "old", "2X": "old", "2Y": "old", "2G": "old" } as const;

describe("TLB entries are tagged by ASID (nG=1) or global (nG=0)", () => {
  it("without a TLBI the old entries are used for every ASID that filled them (a sticky TLB)", () => {
    expect(survey(filled())).toEqual(ALL_OLD);
  });

  it("an nG entry of ASID 1 does not serve ASID 3; a global entry serves every ASID", () => {
    const r = filled();
    useAsid(r, 3);
    expect(tr(r, X)).toBe(PA_NEW);
    expect(tr(r, G)).toBe(PA_OLD);
  });

  it("TCR_EL1.A1=1 takes the ASID from TTBR1_EL1, for walks through either TTBR", () => {
    const r = mmuRig({ tcr: { a1: true }, asid0: 7, asid1: 9 });
    expect(r.mmu.asid).toBe(9);
    r.t0.map(X, PA_OLD, 3, AF | NG);
    r.t1.map(KVA, PA_OLD, 3, AF | NG);
    tr(r, X);
    tr(r, KVA);
    expect(r.tlbs.dtlb.entries().map((e) => e.asid)).toEqual([9, 9]);
  });

  it("TCR_EL1.AS=0: only ASID[7:0] tags entries and TLBI operands; AS=1: all 16 bits", () => {
    const r = mmuRig({ asid0: 0x101 });
    r.t0.map(X, PA_OLD, 3, AF | NG);
    tr(r, X);
    expect(r.tlbs.dtlb.entries()[0]!.asid).toBe(0x01);
    useAsid(r, 0x201);
    expect(tr(r, X)).toBe(PA_OLD);
    expect(r.tlbs.walk.walks).toBe(1);
    tlbi(r, TLBI_ASIDE1, 0n, 0x301);
    tr(r, X);
    expect(r.tlbs.walk.walks).toBe(2);

    const r16 = mmuRig({ tcr: { as: true }, asid0: 0x101 });
    r16.t0.map(X, PA_OLD, 3, AF | NG);
    tr(r16, X);
    useAsid(r16, 0x001);
    tr(r16, X);
    expect(r16.tlbs.walk.walks).toBe(2);
    expect(r16.tlbs.dtlb.entries().map((e) => e.asid).sort()).toEqual([0x001, 0x101]);
  });
});

describe("each TLBI removes exactly its scope (IS forms act the same on a single PE)", () => {
  const CASES: readonly [string, number, bigint, number, Record<string, "old" | "new">][] = [
    ["VMALLE1: everything", TLBI_VMALLE1, 0n, 0, { "1X": "new", "1Y": "new", "1G": "new", "2X": "new", "2Y": "new", "2G": "new" }],
    ["VAE1 X, ASID 1: that VA in that ASID", TLBI_VAE1, X, 1, { ...ALL_OLD, "1X": "new" }],
    ["VAE1 G, ASID 1: a global entry for the VA goes whatever the ASID", TLBI_VAE1, G, 1, { ...ALL_OLD, "1G": "new", "2G": "new" }],
    ["VALE1 X, ASID 2: last level of that VA in that ASID", TLBI_VALE1, X, 2, { ...ALL_OLD, "2X": "new" }],
    ["VAAE1 X: that VA in every ASID", TLBI_VAAE1, X, 1, { ...ALL_OLD, "1X": "new", "2X": "new" }],
    ["VAALE1 Y: last level of that VA in every ASID", TLBI_VAALE1, Y, 2, { ...ALL_OLD, "1Y": "new", "2Y": "new" }],
    ["ASIDE1 1: the non-global entries of ASID 1, globals spared", TLBI_ASIDE1, 0n, 1, { ...ALL_OLD, "1X": "new", "1Y": "new" }],
  ];
  const IS: Record<number, number> = {
    [TLBI_VMALLE1]: TLBI_VMALLE1IS, [TLBI_VAE1]: TLBI_VAE1IS, [TLBI_VALE1]: TLBI_VALE1IS, [TLBI_VAAE1]: TLBI_VAAE1IS,
    [TLBI_VAALE1]: TLBI_VAALE1IS, [TLBI_ASIDE1]: TLBI_ASIDE1IS,
  };
  for (const [name, op, va, asid, want] of CASES) {
    for (const is of [false, true]) {
      it(`${is ? name.replace(/^(\w+)/, "$1IS") : name}`, () => {
        const r = filled();
        tlbi(r, is ? IS[op]! : op, va, asid);
        expect(survey(r)).toEqual(want);
      });
    }
  }

  it("the IS op numbers are distinct from the local ones", () => {
    const all = [TLBI_VMALLE1, TLBI_VAE1, TLBI_VALE1, TLBI_VAAE1, TLBI_VAALE1, TLBI_ASIDE1, ...Object.values(IS)];
    expect(new Set(all).size).toBe(12);
  });

  it("a TLBI by VA reaches a block entry through any VA inside the block", () => {
    const r = mmuRig();
    const B = 0x0000_0000_1000_0000n;
    const path = r.t0.map(B, PA_OLD, 2, AF);
    expect(tr(r, B + 0x1234n)).toBe(PA_OLD + 0x1234);
    r.bus.write64(path[2]!, BigInt(PA_NEW) | 1n | AF);
    tlbi(r, TLBI_VAAE1, B + 0x1f_f000n);
    expect(tr(r, B + 0x1234n)).toBe(PA_NEW + 0x1234);
  });

  it("a TLBI by VA takes VA[55:12] from Xt[43:0]: TTBR1 addresses are reached", () => {
    const r = mmuRig();
    const path = r.t1.map(KVA, PA_OLD, 3, AF);
    expect(tr(r, KVA)).toBe(PA_OLD);
    r.bus.write64(path[3]!, BigInt(PA_NEW) | 3n | AF);
    tlbi(r, TLBI_VAAE1, KVA + 0x1000n);
    expect(tr(r, KVA)).toBe(PA_OLD);
    tlbi(r, TLBI_VAAE1, KVA);
    expect(tr(r, KVA)).toBe(PA_NEW);
  });

  it("fetch entries (the instruction TLB) are invalidated too", () => {
    const r = mmuRig();
    const path = r.t0.map(X, PA_OLD, 3, AF);
    expect(translateVa(r.mmu, X, 0, 1)).toBe(PA_OLD);
    r.bus.write64(path[3]!, BigInt(PA_NEW) | 3n | AF);
    tlbi(r, TLBI_VAE1, X, 0);
    expect(translateVa(r.mmu, X, 0, 1)).toBe(PA_NEW);
  });

  it("an unknown op number is a host error (RangeError), not a guest fault", () => {
    expect(() => mmuRig().mmu.tlbi(99, 0, 0)).toThrow(RangeError);
  });
});
