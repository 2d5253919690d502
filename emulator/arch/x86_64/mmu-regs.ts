/**
 * The checks a CPU makes before MOV to CR0/CR3/CR4 and WRMSR to IA32_EFER reach the MMU: each
 * function answers "does this write raise #GP(0)?" for a write made in 64-bit mode at CPL 0 (the
 * CPU checks CPL itself). They read the MMU's current registers and change nothing.
 *
 * Values travel as int32 halves (lo = bits 31:0, hi = bits 63:32), as in {@link X86Mmu}.
 * @spec Intel SDM Vol. 2A "MOV—Move to/from Control Registers" (64-bit mode exceptions), Vol. 3A
 * §2.5 (reserved bits), §4.1.2 (paging-mode transitions), §4.10.1 (PCIDE), Vol. 4 (IA32_EFER);
 * ARCH-SPEC §2.1.
 */
import type { X86Mmu } from "./mmu.js";
import { CR0, CR4, EFER } from "./paging-defs.js";

/**
 * CR4 bits this machine lets software set (LA57 is added when the CPU supports it): the bits the MMU
 * implements (PAE, PGE, PCIDE, SMEP, SMAP; PSE is accepted and ignored under PAE) and the ones a
 * long-mode kernel commonly sets whose features the CPU either has or ignores harmlessly (DE, MCE,
 * PCE, OSFXSR, OSXMMEXCPT, FSGSBASE, OSXSAVE, TSD). PKE, VMXE, SMXE, UMIP, CET and the rest are
 * reserved (#GP). A CPU that reports a different CPUID passes its own mask.
 */
export const CR4_SUPPORTED =
  CR4.TSD | CR4.DE | CR4.PSE | CR4.PAE | CR4.MCE | CR4.PGE | CR4.PCE | CR4.OSFXSR | CR4.OSXMMEXCPT |
  CR4.FSGSBASE | CR4.PCIDE | CR4.OSXSAVE | CR4.SMEP | CR4.SMAP;

/** IA32_EFER bits software may write (LMA is read-only: a written value is ignored). */
export const EFER_SUPPORTED = EFER.SCE | EFER.LME | EFER.LMA | EFER.NXE;

/** CR0 bits 31:0 that exist (PE MP EM TS ET NE WP AM NW CD PG); the others are reserved. @spec SDM Vol. 3A §2.5 Figure 2-7 */
const CR0_DEFINED = 0xe005003f | 0;

/**
 * MOV to CR0 faults (#GP(0)) when: bits 63:32 or another reserved bit are set; PG=1 with PE=0;
 * NW=1 with CD=0; PG changes from 1 to 0 while in IA-32e mode (this machine runs 64-bit code only,
 * where clearing PG is #GP); or PG is set while EFER.LME=0 or CR4.PAE=0 (32-bit and PAE paging are
 * not modelled: this machine is long mode only; real hardware would enter legacy paging for LME=0).
 */
export function cr0WriteFaults(mmu: X86Mmu, lo: number, hi: number): boolean {
  if (hi !== 0 || (lo & ~CR0_DEFINED) !== 0) return true;
  if ((lo & CR0.PG) !== 0 && (lo & CR0.PE) === 0) return true;
  if ((lo & CR0.NW) !== 0 && (lo & CR0.CD) === 0) return true;
  const pgWas = (mmu.cr0Lo & CR0.PG) !== 0, pg = (lo & CR0.PG) !== 0;
  if (pgWas && !pg && (mmu.eferLo & EFER.LMA) !== 0) return true;
  if (!pgWas && pg && ((mmu.eferLo & EFER.LME) === 0 || (mmu.cr4Lo & CR4.PAE) === 0)) return true;
  return false;
}

/**
 * MOV to CR3 faults when a reserved bit of the stored value is set: bits 63:MAXPHYADDR, except bit
 * 63 of the source with CR4.PCIDE=1 (the no-flush hint, never stored). Only the source's high half
 * `hi` matters (bits 11:0 are the PCID or PWT/PCD, and the rest of the low half is address).
 * @spec SDM Vol. 2A MOV CR ("write a 1 to any reserved bit in CR3"); Vol. 3A §4.5 Table 4-12
 */
export function cr3WriteFaults(mmu: X86Mmu, hi: number): boolean {
  const stored = mmu.pcidEnabled ? hi & 0x7fffffff : hi;
  const allowedHi = (1 << (mmu.maxPhysAddr - 32)) - 1;
  return (stored & ~allowedHi) !== 0;
}

/**
 * MOV to CR4 faults when: bits 63:32 are set; a bit outside `supported` is set (default
 * {@link CR4_SUPPORTED}, plus LA57 if the MMU was built with `la57`); PAE is cleared in IA-32e
 * mode; LA57 changes in IA-32e mode; PCIDE goes 0->1 while CR3[11:0] != 0 or EFER.LMA=0.
 * @spec SDM Vol. 2A MOV CR (64-bit mode exceptions); Vol. 3A §4.1.2, §4.10.1
 */
export function cr4WriteFaults(mmu: X86Mmu, lo: number, hi: number, supported = CR4_SUPPORTED | (mmu.la57Supported ? CR4.LA57 : 0)): boolean {
  if (hi !== 0 || (lo & ~supported) !== 0) return true;
  const lma = (mmu.eferLo & EFER.LMA) !== 0;
  const old = mmu.cr4Lo;
  if (lma && (lo & CR4.PAE) === 0) return true;
  if (lma && ((old ^ lo) & CR4.LA57) !== 0) return true;
  if ((old & CR4.PCIDE) === 0 && (lo & CR4.PCIDE) !== 0 && ((mmu.cr3Lo & 0xfff) !== 0 || !lma)) return true;
  return false;
}

/**
 * WRMSR to IA32_EFER faults when: a bit outside `supported` is set (default {@link EFER_SUPPORTED});
 * or LME changes while CR0.PG=1.
 * @spec SDM Vol. 3A §4.1.2 ("IA32_EFER.LME cannot be modified while paging is enabled")
 */
export function eferWriteFaults(mmu: X86Mmu, lo: number, hi: number, supported = EFER_SUPPORTED): boolean {
  if (hi !== 0 || (lo & ~supported) !== 0) return true;
  return (mmu.cr0Lo & CR0.PG) !== 0 && ((mmu.eferLo ^ lo) & EFER.LME) !== 0;
}
