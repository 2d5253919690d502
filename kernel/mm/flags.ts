/**
 * Architecture-neutral memory permissions and attributes, as bits of a number.
 *
 * The arch layer translates these to PTE bits (kernel/arch/<arch>/pte.ts); which combinations are
 * acceptable is decided by kernel/mm/safety.ts `validateFlags`. The preset helpers grant exactly what
 * their name says and nothing else: in particular none of them sets GLOBAL, which the caller adds
 * for mappings shared by every address space (the kernel half).
 *
 * @example
 * ```ts
 * const f = MemoryFlags.userRw() | MemoryFlags.GLOBAL;
 * describeFlags(MemoryFlags.userRo()); // "R - - U - - - -"
 * ```
 */

/** A set of {@link MemoryFlags} bits. */
export type MemoryFlags = number;

/** Bit values and preset combinations. */
export const MemoryFlags = {
  NONE: 0,
  /** Loads are allowed. */
  READ: 1 << 0,
  /** Stores are allowed. */
  WRITE: 1 << 1,
  /** Instruction fetches are allowed. */
  EXECUTE: 1 << 2,
  /** User mode may access the page (and, on RISC-V, supervisor mode may not execute it). */
  USER: 1 << 3,
  /** The translation is shared by every address space: TLB entries ignore the ASID. */
  GLOBAL: 1 << 4,
  /** Accesses bypass the caches (device memory). */
  UNCACHED: 1 << 5,
  /** Stores write through the caches. */
  WRITE_THROUGH: 1 << 6,
  /** Logically writable, mapped read-only; the first store faults and the fault handler copies. */
  COPY_ON_WRITE: 1 << 7,
  /** Every defined bit. */
  ALL: 0xff,

  /** Kernel read-write data. */
  kernelRw(): MemoryFlags { return MemoryFlags.READ | MemoryFlags.WRITE; },
  /** Kernel read-only data. */
  kernelRo(): MemoryFlags { return MemoryFlags.READ; },
  /** Kernel text. */
  kernelRx(): MemoryFlags { return MemoryFlags.READ | MemoryFlags.EXECUTE; },
  /** User read-write data. */
  userRw(): MemoryFlags { return MemoryFlags.READ | MemoryFlags.WRITE | MemoryFlags.USER; },
  /** User read-only data. */
  userRo(): MemoryFlags { return MemoryFlags.READ | MemoryFlags.USER; },
  /** User text. */
  userRx(): MemoryFlags { return MemoryFlags.READ | MemoryFlags.EXECUTE | MemoryFlags.USER; },
} as const;

/** Bit, report letter and name of every flag, in bit order. */
const BITS: readonly (readonly [number, string, string])[] = [
  [MemoryFlags.READ, "R", "READ"],
  [MemoryFlags.WRITE, "W", "WRITE"],
  [MemoryFlags.EXECUTE, "X", "EXECUTE"],
  [MemoryFlags.USER, "U", "USER"],
  [MemoryFlags.GLOBAL, "G", "GLOBAL"],
  [MemoryFlags.UNCACHED, "N", "UNCACHED"],
  [MemoryFlags.WRITE_THROUGH, "T", "WRITE_THROUGH"],
  [MemoryFlags.COPY_ON_WRITE, "C", "COPY_ON_WRITE"],
];

/**
 * A fixed-width text form for reports: one column per bit in the order R W X U G N(uncached)
 * T(write-through) C(copy-on-write), "-" where clear. Undefined bits are appended as "+0x…".
 *
 * @example describeFlags(MemoryFlags.kernelRw()) === "R W - - - - - -"
 */
export function describeFlags(f: MemoryFlags): string {
  const text = BITS.map(([bit, letter]) => ((f & bit) !== 0 ? letter : "-")).join(" ");
  const extra = f & ~MemoryFlags.ALL;
  return extra === 0 ? text : `${text} +0x${(extra >>> 0).toString(16)}`;
}

/**
 * The names of the defined bits set in `f`, joined by "|" ("NONE" for 0).
 *
 * @example flagNames(MemoryFlags.userRo()) === "READ|USER"
 */
export function flagNames(f: MemoryFlags): string {
  const names = BITS.filter(([bit]) => (f & bit) !== 0).map(([, , name]) => name);
  return names.length === 0 ? "NONE" : names.join("|");
}
