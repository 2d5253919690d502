/**
 * The x86_64 layer of the kernel: SYSCALL and IDT entries decoded into the neutral trap kinds
 * (#PF with CR2 and its error code), the user register frame, the Linux x86_64 system-call ABI
 * (RAX = number, RDI RSI RDX R10 R8 R9 = arguments, RAX = result), CR3 with PCIDs, the local APIC
 * timer, the console on COM1 and power-off through the firmware's exit port.
 *
 * User frame (in the process's kernel-stack page): word 0 = RIP, word 1 = RFLAGS, words 2..17 =
 * the 16 GPRs in encoding order (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8..R15).
 *
 * Every address space carries the kernel half (its upper PML4 entries are shared, as Linux does),
 * and CR3 is written with bit 63 set: switching keeps the new PCID's entries, which stay valid
 * while the ASID generation lasts (kernel/mm/asid.ts); a rollover flushes with INVPCID.
 * @spec Intel SDM Vol. 3A §4.7 (#PF error code, CR2), §4.10.4.1 (MOV to CR3 with PCIDE), §6.14
 *       (64-bit interrupt frame), Vol. 2B SYSCALL/SYSRET; Linux arch/x86/entry/syscalls/syscall_64.tbl
 */
import { type KernelArch, type TrapInfo, USER_FRAME_SIZE, type UserPageFault } from "../arch.js";
import type { ArchPaging } from "../../mm/vm/arch.js";
import { X86_4LEVEL_PAGING } from "./paging.js";
import { GPR, PF_ERR, VECTOR, type X86Cpu } from "./cpu.js";
import { X86_SYS, X86_SYSCALL_TABLE } from "./syscalls.js";
import { IPI_VECTOR, type MailboxMemory, x86Smp } from "./smp.js";

/** Kernel layout: the direct map starts the upper half. */
export const X86_PHYSICAL_OFFSET = 0xffff_8000_0000_0000n;
/** User addresses end here (as on riscv64 Sv39, so one user layout serves all architectures). */
export const X86_USER_TOP = 0x40_0000_0000n;
/** The local APIC timer's vector. */
export const TIMER_VECTOR = 32;
/**
 * COM1's data port, and the exit port a kernel run uses to power off with a status byte: QEMU's
 * isa-debug-exit (port 0xF4) can only report odd statuses ((v << 1) | 1), so the x86_64 kernel boot
 * (boot/x86_64/kernel-boot.ts) adds MultiOS's exit port (emulator/devices/exit-port.ts) here.
 */
export const COM1 = 0x3f8;
export const EXIT_PORT = 0x501;

/** RFLAGS.IF and the always-one bit 1. */
const RFLAGS_USER = (1n << 9n) | 2n;
const IA32_TSC_KHZ_DEFAULT = 1_000_000;
const CR3_NOFLUSH = 1n << 63n;
/** The signal fork's child reports to its parent (clone's flags for fork). */
const SIGCHLD = 17n;

const NAMES: Record<number, string> = { 0: "divide error (#DE)", 6: "invalid opcode (#UD)", 13: "general protection (#GP)", 14: "page fault (#PF)" };

/**
 * Builds the x86_64 kernel layer over the processor (`cpu`) and physical memory; `tscHz` is the
 * frequency of RDTSC (the machine's); `paging` is 4-level, or 5-level when the firmware handed off
 * with CR4.LA57 (it cannot change in long mode); `mailbox`, the physical address of the ACPI
 * multiprocessor wakeup mailbox, gives the layer its SMP operations (smp.ts).
 */
