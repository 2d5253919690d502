/**
 * Table-driven tests of the x86_64 walker (emulator/arch/x86_64/mmu.ts) on a real bus: each test
 * builds its own IA-32e tables in RAM and calls X86Mmu.translate. The TLB rules are in
 * x86_64-mmu-tlb.test.ts.
 * @spec Intel SDM Vol. 3A §4.5-4.8, digested in ARCH-SPEC §2.2-2.7; expected error codes from ARCH-SPEC §5.
 */
import { describe, expect, it } from "vitest";
import { AC, type Access, FETCH, IMPLICIT, LOAD, STORE, USER, X86Mmu, x86PageShifts } from "../emulator/arch/x86_64/mmu.js";
import { CR0, CR4, EFER, PF, PTE, TLB_PERM } from "../emulator/arch/x86_64/paging-defs.js";
import { X86PageTableBuilder } from "../emulator/arch/x86_64/paging-builder.js";
import { Bus } from "../emulator/core/memory.js";
import { DEFAULT_TLB, TlbSet } from "../emulator/core/tlb.js";

const RAM_SIZE = 64 * 1024 * 1024;
const PT_BASE = 0x10_0000;
/** 4 KiB data frames; DATA_2M and DATA_1G are aligned frames for large pages (RAM holds the first 64 MiB only). */
const DATA = 0x80_0000;
const DATA_2M = 0x120_0000;
const VA = 0x4000_3000n;
const P = BigInt(PTE.P), RW = BigInt(PTE.RW), US = BigInt(PTE.US), A = BigInt(PTE.A), D = BigInt(PTE.D), PS = BigInt(PTE.PS);
const G = BigInt(PTE.G), PWT = BigInt(PTE.PWT), PCD = BigInt(PTE.PCD);
const XD = 1n << 63n;
const ACCESS_NAME = ["fetch", "load", "store"];

interface Env { bus: Bus; tlbs: TlbSet; mmu: X86Mmu; pt: X86PageTableBuilder }

interface Setup {
  levels?: 4 | 5;
  /** Extra CR0 bits besides PE|PG (e.g. WP). */
  cr0?: number;
  /** Extra CR4 bits besides PAE (and LA57 for 5 levels). */
  cr4?: number;
  nxe?: boolean;
  maxPhysAddr?: number;
}

/** 64 MiB of RAM at 0, tables from PT_BASE, long mode with paging on. */
function setup(s: Setup = {}): Env {
  const bus = new Bus();
  bus.addRam("ram", 0, RAM_SIZE);
  const tlbs = new TlbSet(DEFAULT_TLB, x86PageShifts);
  const levels = s.levels ?? 4;
  const mmu = new X86Mmu(bus, tlbs, { maxPhysAddr: s.maxPhysAddr, la57: levels === 5 });
  let next = PT_BASE;
  const pt = new X86PageTableBuilder(bus, () => (next += 4096) - 4096, levels);
  mmu.writeCr4(CR4.PAE | (levels === 5 ? CR4.LA57 : 0) | (s.cr4 ?? 0), 0);
  mmu.writeEfer(EFER.LME | (s.nxe ? EFER.NXE : 0), 0);
  mmu.writeCr3(pt.root, 0);
  mmu.writeCr0(CR0.PE | CR0.PG | (s.cr0 ?? 0), 0);
  return { bus, tlbs, mmu, pt };
}

const split = (va: bigint): [number, number] => {
  const v = BigInt.asUintN(64, va);
  return [Number(v & 0xffffffffn) | 0, Number(v >> 32n) | 0];
};

/** translate with the address split into int32 halves. */
function tr(env: Env, va: bigint, access: Access, mode = 0): number {
  const [lo, hi] = split(va);
  return env.mmu.translate(lo, hi, access, mode);
}

/** Expects a #PF with `code` and CR2 = va. */
function expectPf(env: Env, va: bigint, access: Access, mode: number, code: number): void {
  expect(tr(env, va, access, mode), "translate").toBe(-1);
  expect(env.mmu.vector).toBe(14);
  expect("0x" + env.mmu.errorCode.toString(16)).toBe("0x" + code.toString(16));
  expect(env.mmu.cr2).toBe(BigInt.asUintN(64, va));
}

