/**
 * IA-32e paging as data: control-register and EFER bits the MMU uses, paging-entry bits, the
 * #PF error-code bits, and the two paging modes as rows that drive one walk loop.
 *
 * Bit positions are within a 32-bit half: every register and entry here travels as int32 halves
 * (lo = bits 31:0, hi = bits 63:32) on the hot path; `..._HI` names a bit of the high half.
 * @spec Intel SDM Vol. 3A §2.5 (CR0, CR4), §2.2.1 (EFER), §4.5 (IA-32e paging entries), §4.7
 * (page-fault error code); digested in ARCH-SPEC §2.1, §2.3, §2.7.
 */

/** CR0 bits. @spec SDM Vol. 3A §2.5; ARCH-SPEC §2.1 */
export const CR0 = {
  /** Protection enable. */
  PE: 1 << 0,
  /** Write protect: supervisor writes honour R/W=0. */
  WP: 1 << 16,
  /** Not write-through (with CD=0 it is an invalid combination, #GP). */
  NW: 1 << 29,
  /** Cache disable. */
  CD: 1 << 30,
  /** Paging (IA-32e paging when EFER.LME=1). */
  PG: 1 << 31,
} as const;

/** CR4 bits. @spec SDM Vol. 3A §2.5; ARCH-SPEC §2.1 */
export const CR4 = {
  VME: 1 << 0,
  PVI: 1 << 1,
  TSD: 1 << 2,
  DE: 1 << 3,
  /** Page-size extensions: ignored when PAE=1 (large pages always exist in IA-32e paging). */
  PSE: 1 << 4,
  /** Physical-address extension: required for IA-32e paging. */
  PAE: 1 << 5,
  MCE: 1 << 6,
  /** Global pages: leaf G=1 makes a TLB entry match every PCID. */
  PGE: 1 << 7,
  PCE: 1 << 8,
  OSFXSR: 1 << 9,
  OSXMMEXCPT: 1 << 10,
  UMIP: 1 << 11,
  /** 57-bit linear addresses, 5-level paging. */
  LA57: 1 << 12,
  FSGSBASE: 1 << 16,
  /** Process-context identifiers: CR3[11:0] tags TLB entries. */
  PCIDE: 1 << 17,
  OSXSAVE: 1 << 18,
  /** Supervisor-mode execution prevention. */
  SMEP: 1 << 20,
  /** Supervisor-mode access prevention. */
  SMAP: 1 << 21,
  /** Protection keys for user pages (not implemented: reserved here). */
  PKE: 1 << 22,
} as const;

/** IA32_EFER (MSR 0xC0000080) bits. @spec SDM Vol. 3A §2.2.1; ARCH-SPEC §2.1 */
export const EFER = {
  /** SYSCALL enable. */
  SCE: 1 << 0,
  /** Long mode enable. */
  LME: 1 << 8,
  /** Long mode active: read-only, = LME and CR0.PG. */
  LMA: 1 << 10,
  /** Execute-disable enable: XD (bit 63) in paging entries is honoured, otherwise reserved. */
  NXE: 1 << 11,
} as const;

/** The IA32_EFER MSR number. */
export const MSR_EFER = 0xc0000080;

/** Bits of a paging-structure entry (low half unless named `_HI`). @spec SDM Vol. 3A §4.5 Tables 4-15..4-20 */
export const PTE = {
  /** Present. */
  P: 1 << 0,
  /** Read/write: 0 = writes not allowed (combined across levels by AND). */
  RW: 1 << 1,
  /** User/supervisor: 0 = supervisor-mode address (combined by AND). */
  US: 1 << 2,
  /** Page-level write-through. */
  PWT: 1 << 3,
  /** Page-level cache disable. */
  PCD: 1 << 4,
  /** Accessed: set by the walk in every entry used. */
  A: 1 << 5,
  /** Dirty: set in the leaf on a write; ignored in non-leaf entries. */
  D: 1 << 6,
  /** Page size in a PDPTE/PDE (1 GiB / 2 MiB leaf); reserved in a PML4E/PML5E; PAT in a PTE. */
  PS: 1 << 7,
  /** PAT in a 4 KiB PTE (the same bit as PS). */
  PAT_4K: 1 << 7,
  /** Global (leaf only; honoured with CR4.PGE=1). */
  G: 1 << 8,
  /** PAT in a 2 MiB / 1 GiB leaf. */
  PAT_LARGE: 1 << 12,
  /** Execute-disable, bit 63 (bit 31 of the high half): honoured with EFER.NXE=1, else reserved. */
  XD_HI: 1 << 31,
} as const;

/** #PF error-code bits. @spec SDM Vol. 3A §4.7; ARCH-SPEC §2.7 */
export const PF = {
  /** 0: a not-present entry; 1: a protection or reserved-bit violation. */
  P: 1 << 0,
  /** The access was a write. */
  WR: 1 << 1,
  /** The access was a user-mode access (CPL=3, explicit). */
  US: 1 << 2,
  /** A reserved bit was set in a present entry. */
  RSVD: 1 << 3,
  /** Instruction fetch, reported only when CR4.SMEP=1 or EFER.NXE=1. */
  ID: 1 << 4,
  /** Protection-key violation: never set here (no PKU). */
  PK: 1 << 5,
} as const;

