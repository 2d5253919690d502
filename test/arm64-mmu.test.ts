/**
 * Table-driven tests of the AArch64 stage-1 walker (emulator/arch/arm64/mmu.ts) on a real bus: each
 * test writes its own translation tables into RAM and calls Arm64Mmu.translate.
 * @spec ARM-ARM D8 (VMSAv8-64), pseudocode AArch64.S1Translate / S1Walk / S1DirectBasePermissions;
 * digested in ARCH-SPEC §3.1-3.6
 */
import { describe, expect, it } from "vitest";
import { FSC } from "../emulator/arch/arm64/descriptors.js";
import type { Granule } from "../emulator/arch/arm64/granules.js";
import { type Access, arm64PageShifts, FETCH, type FillEvent, LOAD, STORE } from "../emulator/arch/arm64/mmu.js";
import {
  encodeTcr, granuleNamed, type MmuReg, type MmuRig, mmuRig, RIG_TCR, setReg as setRigReg, TG0_ENCODING, TG1_ENCODING, translateVa,
} from "../emulator/arch/arm64/mmu-tables.js";

/** A hole in the physical map (below RAM). */
const HOLE = 0x1000_0000;
const DATA = 0x8_1234_5000;

// Descriptor bits. @spec ARCH-SPEC §3.3 tables
const AP_EL0 = 1n << 6n, AF = 1n << 10n, NG = 1n << 11n;
const PXN = 1n << 53n, UXN = 1n << 54n;
/** AP[2:1] values in descriptor position. */
const AP = (ap: number): bigint => BigInt(ap) << 6n;
const ACCESSES: readonly Access[] = [FETCH, LOAD, STORE];
const ACCESS_NAME = ["fetch", "load", "store"];
const SCTLR_M = 1n, SCTLR_EE = 1n << 25n;

type Env = MmuRig;
const DEFAULT_TCR = RIG_TCR;
const setup = mmuRig;
const setReg = (env: Env, reg: MmuReg, v: bigint): void => setRigReg(env.mmu, reg, v);
const tr = (env: Env, va: bigint, access: Access, el: number): number => translateVa(env.mmu, va, access, el);

/** Expects a fault with status `fsc`. */
function expectFault(env: Env, va: bigint, access: Access, el: number, fsc: number, label = ""): void {
  expect(tr(env, va, access, el), label).toBe(-1);
  expect(env.mmu.fsc, label).toBe(fsc);
}

/** The PA a leaf with output `pa` of size 2^shift gives for `va`: the OA's low bits are RES0. */
const pageOf = (pa: number, shift: number, va: bigint): number =>
  pa - (pa % 2 ** shift) + Number(BigInt.asUintN(64, va) % (1n << BigInt(shift)));

/** A user VA in the TTBR0 range and a kernel VA in the TTBR1 range. */
const UVA = 0x0000_1234_5678_9000n;
const KVA = -0x0000_5678_9abc_d000n; // 0xffffa98765433000

describe("TCR_EL1 granule encodings (ARCH-SPEC §3.1)", () => {
  it("TG0 is 00=4K 01=64K 10=16K and TG1 is 01=16K 10=4K 11=64K", () => {
    expect(TG0_ENCODING).toEqual({ "4K": 0, "64K": 1, "16K": 2 });
    expect(TG1_ENCODING).toEqual({ "16K": 1, "4K": 2, "64K": 3 });
  });

  it("the same raw value 0b01 means 64K in TG0 and 16K in TG1", () => {
    const env = setup({ tcr: { tg0: "64K", tg1: "16K" } });
    env.t0.map(UVA, DATA, 3, AF);
    env.t1.map(KVA, DATA, 3, AF);
    const tcr = env.mmu.tcr;
    expect(Number((tcr >> 14n) & 3n)).toBe(1);
    expect(Number((tcr >> 30n) & 3n)).toBe(1);
    expect(tr(env, UVA + 0xabcn, LOAD, 1)).toBe(pageOf(DATA, 16, UVA + 0xabcn));
    expect(tr(env, KVA + 0xabcn, LOAD, 1)).toBe(pageOf(DATA, 14, KVA + 0xabcn));
    expect(env.tlbs.dtlb.entries().map((e) => e.shift).sort()).toEqual([14, 16]);
  });
});

