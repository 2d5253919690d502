/**
 * The x86_64 TLB rules (emulator/arch/x86_64/mmu.ts): what is cached, PCID tagging, global entries,
 * and every invalidating operation: MOV to CR3 with and without the bit-63 no-flush hint, INVLPG,
 * INVPCID types 0-3, CR4.PGE/PCIDE/SMEP, CR0.PG, and the #PF's own invalidation. Also the
 * control-register write checks (mmu-regs.ts).
 * @spec Intel SDM Vol. 3A §4.10 (§4.10.1 PCIDs, §4.10.2.4 global pages, §4.10.4.1 operations that
 * invalidate, §4.10.4.3 what is never cached), digested in ARCH-SPEC §2.9.
 */
import { describe, expect, it } from "vitest";
import { type Access, LOAD, STORE, USER, X86Mmu, x86PageShifts } from "../emulator/arch/x86_64/mmu.js";
import { cr0WriteFaults, cr3WriteFaults, cr4WriteFaults, eferWriteFaults } from "../emulator/arch/x86_64/mmu-regs.js";
import { addressSizesEax, CR0, CR4, EFER, MMU_CPUID, PF, PTE } from "../emulator/arch/x86_64/paging-defs.js";
import { X86PageTableBuilder } from "../emulator/arch/x86_64/paging-builder.js";
import { Bus } from "../emulator/core/memory.js";
import { DEFAULT_TLB, TlbSet } from "../emulator/core/tlb.js";

const DATA = 0x80_0000;
const VA = 0x4000_3000n;
const VA2 = 0x4000_5000n;
const VAG = 0xffff_8000_0010_0000n;
const P = BigInt(PTE.P), RW = BigInt(PTE.RW), US = BigInt(PTE.US), G = BigInt(PTE.G);
const NOFLUSH = 0x80000000 | 0;

interface Env { bus: Bus; tlbs: TlbSet; mmu: X86Mmu; pt: X86PageTableBuilder; newTables: () => X86PageTableBuilder }

/** 16 MiB of RAM at 0; long mode, paging on with `cr4` (PAE added) and CR3 = pt.root | pcid. */
function setup(cr4 = 0, pcid = 0, cr0 = 0): Env {
  const bus = new Bus();
  bus.addRam("ram", 0, 16 * 1024 * 1024);
  const tlbs = new TlbSet(DEFAULT_TLB, x86PageShifts);
  const mmu = new X86Mmu(bus, tlbs);
  let next = 0x10_0000;
  const newTables = (): X86PageTableBuilder => new X86PageTableBuilder(bus, () => (next += 4096) - 4096);
  const pt = newTables();
  mmu.writeEfer(EFER.LME | EFER.NXE, 0);
  mmu.writeCr4(CR4.PAE | cr4, 0);
  mmu.writeCr3(pt.root | pcid, 0);
  mmu.writeCr0(CR0.PE | CR0.PG | cr0, 0);
  return { bus, tlbs, mmu, pt, newTables };
}

function tr(env: Env, va: bigint, access: Access = LOAD, mode = 0): number {
  const v = BigInt.asUintN(64, va);
  return env.mmu.translate(Number(v & 0xffffffffn) | 0, Number(v >> 32n) | 0, access, mode);
}
const lo = (va: bigint): number => Number(BigInt.asUintN(64, va) & 0xffffffffn) | 0;
const hi = (va: bigint): number => Number(BigInt.asUintN(64, va) >> 32n) | 0;
const vpnOf = (va: bigint): number => Number((BigInt.asUintN(64, va) >> 12n) & ((1n << 36n) - 1n));

/** The cached translations, as "pcid:vpn" (or "G:vpn"), over every TLB array, deduplicated and sorted. */
function cached(env: Env): string[] {
  const out = new Set<string>();
  for (const t of env.tlbs.arrays) for (const e of t.entries()) out.add(`${e.global ? "G" : e.asid}:${e.vpnBase.toString(16)}`);
  return [...out].sort();
}
const key = (pcid: number | "G", va: bigint): string => `${pcid}:${vpnOf(va).toString(16)}`;

/** Points the leaf for `va` at `pa` without invalidating anything. */
function remap(pt: X86PageTableBuilder, va: bigint, pa: number): void {
  const addr = pt.entryAddr(va, 0)!;
  pt.write(addr, (pt.read(addr) & 0xfffn) | BigInt(pa));
}

