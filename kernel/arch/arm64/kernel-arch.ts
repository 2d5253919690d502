/**
 * The AArch64 layer of the kernel: ESR_EL1/FAR_EL1 decoding, the user register frame, the Linux
 * arm64 system-call ABI (x8 = number, x0..x5 = arguments, x0 = result, SVC #0), TTBR0_EL1
 * switching with ASIDs, the generic timer, the console and power-off through the firmware.
 *
 * User frame (in the process's kernel-stack page): word 0 = pc (ELR_EL1), word 1 = SPSR_EL1,
 * words 2..32 = x0..x30, word 33 = SP_EL0.
 *
 * The kernel's own address space is the TTBR1_EL1 table (kernel/arch/arm64/paging.ts); processes'
 * tables go to TTBR0_EL1 with their ASID in bits 63:48, so switching needs no TLB maintenance while
 * the ASID generation lasts (kernel/mm/asid.ts), and no kernel entries are copied into user tables.
 * @spec Arm ARM D1.10 "Exception entry", D19.2 ESR_EL1, FAR_EL1, ELR_EL1, SPSR_EL1, TTBR0_EL1,
 *       CNTV_CTL_EL0, CNTKCTL_EL1; Linux arch/arm64/include/asm/unistd.h (the generic syscall table)
 */
import { type KernelArch, type KernelSmp, type TrapInfo, USER_FRAME_SIZE, type UserPageFault } from "../arch.js";
import { ARM64_4K_48 } from "./paging.js";
import { EC, SPSR, type Arm64Cpu } from "./cpu.js";
import { MAIR_VALUE } from "./descriptors.js";
import { type GicDriver, INTID_SPURIOUS, PPI_VIRT_TIMER } from "./gic.js";
import { arm64Tlb } from "./tlb.js";

/** Kernel layout: the direct map starts the TTBR1 half used by this kernel. */
export const ARM64_PHYSICAL_OFFSET = 0xffff_8000_0000_0000n;
/** User addresses end here (as on riscv64 Sv39, so one user layout serves both). */
export const ARM64_USER_TOP = 0x40_0000_0000n;

/** PSCI 0.2 function ids. @spec Arm DEN0022 "Power State Coordination Interface" §5.1 */
export const PSCI_SYSTEM_OFF = 0x8400_0008n;
/** PSCI CPU_ON, SMC64 form (target_cpu, entry_point_address, context_id). @spec Arm DEN0022 §5.1.4 */
export const PSCI_CPU_ON64 = 0xc400_0003n;
/**
 * MultiOS's firmware call "power off with this exit status" (x1), an SMCCC vendor-specific
 * hypervisor service call (OEN 6). @spec Arm DEN0028 SMCCC §6 "Function Identifier" ranges
 */
export const MULTIOS_EXIT = 0x8600_0001n;

/**
 * TCR_EL1 as the kernel programs it: T0SZ = T1SZ = 16 (48-bit ranges), both 4 KiB granules
 * (TG0 = 0b00, TG1 = 0b10), table walks Inner Shareable write-back read/write-allocate
 * (SHx = 0b11, IRGNx = ORGNx = 0b01), IPS = 0b101 (48-bit PA), AS = 1 (16-bit ASIDs), A1 = 0
 * (the ASID comes from TTBR0_EL1).
 * @spec Arm ARM D19.2 TCR_EL1
 */
export const TCR_VALUE =
  16n | (1n << 8n) | (1n << 10n) | (3n << 12n) | (0n << 14n) |
  (16n << 16n) | (1n << 24n) | (1n << 26n) | (3n << 28n) | (2n << 30n) |
  (5n << 32n) | (1n << 36n);
/** TCR_EL1.EPD0 (bit 7): no walks through TTBR0_EL1 (set until the first user address space). */
export const TCR_EPD0 = 1n << 7n;
/** SCTLR_EL1.M (stage-1 MMU), C (data cacheability), I (instruction cacheability). @spec Arm ARM D19.2 SCTLR_EL1 */
export const SCTLR_M = 1n << 0n, SCTLR_C = 1n << 2n, SCTLR_I = 1n << 12n;

/** Frame word indices. */
const PC = 0, PSTATE = 1, X0 = 2, SP = 33;
const X8 = X0 + 8;
/** CNTV_CTL_EL0.ENABLE; CNTKCTL_EL1.EL0VCTEN. */
const CNTV_ENABLE = 1n, EL0VCTEN = 1n << 1n;

