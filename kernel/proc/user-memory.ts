/**
 * Kernel access to a process's memory for system calls: copy arguments in, results out, read
 * C strings. Each access is checked page by page against the process's page table, as the MMU
 * checks a supervisor access with SUM set: the leaf must be USER and grant READ (or WRITE). Where
 * the MMU would fault, the fault handler runs as for a kernel-mode fault (so an untouched
 * demand-zero page is filled in, a copy-on-write page is copied before the kernel writes to it,
 * and a stack may grow); where it cannot fix the fault, the call fails and the syscall returns
 * -EFAULT. Nothing is copied unless every page of the range is accessible.
 *
 * When the process is the current address space the kernel sets `mm.hardwareAccess`, and every
 * access goes through the hart's MMU and TLB with sstatus.SUM set, exactly as the kernel's own
 * loads and stores would (so a stale TLB entry is seen as on silicon); otherwise the tables are
 * walked here.
 */
import { handlePageFault, isResolved } from "../mm/fault.js";
import { PageFaultError } from "../mm/fault-info.js";
import { MemoryFlags as F } from "../mm/flags.js";
import type { ProcessMemory } from "../mm/process-memory.js";
import { PAGE, pageDown } from "../mm/vma.js";

/** A piece of a user range: `len` bytes at physical `pa`. */
interface Chunk {
  readonly pa: number;
  readonly len: number;
}

const NEEDS: Record<"read" | "write", number> = { read: F.READ, write: F.WRITE };

/**
 * The physical pieces of `[va, va + len)` with every page accessible for `access`, resolving faults
 * like the MMU + fault handler would; undefined when any page stays inaccessible.
 */
function resolve(mm: ProcessMemory, va: bigint, len: number, access: "read" | "write"): Chunk[] | undefined {
  if (!Number.isSafeInteger(len) || len < 0) throw new RangeError(`user memory: length ${len} is not a non-negative integer`);
  if (va < 0n || va + BigInt(len) > mm.userEnd) return undefined;
  const chunks: Chunk[] = [];
  let at = va;
  const end = va + BigInt(len);
  while (at < end) {
    const next = pageDown(at) + PAGE < end ? pageDown(at) + PAGE : end;
    const pa = translateFor(mm, at, access);
    if (pa === undefined) return undefined;
    chunks.push({ pa, len: Number(next - at) });
    at = next;
  }
  return chunks;
}

/** Physical address of user `va` for `access`, faulting once if the entry does not allow it. */
function translateFor(mm: ProcessMemory, va: bigint, access: "read" | "write"): number | undefined {
  for (let attempt = 0; attempt < 2; attempt++) {
    if (mm.hardwareAccess) {
      const pa = mm.hardwareAccess(va, access);
      if (pa !== undefined) return pa;
    } else {
      const t = mm.space.translate(va);
      if (t !== undefined && (t.flags & F.USER) !== 0 && (t.flags & NEEDS[access]) !== 0) return Number(t.pa);
    }
    if (attempt === 1) break;
    const outcome = handlePageFault(mm, { faultAddr: va, instructionPtr: 0n, error: new PageFaultError({ access, user: false }) });
    if (!isResolved(outcome)) return undefined;
  }
  return undefined;
}

/**
 * The `len` bytes at user address `va`, or undefined (→ -EFAULT) if any of them is unmapped, in
 * kernel space, or not readable by the user.
 *
 * @example
 * ```ts
 * const buf = copyFromUser(mm, a1, Number(a2));
 * if (buf === undefined) return -EFAULT;
 * ```
 */
export function copyFromUser(mm: ProcessMemory, va: bigint, len: number): Uint8Array | undefined {
  const chunks = resolve(mm, va, len, "read");
  if (chunks === undefined) return undefined;
  const out = new Uint8Array(len);
  let off = 0;
  for (const c of chunks) {
    out.set(mm.mem.readBytes(c.pa, c.len), off);
    off += c.len;
  }
  return out;
}

/**
 * Writes `bytes` at user address `va`; false (→ -EFAULT), writing nothing, if any byte is
 * unmapped, in kernel space, or not writable by the user. Copy-on-write pages are copied first.
 */
export function copyToUser(mm: ProcessMemory, va: bigint, bytes: Uint8Array): boolean {
  const chunks = resolve(mm, va, bytes.length, "write");
  if (chunks === undefined) return false;
  let off = 0;
  for (const c of chunks) {
    mm.mem.writeBytes(c.pa, bytes.subarray(off, off + c.len));
    off += c.len;
  }
  return true;
}

/** A C string read from user memory. */
export type UserString =
  | { readonly ok: true; readonly value: string; /** The bytes before the NUL. */ readonly bytes: Uint8Array }
  /** "fault": an unreadable byte before the NUL (-EFAULT); "too-long": no NUL within `max` bytes (-ENAMETOOLONG / -E2BIG). */
  | { readonly ok: false; readonly error: "fault" | "too-long" };

/**
 * The NUL-terminated string at user address `va`, reading at most `max` bytes (terminator
 * included) and never past the page where the NUL is found. Decoded as UTF-8 (bad sequences become
 * U+FFFD).
 */
export function readUserString(mm: ProcessMemory, va: bigint, max: number): UserString {
  const parts: Uint8Array[] = [];
  let total = 0;
  let at = va;
  while (total < max) {
    const len = Math.min(Number(pageDown(at) + PAGE - at), max - total);
    const chunk = copyFromUser(mm, at, len);
    if (chunk === undefined) return { ok: false, error: "fault" };
    const nul = chunk.indexOf(0);
    if (nul >= 0) {
      parts.push(chunk.subarray(0, nul));
      const bytes = concat(parts, total + nul);
      return { ok: true, value: utf8Decode(bytes), bytes };
    }
    parts.push(chunk);
    total += len;
    at += BigInt(len);
  }
  return { ok: false, error: "too-long" };
}

function concat(parts: Uint8Array[], len: number): Uint8Array {
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** UTF-8 bytes of `s` (lone surrogates become U+FFFD). */
export function utf8Encode(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** The string UTF-8 `bytes` encode; malformed sequences become U+FFFD. */
export function utf8Decode(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}
