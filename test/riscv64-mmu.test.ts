/**
 * Table-driven tests of the RV64 walker (emulator/arch/riscv64/mmu.ts) on a real bus: each test
 * writes its own Sv39/Sv48 page tables into RAM and calls Mmu.translate.
 * @spec RV-S §"Virtual Address Translation Process" (Priv 1.13, 10 steps), digested in ARCH-SPEC §4.2-4.7.
 */
import { describe, expect, it } from "vitest";
import { CAUSE, PRV_M, PRV_S, PRV_U, PTE } from "../emulator/arch/riscv64/defs.js";
import { type Access, FETCH, type FillEvent, LOAD, Mmu, type PagingMode, RISCV_PAGE_SHIFTS, STORE, SV39, SV48 } from "../emulator/arch/riscv64/mmu.js";
import { Bus } from "../emulator/core/memory.js";
import { DEFAULT_TLB, type TlbConfig, TlbSet } from "../emulator/core/tlb.js";

const RAM_BASE = 0x8000_0000;
const RAM_SIZE = 16 * 1024 * 1024;
/** Page tables are allocated upward from here; data frames live at DATA. */
const PT_BASE = RAM_BASE + 0x10_0000;
const DATA = RAM_BASE + 0x80_0000;
const { V, R, W, X, U, G, A, D } = PTE;
const ACCESSES: readonly Access[] = [FETCH, LOAD, STORE];
const ACCESS_NAME = ["fetch", "load", "store"];
const PRIV_NAME: Record<number, string> = { [PRV_U]: "U", [PRV_S]: "S", [PRV_M]: "M" };
const PAGE_FAULT = [CAUSE.INSN_PAGE, CAUSE.LOAD_PAGE, CAUSE.STORE_PAGE];
const ACCESS_FAULT = [CAUSE.INSN_ACCESS, CAUSE.LOAD_ACCESS, CAUSE.STORE_ACCESS];
/** A user VA in the low half, 4 KiB aligned. */
const VA = 0x4000_3000n;

interface Env { bus: Bus; tlbs: TlbSet; mmu: Mmu; mode: PagingMode; root: number; next: number }

/** A bus with 16 MiB of RAM at 0x8000_0000, an empty root table, and the MMU in `mode` at ASID 0. */
function setup(mode: PagingMode = SV39, config: TlbConfig = DEFAULT_TLB): Env {
  const bus = new Bus();
  bus.addRam("ram", RAM_BASE, RAM_SIZE);
  const tlbs = new TlbSet(config, RISCV_PAGE_SHIFTS);
  const env: Env = { bus, tlbs, mmu: new Mmu(bus, tlbs), mode, root: 0, next: PT_BASE };
  env.root = allocTable(env);
  env.mmu.mode = mode;
  env.mmu.rootPpn = env.root / 4096;
  return env;
}

/** A fresh zeroed page-table page (RAM reads 0 until written). */
const allocTable = (env: Env): number => (env.next += 4096) - 4096;

/** A PTE with physical page number `ppn` and the given low flag bits (and any high bits ORed in). */
const pte = (ppn: number, flags: number | bigint): bigint => (BigInt(ppn) << 10n) | BigInt(flags);

/** VPN[level] of a VA. @spec RV-S §Sv39 VA figure */
const vpnIndex = (va: bigint, level: number): number => Number((BigInt.asUintN(64, va) >> BigInt(12 + 9 * level)) & 511n);

/**
 * Maps `va` to `pa` with a leaf of `flags` at `level` (0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB, 3 = 512 GiB),
 * creating intermediate tables with `tableFlags`. Returns the PTE address used at each level.
 */
