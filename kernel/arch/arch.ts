/**
 * What the architecture-neutral kernel needs from an architecture layer: trap decoding, the user
 * register frame and the system-call ABI, address-space switching, the timer, the console and
 * power-off. Each architecture implements it in kernel/arch/<arch>/ over its own hardware interface.
 */
import type { ArchPaging } from "../mm/vm/arch.js";
import type { RemoteTlb } from "../mm/shootdown.js";

/** Neutral description of the trap being handled. */
export interface TrapInfo {
  /**
   * "memory-error": the platform reports memory errors (Hal.takeMemoryErrors has them).
   * "ipi": another CPU interrupted this one (KernelSmp.sendIpi).
   */
  kind: "syscall" | "page-fault" | "timer" | "memory-error" | "ipi" | "exception";
  /** The trap came from user mode. */
  fromUser: boolean;
  /** The interrupted (or faulting) instruction. */
  pc: bigint;
  /** The faulting address (page faults, access faults, misaligned accesses), else 0. */
  faultAddr: bigint;
  access: "read" | "write" | "execute";
  /** The architecture's own code and name for the cause ("store/AMO page fault", scause 15). */
  cause: number;
  name: string;
  /** An instruction the processor refuses (RISC-V illegal instruction, Arm EC 0, x86 #UD): a fatal one kills with SIGILL. */
  illegal?: boolean;
}

/**
 * A page fault taken from user mode, decoded without bigints (see {@link KernelArch.userPageFault}).
 * `va` is exact below 2^53; a larger address (the kernel half) comes out as some number ≥ 2^53.
 */
export interface UserPageFault {
  va: number;
  access: "read" | "write" | "execute";
}

/**
 * Size in bytes of a saved user register frame: room for every architecture's (riscv64: pc and
 * x1..x31, 32 words; arm64: pc, SPSR, x0..x30 and SP_EL0, 34 words).
 */
export const USER_FRAME_SIZE = 512;

/**
 * What the kernel needs to run on several CPUs. CPUs are named two ways: the kernel's index
 * (0 = the boot CPU, in boot-info order) and the hardware id the platform uses (RISC-V hart id,
 * MPIDR affinity, APIC id).
 */
export interface KernelSmp {
  /** The kernel's index of the CPU now running the kernel, from the per-CPU register it set at bring-up. */
  cpuIndex(): number;
  /** Records `index` in this CPU's per-CPU register (riscv64: sscratch). */
  setCpuIndex(index: number): void;
  /**
   * Starts the stopped CPU `hwId` at the physical address `entryPa` (translation off, kernel mode)
   * with `opaque` as its argument (riscv64: SBI HSM hart_start, a1 = opaque). False when refused.
   */
  startCpu(hwId: number, entryPa: number, opaque: number): boolean;
  /** Enables the inter-processor interrupt on this CPU. */
  enableIpi(): void;
  /** Sends an inter-processor interrupt to each CPU in `hwIds` (riscv64: SBI send_ipi). */
  sendIpi(hwIds: readonly number[]): void;
  /** Acknowledges the inter-processor interrupt now being handled. */
  ackIpi(): void;
  /** How TLB invalidations reach the other CPUs (kernel/mm/shootdown.ts RemoteTlb). */
  readonly remoteTlb: RemoteTlb;
}

