/**
 * Exception entry and return on the A64 core: vector offsets by source (current EL with SP_EL0 or
 * SP_ELx, lower EL), SPSR_EL1/ELR_EL1/ESR_EL1/FAR_EL1 contents, stack pointer selection, the
 * syndromes of SVC/BRK/UNDEFINED/PC and SP alignment, data and instruction aborts through the
 * stage-1 MMU, PAN, LDTR, illegal return, the timer IRQ, WFI, and PSCI.
 * @spec ARCH-SPEC §3.7 (ESR_EL1, vector table, exception entry, ERET), §5 "AArch64: ESR_EL1 values"
 */
import { describe, expect, it } from "vitest";
import { A64, CODE, machineWith, msr, put, step } from "./fixtures/arm64/harness.js";
import { REG } from "../emulator/arch/arm64/sysregs.js";
import type { Arm64Cpu } from "../emulator/arch/arm64/cpu.js";
import { createArm64Virt, type Arm64Virt } from "../boot/arm64/virt.js";

const VBAR = 0x40090000;
/** Every vector entry branches to itself, so a test can stop there. */
function withVectors(words: number[], gic = true): { v: Arm64Virt; c: Arm64Cpu } {
  const m = machineWith(words, CODE, { gic });
  for (let off = 0; off < 0x800; off += 0x80) put(m.v, VBAR + off, [A64.SELF]);
  msr(m.c, REG.VBAR_EL1, BigInt(VBAR));
  return m;
}
const hex = (v: bigint | number): string => `0x${v.toString(16)}`;
const sys = (c: Arm64Cpu, key: number): bigint => {
  switch (key) {
    case REG.ESR_EL1: return BigInt(c.esr >>> 0);
    case REG.ELR_EL1: return BigInt.asUintN(64, (BigInt(c.elrHi) << 32n) | BigInt(c.elrLo >>> 0));
    case REG.FAR_EL1: return BigInt.asUintN(64, (BigInt(c.farHi) << 32n) | BigInt(c.farLo >>> 0));
    default: return BigInt(c.spsr >>> 0);
  }
};