function mapPage(env: Env, va: bigint, pa: number, flags: number | bigint, level = 0, tableFlags: number = V): number[] {
  const path: number[] = [];
  let table = env.root;
  for (let i = env.mode.levels - 1; i > level; i--) {
    const addr = table + vpnIndex(va, i) * 8;
    path[i] = addr;
    const cur = env.bus.read64(addr)!;
    if ((cur & BigInt(V)) === 0n) {
      table = allocTable(env);
      env.bus.write64(addr, pte(table / 4096, tableFlags));
    } else {
      table = Number((cur >> 10n) & ((1n << 44n) - 1n)) * 4096;
    }
  }
  path[level] = table + vpnIndex(va, level) * 8;
  env.bus.write64(path[level]!, pte(Math.floor(pa / 4096), flags));
  return path;
}

const readPte = (env: Env, addr: number): bigint => env.bus.read64(addr)!;

/** Calls translate with the VA split into int32 halves. Returns the PA or -1. */
function tr(env: Env, va: bigint, access: Access, priv: number): number {
  const v = BigInt.asUintN(64, va);
  return env.mmu.translate(Number(v & 0xffffffffn) | 0, Number(v >> 32n) | 0, access, priv);
}

/** Expects a page fault of the access type. */
function expectPageFault(env: Env, va: bigint, access: Access, priv = PRV_S): void {
  expect(tr(env, va, access, priv)).toBe(-1);
  expect(env.mmu.cause).toBe(PAGE_FAULT[access]);
}

/** Leaf flags granting every access to S-mode, A and D set. */
const S_RWX = V | R | W | X | A | D;

/**
 * The reference predicate of ARCH-SPEC §4.4 (RV-S step 6, step 8, sstatus SUM/MXR), written from the
 * table rather than from the implementation: may `priv` perform `access` on a leaf with `xwr`/`user`?
 */
function allowed(xwr: number, user: boolean, priv: number, sum: boolean, mxr: boolean, access: Access): boolean {
  const r = (xwr & R) !== 0, w = (xwr & W) !== 0, x = (xwr & X) !== 0;
  if (priv === PRV_U && !user) return false;
  if (priv === PRV_S && user && (access === FETCH || !sum)) return false;
  switch (access) {
    case FETCH: return x;
    case LOAD: return r || (mxr && x);
    case STORE: return w;
  }
}

describe("RV64 cause codes", () => {
  it("page and access fault codes are those of the RV-S scauses table", () => {
    expect(PAGE_FAULT).toEqual([12, 13, 15]);
    expect(ACCESS_FAULT).toEqual([1, 5, 7]);
  });
});

describe("permissions: U bit with SUM, R/W/X with MXR (RV-S steps 6 and 8, ARCH-SPEC §4.4)", () => {
  const XWR: Record<string, number> = { R, RW: R | W, X, RX: R | X, RWX: R | W | X };
  for (const [xwrName, xwr] of Object.entries(XWR)) {
    for (const user of [false, true]) {
      for (const priv of [PRV_U, PRV_S]) {
        for (const sum of [false, true]) {
          for (const mxr of [false, true]) {
            for (const access of ACCESSES) {
              const ok = allowed(xwr, user, priv, sum, mxr, access);
              const name = `${xwrName} U=${+user} priv=${PRIV_NAME[priv]} SUM=${+sum} MXR=${+mxr} ${ACCESS_NAME[access]}: ` +
                (ok ? "translates" : `page fault ${PAGE_FAULT[access]}`);
              it(name, () => {
                const env = setup();
                mapPage(env, VA, DATA, V | A | D | xwr | (user ? U : 0));
                env.mmu.sum = sum;
                env.mmu.mxr = mxr;
                for (const via of ["walk", "tlb"]) {
                  expect(tr(env, VA + 0x5an, access, priv), via).toBe(ok ? DATA + 0x5a : -1);
                  if (!ok) expect(env.mmu.cause, via).toBe(PAGE_FAULT[access]);
                }
              });
            }
          }
        }
      }
    }
  }

  it("SUM and MXR changes take effect on cached entries without a fence (RV-S §sstatus)", () => {
    const env = setup();
    mapPage(env, VA, DATA, V | X | U | A | D);
    env.mmu.sum = true;
    env.mmu.mxr = true;
    expect(tr(env, VA, LOAD, PRV_S)).toBe(DATA);
    const walks = env.tlbs.walk.walks;
    env.mmu.mxr = false;
    expectPageFault(env, VA, LOAD);
    env.mmu.mxr = true;
    env.mmu.sum = false;
    expectPageFault(env, VA, LOAD);
    expect(env.tlbs.walk.walks).toBe(walks);
  });
});

