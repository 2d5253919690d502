/**
 * The kernel's AArch64 page-table layer (kernel/arch/arm64): descriptors bit by bit as the Arm ARM
 * lays them out, the number codec agreeing with the bigint encoder, and tables built by the neutral
 * AddressSpace translated by the emulator's VMSAv8-64 walker with the permissions and faults the
 * flags promise.
 * @spec Arm ARM D8.3 "Translation table descriptor formats", D8.4 "Memory access control"; ARCH-SPEC §3.3-3.5
 */
import { describe, expect, it } from "vitest";
import { arm64PageShifts, Arm64Mmu, FETCH, FSC, LOAD, STORE, type Access } from "../emulator/arch/arm64/mmu.js";
import { DEFAULT_TLB, TlbSet } from "../emulator/core/tlb.js";
import { decode, DESC, encodeLeaf, encodeTable, MAIR_VALUE, ttbrValue } from "../kernel/arch/arm64/descriptors.js";
import { ARM64_DESC32 } from "../kernel/arch/arm64/descriptors32.js";
import { ARM64_4K_48 } from "../kernel/arch/arm64/paging.js";
import { MemoryFlags as F } from "../kernel/mm/flags.js";
import type { FrameSource } from "../kernel/mm/frames.js";
import { validateFlags } from "../kernel/mm/safety.js";
import { AddressSpace } from "../kernel/mm/vm/index.js";
import { FakeHal } from "./support/fake-hal.js";
import { rng } from "./support/rng.js";

const RAM = 0x4000_0000;
const bits = (v: bigint, ...ns: number[]): number[] => ns.map((n) => Number((v >> BigInt(n)) & 1n));

/** Every flag combination the neutral safety checks accept (COW without WRITE, no W+X, no USER+GLOBAL...). */
const ACCEPTED: number[] = Array.from({ length: 256 }, (_, f) => f).filter((f) => validateFlags(f, { supported: ARM64_4K_48.supportedFlags }).ok);

