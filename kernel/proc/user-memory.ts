/**
 * Kernel access to a process's memory for system calls: copy arguments in, results out, read
 * C strings. Each access is checked page by page against the process's page table, as the MMU
 * checks a supervisor access with SUM set: the leaf must be USER and grant READ (or WRITE). Where
 * the MMU would fault, the fault handler runs as for a kernel-mode fault (so an untouched
 * demand-zero page is filled in, a copy-on-write page is copied before the kernel writes to it,
 * and a stack may grow); where it cannot fix the fault, the call fails and the syscall returns
 * -EFAULT. Nothing is copied unless every page of the range is accessible.
 *
 * The API takes the ProcessMemory and a user VA only, so a later version can route the accesses
 * through the emulated MMU (sstatus.SUM) instead of walking the tables here.
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
    const t = mm.space.translate(va);
    if (t !== undefined && (t.flags & F.USER) !== 0 && (t.flags & NEEDS[access]) !== 0) return Number(t.pa);
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

/** UTF-8 bytes of `s` (lone surrogates become U+FFFD). The kernel's lib has no TextEncoder. */
export function utf8Encode(s: string): Uint8Array {
  const out: number[] = [];
  for (const ch of s) {
    let c = ch.codePointAt(0)!;
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return Uint8Array.from(out);
}

/** The string UTF-8 `bytes` encode; malformed, overlong or surrogate sequences become U+FFFD. */
export function utf8Decode(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i]!;
    const need = b < 0x80 ? 0 : b >= 0xc2 && b < 0xe0 ? 1 : b >= 0xe0 && b < 0xf0 ? 2 : b >= 0xf0 && b < 0xf5 ? 3 : -1;
    if (need < 0) { s += "\ufffd"; i++; continue; }
    let c = need === 0 ? b : b & (0x3f >> need);
    let j = 1;
    for (; j <= need; j++) {
      const n = bytes[i + j];
      if (n === undefined || (n & 0xc0) !== 0x80) break;
      c = (c << 6) | (n & 0x3f);
    }
    const min = [0, 0x80, 0x800, 0x10000][need]!;
    if (j <= need || c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) { s += "\ufffd"; i += j; continue; }
    s += String.fromCodePoint(c);
    i += j;
  }
  return s;
}
