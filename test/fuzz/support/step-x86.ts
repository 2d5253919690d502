/**
 * A one-instruction harness for the x86_64 decoder fuzz suite: an x86_64-pc CPU in 64-bit mode on
 * page tables of its own, executing the bytes under test once at CPL 0 or CPL 3, and reporting the
 * first event it delivered, if any. The code pages are user pages; the page after them is not
 * mapped, so an instruction placed to end past {@link X86_BOUNDARY} needs a fetch that faults.
 * Every IDT gate (DPL 0) leads to a handler of NOPs; the TSS gives CPL 3 a kernel stack.
 *
 * Each step starts from the same state: control registers, EFER, descriptor tables, segments,
 * RFLAGS (IF clear) and general registers (all pointing into the mapped data page), so what one
 * random instruction changed (CR3, GDTR, an MSR, memory) cannot leak into the next step's verdict.
 * @spec Intel SDM Vol. 3A §6.14.1 (64-bit IDT gates), §7.7 (64-bit TSS), §4.5 (4-level paging)
 */
import { createX86Pc, ENTRY_CR0, ENTRY_CR4, ENTRY_EFER } from "../../../boot/x86_64/pc.js";
import type { X86Cpu } from "../../../emulator/arch/x86_64/cpu.js";
import { X86PageTableBuilder } from "../../../emulator/arch/x86_64/paging-builder.js";
import { PTE } from "../../../emulator/arch/x86_64/paging-defs.js";
import type { TrapEvent } from "../../../emulator/arch/x86_64/trap.js";

/** The two mapped code pages (user, writable, executable) and the first byte of the unmapped page after them. */
export const X86_CODE = 0x40_0000, X86_BOUNDARY = 0x40_2000;
/** A mapped user data page the general registers point into. */
const DATA = 0x40_4000;
/** System structures (identity-mapped, supervisor): GDT, TSS, IDT, the handler, the kernel stack. */
const GDT = 0x10_0000, TSS = 0x10_0100, IDT = 0x10_1000, HANDLER = 0x10_2000, KSTACK_TOP = 0x10_4000;
/** Page tables are taken from here on. */
const TABLES = 0x20_0000;
/** null; kernel code64 0x08; kernel data 0x10; user data 0x18 (DPL 3); user code64 0x20 (DPL 3); TSS 0x28. */
const GDT_ENTRIES = [0n, 0x00af9a000000ffffn, 0x00cf92000000ffffn, 0x00cff2000000ffffn, 0x00affa000000ffffn];
export const X86_SEL = { kernelCs: 0x08, kernelSs: 0x10, userSs: 0x1b, userCs: 0x23, tss: 0x28 } as const;

export class X86Stepper {
  private readonly pc = createX86Pc({ ramSize: 8 << 20 });
  readonly cpu: X86Cpu = this.pc.cpu;
  private readonly cr3: number;
  private first: TrapEvent | undefined;

  constructor() {
    const bus = this.pc.machine.bus;
    let next = TABLES;
    const pt = new X86PageTableBuilder(bus, () => { const p = next; next += 0x1000; return p; });
    const sys = BigInt(PTE.P | PTE.RW), user = BigInt(PTE.P | PTE.RW | PTE.US);
    for (let pa = GDT; pa < KSTACK_TOP; pa += 0x1000) pt.map(BigInt(pa), pa, sys);
    for (const va of [X86_CODE, X86_CODE + 0x1000, DATA]) pt.map(BigInt(va), va, user);
    this.cr3 = pt.root;
    GDT_ENTRIES.forEach((d, i) => bus.write64(GDT + 8 * i, d));
    // 64-bit TSS descriptor (type 0xB, busy) and RSP0. @spec SDM Vol. 3A §7.2.3 Figure 7-4, §7.7 Figure 7-11
    bus.write64(GDT + X86_SEL.tss, 0x67n | (BigInt(TSS & 0xffffff) << 16n) | (0x8bn << 40n) | (BigInt(TSS >>> 24) << 56n));
    bus.write64(GDT + X86_SEL.tss + 8, 0n);
    bus.write64(TSS + 4, BigInt(KSTACK_TOP));
    // Interrupt gates (type 0xE, DPL 0, present) for all 256 vectors.
    const gate = BigInt(HANDLER & 0xffff) | (BigInt(X86_SEL.kernelCs) << 16n) | (0x8en << 40n) | (BigInt(HANDLER >>> 16) << 48n);
    for (let v = 0; v < 256; v++) {
      bus.write64(IDT + 16 * v, gate);
      bus.write64(IDT + 16 * v + 8, 0n);
    }
    bus.fill(HANDLER, 0x1000, 0x90);
    this.cpu.onTrap = (e) => { this.first ??= e; };
  }

  /**
   * Writes `bytes` at `at` (in the code pages), runs one instruction there at `cpl` (0 or 3) from
   * the fixed start state, and returns the first event delivered, or undefined if it retired.
   */
  step(bytes: Uint8Array, cpl: 0 | 3, at: number = X86_CODE): TrapEvent | undefined {
    const c = this.cpu, m = c.mmu, bus = this.pc.machine.bus;
    bus.load(at, bytes.subarray(0, Math.min(bytes.length, X86_BOUNDARY - at)));
    m.reset();
    m.writeCr4(ENTRY_CR4, 0);
    m.writeCr3(this.cr3, 0);
    m.writeEfer(ENTRY_EFER, 0);
    m.writeCr0(ENTRY_CR0, 0);
    c.gdtrBase = BigInt(GDT);
    c.gdtrLimit = X86_SEL.tss + 15;
    c.idtrBase = BigInt(IDT);
    c.idtrLimit = 256 * 16 - 1;
    c.trSel = X86_SEL.tss;
    c.trBase = BigInt(TSS);
    c.trLimit = 0x67;
    c.setFsBase(0n);
    c.setGsBase(0n);
    c.kernelGsBase = 0n;
    c.halted = false;
    c.shutdown = false;
    c.rflags = 0x2;
    for (let i = 0; i < 16; i++) c.setReg(i, BigInt(DATA + 0x100 * i));
    c.setReg(4, BigInt(DATA + 0xf00));
    const ss = cpl === 3 ? X86_SEL.userSs : X86_SEL.kernelSs;
    c.sel.fill(ss);
    c.setCsSs(cpl === 3 ? X86_SEL.userCs : X86_SEL.kernelCs, ss);
    c.setRip(BigInt(at));
    c.flushFast();
    this.first = undefined;
    c.run(c.icount + 1);
    return this.first;
  }
}
