/**
 * Binds the kernel's hardware interface (kernel/hal.ts, kernel/arch/arm64/cpu.ts) to the emulated
 * AArch64 core. Every operation is what the corresponding instruction would do: MRS/MSR go through
 * the core's system-register rules (sysregs.ts, which also flush the host fast path on translation
 * register writes), TLBI through the MMU with the DSB/ISB the Arm ARM requires, ERET through the
 * core's exception return, AT S1E1R/W through the MMU with PSTATE.PAN clear, and HVC through the
 * core's firmware handler (PSCI).
 */
import { ramMemory } from "../ram-memory.js";
import type { Arm64Cpu as Core } from "../../emulator/arch/arm64/cpu.js";
import { LOAD, STORE } from "../../emulator/arch/arm64/defs.js";
import { readSysreg, REG, writeSysreg } from "../../emulator/arch/arm64/sysregs.js";
import type { TlbiCodes } from "../../emulator/arch/arm64/system.js";
import type { Bus, SparseRam } from "../../emulator/core/memory.js";
import type { Hal, TlbControl } from "../../kernel/hal.js";
import type { Arm64Cpu, Arm64SysReg } from "../../kernel/arch/arm64/cpu.js";

/** The kernel's HAL on arm64: physical memory, TLB control, and the PE. */
export type Arm64Hal = Hal & { readonly cpu: Arm64Cpu };

const lo32 = (v: bigint): number => Number(BigInt.asUintN(32, v)) | 0;
const hi32 = (v: bigint): number => Number(BigInt.asUintN(32, v >> 32n)) | 0;

/** TLBI operand: ASID in Xt[63:48], VA[55:12] in Xt[43:0]. @spec Arm ARM D8.17 "TLBI VAE1IS" */
export function tlbiOperand(va: bigint | undefined, asid: number): bigint {
  const page = va === undefined ? 0n : (BigInt.asUintN(64, va) >> 12n) & ((1n << 44n) - 1n);
  return (BigInt(asid & 0xffff) << 48n) | page;
}

/** Builds the HAL for `core` (RAM `ram` on `bus`; `codes` = the MMU's TLBI operation codes). */
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
    tlbi: (op, xt) => {
      core.mmu.dsb();
      core.mmu.tlbi(codes[op], lo32(xt), hi32(xt));
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
  const tlb: TlbControl = {
    flushPage: (va, asid) => cpu.tlbi("VAE1IS", tlbiOperand(va, asid)),
    flushPageNumber: (va, asid) => cpu.tlbi("VAE1IS", tlbiOperand(BigInt(va), asid)),
    flushAsid: (asid) => cpu.tlbi("ASIDE1IS", tlbiOperand(undefined, asid)),
    flushAll: () => cpu.tlbi("VMALLE1IS", 0n),
  };
  return {
    cpu,
    tlb,
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
