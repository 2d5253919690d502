/**
 * A page fault as the architecture-neutral fault handler sees it: the faulting address, the
 * instruction pointer, and a {@link PageFaultError} with the seed's predicates. Each architecture's
 * trap layer builds these from its own registers:
 * - x86_64: CR2 and the error code (P, W/R, U/S, RSVD, I/D) carry everything, presence included.
 * - Arm64: FAR_EL1 and ESR_EL1 (the DFSC/IFSC fault status says translation vs permission fault).
 * - RISC-V: stval and scause (12 instruction, 13 load, 15 store/AMO page fault) give the access
 *   only; scause does not say whether the PTE was valid, nor which mode faulted (that is
 *   sstatus.SPP). So the RISC-V layer leaves `present` undefined, and the handler never trusts
 *   {@link PageFaultError.notPresent}: it walks the page table to decide (see fault.ts).
 */

/** The access that faulted. A RISC-V AMO is a store ("write"). */
export type FaultAccess = "read" | "write" | "execute";

/** What a trap layer knows about a page fault. */
export interface PageFaultErrorInit {
  readonly access: FaultAccess;
  /** The access was made in user mode (U-mode / EL0 / CPL 3). False for the kernel copying syscall arguments. */
  readonly user: boolean;
  /**
   * True: the entry was valid and the access violated its permissions (x86 P=1, Arm permission
   * fault). False: no valid entry. Undefined: the architecture does not say (RISC-V).
   */
  readonly present?: boolean;
  /** The walk met an entry with reserved bits set (x86 RSVD; RISC-V cannot report it apart). */
  readonly reservedBit?: boolean;
}

/**
 * The cause of a page fault, with the predicates of the seed's `PageFaultError`.
 *
 * @example
 * ```ts
 * // RISC-V store page fault (scause 15) taken from U-mode:
 * const e = new PageFaultError({ access: "write", user: true });
 * e.writeAccess(); // true
 * e.notPresent();  // false: RISC-V does not say; the handler walks the page table
 * ```
 */
export class PageFaultError {
  readonly access: FaultAccess;
  readonly user: boolean;
  readonly present: boolean | undefined;
  readonly reservedBit: boolean;

  constructor(init: PageFaultErrorInit) {
    this.access = init.access;
    this.user = init.user;
    this.present = init.present;
    this.reservedBit = init.reservedBit ?? false;
  }

  /** The trap reported that no valid entry exists. False when the architecture does not say (RISC-V). */
  notPresent(): boolean {
    return this.present === false;
  }

  /** The trap says whether the entry was valid (x86, Arm); false on RISC-V. */
  presenceKnown(): boolean {
    return this.present !== undefined;
  }

  /** The access was a store (or an atomic read-modify-write). */
  writeAccess(): boolean {
    return this.access === "write";
  }

  /** The access came from user mode. */
  userMode(): boolean {
    return this.user;
  }

  /** A page-table entry on the walk had reserved bits set: the tables are corrupt. */
  reservedBitViolation(): boolean {
    return this.reservedBit;
  }

  /** The access was an instruction fetch. */
  instructionFetch(): boolean {
    return this.access === "execute";
  }

  /** e.g. "user write (presence unknown)". */
  describe(): string {
    const presence = this.present === undefined ? "presence unknown" : this.present ? "present" : "not present";
    const rsvd = this.reservedBit ? ", reserved bit" : "";
    return `${this.user ? "user" : "kernel"} ${this.access} (${presence}${rsvd})`;
  }
}

/** Everything the fault handler is told about one page fault. */
export interface PageFaultInfo {
  /** The virtual address that faulted (CR2 / FAR_EL1 / stval), unsigned 64-bit. */
  readonly faultAddr: bigint;
  /** The pc of the faulting instruction (RIP / ELR_EL1 / sepc). */
  readonly instructionPtr: bigint;
  readonly error: PageFaultError;
}
