/**
 * Stage-1 permissions, the access flag and hardware dirty state of the AArch64 MMU, table-driven
 * against reference predicates written from the ARM ARM tables (not from the implementation).
 * @spec ARM-ARM D8.4 "Memory access control" (AP[2:1], UXN/PXN, WXN, PAN, hierarchical APTable,
 * UXNTable, PXNTable); D8.5 "Hardware updates" (AF, DBM); pseudocode AArch64.S1DirectBasePermissions,
 * AArch64.S1ApplyOutputPerms, AArch64.S1Walk; ARCH-SPEC §3.5-3.6
 */
import { describe, expect, it } from "vitest";
import { FSC } from "../emulator/arch/arm64/descriptors.js";
import { type Access, FETCH, LOAD, STORE } from "../emulator/arch/arm64/mmu.js";
import { type MmuRig, mmuRig, type MmuRigOptions, translateVa } from "../emulator/arch/arm64/mmu-tables.js";

const AP_RO = 1n << 7n, AF = 1n << 10n;
const DBM = 1n << 51n, PXN = 1n << 53n, UXN = 1n << 54n;
const PXN_TABLE = 1n << 59n, UXN_TABLE = 1n << 60n, AP_TABLE1 = 1n << 62n;
const SCTLR_M = 1n, SCTLR_WXN = 1n << 19n;
/** AP[2:1] as a 2-bit number, in descriptor position (bits 7:6). */
const apBits = (ap: number): bigint => BigInt(ap) << 6n;
const AP_NAME = ["00 (EL1 RW)", "01 (EL1+EL0 RW)", "10 (EL1 RO)", "11 (EL1+EL0 RO)"];
const ACCESSES: readonly Access[] = [FETCH, LOAD, STORE];
const ACCESS_NAME = ["fetch", "load", "store"];
const VA = 0x0000_0040_1234_5000n;
const PA = 0x4800_0000;

const tr = (rig: MmuRig, va: bigint, access: Access, el: number): number => translateVa(rig.mmu, va, access, el);
const leafOf = (rig: MmuRig, path: number[]): bigint => rig.bus.read64(path[3]!)!;

/**
 * The reference predicate, from the ARM ARM tables "Data access permissions" and "Execute-never
 * controls" for the EL1&0 regime (ARCH-SPEC §3.5): may `el` perform `access` on a leaf whose
 * effective AP[2:1] is `ap`, with UXN/PXN, SCTLR_EL1.WXN and PSTATE.PAN?
 */
function allowed(ap: number, uxn: boolean, pxn: boolean, wxn: boolean, pan: boolean, el: number, access: Access): boolean {
  const el1Write = (ap & 2) === 0;
  const el0Read = (ap & 1) !== 0;
  const el0Write = ap === 1;
  if (access === FETCH) {
    if (el === 0) return !uxn && !(wxn && el0Write);
    return !pxn && !el0Write && !(wxn && el1Write); // EL0-writable implies PXN
  }
  if (el === 0) return access === LOAD ? el0Read : el0Write;
  if (pan && el0Read) return false;
  return access === LOAD || el1Write;
}

function rig(opts: MmuRigOptions = {}): MmuRig {
  return mmuRig(opts);
}