describe("step 3: invalid and reserved PTE encodings are page faults", () => {
  for (const mode of [SV39, SV48]) {
    for (let level = mode.levels - 1; level >= 0; level--) {
      for (const access of ACCESSES) {
        it(`${mode.name}: V=0 at level ${level} -> ${ACCESS_NAME[access]} page fault ${PAGE_FAULT[access]}`, () => {
          const env = setup(mode);
          const path = mapPage(env, VA, DATA, S_RWX);
          env.bus.write64(path[level]!, readPte(env, path[level]!) & ~BigInt(V));
          expectPageFault(env, VA, access);
        });
      }
    }
  }

  for (const [name, xwr] of [["010 (W only)", W], ["110 (W+X)", W | X]] as const) {
    for (const access of ACCESSES) {
      it(`XWR=${name} is reserved: ${ACCESS_NAME[access]} page fault`, () => {
        const env = setup();
        mapPage(env, VA, DATA, V | A | D | xwr);
        expectPageFault(env, VA, access);
      });
    }
  }

  it("W=1,R=0 in a would-be pointer PTE (XWR=010 at level 2) is reserved, not a pointer", () => {
    const env = setup();
    const path = mapPage(env, VA, DATA, S_RWX);
    env.bus.write64(path[2]!, readPte(env, path[2]!) | BigInt(W));
    expectPageFault(env, VA, LOAD);
  });

  for (const bit of [54, 58, 59, 60, 61, 62, 63]) {
    it(`reserved bit ${bit} set in a leaf -> page fault (no Svpbmt/Svnapot/Svrsw60t59b)`, () => {
      for (const access of ACCESSES) {
        const env = setup();
        mapPage(env, VA, DATA, BigInt(S_RWX) | (1n << BigInt(bit)));
        expectPageFault(env, VA, access);
      }
    });
  }

  it("reserved bit 54 set in a non-leaf PTE -> page fault", () => {
    const env = setup();
    const path = mapPage(env, VA, DATA, S_RWX);
    env.bus.write64(path[1]!, readPte(env, path[1]!) | (1n << 54n));
    expectPageFault(env, VA, STORE);
  });
});

describe("step 4: non-leaf PTEs", () => {
  for (const [name, bit] of [["D", D], ["A", A], ["U", U]] as const) {
    for (const level of [2, 1]) {
      it(`a non-leaf PTE with ${name} set (level ${level}) is reserved -> page fault`, () => {
        const env = setup();
        const path = mapPage(env, VA, DATA, S_RWX | U);
        env.bus.write64(path[level]!, readPte(env, path[level]!) | BigInt(bit));
        for (const access of ACCESSES) expectPageFault(env, VA, access, PRV_U);
      });
    }
  }

  it("a pointer PTE at level 0 (i < 0 without a leaf) -> page fault after 3 PTE reads", () => {
    const env = setup();
    const path = mapPage(env, VA, DATA, S_RWX);
    env.bus.write64(path[0]!, pte(allocTable(env) / 4096, V));
    expectPageFault(env, VA, FETCH);
    expect(env.tlbs.walk.walkRefs).toBe(3);
  });
});