describe("what is cached (SDM §4.10.2, §4.10.4.3)", () => {
  it("a not-present entry is never cached: mapping the page needs no invalidation", () => {
    const env = setup();
    expect(tr(env, VA)).toBe(-1);
    expect(cached(env)).toEqual([]);
    env.pt.map(VA, DATA, P | RW);
    expect(tr(env, VA)).toBe(DATA);
  });

  it("a TLB hit makes no walk and no memory reference", () => {
    const env = setup();
    env.pt.map(VA, DATA, P | RW);
    tr(env, VA);
    const { walks, walkRefs } = env.tlbs.walk;
    expect(tr(env, VA + 8n)).toBe(DATA + 8);
    expect(env.tlbs.walk).toEqual({ walks, walkRefs });
  });

  it("a cached translation outlives a change to its PTE until INVLPG", () => {
    const env = setup();
    env.pt.map(VA, DATA, P | RW);
    expect(tr(env, VA)).toBe(DATA);
    remap(env.pt, VA, DATA + 0x1000);
    expect(tr(env, VA)).toBe(DATA);
    env.mmu.invlpg(lo(VA), hi(VA));
    expect(tr(env, VA)).toBe(DATA + 0x1000);
  });

  it("a #PF invalidates the faulting page: a rights upgrade without INVLPG costs one spurious #PF", () => {
    const env = setup();
    const path = env.pt.map(VA, DATA, P | US);
    env.pt.map(VA2, DATA + 0x1000, P | US);
    expect(tr(env, VA, LOAD, USER)).toBe(DATA);
    expect(tr(env, VA2, LOAD, USER)).toBe(DATA + 0x1000);
    env.pt.write(path[0]!, env.pt.read(path[0]!) | RW);
    expect(tr(env, VA, STORE, USER)).toBe(-1);
    expect(env.mmu.errorCode).toBe(PF.P | PF.WR | PF.US);
    expect(cached(env)).toEqual([key(0, VA2)]);
    expect(tr(env, VA, STORE, USER)).toBe(DATA);
  });

  it("a #PF also drops a global entry for the faulting page", () => {
    const env = setup(CR4.PGE);
    env.pt.map(VAG, DATA, P | G);
    expect(tr(env, VAG, LOAD, 0)).toBe(DATA);
    expect(tr(env, VAG, LOAD, USER)).toBe(-1);
    expect(cached(env)).toEqual([]);
  });
});

describe("PCIDs and MOV to CR3 (SDM §4.10.1, §4.10.4.1)", () => {
  /** Two address spaces: `a` (PCID 1) maps VA to DATA, `b` (PCID 2) maps VA to DATA+0x1000. */
  function twoSpaces(cr4 = 0): Env & { a: X86PageTableBuilder; b: X86PageTableBuilder } {
    const env = setup(CR4.PCIDE | cr4, 1);
    const b = env.newTables();
    env.pt.map(VA, DATA, P | RW);
    b.map(VA, DATA + 0x1000, P | RW);
    return { ...env, a: env.pt, b };
  }

  it("entries are tagged with CR3[11:0]: each PCID sees its own translation", () => {
    const env = twoSpaces();
    expect(tr(env, VA)).toBe(DATA);
    env.mmu.writeCr3(env.b.root | 2, 0);
    expect(tr(env, VA)).toBe(DATA + 0x1000);
    expect(cached(env)).toEqual([key(1, VA), key(2, VA)]);
  });

  it("bit 63 set: the new PCID's entries are kept (stale ones included); bit 63 is not stored", () => {
    const env = twoSpaces();
    tr(env, VA);
    env.mmu.writeCr3(env.b.root | 2, 0);
    tr(env, VA);
    remap(env.a, VA, DATA + 0x2000);
    env.mmu.writeCr3(env.a.root | 1, NOFLUSH);
    expect(env.mmu.cr3).toBe(BigInt(env.a.root | 1));
    expect(tr(env, VA)).toBe(DATA);
    env.mmu.writeCr3(env.a.root | 1, 0);
    expect(tr(env, VA)).toBe(DATA + 0x2000);
  });

  it("bit 63 clear: only the new PCID's non-global entries are invalidated", () => {
    const env = twoSpaces(CR4.PGE);
    env.a.map(VAG, DATA + 0x3000, P | G);
    tr(env, VA);
    tr(env, VAG);
    env.mmu.writeCr3(env.b.root | 2, 0);
    tr(env, VA);
    env.mmu.writeCr3(env.a.root | 1, 0);
    expect(cached(env)).toEqual([key(2, VA), key("G", VAG)]);
  });

  it("a global entry (G with CR4.PGE=1) matches every PCID", () => {
    const env = twoSpaces(CR4.PGE);
    env.a.map(VAG, DATA + 0x3000, P | G);
    env.b.map(VAG, DATA + 0x4000, P | G);
    expect(tr(env, VAG)).toBe(DATA + 0x3000);
    env.mmu.writeCr3(env.b.root | 2, 0);
    expect(tr(env, VAG)).toBe(DATA + 0x3000);
  });

  it("with PCIDE=0 MOV to CR3 invalidates every non-global entry, and globals survive", () => {
    const env = setup(CR4.PGE);
    env.pt.map(VA, DATA, P | RW);
    env.pt.map(VAG, DATA + 0x3000, P | G);
    tr(env, VA);
    tr(env, VAG);
    env.mmu.writeCr3(env.pt.root, 0);
    expect(cached(env)).toEqual([key("G", VAG)]);
  });

  it("G without CR4.PGE does not make an entry global", () => {
    const env = setup();
    env.pt.map(VAG, DATA, P | G);
    tr(env, VAG);
    env.mmu.writeCr3(env.pt.root, 0);
    expect(cached(env)).toEqual([]);
  });

  it("with PCIDE=0 the PCID is 0 whatever CR3[11:0] holds (PWT/PCD)", () => {
    const env = setup();
    env.mmu.writeCr3(env.pt.root | 0x18, 0);
    expect(env.mmu.pcid).toBe(0);
  });
});

