/**
 * The kernel's virtual-memory layer: MemoryFlags, safety checks, the RISC-V PTE layer, and
 * AddressSpace over a FakeHal with a bump FrameSource. Page tables are checked bit by bit in RAM
 * against the Sv39/Sv48 format, and finally walked by the emulator's own MMU.
 * @spec ARCH-SPEC §4.2 (PTE and VA formats), §4.3 (translation steps), §4.5 (Svade), §4.7 (SFENCE.VMA)
 */
import { describe, expect, it } from "vitest";
import { CAUSE, PRV_S, PRV_U } from "../emulator/arch/riscv64/defs.js";
import { type Access, FETCH, LOAD, Mmu, RISCV_PAGE_SHIFTS, STORE, SV39 as EMU_SV39, SV48 as EMU_SV48, type PagingMode as EmuMode } from "../emulator/arch/riscv64/mmu.js";
import { DEFAULT_TLB, TlbSet } from "../emulator/core/tlb.js";
import { RISCV_SV39, RISCV_SV48 } from "../kernel/arch/riscv64/paging.js";
import { decode, encodeLeaf, encodeTable, isCanonical, PTE, PTE_SW_COW, satpValue, SV39, SV48 } from "../kernel/arch/riscv64/pte.js";
import type { TlbControl } from "../kernel/hal.js";
import { describeFlags, flagNames, MemoryFlags } from "../kernel/mm/flags.js";
import type { FrameSource } from "../kernel/mm/frames.js";
import { checkAlignment, validateAddressRange, validateFlags } from "../kernel/mm/safety.js";
import { AddressSpace, type AddressSpaceOptions, type ArchPaging, FLUSH_CEILING, type VmError } from "../kernel/mm/vm/index.js";
import { FakeHal } from "./support/fake-hal.js";

const F = MemoryFlags;
const KiB4 = 0x1000n;
const MiB2 = 0x20_0000n;
const GiB1 = 0x4000_0000n;
/** First VA of the Sv39 kernel half (2^64 - 2^38). */
const SV39_KERNEL = 0xffff_ffc0_0000_0000n;
/** First VA of the Sv48 kernel half (2^64 - 2^47). */
const SV48_KERNEL = 0xffff_8000_0000_0000n;

/** A FrameSource handing out consecutive frames of a region, recording every free. */
class BumpFrames implements FrameSource {
  readonly live = new Set<number>();
  readonly freed: number[] = [];
  allocated = 0;
  private next: number;
  private readonly end: number;

  constructor(base = 0x8100_0000, count = 4096) {
    this.next = base;
    this.end = base + count * 4096;
  }

  allocateFrame(): number | undefined {
    if (this.next >= this.end) return undefined;
    const f = this.next;
    this.next += 4096;
    this.live.add(f);
    this.allocated++;
    return f;
  }

  freeFrame(pa: number): void {
    if (!this.live.delete(pa)) throw new Error(`BumpFrames: 0x${pa.toString(16)} freed but not allocated`);
    this.freed.push(pa);
  }
}

interface Env { hal: FakeHal; frames: BumpFrames; space: AddressSpace }

function setup(arch: ArchPaging = RISCV_SV39, opts: Partial<AddressSpaceOptions> & { frameCount?: number } = {}): Env {
  const hal = new FakeHal();
  const frames = new BumpFrames(0x8100_0000, opts.frameCount ?? 4096);
  const r = AddressSpace.create({ arch, mem: hal, frames, asid: 7, ...opts });
  if (!r.ok) throw new Error(r.error.message);
  return { hal, frames, space: r.space };
}

/** Maps and flushes, failing the test on refusal. */
function mapOk(env: Env, va: bigint, pa: bigint, size: bigint, flags: number): readonly number[] {
  const r = env.space.map(va, pa, size, flags);
  if (!r.ok) throw new Error(r.error.message);
  r.flush.flush(env.hal.tlb);
  return r.leaves;
}

/** The error of a refused operation (fails when it succeeded). */
function errorOf(r: { ok: true } | { ok: false; error: VmError }): VmError {
  if (r.ok) throw new Error("expected a refusal");
  return r.error;
}

const bit = (v: bigint, n: number): number => Number((v >> BigInt(n)) & 1n);
const bits = (v: bigint, hi: number, lo: number): bigint => (v >> BigInt(lo)) & ((1n << BigInt(hi - lo + 1)) - 1n);
/** VPN[level] straight from the Sv39/Sv48 VA figure. */
const vpnOf = (va: bigint, level: number): number => Number(bits(va, 20 + 9 * level, 12 + 9 * level));

describe("MemoryFlags", () => {
  it("preset helpers grant exactly their names and never GLOBAL", () => {
    expect(F.kernelRw()).toBe(F.READ | F.WRITE);
    expect(F.kernelRo()).toBe(F.READ);
    expect(F.kernelRx()).toBe(F.READ | F.EXECUTE);
    expect(F.userRw()).toBe(F.READ | F.WRITE | F.USER);
    expect(F.userRo()).toBe(F.READ | F.USER);
    expect(F.userRx()).toBe(F.READ | F.EXECUTE | F.USER);
    expect([F.READ, F.WRITE, F.EXECUTE, F.USER, F.GLOBAL, F.UNCACHED, F.WRITE_THROUGH, F.COPY_ON_WRITE]).toEqual([1, 2, 4, 8, 16, 32, 64, 128]);
  });

  it("describeFlags prints one column per bit, in bit order", () => {
    expect(describeFlags(F.userRw())).toBe("R W - U - - - -");
    expect(describeFlags(F.ALL)).toBe("R W X U G N T C");
    expect(describeFlags(0)).toBe("- - - - - - - -");
    expect(describeFlags(F.READ | 0x100)).toBe("R - - - - - - - +0x100");
    expect(flagNames(F.userRo() | F.COPY_ON_WRITE)).toBe("READ|USER|COPY_ON_WRITE");
  });
});