describe("paging off and the paging modes", () => {
  it("with CR0.PG=0 the linear address is the physical address (no walk)", () => {
    const bus = new Bus();
    bus.addRam("ram", 0, RAM_SIZE);
    const tlbs = new TlbSet(DEFAULT_TLB, x86PageShifts);
    const mmu = new X86Mmu(bus, tlbs);
    expect(mmu.translate(0x1234, 0, STORE, USER)).toBe(0x1234);
    expect(mmu.translate(0, 1, LOAD, 0)).toBe(2 ** 32);
    expect(tlbs.walk.walks).toBe(0);
  });

  it("EFER.LMA reads as LME and CR0.PG", () => {
    const env = setup();
    expect(env.mmu.efer & BigInt(EFER.LMA)).toBe(BigInt(EFER.LMA));
    env.mmu.writeCr0(CR0.PE, 0);
    expect(env.mmu.efer & BigInt(EFER.LMA)).toBe(0n);
  });

  it("the MAXPHYADDR option is checked (32..52)", () => {
    const bus = new Bus();
    const tlbs = new TlbSet(DEFAULT_TLB, x86PageShifts);
    expect(() => new X86Mmu(bus, tlbs, { maxPhysAddr: 31 })).toThrow(RangeError);
    expect(() => new X86Mmu(bus, tlbs, { maxPhysAddr: 53 })).toThrow(RangeError);
    expect(new X86Mmu(bus, tlbs).maxPhysAddr).toBe(40);
  });
});

describe("page sizes: 4 KiB, 2 MiB in the PD, 1 GiB in the PDPT (SDM §4.5)", () => {
  for (const levels of [4, 5] as const) {
    it(`${levels}-level: a 4 KiB page maps offset bits 11:0`, () => {
      const env = setup({ levels });
      env.pt.map(VA, DATA, P | RW);
      expect(tr(env, VA + 0xabcn, LOAD)).toBe(DATA + 0xabc);
    });

    it(`${levels}-level: a 2 MiB page (PS in the PDE) maps offset bits 20:0`, () => {
      const env = setup({ levels });
      env.pt.map(0x4020_0000n, DATA_2M, P | RW | PS, 1);
      expect(tr(env, 0x4020_0000n + 0x1_2345n, LOAD)).toBe(DATA_2M + 0x1_2345);
      expect(env.tlbs.dtlb.entries()[0]!.shift).toBe(21);
    });

    it(`${levels}-level: a 1 GiB page (PS in the PDPTE) maps offset bits 29:0`, () => {
      const env = setup({ levels });
      env.pt.map(0x4000_0000n, 0x4000_0000, P | RW | PS, 2);
      expect(tr(env, 0x4000_0000n + 0x123_4567n, LOAD)).toBe(0x4000_0000 + 0x123_4567);
      expect(env.tlbs.dtlb.entries()[0]!.shift).toBe(30);
    });
  }

  it("5-level: bits 56:48 select the PML5 entry", () => {
    const env = setup({ levels: 5 });
    const va = 0x0001_0000_4000_0000n; // PML5 index 1
    const path = env.pt.map(va, DATA, P | RW);
    expect(path[4]).toBe(env.pt.root + 8);
    expect(tr(env, va + 8n, LOAD)).toBe(DATA + 8);
    expect(tr(env, 0x4000_0000n, LOAD)).toBe(-1); // PML5 index 0: not present
  });

  it("a large page's PAT bit (12) is an attribute, not address: it is recorded and the frame ignores it", () => {
    const env = setup();
    env.pt.map(0x4020_0000n, DATA_2M, P | RW | PS | BigInt(PTE.PAT_LARGE) | PWT | PCD, 1);
    expect(tr(env, 0x4020_0010n, LOAD)).toBe(DATA_2M + 0x10);
    const perm = env.tlbs.dtlb.entries()[0]!.perm;
    expect(perm & (TLB_PERM.PAT | TLB_PERM.PWT | TLB_PERM.PCD)).toBe(TLB_PERM.PAT | TLB_PERM.PWT | TLB_PERM.PCD);
  });

  it("a 4 KiB PTE's bit 7 is PAT, not PS", () => {
    const env = setup();
    env.pt.map(VA, DATA, P | RW | BigInt(PTE.PAT_4K));
    expect(tr(env, VA, LOAD)).toBe(DATA);
    expect(env.tlbs.dtlb.entries()[0]!.perm & TLB_PERM.PAT).toBe(TLB_PERM.PAT);
  });
});