/** The architecture layer of the kernel. */
export interface KernelArch {
  /** Multi-processor operations; absent where the layer supports one CPU only. */
  readonly smp?: KernelSmp;
  readonly name: string;
  /** ELF e_machine of this architecture's programs. */
  readonly elfMachine: number;
  readonly paging: ArchPaging;
  /** Base of the direct map of physical memory in the kernel half. */
  readonly physicalOffset: bigint;
  /** First address above user space. */
  readonly userTop: bigint;
  /** Decodes the trap now being handled (call first in the trap handler). */
  trapInfo(): TrapInfo;
  /**
   * Optional fast decode for the trap path: when the trap now being handled is a page fault taken
   * from user mode, its address and access in a record reused by every call (valid until the next);
   * undefined for any other trap (then use {@link trapInfo}).
   */
  userPageFault?(): UserPageFault | undefined;
  /** Copies the interrupted user registers and pc into the frame at physical address `frame`. */
  saveUserContext(frame: number): void;
  /** Starts a fresh user context in `frame`: pc = entry, stack pointer = sp, all else 0. */
  initUserFrame(frame: number, entry: bigint, sp: bigint): void;
  /** System-call ABI over a saved frame. */
  syscallNumber(frame: number): number;
  /**
   * This architecture's system-call numbers translated to the generic ones the kernel dispatches
   * on (kernel/proc/syscalls.ts SYS); absent where they are the generic ones (riscv64, arm64). A
   * number missing from the table is unknown (-ENOSYS).
   */
  readonly syscallTable?: ReadonlyMap<number, number>;
  syscallArg(frame: number, i: number): bigint;
  setSyscallReturn(frame: number, v: bigint): void;
  /** Moves the saved pc past the system-call instruction. */
  advancePastSyscall(frame: number): void;
  /** Installs the trap vector (a kernel virtual address). */
  installTrapVector(va: bigint): void;
  /** Implemented ASID bits (probed from the hardware, as Linux does: write all ones, read back). */
  asidBits(): number;
  /** Makes `rootRegister` (from AddressSpace.rootRegister()) the current address space. */
  switchAddressSpace(rootRegister: bigint): void;
  /**
   * Installs the kernel's own address space (its rootRegister()) and turns translation on, where
   * the kernel half has a root register of its own (arm64: TTBR1_EL1). Without it, initMemory makes
   * the kernel space current with {@link switchAddressSpace}.
   */
  installKernelSpace?(rootRegister: bigint): void;
  /**
   * Whether every user root table must carry the kernel half (default true: riscv64, x86_64 copy
   * the kernel's top-level entries into each user root). False where the kernel half is translated
   * from a table of its own (arm64 TTBR1_EL1).
   */
  readonly kernelHalfInUserTables?: boolean;
  /** Restores the frame's registers and returns to user mode there (the handler's last act). */
  returnToUser(frame: number): void;
  /**
   * Optional: returns from the user page fault now being handled straight to the faulting
   * instruction, with the registers as the trap left them (the handler's last act). The kernel's
   * demand-zero fast path uses it instead of saveUserContext + returnToUser, since it touches no
   * user register: the frame in RAM then still holds the registers of the last full save.
   */
  resumeAfterFault?(): void;
  /** Requests a timer interrupt `ticks` from now; `undefined` cancels. */
  armTimer(ticks: number | undefined): void;
  /** Ticks per second of {@link now} and {@link armTimer} (the platform's timebase). */
  readonly timebaseHz: number;
  /** The current time in ticks (a free-running 64-bit counter). */
  now(): bigint;
  /** Lets user mode read the time counter (RISC-V `rdtime`), as Linux allows. */
  allowUserTimeRead(): void;
  /**
   * Leaves the trap handler for the kernel's idle loop at `pc` (kernel text that waits for an
   * interrupt, e.g. `wfi; j .-4`), in kernel mode with interrupts enabled; the next interrupt
   * enters the trap vector again, from the kernel. The handler's last act, like returnToUser.
   */
  idle(pc: bigint): void;
  /**
   * Leaves the trap handler for the kernel context the trap interrupted, as it was (x86_64: IRETQ
   * over the frame the processor pushed). Needed where a trap the kernel cannot mask can arrive
   * between a system-call instruction and its entry point (x86_64's #MC right after SYSCALL);
   * absent where that cannot happen.
   */
  returnToInterrupted?(): void;
  /** Writes bytes to the console (through the firmware). */
  consoleWrite(bytes: Uint8Array): void;
  /** Powers off with an exit status. */
  powerOff(exitCode: number): void;
  /**
   * The physical address a supervisor access to user address `va` reaches in the current address
   * space, with user access permitted (SUM / PAN off / SMAP with AC), through the MMU and its TLB;
   * undefined where the access would fault.
   */
  userAccess(va: bigint, access: "read" | "write"): number | undefined;
  /** Registers for an oops report: name and value. */
  registers(): [string, bigint][];
}