const NAMES: Record<number, string> = {
  [EC.UNKNOWN]: "undefined instruction", [EC.SVC64]: "SVC", [EC.INSN_ABORT_LOWER]: "instruction abort from EL0",
  [EC.INSN_ABORT_SAME]: "instruction abort from EL1", [EC.PC_ALIGN]: "PC alignment fault", [EC.DATA_ABORT_LOWER]: "data abort from EL0",
  [EC.DATA_ABORT_SAME]: "data abort from EL1", [EC.SP_ALIGN]: "SP alignment fault", [EC.BRK]: "BRK",
};

/** DFSC/IFSC classes that are MMU faults the memory manager handles: translation, access flag, permission (any level). */
const isMmuFault = (fsc: number): boolean => fsc >= 0x04 && fsc <= 0x0f;

/**
 * Builds the arm64 kernel layer over the PE (`cpu`). `console` writes bytes to the UART (the
 * kernel's own device mapping); `trapKind` says which vector the current exception came through
 * (the boot code's native vector entries record it); an SError is the platform's memory-error
 * notification. With `gic` (the machine's GICv2) interrupts are taken through it: the timer is
 * PPI 27, another CPU's IPI is SGI 0, and the layer supports several CPUs ({@link arm64Smp});
 * without it the timer drives the IRQ line directly and the layer runs on one CPU.
 *
 * Nothing per CPU is cached here: every register read acts on the CPU the HAL is bound to (a cached
 * TTBR0_EL1 value shared by all CPUs would skip the write on a CPU that holds another one).
 */