describe("INVLPG (SDM §4.10.4.1)", () => {
  it("invalidates the page in the current PCID and global entries for it, not other PCIDs' entries", () => {
    const env = setup(CR4.PCIDE | CR4.PGE, 1);
    const b = env.newTables();
    env.pt.map(VA, DATA, P | RW);
    env.pt.map(VA2, DATA, P | RW);
    env.pt.map(VAG, DATA, P | G);
    b.map(VA, DATA, P | RW);
    tr(env, VA); tr(env, VA2); tr(env, VAG);
    env.mmu.writeCr3(b.root | 2, 0);
    tr(env, VA);
    env.mmu.invlpg(lo(VA), hi(VA));
    env.mmu.invlpg(lo(VAG), hi(VAG));
    expect(cached(env)).toEqual([key(1, VA), key(1, VA2)]);
  });

  it("invalidates a large page through any address inside it", () => {
    const env = setup();
    env.pt.map(0x4020_0000n, 0x20_0000, P | RW | BigInt(PTE.PS), 1);
    tr(env, 0x4020_0000n);
    env.mmu.invlpg(lo(0x403f_f000n), 0);
    expect(cached(env)).toEqual([]);
  });

  it("a non-canonical operand invalidates nothing and does not fail", () => {
    const env = setup();
    env.pt.map(VA, DATA, P | RW);
    tr(env, VA);
    env.mmu.invlpg(lo(VA), 0x8000);
    expect(cached(env)).toEqual([key(0, VA)]);
  });
});

