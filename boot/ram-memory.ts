/**
 * The kernel's physical-memory view (kernel/hal.ts PhysMemory) over one RAM region of a machine,
 * shared by the three architectures' HAL bindings. Word accesses go straight to the RAM chunk (what
 * the bus does for RAM), and every write is reported through bus.onRamWrite exactly as a bus write
 * is (decode caches, stale-TLB tracking); an access that would cross a 64 KiB chunk takes the bus
 * path. An access outside the region is a kernel bug: RangeError naming the address.
 */
import { CHUNK_SIZE, type Bus, type SparseRam } from "../emulator/core/memory.js";
import type { PhysMemory } from "../kernel/hal.js";

/** PhysMemory plus the register-frame helpers the HALs use to save and restore a CPU's registers. */
export interface RamMemory extends Required<Omit<PhysMemory, "lastHigh">> {
  readonly lastHigh: number;
  /** Throws RangeError unless [pa, pa + len) is inside the region; returns `pa`. */
  check(pa: number, len: number): number;
  /** Stores 64-bit words `lo[i]:hi[i]` for i in [from, from + count) at `pa + 8 * i`. */
  storeWords(pa: number, lo: Int32Array, hi: Int32Array, from: number, count: number): void;
  /** Loads the 64-bit words at `pa + 8 * i` into `lo[i]`, `hi[i]` for i in [from, from + count). */
  loadWords(pa: number, lo: Int32Array, hi: Int32Array, from: number, count: number): void;
}

const lo32 = (v: bigint): number => Number(BigInt.asIntN(32, v));
const hi32 = (v: bigint): number => Number(BigInt.asIntN(32, v >> 32n));