export function arm64KernelArch(cpu: Arm64Cpu, mem: { fill(pa: number, len: number, b: number): void; read64(pa: number): bigint; write64(pa: number, v: bigint): void }, console: (bytes: Uint8Array) => void, trapKind: () => "sync" | "irq" | "serror", gic?: GicDriver): KernelArch {
  const word = (frame: number, i: number): number => frame + 8 * i;
  /** GICC_IAR of the IRQ being handled (ended by KernelSmp.ackIpi for the SGI); one serves every CPU, as a handler runs to completion on its CPU. */
  let iar = INTID_SPURIOUS;
  const timebaseHz = Number(cpu.sysReg("CNTFRQ_EL0")) || 62_500_000;
  const fault: UserPageFault = { va: 0, access: "read" };
  return {
    name: "arm64",
    elfMachine: 183,
    paging: ARM64_4K_48,
    kernelHalfInUserTables: false,
    physicalOffset: ARM64_PHYSICAL_OFFSET,
    userTop: ARM64_USER_TOP,

    trapInfo(): TrapInfo {
      const fromUser = (cpu.sysReg("SPSR_EL1") & 0xfn) === SPSR.EL0T;
      const pc = cpu.sysReg("ELR_EL1");
      if (trapKind() === "irq") {
        if (gic === undefined) return { kind: "timer", fromUser, pc, faultAddr: 0n, access: "read", cause: 0, name: "IRQ (virtual timer)" };
        iar = gic.acknowledge();
        const id = iar & 0x3ff;
        if (id < 16) return { kind: "ipi", fromUser, pc, faultAddr: 0n, access: "read", cause: id, name: `IRQ (SGI ${id} from cpu ${(iar >> 10) & 7})` };
        // The timer PPI is ended at once: the handler runs with IRQs masked and reprograms the
        // timer before it returns, so the level input is low again by the time they are unmasked.
        // A spurious ID (nothing left pending) is not ended; it is handled as a timer tick, which
        // only re-reads the time.
        if (id !== INTID_SPURIOUS) gic.end(iar);
        const name = id === PPI_VIRT_TIMER ? "IRQ (virtual timer, PPI 27)" : id === INTID_SPURIOUS ? "IRQ (spurious)" : `IRQ ${id}`;
        return { kind: "timer", fromUser, pc, faultAddr: 0n, access: "read", cause: id, name };
      }
      // The platform announces memory errors with an SError (boot/memory-errors.ts); the records are in the HAL.
      if (trapKind() === "serror") return { kind: "memory-error", fromUser, pc, faultAddr: 0n, access: "read", cause: EC.SERROR, name: "SError interrupt (memory error report)" };
      const esr = cpu.sysReg("ESR_EL1");
      const ec = Number((esr >> 26n) & 0x3fn);
      const fsc = Number(esr & 0x3fn);
      const write = (esr & (1n << 6n)) !== 0n;
      const abort = ec === EC.DATA_ABORT_LOWER || ec === EC.DATA_ABORT_SAME || ec === EC.INSN_ABORT_LOWER || ec === EC.INSN_ABORT_SAME;
      const instruction = ec === EC.INSN_ABORT_LOWER || ec === EC.INSN_ABORT_SAME || ec === EC.PC_ALIGN;
      const access = instruction ? "execute" : write ? "write" : "read";
      const kind = ec === EC.SVC64 ? "syscall" : abort && isMmuFault(fsc) ? "page-fault" : "exception";
      const faultAddr = abort || ec === EC.PC_ALIGN ? cpu.sysReg("FAR_EL1") : 0n;
      return { kind, fromUser, pc, faultAddr, access, cause: ec, name: NAMES[ec] ?? `exception class 0x${ec.toString(16)}`, ...(ec === EC.UNKNOWN ? { illegal: true } : {}) };
    },

    /** EC 0x20/0x24 (abort from EL0) with a translation, access-flag or permission FSC; FAR_EL1 is the VA. */
    userPageFault() {
      if (trapKind() !== "sync") return undefined;
      const esr = cpu.sysReg("ESR_EL1");
      const ec = Number((esr >> 26n) & 0x3fn);
      if ((ec !== EC.DATA_ABORT_LOWER && ec !== EC.INSN_ABORT_LOWER) || !isMmuFault(Number(esr & 0x3fn))) return undefined;
      fault.va = Number(cpu.sysReg("FAR_EL1"));
      fault.access = ec === EC.INSN_ABORT_LOWER ? "execute" : (esr & (1n << 6n)) !== 0n ? "write" : "read";
      return fault;
    },

    saveUserContext(frame) {
      mem.write64(word(frame, PC), cpu.sysReg("ELR_EL1"));
      mem.write64(word(frame, PSTATE), cpu.sysReg("SPSR_EL1"));
      cpu.storeRegisters(word(frame, X0));
      mem.write64(word(frame, SP), cpu.sysReg("SP_EL0"));
    },

    initUserFrame(frame, entry, sp) {
      mem.fill(frame, USER_FRAME_SIZE, 0);
      mem.write64(word(frame, PC), entry);
      mem.write64(word(frame, PSTATE), SPSR.EL0T);
      mem.write64(word(frame, SP), sp);
    },

    syscallNumber: (frame) => Number(BigInt.asIntN(32, mem.read64(word(frame, X8)))),
    syscallArg: (frame, i) => mem.read64(word(frame, X0 + i)),
    setSyscallReturn: (frame, v) => mem.write64(word(frame, X0), BigInt.asUintN(64, v)),
    /** Nothing to do: the preferred return address of an SVC is the next instruction. @spec Arm ARM D1.10.4 "preferred exception return address" */
    advancePastSyscall: () => {},

    /** VBAR_EL1, then this CPU's GIC CPU interface and timer PPI: the vector is where its interrupts arrive. */
    installTrapVector(va) {
      cpu.setSysReg("VBAR_EL1", va);
      cpu.isb();
      gic?.initCpu(Number(cpu.sysReg("MPIDR_EL1") & 0xff_ffffn));
    },

    /** ID_AA64MMFR0_EL1.ASIDBits (bits 7:4): 0b0010 = 16 bits, else 8; 16 also needs TCR_EL1.AS (bit 36). */
    asidBits() {
      const mmfr0 = cpu.sysReg("ID_AA64MMFR0_EL1");
      const as16 = (cpu.sysReg("TCR_EL1") & (1n << 36n)) !== 0n;
      return ((mmfr0 >> 4n) & 0xfn) === 2n && as16 ? 16 : 8;
    },

    /** MAIR, TCR (EPD0 set: no user range yet), TTBR1 = the kernel's table, then the MMU on. */
    installKernelSpace(rootRegister) {
      cpu.setSysReg("MAIR_EL1", MAIR_VALUE);
      cpu.setSysReg("TCR_EL1", TCR_VALUE | TCR_EPD0);
      cpu.setSysReg("TTBR1_EL1", rootRegister);
      cpu.isb();
      cpu.setSysReg("SCTLR_EL1", cpu.sysReg("SCTLR_EL1") | SCTLR_M | SCTLR_C | SCTLR_I);
      cpu.isb();
    },

    /**
     * TTBR0_EL1 = the space's table and ASID, unless this CPU holds it already; a CPU's first switch
     * also clears its TCR_EL1.EPD0 (both registers are read back from the CPU, never cached).
     */
    switchAddressSpace(rootRegister) {
      if (cpu.sysReg("TTBR0_EL1") === rootRegister) return;
      const tcr = cpu.sysReg("TCR_EL1");
      if ((tcr & TCR_EPD0) !== 0n) {
        cpu.setSysReg("TCR_EL1", tcr & ~TCR_EPD0);
        cpu.isb();
      }
      cpu.setSysReg("TTBR0_EL1", rootRegister);
      cpu.isb();
    },

    returnToUser(frame) {
      cpu.loadRegisters(word(frame, X0));
      cpu.setSysReg("SP_EL0", mem.read64(word(frame, SP)));
      cpu.setSysReg("ELR_EL1", mem.read64(word(frame, PC)));
      cpu.setSysReg("SPSR_EL1", mem.read64(word(frame, PSTATE)) & ~0xfn);
      cpu.eret();
    },

    armTimer(ticks) {
      if (ticks === undefined) {
        cpu.setSysReg("CNTV_CTL_EL0", 0n);
        return;
      }
      cpu.setSysReg("CNTV_CVAL_EL0", cpu.sysReg("CNTVCT_EL0") + BigInt(ticks));
      cpu.setSysReg("CNTV_CTL_EL0", CNTV_ENABLE);
    },

    timebaseHz,
    now: () => cpu.sysReg("CNTVCT_EL0"),

    allowUserTimeRead() {
      cpu.setSysReg("CNTKCTL_EL1", cpu.sysReg("CNTKCTL_EL1") | EL0VCTEN);
    },

    /** ERET to `pc` in EL1h with DAIF clear: the idle loop runs with interrupts enabled. */
    idle(pc) {
      cpu.setSysReg("ELR_EL1", pc);
      cpu.setSysReg("SPSR_EL1", SPSR.EL1H);
      cpu.eret();
    },

    consoleWrite: console,

    powerOff(exitCode) {
      if (exitCode === 0) cpu.hvc([PSCI_SYSTEM_OFF]);
      else cpu.hvc([MULTIOS_EXIT, BigInt(exitCode & 0xff)]);
    },

    ...(gic === undefined ? {} : { smp: arm64Smp(cpu, gic, () => iar) }),

    userAccess(va, access) {
      return cpu.translate(va, access === "write");
    },

    registers() {
      const out: [string, bigint][] = (["ELR_EL1", "ESR_EL1", "FAR_EL1", "SPSR_EL1", "TTBR0_EL1", "SP_EL0"] as const).map((n) => [n.toLowerCase(), cpu.sysReg(n)]);
      for (let i = 0; i <= 30; i++) out.push([`x${i}`, cpu.reg(i)]);
      return out;
    },
  };
}

