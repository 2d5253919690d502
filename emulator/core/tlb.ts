/**
 * The architectural TLB, shared by all architectures: finite, set-associative, tagged by
 * address-space id or global, holding leaf translations of any page size.
 *
 * Conventions:
 * - Pages are named by their virtual page number `vpn = VA / 4096` over the translated VA bits
 *   (at most 45 bits for a 57-bit VA), held in a JS number.
 * - An entry of size 2^shift covers `2^(shift-12)` small pages starting at `vpnBase`. It lives in set
 *   `(vpnBase / 2^(shift-12)) mod sets`, so each page size indexes by the VPN bits above its own
 *   offset; a lookup probes every configured size, smallest first (one probe per size, the way
 *   split-size TLB arrays are searched).
 * - Replacement is round-robin per set: a victim pointer advances on each fill. It never depends on
 *   hits, so a host-side fast path that skips lookups cannot change which entry is evicted.
 * - Every removal (eviction or invalidation) calls `onDrop`, so whatever a fast path derived from
 *   the entry is dropped with it.
 *
 * The TLB holds translations only; `perm` is an architecture-defined bit set that the MMU writes and
 * reads (for RISC-V the PTE's low byte: V R W X U G A D).
 */

/** Geometry of one TLB array. `entries / ways` must be a power of two. */
export interface TlbGeometry {
  entries: number;
  ways: number;
}

/** A machine's TLB configuration. */
export interface TlbConfig {
  /** First level; with `split` there is one array of this geometry for fetches and one for data. */
  l1: TlbGeometry;
  split: boolean;
  /** Optional unified second level, searched on an L1 miss and filled with every walk. */
  l2?: TlbGeometry;
  /**
   * QEMU-compatible comparison mode: every write to a page that held a PTE read by a walk flushes
   * all entries, so missing fences go unnoticed (as under QEMU). Off by default.
   */
  flushOnPteWrite?: boolean;
}

/** Default geometry: 32-entry 4-way split L1, 512-entry 4-way unified L2 (a small in-order core). */
export const DEFAULT_TLB: TlbConfig = { l1: { entries: 32, ways: 4 }, split: true, l2: { entries: 512, ways: 4 } };

/** A copy of one entry, for viewers and tests. */
export interface TlbEntry {
  vpnBase: number;
  shift: number;
  asid: number;
  global: boolean;
  ppn: number;
  perm: number;
  pteAddr: number;
  pte: bigint;
}

/** Counters of one TLB array. */
export interface TlbCounters {
  hits: number;
  misses: number;
  fills: number;
  evictions: number;
  /** Invalidation operations by kind (all, asid, va, va+asid, ...), and entries they removed. */
  invalidations: Record<string, number>;
  invalidated: number;
}

/** Invalidation scope for {@link Tlb.invalidate}. */
export interface TlbScope {
  /** Only entries translating this page (any size containing it); undefined = all pages. */
  vpn?: number;
  /** Only entries of this address space; undefined = all address spaces. */
  asid?: number;
  /** Keep global entries (an ASID-scoped operation that spares globals). */
  keepGlobal?: boolean;
  /** Counter name for this kind of invalidation. */
  kind: string;
}

const SMALL_SHIFT = 12;

/** `tag mod (mask + 1)` for a non-negative integer tag of up to 53 bits (mask + 1 a power of two). */
function setIndex(tag: number, mask: number): number {
  return tag < 0x80000000 ? tag & mask : (tag % 0x100000000) & mask;
}

/** One set-associative TLB array. */
export class Tlb {
  readonly sets: number;
  readonly ways: number;
  /** Entry fields, index = set * ways + way. `valid` is 0/1. */
  readonly valid: Uint8Array;
  readonly vpnBase: Float64Array;
  readonly shift: Uint8Array;
  readonly asid: Int32Array;
  readonly global: Uint8Array;
  readonly ppn: Float64Array;
  readonly perm: Int32Array;
  readonly pteAddr: Float64Array;
  readonly pteLo: Int32Array;
  readonly pteHi: Int32Array;
  private readonly victim: Uint16Array;
  /** Small pages per entry for each configured size (2^(shift-12)), in pageShifts order. */
  private readonly sizePages: Float64Array;
  /** log2 of sizePages. */
  private readonly sizeLog2: Int32Array;
  /**
   * Valid entries of each configured size (pageShifts order), so that a lookup probes only the
   * sizes present: a miss then costs one set per size in use rather than one per size configured.
   * Never less than the true count (a host-side tool that clears `valid` directly leaves it higher).
   */
  private readonly sizeCount: Int32Array;
  /** Index into pageShifts of each page shift (-1: not configured). */
  private readonly sizeIndex: Int8Array;
  private readonly setMask: number;
  readonly counters: TlbCounters = { hits: 0, misses: 0, fills: 0, evictions: 0, invalidations: {}, invalidated: 0 };
  /** Called with (vpnBase, shift) of each entry removed by eviction or invalidation. */
  onDrop: ((vpnBase: number, shift: number) => void) | undefined;