describe("canonical addresses: a non-canonical address is #GP(0), not #PF, and CR2 is unchanged (SDM §3.3.7.1)", () => {
  const rows: [levels: 4 | 5, va: bigint, canonical: boolean][] = [
    [4, 0x0000_7fff_ffff_f000n, true],
    [4, 0x0000_8000_0000_0000n, false],
    [4, 0xffff_7fff_ffff_f000n, false],
    [4, 0xffff_8000_0000_0000n, true],
    [4, 0x0100_0000_0000_0000n, false],
    [5, 0x0000_8000_0000_0000n, true],
    [5, 0x00ff_ffff_ffff_f000n, true],
    [5, 0x0100_0000_0000_0000n, false],
    [5, 0xfeff_ffff_ffff_f000n, false],
    [5, 0xff00_0000_0000_0000n, true],
  ];
  for (const [levels, va, canonical] of rows) {
    it(`${levels}-level 0x${va.toString(16)}: ${canonical ? "translates" : "#GP(0)"}`, () => {
      const env = setup({ levels });
      env.mmu.cr2 = 0x1234n;
      if (canonical) env.pt.map(va, DATA, P | RW);
      for (const access of [FETCH, LOAD, STORE] as const) {
        const pa = tr(env, va + 0x10n, access);
        if (canonical) {
          expect(pa).toBe(DATA + 0x10);
        } else {
          expect(pa).toBe(-1);
          expect(env.mmu.vector).toBe(13);
          expect(env.mmu.errorCode).toBe(0);
          expect(env.mmu.cr2).toBe(0x1234n);
        }
      }
    });
  }
});

/**
 * Access rights: a reference predicate written from SDM §4.6.1 (ARCH-SPEC §2.5), independent of the
 * implementation. `user`/`rw` are the combined U/S and R/W, `xd` the combined XD.
 */
function allowed(r: { user: boolean; rw: boolean; xd: boolean }, c: { wp: boolean; smep: boolean; smap: boolean; nxe: boolean }, access: Access, mode: number): boolean {
  const userAccess = (mode & USER) !== 0 && (mode & IMPLICIT) === 0;
  const xd = c.nxe && r.xd;
  if (userAccess) {
    if (!r.user) return false;
    if (access === STORE) return r.rw;
    if (access === FETCH) return !xd;
    return true;
  }
  if (access === FETCH) return !xd && !(r.user && c.smep);
  if (r.user && c.smap && ((mode & AC) === 0 || (mode & IMPLICIT) !== 0)) return false;
  if (access === STORE) return r.rw || !c.wp;
  return true;
}

describe("access rights: U/S and R/W ANDed, XD ORed, WP, SMEP, SMAP with AC and implicit accesses (SDM §4.6)", () => {
  const MODES: [string, number][] = [["CPL0", 0], ["CPL0+AC", AC], ["CPL3", USER], ["implicit", IMPLICIT], ["implicit+AC", IMPLICIT | AC], ["implicit at CPL3", IMPLICIT | USER]];
  let n = 0;
  for (const user of [false, true]) for (const rw of [false, true]) for (const xd of [false, true]) {
    for (const wp of [false, true]) for (const smep of [false, true]) for (const smap of [false, true]) for (const nxe of [false, true]) {
      if (xd && !nxe) continue; // XD with NXE=0 is a reserved-bit fault (tested below)
      const rights = { user, rw, xd }, controls = { wp, smep, smap, nxe };
      const name = `U/S=${+user} R/W=${+rw} XD=${+xd} WP=${+wp} SMEP=${+smep} SMAP=${+smap} NXE=${+nxe}`;
      // The restrictive bit sits at a different level each time, so the AND/OR across levels is exercised.
      const level = n++ % 4;
      it(name, () => {
        const env = setup({ cr0: wp ? CR0.WP : 0, cr4: (smep ? CR4.SMEP : 0) | (smap ? CR4.SMAP : 0), nxe });
        const path = env.pt.map(VA, DATA, P | RW | US);
        const e = env.pt.read(path[level]!);
        env.pt.write(path[level]!, (e & ~(RW | US)) | (rw ? RW : 0n) | (user ? US : 0n) | (xd ? XD : 0n));
        for (const [modeName, mode] of MODES) {
          for (const access of [FETCH, LOAD, STORE] as const) {
            if ((mode & IMPLICIT) !== 0 && access === FETCH) continue;
            const ok = allowed(rights, controls, access, mode);
            for (const via of ["walk", "tlb"]) {
              const label = `${modeName} ${ACCESS_NAME[access]} via ${via}`;
              const pa = tr(env, VA + 4n, access, mode);
              expect(pa, label).toBe(ok ? DATA + 4 : -1);
              if (!ok) {
                const userAccess = (mode & (USER | IMPLICIT)) === USER;
                const code = PF.P | (access === STORE ? PF.WR : 0) | (userAccess ? PF.US : 0) | (access === FETCH && (nxe || smep) ? PF.ID : 0);
                expect(env.mmu.errorCode, label).toBe(code);
              }
            }
          }
        }
      });
    }
  }
});