export function x86KernelArch(cpu: X86Cpu, mem: MailboxMemory & { fill(pa: number, len: number, b: number): void; read64(pa: number): bigint }, tscHz = IA32_TSC_KHZ_DEFAULT * 1000, paging: ArchPaging = X86_4LEVEL_PAGING, mailbox?: number): KernelArch {
  const word = (frame: number, i: number): number => frame + 8 * i;
  const RIP = 0, RFLAGS = 1, G = 2;
  const fault: UserPageFault = { va: 0, access: "read" };
  return {
    name: "x86_64",
    elfMachine: 62,
    paging,
    physicalOffset: X86_PHYSICAL_OFFSET,
    userTop: X86_USER_TOP,

    trapInfo(): TrapInfo {
      const e = cpu.entry();
      if (e.kind === "syscall") return { kind: "syscall", fromUser: true, pc: cpu.reg(GPR.RCX) - 2n, faultAddr: 0n, access: "read", cause: -1, name: "SYSCALL" };
      const fromUser = (e.cs & 3) === 3;
      if (e.vector === TIMER_VECTOR) return { kind: "timer", fromUser, pc: e.rip, faultAddr: 0n, access: "read", cause: e.vector, name: "local APIC timer" };
      if (e.vector === IPI_VECTOR) return { kind: "ipi", fromUser, pc: e.rip, faultAddr: 0n, access: "read", cause: e.vector, name: "inter-processor interrupt" };
      // The platform announces memory errors with a machine check (boot/memory-errors.ts); the records are in the HAL.
      if (e.vector === VECTOR.MC) return { kind: "memory-error", fromUser, pc: e.rip, faultAddr: 0n, access: "read", cause: e.vector, name: "machine check (#MC, memory error report)" };
      if (e.vector === VECTOR.PF) {
        const ec = e.errorCode;
        const access = (ec & PF_ERR.ID) !== 0 ? "execute" : (ec & PF_ERR.W) !== 0 ? "write" : "read";
        // A reserved-bit violation is a broken page table, not a fault to resolve.
        return { kind: (ec & PF_ERR.RSVD) !== 0 ? "exception" : "page-fault", fromUser, pc: e.rip, faultAddr: cpu.readCr(2), access, cause: 14, name: NAMES[14]! };
      }
      return { kind: "exception", fromUser, pc: e.rip, faultAddr: 0n, access: "read", cause: e.vector, name: NAMES[e.vector] ?? `vector ${e.vector}`, ...(e.vector === VECTOR.UD ? { illegal: true } : {}) };
    },

    /** #PF from CPL 3 without RSVD: CR2 and the access from the error code's W and I/D bits. */
    userPageFault() {
      const e = cpu.entry();
      if (e.kind !== "vector" || e.vector !== VECTOR.PF || (e.cs & 3) !== 3 || (e.errorCode & PF_ERR.RSVD) !== 0) return undefined;
      fault.va = Number(cpu.readCr(2));
      fault.access = (e.errorCode & PF_ERR.ID) !== 0 ? "execute" : (e.errorCode & PF_ERR.W) !== 0 ? "write" : "read";
      return fault;
    },

    saveUserContext(frame) {
      const e = cpu.entry();
      cpu.storeRegisters(word(frame, G));
      if (e.kind === "syscall") {
        mem.write64(word(frame, RIP), cpu.reg(GPR.RCX));
        mem.write64(word(frame, RFLAGS), cpu.reg(GPR.R11));
      } else {
        mem.write64(word(frame, RIP), e.rip);
        mem.write64(word(frame, RFLAGS), e.rflags);
        mem.write64(word(frame, G + GPR.RSP), e.rsp);
      }
    },

    initUserFrame(frame, entry, sp) {
      mem.fill(frame, USER_FRAME_SIZE, 0);
      mem.write64(word(frame, RIP), entry);
      mem.write64(word(frame, RFLAGS), RFLAGS_USER);
      mem.write64(word(frame, G + GPR.RSP), sp);
    },

    syscallNumber: (frame) => Number(BigInt.asIntN(32, mem.read64(word(frame, G + GPR.RAX)))),
    syscallTable: X86_SYSCALL_TABLE,
    /** fork takes no arguments: it is clone(SIGCHLD, 0), so those are its arguments. */
    syscallArg: (frame, i) => {
      if (mem.read64(word(frame, G + GPR.RAX)) === BigInt(X86_SYS.fork)) return i === 0 ? SIGCHLD : 0n;
      return mem.read64(word(frame, G + [GPR.RDI, GPR.RSI, GPR.RDX, GPR.R10, GPR.R8, GPR.R9][i]!));
    },
    setSyscallReturn: (frame, v) => mem.write64(word(frame, G + GPR.RAX), BigInt.asUintN(64, v)),
    /** Nothing to do: SYSCALL saved the address of the next instruction in RCX. */
    advancePastSyscall: () => {},

    /** The IDT and the SYSCALL MSRs are set up by the boot code (their entries are native); nothing to install here. */
    installTrapVector() {},

    /** PCIDs are 12 bits (CR3[11:0]). @spec SDM Vol. 3A §4.10.1 */
    asidBits: () => 12,

    /** CR3 is read from the executing CPU (each CPU has its own; no copy is kept across CPUs). */
    switchAddressSpace(rootRegister) {
      if (cpu.readCr(3) === rootRegister) return;
      cpu.writeCr3(rootRegister | CR3_NOFLUSH);
    },

    returnToUser(frame) {
      cpu.loadRegisters(word(frame, G));
      cpu.iretToUser(mem.read64(word(frame, RIP)), mem.read64(word(frame, RFLAGS)) | RFLAGS_USER, mem.read64(word(frame, G + GPR.RSP)));
    },

    armTimer(ticks) {
      cpu.apicTimer(ticks, TIMER_VECTOR);
    },

    timebaseHz: tscHz,
    now: () => cpu.rdtsc(),
    /** RDTSC is allowed at CPL 3 unless CR4.TSD is set, which this kernel never sets. */
    allowUserTimeRead() {},

    idle(pc) {
      cpu.iretToKernel(pc);
    },

    /** A machine check between SYSCALL and its entry (CPL 0, the user's RSP; the #MC gate's IST stack took the frame). */
    returnToInterrupted() {
      cpu.iretToInterrupted();
    },

    consoleWrite(bytes) {
      for (const b of bytes) cpu.outb(COM1, b);
    },

    powerOff(exitCode) {
      cpu.outb(EXIT_PORT, exitCode & 0xff);
    },

    userAccess(va, access) {
      return cpu.translate(va, access === "write");
    },

    ...(mailbox === undefined ? {} : { smp: x86Smp(cpu, mem, mailbox) }),

    registers() {
      const e = cpu.entry();
      const names = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];
      const out: [string, bigint][] = [["cr2", cpu.readCr(2)], ["cr3", cpu.readCr(3)]];
      if (e.kind === "vector") out.push(["vector", BigInt(e.vector)], ["error", BigInt(e.errorCode)], ["rip", e.rip], ["rflags", e.rflags]);
      names.forEach((n, i) => out.push([n, cpu.reg(i)]));
      return out;
    },
  };
}