describe("safety checks", () => {
  it("validateAddressRange accepts ranges inside one canonical half and names bad values", () => {
    expect(validateAddressRange(0x1000n, 0x2000n, "user", SV39)).toEqual({ ok: true });
    expect(validateAddressRange(0x3f_ffff_f000n, 0x1000n, "user", SV39)).toEqual({ ok: true });
    expect(validateAddressRange(SV39_KERNEL, 0x1000n, "kernel", SV39)).toEqual({ ok: true });
    expect(validateAddressRange(0xffff_ffff_ffff_f000n, 0x1000n, "kernel", SV39)).toEqual({ ok: true });
    const cases: [bigint, bigint, "user" | "kernel", string][] = [
      [0x40_0000_0000n, 0x1000n, "user", "start 0x4000000000 is not canonical for 39-bit VAs"],
      [0x3f_ffff_f000n, 0x2000n, "user", "last byte 0x4000000fff is not canonical"],
      [0xffff_ffff_ffff_f000n, 0x2000n, "kernel", "wraps past 2^64"],
      [0x1000n, 0n, "user", "size 0x0 at 0x1000 is not positive"],
      [-0x1000n, 0x1000n, "user", "start -0x1000 is not an unsigned 64-bit address"],
      [0x1000n, 0x1000n, "kernel", "leaves the kernel half"],
      [SV39_KERNEL, 0x1000n, "user", "leaves the user half"],
    ];
    for (const [start, size, half, msg] of cases) {
      const r = validateAddressRange(start, size, half, SV39);
      expect(r.ok, msg).toBe(false);
      if (!r.ok) expect(r.error).toContain(msg);
    }
    expect(validateAddressRange(0x40_0000_0000n, 0x1000n, "user", SV48)).toEqual({ ok: true });
  });

  it("checkAlignment names the address and the page size", () => {
    expect(checkAlignment(0x20_0000n, 0x20_0000)).toEqual({ ok: true });
    expect(checkAlignment(0x20_1000n, 0x20_0000)).toEqual({ ok: false, error: "0x201000 is not aligned to 0x200000" });
  });

  it("validateFlags refuses W+X, USER+GLOBAL, W without R, COW with W, no access and undefined bits", () => {
    const refused: [number, string][] = [
      [F.READ | F.WRITE | F.EXECUTE, "both writable and executable"],
      [F.userRo() | F.GLOBAL, "both USER and GLOBAL"],
      [F.WRITE, "WRITE without READ"],
      [F.userRw() | F.COPY_ON_WRITE, "COPY_ON_WRITE with WRITE"],
      [F.USER, "grant no access"],
      [F.READ | 0x100, "undefined bits"],
    ];
    for (const [flags, msg] of refused) {
      const r = validateFlags(flags);
      expect(r.ok, msg).toBe(false);
      if (!r.ok) {
        expect(r.error).toContain(msg);
        expect(r.error).toContain(`0x${flags.toString(16)}`);
      }
    }
    expect(validateFlags(F.READ | F.WRITE | F.EXECUTE, { allowWX: true })).toEqual({ ok: true });
    expect(validateFlags(F.WRITE, { allowWriteOnly: true })).toEqual({ ok: true });
    expect(validateFlags(F.userRo() | F.COPY_ON_WRITE)).toEqual({ ok: true });
    expect(validateFlags(F.kernelRw() | F.GLOBAL)).toEqual({ ok: true });
    const r = validateFlags(F.kernelRw() | F.UNCACHED, { supported: RISCV_SV39.supportedFlags });
    expect(r).toEqual({ ok: false, error: "flags 0x23 (R W - - - N - -): UNCACHED cannot be expressed by this page-table format" });
  });
});