describe("AArch64 descriptors (4 KiB granule, 48-bit OA)", () => {
  it("a user read-write page: bits[1:0]=11, AttrIndx 0, SH=11, AP=01, AF, nG, PXN and UXN", () => {
    const d = encodeLeaf(0x4000_1000n, F.userRw(), 0);
    expect(d).toBe(0x0060_0000_4000_1f43n);
    expect(bits(d, 0, 1, 6, 7, 10, 11, 53, 54)).toEqual([1, 1, 1, 0, 1, 1, 1, 1]);
  });

  it("kernel text: AP=10 (read-only, no EL0), UXN, PXN clear, global", () => {
    expect(encodeLeaf(0x4020_0000n, F.kernelRx() | F.GLOBAL, 0)).toBe(0x0040_0000_4020_0783n);
  });

  it("blocks at neutral levels 1 and 2 (Arm levels 2 and 1) have bits[1:0]=01 and must be aligned", () => {
    expect(encodeLeaf(0x4020_0000n, F.kernelRw(), 1) & 3n).toBe(1n);
    expect(encodeLeaf(0x4000_0000n, F.kernelRw(), 2) & 3n).toBe(1n);
    expect(() => encodeLeaf(0x4020_1000n, F.kernelRw(), 1)).toThrow(/0x200000-aligned/);
    expect(() => encodeLeaf(0n, F.kernelRw(), 3)).toThrow(/no leaf at level 3/);
  });

  it("COPY_ON_WRITE is software bit 55 with AP[2]=1: the first store takes a Permission fault", () => {
    const d = encodeLeaf(0x4000_2000n, F.userRo() | F.COPY_ON_WRITE, 0);
    expect(bits(d, 55, 7, 6)).toEqual([1, 1, 1]);
  });

  it("UNCACHED is Device-nGnRE (AttrIndx 1), WRITE_THROUGH is AttrIndx 2, and MAIR holds those attributes", () => {
    expect(Number((encodeLeaf(0x0900_0000n, F.kernelRw() | F.UNCACHED, 0) >> 2n) & 7n)).toBe(1);
    expect(Number((encodeLeaf(0x4000_0000n, F.kernelRw() | F.WRITE_THROUGH, 0) >> 2n) & 7n)).toBe(2);
    expect([(MAIR_VALUE >> 0n) & 0xffn, (MAIR_VALUE >> 8n) & 0xffn, (MAIR_VALUE >> 16n) & 0xffn]).toEqual([0xffn, 0x04n, 0xbbn]);
    expect(() => encodeLeaf(0x0900_0000n, F.kernelRx() | F.UNCACHED, 0)).toThrow(/Device memory/);
  });

  it("a user execute-only page is AP=10 with UXN clear (EL0 may fetch, not read)", () => {
    const d = encodeLeaf(0x4000_3000n, F.EXECUTE | F.USER, 0);
    expect(bits(d, 6, 7, 53, 54)).toEqual([0, 1, 1, 0]);
    expect(decode(d, 0).flags).toBe(F.EXECUTE | F.USER);
  });

  it("decode inverts encodeLeaf for every accepted flag set at every leaf level", () => {
    for (const f of ACCEPTED) {
      if ((f & F.EXECUTE) && !(f & F.READ) && !(f & F.USER)) continue; // EL1 execute-only: refused by encodeLeaf
      if ((f & F.UNCACHED) && ((f & F.EXECUTE) || (f & F.WRITE_THROUGH))) continue;
      for (const level of [0, 1, 2]) {
        const pa = 0x4000_0000n;
        const d = decode(encodeLeaf(pa, f, level), level);
        expect({ f, level, flags: d.flags, leaf: d.leaf, valid: d.valid, pa: d.pa }).toEqual({ f, level, flags: f, leaf: true, valid: true, pa });
      }
    }
  });

  it("tables are bits[1:0]=11 at any level above the last; 01 where no block is allowed is reserved", () => {
    const t = encodeTable(0x4010_0000n);
    expect(t).toBe(0x4010_0003n);
    expect(decode(t, 3)).toMatchObject({ valid: true, leaf: false, pa: 0x4010_0000n });
    expect(decode(0x4000_0001n, 0)).toMatchObject({ valid: false, reserved: true });
    expect(decode(0x4000_0001n, 3)).toMatchObject({ valid: false, reserved: true });
  });

  it("TTBR = ASID in 63:48 | BADDR", () => {
    expect(ttbrValue(0x1234, 0x4000_5000n)).toBe(0x1234_0000_4000_5000n);
    expect(() => ttbrValue(0x10000, 0n)).toThrow(/16 bits/);
  });

  it("the number codec gives the same halves as the bigint encoder", () => {
    const next = rng(7);
    for (let i = 0; i < 2000; i++) {
      const f = ACCEPTED[next() % ACCEPTED.length]!;
      if ((f & F.EXECUTE) && !(f & F.READ) && !(f & F.USER)) continue;
      if ((f & F.UNCACHED) && ((f & F.EXECUTE) || (f & F.WRITE_THROUGH))) continue;
      const pa = ((next() % 2 ** 20) * 2 ** 16 + (next() % 2 ** 16)) * 4096;
      const d = encodeLeaf(BigInt(pa), f, 0);
      expect([ARM64_DESC32.leafLow(pa, f), ARM64_DESC32.leafHigh(pa, f)]).toEqual([Number(d & 0xffff_ffffn), Number(d >> 32n)]);
      expect(ARM64_DESC32.address(ARM64_DESC32.leafLow(pa, f), ARM64_DESC32.leafHigh(pa, f))).toBe(pa);
      const t = encodeTable(BigInt(pa));
      expect([ARM64_DESC32.tableLow(pa), ARM64_DESC32.tableHigh(pa)]).toEqual([Number(t & 0xffff_ffffn), Number(t >> 32n)]);
    }
  });
});

/** Consecutive frames from the top half of the fake RAM. */
class Frames implements FrameSource {
  private next = RAM + 0x400_0000;
  allocateFrame(): number { const f = this.next; this.next += 4096; return f; }
  freeFrame(): void {}
}

