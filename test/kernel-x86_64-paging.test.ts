/**
 * The kernel's x86_64 page-table layer (kernel/arch/x86_64): IA-32e entries bit by bit as the SDM
 * lays them out, the number codec agreeing with the bigint encoder, and tables built by the neutral
 * AddressSpace translated by the emulator's walker with the rights and #PF error codes the flags
 * promise.
 * @spec Intel SDM Vol. 3A §4.5 Tables 4-15..4-20, §4.6 "Access Rights", §4.7 "Page-Fault Exceptions"; ARCH-SPEC §2.3-2.7
 */
import { describe, expect, it } from "vitest";
import { FETCH, LOAD, STORE, USER, X86Mmu, x86PageShifts, type Access } from "../emulator/arch/x86_64/mmu.js";
import { CR0, CR4, EFER, PF } from "../emulator/arch/x86_64/paging-defs.js";
import { DEFAULT_TLB, TlbSet } from "../emulator/core/tlb.js";
import { cr3Value, decode, encodeLeaf, encodeTable, PTE } from "../kernel/arch/x86_64/pte.js";
import { X86_PTE32 } from "../kernel/arch/x86_64/pte32.js";
import { X86_4LEVEL_PAGING, X86_5LEVEL_PAGING } from "../kernel/arch/x86_64/paging.js";
import { MemoryFlags as F } from "../kernel/mm/flags.js";
import type { FrameSource } from "../kernel/mm/frames.js";
import { validateFlags } from "../kernel/mm/safety.js";
import { AddressSpace } from "../kernel/mm/vm/index.js";
import { FakeHal } from "./support/fake-hal.js";
import { rng } from "./support/rng.js";

const RAM = 0x10_0000;
const bits = (v: bigint, ...ns: number[]): number[] => ns.map((n) => Number((v >> BigInt(n)) & 1n));
/** Accepted by the neutral safety checks and expressible on x86 (every present page is readable). */
const ACCEPTED: number[] = Array.from({ length: 256 }, (_, f) => f)
  .filter((f) => validateFlags(f, { supported: X86_4LEVEL_PAGING.supportedFlags }).ok)
  .filter((f) => (f & F.READ) !== 0 && !((f & F.UNCACHED) && (f & F.WRITE_THROUGH)));