describe("exception entry: vector offsets, ELR, SPSR, PSTATE", () => {
  it("SVC at EL1 with SP_EL1 takes VBAR+0x200 with ESR 0x5600_0000|imm16 and ELR = the next instruction", () => {
    const { c } = withVectors([A64.SVC(0x1234)]);
    step(c);
    expect(hex(c.pc)).toBe(hex(VBAR + 0x200));
    expect(hex(sys(c, REG.ESR_EL1))).toBe("0x56001234");
    expect(hex(sys(c, REG.ELR_EL1))).toBe(hex(CODE + 4));
    expect(hex(sys(c, REG.SPSR_EL1))).toBe("0x400003c5"); // Z from reset, DAIF masked, EL1h
    expect(c.el).toBe(1);
    expect(c.spsel).toBe(1);
    expect(c.daif).toBe(0x3c0);
  });

  it("with SPSel = 0 the current-EL SP_EL0 vector (0x000) is taken and the handler runs on SP_EL1", () => {
    const { c } = withVectors([A64.SPSEL(0), A64.SVC(1)]);
    c.setX(32, 0x40100000n); // SP_EL1 (current)
    step(c, 1);
    c.setX(32, 0x40200000n); // now SP_EL0 is current
    step(c, 1);
    expect(hex(c.pc)).toBe(hex(VBAR + 0x000));
    expect(sys(c, 0) & 0xfn).toBe(0b0100n); // SPSR.M = EL1t
    expect(hex(c.x(32))).toBe("0x40100000");
    expect(hex(c.spOf(0))).toBe("0x40200000");
  });

  it("SVC from EL0 takes the lower-EL vector (0x400); ERET returns to EL0 with SP_EL0 back", () => {
    const { v, c } = withVectors([A64.ERET]);
    put(v, CODE + 0x100, [A64.SVC(5), A64.SELF]);
    msr(c, REG.ELR_EL1, BigInt(CODE + 0x100));
    msr(c, REG.SPSR_EL1, 0n); // EL0t
    msr(c, REG.SP_EL0, 0x40210000n);
    c.setX(32, 0x40110000n);
    step(c); // ERET
    expect(c.el).toBe(0);
    expect(hex(c.x(32))).toBe("0x40210000");
    step(c); // SVC
    expect(hex(c.pc)).toBe(hex(VBAR + 0x400));
    expect(hex(sys(c, REG.ESR_EL1))).toBe("0x56000005");
    expect(sys(c, 0) & 0xfn).toBe(0n);
    expect(hex(c.x(32))).toBe("0x40110000");
    expect(c.el).toBe(1);
  });

  it("BRK: EC 0x3C, ISS = imm16, ELR = the BRK itself", () => {
    const { c } = withVectors([A64.NOP, A64.BRK(7)]);
    step(c, 2);
    expect(hex(sys(c, REG.ESR_EL1))).toBe("0xf2000007");
    expect(hex(sys(c, REG.ELR_EL1))).toBe(hex(CODE + 4));
  });

  it("an undecodable word: EC 0 (Unknown), IL = 1, ELR = the word", () => {
    const { c } = withVectors([0]);
    step(c);
    expect(hex(sys(c, REG.ESR_EL1))).toBe("0x2000000");
    expect(hex(sys(c, REG.ELR_EL1))).toBe(hex(CODE));
  });

  it("HVC and SMC at EL0 are UNDEFINED", () => {
    for (const w of [A64.HVC(0), A64.SMC(0)]) {
      const { v, c } = withVectors([A64.ERET]);
      put(v, CODE + 0x100, [w]);
      msr(c, REG.ELR_EL1, BigInt(CODE + 0x100));
      msr(c, REG.SPSR_EL1, 0n);
      step(c, 2);
      expect(hex(sys(c, REG.ESR_EL1))).toBe("0x2000000");
      expect(hex(c.pc)).toBe(hex(VBAR + 0x400));
    }
  });

  it("a branch to a misaligned address: PC alignment fault (EC 0x22) with FAR = ELR = the target", () => {
    const { c } = withVectors([A64.BR(1)]);
    c.setX(1, BigInt(CODE + 0x22));
    step(c, 2);
    expect(hex(sys(c, REG.ESR_EL1))).toBe("0x8a000000");
    expect(hex(sys(c, REG.FAR_EL1))).toBe(hex(CODE + 0x22));
    expect(hex(sys(c, REG.ELR_EL1))).toBe(hex(CODE + 0x22));
  });

  it("SP alignment: with SCTLR_EL1.SA set (reset value), an SP-based load from a misaligned SP is EC 0x26", () => {
    const { c } = withVectors([A64.LDR(0, 31)]);
    c.setX(32, 0x40100008n);
    step(c);
    expect(hex(sys(c, REG.ESR_EL1))).toBe("0x9a000000");
    expect(hex(sys(c, REG.ELR_EL1))).toBe(hex(CODE));
  });

  it("MMU off: an unaligned load is an Alignment fault (Device memory), DFSC 0x21", () => {
    const { c } = withVectors([A64.LDRW(0, 1)]);
    c.setX(1, 0x40100002n);
    step(c);
    expect(hex(sys(c, REG.ESR_EL1))).toBe("0x96000021");
    expect(hex(sys(c, REG.FAR_EL1))).toBe("0x40100002");
  });

  it("a load from a physical hole is a synchronous external abort (DFSC 0x10)", () => {
    const { c } = withVectors([A64.LDR(0, 1)]);
    c.setX(1, 0x50000000n);
    step(c);
    expect(hex(sys(c, REG.ESR_EL1))).toBe("0x96000010");
    expect(hex(sys(c, REG.FAR_EL1))).toBe("0x50000000");
  });

  it("an illegal exception return (to EL2) sets PSTATE.IL; the next instruction takes EC 0x0E", () => {
    const { c } = withVectors([A64.ERET]);
    msr(c, REG.ELR_EL1, BigInt(CODE + 0x40));
    msr(c, REG.SPSR_EL1, 0x3c9n);
    step(c, 2);
    expect(hex(sys(c, REG.ESR_EL1))).toBe("0x3a000000");
    expect(hex(sys(c, REG.ELR_EL1))).toBe(hex(CODE + 0x40));
    expect(sys(c, 0) & 0x100000n).toBe(0x100000n); // SPSR.IL
    expect(c.il).toBe(false);
  });
});

