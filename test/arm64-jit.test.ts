/**
 * The A64 block translator (emulator/arch/arm64/jit.ts) must be invisible to the guest. With blocks
 * built on the first visit (`hot = 1`), each program here ends in the same state as with the
 * translator off (`noJit`): registers, NZCV, pc, instruction count, memory and every exception
 * (ESR, FAR, ELR, and the instruction count it was taken at). The architectural facts hold: a Data
 * Abort or SP alignment fault in the middle of a block is taken at that instruction after exactly
 * the instructions before it; a store into the code of the block being run takes effect for the
 * next fetch; code another PE rewrites is seen as without blocks; a timer interrupt is taken at the
 * same instruction boundary; an instruction limit stops at the exact count.
 * @spec Arm ARM (DDI 0487) "Preferred exception return address" (the faulting instruction for a
 *   synchronous Data Abort; for an IRQ the first instruction not executed), ESR_EL1 (EC 0x25 Data
 *   Abort taken without a change in EL, 0x26 SP alignment fault; DFSC 0x05 level-1 translation
 *   fault, 0x21 alignment fault), "SP alignment checking", B2.2.5 "Concurrent modification and
 *   execution of instructions" (jit.ts documents the choice: the next fetch sees a store to code);
 *   ARCH-SPEC §3.7 and §5 (ESR_EL1 values)
 */
import { describe, expect, it } from "vitest";
import { bootBareArm64, createArm64Virt, type Arm64Virt } from "../boot/arm64/virt.js";
import { assembleArm64 } from "../tools/asm/arm64/index.js";
import type { ExceptionEvent } from "../emulator/arch/arm64/exceptions.js";
import { rng } from "./support/rng.js";
import { VECTOR } from "../emulator/arch/arm64/defs.js";

/**
 * Identity-maps 0..1 GiB (Device) and 1..2 GiB (Normal) with one TTBR0 level-1 table, installs a
 * vector table whose every entry powers off (PSCI SYSTEM_OFF) with x28 = its offset / 0x80, sets SP
 * to `stack_top`, turns the MMU on (SCTLR.SA as `sa` says) and jumps to `go`. PE 1..n-1 (started by
 * PE 0 with CPU_ON at `_start`) do the same and jump to `ap_go`.
 */
const prelude = (sa: boolean, smp: boolean, align = false): string => `
    .text
    .globl _start
_start:
    mrs     x19, mpidr_el1
    and     x19, x19, #0xff
    adr     x0, l1
    cbnz    x19, 3f
    ldr     x1, =0x40000000 | 0x401 | (0 << 2) | (3 << 8)
    str     x1, [x0, #8]
    ldr     x1, =0x00000000 | 0x401 | (1 << 2)
    str     x1, [x0]
3:  msr     ttbr0_el1, x0
    ldr     x1, =0x04ff
    msr     mair_el1, x1
    ldr     x1, =(25) | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | (5 << 32)
    msr     tcr_el1, x1
    adr     x1, vectors
    msr     vbar_el1, x1
    isb
    mrs     x1, sctlr_el1
    orr     x1, x1, #1
    bic     x1, x1, #8
    bic     x1, x1, #2
    ${sa ? "orr     x1, x1, #8" : ""}
    ${align ? "orr     x1, x1, #2" : ""}
    msr     sctlr_el1, x1
    isb
    adr     x1, stack_top
    sub     x1, x1, x19, lsl #12
    mov     sp, x1
    mov     x1, #0
    ${smp ? "cbnz    x19, ap_go" : ""}
    b       go
    .balign 2048
vectors:
${Array.from({ length: 16 }, (_, i) => `    .balign 128\n    mov x28, #${i}\n    movz x0, #0x8400, lsl #16\n    movk x0, #8\n    hvc #0`).join("\n")}
`;

const DATA = `
    .data
    .balign 4096
l1: .fill 512, 8, 0
    .fill 1024, 8, 0