describe("INVPCID types 0-3 (SDM Vol. 2A INVPCID, Vol. 3A §4.10.4.1)", () => {
  /** Cached: (1, VA), (1, VA2), (2, VA), global VAG; current PCID 2. */
  function populated(): Env {
    const env = setup(CR4.PCIDE | CR4.PGE, 1);
    const b = env.newTables();
    env.pt.map(VA, DATA, P | RW);
    env.pt.map(VA2, DATA, P | RW);
    env.pt.map(VAG, DATA, P | G);
    b.map(VA, DATA, P | RW);
    tr(env, VA); tr(env, VA2); tr(env, VAG);
    env.mmu.writeCr3(b.root | 2, NOFLUSH);
    tr(env, VA);
    return env;
  }
  const ALL = [key(1, VA), key(1, VA2), key(2, VA), key("G", VAG)];
  const rows: [string, number, number, bigint, string[]][] = [
    ["type 0 (individual address): that page of that PCID, not globals", 0, 1, VA, [key(1, VA2), key(2, VA), key("G", VAG)]],
    ["type 0 spares a global entry for the same address", 0, 1, VAG, ALL],
    ["type 1 (single context): every non-global entry of that PCID", 1, 1, 0n, [key(2, VA), key("G", VAG)]],
    ["type 2 (all contexts, globals included)", 2, 0, 0n, []],
    ["type 3 (all contexts except globals)", 3, 0, 0n, [key("G", VAG)]],
  ];
  for (const [name, type, pcid, va, left] of rows) {
    it(name, () => {
      const env = populated();
      expect(cached(env)).toEqual(ALL);
      expect(env.mmu.invpcid(type, pcid, lo(va), hi(va))).toBe(true);
      expect(cached(env)).toEqual(left);
    });
  }

  const errors: [string, number, number, bigint, boolean][] = [
    ["type 4", 4, 0, 0n, false],
    ["PCID with descriptor bits 63:12 set", 1, 0x1000, 0n, false],
    ["type 0 with a non-canonical address", 0, 0, 0x0000_8000_0000_0000n, false],
  ];
  for (const [name, type, pcid, va, pcide] of errors) {
    it(`#GP(0): ${name}`, () => {
      const env = setup(pcide ? CR4.PCIDE : 0);
      env.pt.map(VA, DATA, P | RW);
      tr(env, VA);
      expect(env.mmu.invpcid(type, pcid, lo(va), hi(va))).toBe(false);
      expect(cached(env)).toEqual([key(0, VA)]);
    });
  }

  it("with PCIDE=0 types 0 and 1 need PCID 0 (else #GP); types 2 and 3 take any", () => {
    const env = setup();
    expect(env.mmu.invpcid(0, 1, lo(VA), 0)).toBe(false);
    expect(env.mmu.invpcid(1, 1, 0, 0)).toBe(false);
    expect(env.mmu.invpcid(0, 0, lo(VA), 0)).toBe(true);
    expect(env.mmu.invpcid(2, 1, 0, 0)).toBe(true);
    expect(env.mmu.invpcid(3, 1, 0, 0)).toBe(true);
  });
});

describe("control-register writes that invalidate (SDM §4.10.4.1)", () => {
  /** Caches (0, VA) and global VAG with PGE=1. */
  function withGlobal(cr4 = 0): Env {
    const env = setup(CR4.PGE | cr4);
    env.pt.map(VA, DATA, P | RW | US);
    env.pt.map(VAG, DATA, P | G);
    tr(env, VA); tr(env, VAG);
    return env;
  }
  const both = [key(0, VA), key("G", VAG)];

  it("toggling CR4.PGE invalidates everything, globals included", () => {
    const env = withGlobal();
    env.mmu.writeCr4(CR4.PAE, 0);
    expect(cached(env)).toEqual([]);
  });

  it("clearing CR4.PCIDE invalidates everything", () => {
    const env = withGlobal(CR4.PCIDE);
    env.mmu.writeCr4(CR4.PAE | CR4.PGE, 0);
    expect(cached(env)).toEqual([]);
  });

  it("setting CR4.PCIDE invalidates nothing", () => {
    const env = withGlobal();
    env.mmu.writeCr4(CR4.PAE | CR4.PGE | CR4.PCIDE, 0);
    expect(cached(env)).toEqual(both);
  });

  it("setting CR4.SMEP invalidates the current PCID's entries; clearing it nothing", () => {
    const env = withGlobal(CR4.SMEP);
    env.mmu.writeCr4(CR4.PAE | CR4.PGE, 0);
    expect(cached(env)).toEqual(both);
    env.mmu.writeCr4(CR4.PAE | CR4.PGE | CR4.SMEP, 0);
    expect(cached(env)).toEqual([]);
  });

  it("CR4.SMAP and CR0.WP changes invalidate nothing (rights are applied at access time)", () => {
    const env = withGlobal();
    env.mmu.writeCr4(CR4.PAE | CR4.PGE | CR4.SMAP, 0);
    env.mmu.writeCr0(CR0.PE | CR0.PG | CR0.WP, 0);
    expect(cached(env)).toEqual(both);
    expect(tr(env, VA, LOAD, 0)).toBe(-1); // SMAP applies to the cached user page at once
  });

  it("clearing CR0.PG invalidates everything", () => {
    const env = withGlobal();
    env.mmu.writeCr0(CR0.PE, 0);
    expect(cached(env)).toEqual([]);
  });

  it("changing EFER.NXE invalidates everything (a choice: entries hold XD as NXE made it)", () => {
    const env = withGlobal();
    env.mmu.writeEfer(EFER.LME, 0);
    expect(cached(env)).toEqual([]);
  });
});

