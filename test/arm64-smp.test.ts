/**
 * Several PEs on one arm64-virt machine: PSCI brings them up and down, they interleave in slices
 * (round robin or a seeded random schedule), each with its own TLB, timer, exclusive monitor and
 * GIC CPU interface, sharing memory coherently; and the same schedule always gives the same run.
 * @spec ARM-ARM D8.17 "TLB maintenance instructions" (IS forms reach every PE of the Inner
 *   Shareable domain, the others only the executing PE); B2.9.2 "Exclusive access instructions and
 *   Shareable memory locations" (another PE's store to the marked granule clears the global
 *   monitor); IHI 0048B §4.3.15 GICD_SGIR, §4.4.4 GICC_IAR (CPUID of an SGI's source in bits 12:10);
 *   DEN0022D §5.1.4 CPU_ON, §5.1.5 AFFINITY_INFO, §5.2.2 return codes
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bootBareArm64, createArm64Virt, type Arm64Virt, type Arm64VirtOptions } from "../boot/arm64/virt.js";
import { PSCI, PSCI_ALREADY_ON, PSCI_INVALID_PARAMETERS, PSCI_SUCCESS } from "../boot/arm64/psci.js";
import { encodeTcr, granuleNamed, RIG_TCR, TableBuilder } from "../emulator/arch/arm64/mmu-tables.js";
import { formatStrictReport, type StrictReport } from "../emulator/arch/arm64/bbm.js";
import { Digest } from "../emulator/core/digest.js";
import { assemble } from "../tools/asm/index.js";

const SMP = readFileSync(new URL("../examples/smp-arm64.S", import.meta.url), "utf8");
const EXPECTED = readFileSync(new URL("../examples/smp-arm64.expected", import.meta.url), "utf8");

/** Assembles `source`, boots it bare on `opts.cpus` PEs and runs it; reads 32-bit words at labels afterwards. */
function run(source: string, opts: Arm64VirtOptions & { maxInsns?: number; prepare?: (v: Arm64Virt, sym: (l: string) => number) => void } = {}) {
  const asm = assemble("arm64", source, { fileName: "smp.S" });
  const sym = (label: string): number => Number(asm.symbols.get(label)!);
  let out = "";
  const v = createArm64Virt({ ...opts, console: (b) => { out += String.fromCharCode(b); } });
  bootBareArm64(v, asm.elf);
  opts.prepare?.(v, sym);
  const result = v.machine.run({ maxInsns: opts.maxInsns ?? 2_000_000 });
  const word = (label: string): number => {
    v.machine.bus.read(sym(label), 4);
    return v.machine.bus.lo >>> 0;
  };
  return { v, result, out, word };
}

/** A digest of every PE's registers, pc and instruction count. */
function stateHash(v: Arm64Virt): string {
  const d = new Digest();
  for (const c of v.cpus) {
    for (let i = 0; i < 33; i++) d.word(c.xl[i]!).word(c.xh[i]!);
    d.word(c.pcLo).word(c.pcHi).number(c.icount);
  }
  return d.hex();
}

describe("examples/smp-arm64.S", () => {
  it("prints what qemu-system-aarch64 -smp 4 printed, under round robin and under random schedules", () => {
    for (const schedule of [{}, { seed: 1 }, { seed: 2, quantum: 3 }, { seed: 99, quantum: 1 }]) {
      const r = run(SMP, { cpus: 4, schedule, maxInsns: 5_000_000 });
      expect({ schedule, out: r.out, exit: r.result.exitCode }).toEqual({ schedule, out: EXPECTED, exit: 0 });
    }
  });

  it("the same seed gives the same run; different seeds interleave differently", () => {
    const once = (seed: number) => {
      const r = run(SMP, { cpus: 4, schedule: { seed, quantum: 7 }, maxInsns: 5_000_000 });
      return { hash: stateHash(r.v), split: r.v.cpus.map((c) => c.icount), total: r.result.icount };
    };
    expect(once(5)).toEqual(once(5));
    expect(once(5).split).not.toEqual(once(6).split);
    const r = once(5);
    expect(r.total).toBe(r.split.reduce((a, b) => a + b, 0));
  });

  it("with one CPU, CPU_ON of CPU 1 is INVALID_PARAMETERS: the program says FAIL", () => {
    const r = run(SMP, { cpus: 1 });
    expect(r.out).toBe("cpu 0 is up\nFAIL\n");
  });
});