describe("RISC-V PTE layer (RV-S §Sv39 PTE figure, table pteperm)", () => {
  it("encodeLeaf sets V, the permission bits, A always and D only for writable pages (Svade)", () => {
    const pa = 0x8040_5000n;
    const ppn = pa >> 12n;
    const { V, R, W, X, U, G, A, D } = PTE;
    expect(encodeLeaf(pa, F.userRw(), 0)).toBe((ppn << 10n) | V | R | W | U | A | D);
    expect(encodeLeaf(pa, F.kernelRo(), 0)).toBe((ppn << 10n) | V | R | A);
    expect(encodeLeaf(pa, F.kernelRx() | F.GLOBAL, 0)).toBe((ppn << 10n) | V | R | X | G | A);
    expect(encodeLeaf(pa, F.EXECUTE, 0)).toBe((ppn << 10n) | V | X | A);
  });

  it("COPY_ON_WRITE is RSW bit 8 with W (and D) clear", () => {
    const pte = encodeLeaf(0x8040_5000n, F.userRo() | F.COPY_ON_WRITE, 0);
    expect(pte & PTE_SW_COW).toBe(1n << 8n);
    expect(pte & (PTE.W | PTE.D)).toBe(0n);
    expect(decode(pte).flags).toBe(F.userRo() | F.COPY_ON_WRITE);
  });

  it("a superpage leaf must be aligned to its level (step 5) and fit 56 bits", () => {
    expect(() => encodeLeaf(0x8000_1000n, F.kernelRw(), 1)).toThrow(RangeError);
    expect(() => encodeLeaf(0x8020_0000n, F.kernelRw(), 2)).toThrow("0x80200000");
    expect(() => encodeLeaf(1n << 56n, F.kernelRw(), 0)).toThrow(RangeError);
    expect(encodeLeaf(0xc000_0000n, F.kernelRw(), 2) >> 10n).toBe(0xc0000n);
    expect(() => encodeLeaf(0x1000n, F.kernelRw() | F.UNCACHED, 0)).toThrow("UNCACHED");
  });

  it("encodeTable is V with XWR=000 and U/A/D clear (reserved in non-leaf PTEs)", () => {
    const t = encodeTable(0x8100_3000n);
    expect(t).toBe((0x81003n << 10n) | PTE.V);
    const d = decode(t);
    expect(d).toMatchObject({ valid: true, leaf: false, pa: 0x8100_3000n, flags: 0, reserved: false });
  });

  it("decode reports every field and flags reserved encodings", () => {
    const d = decode(encodeLeaf(0x1_2345_6000n, F.userRw(), 0));
    expect(d).toEqual({ valid: true, leaf: true, pa: 0x1_2345_6000n, flags: F.userRw(), accessed: true, dirty: true, global: false, user: true, reserved: false });
    expect(decode(PTE.V | PTE.W).reserved).toBe(true);
    expect(decode(PTE.V | PTE.R | (1n << 54n)).reserved).toBe(true);
    expect(decode(PTE.V | PTE.A).reserved).toBe(true);
    expect(decode(0n).valid).toBe(false);
  });

  it("satp = MODE 63:60 | ASID 59:44 | PPN 43:0 (RV-S §satp)", () => {
    expect(satpValue(SV39, 7, 0x8100_0000n)).toBe((8n << 60n) | (7n << 44n) | 0x81000n);
    expect(satpValue(SV48, 0xffff, 0x8100_0000n)).toBe((9n << 60n) | (0xffffn << 44n) | 0x81000n);
    expect(() => satpValue(SV39, 0x10000, 0x8100_0000n)).toThrow("ASID 65536");
    expect(() => satpValue(SV39, 1, 0x8100_0800n)).toThrow("0x81000800");
  });

  it("canonical VAs have bits 63:vaBits-1 all equal", () => {
    expect(isCanonical(0x3f_ffff_ffffn, SV39)).toBe(true);
    expect(isCanonical(0x40_0000_0000n, SV39)).toBe(false);
    expect(isCanonical(SV39_KERNEL, SV39)).toBe(true);
    expect(isCanonical(SV39_KERNEL - 1n, SV39)).toBe(false);
    expect(isCanonical(0x7fff_ffff_ffffn, SV48)).toBe(true);
    expect(isCanonical(0x8000_0000_0000n, SV48)).toBe(false);
    expect(isCanonical(SV48_KERNEL, SV48)).toBe(true);
  });
});