describe("control-register write checks: #GP(0) (SDM Vol. 2A MOV CR, Vol. 3A §4.1.2)", () => {
  it("CR4: reserved bits, LA57 without support, LA57 or PAE change in IA-32e mode, PCIDE 0->1 with CR3[11:0] != 0", () => {
    const env = setup();
    const cr4 = CR4.PAE;
    expect(cr4WriteFaults(env.mmu, cr4 | CR4.PGE | CR4.SMEP | CR4.SMAP, 0)).toBe(false);
    expect(cr4WriteFaults(env.mmu, cr4, 1)).toBe(true);
    expect(cr4WriteFaults(env.mmu, cr4 | CR4.PKE, 0)).toBe(true);
    expect(cr4WriteFaults(env.mmu, cr4 | CR4.LA57, 0)).toBe(true);
    expect(cr4WriteFaults(env.mmu, 0, 0)).toBe(true);
    expect(cr4WriteFaults(env.mmu, cr4 | CR4.PCIDE, 0)).toBe(false);
    env.mmu.writeCr3(env.pt.root | 5, 0);
    expect(cr4WriteFaults(env.mmu, cr4 | CR4.PCIDE, 0)).toBe(true);
    const la57 = new X86Mmu(env.bus, env.tlbs, { la57: true });
    expect(cr4WriteFaults(la57, CR4.PAE | CR4.LA57, 0)).toBe(false);
    la57.writeCr4(CR4.PAE, 0);
    la57.writeEfer(EFER.LME, 0);
    la57.writeCr0(CR0.PE | CR0.PG, 0);
    expect(cr4WriteFaults(la57, CR4.PAE | CR4.LA57, 0)).toBe(true);
  });

  it("CR3: bits 63:MAXPHYADDR are reserved, except the no-flush bit 63 with PCIDE=1", () => {
    const env = setup();
    expect(cr3WriteFaults(env.mmu, 0xff)).toBe(false);
    expect(cr3WriteFaults(env.mmu, 0x100)).toBe(true);
    expect(cr3WriteFaults(env.mmu, NOFLUSH)).toBe(true);
    env.mmu.writeCr4(CR4.PAE | CR4.PCIDE, 0);
    expect(cr3WriteFaults(env.mmu, NOFLUSH)).toBe(false);
  });

  it("CR0: high bits, PG without PE, NW without CD, clearing PG in IA-32e mode, PG without LME or PAE", () => {
    const env = setup();
    const on = CR0.PE | CR0.PG;
    expect(cr0WriteFaults(env.mmu, on | CR0.WP, 0)).toBe(false);
    expect(cr0WriteFaults(env.mmu, on, 1)).toBe(true);
    expect(cr0WriteFaults(env.mmu, CR0.PG, 0)).toBe(true);
    expect(cr0WriteFaults(env.mmu, on | CR0.NW, 0)).toBe(true);
    expect(cr0WriteFaults(env.mmu, CR0.PE, 0)).toBe(true);
    const off = new X86Mmu(env.bus, env.tlbs);
    expect(cr0WriteFaults(off, on, 0)).toBe(true);
    off.writeCr4(CR4.PAE, 0);
    off.writeEfer(EFER.LME, 0);
    expect(cr0WriteFaults(off, on, 0)).toBe(false);
  });

  it("EFER: reserved bits; LME may not change while CR0.PG=1", () => {
    const env = setup();
    expect(eferWriteFaults(env.mmu, EFER.LME | EFER.NXE | EFER.SCE, 0)).toBe(false);
    expect(eferWriteFaults(env.mmu, EFER.LME | (1 << 12), 0)).toBe(true);
    expect(eferWriteFaults(env.mmu, EFER.NXE, 0)).toBe(true);
  });
});

describe("CPUID values for the MMU's features", () => {
  it("report PCID, INVPCID, SMEP, SMAP, NX, 1-GByte pages and the address sizes", () => {
    expect(MMU_CPUID.leaf1Ecx & (1 << 17)).not.toBe(0);
    expect(MMU_CPUID.leaf7Ebx).toBe((1 << 7) | (1 << 10) | (1 << 20));
    expect(MMU_CPUID.ext1Edx & ((1 << 20) | (1 << 26))).toBe((1 << 20) | (1 << 26));
    expect(addressSizesEax(40, false)).toBe(0x3028);
    expect(addressSizesEax(46, true)).toBe(0x392e);
  });
});
