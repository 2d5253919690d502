/**
 * Checks the memory manager runs before touching page tables. Each returns a {@link Check}: either
 * `{ok: true}` or `{ok: false, error}` with a one-line message naming the offending value. Nothing
 * here throws or touches hardware.
 *
 * Address conventions: VAs are unsigned 64-bit bigints. With `vaBits` translated bits, the user half
 * is `[0, 2^(vaBits-1))` and the kernel half `[2^64 - 2^(vaBits-1), 2^64)`; everything between is
 * non-canonical (ARCH-SPEC §4.2 "bits 63:39 must equal bit 38").
 */
import { describeFlags, flagNames, MemoryFlags } from "./flags.js";
import type { PageSize } from "./vm/arch.js";

/** Outcome of a check. */
export type Check = { ok: true } | { ok: false; error: string };

/** The part of a paging mode the range checks need (SV39 and SV48 rows satisfy it). */
export interface VaLayout {
  readonly vaBits: number;
}

/** Which half of the VA space a range must lie in. */
export type AddressSpaceHalf = "user" | "kernel";

const OK: Check = { ok: true };
const TWO64 = 1n << 64n;

const fail = (error: string): Check => ({ ok: false, error });

/** `0x…` form of a bigint or number, for messages. */
export const hex = (v: bigint | number): string => (v < 0 ? `-0x${(-BigInt(v)).toString(16)}` : `0x${v.toString(16)}`);

/** First VA of the kernel half for `layout`. */
export function kernelBase(layout: VaLayout): bigint {
  return TWO64 - (1n << BigInt(layout.vaBits - 1));
}

/** One past the last VA of the user half for `layout`. */
export function userEnd(layout: VaLayout): bigint {
  return 1n << BigInt(layout.vaBits - 1);
}

/** True when the unsigned 64-bit `va` is canonical for `layout`. */
export function isCanonical(va: bigint, layout: VaLayout): boolean {
  return va >= 0n && va < TWO64 && (va < userEnd(layout) || va >= kernelBase(layout));
}

/**
 * Checks that `[start, start + size)` is a non-empty range of canonical addresses, does not wrap past
 * 2^64, and lies entirely inside the `space` half of the VA space described by `layout`.
 *
 * @example validateAddressRange(0x1000n, 0x2000n, "user", SV39) // {ok: true}
 */
export function validateAddressRange(start: bigint, size: bigint, space: AddressSpaceHalf, layout: VaLayout): Check {
  if (start < 0n || start >= TWO64) return fail(`start ${hex(start)} is not an unsigned 64-bit address`);
  if (size <= 0n) return fail(`size ${hex(size)} at ${hex(start)} is not positive`);
  const end = start + size;
  if (end > TWO64) return fail(`range ${hex(start)}+${hex(size)} wraps past 2^64`);
  if (!isCanonical(start, layout)) return fail(`start ${hex(start)} is not canonical for ${layout.vaBits}-bit VAs`);
  if (!isCanonical(end - 1n, layout)) return fail(`last byte ${hex(end - 1n)} is not canonical for ${layout.vaBits}-bit VAs`);
  if (space === "user") {
    if (end > userEnd(layout)) return fail(`range [${hex(start)}, ${hex(end)}) leaves the user half [0, ${hex(userEnd(layout))})`);
  } else if (start < kernelBase(layout)) {
    return fail(`range [${hex(start)}, ${hex(end)}) leaves the kernel half [${hex(kernelBase(layout))}, 2^64)`);
  }
  return OK;
}

/**
 * Checks that `addr` is a multiple of `pageSize` (a power of two).
 *
 * @example checkAlignment(0x20_0000n, 0x20_0000) // {ok: true}
 */
export function checkAlignment(addr: bigint, pageSize: PageSize): Check {
  const size = BigInt(pageSize);
  if (size <= 0n || (size & (size - 1n)) !== 0n) return fail(`page size ${hex(size)} is not a power of two`);
  if (addr % size !== 0n) return fail(`${hex(addr)} is not aligned to ${hex(size)}`);
  return OK;
}

/** What {@link validateFlags} accepts beyond the always-safe combinations. */
export interface FlagPolicy {
  /** Accept WRITE together with EXECUTE (self-modifying code, JITs). Default false. */
  allowWX?: boolean;
  /**
   * Accept WRITE without READ. Default false: RISC-V reserves XWR=010 and 110 (the walker page-faults
   * on "r=0 and w=1", ARCH-SPEC §4.3 step 3), and x86/Arm cannot express it either.
   */
  allowWriteOnly?: boolean;
  /** The bits the target format can express (ArchPaging.supportedFlags); default every defined bit. */
  supported?: MemoryFlags;
}

/** How a flags value is named in messages (built only when a check fails). */
const flagsName = (flags: MemoryFlags): string => `flags ${hex(flags)} (${describeFlags(flags)})`;

/**
 * Checks a permission set for a leaf mapping. Refused: undefined bits, bits outside
 * `policy.supported`, no access at all, WRITE+EXECUTE (unless `allowWX`), USER+GLOBAL (a global user
 * page would leak into every address space), WRITE without READ (unless `allowWriteOnly`), and
 * COPY_ON_WRITE with WRITE (a COW page is mapped read-only until the fault copies it).
 *
 * @example validateFlags(MemoryFlags.userRw()) // {ok: true}
 */
export function validateFlags(flags: MemoryFlags, policy: FlagPolicy = {}): Check {
  const F = MemoryFlags;
  if (!Number.isInteger(flags) || flags < 0 || (flags & ~F.ALL) !== 0) return fail(`${flagsName(flags)} has undefined bits`);
  const unsupported = flags & ~(policy.supported ?? F.ALL);
  if (unsupported !== 0) return fail(`${flagsName(flags)}: ${flagNames(unsupported)} cannot be expressed by this page-table format`);
  if ((flags & (F.READ | F.WRITE | F.EXECUTE)) === 0) return fail(`${flagsName(flags)} grant no access (READ, WRITE or EXECUTE needed)`);
  if ((flags & F.WRITE) !== 0 && (flags & F.EXECUTE) !== 0 && policy.allowWX !== true) return fail(`${flagsName(flags)} are both writable and executable`);
  if ((flags & F.USER) !== 0 && (flags & F.GLOBAL) !== 0) return fail(`${flagsName(flags)} are both USER and GLOBAL`);
  if ((flags & F.WRITE) !== 0 && (flags & F.READ) === 0 && policy.allowWriteOnly !== true) {
    return fail(`${flagsName(flags)} are WRITE without READ (reserved on RISC-V: XWR=010/110)`);
  }
  if ((flags & F.COPY_ON_WRITE) !== 0 && (flags & F.WRITE) !== 0) return fail(`${flagsName(flags)} combine COPY_ON_WRITE with WRITE`);
  return OK;
}