/**
 * Identity-mapped 4K tables (T0SZ 25, start level 1): 0x4000_0000-0x401F_FFFF a 2 MiB EL1 RW block;
 * 0x4020_0000: page 0 EL0+EL1 RW, page 1 invalid, page 2 AF = 0, page 3 EL1 read-only; 0x4040_0000 invalid.
 */
function withMmu(words: number[]): { v: Arm64Virt; c: Arm64Cpu } {
  const m = withVectors(words);
  const bus = m.v.machine.bus;
  const L1 = 0x40300000, L2 = 0x40301000, L3 = 0x40302000;
  bus.write64(L1 + 8, BigInt(L2) | 3n);
  bus.write64(L2, 0x40000000n | 0x705n);
  bus.write64(L2 + 8, BigInt(L3) | 3n);
  bus.write64(L3, 0x40200000n | 0x747n);
  bus.write64(L3 + 16, 0x40202000n | 0x307n);
  bus.write64(L3 + 24, 0x40203000n | 0x787n);
  msr(m.c, REG.MAIR_EL1, 0xff00n);
  msr(m.c, REG.TCR_EL1, 0x200803519n);
  msr(m.c, REG.TTBR0_EL1, BigInt(L1));
  msr(m.c, REG.SCTLR_EL1, 0x00c50838n | 1n);
  return m;
}

