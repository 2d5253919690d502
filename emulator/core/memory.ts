/**
 * Physical memory: lazily allocated RAM and a bus that routes physical addresses to RAM regions
 * and memory-mapped devices.
 *
 * Physical addresses are JavaScript numbers. Every architecture here has at most 56 physical
 * address bits, and the bus refuses any address at or above 2^53 (it is a hole: an access fault),
 * so a number always holds a routable physical address exactly.
 *
 * Accesses never throw for guest reasons: a hole returns `false` and the caller raises the
 * architecture's access fault.
 */

/** RAM is allocated in chunks of this many bytes (64 KiB), on first touch. */
export const CHUNK_SHIFT = 16;
export const CHUNK_SIZE = 1 << CHUNK_SHIFT;
const CHUNK_MASK = CHUNK_SIZE - 1;

/** Highest physical address (exclusive) the bus can route: numbers are exact below 2^53. */
export const PHYS_LIMIT = 2 ** 53;

/**
 * A RAM region that allocates host memory in 64 KiB chunks when the guest first touches them,
 * so a 64 GiB machine costs host memory only for what the guest uses. Untouched memory reads 0.
 */
export class SparseRam {
  /** One DataView per chunk, `undefined` until touched. Index = (pa - base) >> CHUNK_SHIFT. */
  readonly chunks: (DataView | undefined)[];
  /** A byte view of each touched chunk (same buffer), for fills and copies. */
  private readonly bytes: (Uint8Array | undefined)[];

  /**
   * @param base physical base address, 4 KiB aligned
   * @param size size in bytes, a multiple of 64 KiB
   */
  constructor(readonly base: number, readonly size: number) {
    if (base % 4096 !== 0) throw new RangeError(`SparseRam: base 0x${base.toString(16)} is not 4 KiB aligned`);
    if (size <= 0 || size % CHUNK_SIZE !== 0) throw new RangeError(`SparseRam: size ${size} is not a positive multiple of 64 KiB`);
    this.chunks = new Array(size / CHUNK_SIZE).fill(undefined);
    this.bytes = new Array(size / CHUNK_SIZE).fill(undefined);
  }

  /** Bytes of host memory allocated so far. */
  get allocatedBytes(): number {
    let n = 0;
    for (const c of this.chunks) if (c) n += CHUNK_SIZE;
    return n;
  }

  /** The chunk holding offset `off` (from base), allocating it on first touch. */
  chunk(off: number): DataView {
    const i = off < 0x1_0000_0000 ? off >>> CHUNK_SHIFT : Math.floor(off / CHUNK_SIZE);
    let c = this.chunks[i];
    if (c === undefined) {
      const buffer = new ArrayBuffer(CHUNK_SIZE);
      c = new DataView(buffer);
      this.chunks[i] = c;
      this.bytes[i] = new Uint8Array(buffer);
    }
    return c;
  }

  /** The byte view of the chunk holding offset `off`, allocating it on first touch. */
  private bytesAt(off: number): Uint8Array {
    this.chunk(off);
    return this.bytes[Math.floor(off / CHUNK_SIZE)]!;
  }

  /** Copies bytes into RAM at region offset `off` (host-side loading; bounds are the caller's). */
  writeBytes(off: number, bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; ) {
      const b = this.bytesAt(off + i);
      const co = (off + i) & CHUNK_MASK;
      const n = Math.min(bytes.length - i, CHUNK_SIZE - co);
      b.set(n === bytes.length ? bytes : bytes.subarray(i, i + n), co);
      i += n;
    }
  }

  /** Sets `len` bytes at region offset `off` to `byte`. Untouched chunks stay unallocated for 0. */
  fill(off: number, len: number, byte: number): void {
    for (let i = 0; i < len; ) {
      const idx = Math.floor((off + i) / CHUNK_SIZE);
      const co = (off + i) & CHUNK_MASK;
      const n = Math.min(len - i, CHUNK_SIZE - co);
      if (byte !== 0 || this.chunks[idx] !== undefined) this.bytesAt(off + i).fill(byte, co, co + n);
      i += n;
    }
  }

  /** Copies `len` bytes out of RAM from region offset `off`. */
  readBytes(off: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let i = 0; i < len; ) {
      const idx = Math.floor((off + i) / CHUNK_SIZE);
      const co = (off + i) & CHUNK_MASK;
      const n = Math.min(len - i, CHUNK_SIZE - co);
      const b = this.bytes[idx];
      if (b) out.set(b.subarray(co, co + n), i);
      i += n;
    }
    return out;
  }
}

