/**
 * Arrays in kernel heap memory (the seed's `allocate_slice`): a slice reads and writes its
 * elements through {@link KernelMemory}, so it works over any mapping; where the memory can hand
 * out a live host view of a range, {@link KernelSlice.view} gives a typed array over it.
 *
 * Elements are unsigned little-endian integers of 1, 2 or 4 bytes (numbers).
 */
import type { KernelMemory } from "../frames.js";
import type { GlobalAllocator } from "./global.js";

/** A KernelMemory that can expose a range as host bytes. */
export interface DirectBytes {
  /**
   * A live view of [va, va+len) — writes through it are writes to kernel memory — when the range
   * lies in one contiguous host buffer; otherwise undefined.
   */
  bytesAt(va: number, len: number): Uint8Array | undefined;
}

export type ElementSize = 1 | 2 | 4;

/** A fixed-length array of unsigned integers in kernel memory. */
export interface KernelSlice {
  /** Address of element 0 (16-byte aligned). */
  readonly addr: number;
  readonly length: number;
  readonly elementSize: ElementSize;
  /** Element `i`; RangeError outside [0, length). */
  get(i: number): number;
  /** Stores `v` at element `i`; RangeError outside [0, length) or for a value that does not fit. */
  set(i: number, v: number): void;
  /**
   * A typed array over the slice's memory when the memory offers {@link DirectBytes}, the range is
   * contiguous on the host and the host is little-endian; undefined otherwise. It stays valid
   * until the slice is freed.
   */
  view(): Uint8Array | Uint16Array | Uint32Array | undefined;
}

/** True when `mem` implements {@link DirectBytes}. */
export function hasDirectBytes(mem: KernelMemory): mem is KernelMemory & DirectBytes {
  return typeof (mem as Partial<DirectBytes>).bytesAt === "function";
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Allocates a zeroed array of `length` elements of `elementSize` bytes on `heap`, recorded under
 * `owner`. Returns undefined when the heap is out of memory; free it with `heap.free(slice.addr)`.
 * RangeError for a bad length or element size.
 */
export function allocateSlice(heap: GlobalAllocator, length: number, elementSize: ElementSize = 1, owner?: string): KernelSlice | undefined {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`allocateSlice: length ${length} is not a non-negative integer`);
  if (elementSize !== 1 && elementSize !== 2 && elementSize !== 4) throw new RangeError(`allocateSlice: element size ${String(elementSize)} is not 1, 2 or 4`);
  const addr = heap.allocateZeroed(length * elementSize, 16, owner);
  if (addr === undefined) return undefined;
  const mem = heap.mem;
  const max = 2 ** (8 * elementSize) - 1;
  const index = (i: number): number => {
    if (!Number.isInteger(i) || i < 0 || i >= length) throw new RangeError(`slice at 0x${addr.toString(16)}: index ${i} is outside [0, ${length})`);
    return addr + i * elementSize;
  };
  return {
    addr,
    length,
    elementSize,
    get(i) {
      const va = index(i);
      if (elementSize === 1) return mem.read8(va);
      if (elementSize === 2) return mem.read8(va) | (mem.read8(va + 1) << 8);
      return mem.read32(va) >>> 0;
    },
    set(i, v) {
      const va = index(i);
      if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`slice at 0x${addr.toString(16)}: value ${v} does not fit ${elementSize} bytes`);
      if (elementSize === 1) mem.write8(va, v);
      else if (elementSize === 2) {
        mem.write8(va, v & 0xff);
        mem.write8(va + 1, v >>> 8);
      } else mem.write32(va, v);
    },
    view() {
      if (!hasDirectBytes(mem) || (elementSize > 1 && !HOST_LITTLE_ENDIAN)) return undefined;
      const bytes = mem.bytesAt(addr, length * elementSize);
      if (bytes === undefined || bytes.byteOffset % elementSize !== 0) return undefined;
      if (elementSize === 1) return bytes;
      if (elementSize === 2) return new Uint16Array(bytes.buffer, bytes.byteOffset, length);
      return new Uint32Array(bytes.buffer, bytes.byteOffset, length);
    },
  };
}
