/**
 * Binds the kernel's hardware interface (kernel/hal.ts, kernel/arch/riscv64/cpu.ts) to an emulated
 * riscv64-virt hart. Every operation is what the corresponding instruction would do: CSR accesses go
 * through the hart's CSR rules, sfence.vma through its TLB, and an SBI call is a real `ecall` from
 * S-mode that the M-mode firmware handles (visible in traces as a trap with cause 9).
 */
import { CAUSE, IRQ, PRV_S } from "../../emulator/arch/riscv64/defs.js";
import { csrAccessible, csrRead, csrWrite } from "../../emulator/arch/riscv64/csr.js";
import type { Hart } from "../../emulator/arch/riscv64/hart.js";
import { LOAD, STORE } from "../../emulator/arch/riscv64/mmu.js";
import type { Bus, SparseRam } from "../../emulator/core/memory.js";
import { ramMemory } from "../ram-memory.js";
import type { Hal, MemoryError, TlbControl } from "../../kernel/hal.js";
import type { RiscvCpu, SbiResult } from "../../kernel/arch/riscv64/cpu.js";

/**
 * The kernel's HAL on RISC-V: memory, TLB control and the hart, and the platform's memory-error
 * reporting: `reportMemoryError` (the platform side: fault injection, a memory scrubber) queues an
 * error record and raises the supervisor external interrupt; the kernel takes the records with
 * `takeMemoryErrors`, which lowers it.
 */
export type RiscvHal = Hal & {
  readonly cpu: RiscvCpu;
  reportMemoryError(e: MemoryError): void;
  /**
   * Makes `h` the hart the kernel's code runs on: the one whose native entry (trap vector,
   * secondary entry) was reached. Every CPU, CSR and TLB operation then acts on it.
   */
  bind(h: Hart): void;
};

const lo32 = (v: bigint): number => Number(BigInt.asIntN(32, v));
const hi32 = (v: bigint): number => Number(BigInt.asIntN(32, v >> 32n));

/**
 * Builds the HAL, bound to `hart` until {@link RiscvHal.bind} names another. `ecallPc` gives the
 * physical-or-virtual address of an `ecall` in kernel text that SBI calls are made from on a hart
 * (it becomes mepc; the firmware returns to the next instruction).
 */
export function riscvHal(bus: Bus, hart: Hart, ram: SparseRam, ecallPc: (h: Hart) => bigint): RiscvHal {
  const mem = ramMemory(bus, ram);
  /** sfence.vma's rs1 operand, reused (the hart reads it during the call). */
  const fenceVa = { lo: 0, hi: 0 };
  const cpu: RiscvCpu = {
    reg: (i) => hart.x(i),
    setReg: (i, v) => hart.setX(i, v),
    csr: (n) => {
      if (!csrAccessible(hart, n)) throw new RangeError(`kernel: CSR 0x${n.toString(16)} is not accessible in S-mode`);
      csrRead(hart, n);
      return BigInt.asUintN(64, (BigInt(hart.tmp.hi) << 32n) | BigInt(hart.tmp.lo >>> 0));
    },
    csrLo: (n) => {
      if (!csrAccessible(hart, n)) throw new RangeError(`kernel: CSR 0x${n.toString(16)} is not accessible in S-mode`);
      csrRead(hart, n);
      return hart.tmp.lo >>> 0;
    },
    lastCsrHigh: () => hart.tmp.hi >>> 0,
    setCsrHalves: (n, lo, hi) => {
      if (!csrAccessible(hart, n) || !csrWrite(hart, n, lo | 0, hi | 0)) throw new RangeError(`kernel: CSR 0x${n.toString(16)} is not writable in S-mode`);
    },
    setCsr: (n, v) => {
      if (!csrAccessible(hart, n) || !csrWrite(hart, n, lo32(v), hi32(v))) throw new RangeError(`kernel: CSR 0x${n.toString(16)} is not writable in S-mode`);
    },
    storeRegisters: (pa) => mem.storeWords(pa, hart.xl, hart.xh, 1, 31),
    loadRegisters: (pa) => mem.loadWords(pa, hart.xl, hart.xh, 1, 31),
    sret: () => hart.sret(),
    sfenceVma: (va, asid) => hart.sfenceVma(va === undefined ? undefined : { lo: lo32(va), hi: hi32(va) }, asid),
    sfenceVmaPage: (va, asid) => {
      fenceVa.lo = va | 0;
      fenceVa.hi = Math.floor(va / 4294967296) | 0;
      hart.sfenceVma(fenceVa, asid);
    },
    sbi: (eid, fid, args) => sbiCall(hart, ecallPc(hart), eid, fid, args),
    translate: (va, write) => {
      const pa = hart.mmu.translate(lo32(va), hi32(va), write ? STORE : LOAD, hart.dataPriv);
      return pa < 0 || bus.find(pa)?.ram === undefined ? undefined : pa;
    },
  };
  const tlb: TlbControl = {
    flushPage: (va, asid) => cpu.sfenceVma(va, asid),
    flushPageNumber: (va, asid) => cpu.sfenceVmaPage(va, asid),
    flushAsid: (asid) => cpu.sfenceVma(undefined, asid),
    flushAll: () => cpu.sfenceVma(undefined, undefined),
  };
  const memoryErrors: MemoryError[] = [];
  const boot = hart;
  return {
    cpu,
    tlb,
    bind(h) {
      hart = h;
    },
    reportMemoryError(e) {
      memoryErrors.push(e);
      // The platform's error interrupt goes to the boot hart (hart 0), as a PLIC routes it by default.
      boot.mipSoft |= 1 << IRQ.SEI;
      boot.interruptsChanged();
    },
    takeMemoryErrors() {
      boot.mipSoft &= ~(1 << IRQ.SEI);
      return memoryErrors.splice(0);
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
    console: () => { throw new RangeError("kernel: console goes through the SBI debug console"); },
    ramZeroedAtBoot: true,
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