/** A kernel space (TTBR1) and a user space (TTBR0, ASID 5) built by AddressSpace, walked by Arm64Mmu. */
function machine() {
  const hal = new FakeHal(RAM);
  const frames = new Frames();
  const make = (asid: number) => {
    const r = AddressSpace.create({ arch: ARM64_4K_48, mem: hal, frames, asid });
    if (!r.ok) throw new Error(r.error.message);
    return r.space;
  };
  const kernel = make(0), user = make(5);
  const mmu = new Arm64Mmu(hal.bus, new TlbSet(DEFAULT_TLB, arm64PageShifts));
  // TCR_EL1: T0SZ = T1SZ = 16, TG0 = 4K (00), TG1 = 4K (10), IPS = 48 bits (101), AS = 1 (16-bit ASIDs).
  mmu.writeTcr(16 | (16 << 16) | (2 << 30), 5 | (1 << 4));
  mmu.writeMair(Number(MAIR_VALUE & 0xffff_ffffn), 0);
  const set = (v: bigint, w: (lo: number, hi: number) => void) => w(Number(v & 0xffff_ffffn), Number(v >> 32n));
  set(kernel.rootRegister(), (lo, hi) => mmu.writeTtbr1(lo, hi));
  set(user.rootRegister(), (lo, hi) => mmu.writeTtbr0(lo, hi));
  mmu.writeSctlr(1, 0);
  const map = (space: AddressSpace, va: bigint, pa: bigint, size: bigint, flags: number) => {
    const m = space.map(va, pa, size, flags);
    if (!m.ok) throw new Error(m.error.message);
    m.flush.ignore();
  };
  /** translate(): the PA, or "fault 0xNN" with the FSC. */
  const at = (va: bigint, access: Access, el: number): number | string => {
    const pa = mmu.translate(Number(va & 0xffff_ffffn) | 0, Number(va >> 32n) | 0, access, el);
    return pa < 0 ? `fault 0x${mmu.fsc.toString(16)}` : pa;
  };
  return { hal, kernel, user, mmu, map, at };
}

const PERM_L3 = `fault 0x${(FSC.PERMISSION + 3).toString(16)}`;

