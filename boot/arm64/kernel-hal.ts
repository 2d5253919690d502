/**
 * Binds the kernel's hardware interface (kernel/hal.ts, kernel/arch/arm64/cpu.ts) to the emulated
 * AArch64 core. Every operation is what the corresponding instruction would do: MRS/MSR go through
 * the core's system-register rules (sysregs.ts, which also flush the host fast path on translation
 * register writes), TLBI through the MMU with the DSB/ISB the Arm ARM requires, ERET through the
 * core's exception return, AT S1E1R/W through the MMU with PSTATE.PAN clear, and HVC through the
 * core's firmware handler (PSCI). The HAL acts on the core it is bound to ({@link Arm64Hal.bind}):
 * the boot code binds the core whose native entry runs, so on several CPUs every operation acts on
 * the executing CPU.
 */
import { ramMemory } from "../ram-memory.js";
import type { Arm64Cpu as Core } from "../../emulator/arch/arm64/cpu.js";
import { LOAD, STORE } from "../../emulator/arch/arm64/defs.js";
import { readSysreg, REG, writeSysreg } from "../../emulator/arch/arm64/sysregs.js";
import type { TlbiCodes } from "../../emulator/arch/arm64/system.js";
import type { Bus, SparseRam } from "../../emulator/core/memory.js";
import type { Hal } from "../../kernel/hal.js";
import type { Arm64Cpu, Arm64SysReg } from "../../kernel/arch/arm64/cpu.js";
import type { Mmio } from "../../kernel/arch/arm64/gic.js";
import { arm64Tlb } from "../../kernel/arch/arm64/tlb.js";

/**
 * The kernel's HAL on arm64: physical memory, TLB control (the local TLBI forms: this CPU's TLB;
 * the broadcast ones are the SMP layer's), the PE, and 32-bit device registers (the GIC).
 */
export type Arm64Hal = Hal & {
  readonly cpu: Arm64Cpu;
  readonly mmio: Mmio;
  /** Makes `c` the core the kernel's code runs on (the one whose native entry was reached). */
  bind(c: Core): void;
};

const lo32 = (v: bigint): number => Number(BigInt.asUintN(32, v)) | 0;
const hi32 = (v: bigint): number => Number(BigInt.asUintN(32, v >> 32n)) | 0;

/** Builds the HAL, bound to `core` until bind names another (RAM `ram` on `bus`; `codes` = the MMU's TLBI operation codes). */
export function arm64Hal(bus: Bus, core: Core, ram: SparseRam, codes: TlbiCodes): Arm64Hal {
  const mem = ramMemory(bus, ram);
  const sysKey = (name: Arm64SysReg): number => {
    const key = (REG as Record<string, number>)[name];
    if (key === undefined) throw new RangeError(`kernel: no system register ${name}`);
    return key;
  };
  const cpu: Arm64Cpu = {
    reg: (i) => core.x(i),
    setReg: (i, v) => core.setX(i, v),
    sysReg: (name) => {
      const v = readSysreg(core, sysKey(name));
      if (v === undefined) throw new RangeError(`kernel: MRS ${name} is UNDEFINED here`);
      return v;
    },
    setSysReg: (name, v) => {
      if (!writeSysreg(core, sysKey(name), BigInt.asUintN(64, v))) throw new RangeError(`kernel: MSR ${name} is UNDEFINED here`);
    },
    storeRegisters: (pa) => mem.storeWords(pa, core.xl, core.xh, 0, 31),
    loadRegisters: (pa) => mem.loadWords(pa, core.xl, core.xh, 0, 31),
    eret: () => core.eret(),
    // The IS forms reach every core of the Inner Shareable domain (Arm64Cpu.tlbi's broadcast).
    tlbi: (op, xt) => {
      core.mmu.dsb();
      core.tlbi(codes[op], lo32(xt), hi32(xt), op.endsWith("IS"));
      core.mmu.dsb();
      core.mmu.isb();
    },
    isb: () => core.mmu.isb(),
    translate: (va, write) => {
      const pan = core.mmu.pan;
      core.mmu.pan = false;
      const pa = core.mmu.translate(lo32(va), hi32(va), write ? STORE : LOAD, 1);
      core.mmu.pan = pan;
      return pa < 0 || bus.find(pa)?.ram === undefined ? undefined : pa;
    },
    hvc: (args) => {
      const saved = [0, 1, 2, 3].map((i) => core.x(i));
      for (let i = 0; i < 4; i++) core.setX(i, args[i] ?? 0n);
      if (!core.firmware?.(core, 0, false)) throw new RangeError("kernel: HVC is UNDEFINED (no firmware)");
      const result = core.x(0);
      saved.forEach((v, i) => core.setX(i, v));
      return result;
    },
  };
  const mmio: Mmio = {
    read32: (pa) => {
      if (!bus.read(pa, 4)) throw new RangeError(`kernel: no device at 0x${pa.toString(16)}`);
      return bus.lo;
    },
    write32: (pa, v) => {
      if (!bus.write(pa, 4, v | 0)) throw new RangeError(`kernel: no device at 0x${pa.toString(16)}`);
    },
  };
  return {
    cpu,
    mmio,
    tlb: arm64Tlb(cpu, false),
    bind(c) {
      core = c;
    },
    read8: mem.read8,
    write8: mem.write8,
    read32: mem.read32,
    write32: mem.write32,
    read64: mem.read64,
    write64: mem.write64,
    write64Halves: mem.write64Halves,
    read64Low: mem.read64Low,
    get lastHigh() { return mem.lastHigh; },
    fill: mem.fill,
    copy: mem.copy,
    readBytes: mem.readBytes,
    writeBytes: mem.writeBytes,
    console: () => { throw new RangeError("kernel: the console is the PL011 (KernelArch.consoleWrite)"); },
  };
}
