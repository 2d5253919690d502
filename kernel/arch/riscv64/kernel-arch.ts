/**
 * The RISC-V layer of the kernel: scause/stval decoding, the user register frame, the Linux riscv64
 * system-call ABI (a7 = number, a0..a5 = arguments, a0 = result), satp switching, SBI timer,
 * console and power-off.
 *
 * User frame (USER_FRAME_SIZE bytes in RAM): word 0 = pc (sepc), word i = x_i for i = 1..31.
 */
import type { PhysMemory } from "../../hal.js";
import { type KernelArch, type KernelSmp, type TrapInfo, USER_FRAME_SIZE, type UserPageFault } from "../arch.js";
import { RISCV_SV39 } from "./paging.js";
import { SCAUSE, SCSR, SIE_SEIE, SIE_SSIE, SIE_STIE, SIP_SSIP, SSTATUS, type RiscvCpu } from "./cpu.js";

/** SBI extension ids the kernel uses. @spec RISC-V SBI v2.0 */
const SBI_TIME = 0x54494d45, SBI_DBCN = 0x4442434e, SBI_SRST = 0x53525354, SBI_IPI = 0x735049, SBI_RFENCE = 0x52464e43, SBI_HSM = 0x48534d;
/** SRST reason 0xF000_0000 | code: MultiOS firmware's "power off with exit status" (docs/kernel.md). */
const SRST_EXIT_CODE = 0xf0000000n;

/** Sv39 kernel layout: the direct map starts the upper half. */
export const RISCV_PHYSICAL_OFFSET = 0xffff_ffc0_0000_0000n;
export const RISCV_USER_TOP = 0x40_0000_0000n;

const REG_SP = 2, REG_A0 = 10, REG_A7 = 17;

const NAMES: Record<number, string> = {
  0: "instruction address misaligned", 1: "instruction access fault", 2: "illegal instruction", 3: "breakpoint",
  4: "load address misaligned", 5: "load access fault", 6: "store/AMO address misaligned", 7: "store/AMO access fault",
  8: "environment call from U-mode", 9: "environment call from S-mode", 12: "instruction page fault", 13: "load page fault",
  15: "store/AMO page fault",
};

/** sstatus bits as numbers (all in the low word), for the trap path. */
const SPP = Number(SSTATUS.SPP), SPIE = Number(SSTATUS.SPIE), SUM = Number(SSTATUS.SUM);

/** scounteren.TM: U-mode may read `time`. @spec RV-S §"Counter-Enable Register (scounteren)" */
const SCOUNTEREN_TM = 1n << 1n;

/**
 * Builds the RISC-V kernel layer over the hart (`cpu`) and physical memory. `consoleBuffer` is the
 * physical address of one page the kernel owns for handing console bytes to the firmware;
 * `timebaseHz` is the frequency of the `time` CSR (the device tree's `timebase-frequency`).
 */
export function riscvKernelArch(cpu: RiscvCpu, mem: PhysMemory, consoleBuffer: number, timebaseHz = 10_000_000): KernelArch {
  return new RiscvKernelArch(cpu, mem, consoleBuffer, timebaseHz);
}

const frameWord = (frame: number, i: number): number => frame + 8 * i;

/**
 * The layer as a class rather than an object of closures made per boot, so that the trap path
 * calls the same functions on every machine a process boots (see boot/ram-memory.ts).
 */
class RiscvKernelArch implements KernelArch {
  readonly name = "riscv64";
  readonly elfMachine = 243;
  readonly paging = RISCV_SV39;
  readonly physicalOffset = RISCV_PHYSICAL_OFFSET;
  readonly userTop = RISCV_USER_TOP;
  readonly smp: KernelSmp;
  private readonly fault: UserPageFault = { va: 0, access: "read" };

  constructor(private readonly cpu: RiscvCpu, private readonly mem: PhysMemory, private readonly consoleBuffer: number, readonly timebaseHz: number) {
    this.smp = riscvSmp(cpu);
  }