/**
 * Several CPUs on arm64-virt: the kernel's CPU index in TPIDR_EL1 (EL1-only, Linux keeps its
 * per-CPU offset there), CPU_ON through PSCI over HVC with the index as context_id (the new CPU
 * starts at the entry with the MMU off and X0 = context_id), IPIs as SGI 0 through the GIC, and
 * TLB shootdown by the Inner Shareable TLBI forms (no IPI: the broadcast is complete at this CPU's
 * DSB ISH). `iar` is the GICC_IAR value trapInfo read for the IRQ being handled.
 * @spec Arm DEN0022 (PSCI) §5.1.4 CPU_ON, §6.4 (entry state of a CPU turned on)
 * @spec Arm ARM D19.2 TPIDR_EL1; D8.17 TLB maintenance (Inner Shareable forms broadcast)
 */
function arm64Smp(cpu: Arm64Cpu, gic: GicDriver, iar: () => number): KernelSmp {
  return {
    cpuIndex: () => Number(cpu.sysReg("TPIDR_EL1")),
    setCpuIndex: (i) => cpu.setSysReg("TPIDR_EL1", BigInt(i)),
    startCpu: (hwId, entryPa, opaque) => cpu.hvc([PSCI_CPU_ON64, BigInt(hwId), BigInt(entryPa), BigInt(opaque)]) === 0n,
    enableIpi: () => gic.enableIpi(),
    sendIpi: (hwIds) => gic.sendIpi(hwIds),
    ackIpi: () => gic.end(iar()),
    remoteTlb: { kind: "broadcast", tlb: arm64Tlb(cpu, true) },
  };
}