describe("AddressSpace on Sv39: tables in RAM", () => {
  it("a 4 KiB mapping writes two table pointers and a level-0 leaf in the Sv39 format, bit by bit", () => {
    const env = setup();
    const va = 0x4020_3000n; // VPN[2]=1, VPN[1]=1, VPN[0]=3
    const pa = 0x8040_5000n;
    expect(mapOk(env, va, pa, KiB4, F.userRw())).toEqual([1, 0, 0]);
    const steps = env.space.walkPageTable(va);
    expect(steps.map((s) => s.level)).toEqual([2, 1, 0]);
    let table = Number(env.space.rootPa);
    for (const s of steps) {
      // PTE address = a + VPN[i]*8 (step 2), and the value in RAM is what the walk reported.
      expect(s.pteAddr).toBe(table + vpnOf(va, s.level) * 8);
      const v = env.hal.read64(s.pteAddr);
      expect(v).toBe(s.pte);
      expect(bits(v, 63, 54)).toBe(0n); // reserved, PBMT, N
      expect(bit(v, 0)).toBe(1); // V
      if (s.level > 0) {
        expect(bits(v, 3, 1)).toBe(0n); // XWR=000: pointer to the next level
        expect([bit(v, 4), bit(v, 6), bit(v, 7)]).toEqual([0, 0, 0]); // U, A, D reserved in non-leaf PTEs
        table = Number(bits(v, 53, 10)) * 4096;
        expect(env.frames.live.has(table)).toBe(true);
      }
    }
    const leaf = steps[2]!.pte;
    expect([bit(leaf, 1), bit(leaf, 2), bit(leaf, 3), bit(leaf, 4), bit(leaf, 5), bit(leaf, 6), bit(leaf, 7)]).toEqual([1, 1, 0, 1, 0, 1, 1]); // R W X U G A D
    expect(bits(leaf, 9, 8)).toBe(0n); // RSW
    expect(bits(leaf, 53, 10)).toBe(pa >> 12n); // PPN
    expect(leaf).toBe((0x80405n << 10n) | 0xd7n);
    expect(env.space.tableCount).toBe(3);
    expect(env.space.translate(va + 0x7bn)).toEqual({ pa: pa + 0x7bn, flags: F.userRw(), level: 0 });
  });

  it("a 2 MiB-aligned range becomes one level-1 leaf, a 1 GiB-aligned range one level-2 leaf", () => {
    const env = setup();
    expect(mapOk(env, 0x20_0000n, 0x8060_0000n, MiB2, F.kernelRw())).toEqual([0, 1, 0]);
    expect(mapOk(env, 0x8000_0000n, 0x1_c000_0000n, GiB1, F.userRo())).toEqual([0, 0, 1]);
    const mega = env.space.walkPageTable(0x20_0000n + 0x1234n);
    expect(mega.map((s) => s.level)).toEqual([2, 1]);
    expect(bits(mega[1]!.pte, 18, 10)).toBe(0n); // ppn[0] = 0 in an aligned megapage (step 5)
    expect(env.space.translate(0x3f_fff8n)).toEqual({ pa: 0x807f_fff8n, flags: F.kernelRw(), level: 1 });
    const giga = env.space.walkPageTable(0xbfff_f000n);
    expect(giga.map((s) => s.level)).toEqual([2]);
    expect(bits(giga[0]!.pte, 27, 10)).toBe(0n); // ppn[1:0] = 0 in an aligned gigapage
    expect(env.space.translate(0xbfff_f008n)).toEqual({ pa: 0x1_ffff_f008n, flags: F.userRo(), level: 2 });
    expect(env.space.tableCount).toBe(2);
  });

  it("a misaligned range gets the largest page each step allows: 4K, 1G, 2M, 4K", () => {
    const env = setup();
    const va = GiB1 - KiB4;
    const pa = 0x1_0000_0000n - KiB4;
    const size = KiB4 + GiB1 + MiB2 + KiB4;
    expect(mapOk(env, va, pa, size, F.kernelRw())).toEqual([2, 1, 1]);
    const probes: [bigint, number][] = [[va, 0], [GiB1, 2], [2n * GiB1, 1], [2n * GiB1 + MiB2, 0]];
    for (const [v, level] of probes) {
      expect(env.space.translate(v)).toEqual({ pa: pa + (v - va), flags: F.kernelRw(), level });
    }
    expect(env.space.isMapped(2n * GiB1 + MiB2 + KiB4)).toBe(false);
  });

  it("virt and phys aligned differently force 4 KiB pages", () => {
    const env = setup();
    expect(mapOk(env, 0x20_0000n, 0x8060_1000n, MiB2, F.kernelRw())).toEqual([512, 0, 0]);
  });

  it("Sv48 walks four levels; 0x40_0000_0000 is canonical there; the kernel half starts at 0xffff_8000_0000_0000", () => {
    const env = setup(RISCV_SV48);
    const va = SV48_KERNEL + 0x1234_5000n;
    mapOk(env, va, 0x8070_0000n, KiB4, F.kernelRw() | F.GLOBAL);
    const steps = env.space.walkPageTable(va);
    expect(steps.map((s) => s.level)).toEqual([3, 2, 1, 0]);
    expect(steps[0]!.index).toBe(256); // VPN[3] = bit 47 set
    expect(steps.map((s) => s.index)).toEqual([3, 2, 1, 0].map((l) => vpnOf(va, l)));
    expect(bit(steps[3]!.pte, 5)).toBe(1); // G
    expect(mapOk(env, 0x40_0000_0000n, 0x1_0000_0000n, GiB1, F.userRw())).toEqual([0, 0, 1, 0]);
    expect(env.space.walkPageTable(0x40_0000_0000n).map((s) => s.level)).toEqual([3, 2]);
    expect(errorOf(env.space.map(0x8000_0000_0000n, 0x8070_0000n, KiB4, F.kernelRw())).kind).toBe("NonCanonical");
    expect(env.space.rootRegister()).toBe((9n << 60n) | (7n << 44n) | (env.space.rootPa >> 12n));
  });

  it("walkPageTable stops at the first invalid entry; non-canonical VAs give no steps", () => {
    const env = setup();
    mapOk(env, 0x1000n, 0x8060_0000n, KiB4, F.kernelRw());
    const steps = env.space.walkPageTable(0x20_0000n);
    expect(steps.map((s) => [s.level, s.decoded.valid])).toEqual([[2, true], [1, false]]);
    expect(env.space.walkPageTable(0x40_0000_0000n)).toEqual([]);
    expect(env.space.translate(0x40_0000_0000n)).toBeUndefined();
  });

  it("the root register is satp with MODE=8, the space's ASID and the root PPN", () => {
    const env = setup();
    expect(env.space.rootRegister()).toBe((8n << 60n) | (7n << 44n) | (env.space.rootPa >> 12n));
    expect(() => { env.space.asid = 0x10000; }).toThrow("ASID 65536");
  });
});