describe("IA-32e entries", () => {
  it("a user read-write 4 KiB page: P, R/W, U/S, A, D, XD; no PS (bit 7 is PAT in a PTE)", () => {
    const e = encodeLeaf(0x20_1000n, F.userRw(), 0);
    expect(e).toBe(0x8000_0000_0020_1067n);
    expect(bits(e, 0, 1, 2, 5, 6, 7, 8, 63)).toEqual([1, 1, 1, 1, 1, 0, 0, 1]);
  });

  it("kernel text is global, read-only and executable; 2 MiB and 1 GiB pages set PS and must be aligned", () => {
    expect(encodeLeaf(0x20_0000n, F.kernelRx() | F.GLOBAL, 1)).toBe(0x20_01a1n);
    expect(bits(encodeLeaf(0x4000_0000n, F.kernelRw(), 2), 7)).toEqual([1]);
    expect(() => encodeLeaf(0x20_1000n, F.kernelRw(), 1)).toThrow(/0x200000-aligned/);
    expect(() => encodeLeaf(0n, F.kernelRw(), 3)).toThrow(/PS is reserved/);
  });

  it("COPY_ON_WRITE is ignored bit 9 with R/W and D clear", () => {
    expect(bits(encodeLeaf(0x20_2000n, F.userRo() | F.COPY_ON_WRITE, 0), 9, 1, 6)).toEqual([1, 0, 0]);
  });

  it("execute-only and write-only cannot be expressed; the MAXPHYADDR bound is enforced", () => {
    expect(() => encodeLeaf(0x1000n, F.EXECUTE | F.USER, 0)).toThrow(/lack READ/);
    expect(() => X86_4LEVEL_PAGING.encodeLeaf(1n << 40n, F.kernelRw(), 0)).toThrow(/40-bit/);
  });

  it("tables grant everything (rights come from the leaf)", () => {
    expect(encodeTable(0x30_0000n)).toBe(0x30_0027n);
    expect(decode(encodeTable(0x30_0000n), 3)).toMatchObject({ valid: true, leaf: false, pa: 0x30_0000n });
  });

  it("decode inverts encodeLeaf for every expressible flag set at every leaf level", () => {
    for (const f of ACCEPTED) {
      for (const level of [0, 1, 2]) {
        const d = decode(encodeLeaf(0x4000_0000n, f, level), level);
        expect({ f, level, flags: d.flags, leaf: d.leaf }).toEqual({ f, level, flags: f, leaf: true });
      }
    }
  });

  it("CR3 = root | PCID", () => {
    expect(cr3Value(0x123, 0x50_0000n)).toBe(0x50_0123n);
    expect(() => cr3Value(0x1000, 0n)).toThrow(/12 bits/);
  });

  it("the number codec gives the same halves as the bigint encoder", () => {
    const next = rng(11);
    for (let i = 0; i < 2000; i++) {
      const f = ACCEPTED[next() % ACCEPTED.length]!;
      const pa = ((next() % 2 ** 12) * 2 ** 16 + (next() % 2 ** 16)) * 4096;
      const e = encodeLeaf(BigInt(pa), f, 0);
      expect([X86_PTE32.leafLow(pa, f), X86_PTE32.leafHigh(pa, f)]).toEqual([Number(e & 0xffff_ffffn), Number(e >> 32n)]);
      expect(X86_PTE32.address(X86_PTE32.leafLow(pa, f), 0)).toBe(pa % 2 ** 32);
      const t = encodeTable(BigInt(pa));
      expect([X86_PTE32.tableLow(pa), X86_PTE32.tableHigh(pa)]).toEqual([Number(t & 0xffff_ffffn), Number(t >> 32n)]);
    }
  });

  it("4-level canonical addresses have bits 63:47 equal, 5-level bits 63:56", () => {
    expect(X86_4LEVEL_PAGING.isCanonical(0x7fff_ffff_f000n)).toBe(true);
    expect(X86_4LEVEL_PAGING.isCanonical(0x8000_0000_0000n)).toBe(false);
    expect(X86_4LEVEL_PAGING.isCanonical(0xffff_8000_0000_0000n)).toBe(true);
    expect(X86_5LEVEL_PAGING.isCanonical(0x8000_0000_0000n)).toBe(true);
    expect(X86_5LEVEL_PAGING.isCanonical(0xff00_0000_0000_0000n)).toBe(true);
    expect(X86_5LEVEL_PAGING.isCanonical(0xfe00_0000_0000_0000n)).toBe(false);
  });
});

class Frames implements FrameSource {
  private next = RAM + 0x400_0000;
  allocateFrame(): number { const f = this.next; this.next += 4096; return f; }
  freeFrame(): void {}
}

/** One address space with PCID 3, walked by X86Mmu with CR0.PG|WP, CR4.PAE|PGE|PCIDE|SMEP, EFER.LME|NXE. */
function machine() {
  const hal = new FakeHal(RAM, 128 << 20);
  const r = AddressSpace.create({ arch: X86_4LEVEL_PAGING, mem: hal, frames: new Frames(), asid: 3 });
  if (!r.ok) throw new Error(r.error.message);
  const space = r.space;
  const mmu = new X86Mmu(hal.bus, new TlbSet(DEFAULT_TLB, x86PageShifts));
  mmu.writeEfer(EFER.LME | EFER.NXE, 0);
  mmu.writeCr4(CR4.PAE | CR4.PGE | CR4.PCIDE | CR4.SMEP, 0);
  const cr3 = space.rootRegister();
  mmu.writeCr3(Number(cr3 & 0xffff_ffffn), Number(cr3 >> 32n));
  mmu.writeCr0(CR0.PG | CR0.WP | 1, 0);
  const map = (va: bigint, pa: bigint, size: bigint, flags: number) => {
    const m = space.map(va, pa, size, flags);
    if (!m.ok) throw new Error(m.error.message);
    m.flush.ignore();
  };
  /** translate(): the PA, or "#PF ec=N" / "#GP". */
  const at = (va: bigint, access: Access, mode: number): number | string => {
    const pa = mmu.translate(Number(va & 0xffff_ffffn) | 0, Number(va >> 32n) | 0, access, mode);
    return pa >= 0 ? pa : mmu.vector === 14 ? `#PF ec=${mmu.errorCode}` : `#GP`;
  };
  return { space, mmu, map, at };
}