/** Header of the small programs below: CPU number in x19, PSCI helpers. */
const PRELUDE = `
        .equ    CPU_ON, 0xc4000003
        .equ    SYSTEM_OFF, 0x84000008
        .text
        .global _start
_start: mrs     x19, mpidr_el1
        and     x19, x19, #0xff
`;
const OFF = `ldr x0, =SYSTEM_OFF\n        hvc #0`;
/** Starts CPU 1 at label `sec`. */
const START_CPU1 = `ldr x0, =CPU_ON\n        mov x1, #1\n        adr x2, sec\n        mov x3, #0\n        hvc #0`;

describe("the exclusive monitor across PEs", () => {
  /** CPU 0 marks `a` with LDXR; CPU 1 then stores to a + OFFSET; CPU 0's STXR result lands in `result`. */
  const monitor = (offset: number, writer = "str w4, [x5]") => `${PRELUDE}
        adr     x5, a
        add     x5, x5, #${offset}
        adr     x6, flag
        mov     w4, #7
        cbnz    x19, sec
        ${START_CPU1}
        adr     x7, a
        ldxr    w1, [x7]
        mov     w2, #1
        stlr    w2, [x6]
1:      ldar    w2, [x6]
        cmp     w2, #2
        b.ne    1b
        mov     w3, #5
        stxr    w8, w3, [x7]
        adr     x9, result
        str     w8, [x9]
        ${OFF}
sec:    adr     x5, a
        add     x5, x5, #${offset}
        adr     x6, flag
        mov     w4, #7
1:      ldar    w2, [x6]
        cbz     w2, 1b
        ${writer}
        mov     w2, #2
        stlr    w2, [x6]
2:      wfi
        b       2b
        .data
        .balign 64
a:      .word 0
        .balign 64
b:      .word 0
flag:   .word 0
result: .word 0xff
`;

  it("another PE's store into the marked 64-byte granule (CTR_EL0.ERG = 4) makes STXR fail (status 1)", () => {
    for (const offset of [0, 8, 60]) expect(run(monitor(offset), { cpus: 2 }).word("result")).toBe(1);
  });

  it("a store outside the granule leaves the mark: STXR succeeds (status 0) and stores", () => {
    const r = run(monitor(64), { cpus: 2 });
    expect([r.word("result"), r.word("a")]).toEqual([0, 5]);
  });

  it("the same holds without the host fast path, and for a store by STP of another PE", () => {
    expect(run(monitor(8), { cpus: 2, noFastPath: true }).word("result")).toBe(1);
    expect(run(monitor(0, "stp w4, w4, [x5]"), { cpus: 2 }).word("result")).toBe(1);
  });

  it("a PE's own store to the granule does not clear its mark (the choice QEMU makes too)", () => {
    const own = `${PRELUDE}
        adr     x7, a
        ldxr    w1, [x7]
        mov     w2, #9
        str     w2, [x7, #8]
        mov     w3, #5
        stxr    w8, w3, [x7]
        adr     x9, result
        str     w8, [x9]
        ${OFF}
        .data
        .balign 64
a:      .word 0, 0, 0
result: .word 0xff
`;
    expect(run(own, { cpus: 2 }).word("result")).toBe(0);
  });
});

/** Page tables for the TLB tests: RAM identity-mapped by 2 MiB blocks, VA X by a page to PA_OLD. */
const X = 0x1000_0000n, PA_OLD = 0x4400_0000, PA_NEW = 0x4500_0000, TABLES = 0x4100_0000;
const AF = 1n << 10n;
/** What CPU 1 reads at X through the old and the new mapping. */
const MARK_OLD = 0x1111_1111, MARK_NEW = 0x2222_2222;

/**
 * CPU 1 loads from X (its TLB caches X → PA_OLD); CPU 0 moves X to PA_NEW with break-before-make
 * using `tlbi` (and `dsb` after the TLBI and after the new descriptor), then CPU 1 loads X again
 * into `result`.
 */