  /** Writes the 64-bit word (hi:lo) at `pa`. */
  private write64(pa: number, lo: number, hi: number): void {
    const mem = this.mem;
    if (mem.write64Halves !== undefined) mem.write64Halves(pa, lo, hi);
    else mem.write64(pa, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
  }

  /** SPP = U, SPIE = 1 (interrupts on in user mode), SUM off (sstatus written only when that changes it), then sret. */
  private sretToUser(): void {
    const cpu = this.cpu;
    const s = cpu.csrLo(SCSR.sstatus);
    const want = ((s & ~(SPP | SUM)) | SPIE) >>> 0;
    if (want !== s) cpu.setCsrHalves(SCSR.sstatus, want, cpu.lastCsrHigh());
    cpu.sret();
  }

  /** @spec RV-S §scause, §stval: stval holds the faulting VA for page, access and misaligned faults */
  trapInfo(): TrapInfo {
    const scause = this.cpu.csr(SCSR.scause);
    const interrupt = scause >> 63n === 1n;
    const code = Number(scause & 0xffn);
    const fromUser = (this.cpu.csr(SCSR.sstatus) & SSTATUS.SPP) === 0n;
    const pc = this.cpu.csr(SCSR.sepc);
    const stval = this.cpu.csr(SCSR.stval);
    if (interrupt) {
      if (code === SCAUSE.IRQ_SSOFT) return { kind: "ipi", fromUser, pc, faultAddr: 0n, access: "read", cause: code, name: "supervisor software interrupt (IPI)" };
      if (code === SCAUSE.IRQ_SEXTERNAL) return { kind: "memory-error", fromUser, pc, faultAddr: 0n, access: "read", cause: code, name: "supervisor external interrupt (memory error report)" };
      return { kind: code === SCAUSE.IRQ_STIMER ? "timer" : "exception", fromUser, pc, faultAddr: 0n, access: "read", cause: code, name: code === SCAUSE.IRQ_STIMER ? "supervisor timer interrupt" : `interrupt ${code}` };
    }
    const access = code === SCAUSE.INSN_PAGE || code === SCAUSE.INSN_ACCESS || code === SCAUSE.INSN_MISALIGNED ? "execute"
      : code === SCAUSE.STORE_PAGE || code === SCAUSE.STORE_ACCESS || code === SCAUSE.STORE_MISALIGNED ? "write" : "read";
    const kind = code === SCAUSE.ECALL_U ? "syscall"
      : code === SCAUSE.INSN_PAGE || code === SCAUSE.LOAD_PAGE || code === SCAUSE.STORE_PAGE ? "page-fault" : "exception";
    const addressed = [0, 1, 4, 5, 6, 7, 12, 13, 15].includes(code);
    return { kind, fromUser, pc, faultAddr: addressed ? stval : 0n, access, cause: code, name: NAMES[code] ?? `exception ${code}`, ...(code === SCAUSE.ILLEGAL ? { illegal: true } : {}) };
  }

  /**
   * scause 12/13/15 (instruction, load, store/AMO page fault, Interrupt bit clear) with
   * sstatus.SPP = U; stval is the faulting VA.
   * @spec RV-S §scause, §stval, §sstatus "SPP"
   */
  userPageFault(): UserPageFault | undefined {
    const code = this.cpu.csrLo(SCSR.scause);
    if (this.cpu.lastCsrHigh() !== 0) return undefined;
    if (code !== SCAUSE.INSN_PAGE && code !== SCAUSE.LOAD_PAGE && code !== SCAUSE.STORE_PAGE) return undefined;
    if ((this.cpu.csrLo(SCSR.sstatus) & SPP) !== 0) return undefined;
    const lo = this.cpu.csrLo(SCSR.stval);
    this.fault.va = this.cpu.lastCsrHigh() * 4294967296 + lo;
    this.fault.access = code === SCAUSE.INSN_PAGE ? "execute" : code === SCAUSE.STORE_PAGE ? "write" : "read";
    return this.fault;
  }

  saveUserContext(frame: number): void {
    const lo = this.cpu.csrLo(SCSR.sepc);
    this.write64(frameWord(frame, 0), lo, this.cpu.lastCsrHigh());
    this.cpu.storeRegisters(frame);
  }

  initUserFrame(frame: number, entry: bigint, sp: bigint): void {
    this.mem.fill(frame, USER_FRAME_SIZE, 0);
    this.mem.write64(frameWord(frame, 0), entry);
    this.mem.write64(frameWord(frame, REG_SP), sp);
  }

  syscallNumber(frame: number): number {
    return Number(BigInt.asIntN(32, this.mem.read64(frameWord(frame, REG_A7))));
  }

  syscallArg(frame: number, i: number): bigint {
    return this.mem.read64(frameWord(frame, REG_A0 + i));
  }

  setSyscallReturn(frame: number, v: bigint): void {
    this.mem.write64(frameWord(frame, REG_A0), BigInt.asUintN(64, v));
  }

  advancePastSyscall(frame: number): void {
    this.mem.write64(frameWord(frame, 0), this.mem.read64(frameWord(frame, 0)) + 4n);
  }

  /** Also enables the supervisor external interrupt, which carries the platform's memory-error reports. */
  installTrapVector(va: bigint): void {
    this.cpu.setCsr(SCSR.stvec, va);
    this.cpu.setCsr(SCSR.sie, this.cpu.csr(SCSR.sie) | SIE_SEIE);
  }

  /** @spec RV-S §satp: "ASIDLEN … may be determined by writing one to every bit position in the ASID field, then reading back" */
  asidBits(): number {
    const old = this.cpu.csr(SCSR.satp);
    this.cpu.setCsr(SCSR.satp, old | (0xffffn << 44n));
    const probed = (this.cpu.csr(SCSR.satp) >> 44n) & 0xffffn;
    this.cpu.setCsr(SCSR.satp, old);
    return probed.toString(2).replace(/^0+/, "").length;
  }

  /**
   * Writing satp does not flush (RV-S §satp); none is needed: an ASID is never reused within a
   * generation, and a rollover flushes everything (kernel/mm/asid.ts).
   */
  switchAddressSpace(rootRegister: bigint): void {
    const lo = Number(rootRegister & 0xffffffffn), hi = Number(rootRegister >> 32n);
    if (this.cpu.csrLo(SCSR.satp) === lo && this.cpu.lastCsrHigh() === hi) return;
    this.cpu.setCsrHalves(SCSR.satp, lo, hi);
  }

  returnToUser(frame: number): void {
    this.cpu.loadRegisters(frame);
    this.cpu.setCsrHalves(SCSR.sepc, this.mem.read32(frameWord(frame, 0)), this.mem.read32(frameWord(frame, 0) + 4));
    this.sretToUser();
  }

  /** sepc still holds the faulting pc (the trap wrote it), so only sstatus is set up for the sret. */
  resumeAfterFault(): void {
    this.sretToUser();
  }

  armTimer(ticks: number | undefined): void {
    const sie = this.cpu.csr(SCSR.sie);
    if (ticks === undefined) {
      this.cpu.setCsr(SCSR.sie, sie & ~SIE_STIE);
      this.cpu.sbi(SBI_TIME, 0, [(1n << 64n) - 1n]);
      return;
    }
    this.cpu.sbi(SBI_TIME, 0, [this.cpu.csr(SCSR.time) + BigInt(ticks)]);
    this.cpu.setCsr(SCSR.sie, sie | SIE_STIE);
  }

  now(): bigint {
    return this.cpu.csr(SCSR.time);
  }

  /**
   * Linux sets scounteren to TM alone (drivers/perf/riscv_pmu_sbi.c), so user code can read the
   * time but not cycle or instret; the firmware's mcounteren already lets S-mode pass it on.
   */
  allowUserTimeRead(): void {
    this.cpu.setCsr(SCSR.scounteren, this.cpu.csr(SCSR.scounteren) | SCOUNTEREN_TM);
  }

  /** sret with SPP = S and SPIE = 1: the idle loop runs in S-mode with sstatus.SIE set. */
  idle(pc: bigint): void {
    this.cpu.setCsr(SCSR.sepc, pc);
    const s = this.cpu.csr(SCSR.sstatus);
    this.cpu.setCsr(SCSR.sstatus, (s & ~SSTATUS.SUM) | SSTATUS.SPP | SSTATUS.SPIE);
    this.cpu.sret();
  }

  consoleWrite(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length; at += 4096) {
      const chunk = bytes.subarray(at, at + 4096);
      this.mem.writeBytes(this.consoleBuffer, chunk);
      this.cpu.sbi(SBI_DBCN, 0, [BigInt(chunk.length), BigInt(this.consoleBuffer), 0n]);
    }
  }

