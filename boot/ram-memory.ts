/**
 * The kernel's physical-memory view (kernel/hal.ts PhysMemory) over one RAM region of a machine,
 * shared by the three architectures' HAL bindings. Word accesses go straight to the RAM chunk (what
 * the bus does for RAM), and every write is reported through bus.onRamWrite exactly as a bus write
 * is (decode caches, stale-TLB tracking); an access that would cross a 64 KiB chunk takes the bus
 * path. An access outside the region is a kernel bug: RangeError naming the address.
 *
 * A class, so that every machine's HAL shares the same method functions: the kernel's hot paths
 * (frame allocator, page-table walks) then see one call target however many machines a process
 * boots, and the JIT keeps them inlined (closures made per machine made those calls polymorphic
 * from the second machine on, and slower).
 */
import { CHUNK_SIZE, type Bus, type SparseRam } from "../emulator/core/memory.js";
import type { PhysMemory } from "../kernel/hal.js";

/** PhysMemory plus the register-frame helpers the HALs use to save and restore a CPU's registers. */
export interface RamMemoryView extends Required<Omit<PhysMemory, "lastHigh">> {
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

/** The kernel's view of `ram` (a region of `bus`). A HAL class may extend it. */
export class RamMemory implements RamMemoryView {
  private readonly end: number;
  /** The high half of the last read64Low (a typed array: storing a large number in it allocates nothing). */
  private readonly high = new Float64Array(1);
  /** A byte view of each RAM chunk the kernel has filled, made once per chunk (same buffer as the chunk). */
  private readonly byteViews: (Uint8Array | undefined)[] = [];

  constructor(private readonly bus: Bus, private readonly ram: SparseRam) {
    this.end = ram.base + ram.size;
  }

  check(pa: number, len: number): number {
    if (!(pa >= this.ram.base && pa + len <= this.end)) throw new RangeError(`kernel: physical access [0x${pa.toString(16)}, +${len}) is outside RAM`);
    return pa;
  }

  private word(pa: number, size: 1 | 4 | 8): void {
    if (!this.bus.read(this.check(pa, size), size)) throw new RangeError(`kernel: physical read at 0x${pa.toString(16)} failed`);
  }

  private chunkOf(pa: number): number {
    return (pa - this.ram.base) / CHUNK_SIZE;
  }

  /**
   * Offset of `pa` inside its chunk. A bit mask, not `%`: offsets are integers below 2^53, whose low
   * 16 bits survive ToInt32, and `%` on such doubles is a slow floating-point remainder.
   */
  private inChunkOffset(pa: number): number {
    return (pa - this.ram.base) & (CHUNK_SIZE - 1);
  }

  private inChunk(pa: number, len: number): boolean {
    return this.inChunkOffset(pa) + len <= CHUNK_SIZE;
  }

  /** The chunk holding `pa` for reading, or undefined when it was never touched (reads 0). */
  private peek(pa: number): DataView | undefined {
    return this.ram.chunks[Math.floor(this.chunkOf(pa))];
  }

  /** Reports a write of [pa, pa + len) through bus.onRamWrite, one call per 4 KiB page. */
  private written(pa: number, len: number): void {
    const notify = this.bus.onRamWrite;
    if (notify === undefined) return;
    const ppn = Math.floor(pa / 4096);
    if (pa + len <= (ppn + 1) * 4096) {
      notify(ppn, pa, len); // a word or a frame: one page
      return;
    }
    for (let at = pa; at < pa + len; ) {
      const ppn = Math.floor(at / 4096);
      const next = Math.min(pa + len, (ppn + 1) * 4096);
      notify(ppn, at, next - at);
      at = next;
    }
  }

  read8(pa: number): number {
    this.word(pa, 1);
    return this.bus.lo & 0xff;
  }

  write8(pa: number, v: number): void {
    this.bus.write(this.check(pa, 1), 1, v);
  }

  read32(pa: number): number {
    this.check(pa, 4);
    if (!this.inChunk(pa, 4)) { this.word(pa, 4); return this.bus.lo >>> 0; }
    const c = this.peek(pa);
    return c === undefined ? 0 : c.getUint32(this.inChunkOffset(pa), true);
  }

  write32(pa: number, v: number): void {
    this.check(pa, 4);
    if (!this.inChunk(pa, 4)) { this.bus.write(pa, 4, v | 0); return; }
    this.ram.chunk(pa - this.ram.base).setInt32(this.inChunkOffset(pa), v | 0, true);
    this.written(pa, 4);
  }

  read64(pa: number): bigint {
    this.word(pa, 8);
    return (BigInt(this.bus.hi >>> 0) << 32n) | BigInt(this.bus.lo >>> 0);
  }

  write64(pa: number, v: bigint): void {
    this.bus.write(this.check(pa, 8), 8, lo32(v), hi32(v));
  }

  read64Low(pa: number): number {
    this.check(pa, 8);
    if (!this.inChunk(pa, 8)) { this.word(pa, 8); this.high[0] = this.bus.hi >>> 0; return this.bus.lo >>> 0; }
    const c = this.peek(pa);
    if (c === undefined) { this.high[0] = 0; return 0; }
    const o = this.inChunkOffset(pa);
    this.high[0] = c.getUint32(o + 4, true);
    return c.getUint32(o, true);
  }