describe("AP[2:1] x UXN x PXN x WXN x PAN x EL x access (leaf at level 3)", () => {
  for (let ap = 0; ap < 4; ap++) {
    for (const uxn of [false, true]) {
      for (const pxn of [false, true]) {
        for (const wxn of [false, true]) {
          it(`AP=${AP_NAME[ap]} UXN=${+uxn} PXN=${+pxn} WXN=${+wxn}: every EL/access/PAN as the permission tables say, from a walk and from the TLB`, () => {
            for (const pan of [false, true]) {
              for (const el of [0, 1]) {
                for (const access of ACCESSES) {
                  const r = rig({ sctlr: SCTLR_M | (wxn ? SCTLR_WXN : 0n) });
                  r.t0.map(VA, PA, 3, AF | apBits(ap) | (uxn ? UXN : 0n) | (pxn ? PXN : 0n));
                  r.mmu.pan = pan;
                  const ok = allowed(ap, uxn, pxn, wxn, pan, el, access);
                  const label = `PAN=${+pan} EL${el} ${ACCESS_NAME[access]}`;
                  for (const via of ["walk", "tlb"]) {
                    expect(tr(r, VA + 0x18n, access, el), `${label} (${via})`).toBe(ok ? PA + 0x18 : -1);
                    if (!ok) expect(r.mmu.fsc, `${label} (${via})`).toBe(FSC.PERMISSION + 3);
                  }
                  expect(r.tlbs.walk.walks, `${label}: permission-faulting entries are cached`).toBe(1);
                }
              }
            }
          });
        }
      }
    }
  }

  it("execute-only EL0 pages: AP=00 or 10 with UXN=0 allow an EL0 fetch but no EL0 data access", () => {
    for (const ap of [0, 2]) {
      const r = rig();
      r.t0.map(VA, PA, 3, AF | apBits(ap) | PXN);
      expect(tr(r, VA, FETCH, 0)).toBe(PA);
      expect(tr(r, VA, LOAD, 0)).toBe(-1);
      expect(r.mmu.fsc).toBe(FSC.PERMISSION + 3);
    }
  });

  it("PSTATE.PAN applies at access time to cached entries; LDTR/STTR (el 0) and fetches ignore it", () => {
    const r = rig();
    r.t0.map(VA, PA, 3, AF | apBits(1) | UXN);
    expect(tr(r, VA, STORE, 1)).toBe(PA);
    r.mmu.pan = true;
    expect(tr(r, VA, STORE, 1)).toBe(-1);
    expect(r.mmu.fsc).toBe(FSC.PERMISSION + 3);
    expect(tr(r, VA, LOAD, 1)).toBe(-1);
    expect(tr(r, VA, STORE, 0)).toBe(PA);
    r.mmu.pan = false;
    expect(tr(r, VA, LOAD, 1)).toBe(PA);
    expect(r.tlbs.walk.walks).toBe(1);
  });

  it("the permission-fault level is the leaf's level, for blocks too", () => {
    for (const level of [1, 2, 3]) {
      const r = rig();
      r.t0.map(VA, PA, level, AF | apBits(0));
      for (const via of ["walk", "tlb"]) {
        expect(tr(r, VA, LOAD, 0), via).toBe(-1);
        expect(r.mmu.fsc, via).toBe(FSC.PERMISSION + level);
      }
    }
  });
});

describe("hierarchical attributes: APTable, UXNTable, PXNTable ORed down the walk; HPD=1 ignores them", () => {
  /** The effective AP[2:1] after APTable: APTable[0] clears AP[1], APTable[1] sets AP[2]. */
  const effectiveAp = (ap: number, apTable: number): number => (ap & ~(apTable & 1)) | (apTable & 2);
  for (let apTable = 0; apTable < 4; apTable++) {
    for (let ap = 0; ap < 4; ap++) {
      for (const hpd of [false, true]) {
        it(`APTable=${apTable.toString(2).padStart(2, "0")} above AP=${AP_NAME[ap]}, HPD0=${+hpd}`, () => {
          const eff = hpd ? ap : effectiveAp(ap, apTable);
          for (const el of [0, 1]) {
            for (const access of ACCESSES) {
              const r = rig({ tcr: { hpd0: hpd } });
              const path = r.t0.map(VA, PA, 3, AF | apBits(ap));
              // The table attribute sits at level 1 only: it still governs the level-3 leaf.
              r.bus.write64(path[1]!, r.bus.read64(path[1]!)! | (BigInt(apTable) << 61n));
              const ok = allowed(eff, false, false, false, false, el, access);
              expect(tr(r, VA, access, el), `EL${el} ${ACCESS_NAME[access]}`).toBe(ok ? PA : -1);
            }
          }
        });
      }
    }
  }

  for (const [name, bit, el] of [["UXNTable", UXN_TABLE, 0], ["PXNTable", PXN_TABLE, 1]] as const) {
    for (const level of [0, 1, 2]) {
      it(`${name} in the level-${level} table descriptor makes the page non-executable at EL${el} (not with HPD0=1)`, () => {
        for (const hpd of [false, true]) {
          const r = rig({ tcr: { hpd0: hpd } });
          const path = r.t0.map(VA, PA, 3, AF | apBits(el === 0 ? 3 : 2));
          r.bus.write64(path[level]!, r.bus.read64(path[level]!)! | bit);
          expect(tr(r, VA, FETCH, el), `HPD0=${+hpd}`).toBe(hpd ? PA : -1);
          if (!hpd) expect(r.mmu.fsc).toBe(FSC.PERMISSION + 3);
          expect(tr(r, VA, LOAD, el)).toBe(PA);
        }
      });
    }
  }

  it("table attributes of TTBR1 tables follow HPD1, not HPD0", () => {
    const KVA = -0x1000_0000n;
    const r = rig({ tcr: { hpd0: true } });
    r.t1.map(KVA, PA, 3, AF, AP_TABLE1);
    expect(tr(r, KVA, STORE, 1)).toBe(-1);
    const r2 = rig({ tcr: { hpd1: true } });
    r2.t1.map(KVA, PA, 3, AF, AP_TABLE1);
    expect(tr(r2, KVA, STORE, 1)).toBe(PA);
  });
});