describe("AddressSpace refusals change nothing", () => {
  it("AlreadyMapped: never remaps a page, a superpage, or a range holding mappings", () => {
    const env = setup();
    mapOk(env, 0x1000_0000n, 0x8060_0000n, KiB4, F.userRw());
    mapOk(env, 0x4000_0000n + MiB2, 0x8080_0000n, MiB2, F.userRw());
    const tables = env.space.tableCount, allocated = env.frames.allocated;
    const e1 = errorOf(env.space.map(0x1000_0000n - KiB4, 0x9000_0000n, 3n * KiB4, F.userRw()));
    expect(e1).toMatchObject({ kind: "AlreadyMapped", va: 0x1000_0000n, level: 0 });
    expect(e1.message).toBe("map: 0x10000000 is already mapped by a level-0 leaf");
    expect(env.space.isMapped(0x1000_0000n - KiB4)).toBe(false);
    expect(env.space.translate(0x1000_0000n)!.pa).toBe(0x8060_0000n);
    expect(errorOf(env.space.map(0x4000_0000n + MiB2 + KiB4, 0x9000_0000n, KiB4, F.userRw()))).toMatchObject({ kind: "AlreadyMapped", level: 1 });
    expect(errorOf(env.space.map(0x1000_0000n, 0x9000_0000n, MiB2, F.userRw())).message).toContain("a table holding mappings");
    expect([env.space.tableCount, env.frames.allocated]).toEqual([tables, allocated]);
    expect(env.space.pendingFlushes()).toEqual([]);
  });

  it("Misaligned names virt, phys or size", () => {
    const env = setup();
    const cases: [bigint, bigint, bigint, string, string][] = [
      [0x1001n, 0x8060_0000n, KiB4, "virt", "map: virt 0x1001 is not 0x1000-aligned"],
      [0x1000n, 0x8060_0800n, KiB4, "phys", "map: phys 0x80600800 is not 0x1000-aligned"],
      [0x1000n, 0x8060_0000n, 0x1800n, "size", "map: size 0x1800 is not a positive multiple of 0x1000"],
      [0x1000n, 0x8060_0000n, 0n, "size", "map: size 0x0 is not a positive multiple of 0x1000"],
    ];
    for (const [va, pa, size, what, message] of cases) {
      expect(errorOf(env.space.map(va, pa, size, F.kernelRw()))).toEqual({ kind: "Misaligned", what, value: what === "virt" ? va : what === "phys" ? pa : size, message });
    }
    expect(env.space.tableCount).toBe(1);
  });

  it("NonCanonical for the hole and for ranges that run out of their half; PhysOutOfRange past 56 bits", () => {
    const env = setup();
    expect(errorOf(env.space.map(0x40_0000_0000n, 0x8060_0000n, KiB4, F.kernelRw()))).toMatchObject({ kind: "NonCanonical", va: 0x40_0000_0000n });
    expect(errorOf(env.space.map(0x3f_ffff_f000n, 0x8060_0000n, 2n * KiB4, F.userRw())).message).toContain("0x4000000fff");
    expect(errorOf(env.space.map(0xffff_ffff_ffff_f000n, 0x8060_0000n, 2n * KiB4, F.kernelRw())).message).toContain("wraps past 2^64");
    expect(errorOf(env.space.map(0x1000n, (1n << 56n) - KiB4, 2n * KiB4, F.kernelRw())).kind).toBe("PhysOutOfRange");
    mapOk(env, SV39_KERNEL, 0x8000_0000n, GiB1, F.kernelRw());
    expect(env.space.translate(SV39_KERNEL + 0x42n)?.pa).toBe(0x8000_0042n);
  });

  it("InvalidFlags: W+X, USER+GLOBAL, W without R (reserved XWR=010), COW+W, and UNCACHED without Svpbmt", () => {
    const env = setup();
    for (const flags of [F.READ | F.WRITE | F.EXECUTE, F.userRo() | F.GLOBAL, F.WRITE, F.userRw() | F.COPY_ON_WRITE, F.kernelRw() | F.UNCACHED, F.kernelRw() | F.WRITE_THROUGH, 0]) {
      const e = errorOf(env.space.map(0x1000n, 0x8060_0000n, KiB4, flags));
      expect(e.kind).toBe("InvalidFlags");
      expect(e.message).toContain(`flags 0x${flags.toString(16)}`);
    }
    expect(env.space.map(0x1000n, 0x8060_0000n, KiB4, F.READ | F.WRITE | F.EXECUTE, { allowWX: true }).ok).toBe(true);
  });

  it("OutOfFrames: every table page is allocated before anything is installed, and returned on failure", () => {
    const env = setup(RISCV_SV39, { frameCount: 2 }); // the root and one more
    const e = errorOf(env.space.map(0x1000n, 0x8060_0000n, KiB4, F.kernelRw()));
    expect(e).toMatchObject({ kind: "OutOfFrames", needed: 2 });
    expect(e.message).toBe("map: 2 page-table page(s) needed for 0x1000+0x1000, only 1 available");
    expect(env.frames.live.size).toBe(1);
    expect(env.space.walkPageTable(0x1000n).map((s) => s.pte)).toEqual([0n]);
    expect(mapOk(env, 0x4000_0000n, 0x8000_0000n, GiB1, F.kernelRw())).toEqual([0, 0, 1]); // needs no table
    const none = AddressSpace.create({ arch: RISCV_SV39, mem: env.hal, frames: new BumpFrames(0x8100_0000, 0) });
    expect(none.ok ? undefined : none.error.kind).toBe("OutOfFrames");
  });
});