  get lastHigh(): number {
    return this.high[0]!;
  }

  write64Halves(pa: number, lo: number, hi: number): void {
    this.check(pa, 8);
    if (!this.inChunk(pa, 8)) { this.bus.write(pa, 8, lo | 0, hi | 0); return; }
    const c = this.ram.chunk(pa - this.ram.base);
    const o = this.inChunkOffset(pa);
    c.setInt32(o, lo | 0, true);
    c.setInt32(o + 4, hi | 0, true);
    this.written(pa, 8);
  }

  /**
   * Within one chunk, straight into the chunk's bytes (a chunk never touched already reads as 0, so
   * a zero fill leaves it untouched, as SparseRam.fill does), reported like a bus fill; across
   * chunks, through the bus.
   */
  fill(pa: number, len: number, byte: number): void {
    if (len <= 0) return;
    this.check(pa, len);
    if (!this.inChunk(pa, len)) { this.bus.fill(pa, len, byte); return; }
    const i = Math.floor(this.chunkOf(pa));
    let bytes = this.byteViews[i];
    if (bytes === undefined) {
      if (byte === 0 && this.ram.chunks[i] === undefined) { this.written(pa, len); return; }
      bytes = new Uint8Array(this.ram.chunk(pa - this.ram.base).buffer);
      this.byteViews[i] = bytes;
    }
    const o = this.inChunkOffset(pa);
    bytes.fill(byte, o, o + len);
    this.written(pa, len);
  }

  copy(dst: number, src: number, len: number): void {
    if (len > 0) this.bus.load(this.check(dst, len), this.ram.readBytes(this.check(src, len) - this.ram.base, len));
  }

  readBytes(pa: number, len: number): Uint8Array {
    return this.ram.readBytes(this.check(pa, len) - this.ram.base, len);
  }

  writeBytes(pa: number, bytes: Uint8Array): void {
    if (bytes.length > 0) this.bus.load(this.check(pa, bytes.length), bytes);
  }

  storeWords(pa: number, lo: Int32Array, hi: Int32Array, from: number, count: number): void {
    const first = pa + 8 * from, len = 8 * count;
    this.check(first, len);
    if (!this.inChunk(first, len)) {
      for (let i = from; i < from + count; i++) this.bus.write(pa + 8 * i, 8, lo[i]!, hi[i]!);
      return;
    }
    const c = this.ram.chunk(first - this.ram.base);
    const o = this.inChunkOffset(first) - 8 * from;
    for (let i = from; i < from + count; i++) {
      c.setInt32(o + 8 * i, lo[i]!, true);
      c.setInt32(o + 8 * i + 4, hi[i]!, true);
    }
    this.written(first, len);
  }

  loadWords(pa: number, lo: Int32Array, hi: Int32Array, from: number, count: number): void {
    const first = pa + 8 * from, len = 8 * count;
    this.check(first, len);
    if (!this.inChunk(first, len)) {
      for (let i = from; i < from + count; i++) {
        this.bus.read(pa + 8 * i, 8);
        lo[i] = this.bus.lo;
        hi[i] = this.bus.hi;
      }
      return;
    }
    const c = this.peek(first);
    const o = this.inChunkOffset(first) - 8 * from;
    for (let i = from; i < from + count; i++) {
      lo[i] = c === undefined ? 0 : c.getInt32(o + 8 * i, true);
      hi[i] = c === undefined ? 0 : c.getInt32(o + 8 * i + 4, true);
    }
  }
}

/**
 * The kernel's view of `ram` (a region of `bus`) as an object of plain functions, for HALs that copy
 * its members into their own object (arm64, x86_64); each forwards to one {@link RamMemory}.
 */
export function ramMemory(bus: Bus, ram: SparseRam): RamMemoryView {
  const m = new RamMemory(bus, ram);
  return {
    check: (pa, len) => m.check(pa, len),
    read8: (pa) => m.read8(pa),
    write8: (pa, v) => m.write8(pa, v),
    read32: (pa) => m.read32(pa),
    write32: (pa, v) => m.write32(pa, v),
    read64: (pa) => m.read64(pa),
    write64: (pa, v) => m.write64(pa, v),
    read64Low: (pa) => m.read64Low(pa),
    get lastHigh() { return m.lastHigh; },
    write64Halves: (pa, lo, hi) => m.write64Halves(pa, lo, hi),
    fill: (pa, len, byte) => m.fill(pa, len, byte),
    copy: (dst, src, len) => m.copy(dst, src, len),
    readBytes: (pa, len) => m.readBytes(pa, len),
    writeBytes: (pa, bytes) => m.writeBytes(pa, bytes),
    storeWords: (pa, lo, hi, from, count) => m.storeWords(pa, lo, hi, from, count),
    loadWords: (pa, lo, hi, from, count) => m.loadWords(pa, lo, hi, from, count),
  };
}