/** The kernel's view of `ram` (a region of `bus`). */
export function ramMemory(bus: Bus, ram: SparseRam): RamMemory {
  const end = ram.base + ram.size;
  const check = (pa: number, len: number): number => {
    if (!(pa >= ram.base && pa + len <= end)) throw new RangeError(`kernel: physical access [0x${pa.toString(16)}, +${len}) is outside RAM`);
    return pa;
  };
  const word = (pa: number, size: 1 | 4 | 8): void => {
    if (!bus.read(check(pa, size), size)) throw new RangeError(`kernel: physical read at 0x${pa.toString(16)} failed`);
  };
  const chunkOf = (pa: number): number => (pa - ram.base) / CHUNK_SIZE;
  /**
   * Offset of `pa` inside its chunk. A bit mask, not `%`: offsets are integers below 2^53, whose low
   * 16 bits survive ToInt32, and `%` on such doubles is a slow floating-point remainder.
   */
  const inChunkOffset = (pa: number): number => (pa - ram.base) & (CHUNK_SIZE - 1);
  const inChunk = (pa: number, len: number): boolean => inChunkOffset(pa) + len <= CHUNK_SIZE;
  /** The chunk holding `pa` for reading, or undefined when it was never touched (reads 0). */
  const peek = (pa: number): DataView | undefined => ram.chunks[Math.floor(chunkOf(pa))];
  const written = (pa: number, len: number): void => {
    const notify = bus.onRamWrite;
    if (notify === undefined) return;
    for (let at = pa; at < pa + len; ) {
      const ppn = Math.floor(at / 4096);
      const next = Math.min(pa + len, (ppn + 1) * 4096);
      notify(ppn, at, next - at);
      at = next;
    }
  };
  /** The high half of the last read64Low (a typed array: storing a large number in it allocates nothing). */
  const high = new Float64Array(1);
  /** A byte view of each RAM chunk the kernel has filled, made once per chunk (same buffer as the chunk). */
  const byteViews: (Uint8Array | undefined)[] = [];
  return {
    check,
    read8: (pa) => { word(pa, 1); return bus.lo & 0xff; },
    write8: (pa, v) => { bus.write(check(pa, 1), 1, v); },
    read32: (pa) => {
      check(pa, 4);
      if (!inChunk(pa, 4)) { word(pa, 4); return bus.lo >>> 0; }
      const c = peek(pa);
      return c === undefined ? 0 : c.getUint32(inChunkOffset(pa), true);
    },
    write32: (pa, v) => {
      check(pa, 4);
      if (!inChunk(pa, 4)) { bus.write(pa, 4, v | 0); return; }
      ram.chunk(pa - ram.base).setInt32(inChunkOffset(pa), v | 0, true);
      written(pa, 4);
    },
    read64: (pa) => { word(pa, 8); return (BigInt(bus.hi >>> 0) << 32n) | BigInt(bus.lo >>> 0); },
    write64: (pa, v) => { bus.write(check(pa, 8), 8, lo32(v), hi32(v)); },
    read64Low: (pa) => {
      check(pa, 8);
      if (!inChunk(pa, 8)) { word(pa, 8); high[0] = bus.hi >>> 0; return bus.lo >>> 0; }
      const c = peek(pa);
      if (c === undefined) { high[0] = 0; return 0; }
      const o = inChunkOffset(pa);
      high[0] = c.getUint32(o + 4, true);
      return c.getUint32(o, true);
    },
    get lastHigh() { return high[0]!; },
    write64Halves: (pa, lo, hi) => {
      check(pa, 8);
      if (!inChunk(pa, 8)) { bus.write(pa, 8, lo | 0, hi | 0); return; }
      const c = ram.chunk(pa - ram.base);
      const o = inChunkOffset(pa);
      c.setInt32(o, lo | 0, true);
      c.setInt32(o + 4, hi | 0, true);
      written(pa, 8);
    },
    /**
     * Within one chunk, straight into the chunk's bytes (a chunk never touched already reads as 0, so
     * a zero fill leaves it untouched, as SparseRam.fill does), reported like a bus fill; across
     * chunks, through the bus.
     */
    fill: (pa, len, byte) => {
      if (len <= 0) return;
      check(pa, len);
      if (!inChunk(pa, len)) { bus.fill(pa, len, byte); return; }
      const i = Math.floor(chunkOf(pa));
      let bytes = byteViews[i];
      if (bytes === undefined) {
        if (byte === 0 && ram.chunks[i] === undefined) { written(pa, len); return; }
        bytes = new Uint8Array(ram.chunk(pa - ram.base).buffer);
        byteViews[i] = bytes;
      }
      const o = inChunkOffset(pa);
      bytes.fill(byte, o, o + len);
      written(pa, len);
    },
    copy: (dst, src, len) => { if (len > 0) bus.load(check(dst, len), ram.readBytes(check(src, len) - ram.base, len)); },
    readBytes: (pa, len) => ram.readBytes(check(pa, len) - ram.base, len),
    writeBytes: (pa, bytes) => { if (bytes.length > 0) bus.load(check(pa, bytes.length), bytes); },
    storeWords: (pa, lo, hi, from, count) => {
      const first = pa + 8 * from, len = 8 * count;
      check(first, len);
      if (!inChunk(first, len)) {
        for (let i = from; i < from + count; i++) bus.write(pa + 8 * i, 8, lo[i]!, hi[i]!);
        return;
      }
      const c = ram.chunk(first - ram.base);
      const o = inChunkOffset(first) - 8 * from;
      for (let i = from; i < from + count; i++) {
        c.setInt32(o + 8 * i, lo[i]!, true);
        c.setInt32(o + 8 * i + 4, hi[i]!, true);
      }
      written(first, len);
    },
    loadWords: (pa, lo, hi, from, count) => {
      const first = pa + 8 * from, len = 8 * count;
      check(first, len);
      if (!inChunk(first, len)) {
        for (let i = from; i < from + count; i++) {
          bus.read(pa + 8 * i, 8);
          lo[i] = bus.lo;
          hi[i] = bus.hi;
        }
        return;
      }
      const c = peek(first);
      const o = inChunkOffset(first) - 8 * from;
      for (let i = from; i < from + count; i++) {
        lo[i] = c === undefined ? 0 : c.getInt32(o + 8 * i, true);
        hi[i] = c === undefined ? 0 : c.getInt32(o + 8 * i + 4, true);
      }
    },
  };
}