describe("unmap and protect", () => {
  it("unmap frees the tables it empties, but only once the flush token is settled (unhook, invalidate, free)", () => {
    const env = setup();
    mapOk(env, 0x1000_0000n, 0x8060_0000n, KiB4, F.userRw());
    mapOk(env, 0x1000_1000n, 0x8060_1000n, KiB4, F.userRw());
    expect(env.frames.allocated).toBe(3);
    const first = env.space.unmap(0x1000_0000n, KiB4);
    if (!first.ok) throw new Error(first.error.message);
    expect(first).toMatchObject({ unmapped: 1, tablesFreed: 0, frames: [{ va: 0x1000_0000n, pa: 0x8060_0000n, size: KiB4 }] });
    expect(first.flush.flush(env.hal.tlb)).toBe("pages");
    const second = env.space.unmap(0x1000_1000n, KiB4);
    if (!second.ok) throw new Error(second.error.message);
    expect(second.tablesFreed).toBe(2);
    expect(env.frames.freed).toEqual([]);
    expect(env.space.walkPageTable(0x1000_1000n).map((s) => s.pte)).toEqual([0n]);
    expect(second.flush.flush(env.hal.tlb)).toBe("asid");
    expect(env.frames.freed.length).toBe(2);
    expect(env.frames.live.size).toBe(1);
    expect(env.space.tableCount).toBe(1);
  });

  it("unmap skips holes, returns leaf frames to the caller, or frees them with freeFrames", () => {
    const env = setup();
    const data = [env.frames.allocateFrame()!, env.frames.allocateFrame()!];
    mapOk(env, 0x1000_0000n, BigInt(data[0]!), KiB4, F.userRw());
    mapOk(env, 0x2000_0000n, BigInt(data[1]!), KiB4, F.userRw());
    mapOk(env, 0x4000_0000n, 0x1_0000_0000n, MiB2, F.userRw());
    const kept = env.space.unmap(0x4000_0000n, GiB1);
    if (!kept.ok) throw new Error(kept.error.message);
    expect(kept.frames).toEqual([{ va: 0x4000_0000n, pa: 0x1_0000_0000n, size: MiB2 }]);
    kept.flush.flush(env.hal.tlb);
    const freed = env.space.unmap(0n, GiB1, { freeFrames: true });
    if (!freed.ok) throw new Error(freed.error.message);
    expect([freed.unmapped, freed.frames.length, freed.tablesFreed]).toEqual([2, 0, 3]);
    freed.flush.ignore();
    expect(data.every((d) => env.frames.freed.includes(d))).toBe(true);
    expect(env.frames.live.size).toBe(1);
  });

  it("unmap and protect refuse a range covering part of a superpage (SplitRequired)", () => {
    const env = setup();
    mapOk(env, 0x20_0000n, 0x8060_0000n, MiB2, F.userRw());
    expect(errorOf(env.space.unmap(0x20_1000n, KiB4))).toMatchObject({ kind: "SplitRequired", va: 0x20_0000n, level: 1 });
    expect(errorOf(env.space.protect(0x30_0000n, MiB2, F.userRo()))).toMatchObject({ kind: "SplitRequired", va: 0x20_0000n });
    expect(env.space.translate(0x20_1000n)?.flags).toBe(F.userRw());
  });

  it("protect rewrites the permission bits, keeps the frame and D, and refuses holes", () => {
    const env = setup();
    mapOk(env, 0x1000_0000n, 0x8060_0000n, 2n * KiB4, F.userRw());
    const r = env.space.protect(0x1000_0000n, 2n * KiB4, F.userRo());
    if (!r.ok) throw new Error(r.error.message);
    expect(r.changed).toBe(2);
    const pte = env.hal.read64(env.space.walkPageTable(0x1000_1000n)[2]!.pteAddr);
    expect([bit(pte, 0), bit(pte, 1), bit(pte, 2), bit(pte, 3), bit(pte, 4), bit(pte, 6), bit(pte, 7)]).toEqual([1, 1, 0, 0, 1, 1, 1]);
    expect(bits(pte, 53, 10)).toBe(0x80601n);
    expect(env.space.translate(0x1000_1000n)).toEqual({ pa: 0x8060_1000n, flags: F.userRo(), level: 0 });
    expect(r.flush.flush(env.hal.tlb)).toBe("pages");
    const same = env.space.protect(0x1000_0000n, KiB4, F.userRo());
    expect(same.ok && same.changed).toBe(0);
    if (same.ok) expect(same.flush.operation).toBe("none");
    if (same.ok) same.flush.flush(env.hal.tlb);
    const cow = env.space.protect(0x1000_0000n, KiB4, F.userRo() | F.COPY_ON_WRITE);
    if (cow.ok) cow.flush.flush(env.hal.tlb);
    expect(bit(env.hal.read64(env.space.walkPageTable(0x1000_0000n)[2]!.pteAddr), 8)).toBe(1);
    expect(errorOf(env.space.protect(0x1000_0000n, 3n * KiB4, F.userRo()))).toMatchObject({ kind: "NotMapped", va: 0x1000_2000n });
    expect(errorOf(env.space.protect(0x1000_0000n, KiB4, F.WRITE)).kind).toBe("InvalidFlags");
  });

  it("destroy releases every table (root included) and optionally the leaf frames, after one ASID flush", () => {
    const env = setup();
    const data = env.frames.allocateFrame()!;
    mapOk(env, 0x1000_0000n, BigInt(data), KiB4, F.userRw());
    mapOk(env, 0x7000_0000n, 0x8060_0000n, MiB2, F.userRw());
    const tables = env.space.tableCount;
    const r = env.space.destroy();
    expect(r.tablesFreed).toBe(tables);
    expect(r.frames.map((f) => f.va)).toEqual([0x1000_0000n, 0x7000_0000n]);
    expect(env.frames.freed).toEqual([]);
    expect(r.flush.flush(env.hal.tlb)).toBe("asid");
    expect(env.frames.live).toEqual(new Set([data]));
    expect(() => env.space.map(0x1000n, 0x1000n, KiB4, F.userRw())).toThrow("destroyed");

    const k = setup();
    mapOk(k, SV39_KERNEL, 0x8000_0000n, MiB2, F.kernelRw() | F.GLOBAL);
    const kr = k.space.destroy();
    expect(kr.frames).toEqual([{ va: SV39_KERNEL, pa: 0x8000_0000n, size: MiB2 }]);
    expect(kr.flush.flush(k.hal.tlb)).toBe("all");
  });
});

