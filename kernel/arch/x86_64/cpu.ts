/**
 * The x86_64 processor as kernel code sees it at CPL 0: general registers, control registers and
 * MSRs, the trap the processor has just delivered, the two ways back to user mode, TLB
 * maintenance, port I/O and address translation for user pointers. `boot/x86_64/` binds it to the
 * emulated CPU; the kernel never touches the emulator directly.
 */

/** General registers in encoding order (ModRM numbers). */
export const GPR = {
  RAX: 0, RCX: 1, RDX: 2, RBX: 3, RSP: 4, RBP: 5, RSI: 6, RDI: 7,
  R8: 8, R9: 9, R10: 10, R11: 11, R12: 12, R13: 13, R14: 14, R15: 15,
} as const;

/** Exception and interrupt vectors the kernel handles. @spec Intel SDM Vol. 3A §6.3.1 Table 6-1 */
export const VECTOR = { DE: 0, UD: 6, GP: 13, PF: 14, MC: 18 } as const;

/** #PF error-code bits. @spec SDM Vol. 3A §4.7 Figure 4-12 */
export const PF_ERR = { P: 1, W: 2, U: 4, RSVD: 8, ID: 16 } as const;

/** How the processor entered the kernel, and what it saved. */
export type X86Entry =
  /** SYSCALL: RCX holds the return RIP and R11 the RFLAGS; RSP is still the user's. */
  | { kind: "syscall" }
  /** An exception or interrupt through the IDT: the frame the processor pushed on the kernel stack. */
  | { kind: "vector"; vector: number; errorCode: number; rip: bigint; cs: number; rflags: bigint; rsp: bigint; ss: number };

/** What the kernel can do to the processor it runs on. */
export interface X86Cpu {
  reg(i: number): bigint;
  setReg(i: number, v: bigint): void;
  /** The entry the kernel is handling now (recorded by the native entry points). */
  entry(): X86Entry;
  readCr(n: 2 | 3 | 4): bigint;
  /** MOV to CR3 (bit 63 = keep the new PCID's TLB entries, with CR4.PCIDE). */
  writeCr3(v: bigint): void;
  rdmsr(msr: number): bigint;
  wrmsr(msr: number, v: bigint): void;
  /** Stores the 16 GPRs as 64-bit words at physical `pa + 8*i`, in encoding order. */
  storeRegisters(pa: number): void;
  loadRegisters(pa: number): void;
  /** Back to CPL 3 at `rip` with `rflags` and `rsp`: IRETQ over a frame on the kernel stack. */
  iretToUser(rip: bigint, rflags: bigint, rsp: bigint): void;
  /** Back to CPL 0 code at `rip` with interrupts enabled (the idle loop). */
  iretToKernel(rip: bigint): void;
  /** IRETQ over the frame the processor pushed for the entry being handled (back to what it interrupted). */
  iretToInterrupted(): void;
  invlpg(va: bigint): void;
  /** INVPCID type 0-3 with the descriptor (pcid, va). */
  invpcid(type: 0 | 1 | 2 | 3, pcid: number, va: bigint): void;
  outb(port: number, value: number): void;
  /** The PA a CPL 0 load (or store) of `va` reaches with RFLAGS.AC set (SMAP off for it), or undefined where it would fault. */
  translate(va: bigint, write: boolean): number | undefined;
  /** The local APIC timer: fire vector `vector` once after `ticks` (undefined: stop). */
  apicTimer(ticks: number | undefined, vector: number): void;
  /** A free-running 64-bit counter (RDTSC) and its frequency. */
  rdtsc(): bigint;
  /** A 32-bit load from the local APIC register at `reg` (offset in the APIC page): the executing CPU's own APIC. */
  lapicRead(reg: number): number;
  /** A 32-bit store to the local APIC register at `reg`. */
  lapicWrite(reg: number, value: number): void;
  /**
   * One PAUSE of a wait loop on memory another agent changes (Linux cpu_relax): the other CPUs
   * get the turns such a wait would give them, at least the firmware holding the application
   * processors, which looks at the wakeup mailbox.
   */
  relax(): void;
}