describe("#PF error codes and CR2: the worked vectors of ARCH-SPEC §5 (SDM §4.7)", () => {
  interface Row { name: string; setup?: Setup; leaf?: bigint; access: Access; mode: number; code: number | "ok"; upper?: bigint }
  const rows: Row[] = [
    { name: "CPL3 read, PTE P=0", leaf: 0n, access: LOAD, mode: USER, code: PF.US },
    { name: "CPL3 read, PDPTE P=0", upper: 0n, access: LOAD, mode: USER, code: PF.US },
    { name: "CPL0 write, PTE P=0", leaf: 0n, access: STORE, mode: 0, code: PF.WR },
    { name: "CPL0 fetch, PTE P=0, NXE=0 and SMEP=0: no I/D", leaf: 0n, access: FETCH, mode: 0, code: 0 },
    { name: "CPL0 fetch, PTE P=0, NXE=1: I/D", setup: { nxe: true }, leaf: 0n, access: FETCH, mode: 0, code: PF.ID },
    { name: "CPL0 fetch, PTE P=0, SMEP=1: I/D", setup: { cr4: CR4.SMEP }, leaf: 0n, access: FETCH, mode: 0, code: PF.ID },
    { name: "CPL3 write to a read-only user page", leaf: P | US, access: STORE, mode: USER, code: PF.P | PF.WR | PF.US },
    { name: "CPL0 write to a read-only page, WP=1", setup: { cr0: CR0.WP }, leaf: P, access: STORE, mode: 0, code: PF.P | PF.WR },
    { name: "CPL0 write to a read-only page, WP=0", leaf: P, access: STORE, mode: 0, code: "ok" },
    { name: "CPL3 read of a supervisor page", leaf: P | RW, access: LOAD, mode: USER, code: PF.P | PF.US },
    { name: "CPL3 write to a supervisor page", leaf: P | RW, access: STORE, mode: USER, code: PF.P | PF.WR | PF.US },
    { name: "CPL3 fetch from a supervisor page, NXE=1", setup: { nxe: true }, leaf: P | RW, access: FETCH, mode: USER, code: PF.P | PF.US | PF.ID },
    { name: "CPL3 fetch from a supervisor page, NXE=0", leaf: P | RW, access: FETCH, mode: USER, code: PF.P | PF.US },
    { name: "CPL3 fetch from an XD page, NXE=1", setup: { nxe: true }, leaf: P | RW | US | XD, access: FETCH, mode: USER, code: PF.P | PF.US | PF.ID },
    { name: "CPL0 fetch from a user page, SMEP=1", setup: { cr4: CR4.SMEP }, leaf: P | RW | US, access: FETCH, mode: 0, code: PF.P | PF.ID },
    { name: "CPL0 read of a user page, SMAP=1, AC=0", setup: { cr4: CR4.SMAP }, leaf: P | RW | US, access: LOAD, mode: 0, code: PF.P },
    { name: "CPL0 read of a user page, SMAP=1, AC=1", setup: { cr4: CR4.SMAP }, leaf: P | RW | US, access: LOAD, mode: AC, code: "ok" },
    { name: "implicit read of a user page, SMAP=1, AC=1", setup: { cr4: CR4.SMAP }, leaf: P | RW | US, access: LOAD, mode: IMPLICIT | AC, code: PF.P },
    { name: "implicit write at CPL3 to a user page, SMAP=1: supervisor (U/S=0 in the code)", setup: { cr4: CR4.SMAP }, leaf: P | RW | US, access: STORE, mode: IMPLICIT | USER | AC, code: PF.P | PF.WR },
    { name: "reserved bit 51 (MAXPHYADDR 40), CPL3 read", leaf: P | RW | US | (1n << 51n), access: LOAD, mode: USER, code: PF.P | PF.US | PF.RSVD },
    { name: "reserved bit 51, CPL0 write", leaf: P | RW | (1n << 51n), access: STORE, mode: 0, code: PF.P | PF.WR | PF.RSVD },
    { name: "XD with NXE=0 is reserved, CPL3 read", leaf: P | RW | US | XD, access: LOAD, mode: USER, code: PF.P | PF.US | PF.RSVD },
    { name: "reserved bit in a not-present entry is not checked", leaf: (1n << 51n) | XD, access: LOAD, mode: USER, code: PF.US },
  ];
  for (const r of rows) {
    it(`${r.name}: ${r.code === "ok" ? "no fault" : `0x${r.code.toString(16)}`}`, () => {
      const env = setup(r.setup);
      const va = 0x7fff_1234_5678n;
      const path = env.pt.map(va, DATA, r.leaf ?? (P | RW | US));
      if (r.upper !== undefined) env.pt.write(path[2]!, r.upper);
      if (r.code === "ok") expect(tr(env, va, r.access, r.mode)).toBe(DATA + 0x678);
      else expectPf(env, va, r.access, r.mode, r.code);
    });
  }
});

