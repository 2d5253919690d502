/**
 * Binds the kernel's hardware interface (kernel/hal.ts, kernel/arch/x86_64/cpu.ts) to the emulated
 * x86_64 CPU. Every operation is what the corresponding instruction would do: MOV to CR3 with the
 * CPU's reserved-bit check and the MMU's PCID rules, RDMSR/WRMSR through msr.ts, INVLPG and INVPCID
 * through the MMU (dropping the host fast path as the instructions do), IRETQ over a frame built on
 * the kernel stack, OUT through the port bus, the local APIC timer through its registers, and a
 * CPL 0 data translation with RFLAGS.AC set (SMAP off for that access) for user pointers.
 *
 * The entry the kernel is handling is recorded by the native entry points (boot/x86_64/kernel-boot.ts):
 * SYSCALL at LSTAR, and the IDT gates, whose frame the CPU pushed on the kernel stack is read back
 * from guest memory.
 * @spec Intel SDM Vol. 2A "INVLPG", "INVPCID", "IRET/IRETD/IRETQ"; Vol. 3A §4.10.4 (TLB
 *       invalidation), §6.14.2 (64-bit interrupt stack frame), §11.5.4 (APIC timer)
 */
import { ramMemory } from "../ram-memory.js";
import type { X86Cpu as Core } from "../../emulator/arch/x86_64/cpu.js";
import { AC, LOAD, STORE } from "../../emulator/arch/x86_64/mmu.js";
import { cr3WriteFaults } from "../../emulator/arch/x86_64/mmu-regs.js";
import { rdmsr, wrmsr } from "../../emulator/arch/x86_64/msr.js";
import { HAS_ERROR_CODE, MSR, RFLAGS } from "../../emulator/arch/x86_64/defs.js";
import type { Bus, SparseRam } from "../../emulator/core/memory.js";
import { LAPIC_BASE, LAPIC_REG, LVT_MASKED, SVR_ENABLE } from "../../emulator/devices/lapic.js";
import type { Hal, TlbControl } from "../../kernel/hal.js";
import type { X86Cpu, X86Entry } from "../../kernel/arch/x86_64/cpu.js";

/**
 * The kernel's HAL on x86_64: physical memory, TLB control, and the processor; `bind` makes `c` the
 * CPU the kernel's code runs on (the one whose native entry was reached: boot, SYSCALL, an IDT gate,
 * the secondary entry), so that every register, CR, MSR, TLB and APIC operation acts on it.
 */
export type X86Hal = Hal & { readonly cpu: X86Cpu; bind(c: Core): void };

/** Segment selectors of the kernel boot's GDT (kernel-boot.ts), as IRETQ needs them. */
export interface X86Selectors {
  kernelCs: number;
  kernelSs: number;
  userCs: number;
  userSs: number;
}

/** Where a CPU's kernel stack is: its top as a virtual address (TSS.RSP0) and as a physical one. */
export interface X86KernelStack {
  topVa: bigint;
  topPa: number;
}

/** The entry recorder the native entry points write to, and the CPU reads from. */
export interface X86EntryRecorder {
  /** SYSCALL at LSTAR. */
  syscall(): void;
  /** A delivery through IDT vector `vector`, whose frame (with an error code when `hasError`) is at RSP. */
  vector(vector: number, hasError: boolean): void;
}

const lo32 = (v: bigint): number => Number(BigInt.asUintN(32, v)) | 0;
const hi32 = (v: bigint): number => Number(BigInt.asUintN(32, v >> 32n)) | 0;

/**
 * Builds the HAL for `boot` (RAM `ram` on `bus`), bound to it until {@link X86Hal.bind} names
 * another CPU. `stackOf(apicId)` is that CPU's kernel stack; `relax` is what one PAUSE of a wait
 * loop lets the other CPUs do (X86Cpu.relax). Returns the HAL and the entry recorder for the
 * native entries.
 *
 * The entry recorder is one for all CPUs: a native entry records its entry and runs the kernel's
 * handler to its end before any other CPU runs, so the record always belongs to the bound CPU.
 */