  /**
   * @param name shown in statistics ("itlb", "dtlb", "l2tlb")
   * @param geometry entries and ways; entries/ways must be a power of two
   * @param pageShifts the page sizes this architecture maps, smallest first (e.g. [12, 21, 30, 39])
   */
  constructor(readonly name: string, geometry: TlbGeometry, readonly pageShifts: readonly number[]) {
    const { entries, ways } = geometry;
    const sets = entries / ways;
    if (!Number.isInteger(sets) || sets < 1 || (sets & (sets - 1)) !== 0) {
      throw new RangeError(`tlb ${name}: ${entries} entries / ${ways} ways is not a power-of-two number of sets`);
    }
    this.sets = sets;
    this.ways = ways;
    this.valid = new Uint8Array(entries);
    this.vpnBase = new Float64Array(entries);
    this.shift = new Uint8Array(entries);
    this.asid = new Int32Array(entries);
    this.global = new Uint8Array(entries);
    this.ppn = new Float64Array(entries);
    this.perm = new Int32Array(entries);
    this.pteAddr = new Float64Array(entries);
    this.pteLo = new Int32Array(entries);
    this.pteHi = new Int32Array(entries);
    this.victim = new Uint16Array(sets);
    this.sizePages = Float64Array.from(pageShifts, (s) => 2 ** (s - SMALL_SHIFT));
    this.sizeLog2 = Int32Array.from(pageShifts, (s) => s - SMALL_SHIFT);
    this.sizeCount = new Int32Array(pageShifts.length);
    this.sizeIndex = new Int8Array(64).fill(-1);
    pageShifts.forEach((s, k) => { this.sizeIndex[s] = k; });
    this.setMask = sets - 1;
  }

  /** Set index for page `vpn` in the array for page size 2^shift. */
  private setOf(vpn: number, shift: number): number {
    return setIndex(Math.floor(vpn / 2 ** (shift - SMALL_SHIFT)), this.setMask);
  }

  /**
   * Finds the entry translating page `vpn` in address space `asid` (or a global one).
   * Returns its index, or -1 on a miss. Counts a hit or a miss.
   */
  lookup(vpn: number, asid: number): number {
    const i = this.probe(vpn, asid);
    if (i >= 0) this.counters.hits++;
    else this.counters.misses++;
    return i;
  }

  /** Like {@link lookup} without counting. */
  probe(vpn: number, asid: number): number {
    const shifts = this.pageShifts;
    const sizePages = this.sizePages;
    const ways = this.ways;
    const valid = this.valid, vpnBase = this.vpnBase, shiftOf = this.shift, global = this.global, asidOf = this.asid;
    const small = vpn < 0x80000000; // the common case (every Sv39 VPN): integer shifts
    const mask = this.setMask;
    const count = this.sizeCount;
    for (let s = 0; s < sizePages.length; s++) {
      if (count[s] === 0) continue;
      let tag: number, base: number;
      if (small) {
        const k = this.sizeLog2[s]!;
        tag = vpn >>> k;
        base = (tag << k) >>> 0;
      } else {
        const pages = sizePages[s]!;
        tag = Math.floor(vpn / pages);
        base = tag * pages;
      }
      const shift = shifts[s]!;
      const first = (small ? tag & mask : setIndex(tag, mask)) * ways;
      for (let i = first; i < first + ways; i++) {
        if (vpnBase[i] === base && valid[i] === 1 && shiftOf[i] === shift && (global[i] === 1 || asidOf[i] === asid)) {
          return i;
        }
      }
    }
    return -1;
  }