/** Walk geometries: granule, TxSZ, the start level it implies, the leaf levels the granule allows. */
const GEOMETRIES: readonly { g: Granule["name"]; tsz: number; start: number; leaves: number[] }[] = [
  { g: "4K", tsz: 16, start: 0, leaves: [1, 2, 3] },
  { g: "4K", tsz: 25, start: 1, leaves: [1, 2, 3] },
  { g: "4K", tsz: 34, start: 2, leaves: [2, 3] },
  { g: "4K", tsz: 39, start: 2, leaves: [2, 3] },
  { g: "16K", tsz: 16, start: 0, leaves: [2, 3] },
  { g: "16K", tsz: 17, start: 1, leaves: [2, 3] },
  { g: "16K", tsz: 28, start: 2, leaves: [2, 3] },
  { g: "16K", tsz: 39, start: 3, leaves: [3] },
  { g: "64K", tsz: 16, start: 1, leaves: [2, 3] },
  { g: "64K", tsz: 22, start: 2, leaves: [2, 3] },
  { g: "64K", tsz: 39, start: 3, leaves: [3] },
];

describe("the walk: start level from TxSZ and the granule, pages and blocks (ARCH-SPEC §3.2-3.4)", () => {
  for (const { g, tsz, start, leaves } of GEOMETRIES) {
    for (const range of [0, 1]) {
      for (const level of leaves) {
        const shift = granuleNamed(g).levelShift[level]!;
        it(`${g} granule, T${range}SZ=${tsz} (start level ${start}): a ${level === 3 ? "page" : "block"} at level ${level} maps 2^${shift} bytes through TTBR${range}`, () => {
          const env = setup({ tcr: range === 0 ? { tg0: g, t0sz: tsz } : { tg1: g, t1sz: tsz } });
          const t = range === 0 ? env.t0 : env.t1;
          expect(t.start).toBe(start);
          const inputMask = (1n << BigInt(64 - tsz)) - 1n;
          const low = 0x0000_7654_3210_fed8n & inputMask;
          const va = range === 0 ? low : BigInt.asIntN(64, ~inputMask | low);
          const path = t.map(va, DATA, level, AF);
          expect(path.filter((a) => a !== undefined).length).toBe(level - start + 1);
          expect(tr(env, va, LOAD, 1)).toBe(pageOf(DATA, shift, va));
          const walks = env.tlbs.walk.walks;
          expect(tr(env, va, STORE, 1)).toBe(pageOf(DATA, shift, va));
          expect(env.tlbs.walk.walks).toBe(walks);
          expect(env.tlbs.dtlb.entries()[0]!.shift).toBe(shift);
          expect(env.tlbs.walk.walkRefs).toBe(level - start + 1);
        });
      }
    }
  }

  it("every page and block size of every granule is a TLB page size", () => {
    const sizes = new Set<number>();
    for (const g of ["4K", "16K", "64K"] as const) for (const l of [1, 2, 3]) sizes.add(granuleNamed(g).levelShift[l]!);
    for (const s of [12, 14, 16, 21, 25, 29, 30]) expect(arm64PageShifts).toContain(s);
    expect([...arm64PageShifts]).toEqual([...arm64PageShifts].sort((a, b) => a - b));
    for (const s of arm64PageShifts) expect(sizes.has(s)).toBe(true);
  });

  it("the fill trace reports the leaf, its size and every descriptor read", () => {
    const env = setup();
    const fills: FillEvent[] = [];
    env.mmu.onFill = (e) => fills.push(e);
    const path = env.t0.map(UVA, DATA, 2, AF | NG);
    tr(env, UVA, LOAD, 1);
    expect(fills).toHaveLength(1);
    const f = fills[0]!;
    expect(f).toMatchObject({ va: UVA, level: 2, pageShift: 21, pa: DATA - (DATA % 2 ** 21), global: false, asid: 0 });
    expect(f.steps.map((s) => s.descAddr)).toEqual([path[0], path[1], path[2]]);
  });

  it("SCTLR_EL1.EE=1: descriptors are read and updated big-endian", () => {
    const env = setup({ sctlr: SCTLR_M | SCTLR_EE, tcr: { ha: true } });
    const path = env.t0.map(UVA, DATA, 3, 0n);
    for (const a of path) {
      if (a === undefined) continue;
      const v = env.bus.read64(a)!;
      let s = 0n;
      for (let i = 0n; i < 8n; i++) s |= ((v >> (8n * i)) & 0xffn) << (8n * (7n - i));
      env.bus.write64(a, s);
    }
    expect(tr(env, UVA, LOAD, 1)).toBe(pageOf(DATA, 12, UVA));
    // AF (descriptor bit 10) was set in the big-endian image: byte 6 of the 8, bit 2.
    expect(env.bus.read64(path[3]!)! & (0x04n << 48n)).not.toBe(0n);
  });
});

