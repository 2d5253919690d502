/**
 * The RISC-V hart as kernel code sees it: its registers and CSRs, the instructions a kernel issues
 * (sret, sfence.vma, ecall to the SBI firmware). `boot/` binds this to the emulated hart; the kernel
 * never touches the emulator directly.
 */

/** S-mode CSR numbers. @spec RV-S §"Supervisor CSRs" */
export const SCSR = {
  sstatus: 0x100, sie: 0x104, stvec: 0x105, scounteren: 0x106, sscratch: 0x140,
  sepc: 0x141, scause: 0x142, stval: 0x143, sip: 0x144, satp: 0x180, time: 0xc01,
} as const;

/** sstatus and sie bits. */
export const SSTATUS = { SIE: 1n << 1n, SPIE: 1n << 5n, SPP: 1n << 8n, SUM: 1n << 18n, MXR: 1n << 19n } as const;
export const SIE_STIE = 1n << 5n;
/** sie.SSIE / sip.SSIP: supervisor software interrupts (inter-processor interrupts from SBI send_ipi). */
export const SIE_SSIE = 1n << 1n, SIP_SSIP = 1n << 1n;
/** sie.SEIE: supervisor external interrupts (this platform's memory-error notification). */
export const SIE_SEIE = 1n << 9n;

/** scause exception codes the kernel handles. @spec RV-S table "scauses" */
export const SCAUSE = {
  INSN_MISALIGNED: 0, INSN_ACCESS: 1, ILLEGAL: 2, BREAKPOINT: 3, LOAD_MISALIGNED: 4, LOAD_ACCESS: 5,
  STORE_MISALIGNED: 6, STORE_ACCESS: 7, ECALL_U: 8, INSN_PAGE: 12, LOAD_PAGE: 13, STORE_PAGE: 15,
  /** Interrupt codes (scause with the Interrupt bit set). */
  IRQ_SSOFT: 1,
  IRQ_STIMER: 5,
  IRQ_SEXTERNAL: 9,
} as const;

/** The result of an SBI call: a0 (error) and a1 (value). */
export interface SbiResult {
  error: bigint;
  value: bigint;
}

/** What the kernel can do to the hart it runs on. */
export interface RiscvCpu {
  /** x register i (x0 reads 0). */
  reg(i: number): bigint;
  setReg(i: number, v: bigint): void;
  csr(n: number): bigint;
  setCsr(n: number, v: bigint): void;
  /**
   * Reads CSR `n` as {@link csr} does, without a bigint: returns its low 32 bits (unsigned); the
   * high 32 bits are then {@link lastCsrHigh}. For trap paths.
   */
  csrLo(n: number): number;
  /** The high 32 bits (unsigned) of the CSR value last read by {@link csrLo}. */
  lastCsrHigh(): number;
  /** Writes CSR `n` as {@link setCsr} does, from its low and high 32 bits. */
  setCsrHalves(n: number, lo: number, hi: number): void;
  /** Stores x1..x31 as 64-bit words at physical `pa + 8*i` (what trap-entry code's `sd` sequence does). */
  storeRegisters(pa: number): void;
  /** Loads x1..x31 from physical `pa + 8*i`. */
  loadRegisters(pa: number): void;
  /** SRET: return to the privilege in sstatus.SPP at sepc. */
  sret(): void;
  /** SFENCE.VMA; undefined stands for x0 (all addresses / all address spaces). */
  sfenceVma(va: bigint | undefined, asid: number | undefined): void;
  /** SFENCE.VMA rs1 = `va` (a VA below 2^53, as a number), rs2 = `asid`: one page of one address space. */
  sfenceVmaPage(va: number, asid: number): void;
  /**
   * Translates `va` as an S-mode load (or store) would with the current SUM: the physical address,
   * or undefined where the access would raise a page or access fault.
   */
  translate(va: bigint, write: boolean): number | undefined;
  /** ECALL to the SBI firmware: a7 = eid, a6 = fid, a0.. = args. */
  sbi(eid: number, fid: number, args: readonly bigint[]): SbiResult;
}