describe("steps 5 and 10: superpages", () => {
  it("a 2 MiB leaf with ppn[0] != 0 is misaligned -> page fault", () => {
    const env = setup();
    mapPage(env, 0x4020_0000n, 0x8060_0000 + 0x1000, S_RWX, 1);
    for (const access of ACCESSES) expectPageFault(env, 0x4020_0000n, access);
  });

  it("a 1 GiB leaf with ppn[1] != 0 is misaligned -> page fault", () => {
    const env = setup();
    mapPage(env, 0x4000_0000n, 0xc000_0000 + 0x20_0000, S_RWX, 2);
    expectPageFault(env, 0x4000_0000n, LOAD);
  });

  it("a 1 GiB leaf with ppn[0] != 0 is misaligned -> page fault", () => {
    const env = setup();
    mapPage(env, 0x4000_0000n, 0xc000_0000 + 0x1000, S_RWX, 2);
    expectPageFault(env, 0x4000_0000n, STORE);
  });

  it("an aligned 2 MiB leaf takes PA bits 20:0 from the VA (2 PTE reads)", () => {
    const env = setup();
    mapPage(env, 0x4020_0000n, 0x8060_0000, S_RWX, 1);
    expect(tr(env, 0x4020_0000n + 0x12_3456n, LOAD, PRV_S)).toBe(0x8060_0000 + 0x12_3456);
    expect(tr(env, 0x4020_0000n + 0x1f_fffan, STORE, PRV_S)).toBe(0x8060_0000 + 0x1f_fffa);
    expect(env.tlbs.walk).toEqual({ walks: 1, walkRefs: 2 });
  });

  it("an aligned 1 GiB leaf takes PA bits 29:0 from the VA", () => {
    const env = setup();
    mapPage(env, 0x8000_0000n, 0xc000_0000, S_RWX, 2);
    expect(tr(env, 0x8000_0000n + 0x1234_5678n, FETCH, PRV_S)).toBe(0xc000_0000 + 0x1234_5678);
    expect(tr(env, 0xbfff_fff8n, LOAD, PRV_S)).toBe(0xffff_fff8);
  });

  it("Sv48: an aligned 512 GiB leaf at level 3 takes PA bits 38:0 from the VA", () => {
    const env = setup(SV48);
    const pa = 2 ** 40;
    mapPage(env, 0x80_0000_0000n, pa, S_RWX, 3);
    expect(tr(env, 0x80_0000_0000n + 0x12_3456_789an, LOAD, PRV_S)).toBe(pa + 0x12_3456_789a);
    expect(env.tlbs.walk).toEqual({ walks: 1, walkRefs: 1 });
  });

  it("Sv48: a 512 GiB leaf with ppn[2] != 0 is misaligned -> page fault", () => {
    const env = setup(SV48);
    mapPage(env, 0x80_0000_0000n, 2 ** 40 + 2 ** 30, S_RWX, 3);
    expectPageFault(env, 0x80_0000_0000n, FETCH);
  });
});

describe("step 1: canonical VAs (RV-S §Sv39/§Sv48: upper bits equal bit VA_BITS-1, else page fault)", () => {
  const cases: Array<[PagingMode, bigint]> = [
    [SV39, 0x0000_0040_0000_0000n],
    [SV39, 0x0000_0080_0000_0000n],
    [SV39, 0xffff_ff80_0000_0000n],
    [SV39, 0x8000_0000_0000_1000n],
    [SV39, 0x0000_4000_0000_0000n],
    [SV48, 0x0000_8000_0000_0000n],
    [SV48, 0x0001_0000_0000_0000n],
    [SV48, 0xffff_0000_0000_0000n],
  ];
  for (const [mode, va] of cases) {
    it(`${mode.name}: 0x${va.toString(16)} is non-canonical -> page fault of each access type, no PTE read`, () => {
      const env = setup(mode);
      for (const access of ACCESSES) expectPageFault(env, va, access);
      expect(env.tlbs.walk.walkRefs).toBe(0);
    });
  }

  it("Sv39: canonical high addresses (0xFFFF_FFC0_0000_0000 region) translate through VPN[2] >= 256", () => {
    const env = setup();
    const va = 0xffff_ffc0_0000_1000n;
    const path = mapPage(env, va, DATA, S_RWX);
    expect(path[2]).toBe(env.root + 256 * 8);
    expect(tr(env, va + 0x10n, LOAD, PRV_S)).toBe(DATA + 0x10);
    expect(tr(env, 0xffff_ffff_ffff_f000n, LOAD, PRV_S)).toBe(-1);
    mapPage(env, 0xffff_ffff_ffff_f000n, DATA + 0x1000, S_RWX);
    expect(tr(env, 0xffff_ffff_ffff_fff8n, STORE, PRV_S)).toBe(DATA + 0x1ff8);
  });

  it("Sv48: a canonical high address translates, and an address beyond Sv39 but inside Sv48 does too", () => {
    const env = setup(SV48);
    mapPage(env, 0xffff_8000_0000_0000n, DATA, S_RWX);
    mapPage(env, 0x0000_4000_0000_0000n, DATA + 0x1000, S_RWX);
    expect(tr(env, 0xffff_8000_0000_0123n, LOAD, PRV_S)).toBe(DATA + 0x123);
    expect(tr(env, 0x0000_4000_0000_0123n, LOAD, PRV_S)).toBe(DATA + 0x1123);
  });
});