describe("tables built by the kernel, walked by the emulator's stage-1 MMU", () => {
  it("user pages: RW for EL0 and EL1, never executable at EL1 (PXN); RX executable at EL0, not writable", () => {
    const m = machine();
    m.map(m.user, 0x40_0000n, 0x4010_0000n, 0x1000n, F.userRw());
    m.map(m.user, 0x40_1000n, 0x4010_1000n, 0x1000n, F.userRx());
    expect(m.at(0x40_0123n, LOAD, 0)).toBe(0x4010_0123);
    expect(m.at(0x40_0123n, STORE, 0)).toBe(0x4010_0123);
    expect(m.at(0x40_0123n, STORE, 1)).toBe(0x4010_0123);
    expect(m.at(0x40_0000n, FETCH, 0)).toBe(PERM_L3);
    expect(m.at(0x40_1000n, FETCH, 0)).toBe(0x4010_1000);
    expect(m.at(0x40_1000n, FETCH, 1)).toBe(PERM_L3);
    expect(m.at(0x40_1000n, STORE, 0)).toBe(PERM_L3);
  });

  it("PAN: with PSTATE.PAN an EL1 load of a user page is a Permission fault; kernel pages are unaffected", () => {
    const m = machine();
    m.map(m.user, 0x40_0000n, 0x4010_0000n, 0x1000n, F.userRw());
    m.map(m.kernel, 0xffff_ffc0_0000_0000n, BigInt(RAM), 0x20_0000n, F.kernelRw() | F.GLOBAL);
    m.mmu.pan = true;
    expect(m.at(0x40_0000n, LOAD, 1)).toBe(PERM_L3);
    expect(m.at(0x40_0000n, LOAD, 0)).toBe(0x4010_0000);
    expect(m.at(0xffff_ffc0_0000_1000n, LOAD, 1)).toBe(RAM + 0x1000);
  });

  it("the kernel half lives in TTBR1: a 2 MiB block of the direct map, not accessible from EL0, not executable", () => {
    const m = machine();
    m.map(m.kernel, 0xffff_ffc0_0000_0000n, BigInt(RAM), 0x20_0000n, F.kernelRw() | F.GLOBAL);
    expect(m.kernel.walkPageTable(0xffff_ffc0_0000_0000n).length).toBe(3); // Arm levels 0, 1, 2 (block)
    expect(m.at(0xffff_ffc0_001f_fff8n, STORE, 1)).toBe(RAM + 0x1f_fff8);
    expect(m.at(0xffff_ffc0_0000_0000n, LOAD, 0)).toBe(`fault 0x${(FSC.PERMISSION + 2).toString(16)}`);
    expect(m.at(0xffff_ffc0_0000_0000n, FETCH, 1)).toBe(`fault 0x${(FSC.PERMISSION + 2).toString(16)}`);
  });

  it("copy-on-write pages read, and their first store is a Permission fault at level 3", () => {
    const m = machine();
    m.map(m.user, 0x40_0000n, 0x4010_0000n, 0x1000n, F.userRo() | F.COPY_ON_WRITE);
    expect(m.at(0x40_0010n, LOAD, 0)).toBe(0x4010_0010);
    expect(m.at(0x40_0010n, STORE, 0)).toBe(PERM_L3);
  });

  it("unmapped addresses give a Translation fault at the level where the walk found an invalid descriptor", () => {
    const m = machine();
    expect(m.at(0x40_0000n, LOAD, 0)).toBe(`fault 0x${FSC.TRANSLATION.toString(16)}`); // empty root: level 0
    m.map(m.user, 0x40_0000n, 0x4010_0000n, 0x1000n, F.userRw());
    expect(m.at(0x40_1000n, LOAD, 0)).toBe(`fault 0x${(FSC.TRANSLATION + 3).toString(16)}`);
    expect(m.at(0x8000_0000n, LOAD, 0)).toBe(`fault 0x${(FSC.TRANSLATION + 1).toString(16)}`);
  });

  it("non-global user entries are tagged with the TTBR0 ASID: another ASID misses them", () => {
    const m = machine();
    m.map(m.user, 0x40_0000n, 0x4010_0000n, 0x1000n, F.userRw());
    expect(m.at(0x40_0000n, LOAD, 0)).toBe(0x4010_0000);
    const tlb = m.mmu.tlbs.dtlb;
    expect(tlb.lookup(0x400, 5)).toBeGreaterThanOrEqual(0);
    expect(tlb.lookup(0x400, 6)).toBe(-1);
  });
});

describe("remap on arm64: break-before-make", () => {
  it("a copy-on-write swap writes an invalid descriptor and flushes it before writing the new frame's", () => {
    const m = machine();
    m.map(m.user, 0x40_0000n, 0x4010_0000n, 0x1000n, F.userRo() | F.COPY_ON_WRITE);
    const pteAddr = m.user.walkPageTable(0x40_0000n).at(-1)!.pteAddr;
    const seen: string[] = [];
    const tlb = {
      flushPage: (va: bigint, asid: number) => { seen.push(`flush 0x${va.toString(16)} asid ${asid}, descriptor 0x${m.hal.read64(Number(pteAddr)).toString(16)}`); },
      flushAsid: () => { seen.push("asid"); },
      flushAll: () => { seen.push("all"); },
    };
    const r = m.user.remap(0x40_0000n, 0x4010_5000n, F.userRw(), {}, tlb);
    expect(r.ok).toBe(true);
    // @spec Arm ARM D8.16.1: the old (read-only) and new (writable) entries differ in output address.
    expect(seen).toEqual(["flush 0x400000 asid 5, descriptor 0x0"]);
    expect(m.at(0x40_0123n, STORE, 0)).toBe(0x4010_5123);
  });
});