describe("VA range selection, TBI, TxSZ bounds, EPD: Translation fault level 0 (ARCH-SPEC §3.2)", () => {
  it("bits above T0SZ not all equal to VA[55] -> Translation fault level 0", () => {
    const env = setup({ tcr: { t0sz: 25 } });
    env.t0.map(0x40_0000_0000n - 0x1000n, DATA, 3, AF);
    expect(tr(env, 0x40_0000_0000n - 0x1000n, LOAD, 1)).not.toBe(-1);
    expectFault(env, 0x80_0000_0000n, LOAD, 0, FSC.TRANSLATION);
    expectFault(env, 0x0080_0000_0000_0000n, FETCH, 1, FSC.TRANSLATION, "bit 55 set: TTBR1 range, bits 54:39 zero");
  });

  it("TBI0=1 ignores VA[63:56] for data and fetches; TBI0=0 faults a tagged address", () => {
    const tagged = UVA | (0x5an << 56n);
    const on = setup({ tcr: { tbi0: true } });
    on.t0.map(UVA, DATA, 3, AF);
    for (const a of ACCESSES) expect(tr(on, tagged, a, 1)).toBe(pageOf(DATA, 12, UVA));
    const off = setup({ tcr: { tbi0: false } });
    off.t0.map(UVA, DATA, 3, AF);
    expectFault(off, tagged, LOAD, 1, FSC.TRANSLATION);
  });

  it("TBI1=1: a TTBR1 address with any top byte and VA[55]=1 translates", () => {
    const env = setup({ tcr: { tbi1: true } });
    env.t1.map(KVA, DATA, 3, AF);
    const retagged = BigInt.asIntN(64, (BigInt.asUintN(64, KVA) & ((1n << 56n) - 1n)) | (0x12n << 56n));
    expect(tr(env, retagged, LOAD, 1)).toBe(pageOf(DATA, 12, KVA));
  });

  for (const tsz of [15, 40, 63]) {
    it(`T0SZ=${tsz} is outside 16..39 -> Translation fault level 0 (QEMU's choice of the IMPLEMENTATION DEFINED behaviours)`, () => {
      const env = setup({ tcr: { t0sz: tsz } });
      expectFault(env, 0x1000n, LOAD, 1, FSC.TRANSLATION);
    });
  }

  it("EPD0=1 / EPD1=1: a TLB miss is a Translation fault level 0, but cached entries still hit", () => {
    for (const range of [0, 1]) {
      const env = setup();
      const va = range === 0 ? UVA : KVA;
      (range === 0 ? env.t0 : env.t1).map(va, DATA, 3, AF);
      const other = va + 0x10_0000n;
      (range === 0 ? env.t0 : env.t1).map(other, DATA, 3, AF);
      expect(tr(env, va, LOAD, 1)).not.toBe(-1);
      setReg(env, "tcr", encodeTcr({ ...DEFAULT_TCR, epd0: range === 0, epd1: range === 1 }));
      expect(tr(env, va, LOAD, 1)).toBe(pageOf(DATA, 12, va));
      expectFault(env, other, LOAD, 1, FSC.TRANSLATION, `range ${range}`);
    }
  });
});

