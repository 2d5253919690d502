/**
 * Binds the kernel's hardware interface (kernel/hal.ts, kernel/arch/arm64/cpu.ts) to the emulated
 * AArch64 core. Every operation is what the corresponding instruction would do: MRS/MSR go through
 * the core's system-register rules (sysregs.ts, which also flush the host fast path on translation
 * register writes), TLBI through the MMU with the DSB/ISB the Arm ARM requires, ERET through the
 * core's exception return, AT S1E1R/W through the MMU with PSTATE.PAN clear, and HVC through the
 * core's firmware handler (PSCI).
 */
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
  const end = ram.base + ram.size;
  const check = (pa: number, len: number): number => {
    if (!(pa >= ram.base && pa + len <= end)) throw new RangeError(`kernel: physical access [0x${pa.toString(16)}, +${len}) is outside RAM`);
    return pa;
  };
  const read = (pa: number, size: 1 | 4 | 8): void => {
    if (!bus.read(check(pa, size), size)) throw new RangeError(`kernel: physical read at 0x${pa.toString(16)} failed`);
  };
  const sysKey = (name: Arm64SysReg): number => {
    const key = (REG as Record<string, number>)[name];
    if (key === undefined) throw new RangeError(`kernel: no system register ${name}`);
    return key;
  };
  const high = new Float64Array(1);
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
    storeRegisters: (pa) => {
      check(pa, 31 * 8);
      for (let i = 0; i <= 30; i++) bus.write(pa + 8 * i, 8, core.xl[i]!, core.xh[i]!);
    },
    loadRegisters: (pa) => {
      check(pa, 31 * 8);
      for (let i = 0; i <= 30; i++) {
        bus.read(pa + 8 * i, 8);
        core.xl[i] = bus.lo;
        core.xh[i] = bus.hi;
      }
    },
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
    read8: (pa) => { read(pa, 1); return bus.lo & 0xff; },
    write8: (pa, v) => { bus.write(check(pa, 1), 1, v); },
    read32: (pa) => { read(pa, 4); return bus.lo >>> 0; },
    write32: (pa, v) => { bus.write(check(pa, 4), 4, v | 0); },
    read64: (pa) => { read(pa, 8); return (BigInt(bus.hi >>> 0) << 32n) | BigInt(bus.lo >>> 0); },
    write64: (pa, v) => { bus.write(check(pa, 8), 8, lo32(v), hi32(v)); },
    write64Halves: (pa, lo, hi) => { bus.write(check(pa, 8), 8, lo | 0, hi | 0); },
    read64Low: (pa) => {
      read(pa, 8);
      high[0] = bus.hi >>> 0;
      return bus.lo >>> 0;
    },
    get lastHigh() { return high[0]!; },
    fill: (pa, len, byte) => { if (len > 0) bus.fill(check(pa, len), len, byte); },
    copy: (dst, src, len) => { if (len > 0) bus.load(check(dst, len), ram.readBytes(check(src, len) - ram.base, len)); },
    readBytes: (pa, len) => ram.readBytes(check(pa, len) - ram.base, len),
    writeBytes: (pa, bytes) => { if (bytes.length > 0) bus.load(check(pa, bytes.length), bytes); },
    console: () => { throw new RangeError("kernel: the console is the PL011 (KernelArch.consoleWrite)"); },
  };
}
