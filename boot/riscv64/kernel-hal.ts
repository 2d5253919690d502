/**
 * Binds the kernel's hardware interface (kernel/hal.ts, kernel/arch/riscv64/cpu.ts) to an emulated
 * riscv64-virt hart. Every operation is what the corresponding instruction would do: CSR accesses go
 * through the hart's CSR rules, sfence.vma through its TLB, and an SBI call is a real `ecall` from
 * S-mode that the M-mode firmware handles (visible in traces as a trap with cause 9).
 */
import { CAUSE, PRV_S } from "../../emulator/arch/riscv64/defs.js";
import { csrAccessible, csrRead, csrWrite } from "../../emulator/arch/riscv64/csr.js";
import type { Hart } from "../../emulator/arch/riscv64/hart.js";
import { LOAD, STORE } from "../../emulator/arch/riscv64/mmu.js";
import type { Bus, SparseRam } from "../../emulator/core/memory.js";
import type { Hal, TlbControl } from "../../kernel/hal.js";
import type { RiscvCpu, SbiResult } from "../../kernel/arch/riscv64/cpu.js";

/** The kernel's HAL on RISC-V: memory, TLB control and the hart. */
export type RiscvHal = Hal & { readonly cpu: RiscvCpu };

const lo32 = (v: bigint): number => Number(BigInt.asIntN(32, v));
const hi32 = (v: bigint): number => Number(BigInt.asIntN(32, v >> 32n));

/**
 * Builds the HAL for `hart`. `ecallPc` is the physical-or-virtual address of an `ecall` in kernel
 * text that SBI calls are made from (it becomes mepc; the firmware returns to the next instruction).
 */
export function riscvHal(bus: Bus, hart: Hart, ram: SparseRam, ecallPc: () => bigint): RiscvHal {
  const end = ram.base + ram.size;
  const check = (pa: number, len: number): number => {
    if (!(pa >= ram.base && pa + len <= end)) throw new RangeError(`kernel: physical access [0x${pa.toString(16)}, +${len}) is outside RAM`);
    return pa;
  };
  const word = (pa: number, size: 1 | 4 | 8): void => {
    if (!bus.read(check(pa, size), size)) throw new RangeError(`kernel: physical read at 0x${pa.toString(16)} failed`);
  };
  const cpu: RiscvCpu = {
    reg: (i) => hart.x(i),
    setReg: (i, v) => hart.setX(i, v),
    csr: (n) => {
      if (!csrAccessible(hart, n)) throw new RangeError(`kernel: CSR 0x${n.toString(16)} is not accessible in S-mode`);
      csrRead(hart, n);
      return BigInt.asUintN(64, (BigInt(hart.tmp.hi) << 32n) | BigInt(hart.tmp.lo >>> 0));
    },
    setCsr: (n, v) => {
      if (!csrAccessible(hart, n) || !csrWrite(hart, n, lo32(v), hi32(v))) throw new RangeError(`kernel: CSR 0x${n.toString(16)} is not writable in S-mode`);
    },
    storeRegisters: (pa) => {
      check(pa, 256);
      for (let i = 1; i < 32; i++) bus.write(pa + 8 * i, 8, hart.xl[i]!, hart.xh[i]!);
    },
    loadRegisters: (pa) => {
      check(pa, 256);
      for (let i = 1; i < 32; i++) {
        bus.read(pa + 8 * i, 8);
        hart.xl[i] = bus.lo;
        hart.xh[i] = bus.hi;
      }
    },
    sret: () => hart.sret(),
    sfenceVma: (va, asid) => hart.sfenceVma(va === undefined ? undefined : { lo: lo32(va), hi: hi32(va) }, asid),
    sbi: (eid, fid, args) => sbiCall(hart, ecallPc(), eid, fid, args),
    translate: (va, write) => {
      const pa = hart.mmu.translate(lo32(va), hi32(va), write ? STORE : LOAD, hart.dataPriv);
      return pa < 0 || bus.find(pa)?.ram === undefined ? undefined : pa;
    },
  };
  const tlb: TlbControl = {
    flushPage: (va, asid) => cpu.sfenceVma(va, asid),
    flushAsid: (asid) => cpu.sfenceVma(undefined, asid),
    flushAll: () => cpu.sfenceVma(undefined, undefined),
  };
  return {
    cpu,
    tlb,
    read8: (pa) => { word(pa, 1); return bus.lo & 0xff; },
    write8: (pa, v) => { bus.write(check(pa, 1), 1, v); },
    read32: (pa) => { word(pa, 4); return bus.lo >>> 0; },
    write32: (pa, v) => { bus.write(check(pa, 4), 4, v | 0); },
    read64: (pa) => { word(pa, 8); return (BigInt(bus.hi >>> 0) << 32n) | BigInt(bus.lo >>> 0); },
    write64: (pa, v) => { bus.write(check(pa, 8), 8, lo32(v), hi32(v)); },
    fill: (pa, len, byte) => { if (len > 0) bus.fill(check(pa, len), len, byte); },
    copy: (dst, src, len) => { if (len > 0) bus.load(check(dst, len), ram.readBytes(check(src, len) - ram.base, len)); },
    readBytes: (pa, len) => ram.readBytes(check(pa, len) - ram.base, len),
    writeBytes: (pa, bytes) => { if (bytes.length > 0) bus.load(check(pa, bytes.length), bytes); },
    console: () => { throw new RangeError("kernel: console goes through the SBI debug console"); },
  };
}

/**
 * An SBI call as the hardware does it: the hart takes an environment-call exception from S-mode at
 * `ecallPc` (into the M-mode firmware, whose trap vector is a native entry), runs the firmware for
 * that one step, and comes back to S-mode; the kernel's own pc is then restored.
 */
function sbiCall(hart: Hart, ecallPc: bigint, eid: number, fid: number, args: readonly bigint[]): SbiResult {
  if (hart.priv !== PRV_S) throw new RangeError(`kernel: SBI call from privilege ${hart.priv}, expected S`);
  const savedLo = hart.pcLo, savedHi = hart.pcHi;
  for (let i = 0; i < 6; i++) hart.setX(10 + i, args[i] ?? 0n);
  hart.setX(16, BigInt(fid));
  hart.setX(17, BigInt(eid));
  hart.pcLo = lo32(ecallPc);
  hart.pcHi = hi32(ecallPc);
  hart.exception(CAUSE.ECALL_S, 0, 0);
  hart.run(hart.icount + 1);
  if (hart.priv !== PRV_S) throw new RangeError("kernel: the SBI firmware did not return to S-mode");
  const result = { error: BigInt.asIntN(64, hart.x(10)), value: hart.x(11) };
  hart.pcLo = savedLo;
  hart.pcHi = savedHi;
  return result;
}