describe("aborts through the stage-1 MMU (ESR_EL1 and FAR_EL1)", () => {
  it.each([
    ["EL1 read, L3 descriptor invalid: Translation fault level 3", A64.LDR(0, 1), 0x40201008n, "0x96000007"],
    ["EL1 read, AF = 0 with TCR.HA = 0: Access flag fault level 3", A64.LDR(0, 1), 0x40202000n, "0x9600000b"],
    ["EL1 write to an EL1 read-only page: Permission fault level 3, WnR", A64.STR(0, 1), 0x40203010n, "0x9600004f"],
    ["EL1 read, L2 entry invalid: Translation fault level 2", A64.LDR(0, 1), 0x40400000n, "0x96000006"],
  ] as [string, number, bigint, string][])("%s", (_n, word, va, esr) => {
    const { c } = withMmu([word]);
    c.setX(1, va);
    step(c);
    expect(hex(sys(c, REG.ESR_EL1))).toBe(esr);
    expect(sys(c, REG.FAR_EL1)).toBe(va);
    expect(hex(sys(c, REG.ELR_EL1))).toBe(hex(CODE));
  });

  it("an EL1 fetch from an unmapped VA: Instruction Abort, same EL, level 2 (0x8600_0006), FAR = ELR = pc", () => {
    const { c } = withMmu([A64.BR(1)]);
    c.setX(1, 0x40400000n);
    step(c, 2);
    expect(hex(sys(c, REG.ESR_EL1))).toBe("0x86000006");
    expect(hex(sys(c, REG.FAR_EL1))).toBe("0x40400000");
    expect(hex(sys(c, REG.ELR_EL1))).toBe("0x40400000");
  });

  it("an EL0 read of an EL1-only block: Data Abort from a lower EL, Permission fault level 2 (0x9200_000E)", () => {
    const { v, c } = withMmu([A64.ERET]);
    put(v, CODE + 0x100, [A64.LDR(0, 1)]);
    msr(c, REG.ELR_EL1, BigInt(CODE + 0x100));
    msr(c, REG.SPSR_EL1, 0n);
    c.setX(1, 0x40100000n);
    step(c, 2);
    // AP does not limit EL0 execution (UXN does): the fetch succeeds and the read faults.
    expect(hex(sys(c, REG.ESR_EL1))).toBe("0x9200000e");
    expect(hex(sys(c, REG.FAR_EL1))).toBe("0x40100000");
    expect(hex(c.pc)).toBe(hex(VBAR + 0x400));
  });

  it("PAN: an EL1 read of an EL0-accessible page with PSTATE.PAN = 1 is a Permission fault (0x9600_000F)", () => {
    const { c } = withMmu([0xd500419f /* MSR PAN, #1 */, A64.LDR(0, 1)]);
    c.setX(1, 0x40200000n);
    step(c, 2);
    expect(hex(sys(c, REG.ESR_EL1))).toBe("0x9600000f");
  });

  it("LDTR at EL1 checks EL0 permissions: an EL1-only page faults, an EL0 page is read", () => {
    const m1 = withMmu([A64.LDTR(0, 1)]);
    m1.c.setX(1, 0x40203000n);
    step(m1.c);
    expect(hex(sys(m1.c, REG.ESR_EL1))).toBe("0x9600000f");
    const m2 = withMmu([A64.LDTR(0, 1)]);
    m2.v.machine.bus.write64(0x40200000, 0x1122334455667788n);
    m2.c.setX(1, 0x40200000n);
    step(m2.c);
    expect(hex(m2.c.x(0))).toBe("0x1122334455667788");
  });

  it("strict TLB mode: replacing a valid leaf by another valid leaf without break-before-make is reported", () => {
    const v = createArm64Virt({ strictTlb: true });
    put(v, CODE, [A64.LDR(0, 1), A64.LDR(0, 1), A64.SELF]);
    v.cpu.reset(CODE, 0, 0);
    const bus = v.machine.bus;
    bus.write64(0x40300008, 0x40301003n);
    bus.write64(0x40301000, 0x40000705n);
    bus.write64(0x40301008, 0x40302003n);
    bus.write64(0x40302000, 0x40200747n);
    msr(v.cpu, REG.MAIR_EL1, 0xff00n);
    msr(v.cpu, REG.TCR_EL1, 0x200803519n);
    msr(v.cpu, REG.TTBR0_EL1, 0x40300000n);
    msr(v.cpu, REG.SCTLR_EL1, 0x00c50838n | 1n);
    const reports: string[] = [];
    v.strict!.onReport = (r) => reports.push(r.kind);
    v.cpu.setX(1, 0x40200000n);
    step(v.cpu);
    bus.write64(0x40302000, 0x40205747n); // another output address, no invalid step, no TLBI
    step(v.cpu);
    expect(reports.length).toBeGreaterThan(0);
    expect(v.cpu.pc).toBe(BigInt(CODE + 8));
  });

  it("the trace receives the walk's TLB fill and the exception", () => {
    const { v, c } = withMmu([A64.LDR(0, 1), A64.LDR(0, 2)]);
    const events: { type: string }[] = [];
    v.machine.setTrace((e) => events.push(e));
    c.setX(1, 0x40200000n);
    c.setX(2, 0x40201000n);
    step(c, 3);
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(["tlb-fill", "trap"]));
  });

  it("a store through the fast path is seen by a later load, and an unaligned Normal access is allowed", () => {
    const { c } = withMmu([A64.STR(2, 1), A64.LDR(0, 1), A64.LDRW(3, 4)]);
    c.setX(1, 0x40200010n);
    c.setX(2, 0xdeadbeefcafef00dn);
    c.setX(4, 0x40200012n);
    step(c, 3);
    expect(hex(c.x(0))).toBe("0xdeadbeefcafef00d");
    expect(hex(c.x(3))).toBe("0xbeefcafe");
  });
});

describe("native entries", () => {
  it("a native entry at the lower-EL vector runs after exception entry and returns with ERET", () => {
    const { v, c } = withVectors([A64.ERET]);
    put(v, CODE + 0x100, [A64.SVC(9), A64.SELF]);
    const seen: string[] = [];
    c.registerNative(VBAR + 0x400, (cpu) => {
      seen.push(`${cpu.el} ${hex(BigInt(cpu.esr >>> 0))}`);
      cpu.setX(0, 77n);
      cpu.eret();
    });
    msr(c, REG.ELR_EL1, BigInt(CODE + 0x100));
    msr(c, REG.SPSR_EL1, 0n);
    step(c, 3);
    expect(seen).toEqual(["1 0x56000009"]);
    expect(c.el).toBe(0);
    expect(c.x(0)).toBe(77n);
    expect(hex(c.pc)).toBe(hex(CODE + 0x104));
    expect(() => c.registerNative(VBAR + 0x400, () => {})).toThrow(RangeError);
  });
});