/**
 * A memory-mapped device. Offsets are relative to the device's base. Accesses of 1, 2 or 4 bytes
 * arrive as they are; the bus splits an 8-byte access into two 4-byte ones (low word first).
 * A device accepts every access inside its range (unimplemented registers read as 0, writes to
 * them are ignored) unless it returns `false` from `accepts`.
 */
export interface MmioDevice {
  readonly name: string;
  /** Reads `size` bytes at `offset`; the result is the unsigned value. */
  read(offset: number, size: 1 | 2 | 4): number;
  /** Writes the low `size` bytes of `value` at `offset`. */
  write(offset: number, size: 1 | 2 | 4, value: number): void;
}

/** A range of the physical address space: RAM or a device. */
export interface BusRegion {
  readonly name: string;
  readonly base: number;
  readonly size: number;
  readonly ram?: SparseRam;
  readonly device?: MmioDevice;
}

/**
 * Routes physical addresses to RAM and devices. `read`/`write` return `false` for a hole
 * (the caller raises an access fault); 64-bit values travel as two int32 halves through
 * {@link Bus.lo} and {@link Bus.hi} so that nothing is allocated per access.
 */
export class Bus {
  private regions: BusRegion[] = [];
  /** The last value read (low and high 32 bits, as int32), or the value to write. */
  lo = 0;
  hi = 0;
  /**
   * Called for every RAM page a bus write touches (decode caches, PTE-write tracking) with the
   * page number and the written part of that page: `len` bytes from physical address `pa`.
   */
  onRamWrite: ((ppn: number, pa: number, len: number) => void) | undefined;

  /** All regions, sorted by base. */
  get map(): readonly BusRegion[] {
    return this.regions;
  }

  /** Adds RAM at `base`; throws RangeError if it overlaps an existing region. */
  addRam(name: string, base: number, size: number): SparseRam {
    const ram = new SparseRam(base, size);
    this.add({ name, base, size, ram });
    return ram;
  }

  /** Adds a device at `base` covering `size` bytes; throws RangeError on overlap. */
  addDevice(device: MmioDevice, base: number, size: number): void {
    this.add({ name: device.name, base, size, device });
  }

  private add(r: BusRegion): void {
    if (r.base < 0 || r.size <= 0 || r.base + r.size > PHYS_LIMIT) {
      throw new RangeError(`bus: region ${r.name} [0x${r.base.toString(16)}, +0x${r.size.toString(16)}) is outside the physical address space`);
    }
    for (const o of this.regions) {
      if (r.base < o.base + o.size && o.base < r.base + r.size) {
        throw new RangeError(`bus: region ${r.name} at 0x${r.base.toString(16)} overlaps ${o.name} at 0x${o.base.toString(16)}`);
      }
    }
    this.regions.push(r);
    this.regions.sort((a, b) => a.base - b.base);
  }