function tlbProgram(tlbi: string, dsb = "dsb ish"): string {
  return `${PRELUDE}
        .equ    X, ${X}
        bl      mmu_on
        cbnz    x19, sec
        ${START_CPU1}
        adr     x6, flag
1:      ldar    w2, [x6]
        cbz     w2, 1b
        ldr     x10, =desc_addr
        ldr     x10, [x10]
        ldr     x11, =desc_new
        ldr     x11, [x11]
        str     xzr, [x10]
        dsb     ish
        ldr     x12, =X >> 12
        tlbi    ${tlbi.startsWith("vmalle1") ? tlbi : `${tlbi}, x12`}
        ${dsb}
        str     x11, [x10]
        ${dsb}
        mov     w2, #2
        stlr    w2, [x6]
2:      ldar    w2, [x6]
        cmp     w2, #3
        b.ne    2b
        ${OFF}
sec:    bl      mmu_on
        adr     x6, flag
        ldr     x5, =X
        ldr     w7, [x5]
        mov     w2, #1
        stlr    w2, [x6]
1:      ldar    w2, [x6]
        cmp     w2, #2
        b.ne    1b
        ldr     w7, [x5]
        adr     x8, result
        str     w7, [x8]
        mov     w2, #3
        stlr    w2, [x6]
2:      wfi
        b       2b
mmu_on: ldr     x1, =0xff
        msr     mair_el1, x1
        ldr     x1, =tcr
        ldr     x1, [x1]
        msr     tcr_el1, x1
        ldr     x1, =${TABLES}
        msr     ttbr0_el1, x1
        isb
        mrs     x1, sctlr_el1
        orr     x1, x1, #1
        msr     sctlr_el1, x1
        isb
        ret
        .ltorg
        .data
        .balign 8
tcr:       .quad ${encodeTcr(RIG_TCR)}
desc_addr: .quad 0
desc_new:  .quad 0
flag:      .word 0
result:    .word 0
`;
}

/** Runs a {@link tlbProgram} on 2 PEs after building its tables; `result` is what CPU 1 read the second time. */
function tlbRun(tlbi: string, opts: Arm64VirtOptions & { dsb?: string } = {}) {
  const reports: StrictReport[] = [];
  const r = run(tlbProgram(tlbi, opts.dsb), {
    cpus: 2, ...opts,
    prepare: (v, sym) => {
      const bus = v.machine.bus;
      const t = new TableBuilder(bus, granuleNamed("4K"), 48, TABLES);
      for (let pa = 0x4000_0000; pa < 0x4800_0000; pa += 0x20_0000) t.map(BigInt(pa), pa, 2, AF);
      const leaf = t.map(X, PA_OLD, 3, AF)[3]!;
      bus.write64(sym("desc_addr"), BigInt(leaf));
      bus.write64(sym("desc_new"), (bus.read64(leaf)! & ~0xffff_ffff_f000n) | BigInt(PA_NEW));
      bus.write(PA_OLD, 4, MARK_OLD);
      bus.write(PA_NEW, 4, MARK_NEW);
      if (v.strict) v.strict.onReport = (rep) => reports.push(rep);
    },
  });
  expect(r.result.reason).toBe("pass");
  return { result: r.word("result"), reports };
}

describe("TLB maintenance scope across PEs", () => {
  it("TLBI VAE1IS (Inner Shareable) reaches the other PE's TLB: CPU 1 then sees the new mapping", () => {
    expect(tlbRun("vae1is").result).toBe(MARK_NEW);
    expect(tlbRun("vaae1is").result).toBe(MARK_NEW);
    expect(tlbRun("vmalle1is").result).toBe(MARK_NEW);
  });

  it("TLBI VAE1 (local) reaches only the executing PE: CPU 1 keeps using its old entry", () => {
    expect(tlbRun("vae1").result).toBe(MARK_OLD);
    expect(tlbRun("vaae1").result).toBe(MARK_OLD);
    expect(tlbRun("vmalle1").result).toBe(MARK_OLD);
  });

  it("strict mode: the missing broadcast is a stale TLB use reported on CPU 1, not CPU 0; with IS nothing is reported", () => {
    const ok = tlbRun("vae1is", { strictTlb: true });
    expect([ok.result, ok.reports]).toEqual([MARK_NEW, []]);
    const bad = tlbRun("vae1", { strictTlb: true });
    expect(bad.result).toBe(MARK_OLD);
    expect(bad.reports.map((r) => [r.kind, r.where?.cpu, r.kind === "stale-tlb" ? r.changes : []])).toEqual([["stale-tlb", 1, ["pa"]]]);
    const line = formatStrictReport(bad.reports[0]!);
    expect(line).toMatch(/^stale TLB on cpu 1 at pc 0x[0-9a-f]+ .*load of VA 0x10000000 .*last written on cpu 0 at pc/);
  });

  it("strict mode: TLBI ...IS without a DSB on CPU 0 is reported when CPU 1 relies on it", () => {
    const bad = tlbRun("vae1is", { strictTlb: true, dsb: "nop" });
    expect(bad.reports.map((r) => [r.kind, r.where?.cpu])).toEqual([["tlbi-without-dsb", 1]]);
  });
});