/** Exception vectors the MMU raises. */
export const VECTOR_GP = 13;
export const VECTOR_PF = 14;

/**
 * A paging mode as data: one walk loop serves both. Levels are numbered from the leaf: 0 = PT,
 * 1 = PD, 2 = PDPT, 3 = PML4, 4 = PML5.
 * @spec SDM Vol. 3A §4.5 (4-level and 5-level paging); ARCH-SPEC §2.2
 */
export interface X86PagingMode {
  readonly name: string;
  /** Number of levels walked. */
  readonly levels: number;
  /** Linear-address width: bits 63:vaBits-1 must all equal (canonical). */
  readonly vaBits: number;
  /** Bit set of the levels at which PS=1 makes a leaf (1 GiB in the PDPT, 2 MiB in the PD); at the others PS is reserved (PML4E, PML5E) or PAT (PTE). */
  readonly psLeafLevels: number;
}
/** 4-level paging (CR4.LA57=0): 48-bit linear addresses. */
export const X86_4LEVEL: X86PagingMode = { name: "4-level", levels: 4, vaBits: 48, psLeafLevels: 0b110 };
/** 5-level paging (CR4.LA57=1): 57-bit linear addresses. */
export const X86_5LEVEL: X86PagingMode = { name: "5-level", levels: 5, vaBits: 57, psLeafLevels: 0b110 };

/** Page sizes this MMU maps, smallest first (4 KiB, 2 MiB, 1 GiB): the TlbSet's pageShifts. */
export const x86PageShifts: readonly number[] = [12, 21, 30];

/** Names of the levels, leaf first, for messages and traces. */
export const LEVEL_NAME: readonly string[] = ["PTE", "PDE", "PDPTE", "PML4E", "PML5E"];

/**
 * MAXPHYADDR used when none is configured: 40 bits, what QEMU's TCG reports for its qemu64 CPU
 * (CPUID 80000008h EAX[7:0] = 40). Bits 51:MAXPHYADDR of every paging entry and of CR3 are reserved.
 */
export const DEFAULT_MAXPHYADDR = 40;

/**
 * Bits of the TLB entry's `perm` word (this MMU's own format, documented in docs/x86_64-mmu.md):
 * the rights combined across levels, the leaf's attributes, and G.
 */
export const TLB_PERM = {
  /** R/W=1 in every entry used. */
  RW: 1 << 1,
  /** U/S=1 in every entry used (a user-mode address). */
  US: 1 << 2,
  /** The leaf's PWT. */
  PWT: 1 << 3,
  /** The leaf's PCD. */
  PCD: 1 << 4,
  /** The leaf's A (always 1: entries are made only after A is set). */
  A: 1 << 5,
  /** The leaf's D. */
  D: 1 << 6,
  /** The leaf's PAT bit (bit 7 of a PTE, bit 12 of a large leaf). */
  PAT: 1 << 7,
  /** The leaf's G (the entry is global only if CR4.PGE was 1 at fill time). */
  G: 1 << 8,
  /** Execute-disabled: EFER.NXE=1 and XD=1 in some entry used. */
  XD: 1 << 9,
} as const;

/**
 * CPUID bits for what this MMU implements, for the CPU's CPUID to report (it ORs them into its own
 * values). Bit positions as in the SDM's CPUID tables (checked against kvm-unit-tests
 * lib/x86/processor.h).
 */
export const MMU_CPUID = {
  /** Leaf 1 EDX: PSE (3), PAE (6), PGE (13), PAT (16: the bits are recorded; memory types are not modelled). */
  leaf1Edx: (1 << 3) | (1 << 6) | (1 << 13) | (1 << 16),
  /** Leaf 1 ECX: PCID (17). */
  leaf1Ecx: 1 << 17,
  /** Leaf 7 subleaf 0 EBX: SMEP (7), INVPCID (10), SMAP (20). */
  leaf7Ebx: (1 << 7) | (1 << 10) | (1 << 20),
  /** Leaf 7 subleaf 0 ECX: LA57 (16), only when the MMU was built with `la57`. */
  leaf7EcxLa57: 1 << 16,
  /** Leaf 80000001h EDX: NX (20), 1-GByte pages (26), LM (29). */
  ext1Edx: (1 << 20) | (1 << 26) | (1 << 29),
} as const;

/** CPUID leaf 80000008h EAX: MAXPHYADDR in bits 7:0, linear-address width (48, or 57 with LA57) in bits 15:8. */
export function addressSizesEax(maxPhysAddr: number, la57: boolean): number {
  return maxPhysAddr | ((la57 ? 57 : 48) << 8);
}
