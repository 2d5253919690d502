/**
 * x86_64 architectural constants: register numbers, RFLAGS/CR/EFER bits, MSR numbers, exception
 * vectors. CR0/CR4/EFER bits and the translate() access kinds live with the MMU (paging-defs.ts, mmu.ts).
 * @spec Intel SDM Vol. 1 §3.4.3 (EFLAGS), Vol. 3A §2.5 (control registers), §6.3.1 (vectors)
 */

/** General-purpose register numbers (ModRM/REX encoding order). */
export const RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7;
export const R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15;
/** Names for messages and traces, in encoding order. */
export const GPR_NAMES = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"] as const;

/** RFLAGS bits. @spec SDM Vol. 1 §3.4.3 */
export const RFLAGS = {
  CF: 1 << 0,
  /** Bit 1 reads as 1. */
  FIXED: 1 << 1,
  PF: 1 << 2,
  AF: 1 << 4,
  ZF: 1 << 6,
  SF: 1 << 7,
  TF: 1 << 8,
  IF: 1 << 9,
  DF: 1 << 10,
  OF: 1 << 11,
  IOPL: 3 << 12,
  NT: 1 << 14,
  RF: 1 << 16,
  VM: 1 << 17,
  AC: 1 << 18,
  VIF: 1 << 19,
  VIP: 1 << 20,
  ID: 1 << 21,
} as const;
/** The six arithmetic status flags. */
export const STATUS_FLAGS = RFLAGS.CF | RFLAGS.PF | RFLAGS.AF | RFLAGS.ZF | RFLAGS.SF | RFLAGS.OF;
/** Bits POPF/IRETQ may change at CPL 0 (VM, VIF, VIP are not implemented and stay 0). */
export const RFLAGS_WRITABLE = STATUS_FLAGS | RFLAGS.TF | RFLAGS.IF | RFLAGS.DF | RFLAGS.IOPL | RFLAGS.NT | RFLAGS.RF | RFLAGS.AC | RFLAGS.ID;

/** MSR numbers. @spec SDM Vol. 4 (model-specific registers), ARCH-SPEC §2.1 */
export const MSR = {
  APIC_BASE: 0x1b,
  TSC: 0x10,
  PAT: 0x277,
  EFER: 0xc0000080,
  STAR: 0xc0000081,
  LSTAR: 0xc0000082,
  CSTAR: 0xc0000083,
  FMASK: 0xc0000084,
  FS_BASE: 0xc0000100,
  GS_BASE: 0xc0000101,
  KERNEL_GS_BASE: 0xc0000102,
  TSC_AUX: 0xc0000103,
} as const;

/** Exception vectors. @spec SDM Vol. 3A Table 6-1 */
export const VEC = {
  DE: 0, DB: 1, NMI: 2, BP: 3, OF: 4, BR: 5, UD: 6, NM: 7, DF: 8, TS: 10, NP: 11, SS: 12, GP: 13, PF: 14, MF: 16, AC: 17, MC: 18, XM: 19,
} as const;
/** Vectors whose delivery pushes an error code (#DF, #TS, #NP, #SS, #GP, #PF, #AC). */
export const HAS_ERROR_CODE = new Set<number>([8, 10, 11, 12, 13, 14, 17]);
/** Short names of the exception vectors, for messages and traces. */
export const VECTOR_NAMES: Record<number, string> = {
  0: "#DE", 1: "#DB", 2: "NMI", 3: "#BP", 4: "#OF", 5: "#BR", 6: "#UD", 7: "#NM", 8: "#DF", 10: "#TS", 11: "#NP",
  12: "#SS", 13: "#GP", 14: "#PF", 16: "#MF", 17: "#AC", 18: "#MC", 19: "#XM",
};

/** Segment register numbers (the Sreg field of MOV Sreg). */
export const ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;

/** Condition codes (the low nibble of Jcc/SETcc/CMOVcc). @spec SDM Vol. 1 Appendix B */
export const CC_NAMES = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"] as const;