  /**
   * The region containing [pa, pa+len), or undefined for a hole or a straddling access. The region
   * found last is tried first (regions are only ever added, never moved), so runs of RAM accesses
   * do not scan the devices below RAM each time.
   */
  find(pa: number, len = 1): BusRegion | undefined {
    const last = this.last;
    if (last !== undefined && pa >= last.base && pa + len <= last.base + last.size) return last;
    const rs = this.regions;
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i]!;
      if (pa >= r.base && pa + len <= r.base + r.size) {
        this.last = r;
        return r;
      }
    }
    return undefined;
  }

  /** The region {@link find} found last. */
  private last: BusRegion | undefined;

  /** The RAM region containing `pa`, or undefined. */
  ramAt(pa: number): SparseRam | undefined {
    return this.find(pa)?.ram;
  }

  /**
   * Reads `size` bytes at `pa` into {@link lo}/{@link hi} (zero-extended). Returns false on a hole.
   * RAM accesses may be unaligned but must not cross a 64 KiB chunk (callers split at pages).
   */
  read(pa: number, size: 1 | 2 | 4 | 8): boolean {
    const r = this.find(pa, size);
    if (r === undefined) return false;
    const off = pa - r.base;
    if (r.ram) {
      const c = r.ram.chunk(off);
      const co = off & CHUNK_MASK;
      if (co + size > CHUNK_SIZE) return this.readSplit(pa, size);
      switch (size) {
        case 1: this.lo = c.getUint8(co); this.hi = 0; break;
        case 2: this.lo = c.getUint16(co, true); this.hi = 0; break;
        case 4: this.lo = c.getInt32(co, true); this.hi = 0; break;
        case 8: this.lo = c.getInt32(co, true); this.hi = c.getInt32(co + 4, true); break;
      }
      return true;
    }
    const d = r.device!;
    if (size === 8) {
      const lo = d.read(off, 4) | 0;
      this.hi = d.read(off + 4, 4) | 0;
      this.lo = lo;
    } else {
      this.lo = d.read(off, size) | 0;
      this.hi = 0;
    }
    return true;
  }

  private readSplit(pa: number, size: number): boolean {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < size; i++) {
      if (!this.read(pa + i, 1)) return false;
      if (i < 4) lo |= this.lo << (8 * i);
      else hi |= this.lo << (8 * (i - 4));
    }
    this.lo = lo;
    this.hi = hi;
    return true;
  }

  /** Writes the low `size` bytes of (hi:lo) at `pa`. Returns false on a hole. */
  write(pa: number, size: 1 | 2 | 4 | 8, lo: number, hi = 0): boolean {
    const r = this.find(pa, size);
    if (r === undefined) return false;
    const off = pa - r.base;
    if (r.ram) {
      const c = r.ram.chunk(off);
      const co = off & CHUNK_MASK;
      if (co + size > CHUNK_SIZE) {
        for (let i = 0; i < size; i++) {
          const b = i < 4 ? lo >>> (8 * i) : hi >>> (8 * (i - 4));
          this.write(pa + i, 1, b & 0xff);
        }
        return true;
      }
      switch (size) {
        case 1: c.setUint8(co, lo & 0xff); break;
        case 2: c.setUint16(co, lo & 0xffff, true); break;
        case 4: c.setInt32(co, lo, true); break;
        case 8: c.setInt32(co, lo, true); c.setInt32(co + 4, hi, true); break;
      }
      if (this.onRamWrite) {
        if ((pa & 0xfff) + size <= 4096) this.onRamWrite(Math.floor(pa / 4096), pa, size);
        else this.ramWritten(pa, size);
      }
      return true;
    }
    const d = r.device!;
    if (size === 8) {
      d.write(off, 4, lo >>> 0);
      d.write(off + 4, 4, hi >>> 0);
    } else {
      d.write(off, size, size === 4 ? lo >>> 0 : lo & (size === 1 ? 0xff : 0xffff));
    }
    return true;
  }

  /** Reads a 64-bit little-endian value as bigint, or undefined for a hole (host-side helper). */
  read64(pa: number): bigint | undefined {
    if (!this.read(pa, 8)) return undefined;
    return (BigInt(this.hi >>> 0) << 32n) | BigInt(this.lo >>> 0);
  }

  /** Writes a 64-bit value given as bigint; false for a hole (host-side helper). */
  write64(pa: number, v: bigint): boolean {
    return this.write(pa, 8, Number(v & 0xffffffffn) | 0, Number((v >> 32n) & 0xffffffffn) | 0);
  }

  /** Fills RAM with `byte` (host-side). Throws RangeError if any byte is not RAM. */
  fill(pa: number, len: number, byte: number): void {
    const r = this.find(pa, Math.max(1, len));
    if (!r?.ram) throw new RangeError(`bus: [0x${pa.toString(16)}, +0x${len.toString(16)}) is not inside one RAM region`);
    r.ram.fill(pa - r.base, len, byte);
    if (this.onRamWrite) this.ramWritten(pa, len);
  }

  /** Copies bytes into RAM (host-side loading). Throws RangeError if any byte is not RAM. */
  load(pa: number, bytes: Uint8Array): void {
    const r = this.find(pa, Math.max(1, bytes.length));
    if (!r?.ram) throw new RangeError(`bus: [0x${pa.toString(16)}, +0x${bytes.length.toString(16)}) is not inside one RAM region`);
    r.ram.writeBytes(pa - r.base, bytes);
    if (this.onRamWrite) this.ramWritten(pa, bytes.length);
  }

  /** Calls {@link onRamWrite} once per 4 KiB page of [pa, pa + len), with that page's part. */
  private ramWritten(pa: number, len: number): void {
    const end = pa + len;
    for (let at = pa; at < end; ) {
      const ppn = Math.floor(at / 4096);
      const next = Math.min(end, (ppn + 1) * 4096);
      this.onRamWrite!(ppn, at, next - at);
      at = next;
    }
  }
}