describe("reserved bits: a present entry with a reserved bit set is #PF with P=1 and RSVD=1 (SDM §4.5, §4.7)", () => {
  /** [name, level of the bad entry (3 = PML4E), bits ORed in, is the entry made a large leaf, setup] */
  const rows: [string, number, bigint, number, Setup?][] = [
    ["PS in a PML4E", 3, PS, -1],
    ["bit 40 (= MAXPHYADDR) in a PML4E", 3, 1n << 40n, -1],
    ["bit 51 in a PDPTE", 2, 1n << 51n, -1],
    ["bit 45 in a PDE", 1, 1n << 45n, -1],
    ["bit 40 in a PTE", 0, 1n << 40n, -1],
    ["XD in a PDE with NXE=0", 1, XD, -1],
    ["bit 13 in a 2 MiB PDE", 1, 1n << 13n, 1],
    ["bit 20 in a 2 MiB PDE", 1, 1n << 20n, 1],
    ["bit 13 in a 1 GiB PDPTE", 2, 1n << 13n, 2],
    ["bit 29 in a 1 GiB PDPTE", 2, 1n << 29n, 2],
    ["bit 46 with MAXPHYADDR 46", 0, 1n << 46n, -1, { maxPhysAddr: 46 }],
  ];
  for (const [name, level, bits, leafLevel, s] of rows) {
    it(name, () => {
      const env = setup(s);
      const path = leafLevel >= 0 ? env.pt.map(VA, leafLevel === 1 ? DATA_2M : 0x4000_0000, P | RW | US | PS, leafLevel) : env.pt.map(VA, DATA, P | RW | US);
      env.pt.write(path[level]!, env.pt.read(path[level]!) | bits);
      expectPf(env, VA, LOAD, USER, PF.P | PF.US | PF.RSVD);
      expect(env.tlbs.dtlb.entries()).toEqual([]);
    });
  }

  it("PS in a PML5E (5-level paging) is reserved", () => {
    const env = setup({ levels: 5 });
    const path = env.pt.map(VA, DATA, P | RW);
    env.pt.write(path[4]!, env.pt.read(path[4]!) | PS);
    expectPf(env, VA, STORE, 0, PF.P | PF.WR | PF.RSVD);
  });

  it("with MAXPHYADDR 52 bits 51:40 are address bits, not reserved", () => {
    const env = setup({ maxPhysAddr: 52 });
    const path = env.pt.map(VA, DATA, P | RW);
    env.pt.write(path[0]!, env.pt.read(path[0]!) | (1n << 51n));
    expect(tr(env, VA, LOAD)).toBe(2 ** 51 + DATA);
  });

  it("a paging structure in a physical hole reads as all ones: a reserved-bit #PF at that level", () => {
    const env = setup();
    env.mmu.writeCr3(0, 1); // CR3 = 4 GiB: no RAM there
    expectPf(env, VA, LOAD, USER, PF.P | PF.US | PF.RSVD);
  });

  it("bits 62:52 are ignored (software-available without PKE)", () => {
    const env = setup();
    const path = env.pt.map(VA, DATA, P | RW | (0x7ffn << 52n));
    expect(path.length).toBe(4);
    expect(tr(env, VA, LOAD)).toBe(DATA);
  });
});