describe("Translation faults at the level of the invalid descriptor (DFSC 0b0001LL)", () => {
  for (let level = 0; level <= 3; level++) {
    for (const access of ACCESSES) {
      it(`4K, 48-bit: descriptor[0]=0 at level ${level} -> ${ACCESS_NAME[access]} Translation fault level ${level} (0x${(4 + level).toString(16).padStart(2, "0")})`, () => {
        const env = setup();
        const path = env.t0.map(UVA, DATA, 3, AF);
        env.bus.write64(path[level]!, env.bus.read64(path[level]!)! & ~1n);
        expectFault(env, UVA, access, 0, FSC.TRANSLATION + level);
        expect(env.tlbs.dtlb.entries().length + env.tlbs.itlb.entries().length).toBe(0);
      });
    }
  }

  const BAD_BLOCKS: readonly [Granule["name"], number][] = [["4K", 0], ["16K", 0], ["16K", 1], ["64K", 1], ["4K", 3], ["16K", 3], ["64K", 3]];
  for (const [g, level] of BAD_BLOCKS) {
    it(`${g}: bits[1:0]=01 at level ${level} is ${level === 3 ? "reserved" : "a block the granule does not allow"} -> Translation fault level ${level}`, () => {
      const env = setup({ tcr: { tg0: g } });
      const path = env.t0.map(UVA, DATA, 3, AF);
      env.bus.write64(path[level]!, (env.bus.read64(path[level]!)! & ~3n) | 1n);
      expectFault(env, UVA, LOAD, 1, FSC.TRANSLATION + level);
    });
  }
});

describe("Address size faults: output addresses beyond IPS (DFSC 0b0000LL)", () => {
  it("TTBR0 base beyond the 32-bit IPS -> Address size fault level 0", () => {
    const env = setup({ tcr: { ips: 0 } });
    setReg(env, "ttbr0", 0x1_0000_0000n);
    expectFault(env, UVA, LOAD, 1, FSC.ADDRESS_SIZE);
  });

  for (let level = 0; level <= 2; level++) {
    it(`a table descriptor at level ${level} pointing beyond IPS -> Address size fault level ${level}`, () => {
      const env = setup({ tcr: { ips: 0 } });
      const path = env.t0.map(UVA, DATA & 0xffff_ffff, 3, AF);
      env.bus.write64(path[level]!, env.bus.read64(path[level]!)! | (1n << 40n));
      expectFault(env, UVA, LOAD, 1, FSC.ADDRESS_SIZE + level);
    });
  }

  for (const level of [1, 2, 3]) {
    it(`a leaf at level ${level} with OA beyond IPS -> Address size fault level ${level}; within IPS it translates`, () => {
      const env = setup({ tcr: { ips: 2 } }); // 40 bits
      env.t0.map(UVA, 0x100_0000_0000, level, AF);
      expectFault(env, UVA, LOAD, 1, FSC.ADDRESS_SIZE + level);
      env.t0.map(UVA + (1n << 30n), 0xff_c000_0000, level, AF);
      expect(tr(env, UVA + (1n << 30n), LOAD, 1)).not.toBe(-1);
    });
  }

  it("IPS larger than the implemented PA size acts as the PA size (48 bits)", () => {
    const env = setup({ tcr: { ips: 6 } });
    env.t0.map(UVA, 0xffff_ffff_f000, 3, AF);
    expect(tr(env, UVA, LOAD, 1)).toBe(0xffff_ffff_f000);
  });
});

describe("MMU off (SCTLR_EL1.M=0): flat, Address size fault level 0 beyond the PA size", () => {
  it("VA = PA below 2^48; data is Device-nGnRnE, fetches Normal", () => {
    const env = setup({ sctlr: 0n });
    expect(tr(env, 0x4000_1234n, STORE, 1)).toBe(0x4000_1234);
    expect(env.mmu.attr).toBe(0x00);
    expect(env.mmu.writable).toBe(true);
    expect(tr(env, 0xffff_ffff_fff0n, FETCH, 1)).toBe(0xffff_ffff_fff0);
    expect(env.mmu.attr & 0xf0).not.toBe(0);
  });

  it("a VA bit at or above 48 set -> Address size fault level 0; TBI ignores only the top byte", () => {
    const env = setup({ sctlr: 0n, tcr: { tbi0: true } });
    expectFault(env, 1n << 48n, LOAD, 1, FSC.ADDRESS_SIZE);
    expectFault(env, 1n << 55n, FETCH, 1, FSC.ADDRESS_SIZE);
    expect(tr(env, (0xabn << 56n) | 0x4000_0000n, LOAD, 1)).toBe(0x4000_0000);
    const noTbi = setup({ sctlr: 0n });
    expectFault(noTbi, (0xabn << 56n) | 0x4000_0000n, LOAD, 1, FSC.ADDRESS_SIZE);
  });
});