describe("per-CPU generic timers", () => {
  it("each CPU's virtual timer raises its own PPI 27: both sleep in WFI, time jumps, each wakes at its own deadline", () => {
    const src = `${PRELUDE}
        ldr     x1, =0x08000000
        cbnz    x19, 1f
        mov     w2, #1
        str     w2, [x1]                        // GICD_CTLR (CPU 0, before starting CPU 1)
        ${START_CPU1}
sec:    mrs     x19, mpidr_el1
        and     x19, x19, #0xff
1:      ldr     x1, =0x08000000
        mov     w2, #1 << 27
        str     w2, [x1, #0x100]                // GICD_ISENABLER0: this CPU's PPI 27
        ldr     x1, =0x08010000
        mov     w2, #0xff
        str     w2, [x1, #4]
        mov     w2, #1
        str     w2, [x1]
        mov     x3, #30000
        add     x4, x19, #1
        mul     x3, x3, x4                      // CPU i sleeps 30000 * (i + 1) ticks
        mrs     x5, cntvct_el0
        msr     cntv_tval_el0, x3
        mov     w2, #1
        msr     cntv_ctl_el0, x2
2:      wfi
        ldr     w6, [x1, #0xc]                  // GICC_IAR
        cmp     w6, #27
        b.ne    2b
        mrs     x7, cntvct_el0
        msr     cntv_ctl_el0, xzr
        str     w6, [x1, #0x10]
        sub     x7, x7, x5
        adr     x8, slept
        str     x7, [x8, x19, lsl #3]
        cbnz    x19, 4f
3:      ldr     x7, [x8, #8]
        cbz     x7, 3b
        ${OFF}
4:      wfi
        b       4b
        .data
        .balign 8
slept:  .quad 0
slept1: .quad 0
`;
    const r = run(src, { cpus: 2 });
    expect(r.result.reason).toBe("pass");
    const slept = [r.word("slept"), r.word("slept1")];
    // A waiting CPU's interrupt is taken on its turn: at most one slice (1000 instructions) late.
    expect(slept[0]).toBeGreaterThanOrEqual(30000);
    expect(slept[0]).toBeLessThan(31000);
    expect(slept[1]).toBeGreaterThanOrEqual(60000);
    expect(slept[1]).toBeLessThan(61000);
    // Both waited with nothing to run: the machine skipped time instead of spinning.
    expect(r.v.machine.skipped).toBeGreaterThan(0);
  });
});