stack_top:
`;

interface Outcome {
  reason: string; icount: number; pc: bigint; nzcv: number; regs: bigint[]; traps: ExceptionEvent[]; built: number; mem: number[];
}

/** SCTLR_EL1 checks to turn on: SA (SP alignment) and A (alignment of every access). */
interface Checks { sa?: boolean; align?: boolean }
interface RunOptions extends Checks { maxInsns?: number }

/** The whole program: the prelude, `source` (with `go`, and `ap_go` if it starts other PEs), the tables and stacks. */
const image = (source: string, o: Checks): string => prelude(o.sa ?? false, source.includes("ap_go:"), o.align ?? false) + source + DATA;
/** The address of a label of `source` (as machine() assembles it). */
const sym = (source: string, name: string, o: Checks = {}): bigint => assembleArm64(image(source, o)).symbols.get(name)!;

function machine(source: string, jit: boolean, cpus = 1, o: Checks = {}): Arm64Virt {
  const v = createArm64Virt({ noJit: !jit, cpus });
  bootBareArm64(v, assembleArm64(image(source, o)).elf);
  if (jit) for (const c of v.cpus) c.jit!.hot = 1;
  return v;
}

/** `count` words of RAM from `from` (the image: code, tables, data), for comparing memory. */
function words(v: Arm64Virt, from: number, count: number): number[] {
  const bus = v.machine.bus;
  return Array.from({ length: count }, (_, i) => (bus.read(from + 4 * i, 4), bus.lo));
}

function outcome(v: Arm64Virt, reason: string): Outcome {
  const c = v.cpu;
  return {
    reason, icount: c.icount, pc: c.pc, nzcv: c.nzcv, regs: Array.from({ length: 33 }, (_, i) => c.x(i)),
    traps: [], built: c.jit?.built ?? 0, mem: words(v, 0x40080000, 4096),
  };
}

function run(source: string, jit: boolean, opts: RunOptions = {}): Outcome {
  const v = machine(source, jit, 1, opts);
  const traps: ExceptionEvent[] = [];
  v.cpu.onTrap = (e) => traps.push(e);
  const r = v.machine.run({ maxInsns: opts.maxInsns ?? 1_000_000 });
  return { ...outcome(v, r.reason), traps };
}

/** Runs with and without the translator; expects the same outcome and at least one block built. */
function same(source: string, opts: RunOptions = {}): Outcome {
  const on = run(source, true, opts), off = run(source, false, opts);
  expect(on.built).toBeGreaterThan(0);
  expect(on).toEqual({ ...off, built: on.built });
  return on;
}

const EC = (t: ExceptionEvent): number => t.esr >>> 26;

describe("arm64 block translator: faults, stores to code, interrupts", () => {
  it("a Data Abort in the middle of a block is taken at that instruction (ESR, FAR, ELR) after exactly the instructions before it", () => {
    const src = `
go: adr     x1, ptrs
    mov     x2, #0
    mov     x3, #0
    mov     x4, #0