describe("the access flag (ARCH-SPEC §3.6): fault without HA, hardware update with HA", () => {
  for (const level of [1, 2, 3]) {
    it(`AF=0 at level ${level}, HA=0 -> Access flag fault level ${level}; never cached`, () => {
      const r = rig();
      const path = r.t0.map(VA, PA, level, apBits(0));
      for (const access of ACCESSES) {
        expect(tr(r, VA, access, 1)).toBe(-1);
        expect(r.mmu.fsc).toBe(FSC.ACCESS_FLAG + level);
      }
      expect(r.tlbs.dtlb.entries().length + r.tlbs.itlb.entries().length).toBe(0);
      r.bus.write64(path[level]!, r.bus.read64(path[level]!)! | AF);
      const size = 2 ** (12 + 9 * (3 - level));
      expect(tr(r, VA, LOAD, 1)).toBe(PA - (PA % size) + Number(VA % BigInt(size)));
    });
  }

  it("the Access flag fault comes before the Permission fault (HA=0)", () => {
    const r = rig();
    r.t0.map(VA, PA, 3, apBits(0) | UXN | PXN);
    expect(tr(r, VA, FETCH, 0)).toBe(-1);
    expect(r.mmu.fsc).toBe(FSC.ACCESS_FLAG + 3);
  });

  it("the Address size fault comes before the Access flag fault", () => {
    const r = rig({ tcr: { ips: 0 } });
    r.t0.map(VA, 0x1_0000_0000, 3, 0n);
    expect(tr(r, VA, LOAD, 1)).toBe(-1);
    expect(r.mmu.fsc).toBe(FSC.ADDRESS_SIZE + 3);
  });

  it("HA=1: an access sets AF in the descriptor and fills the TLB", () => {
    const r = rig({ tcr: { ha: true } });
    const path = r.t0.map(VA, PA, 3, apBits(0));
    expect(tr(r, VA, LOAD, 1)).toBe(PA);
    expect(leafOf(r, path) & AF).toBe(AF);
    expect(r.tlbs.dtlb.entries()).toHaveLength(1);
  });

  it("HA=1: a permission-faulting access leaves AF clear and fills nothing", () => {
    const r = rig({ tcr: { ha: true } });
    const path = r.t0.map(VA, PA, 3, apBits(0));
    expect(tr(r, VA, LOAD, 0)).toBe(-1);
    expect(r.mmu.fsc).toBe(FSC.PERMISSION + 3);
    expect(leafOf(r, path) & AF).toBe(0n);
    expect(r.tlbs.dtlb.entries()).toHaveLength(0);
  });
});