describe("TLB flush tokens (MapperFlush): the obligation is visible", () => {
  it("up to the ceiling, one ASID-scoped flushPage per changed leaf", () => {
    const env = setup();
    env.hal.flushes.length = 0;
    const r = env.space.map(0x1000_0000n, 0x8060_0000n, 4n * KiB4, F.userRw());
    if (!r.ok) throw new Error(r.error.message);
    expect(r.flush.operation).toBe("pages");
    r.flush.flush(env.hal.tlb);
    expect(env.hal.flushes).toEqual([0n, 1n, 2n, 3n].map((i) => ({ kind: "page", va: 0x1000_0000n + i * KiB4, asid: 7 })));
    env.hal.flushes.length = 0;
    mapOk(env, 0x2000_0000n, 0x8080_0000n, BigInt(FLUSH_CEILING) * KiB4, F.userRw());
    expect(env.hal.flushes.length).toBe(FLUSH_CEILING);
    expect(FLUSH_CEILING).toBe(32);
  });

  it("above the ceiling, one flushAsid; a custom ceiling applies", () => {
    const env = setup();
    env.hal.flushes.length = 0;
    mapOk(env, 0x1000_0000n, 0x8060_0000n, BigInt(FLUSH_CEILING + 1) * KiB4, F.userRw());
    expect(env.hal.flushes).toEqual([{ kind: "asid", asid: 7 }]);
    const small = setup(RISCV_SV39, { flushCeiling: 2 });
    small.hal.flushes.length = 0;
    mapOk(small, 0x1000_0000n, 0x8060_0000n, 3n * KiB4, F.userRw());
    expect(small.hal.flushes).toEqual([{ kind: "asid", asid: 7 }]);
  });

  it("a superpage needs one flushPage, like a 4 KiB page", () => {
    const env = setup();
    env.hal.flushes.length = 0;
    mapOk(env, GiB1, 0x1_0000_0000n, GiB1 + MiB2, F.userRw());
    expect(env.hal.flushes).toEqual([{ kind: "page", va: GiB1, asid: 7 }, { kind: "page", va: 2n * GiB1, asid: 7 }]);
  });

  it("a changed global mapping takes flushAll (sfence.vma va, asid spares globals)", () => {
    const env = setup();
    env.hal.flushes.length = 0;
    mapOk(env, SV39_KERNEL, 0x8000_0000n, KiB4, F.kernelRw() | F.GLOBAL);
    expect(env.hal.flushes).toEqual([{ kind: "all" }]);
  });

  it("unhooking a table needs the whole ASID: sfence.vma with rs1≠x0 orders leaf entries only", () => {
    const env = setup();
    mapOk(env, 0x1000_0000n, 0x8060_0000n, KiB4, F.userRw());
    env.hal.flushes.length = 0;
    const r = env.space.unmap(0x1000_0000n, KiB4);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.flush.tablesFreed).toBe(true);
    r.flush.flush(env.hal.tlb);
    expect(env.hal.flushes).toEqual([{ kind: "asid", asid: 7 }]);
  });

  it("pendingFlushes lists tokens neither flushed nor ignored; a token settles once", () => {
    const env = setup();
    const a = env.space.map(0x1000_0000n, 0x8060_0000n, KiB4, F.userRw());
    const b = env.space.map(0x2000_0000n, 0x8060_1000n, KiB4, F.userRw());
    if (!a.ok || !b.ok) throw new Error("map refused");
    expect(env.space.pendingFlushes()).toEqual([a.flush, b.flush]);
    expect(a.flush.describe()).toBe("map of 1 page(s) from 0x10000000 (asid 7): pending");
    a.flush.flush(env.hal.tlb);
    b.flush.ignore();
    expect(env.space.pendingFlushes()).toEqual([]);
    expect([a.flush.state, b.flush.state]).toEqual(["flushed", "ignored"]);
    expect(() => a.flush.flush(env.hal.tlb)).toThrow("cannot mark flushed: map of 1 page(s) from 0x10000000 (asid 7): flushed");
    expect(() => b.flush.ignore()).toThrow("ignored");
    const quiet = setup(RISCV_SV39, { debug: false });
    expect(quiet.space.map(0x1000n, 0x8060_0000n, KiB4, F.userRw()).ok).toBe(true);
    expect(quiet.space.pendingFlushes()).toEqual([]);
  });
});