describe("accessed and dirty flags (SDM §4.8)", () => {
  it("a read sets A in every entry used and leaves D clear", () => {
    const env = setup();
    const path = env.pt.map(VA, DATA, P | RW);
    expect(tr(env, VA, LOAD)).toBe(DATA);
    for (let l = 0; l < 4; l++) expect(env.pt.read(path[l]!) & (A | D), `level ${l}`).toBe(l === 0 ? A : A);
    expect(env.pt.read(path[0]!) & D).toBe(0n);
  });

  it("a write sets D in the leaf only", () => {
    const env = setup();
    const path = env.pt.map(VA, DATA, P | RW);
    expect(tr(env, VA, STORE)).toBe(DATA);
    expect(env.pt.read(path[0]!) & (A | D)).toBe(A | D);
    for (let l = 1; l < 4; l++) expect(env.pt.read(path[l]!) & D, `level ${l}`).toBe(0n);
  });

  it("D is set in a 2 MiB leaf (the PDE)", () => {
    const env = setup();
    const path = env.pt.map(0x4020_0000n, DATA_2M, P | RW | PS, 1);
    expect(tr(env, 0x4020_0008n, STORE)).toBe(DATA_2M + 8);
    expect(env.pt.read(path[1]!) & (A | D)).toBe(A | D);
  });

  it("a write through a cached entry with D=0 walks again and sets D", () => {
    const env = setup();
    const path = env.pt.map(VA, DATA, P | RW);
    expect(tr(env, VA, LOAD)).toBe(DATA);
    const walks = env.tlbs.walk.walks;
    expect(tr(env, VA, STORE)).toBe(DATA);
    expect(env.tlbs.walk.walks).toBe(walks + 1);
    expect(env.pt.read(path[0]!) & D).toBe(D);
  });

  it("a faulting access sets neither A nor D in the leaf", () => {
    const env = setup({ cr0: CR0.WP });
    const path = env.pt.map(VA, DATA, P | US);
    expectPf(env, VA, STORE, USER, PF.P | PF.WR | PF.US);
    expect(env.pt.read(path[0]!) & (A | D)).toBe(0n);
  });

  it("the writable hint: true only when a store would succeed without a walk", () => {
    const env = setup({ cr0: CR0.WP });
    env.pt.map(VA, DATA, P | RW | US);
    env.pt.map(VA + 0x1000n, DATA + 0x1000, P | US);
    tr(env, VA, LOAD, USER);
    expect(env.mmu.writable).toBe(false); // D=0
    tr(env, VA, STORE, USER);
    expect(env.mmu.writable).toBe(true);
    tr(env, VA + 0x1000n, LOAD, USER);
    expect(env.mmu.writable).toBe(false); // read-only
  });
});

describe("trace hook", () => {
  it("onFill reports the walk: PCID, level, frame, global, perm and every entry read", () => {
    const env = setup({ cr4: CR4.PGE });
    env.pt.map(0x4020_0000n, DATA_2M, P | RW | PS | G, 1);
    const events: unknown[] = [];
    env.mmu.onFill = (e) => events.push(e);
    tr(env, 0x4020_0010n, LOAD);
    expect(events).toHaveLength(1);
    const e = events[0] as { va: bigint; asid: number; level: number; pa: number; global: boolean; steps: { level: number }[] };
    expect(e.va).toBe(0x4020_0010n);
    expect(e.level).toBe(1);
    expect(e.pa).toBe(DATA_2M);
    expect(e.global).toBe(true);
    expect(e.steps.map((s) => s.level)).toEqual([3, 2, 1]);
  });
});