  powerOff(exitCode: number): void {
    this.cpu.sbi(SBI_SRST, 0, [0n, exitCode === 0 ? 0n : SRST_EXIT_CODE | BigInt(exitCode & 0xff)]);
  }

  /** @spec RV-S §sstatus "SUM": S-mode loads and stores may access U pages while SUM=1 */
  userAccess(va: bigint, access: "read" | "write"): number | undefined {
    const s = this.cpu.csr(SCSR.sstatus);
    this.cpu.setCsr(SCSR.sstatus, s | SSTATUS.SUM);
    const pa = this.cpu.translate(va, access === "write");
    this.cpu.setCsr(SCSR.sstatus, s);
    return pa;
  }

  registers(): [string, bigint][] {
    const out: [string, bigint][] = [["sepc", this.cpu.csr(SCSR.sepc)], ["scause", this.cpu.csr(SCSR.scause)], ["stval", this.cpu.csr(SCSR.stval)], ["sstatus", this.cpu.csr(SCSR.sstatus)], ["satp", this.cpu.csr(SCSR.satp)]];
    for (let i = 1; i < 32; i++) out.push([`x${i}`, this.cpu.reg(i)]);
    return out;
  }
}

/** A hart mask for SBI calls (hart_mask_base 0): bit i = hart i. */
const hartMask = (ids: readonly number[]): bigint => ids.reduce((m, id) => m | (1n << BigInt(id)), 0n);