  /**
   * Inserts a translation of the 2^shift-byte page containing `vpn`. An existing entry for the same
   * page, size and tag is replaced in place; otherwise the set's round-robin victim is evicted.
   * Returns the entry's index.
   */
  fill(vpn: number, shift: number, asid: number, global: boolean, ppn: number, perm: number, pteAddr: number, pteLo: number, pteHi: number): number {
    const k = shift - SMALL_SHIFT;
    let base: number, set: number;
    if (vpn < 0x80000000 && ppn < 0x80000000 && k < 31) {
      // The common case (every Sv39 VPN, RAM below 8 TiB): integer shifts, as in probe (no `2 **`,
      // which is a floating-point power on every call).
      base = ((vpn >>> k) << k) >>> 0;
      set = (vpn >>> k) & this.setMask;
      ppn = ((ppn >>> k) << k) >>> 0;
    } else {
      // Page numbers are integers below 2^53: `Math.floor` rather than `%` (a floating-point remainder).
      const pages = 2 ** k;
      base = Math.floor(vpn / pages) * pages;
      set = this.setOf(vpn, shift);
      ppn = Math.floor(ppn / pages) * pages;
    }
    const ways = this.ways;
    const first = set * ways;
    const g = global ? 1 : 0;
    let i = -1;
    for (let j = first; j < first + ways; j++) {
      if (this.valid[j] === 1 && this.vpnBase[j] === base && this.shift[j] === shift && this.global[j] === g && (global || this.asid[j] === asid)) {
        i = j;
        break;
      }
    }
    if (i < 0) {
      const v = this.victim[set]!;
      i = first + v;
      this.victim[set] = v + 1 === ways ? 0 : v + 1;
      if (this.valid[i] === 1) {
        this.counters.evictions++;
        this.drop(i);
      }
      this.sizeCount[this.sizeIndex[shift]!]!++;
    }
    this.valid[i] = 1;
    this.vpnBase[i] = base;
    this.shift[i] = shift;
    this.asid[i] = asid;
    this.global[i] = g;
    this.ppn[i] = ppn;
    this.perm[i] = perm;
    this.pteAddr[i] = pteAddr;
    this.pteLo[i] = pteLo;
    this.pteHi[i] = pteHi;
    this.counters.fills++;
    return i;
  }

  /** Removes the entries in `scope`. Returns how many were removed. */
  invalidate(scope: TlbScope): number {
    const c = this.counters;
    c.invalidations[scope.kind] = (c.invalidations[scope.kind] ?? 0) + 1;
    const n = scope.vpn === undefined ? this.invalidateRange(scope, 0, this.valid.length) : this.invalidatePage(scope, scope.vpn);
    c.invalidated += n;
    return n;
  }

  /** A page-scoped invalidation: only the one set per page size that can hold the page. */
  private invalidatePage(scope: TlbScope, vpn: number): number {
    let n = 0;
    for (let s = 0; s < this.pageShifts.length; s++) {
      const first = this.setOf(vpn, this.pageShifts[s]!) * this.ways;
      n += this.invalidateRange(scope, first, first + this.ways);
    }
    return n;
  }

  /** Removes the entries of indexes [from, to) that `scope` covers. */
  private invalidateRange(scope: TlbScope, from: number, to: number): number {
    let n = 0;
    for (let i = from; i < to; i++) {
      if (this.valid[i] !== 1) continue;
      if (scope.keepGlobal && this.global[i] === 1) continue;
      if (scope.asid !== undefined && this.global[i] !== 1 && this.asid[i] !== scope.asid) continue;
      if (scope.vpn !== undefined) {
        const pages = 2 ** (this.shift[i]! - SMALL_SHIFT);
        if (scope.vpn < this.vpnBase[i]! || scope.vpn >= this.vpnBase[i]! + pages) continue;
      }
      this.drop(i);
      n++;
    }
    return n;
  }

  private drop(i: number): void {
    this.valid[i] = 0;
    this.sizeCount[this.sizeIndex[this.shift[i]!]!]!--;
    this.onDrop?.(this.vpnBase[i]!, this.shift[i]!);
  }

  /** Copies of all valid entries, in index order. */
  entries(): TlbEntry[] {
    const out: TlbEntry[] = [];
    for (let i = 0; i < this.valid.length; i++) {
      if (this.valid[i] !== 1) continue;
      out.push({
        vpnBase: this.vpnBase[i]!, shift: this.shift[i]!, asid: this.asid[i]!, global: this.global[i] === 1,
        ppn: this.ppn[i]!, perm: this.perm[i]!, pteAddr: this.pteAddr[i]!,
        pte: (BigInt(this.pteHi[i]! >>> 0) << 32n) | BigInt(this.pteLo[i]! >>> 0),
      });
    }
    return out;
  }
}