describe("the generic timer, WFI and PSCI", () => {
  it("without a GIC the virtual timer raises an IRQ when PSTATE.I is clear: vector 0x280, ELR = the interrupted instruction", () => {
    const { v, c } = withVectors([A64.DAIFCLR(2), A64.SELF], false);
    msr(c, REG.CNTV_TVAL_EL0, 50n);
    msr(c, REG.CNTV_CTL_EL0, 1n);
    v.machine.run({ maxInsns: 200 });
    expect(hex(c.pc)).toBe(hex(VBAR + 0x280));
    expect(hex(sys(c, REG.ELR_EL1))).toBe(hex(CODE + 4));
    expect(c.lastEc).toBe(-1);
  });

  it("with the GICv2 the timer's PPI 27 reaches the core once enabled; IAR acknowledges it, EOIR ends it", () => {
    const { v, c } = withVectors([A64.DAIFCLR(2), A64.SELF]);
    const gic = v.gic!;
    msr(c, REG.CNTV_TVAL_EL0, 20n);
    msr(c, REG.CNTV_CTL_EL0, 1n);
    v.machine.run({ maxInsns: 100 });
    expect(hex(c.pc)).toBe(hex(CODE + 4)); // the GIC is off: no IRQ
    const bus = v.machine.bus;
    bus.write(0x08000000, 4, 1); // GICD_CTLR
    bus.write(0x08000100, 4, 1 << 27); // GICD_ISENABLER0
    bus.write(0x08000400 + 27, 1, 0x80); // GICD_IPRIORITYR
    bus.write(0x08010004, 4, 0xff); // GICC_PMR
    bus.write(0x08010000, 4, 1); // GICC_CTLR
    expect(gic.irqOut()).toBe(true);
    v.machine.run({ maxInsns: 200 });
    expect(hex(c.pc)).toBe(hex(VBAR + 0x280));
    bus.read(0x0801000c, 4); // GICC_IAR
    expect(bus.lo).toBe(27);
    expect(gic.irqOut()).toBe(false); // active
    bus.read(0x0801000c, 4);
    expect(bus.lo).toBe(1023); // nothing else pending
    bus.write(0x08010010, 4, 27); // GICC_EOIR
    expect(gic.irqOut()).toBe(true); // the level is still high
    msr(c, REG.CNTV_CTL_EL0, 0n);
    expect(gic.irqOut()).toBe(false);
  });

  it("WFI with nothing that can wake the core ends the run: exit 125", () => {
    const { v } = withVectors([A64.WFI]);
    const r = v.machine.run({ maxInsns: 100 });
    expect(r.reason).toBe("wfi-hang");
    expect(r.exitCode).toBe(125);
  });

  it("WFI with a masked but pending timer interrupt completes without taking it", () => {
    const { v, c } = withVectors([A64.WFI, A64.NOP, A64.SELF]);
    msr(c, REG.CNTV_TVAL_EL0, 1000n);
    msr(c, REG.CNTV_CTL_EL0, 1n);
    v.machine.run({ maxInsns: 50 });
    expect(hex(c.pc)).toBe(hex(CODE + 8));
    expect(v.machine.skipped).toBeGreaterThan(900);
  });

  it("PSCI over HVC: PSCI_VERSION is 1.1; SYSTEM_OFF ends the run with exit 0", () => {
    const { v, c } = withVectors([A64.HVC(0), A64.MOVZ(0, 0x8400, 1), A64.ADDI(0, 0, 8), A64.SMC(0)]);
    c.setX(0, 0x84000000n);
    step(c);
    expect(hex(c.x(0))).toBe("0x10001");
    const r = v.machine.run({ maxInsns: 100 });
    expect(r.reason).toBe("pass");
    expect(r.exitCode).toBe(0);
  });

  it("PSCI SYSTEM_RESET ends a run that has no image to reload; an exception loop is exit 125", () => {
    const { v, c } = withVectors([A64.HVC(0)]);
    c.setX(0, 0x84000009n);
    expect(v.machine.run({ maxInsns: 100 }).reason).toBe("reset");
    const m = machineWith([0]);
    const r = m.v.machine.run({ maxInsns: 1_000_000 });
    expect(r.reason).toBe("trap-loop");
    expect(r.exitCode).toBe(125);
  });
});