describe("step 2: a PTE read outside the bus map is an access fault of the original access type", () => {
  for (const access of ACCESSES) {
    it(`root table in a bus hole -> ${ACCESS_NAME[access]} access fault ${ACCESS_FAULT[access]}`, () => {
      const env = setup();
      env.mmu.rootPpn = 0x1000;
      expect(tr(env, VA, access, PRV_S)).toBe(-1);
      expect(env.mmu.cause).toBe(ACCESS_FAULT[access]);
    });
  }

  it("a level-1 pointer into a bus hole -> access fault", () => {
    const env = setup();
    const path = mapPage(env, VA, DATA, S_RWX);
    env.bus.write64(path[2]!, pte(0x4_0000, V));
    expect(tr(env, VA, STORE, PRV_S)).toBe(-1);
    expect(env.mmu.cause).toBe(CAUSE.STORE_ACCESS);
  });
});

describe("step 9, Svade (menvcfg.ADUE=0): A/D are checked, never written", () => {
  for (const access of ACCESSES) {
    it(`A=0 -> ${ACCESS_NAME[access]} page fault, PTE unchanged, no TLB fill`, () => {
      const env = setup();
      const leaf = mapPage(env, VA, DATA, V | R | W | X | D)[0]!;
      expectPageFault(env, VA, access);
      expect(readPte(env, leaf)).toBe(pte(DATA / 4096, V | R | W | X | D));
      expect(env.tlbs.stats().fills).toBe(0);
    });
  }

  it("store with D=0 -> cause 15; the entry is cached, so a following load hits without a walk", () => {
    const env = setup();
    const leaf = mapPage(env, VA, DATA, V | R | W | A)[0]!;
    expectPageFault(env, VA, STORE);
    expect(env.tlbs.dtlb.entries()).toHaveLength(1);
    const walks = env.tlbs.walk.walks;
    expect(tr(env, VA, LOAD, PRV_S)).toBe(DATA);
    expect(env.tlbs.walk.walks).toBe(walks);
    expectPageFault(env, VA, STORE);
    expect(readPte(env, leaf)).toBe(pte(DATA / 4096, V | R | W | A));
  });
});

