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
import { RamMemory } from "../ram-memory.js";
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
  return new RiscvKernelHal(bus, hart, ram, ecallPc);
}

/**
 * The hart as the kernel's {@link RiscvCpu}. Classes rather than closures made per machine (here and
 * in {@link RiscvKernelHal}), so that the kernel's trap path calls the same functions on every
 * machine a process boots (see boot/ram-memory.ts).
 */
class HartCpu implements RiscvCpu {
  /** sfence.vma's rs1 operand, reused (the hart reads it during the call). */
  private readonly fenceVa = { lo: 0, hi: 0 };

  constructor(public hart: Hart, private readonly bus: Bus, private readonly mem: RamMemory, private readonly ecallPc: (h: Hart) => bigint) {}

  reg(i: number): bigint { return this.hart.x(i); }
  setReg(i: number, v: bigint): void { this.hart.setX(i, v); }

  csr(n: number): bigint {
    const t = this.read(n);
    return BigInt.asUintN(64, (BigInt(t.hi) << 32n) | BigInt(t.lo >>> 0));
  }

  csrLo(n: number): number {
    return this.read(n).lo >>> 0;
  }

  lastCsrHigh(): number { return this.hart.tmp.hi >>> 0; }

  setCsrHalves(n: number, lo: number, hi: number): void {
    const hart = this.hart;
    if (!csrAccessible(hart, n) || !csrWrite(hart, n, lo | 0, hi | 0)) throw new RangeError(`kernel: CSR 0x${n.toString(16)} is not writable in S-mode`);
  }

  setCsr(n: number, v: bigint): void {
    this.setCsrHalves(n, lo32(v), hi32(v));
  }

  storeRegisters(pa: number): void { this.mem.storeWords(pa, this.hart.xl, this.hart.xh, 1, 31); }
  loadRegisters(pa: number): void { this.mem.loadWords(pa, this.hart.xl, this.hart.xh, 1, 31); }
  sret(): void { this.hart.sret(); }

  sfenceVma(va: bigint | undefined, asid: number | undefined): void {
    this.hart.sfenceVma(va === undefined ? undefined : { lo: lo32(va), hi: hi32(va) }, asid);
  }

  sfenceVmaPage(va: number, asid: number): void {
    this.fenceVa.lo = va | 0;
    this.fenceVa.hi = Math.floor(va / 4294967296) | 0;
    this.hart.sfenceVma(this.fenceVa, asid);
  }

  sbi(eid: number, fid: number, args: readonly bigint[]): SbiResult {
    return sbiCall(this.hart, this.ecallPc(this.hart), eid, fid, args);
  }

  translate(va: bigint, write: boolean): number | undefined {
    const hart = this.hart;
    const pa = hart.mmu.translate(lo32(va), hi32(va), write ? STORE : LOAD, hart.dataPriv);
    return pa < 0 || this.bus.find(pa)?.ram === undefined ? undefined : pa;
  }

  /** CSR `n` read as an S-mode csrr would, into hart.tmp. */
  private read(n: number): { lo: number; hi: number } {
    const hart = this.hart;
    if (!csrAccessible(hart, n)) throw new RangeError(`kernel: CSR 0x${n.toString(16)} is not accessible in S-mode`);
    csrRead(hart, n);
    return hart.tmp;
  }
}

/** TLB maintenance as sfence.vma on the bound hart. */
class HartTlb implements TlbControl {
  constructor(private readonly cpu: HartCpu) {}
  flushPage(va: bigint, asid: number): void { this.cpu.sfenceVma(va, asid); }
  flushPageNumber(va: number, asid: number): void { this.cpu.sfenceVmaPage(va, asid); }
  flushAsid(asid: number): void { this.cpu.sfenceVma(undefined, asid); }
  flushAll(): void { this.cpu.sfenceVma(undefined, undefined); }
}

/** The HAL: physical memory (RamMemory), the hart, its TLB, and the platform's memory-error reports. */
class RiscvKernelHal extends RamMemory implements RiscvHal {
  readonly cpu: HartCpu;
  readonly tlb: HartTlb;
  readonly ramZeroedAtBoot = true;
  private readonly memoryErrors: MemoryError[] = [];
  /** The boot hart (hart 0), where the platform's error interrupt goes, as a PLIC routes it by default. */
  private readonly boot: Hart;

  constructor(bus: Bus, hart: Hart, ram: SparseRam, ecallPc: (h: Hart) => bigint) {
    super(bus, ram);
    this.cpu = new HartCpu(hart, bus, this, ecallPc);
    this.tlb = new HartTlb(this.cpu);
    this.boot = hart;
  }

  bind(h: Hart): void {
    this.cpu.hart = h;
  }

  reportMemoryError(e: MemoryError): void {
    this.memoryErrors.push(e);
    this.boot.mipSoft |= 1 << IRQ.SEI;
    this.boot.interruptsChanged();
  }

  takeMemoryErrors(): MemoryError[] {
    this.boot.mipSoft &= ~(1 << IRQ.SEI);
    return this.memoryErrors.splice(0);
  }

  console(): void {
    throw new RangeError("kernel: console goes through the SBI debug console");
  }
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
