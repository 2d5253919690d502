/**
 * Shared pieces of the kernel allocators: the error they throw, the debug poison bytes, and small
 * helpers that work on a {@link KernelMemory} one byte or one aligned word at a time.
 *
 * Addresses are numbers (kernel virtual addresses below 2^53); sizes and offsets stored in RAM are
 * unsigned 32-bit words.
 */
import type { KernelMemory } from "../frames.js";

/**
 * A broken allocator invariant detected in RAM: a wild or double free, a corrupted header, footer or
 * free-list link, an overwritten red zone, a write to freed memory. `addr` is the offending address.
 */
export class HeapError extends Error {
  override name = "HeapError";
  constructor(message: string, readonly addr: number) {
    super(message);
  }
}

/** Debug-mode fill bytes (the values MSVC's debug heap made familiar). */
export const POISON = {
  /** Red zones around every payload. */
  RED_ZONE: 0xfd,
  /** Freed payloads and free-block interiors. */
  FREED: 0xdd,
  /** Fresh payloads, before the caller writes them. */
  FRESH: 0xcd,
} as const;

/** `0x` followed by the value in hexadecimal (the kernel's one formatter). */
import { hex } from "../safety.js";
export { hex };

/** True for 1, 2, 4, … up to 2^52. */
export function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

/** `v` rounded up to a multiple of `a` (a power of two; exact for every safe integer). */
export function alignUp(v: number, a: number): number {
  return Math.ceil(v / a) * a;
}

/**
 * The address of the first byte in [va, va+len) that differs from `byte`, or -1 if all match.
 * Reads aligned words where it can.
 */
export function firstMismatch(mem: KernelMemory, va: number, len: number, byte: number): number {
  const end = va + len;
  const word = (byte * 0x01010101) >>> 0;
  let p = va;
  while (p < end && p % 4 !== 0) {
    if (mem.read8(p) !== byte) return p;
    p++;
  }
  for (; p + 4 <= end; p += 4) {
    if (mem.read32(p) >>> 0 !== word) {
      for (let q = p; ; q++) if (mem.read8(q) !== byte) return q;
    }
  }
  for (; p < end; p++) if (mem.read8(p) !== byte) return p;
  return -1;
}

/** Copies `len` bytes from `src` to `dst` (non-overlapping), by words where both are aligned alike. */
export function copyBytes(mem: KernelMemory, dst: number, src: number, len: number): void {
  let i = 0;
  if (dst % 4 === src % 4) {
    for (; i < len && (src + i) % 4 !== 0; i++) mem.write8(dst + i, mem.read8(src + i));
    for (; i + 4 <= len; i += 4) mem.write32(dst + i, mem.read32(src + i));
  }
  for (; i < len; i++) mem.write8(dst + i, mem.read8(src + i));
}

/** Fills [va, va+len) with `byte`; a no-op for len <= 0. */
export function fillBytes(mem: KernelMemory, va: number, len: number, byte: number): void {
  if (len > 0) mem.fill(va, len, byte);
}

/** Reads an address stored as two little-endian u32 halves (low word first). */
export function readAddr(mem: KernelMemory, va: number): number {
  return (mem.read32(va) >>> 0) + (mem.read32(va + 4) >>> 0) * 2 ** 32;
}

/** Stores an address (a safe integer) as two little-endian u32 halves. */
export function writeAddr(mem: KernelMemory, va: number, addr: number): void {
  mem.write32(va, addr % 2 ** 32 >>> 0);
  mem.write32(va + 4, Math.floor(addr / 2 ** 32) >>> 0);
}