describe("PSCI power management", () => {
  /** Calls PSCI function `fn` with x1..x3 on PE `cpu` of `v`; returns X0 as a signed number. */
  const call = (v: Arm64Virt, cpu: number, fn: number, ...args: bigint[]): number => {
    const c = v.cpus[cpu]!;
    c.setX(0, BigInt(fn));
    args.forEach((a, i) => c.setX(i + 1, a));
    c.firmware!(c, 0, false);
    return Number(BigInt.asIntN(64, c.x(0)));
  };
  const booted = (cpus: number): Arm64Virt => {
    const v = createArm64Virt({ cpus });
    bootBareArm64(v, assemble("arm64", `${PRELUDE}\n1: wfi\n b 1b\n`).elf);
    return v;
  };

  it("CPU 0 starts; the others are off until CPU_ON, which starts them at the entry with x0 = context id, EL1h, MMU off, DAIF masked", () => {
    const v = booted(4);
    expect([...v.machine.off]).toEqual([0, 1, 1, 1]);
    expect(call(v, 0, PSCI.AFFINITY_INFO64, 2n, 0n)).toBe(1);
    expect(call(v, 0, PSCI.CPU_ON64, 2n, 0x4008_1234n, 0x1122_3344_5566_7788n)).toBe(PSCI_SUCCESS);
    const c = v.cpus[2]!;
    expect([c.pc, c.x(0), c.el, c.spsel, c.daif, c.mpidr, v.machine.off[2]]).toEqual([0x4008_1234n, 0x1122_3344_5566_7788n, 1, 1, 0x3c0, 0x8000_0002, 0]);
    expect(call(v, 0, PSCI.AFFINITY_INFO64, 2n, 0n)).toBe(0);
  });

  it("error codes: ALREADY_ON for a PE that is on, INVALID_PARAMETERS for no such PE or a malformed affinity", () => {
    const v = booted(2);
    expect(call(v, 0, PSCI.CPU_ON64, 0n, 0x4008_0000n, 0n)).toBe(PSCI_ALREADY_ON);
    expect(call(v, 0, PSCI.CPU_ON64, 2n, 0x4008_0000n, 0n)).toBe(PSCI_INVALID_PARAMETERS);
    expect(call(v, 0, PSCI.CPU_ON64, 0x8000_0001n, 0x4008_0000n, 0n)).toBe(PSCI_INVALID_PARAMETERS); // bit 31 is not affinity
    expect(call(v, 0, PSCI.CPU_ON64, 1n << 32n, 0x4008_0000n, 0n)).toBe(PSCI_INVALID_PARAMETERS); // Aff3 = 1
    expect(call(v, 0, PSCI.AFFINITY_INFO64, 1n, 1n)).toBe(PSCI_INVALID_PARAMETERS); // only level 0
    expect(call(v, 0, PSCI.AFFINITY_INFO64, 5n, 0n)).toBe(PSCI_INVALID_PARAMETERS);
    // The SMC32 form takes W registers: the high half of x1 is ignored.
    expect(call(v, 0, PSCI.CPU_ON, (7n << 32n) | 1n, 0x4008_0000n, 0n)).toBe(PSCI_SUCCESS);
    expect(call(v, 0, PSCI.CPU_ON64, 1n, 0x4008_0000n, 0n)).toBe(PSCI_ALREADY_ON);
  });

  it("CPU_OFF turns the caller off; the last PE turning off ends the run (exit 125)", () => {
    const v = booted(2);
    call(v, 0, PSCI.CPU_ON64, 1n, 0x4008_0000n, 0n);
    expect(call(v, 1, PSCI.CPU_OFF)).toBe(PSCI_SUCCESS);
    expect([...v.machine.off]).toEqual([0, 1]);
    expect(call(v, 0, PSCI.AFFINITY_INFO64, 1n, 0n)).toBe(1);
    const r = run(`${PRELUDE}\n        ldr x0, =0x84000002\n        hvc #0\n1:      b 1b\n`, { cpus: 2 });
    expect([r.result.reason, r.result.exitCode, r.result.message]).toEqual(["fail", 125, "cpu 0, the last one on, turned itself off (PSCI CPU_OFF): nothing is left to run"]);
  });
});