/** Walk counters kept beside the TLB arrays (the MMU increments them). */
export interface WalkCounters {
  walks: number;
  /** Memory references made by walks (PTE reads and A/D write-backs). */
  walkRefs: number;
}

/**
 * The TLB hierarchy of one hart: L1 (split or unified) and an optional unified L2.
 * Lookups return an index into the L1 array that serves the access ({@link TlbSet.itlb} for
 * fetches, {@link TlbSet.dtlb} for data); an L2 hit is copied into L1 first.
 */
export class TlbSet {
  readonly itlb: Tlb;
  readonly dtlb: Tlb;
  readonly l2: Tlb | undefined;
  readonly walk: WalkCounters = { walks: 0, walkRefs: 0 };

  constructor(readonly config: TlbConfig, pageShifts: readonly number[]) {
    this.dtlb = new Tlb(config.split ? "dtlb" : "tlb", config.l1, pageShifts);
    this.itlb = config.split ? new Tlb("itlb", config.l1, pageShifts) : this.dtlb;
    this.l2 = config.l2 ? new Tlb("l2tlb", config.l2, pageShifts) : undefined;
  }

  /** All distinct arrays, L1 first. */
  get arrays(): Tlb[] {
    const a = this.config.split ? [this.itlb, this.dtlb] : [this.dtlb];
    return this.l2 ? [...a, this.l2] : a;
  }

  /** Sets the removal hook on every array. */
  set onDrop(f: ((vpnBase: number, shift: number) => void) | undefined) {
    for (const t of this.arrays) t.onDrop = f;
  }

  /** Index of the entry in `l1` for page `vpn`, consulting and refilling from L2; -1 on a miss. */
  lookup(l1: Tlb, vpn: number, asid: number): number {
    const i = l1.lookup(vpn, asid);
    if (i >= 0 || !this.l2) return i;
    const j = this.l2.lookup(vpn, asid);
    if (j < 0) return -1;
    const l2 = this.l2;
    return l1.fill(vpn, l2.shift[j]!, l2.asid[j]!, l2.global[j] === 1, l2.ppn[j]!, l2.perm[j]!, l2.pteAddr[j]!, l2.pteLo[j]!, l2.pteHi[j]!);
  }

  /** Inserts a walk result into `l1` and L2; returns the L1 index. */
  fill(l1: Tlb, vpn: number, shift: number, asid: number, global: boolean, ppn: number, perm: number, pteAddr: number, pteLo: number, pteHi: number): number {
    this.l2?.fill(vpn, shift, asid, global, ppn, perm, pteAddr, pteLo, pteHi);
    return l1.fill(vpn, shift, asid, global, ppn, perm, pteAddr, pteLo, pteHi);
  }

  /** Trace hook: called after every invalidation with its scope and the entries it removed. */
  onInvalidate: ((scope: TlbScope, removed: number) => void) | undefined;

  /** Applies an invalidation to every level. Returns the number of entries removed. */
  invalidate(scope: TlbScope): number {
    let n = 0;
    for (const t of this.arrays) n += t.invalidate(scope);
    this.onInvalidate?.(scope, n);
    return n;
  }

  /**
   * Counters: hits and misses of the L1 arrays (L2 is probed only after an L1 miss, see `arrays`
   * for its own), fills, evictions and invalidated entries over every array, plus walks.
   */
  stats(): { hits: number; misses: number; fills: number; evictions: number; invalidated: number; walks: number; walkRefs: number; invalidations: Record<string, number>; arrays: Record<string, TlbCounters> } {
    const arrays: Record<string, TlbCounters> = {};
    let hits = 0, misses = 0, fills = 0, evictions = 0, invalidated = 0;
    for (const t of this.arrays) {
      arrays[t.name] = t.counters;
      if (t !== this.l2) { hits += t.counters.hits; misses += t.counters.misses; }
      fills += t.counters.fills;
      evictions += t.counters.evictions;
      invalidated += t.counters.invalidated;
    }
    const invalidations = { ...this.dtlb.counters.invalidations };
    return { hits, misses, fills, evictions, invalidated, ...this.walk, invalidations, arrays };
  }
}