describe("the emulator's walker agrees with the kernel's tables", () => {
  /** The emulator MMU of one hart, pointed at `space` the way a satp write would. */
  function emulatorOn(env: Env, mode: EmuMode): { mmu: Mmu; tlbs: TlbSet; tlb: TlbControl } {
    const tlbs = new TlbSet(DEFAULT_TLB, RISCV_PAGE_SHIFTS);
    const mmu = new Mmu(env.hal.bus, tlbs);
    mmu.mode = mode;
    mmu.rootPpn = Number(env.space.rootPa >> 12n);
    mmu.asid = env.space.asid;
    const vpn = (va: bigint): number => Number(BigInt.asUintN(mode.vaBits, va) >> 12n);
    // TlbControl in SFENCE.VMA terms, as emulator/arch/riscv64/system.ts applies them.
    const tlb: TlbControl = {
      flushPage: (va, asid) => { tlbs.invalidate({ kind: "sfence.vma va+asid", vpn: vpn(va), asid, keepGlobal: true }); },
      flushAsid: (asid) => { tlbs.invalidate({ kind: "sfence.vma asid", asid, keepGlobal: true }); },
      flushAll: () => { tlbs.invalidate({ kind: "sfence.vma all" }); },
    };
    return { mmu, tlbs, tlb };
  }

  /** The emulator's translation of `va`: a PA, or the page-fault cause. */
  function emu(mmu: Mmu, va: bigint, access: Access, priv: number): { pa: bigint } | { cause: number } {
    const pa = mmu.translate(Number(va & 0xffff_ffffn) | 0, Number(va >> 32n) | 0, access, priv);
    return pa < 0 ? { cause: mmu.cause } : { pa: BigInt(pa) };
  }

  const PAGE_FAULT = [CAUSE.INSN_PAGE, CAUSE.LOAD_PAGE, CAUSE.STORE_PAGE];
  const ACCESS_NAME = ["fetch", "load", "store"];
  const PRIV_NAME: Record<number, string> = { [PRV_U]: "U", [PRV_S]: "S" };

  interface Case { name: string; va: bigint; pa: bigint; size: bigint; flags: number }
  /** Which (access, priv) pairs each mapping permits, from ARCH-SPEC §4.4 with SUM=MXR=0. */
  function permitted(flags: number, access: Access, priv: number): boolean {
    const user = (flags & F.USER) !== 0;
    if (priv === PRV_U && !user) return false;
    if (priv === PRV_S && user) return false; // SUM=0, and S never fetches from user pages
    if (access === FETCH) return (flags & F.EXECUTE) !== 0;
    if (access === LOAD) return (flags & F.READ) !== 0;
    return (flags & F.WRITE) !== 0; // COW pages have W clear
  }

  const modes: [string, ArchPaging, EmuMode, bigint][] = [["Sv39", RISCV_SV39, EMU_SV39, SV39_KERNEL], ["Sv48", RISCV_SV48, EMU_SV48, SV48_KERNEL]];
  for (const [modeName, arch, emuMode, kernelBase] of modes) {
    it(`${modeName}: same PA for every permitted access, a page fault of the access type otherwise`, () => {
      const env = setup(arch);
      const cases: Case[] = [
        { name: "user RW 4K", va: 0x1000_0000n, pa: 0x8060_0000n, size: 2n * KiB4, flags: F.userRw() },
        { name: "user RX 4K", va: 0x1000_4000n, pa: 0x8070_3000n, size: KiB4, flags: F.userRx() },
        { name: "user RO 2M", va: 0x4000_0000n + MiB2, pa: 0x9000_0000n, size: MiB2, flags: F.userRo() },
        { name: "user COW 4K", va: 0x1000_6000n, pa: 0x8070_6000n, size: KiB4, flags: F.userRo() | F.COPY_ON_WRITE },
        { name: "kernel RW 1G global", va: kernelBase, pa: 0x8000_0000n, size: GiB1, flags: F.kernelRw() | F.GLOBAL },
        { name: "kernel RX 2M+4K", va: kernelBase + GiB1, pa: 0x1_0000_0000n, size: MiB2 + KiB4, flags: F.kernelRx() },
        { name: "kernel RO 4K", va: kernelBase + 2n * GiB1, pa: 0x8080_0000n, size: KiB4, flags: F.kernelRo() },
      ];
      for (const c of cases) mapOk(env, c.va, c.pa, c.size, c.flags);
      const { mmu } = emulatorOn(env, emuMode);
      let checked = 0;
      for (const c of cases) {
        for (const off of [0n, 0x123n, c.size - 8n]) {
          const va = c.va + off;
          const k = env.space.translate(va);
          expect(k?.pa, c.name).toBe(c.pa + off);
          for (const access of [FETCH, LOAD, STORE] as Access[]) {
            for (const priv of [PRV_U, PRV_S]) {
              const what = `${c.name} +${off.toString(16)} ${ACCESS_NAME[access]} from ${PRIV_NAME[priv]}`;
              expect(emu(mmu, va, access, priv), what).toEqual(permitted(c.flags, access, priv) ? { pa: k!.pa } : { cause: PAGE_FAULT[access] });
              checked++;
            }
          }
        }
      }
      expect(checked).toBe(cases.length * 3 * 6);
      for (const va of [0x1000_2000n, 0x2000_0000n, kernelBase + 3n * GiB1]) {
        expect(env.space.translate(va)).toBeUndefined();
        expect(emu(mmu, va, LOAD, PRV_S)).toEqual({ cause: CAUSE.LOAD_PAGE });
      }
    });
  }

  it("a stale translation survives unmap until the token is flushed, as on silicon", () => {
    const env = setup();
    mapOk(env, 0x1000_0000n, 0x8060_0000n, KiB4, F.userRw());
    mapOk(env, 0x1000_1000n, 0x8060_1000n, KiB4, F.userRw());
    const { mmu, tlb } = emulatorOn(env, EMU_SV39);
    expect(emu(mmu, 0x1000_0000n, STORE, PRV_U)).toEqual({ pa: 0x8060_0000n });
    const r = env.space.unmap(0x1000_0000n, KiB4);
    if (!r.ok) throw new Error(r.error.message);
    expect(emu(mmu, 0x1000_0000n, LOAD, PRV_U)).toEqual({ pa: 0x8060_0000n }); // the TLB still holds it
    expect(r.flush.flush(tlb)).toBe("pages");
    expect(emu(mmu, 0x1000_0000n, LOAD, PRV_U)).toEqual({ cause: CAUSE.LOAD_PAGE });
    expect(emu(mmu, 0x1000_1000n, LOAD, PRV_U)).toEqual({ pa: 0x8060_1000n });
  });

  it("protect to read-only takes effect in the emulator once flushed", () => {
    const env = setup();
    mapOk(env, 0x1000_0000n, 0x8060_0000n, KiB4, F.userRw());
    const { mmu, tlb } = emulatorOn(env, EMU_SV39);
    expect(emu(mmu, 0x1000_0000n, STORE, PRV_U)).toEqual({ pa: 0x8060_0000n });
    const r = env.space.protect(0x1000_0000n, KiB4, F.userRo());
    if (!r.ok) throw new Error(r.error.message);
    expect(emu(mmu, 0x1000_0000n, STORE, PRV_U)).toEqual({ pa: 0x8060_0000n });
    r.flush.flush(tlb);
    expect(emu(mmu, 0x1000_0000n, STORE, PRV_U)).toEqual({ cause: CAUSE.STORE_PAGE });
    expect(emu(mmu, 0x1000_0000n, LOAD, PRV_U)).toEqual({ pa: 0x8060_0000n });
  });
});

describe("remap: swapping the frame under a present 4 KiB page in place (copy-on-write)", () => {
  it("writes one entry, keeps every table, and flushes exactly that page in that ASID", () => {
    const env = setup();
    mapOk(env, 0x4000_0000n, 0x8200_0000n, KiB4, F.userRo() | F.COPY_ON_WRITE);
    const tables = env.space.tableCount;
    env.hal.flushes.length = 0;
    const r = env.space.remap(0x4000_0000n, 0x8200_5000n, F.userRw());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    r.flush.flush(env.hal.tlb);
    expect(env.space.translate(0x4000_0123n)?.pa).toBe(0x8200_5123n);
    expect(env.space.tableCount).toBe(tables);
    expect(env.hal.flushes).toEqual([{ kind: "page", va: 0x4000_0000n, asid: 7 }]);
  });

  it("refuses a page that is not mapped, and a page inside a 2 MiB leaf", () => {
    const env = setup();
    expect(env.space.remap(0x4000_0000n, 0x8200_0000n, F.userRw())).toMatchObject({ ok: false, error: { kind: "NotMapped" } });
    mapOk(env, 0x4020_0000n, 0x8240_0000n, MiB2, F.userRw());
    expect(env.space.remap(0x4020_1000n, 0x8200_0000n, F.userRw())).toMatchObject({ ok: false, error: { kind: "SplitRequired" } });
  });
});