describe("step 9, Svadu (menvcfg.ADUE=1): hardware sets A and D in the PTE", () => {
  function adu(flags: number): { env: Env; leaf: number } {
    const env = setup();
    env.mmu.adue = true;
    return { env, leaf: mapPage(env, VA, DATA, flags)[0]! };
  }

  it("a load of an A=0 page sets A (not D) in the PTE in RAM", () => {
    const { env, leaf } = adu(V | R | W);
    expect(tr(env, VA, LOAD, PRV_S)).toBe(DATA);
    expect(readPte(env, leaf)).toBe(pte(DATA / 4096, V | R | W | A));
    expect(env.tlbs.walk.walkRefs).toBe(4);
  });

  it("a fetch of an A=0 page sets A only", () => {
    const { env, leaf } = adu(V | X);
    expect(tr(env, VA, FETCH, PRV_S)).toBe(DATA);
    expect(readPte(env, leaf)).toBe(pte(DATA / 4096, V | X | A));
  });

  it("a store to an A=0,D=0 page sets A and D", () => {
    const { env, leaf } = adu(V | R | W);
    expect(tr(env, VA, STORE, PRV_S)).toBe(DATA);
    expect(readPte(env, leaf)).toBe(pte(DATA / 4096, V | R | W | A | D));
  });

  it("a store through a cached D=0 entry re-walks (walks +1) and sets D in RAM", () => {
    const { env, leaf } = adu(V | R | W | A);
    expect(tr(env, VA, LOAD, PRV_S)).toBe(DATA);
    const walks = env.tlbs.walk.walks;
    expect(tr(env, VA, STORE, PRV_S)).toBe(DATA);
    expect(env.tlbs.walk.walks).toBe(walks + 1);
    expect(readPte(env, leaf)).toBe(pte(DATA / 4096, V | R | W | A | D));
    expect(tr(env, VA, STORE, PRV_S)).toBe(DATA);
    expect(env.tlbs.walk.walks).toBe(walks + 1);
  });

  it("a permission-faulting access sets neither A nor D", () => {
    const { env, leaf } = adu(V | R);
    expectPageFault(env, VA, STORE);
    expectPageFault(env, VA, FETCH);
    expectPageFault(env, VA, LOAD, PRV_U);
    expect(readPte(env, leaf)).toBe(pte(DATA / 4096, V | R));
  });
});

describe("the architectural TLB (RV-S §sfence.vma caching rules)", () => {
  it("is sticky: after the PTE changes in RAM the old PA is used until SFENCE.VMA va", () => {
    const env = setup();
    const leaf = mapPage(env, VA, DATA, S_RWX)[0]!;
    expect(tr(env, VA, LOAD, PRV_S)).toBe(DATA);
    env.bus.write64(leaf, pte(DATA / 4096 + 7, S_RWX));
    expect(tr(env, VA, LOAD, PRV_S)).toBe(DATA);
    env.tlbs.invalidate({ kind: "sfence.vma va", vpn: Number(VA >> 12n) });
    expect(tr(env, VA, LOAD, PRV_S)).toBe(DATA + 7 * 4096);
  });

  it("an entry filled under ASID 1 is not used under ASID 2 (a new walk)", () => {
    const env = setup();
    env.mmu.asid = 1;
    const leaf = mapPage(env, VA, DATA, S_RWX)[0]!;
    expect(tr(env, VA, LOAD, PRV_S)).toBe(DATA);
    env.bus.write64(leaf, pte(DATA / 4096 + 1, S_RWX));
    env.mmu.asid = 2;
    expect(tr(env, VA, LOAD, PRV_S)).toBe(DATA + 4096);
    expect(env.tlbs.walk.walks).toBe(2);
    env.mmu.asid = 1;
    expect(tr(env, VA, LOAD, PRV_S)).toBe(DATA);
  });

  it("G=1 in a non-leaf PTE makes the leaf global: used under every ASID, kept by SFENCE.VMA x0, asid", () => {
    const env = setup();
    env.mmu.asid = 1;
    const leaf = mapPage(env, VA, DATA, S_RWX, 0, V | G)[0]!;
    const fills: FillEvent[] = [];
    env.mmu.onFill = (e) => fills.push(e);
    expect(tr(env, VA, LOAD, PRV_S)).toBe(DATA);
    expect(fills[0]!.global).toBe(true);
    env.bus.write64(leaf, pte(DATA / 4096 + 1, S_RWX));
    env.mmu.asid = 2;
    expect(tr(env, VA, LOAD, PRV_S)).toBe(DATA);
    env.tlbs.invalidate({ kind: "sfence.vma asid", asid: 1, keepGlobal: true });
    env.mmu.asid = 3;
    expect(tr(env, VA, LOAD, PRV_S)).toBe(DATA);
    expect(env.tlbs.walk.walks).toBe(1);
    env.tlbs.invalidate({ kind: "sfence.vma all" });
    expect(tr(env, VA, LOAD, PRV_S)).toBe(DATA + 4096);
  });

  it("invalid PTEs are never cached: after a V=0 fault, making the PTE valid needs no fence", () => {
    const env = setup();
    const leaf = mapPage(env, VA, DATA, S_RWX & ~V)[0]!;
    expectPageFault(env, VA, LOAD);
    env.bus.write64(leaf, pte(DATA / 4096, S_RWX));
    expect(tr(env, VA, LOAD, PRV_S)).toBe(DATA);
  });

  it("a fetch and a load of one page fill the separate I and D arrays", () => {
    const env = setup();
    mapPage(env, VA, DATA, S_RWX);
    tr(env, VA, FETCH, PRV_S);
    expect(env.tlbs.itlb.entries()).toHaveLength(1);
    expect(env.tlbs.dtlb.entries()).toHaveLength(0);
    expect(tr(env, VA, LOAD, PRV_S)).toBe(DATA);
    expect(env.tlbs.walk.walks).toBe(1);
    expect(env.tlbs.dtlb.entries()).toHaveLength(1);
  });

  it("flushOnPteWrite records the physical page of every PTE a walk read in mmu.ptePages", () => {
    const env = setup(SV39, { ...DEFAULT_TLB, flushOnPteWrite: true });
    const path = mapPage(env, VA, DATA, S_RWX);
    tr(env, VA, LOAD, PRV_S);
    expect([...env.mmu.ptePages!].sort()).toEqual(path.map((a) => Math.floor(a / 4096)).sort());
    expect(setup().mmu.ptePages).toBeUndefined();
  });
});