1:  ldr     x5, [x1, x2, lsl #3]
    add     x3, x3, #1
fault_at:
    ldr     x6, [x5]
    add     x4, x4, x6
    add     x2, x2, #1
    b       1b
    .balign 8
ptrs: .quad val, val, val, val, 0x80000010
val:  .quad 7
`;
    const on = same(src);
    const dabt = on.traps.find((t) => EC(t) === 0x25)!;
    expect(dabt.far).toBe(0x80000010n);
    expect(dabt.esr & 0x3f).toBe(0x05); // DFSC: translation fault, level 1
    expect((dabt.esr >>> 6) & 1).toBe(0); // WnR: a read
    const fault = on.traps[0]!;
    expect(fault).toBe(dabt);
    // Four whole iterations, then the pointer load and the ADD of the fifth retired.
    expect(on.regs[3]).toBe(5n);
    expect(on.regs[2]).toBe(4n);
    expect(on.regs[4]).toBe(28n);
    expect(on.regs[28]).toBe(4n); // current EL with SP_ELx, synchronous
    expect(dabt.elr).toBe(sym(src, "fault_at"));
  });

  it("an SP alignment fault (SCTLR_EL1.SA) in the middle of a block is taken at that instruction", () => {
    // The third pass moves SP by 4 (an extended-register SUB, interpreted), then runs the block
    // after it, whose SP-based load was a fast-path hit on the passes before.
    const src = `
go: mov     x2, #0
    mov     x6, #0
1:  add     x2, x2, #1
    str     x2, [sp, #-16]!
    ldr     x3, [sp], #16
    cmp     x2, #3
    cset    x5, eq
    lsl     x5, x5, #2
    sub     sp, sp, x5
    add     x6, x6, #1
fault_at:
    ldr     x4, [sp, #8]
    b       1b
`;
    const on = same(src, { sa: true });
    const t = on.traps[0]!;
    expect(EC(t)).toBe(0x26);
    expect(t.elr).toBe(sym(src, "fault_at", { sa: true }));
    expect(on.regs[2]).toBe(3n);
    expect(on.regs[6]).toBe(3n);
  });

  it("an alignment fault (SCTLR_EL1.A) in the middle of a block is a Data Abort at that instruction with DFSC 0x21", () => {
    const src = `
go: adr     x1, buf
    mov     x2, #0
1:  add     x2, x2, #1
fault_at:
    ldr     x3, [x1, #8]
    str     w3, [x1, #4]
    add     x1, x1, #2
    ldrh    w4, [x1], #2
    ldr     w5, [x1, #-4]
    b       1b
    .balign 16
buf: .quad 1, 2, 3, 4
`;
    const on = same(src, { align: true });
    const t = on.traps[0]!;
    expect(EC(t)).toBe(0x25);
    expect(t.esr & 0x3f).toBe(0x21);
    // The second pass: x1 = buf + 4, so the 8-byte load from buf + 12 is misaligned.
    expect(t.elr).toBe(sym(src, "fault_at", { align: true }));
    expect(t.far).toBe(sym(src, "buf", { align: true }) + 12n);
    expect(on.regs[2]).toBe(2n);
  });

  it("a store into the block being run changes the instruction it patches on that same pass", () => {
    // Each pass writes the counter into the imm12 of the ADD two instructions on, so x0 sums
    // 10, 9, ..., 1 only if every patch is seen by the very next fetch of that ADD.
    const src = `
go: mov     x1, #10
    mov     x0, #0
    adr     x5, patch
    movz    w6, #0x9100, lsl #16
1:  lsl     w3, w1, #10
    orr     w3, w3, w6
    str     w3, [x5]
patch:
    add     x0, x0, #0
    subs    x1, x1, #1
    b.ne    1b
    movz    x0, #0x8400, lsl #16
    movk    x0, #8
    mov     x9, x0
    hvc     #0
`;
    const on = same(src);
    expect(on.reason).toBe("pass");
    expect(on.traps).toEqual([]);
  });

  it("the timer interrupt is taken at the same instruction boundary as without blocks", () => {
    const src = `
go: mov     x1, #0x08000000
    mov     w2, #1
    str     w2, [x1]
    mov     w2, #(1 << 27)
    str     w2, [x1, #0x100]
    mov     w2, #0x80
    strb    w2, [x1, #0x41b]
    mov     x1, #0x08010000
    mov     w2, #0xff
    str     w2, [x1, #4]
    mov     w2, #1
    str     w2, [x1]
    ldr     x2, =12345
    msr     cntv_tval_el0, x2
    mov     x2, #1
    msr     cntv_ctl_el0, x2
    adr     x3, buf
    mov     x4, #0
    msr     daifclr, #2
1:  ldr     x5, [x3]
    add     x5, x5, #3
    str     x5, [x3, #8]
    add     x4, x4, #1
    b       1b
    .balign 16
buf: .quad 0, 0
`;
    const on = same(src);
    expect(on.traps.length).toBe(1);
    expect(on.traps[0]!.kind).toBe(VECTOR.IRQ);
    expect(on.regs[28]).toBe(5n); // the IRQ vector, current EL with SP_ELx
    expect(on.regs[4]).toBeGreaterThan(100n);
  });
});

/** The bench loop's shape with a call, a pair store and load, and a conditional select in it. */
const LOOP = `
go: adr     x3, buf
    mov     x4, #1000
1:  ldr     x5, [x3]
    add     x5, x5, #3
    str     x5, [x3, #8]
    bl      f
    ldr     x6, [x3, #8]
    eor     x5, x5, x6
    subs    x4, x4, #1
    b.ne    1b
    movz    x0, #0x8400, lsl #16
    movk    x0, #8
    hvc     #0
f:  stp     x29, x30, [sp, #-16]!
    lsl     x7, x5, #3
    cmp     x7, #0x100
    csel    x8, x7, x5, hi
    add     x8, x8, x4
    str     x8, [x3]
    ldp     x29, x30, [sp], #16
    ret
    .balign 16
buf: .quad 1, 2
`;

describe("arm64 block translator: instruction budgets", () => {
  it("an instruction limit stops at exactly that count, in the state the interpreter reaches", () => {
    for (const n of [1, 2, 3, 7, 8, 13, 40, 41, 64, 65, 100, 1001, 4097, 9999]) {
      const on = run(LOOP, true, { maxInsns: n }), off = run(LOOP, false, { maxInsns: n });
      expect(on.icount).toBe(n);
      expect({ n, ...on, built: 0 }).toEqual({ n, ...off, built: 0 });
    }
  });

  it("slices of any length retire exactly their budget, and the run ends as the interpreter's", () => {
    const on = machine(LOOP, true), off = machine(LOOP, false);
    let k = 1;
    const c = on.cpu;
    while (!c.halted && c.icount < 100_000) {
      const before = c.icount;
      c.run(before + k);
      if (!c.halted) expect(c.icount).toBe(before + k);
      k = (k * 5 + 3) % 37 + 1;
    }
    expect(c.halted).toBe(true);
    off.machine.run({ maxInsns: 1_000_000 });
    expect(c.jit!.built).toBeGreaterThan(0);
    expect({ ...outcome(on, ""), built: 0 }).toEqual({ ...outcome(off, ""), built: 0 });
  });
});

describe("arm64 block translator: off without the host fast path", () => {
  it.each([["strictTlb", { strictTlb: true }], ["noFastPath", { noFastPath: true }]] as const)("with %s no block is built and the run ends as with the translator", (_, opt) => {
    const v = createArm64Virt(opt);
    bootBareArm64(v, assembleArm64(image(LOOP, {})).elf);
    v.cpu.jit!.hot = 1;
    expect(v.machine.run({ maxInsns: 1_000_000 }).reason).toBe("pass");
    expect(v.cpu.jit!.built).toBe(0);
    const on = run(LOOP, true);
    expect(on.built).toBeGreaterThan(0);
    expect({ ...outcome(v, "pass"), built: 0 }).toEqual({ ...on, traps: [], built: 0 });
  });
});

describe("arm64 block translator: several PEs", () => {
  it("code one PE rewrites while another runs it translated is seen at the same instruction as without blocks", () => {
    // PE 1 calls f (movz x0, #imm; ret) until it returns 40; PE 0 increments that immediate 40
    // times. Round robin is deterministic, so the sums, counts and instruction counts must match.
    const src = `
go: ldr     x0, =0xc4000003
    mov     x1, #1
    adr     x2, _start
    mov     x3, #0
    hvc     #0
    adr     x10, f
    mov     x11, #40
1:  ldr     w12, [x10]
    add     w12, w12, #(1 << 5)
    str     w12, [x10]
    mov     x13, #37
4:  subs    x13, x13, #1
    b.ne    4b
    subs    x11, x11, #1
    b.ne    1b
    adr     x14, done
5:  ldar    w15, [x14]
    cbz     w15, 5b
    adr     x14, result
    ldp     x20, x21, [x14]
    movz    x0, #0x8400, lsl #16
    movk    x0, #8
    hvc     #0
ap_go:
    mov     x20, #0
    mov     x21, #0
2:  bl      f
    add     x20, x20, x0
    add     x21, x21, #1
    cmp     x0, #40
    b.ne    2b
    adr     x14, result
    stp     x20, x21, [x14]
    adr     x14, done
    mov     w15, #1
    stlr    w15, [x14]
3:  wfi
    b       3b
f:  movz    x0, #0
    ret
    .balign 16
result: .quad 0, 0
done:   .word 0
`;
    const go = (jit: boolean): unknown => {
      const v = machine(src, jit, 2);
      const r = v.machine.run({ maxInsns: 10_000_000 });
      expect(r.reason).toBe("pass");
      if (jit) expect(v.cpus[1]!.jit!.built).toBeGreaterThan(0);
      return { sum: v.cpu.x(20), calls: v.cpu.x(21), icounts: v.cpus.map((c) => c.icount), pcs: v.cpus.map((c) => c.pc) };
    };
    const on = go(true) as { calls: bigint };
    expect(on.calls).toBeGreaterThan(40n);
    expect(on).toEqual(go(false));
  });
});

/**
 * A random straight-line body of the translated forms (every register x0..x15 and the flags fed
 * into later ones; loads and stores to `buf` through x27 with every addressing form, x25 for the
 * writeback forms), run 50 times, so blocks are built, loop back and exit at the branches. Each
 * pass first stirs x0..x15 with the pass number and a running sum x23 (so values do not settle) and
 * then folds them into x16 and the flags into x18, so the end state depends on every pass.
 */
function randomProgram(seed: number): string {
  const next = rng(seed);
  /** Uniform in [0, 1). */
  const r = (): number => next() / 2 ** 32;
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const x = (): string => `x${Math.floor(r() * 16)}`;
  const w = (): string => `w${Math.floor(r() * 16)}`;
  const any = (): [string, string, string] => (r() < 0.5 ? [x(), x(), x()] : [w(), w(), w()]);
  const conds = ["eq", "ne", "hs", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al"];
  const logImm = (wide: boolean): string[] => ["#0xff", "#0xffff0000", "#0x3c", "#0xfffffff0",
    ...(wide ? ["#0x5555555555555555", "#0x8000000000000001", "#0xffff0000ffff0000"] : ["#0x55555555", "#0x80000001"])];
  const lines: string[] = [];
  let label = 100; // above the fixed numeric labels
  for (let i = 0; i < 60; i++) {
    const [a, b, c] = any();
    switch (Math.floor(r() * 22)) {
      case 0: lines.push(`    ${pick(["add", "sub", "adds", "subs"])} ${a}, ${b}, #${Math.floor(r() * 4096)}${r() < 0.3 ? ", lsl #12" : ""}`); break;
      case 1: lines.push(`    ${pick(["add", "sub", "adds", "subs", "and", "orr", "eor", "ands"])} ${a}, ${b}, ${c}`); break;
      case 2: lines.push(`    ${pick(["and", "orr", "eor", "ands"])} ${a}, ${b}, ${pick(logImm(a[0] === "x"))}`); break;
      case 3: lines.push(`    ${pick(["movz", "movk", "movn"])} ${a}, #${Math.floor(r() * 65536)}, lsl #${a[0] === "x" ? pick([0, 16, 32, 48]) : pick([0, 16])}`); break;
      case 4: lines.push(`    ${pick(["lsl", "lsr", "asr"])} ${a}, ${b}, #${Math.floor(r() * (a[0] === "x" ? 64 : 32))}`); break;
      case 5: lines.push(`    ${pick(["csel", "csinc", "csinv", "csneg"])} ${a}, ${b}, ${c}, ${pick(conds)}`); break;
      case 6: lines.push(`    ${pick(["cmp", "cmn"])} ${b}, ${r() < 0.5 ? c : `#${Math.floor(r() * 4096)}`}`); break;
      case 7: lines.push(`    mov ${a}, ${b}`, `    adr ${x()}, buf`, `    adrp ${x()}, buf`); break;
      case 8: {
        const [op, reg, size] = pick([["ldr", x(), 8], ["str", x(), 8], ["ldr", w(), 4], ["str", w(), 4], ["ldrh", w(), 2], ["strh", w(), 2],
          ["ldrb", w(), 1], ["strb", w(), 1], ["ldrsb", x(), 1], ["ldrsb", w(), 1], ["ldrsh", x(), 2], ["ldrsh", w(), 2], ["ldrsw", x(), 4]] as const);
        const off = size * Math.floor(r() * 30);
        lines.push(pick([`    ${op} ${reg}, [x27, #${off}]`, `    ${op} ${reg}, [x27, x26]`, `    ${op} ${reg}, [x27, w26, sxtw]`,
          `    ${op} ${reg}, [x25, #${size}]!`, `    ${op} ${reg}, [x25], #${size}`, `    ${op} ${reg}, [x27, #${off + 1}]`.replace(/#(\d+)\]/, (_, n) => `#${size === 1 ? n : Number(n) - 1}]`)]));
        break;
      }
      case 9: lines.push(pick([`    ldp x${Math.floor(r() * 8)}, x${8 + Math.floor(r() * 8)}, [x27, #${8 * Math.floor(r() * 20)}]`,
        `    stp ${x()}, ${x()}, [x25, #16]!`, `    stp ${w()}, ${w()}, [x27, #${4 * Math.floor(r() * 40)}]`, `    ldp w${Math.floor(r() * 8)}, w${8 + Math.floor(r() * 8)}, [x25], #8`,
        `    ldpsw x${Math.floor(r() * 8)}, x${8 + Math.floor(r() * 8)}, [x27, #${4 * Math.floor(r() * 40)}]`])); break;
      case 10: lines.push(`    b.${pick(conds)} ${++label}f`, `    add ${x()}, ${x()}, #1`, `${label}:`); break;
      case 11: lines.push(`    ${pick(["cbz", "cbnz"])} ${b}, ${++label}f`, `    eor ${x()}, ${x()}, ${x()}`, `${label}:`); break;
      case 12: lines.push(`    ${pick(["tbz", "tbnz"])} ${x()}, #${Math.floor(r() * 64)}, ${++label}f`, `    sub ${x()}, ${x()}, #3`, `${label}:`); break;
      case 13: lines.push(`    ${pick(["ubfx", "sbfx"])} ${a}, ${b}, #${Math.floor(r() * 8)}, #${1 + Math.floor(r() * 8)}`); break;
      case 14: lines.push(`    str ${x()}, [x27, #${8 * Math.floor(r() * 30)}]`); break;
      case 15: lines.push(`    mov x26, #${8 * Math.floor(r() * 30)}`, `    ${pick(["add", "sub"])} x26, x26, #${8 * Math.floor(r() * 30)}`); break;
      case 16: lines.push(`    ${pick(["subs", "adds", "ands", "eor"])} ${a}, ${b}, ${b}`); break;
      case 17: lines.push(`    ${pick(["movz", "movn"])} ${x()}, #${pick([0, 1, 0x8000])}, lsl #${pick([0, 48])}`, `    ${pick(["movz", "movn"])} ${w()}, #${pick([0, 1, 0x8000])}, lsl #${pick([0, 16])}`); break;
      case 18: lines.push(`    ${pick(["adds", "subs"])} ${a}, ${b}, #${pick([0, 1])}`, `    cset ${x()}, ${pick(conds.slice(0, 14))}`); break;
      case 19: lines.push(pick([`    madd ${a}, ${b}, ${c}, ${a[0]}${Math.floor(r() * 16)}`, `    mul ${a}, ${b}, ${c}`, `    ${pick(["udiv", "sdiv"])} ${a}, ${b}, ${c}`,
        `    ${pick(["ccmp", "ccmn"])} ${b}, ${c}, #${Math.floor(r() * 16)}, ${pick(conds.slice(0, 14))}`, `    ${pick(["adc", "sbc", "adcs", "sbcs"])} ${a}, ${b}, ${c}`,
        `    ${pick(["lslv", "lsrv", "asrv", "rorv"])} ${a}, ${b}, ${c}`, `    ${pick(["rev", "clz", "cls", "rbit"])} ${a}, ${b}`,
        `    extr ${a}, ${b}, ${c}, #${Math.floor(r() * (a[0] === "x" ? 64 : 32))}`, `    ${pick(["smulh", "umulh"])} ${x()}, ${x()}, ${x()}`,
        `    ${pick(["umaddl", "smaddl"])} ${x()}, ${w()}, ${w()}, ${x()}`, `    bfi ${a}, ${b}, #${Math.floor(r() * 8)}, #${1 + Math.floor(r() * 8)}`])); break;
      case 20: lines.push(`    ${pick(["add", "sub", "adds", "subs"])} ${a}, ${b}, ${c}, ${pick(["lsl", "lsr", "asr"])} #${Math.floor(r() * (a[0] === "x" ? 64 : 32))}`,
        `    ${pick(["and", "orr", "eor", "bic", "orn", "eon", "ands", "bics"])} ${a}, ${b}, ${c}, ${pick(["lsl", "lsr", "asr", "ror"])} #${Math.floor(r() * (a[0] === "x" ? 64 : 32))}`); break;
      case 21: lines.push(`    ${pick(["add", "sub", "adds", "subs"])} ${x()}, ${x()}, ${w()}, ${pick(["uxtb", "uxth", "uxtw", "sxtb", "sxth", "sxtw"])} #${Math.floor(r() * 5)}`); break;
      default: lines.push(`    add ${a}, ${b}, ${c}, lsl #${Math.floor(r() * 4)}`); break;
    }
    if (/^ {4}(adds|subs|ands|cmp|cmn) /.test(lines[lines.length - 1]!) && r() < 0.5) lines.push(`    csinc ${x()}, ${x()}, ${x()}, ${pick(conds)}`);
  }
  return `
go: adr     x27, buf
    mov     x26, #16
    mov     x24, #50
${Array.from({ length: 16 }, (_, i) => `    ldr x${i}, [x27, #${8 * i}]`).join("\n")}
    add     x27, x27, #512
9:  adr     x25, buf + 256
${Array.from({ length: 16 }, (_, i) => `    eor x${i}, x${i}, x24, lsl #${(i * 7) % 64}\n    add x${i}, x${i}, x23`).join("\n")}
    madd    x19, x1, x2, x3
    msub    w19, w4, w5, w19
${lines.join("\n")}
${Array.from({ length: 16 }, (_, i) => `    eor x16, x16, x${i}, ror #${i * 4 + 1}`).join("\n")}
    eor     x16, x16, x19
    mrs     x17, nzcv
    add     x18, x18, x17
    movk    x23, #0x1234, lsl #${16 * Math.floor(r() * 4)}
    add     x23, x23, x16
    subs    x24, x24, #1
    b.ne    9b
    movz    x0, #0x8400, lsl #16
    movk    x0, #8
    hvc     #0
    .balign 16
buf:
${Array.from({ length: 96 }, () => `    .word 0x${Math.floor(r() * 2 ** 32).toString(16)}`).join("\n")}
    .fill 128, 8, 0
`;
}

/**
 * Every flag-setting form (ADDS/SUBS/ANDS, register and immediate, 32 and 64 bits) on each pair of
 * edge values, each followed by all 14 conditions, and the immediate shifts by every count class on
 * each value: every condition's outcome is stored as a byte (the memory compared lies in the first
 * 16 KiB of the image), the shift results are summed into x21.
 * @spec Arm ARM C6 ADDS/SUBS/ANDS (AddWithCarry), ConditionHolds, LSL/LSR/ASR (immediate)
 */
const FLAGS = (() => {
  const ops = ["adds x2, x0, x1", "subs x2, x0, x1", "adds w2, w0, w1", "subs w2, w0, w1", "ands x2, x0, x1", "ands w2, w0, w1",
    "cmp x0, #1", "cmn w0, #1", "subs x2, x0, #0xfff", "adds w2, w0, #4095"];
  const conds = ["eq", "ne", "hs", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le"];
  const body = ops.flatMap((op) => [`    ${op}`, ...conds.flatMap((c) => [`    cset w22, ${c}`, "    strb w22, [x26], #1"])]);
  const shifts = (["lsl", "lsr", "asr"] as const).flatMap((op) => [
    ...[0, 1, 31, 32, 33, 63].map((n) => `    ${op} x2, x1, #${n}\n    add x21, x21, x2`),
    ...[0, 1, 16, 31].map((n) => `    ${op} w2, w1, #${n}\n    add x21, x21, x2`),
  ]);
  return `
go: adr     x27, vals
    adr     x26, out
    mov     x24, #0
    mov     x21, #0
1:  mov     x25, #0
2:  ldr     x0, [x27, x24]
    ldr     x1, [x27, x25]
${body.join("\n")}
${shifts.join("\n")}
    add     x25, x25, #8
    cmp     x25, #64
    b.ne    2b
    add     x24, x24, #8
    cmp     x24, #64
    b.ne    1b
    movz    x0, #0x8400, lsl #16
    movk    x0, #8
    hvc     #0
    .balign 8
vals: .quad 0, 1, 0xffffffffffffffff, 0x8000000000000000, 0x7fffffffffffffff, 0x80000000, 0x7fffffff, 0xffffffff
out:  .fill ${64 * ops.length * conds.length}, 1, 0
`;
})();

describe("arm64 block translator: flags, conditions and shifts", () => {
  it("every flag-setting form on edge values, under every condition, and every shift count class end as in the interpreter", () => {
    const on = same(FLAGS);
    expect(on.reason).toBe("pass");
    expect(on.traps).toEqual([]);
  });
});

// Seeds 49 and 56 found a CCMP inside a block reloading a register it does not write (fixed).
describe("arm64 block translator: random register and memory programs", () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8, 49, 56])("seed %i ends as in the interpreter (registers, NZCV, memory, count)", (seed) => {
    const on = same(randomProgram(seed));
    expect(on.reason).toBe("pass");
    expect(on.traps).toEqual([]);
  });
});