describe("GICv2 with several PEs: banking and SGIs", () => {
  const GICD = 0x0800_0000, GICC = 0x0801_0000;
  /** A 4-PE machine whose GIC register accesses are made "by" PE `as(k)`. */
  const gicMachine = () => {
    const v = createArm64Virt({ cpus: 4 });
    const g = v.gic!;
    let who = 0;
    g.current = () => who;
    const bus = v.machine.bus;
    const as = (k: number) => {
      who = k;
      return {
        rd: (a: number): number => { bus.read(a, 4); return bus.lo >>> 0; },
        wr: (a: number, x: number): void => { bus.write(a, 4, x); },
      };
    };
    for (let k = 0; k < 4; k++) { as(k).wr(GICC, 1); as(k).wr(GICC + 4, 0xff); }
    as(0).wr(GICD, 1);
    return { v, g, as };
  };

  it("GICD_TYPER reports 4 CPUs; ITARGETSR0-7 read the accessing PE's own bit; SPI targets are writable", () => {
    const { as } = gicMachine();
    expect((as(0).rd(GICD + 4) >>> 5) & 7).toBe(3);
    expect([0, 1, 3].map((k) => as(k).rd(GICD + 0x800))).toEqual([0x01010101, 0x02020202, 0x08080808]);
    as(2).wr(GICD + 0x820, 0x0c);
    expect(as(0).rd(GICD + 0x820) & 0xff).toBe(0x0c);
  });

  it("GICD_SGIR: a target list, all-but-self and self-only reach exactly those PEs; IAR gives the SGI and its source", () => {
    const { v, g, as } = gicMachine();
    as(1).wr(GICD + 0xf00, (0b1001 << 16) | 5); // SGI 5 from CPU 1 to CPUs 0 and 3
    expect(v.cpus.map((c) => g.irqOut(c.index))).toEqual([true, false, false, true]);
    expect(as(3).rd(GICC + 0xc)).toBe(5 | (1 << 10));
    expect(as(3).rd(GICC + 0xc)).toBe(1023); // taken: nothing else pending at CPU 3
    as(3).wr(GICC + 0x10, 5 | (1 << 10));
    as(2).wr(GICD + 0xf00, (1 << 24) | 3); // SGI 3 to all but CPU 2
    expect(v.cpus.map((c) => g.irqOut(c.index))).toEqual([true, true, false, true]);
    as(0).wr(GICD + 0xf00, (2 << 24) | 9); // SGI 9 to CPU 0 itself
    expect(g.pending(9, 0) && !g.pending(9, 1)).toBe(true);
  });

  it("an SGI is pending once per source: two senders give two acknowledgements, lowest source first", () => {
    const { as } = gicMachine();
    as(3).wr(GICD + 0xf00, (1 << 16) | 2);
    as(1).wr(GICD + 0xf00, (1 << 16) | 2);
    const iar1 = as(0).rd(GICC + 0xc);
    as(0).wr(GICC + 0x10, iar1);
    const iar2 = as(0).rd(GICC + 0xc);
    as(0).wr(GICC + 0x10, iar2);
    expect([iar1, iar2, as(0).rd(GICC + 0xc)]).toEqual([2 | (1 << 10), 2 | (3 << 10), 1023]);
  });

  it("PPIs are banked: each PE's timer interrupt (27) is enabled and pending at that PE only", () => {
    const { v, g, as } = gicMachine();
    as(2).wr(GICD + 0x100, 1 << 27);
    expect([0, 1, 2, 3].map((k) => as(k).rd(GICD + 0x100) >>> 27 & 1)).toEqual([0, 0, 1, 0]);
    const t = v.cpus[2]!.timer.virt;
    t.ctl = 1;
    t.cval = 0n;
    expect(v.cpus.map((c) => g.irqOut(c.index))).toEqual([false, false, true, false]);
  });

  it("a PE asleep in WFI wakes when an SGI arrives (IRQs masked), and not before", () => {
    const src = `${PRELUDE}
        cbnz    x19, sec
        ${START_CPU1}
        ldr     x1, =0x08000000
        mov     w2, #1
        str     w2, [x1]
        adr     x6, flag
1:      ldar    w2, [x6]
        cbz     w2, 1b
        mov     x9, #5000
2:      subs    x9, x9, #1
        b.ne    2b
        ldr     w2, =(1 << 17) | 4
        str     w2, [x1, #0xf00]
3:      ldar    w2, [x6]
        cmp     w2, #2
        b.ne    3b
        ${OFF}
sec:    ldr     x1, =0x08010000
        mov     w2, #0xff
        str     w2, [x1, #4]
        mov     w2, #1
        str     w2, [x1]
        adr     x6, flag
        stlr    w2, [x6]
        wfi
        ldr     w3, [x1, #0xc]
        adr     x7, iar
        str     w3, [x7]
        mrs     x4, cntvct_el0
        adr     x7, woke
        str     x4, [x7]
        mov     w2, #2
        stlr    w2, [x6]
4:      wfi
        b       4b
        .data
        .balign 8
woke:   .quad 0
flag:   .word 0
iar:    .word 0
`;
    const r = run(src, { cpus: 2 });
    expect(r.result.reason).toBe("pass");
    expect(r.word("iar")).toBe(4); // SGI 4 from CPU 0
    // CPU 1 slept through CPU 0's 5000-iteration delay loop (2 instructions each, time = half of all).
    expect(r.word("woke")).toBeGreaterThan(5000);
  });
});