export function x86Hal(bus: Bus, boot: Core, ram: SparseRam, sel: X86Selectors, stackOf: (apicId: number) => X86KernelStack, relax: () => void = () => {}): { hal: X86Hal; entries: X86EntryRecorder } {
  const mem = ramMemory(bus, ram);
  const { read64, write64 } = mem;
  let core = boot;
  let stack = stackOf(core.hartId);
  /** The physical address of kernel-stack address `va` (the bound CPU's stack is one known range). */
  const stackPa = (va: bigint): number => stack.topPa - Number(stack.topVa - va);

  let current: X86Entry = { kind: "syscall" };
  const entries: X86EntryRecorder = {
    syscall: () => { current = { kind: "syscall" }; },
    vector: (vector, hasError) => {
      let at = stackPa(core.reg(4));
      const errorCode = hasError ? Number(read64(at) & 0xffffffffn) : 0;
      if (hasError) at += 8;
      current = {
        kind: "vector", vector, errorCode, rip: read64(at), cs: Number(read64(at + 8) & 0xffffn),
        rflags: read64(at + 16), rsp: read64(at + 24), ss: Number(read64(at + 32) & 0xffffn),
      };
    },
  };
  /** IRETQ to `cs:rip` with `rflags` and `ss:rsp` from a frame at the top of the kernel stack. */
  const iretTo = (rip: bigint, cs: number, rflags: bigint, rsp: bigint, ss: number): void => {
    const frame = stack.topVa - 40n;
    const pa = stackPa(frame);
    [rip, BigInt(cs), rflags, rsp, BigInt(ss)].forEach((v, i) => write64(pa + 8 * i, v));
    core.setReg(4, frame);
    if (!core.iretq()) throw new RangeError(`kernel: IRETQ to 0x${rip.toString(16)} faulted (vector ${core.lastVector})`);
  };
  const lapic = (reg: number, v: number): void => { bus.write(LAPIC_BASE + reg, 4, v | 0); };

  const cpu: X86Cpu = {
    reg: (i) => core.reg(i),
    setReg: (i, v) => core.setReg(i, v),
    entry: () => current,
    readCr: (n) => (n === 2 ? core.mmu.cr2 : n === 3 ? core.mmu.cr3 : core.mmu.cr4),
    writeCr3: (v) => {
      const lo = lo32(v), hi = hi32(v);
      if (cr3WriteFaults(core.mmu, hi)) throw new RangeError(`kernel: MOV to CR3 of 0x${BigInt.asUintN(64, v).toString(16)} is #GP`);
      core.mmu.writeCr3(lo, hi);
      core.contextChanged();
    },
    rdmsr: (msr) => {
      const v = rdmsr(core, msr);
      if (v === undefined) throw new RangeError(`kernel: RDMSR 0x${msr.toString(16)} is #GP`);
      return v;
    },
    wrmsr: (msr, v) => {
      if (!wrmsr(core, msr, BigInt.asUintN(64, v))) throw new RangeError(`kernel: WRMSR 0x${msr.toString(16)} is #GP`);
    },
    storeRegisters: (pa) => mem.storeWords(pa, core.gl, core.gh, 0, 16),
    loadRegisters: (pa) => mem.loadWords(pa, core.gl, core.gh, 0, 16),
    iretToUser: (rip, rflags, rsp) => iretTo(rip, sel.userCs, rflags, rsp, sel.userSs),
    iretToKernel: (rip) => iretTo(rip, sel.kernelCs, BigInt(RFLAGS.IF | RFLAGS.FIXED), stack.topVa, sel.kernelSs),
    iretToInterrupted: () => {
      if (current.kind !== "vector" || HAS_ERROR_CODE.has(current.vector)) throw new RangeError("kernel: no error-code-free interrupt frame to return through");
      if (!core.iretq()) throw new RangeError(`kernel: IRETQ to the interrupted context faulted (vector ${core.lastVector})`);
    },
    invlpg: (va) => {
      core.mmu.invlpg(lo32(va), hi32(va));
      core.flushFast();
    },
    invpcid: (type, pcid, va) => {
      if (!core.mmu.invpcid(type, pcid & 0xfff, lo32(va), hi32(va))) throw new RangeError(`kernel: INVPCID type ${type} PCID ${pcid} is #GP`);
      core.flushFast();
    },
    outb: (port, value) => core.ports.write(port & 0xffff, 1, value & 0xff),
    translate: (va, write) => {
      const m = core.mmu;
      const cr2 = m.cr2;
      const pa = m.translate(lo32(va), hi32(va), write ? STORE : LOAD, AC);
      m.cr2 = cr2;
      return pa < 0 || bus.find(pa)?.ram === undefined ? undefined : pa;
    },
    apicTimer: (ticks, vector) => {
      lapic(LAPIC_REG.SVR, SVR_ENABLE | 0xff);
      if (ticks === undefined) {
        lapic(LAPIC_REG.TIMER_DIVIDE, 0xb);
        lapic(LAPIC_REG.LVT_TIMER, LVT_MASKED | vector);
        lapic(LAPIC_REG.TIMER_INITIAL, 0);
        return;
      }
      const { dcr, count } = apicTimerCount(ticks);
      lapic(LAPIC_REG.TIMER_DIVIDE, dcr);
      lapic(LAPIC_REG.LVT_TIMER, vector & 0xff);
      lapic(LAPIC_REG.TIMER_INITIAL, count);
    },
    rdtsc: () => rdmsr(core, MSR.TSC)!,
    lapicRead: (reg) => {
      if (!bus.read(LAPIC_BASE + reg, 4)) throw new RangeError(`kernel: local APIC read at 0x${reg.toString(16)} failed`);
      return bus.lo >>> 0;
    },
    lapicWrite: lapic,
    relax,
  };
  const tlb: TlbControl = {
    flushPage: (va, asid) => (asid === core.mmu.pcid ? cpu.invlpg(va) : cpu.invpcid(0, asid, va)),
    flushPageNumber: (va, asid) => tlb.flushPage(BigInt(va), asid),
    flushAsid: (asid) => cpu.invpcid(1, asid, 0n),
    flushAll: () => cpu.invpcid(2, 0, 0n),
  };
  const hal: X86Hal = {
    cpu,
    tlb,
    bind(c) {
      core = c;
      stack = stackOf(c.hartId);
    },
    read8: mem.read8,
    write8: mem.write8,
    read32: mem.read32,
    write32: mem.write32,
    read64,
    write64,
    write64Halves: mem.write64Halves,
    read64Low: mem.read64Low,
    get lastHigh() { return mem.lastHigh; },
    fill: mem.fill,
    copy: mem.copy,
    readBytes: mem.readBytes,
    writeBytes: mem.writeBytes,
    console: () => { throw new RangeError("kernel: the console is COM1 (KernelArch.consoleWrite)"); },
  };
  return { hal, entries };
}

/**
 * The divide configuration and initial count that make the local APIC timer fire `ticks` TSC
 * ticks from now (never earlier, at most divisor - 1 ticks later): divide by 1 while the 32-bit
 * count reaches, else the smallest power of two up to 128 that does. A far wake-up (a long sleep)
 * then costs one interrupt per 2^39 ticks (about 9 minutes at 1 GHz) instead of one per 2^32
 * (4.3 s): found by the x86_64 system-call fuzz suite, where a 58-day nanosleep made the idle
 * machine take a timer interrupt every few instructions.
 * @spec Intel SDM Vol. 3A §11.5.4 "APIC Timer", Figure 11-10 (divide configuration register: bits
 *       0, 1 and 3; 1011b = divide by 1, otherwise 2^(value + 1))
 */
export function apicTimerCount(ticks: number): { dcr: number; count: number } {
  const t = Math.max(1, Math.ceil(ticks));
  let k = 0;
  while (k < 7 && Math.ceil(t / 2 ** k) > 0xffff_ffff) k++;
  const dcr = k === 0 ? 0xb : ((k - 1) & 3) | (((k - 1) & 4) << 1);
  return { dcr, count: Math.min(0xffff_ffff, Math.ceil(t / 2 ** k)) };
}
