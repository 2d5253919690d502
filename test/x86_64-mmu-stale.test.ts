/**
 * Strict TLB mode for x86_64 (emulator/arch/x86_64/tlb-stale.ts): a TLB hit whose entry no longer
 * matches the tables is reported, with the store that changed the entry; legal rights upgrades are not.
 * @spec SDM Vol. 3A §4.10.4.2-4.10.4.3 (when software must invalidate, what may be skipped)
 */
import { describe, expect, it } from "vitest";
import { type Access, LOAD, STORE, X86Mmu, x86PageShifts } from "../emulator/arch/x86_64/mmu.js";
import { CR0, CR4, EFER, PTE } from "../emulator/arch/x86_64/paging-defs.js";
import { X86PageTableBuilder } from "../emulator/arch/x86_64/paging-builder.js";
import { formatX86StaleTlbReport, type StaleTlbReport, X86StaleTlbDetector, x86StaleTlbTraceEvent } from "../emulator/arch/x86_64/tlb-stale.js";
import { Bus } from "../emulator/core/memory.js";
import { DEFAULT_TLB, TlbSet } from "../emulator/core/tlb.js";

const DATA = 0x80_0000;
const VA = 0x4000_3000n;
const P = BigInt(PTE.P), RW = BigInt(PTE.RW), US = BigInt(PTE.US), A = BigInt(PTE.A), D = BigInt(PTE.D);

function setup() {
  const bus = new Bus();
  bus.addRam("ram", 0, 16 * 1024 * 1024);
  const tlbs = new TlbSet(DEFAULT_TLB, x86PageShifts);
  const mmu = new X86Mmu(bus, tlbs);
  let next = 0x10_0000;
  const pt = new X86PageTableBuilder(bus, () => (next += 4096) - 4096);
  mmu.writeEfer(EFER.LME | EFER.NXE, 0);
  mmu.writeCr4(CR4.PAE, 0);
  mmu.writeCr3(pt.root, 0);
  mmu.writeCr0(CR0.PE | CR0.PG, 0);
  const cpu = { hartId: 0, pc: 0x1000n, icount: 0, cpl: 0 };
  const det = new X86StaleTlbDetector();
  mmu.strict = det.hooksFor(cpu);
  bus.onRamWrite = (ppn, pa, len) => det.ramWritten(ppn, pa, len, cpu);
  const reports: StaleTlbReport[] = [];
  det.onReport = (r) => reports.push(r);
  const tr = (va: bigint, access: Access = LOAD): number => mmu.translate(Number(va & 0xffffffffn) | 0, Number(va >> 32n) | 0, access, 0);
  /** A store to the leaf of VA made by the CPU at rip 0x2000, instruction 7. */
  const cpuStore = (entry: bigint): void => {
    cpu.pc = 0x2000n;
    cpu.icount = 7;
    bus.write64(pt.entryAddr(VA, 0)!, entry);
    cpu.pc = 0x3000n;
    cpu.icount = 9;
  };
  return { bus, mmu, pt, det, reports, tr, cpuStore };
}

describe("strict TLB mode: stale entries are reported, the access still uses them", () => {
  it("a remapped page: 'pa', with the store that changed the PTE", () => {
    const t = setup();
    t.pt.map(VA, DATA, P | RW);
    t.tr(VA);
    t.cpuStore(BigInt(DATA + 0x1000) | P | RW | A);
    expect(t.tr(VA)).toBe(DATA);
    expect(t.reports).toHaveLength(1);
    const r = t.reports[0]!;
    expect(r.changes).toEqual(["pa"]);
    expect(r.pc).toBe(0x3000n);
    expect(r.writer).toMatchObject({ pc: 0x2000n, icount: 7, priv: "CPL0" });
    expect(formatX86StaleTlbReport(r)).toMatch(/missing invlpg\?$/);
    expect(x86StaleTlbTraceEvent(r)).toMatchObject({ type: "stale-tlb", arch: "x86_64", changes: ["pa"] });
  });

  it("an unmapped page: 'invalid'", () => {
    const t = setup();
    t.pt.map(VA, DATA, P | RW);
    t.tr(VA);
    t.cpuStore(0n);
    expect(t.tr(VA)).toBe(DATA);
    expect(t.reports.map((r) => r.changes)).toEqual([["invalid"]]);
  });

  it("a rights downgrade is 'perm'; a rights upgrade is not reported (a spurious #PF at most)", () => {
    const t = setup();
    t.pt.map(VA, DATA, P | RW);
    t.tr(VA);
    t.cpuStore(BigInt(DATA) | P | A);
    t.tr(VA);
    expect(t.reports.map((r) => r.changes)).toEqual([["perm"]]);
    t.mmu.invlpg(Number(VA), 0);
    t.tr(VA);
    t.cpuStore(BigInt(DATA) | P | RW | US | A);
    t.tr(VA);
    expect(t.reports).toHaveLength(1);
  });

  it("D cleared without invalidation is 'perm'; A cleared is not reported", () => {
    const t = setup();
    t.pt.map(VA, DATA, P | RW);
    t.tr(VA, STORE);
    t.cpuStore(BigInt(DATA) | P | RW | D);
    t.tr(VA);
    expect(t.reports).toHaveLength(0);
    t.cpuStore(BigInt(DATA) | P | RW | A);
    t.tr(VA);
    expect(t.reports.map((r) => r.changes)).toEqual([["perm"]]);
  });

  it("after INVLPG nothing is reported, and the check changes no counter", () => {
    const t = setup();
    t.pt.map(VA, DATA, P | RW);
    t.tr(VA);
    t.cpuStore(BigInt(DATA + 0x1000) | P | RW | A);
    t.mmu.invlpg(Number(VA), 0);
    expect(t.tr(VA)).toBe(DATA + 0x1000);
    const walks = t.mmu.tlbs.walk.walks;
    expect(t.tr(VA)).toBe(DATA + 0x1000);
    expect(t.reports).toHaveLength(0);
    expect(t.mmu.tlbs.walk.walks).toBe(walks);
    expect(t.det.count).toBe(0);
  });
});