describe("Synchronous External abort on a translation table walk (DFSC 0b0101LL)", () => {
  it("the start-level table in a bus hole -> external abort level 0", () => {
    const env = setup();
    setReg(env, "ttbr0", BigInt(HOLE));
    expectFault(env, UVA, LOAD, 1, FSC.EXTERNAL_WALK);
  });

  for (const level of [1, 2, 3]) {
    it(`a level-${level} table in a bus hole -> external abort level ${level}`, () => {
      const env = setup();
      const path = env.t0.map(UVA, DATA, 3, AF);
      env.bus.write64(path[level - 1]!, BigInt(HOLE) | 3n);
      expectFault(env, UVA, STORE, 0, FSC.EXTERNAL_WALK + level);
    });
  }

  it("64K granule, T0SZ=39: a hole at the start level 3 -> external abort level 3", () => {
    const env = setup({ tcr: { tg0: "64K", t0sz: 39 } });
    setReg(env, "ttbr0", BigInt(HOLE));
    expectFault(env, 0x10000n, LOAD, 1, FSC.EXTERNAL_WALK + 3);
  });
});

describe("MAIR_EL1 and AttrIndx", () => {
  for (let idx = 0; idx < 8; idx++) {
    it(`AttrIndx=${idx} selects MAIR_EL1.Attr${idx}`, () => {
      const env = setup({ mair: 0x0c08_0400_bb44_ff00n + 0x11n });
      env.t0.map(UVA, DATA, 3, AF | (BigInt(idx) << 2n));
      expect(tr(env, UVA, LOAD, 1)).not.toBe(-1);
      expect(env.mmu.attr).toBe(Number(((0x0c08_0400_bb44_ff00n + 0x11n) >> BigInt(8 * idx)) & 0xffn));
    });
  }
});

describe("ARCH-SPEC §5 worked vectors: the DFSC/IFSC part of ESR_EL1", () => {
  it("EL0 read, level-3 descriptor invalid -> 0x07", () => {
    const env = setup();
    const path = env.t0.map(UVA, DATA, 3, AF | AP_EL0);
    env.bus.write64(path[3]!, 0n);
    expectFault(env, UVA, LOAD, 0, 0x07);
  });

  it("EL0 write to an AP=11 page (level 3) -> 0x0F", () => {
    const env = setup();
    env.t0.map(UVA, DATA, 3, AF | AP(3));
    expectFault(env, UVA, STORE, 0, 0x0f);
  });

  it("EL0 fetch from a UXN=1 page (level 3) -> 0x0F", () => {
    const env = setup();
    env.t0.map(UVA, DATA, 3, AF | AP(3) | UXN);
    expectFault(env, UVA, FETCH, 0, 0x0f);
  });

  it("EL1 fetch, Translation fault at level 2 -> 0x06", () => {
    const env = setup();
    const path = env.t1.map(KVA, DATA, 3, AF);
    env.bus.write64(path[2]!, 0n);
    expectFault(env, KVA, FETCH, 1, 0x06);
  });

  it("EL1 read, AF=0 at level 3, TCR_EL1.HA=0 -> 0x0B", () => {
    const env = setup();
    env.t1.map(KVA, DATA, 3, 0n);
    expectFault(env, KVA, LOAD, 1, 0x0b);
  });

  it("EL1 data access to an AP[1]=1 page with PSTATE.PAN=1 -> 0x0F (read and write)", () => {
    const env = setup();
    env.t0.map(UVA, DATA, 3, AF | AP_EL0 | PXN);
    env.mmu.pan = true;
    expectFault(env, UVA, LOAD, 1, 0x0f);
    expectFault(env, UVA, STORE, 1, 0x0f);
  });

  it("EL0 access to a VA whose bits above T0SZ are not all equal -> 0x04", () => {
    const env = setup({ tcr: { t0sz: 25 } });
    expectFault(env, 0x0000_8000_0000_0000n, LOAD, 0, 0x04);
  });
});