describe("walk counters and the onFill trace hook", () => {
  it("counts one walk and one PTE read per level: Sv39 4 KiB = 3, Sv48 4 KiB = 4, Sv39 2 MiB = 2; hits do not walk", () => {
    const cases: Array<[PagingMode, number, number]> = [[SV39, 0, 3], [SV48, 0, 4], [SV39, 1, 2], [SV48, 2, 2]];
    for (const [mode, level, refs] of cases) {
      const env = setup(mode);
      mapPage(env, 0x4000_0000n, 0xc000_0000, S_RWX, level);
      expect(tr(env, 0x4000_0000n, LOAD, PRV_S)).toBe(0xc000_0000);
      expect(tr(env, 0x4000_0008n, LOAD, PRV_S)).toBe(0xc000_0008);
      expect(env.tlbs.walk, `${mode.name} level ${level}`).toEqual({ walks: 1, walkRefs: refs });
    }
  });

  it("onFill receives the VA, ASID, level, PA and each step's pteAddr and PTE value as written", () => {
    const env = setup();
    env.mmu.asid = 5;
    const va = 0x4020_0000n + 0x1234n;
    const path = mapPage(env, va, 0x8060_0000, S_RWX, 1);
    const events: FillEvent[] = [];
    env.mmu.onFill = (e) => events.push(e);
    tr(env, va, STORE, PRV_S);
    expect(events).toEqual([{
      va, asid: 5, level: 1, pa: 0x8060_0000, global: false, perm: S_RWX,
      steps: [2, 1].map((level) => ({ level, pteAddr: path[level]!, pte: readPte(env, path[level]!) })),
    }]);
  });
});

describe("M-mode and Bare mode are identity maps (RV-S §satp: satp is active only in S and U)", () => {
  it("M-mode accesses are physical even when satp selects Sv39", () => {
    const env = setup();
    for (const access of ACCESSES) expect(tr(env, 0x8765_4321n, access, PRV_M)).toBe(0x8765_4321);
    expect(env.tlbs.walk.walks).toBe(0);
  });

  it("Bare mode (mode undefined) is physical in S and U, for addresses Sv39 would reject", () => {
    const env = setup();
    env.mmu.mode = undefined;
    for (const priv of [PRV_U, PRV_S]) {
      for (const access of ACCESSES) expect(tr(env, 0x12_3456_7890n, access, priv)).toBe(0x12_3456_7890);
    }
    expect(env.tlbs.walk.walks).toBe(0);
  });
});
