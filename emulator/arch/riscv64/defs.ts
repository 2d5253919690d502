/**
 * RISC-V privileged-architecture constants, named after the manual.
 * @spec RV-M "Machine-Level ISA, Version 1.13" (riscv-isa-manual src/priv/machine.adoc)
 * @spec RV-S "Supervisor-Level ISA, Version 1.13" (riscv-isa-manual src/priv/supervisor.adoc)
 */

/** Privilege levels (the encoding of mstatus.MPP). */
export const PRV_U = 0;
export const PRV_S = 1;
export const PRV_M = 3;

/** Names of privilege levels for traces and messages. */
export const PRV_NAME: Record<number, string> = { 0: "U", 1: "S", 3: "M" };

/** Synchronous exception codes (mcause/scause with the Interrupt bit clear). @spec RV-S table "scauses" */
export const CAUSE = {
  INSN_MISALIGNED: 0,
  INSN_ACCESS: 1,
  ILLEGAL: 2,
  BREAKPOINT: 3,
  LOAD_MISALIGNED: 4,
  LOAD_ACCESS: 5,
  STORE_MISALIGNED: 6,
  STORE_ACCESS: 7,
  ECALL_U: 8,
  ECALL_S: 9,
  ECALL_M: 11,
  INSN_PAGE: 12,
  LOAD_PAGE: 13,
  STORE_PAGE: 15,
} as const;

/** Interrupt codes (mcause with the Interrupt bit set; also the bit numbers of mip/mie). */
export const IRQ = { SSI: 1, MSI: 3, STI: 5, MTI: 7, SEI: 9, MEI: 11 } as const;

/** Interrupt priority, highest first. @spec RV-M §"Machine Interrupt Registers": MEI, MSI, MTI, SEI, SSI, STI */
export const IRQ_PRIORITY = [IRQ.MEI, IRQ.MSI, IRQ.MTI, IRQ.SEI, IRQ.SSI, IRQ.STI] as const;

/** mstatus bits (all supported fields lie in the low word). @spec RV-M mstatus figure */
export const MSTATUS = {
  /** S-mode interrupt enable. */
  SIE: 1 << 1,
  /** M-mode interrupt enable. */
  MIE: 1 << 3,
  /** SIE before the last trap into S. */
  SPIE: 1 << 5,
  /** MIE before the last trap into M. */
  MPIE: 1 << 7,
  /** Privilege before the last trap into S (0 = U, 1 = S). */
  SPP: 1 << 8,
  /** Privilege before the last trap into M, bits 12:11. */
  MPP_SHIFT: 11,
  MPP: 3 << 11,
  /** M-mode loads and stores are translated and checked as if at privilege MPP. */
  MPRV: 1 << 17,
  /** S-mode loads and stores may touch U pages. */
  SUM: 1 << 18,
  /** Loads from execute-only pages succeed. */
  MXR: 1 << 19,
  /** satp access and SFENCE.VMA are illegal in S-mode. */
  TVM: 1 << 20,
  /** WFI is illegal in S-mode (we trap immediately). */
  TW: 1 << 21,
  /** SRET is illegal in S-mode. */
  TSR: 1 << 22,
} as const;

/** The writable mstatus bits of this hart. */
export const MSTATUS_WRITABLE =
  MSTATUS.SIE | MSTATUS.MIE | MSTATUS.SPIE | MSTATUS.MPIE | MSTATUS.SPP | MSTATUS.MPP |
  MSTATUS.MPRV | MSTATUS.SUM | MSTATUS.MXR | MSTATUS.TVM | MSTATUS.TW | MSTATUS.TSR;

/** The sstatus view of mstatus. @spec RV-S sstatus figure */
export const SSTATUS_MASK = MSTATUS.SIE | MSTATUS.SPIE | MSTATUS.SPP | MSTATUS.SUM | MSTATUS.MXR;

/** mstatus[63:32] as read: UXL = SXL = 2 (64-bit), read-only. */
export const MSTATUS_HI = 0xa;
/** sstatus[63:32] as read: UXL = 2. */
export const SSTATUS_HI = 0x2;

/** menvcfg bits. @spec RV-M menvcfg figure */
export const MENVCFG = {
  FIOM: 1,
  /** Svadu: hardware updates of PTE A/D bits enabled (bit 61, i.e. bit 29 of the high word). */
  ADUE_HI: 1 << 29,
} as const;

/** CSR numbers used by the hart. @spec RV-M/RV-S CSR listing tables */
export const CSR = {
  sstatus: 0x100, sie: 0x104, stvec: 0x105, scounteren: 0x106, senvcfg: 0x10a,
  sscratch: 0x140, sepc: 0x141, scause: 0x142, stval: 0x143, sip: 0x144, satp: 0x180,
  mstatus: 0x300, misa: 0x301, medeleg: 0x302, mideleg: 0x303, mie: 0x304, mtvec: 0x305,
  mcounteren: 0x306, menvcfg: 0x30a, mcountinhibit: 0x320,
  mscratch: 0x340, mepc: 0x341, mcause: 0x342, mtval: 0x343, mip: 0x344,
  pmpcfg0: 0x3a0, pmpaddr0: 0x3b0,
  mcycle: 0xb00, minstret: 0xb02,
  cycle: 0xc00, time: 0xc01, instret: 0xc02,
  mvendorid: 0xf11, marchid: 0xf12, mimpid: 0xf13, mhartid: 0xf14, mconfigptr: 0xf15,
} as const;

/** misa: MXL = 2 (RV64) and the extensions A, C, I, M, S, U. */
export const MISA_LO = (1 << 0) | (1 << 2) | (1 << 8) | (1 << 12) | (1 << 18) | (1 << 20);
export const MISA_HI = 2 << 30;

/** medeleg bits that can be set: every exception below 16 except ecall-from-M (11) and the reserved 10, 14. */
export const MEDELEG_WRITABLE = 0xb3ff;
/** mideleg bits that can be set: the supervisor interrupts SSI, STI, SEI. */
export const MIDELEG_WRITABLE = (1 << IRQ.SSI) | (1 << IRQ.STI) | (1 << IRQ.SEI);
/** mie bits that exist. */
export const MIE_WRITABLE = 0xaaa;
/** mip bits M-mode software may write (the rest come from devices). */
export const MIP_WRITABLE = (1 << IRQ.SSI) | (1 << IRQ.STI) | (1 << IRQ.SEI);

/** satp fields and modes. @spec RV-S §satp */
export const SATP_MODE_BARE = 0;
export const SATP_MODE_SV39 = 8;
export const SATP_MODE_SV48 = 9;

/** PTE bits (the low byte). @spec RV-S §"Sv39" PTE figure */
export const PTE = { V: 1, R: 2, W: 4, X: 8, U: 16, G: 32, A: 64, D: 128 } as const;