const { P, WR, US, ID } = PF;

describe("tables built by the kernel, walked by the emulator's IA-32e MMU", () => {
  it("user RW data: readable and writable from CPL 3, never executable (XD); SMEP forbids supervisor fetches", () => {
    const m = machine();
    m.map(0x40_0000n, 0x20_0000n, 0x1000n, F.userRw());
    expect(m.at(0x40_0123n, LOAD, USER)).toBe(0x20_0123);
    expect(m.at(0x40_0123n, STORE, USER)).toBe(0x20_0123);
    expect(m.at(0x40_0000n, FETCH, USER)).toBe(`#PF ec=${P | US | ID}`);
  });

  it("user RX text: fetches from CPL 3, a store is #PF P|W|U; a CPL 0 fetch is refused by SMEP", () => {
    const m = machine();
    m.map(0x40_1000n, 0x20_1000n, 0x1000n, F.userRx());
    expect(m.at(0x40_1000n, FETCH, USER)).toBe(0x20_1000);
    expect(m.at(0x40_1000n, STORE, USER)).toBe(`#PF ec=${P | WR | US}`);
    expect(m.at(0x40_1000n, FETCH, 0)).toBe(`#PF ec=${P | ID}`);
  });

  it("copy-on-write: reads succeed, the first store is #PF P|W|U — and with CR0.WP a supervisor store faults too", () => {
    const m = machine();
    m.map(0x40_2000n, 0x20_2000n, 0x1000n, F.userRo() | F.COPY_ON_WRITE);
    expect(m.at(0x40_2008n, LOAD, USER)).toBe(0x20_2008);
    expect(m.at(0x40_2008n, STORE, USER)).toBe(`#PF ec=${P | WR | US}`);
    expect(m.at(0x40_2008n, STORE, 0)).toBe(`#PF ec=${P | WR}`);
  });

  it("the kernel half: a global 2 MiB page of the direct map, invisible to CPL 3", () => {
    const m = machine();
    m.map(0xffff_8000_0000_0000n, 0x20_0000n, 0x20_0000n, F.kernelRw() | F.GLOBAL);
    expect(m.space.walkPageTable(0xffff_8000_0000_0000n).length).toBe(3);
    expect(m.at(0xffff_8000_001f_fff8n, STORE, 0)).toBe(0x3f_fff8);
    expect(m.at(0xffff_8000_0000_0000n, LOAD, USER)).toBe(`#PF ec=${P | US}`);
  });

  it("unmapped pages are #PF with P=0; a non-canonical address is #GP, not #PF", () => {
    const m = machine();
    expect(m.at(0x40_0000n, LOAD, USER)).toBe(`#PF ec=${US}`);
    expect(m.at(0x40_0000n, STORE, 0)).toBe(`#PF ec=${WR}`);
    expect(m.at(0x8000_0000_0000n, LOAD, 0)).toBe("#GP");
  });

  it("non-global entries are tagged with the PCID of CR3", () => {
    const m = machine();
    m.map(0x40_0000n, 0x20_0000n, 0x1000n, F.userRw());
    expect(m.at(0x40_0000n, LOAD, USER)).toBe(0x20_0000);
    expect(m.mmu.tlbs.dtlb.lookup(0x400, 3)).toBeGreaterThanOrEqual(0);
    expect(m.mmu.tlbs.dtlb.lookup(0x400, 4)).toBe(-1);
  });
});