/**
 * Several harts through the SBI: HSM hart_start, IPI send_ipi (a supervisor software interrupt on
 * the target), RFENCE remote_sfence_vma[_asid] (done by the firmware before it returns). The
 * kernel's CPU index lives in sscratch: this kernel's trap entry is native and needs no scratch
 * register for a stack switch, so sscratch is free to be the per-CPU pointer (Linux keeps it in tp).
 * @spec RISC-V SBI v2.0 §7.1 send_ipi, §8.2-8.3 remote_sfence_vma(_asid), §9.1 hart_start
 * @spec RV-S §"Supervisor Interrupt Registers (sip and sie)": SSIP is writable in S-mode
 */
function riscvSmp(cpu: RiscvCpu): KernelSmp {
  return {
    cpuIndex: () => cpu.csrLo(SCSR.sscratch),
    setCpuIndex: (i) => cpu.setCsr(SCSR.sscratch, BigInt(i)),
    startCpu: (hwId, entryPa, opaque) => cpu.sbi(SBI_HSM, 0, [BigInt(hwId), BigInt(entryPa), BigInt(opaque)]).error === 0n,
    enableIpi: () => cpu.setCsr(SCSR.sie, cpu.csr(SCSR.sie) | SIE_SSIE),
    sendIpi: (ids) => {
      if (ids.length > 0) cpu.sbi(SBI_IPI, 0, [hartMask(ids), 0n]);
    },
    ackIpi: () => cpu.setCsr(SCSR.sip, cpu.csr(SCSR.sip) & ~SIP_SSIP),
    remoteTlb: {
      kind: "sync",
      flush: (ids, asid, range) => {
        const start = range?.start ?? 0n, size = range?.size ?? (1n << 64n) - 1n;
        if (asid === undefined) cpu.sbi(SBI_RFENCE, 1, [hartMask(ids), 0n, start, size]);
        else cpu.sbi(SBI_RFENCE, 2, [hartMask(ids), 0n, start, size, BigInt(asid)]);
      },
    },
  };
}