describe("DBM with TCR_EL1.HA and HD: AP[2] is the dirty state (ARCH-SPEC §3.6)", () => {
  it("a writable-clean page (DBM=1, AP[2]=1) reads without a change and a store clears AP[2]", () => {
    const r = rig({ tcr: { ha: true, hd: true } });
    const path = r.t0.map(VA, PA, 3, AF | DBM | apBits(2));
    expect(tr(r, VA, LOAD, 1)).toBe(PA);
    expect(r.mmu.writable).toBe(false);
    expect(leafOf(r, path) & AP_RO).toBe(AP_RO);
    const walks = r.tlbs.walk.walks;
    expect(tr(r, VA, STORE, 1)).toBe(PA);
    expect(r.tlbs.walk.walks, "a store never uses a writable-clean TLB entry").toBe(walks + 1);
    expect(leafOf(r, path) & AP_RO).toBe(0n);
    expect(r.mmu.writable).toBe(true);
    expect(tr(r, VA, STORE, 1)).toBe(PA);
    expect(r.tlbs.walk.walks).toBe(walks + 1);
  });

  it("EL0 store to a user writable-clean page (AP=11, DBM=1) makes it AP=01", () => {
    const r = rig({ tcr: { ha: true, hd: true } });
    const path = r.t0.map(VA, PA, 3, AF | DBM | apBits(3) | UXN);
    expect(tr(r, VA, STORE, 0)).toBe(PA);
    expect((leafOf(r, path) >> 6n) & 3n).toBe(1n);
  });

  it("HA and HD set AF and clear AP[2] in one update", () => {
    const r = rig({ tcr: { ha: true, hd: true } });
    const path = r.t0.map(VA, PA, 3, DBM | apBits(2));
    expect(tr(r, VA, STORE, 1)).toBe(PA);
    expect(leafOf(r, path) & (AF | AP_RO)).toBe(AF);
  });

  for (const [name, tcr] of [["HD=0", { ha: true, hd: false }], ["HA=0 (HD needs HA)", { ha: false, hd: true }]] as const) {
    it(`${name}: DBM is ignored, a store to AP[2]=1 is a Permission fault and memory is unchanged`, () => {
      const r = rig({ tcr });
      const path = r.t0.map(VA, PA, 3, AF | DBM | apBits(2));
      const before = leafOf(r, path);
      expect(tr(r, VA, STORE, 1)).toBe(-1);
      expect(r.mmu.fsc).toBe(FSC.PERMISSION + 3);
      expect(leafOf(r, path)).toBe(before);
    });
  }

  it("APTable[1]=1 above keeps a DBM page read-only: Permission fault, no update", () => {
    const r = rig({ tcr: { ha: true, hd: true } });
    const path = r.t0.map(VA, PA, 3, AF | DBM | apBits(2), AP_TABLE1);
    expect(tr(r, VA, STORE, 1)).toBe(-1);
    expect(r.mmu.fsc).toBe(FSC.PERMISSION + 3);
    expect(leafOf(r, path) & AP_RO).toBe(AP_RO);
  });

  it("a writable-clean page counts as writable for WXN and for the implicit PXN (effective AP[2]=0)", () => {
    const r = rig({ tcr: { ha: true, hd: true }, sctlr: SCTLR_M | SCTLR_WXN });
    r.t0.map(VA, PA, 3, AF | DBM | apBits(2));
    expect(tr(r, VA, FETCH, 1)).toBe(-1);
    const r2 = rig({ tcr: { ha: true, hd: true } });
    r2.t0.map(VA, PA, 3, AF | DBM | apBits(3));
    expect(tr(r2, VA, FETCH, 1)).toBe(-1);
    expect(tr(r2, VA, FETCH, 0)).toBe(PA);
  });

  it("PAN still forbids an EL1 store to a user writable-clean page, with no update", () => {
    const r = rig({ tcr: { ha: true, hd: true } });
    const path = r.t0.map(VA, PA, 3, AF | DBM | apBits(3));
    r.mmu.pan = true;
    expect(tr(r, VA, STORE, 1)).toBe(-1);
    expect(r.mmu.fsc).toBe(FSC.PERMISSION + 3);
    expect(leafOf(r, path) & AP_RO).toBe(AP_RO);
  });
});
