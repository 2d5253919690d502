/**
 * The IA-32e page walker: reads the paging structures for one page number, checks P and the
 * reserved bits level by level, combines the rights (R/W and U/S ANDed, XD ORed), and after a
 * successful access sets A and D. It knows nothing of the TLB or of the access rules; X86Mmu
 * (mmu.ts) drives it on a TLB miss and applies the rights.
 *
 * Nothing here allocates per walk except the trace steps (only when tracing).
 * @spec Intel SDM Vol. 3A §4.5 (Figures 4-8/4-9, Tables 4-14..4-20), §4.5.4 (reserved bits), §4.8 (A/D)
 */
import { CHUNK_SIZE, type Bus } from "../../core/memory.js";
import type { WalkCounters } from "../../core/tlb.js";
import { PF, PTE, TLB_PERM, type X86PagingMode } from "./paging-defs.js";

/** One entry read by a walk (recorded only when tracing). */
export interface WalkStep {
  /** 0 = PTE ... 4 = PML5E. */
  level: number;
  pteAddr: number;
  pte: bigint;
}

/** How a side-effect-free walk ({@link X86PageWalker.peek}) ended. */
export type PeekOutcome = "leaf" | "page-fault" | "device";

/**
 * The result of a peek, overwritten by each call. For "leaf" the entry fields describe the leaf;
 * for "page-fault" the entry the walk stopped at (not present or a reserved bit); for "device" an
 * entry address in device memory, which was not read (`lo`/`hi` are 0).
 */
export interface PeekResult {
  outcome: PeekOutcome;
  lo: number;
  hi: number;
  pteAddr: number;
  level: number;
  /** The rights combined down to the leaf, as {@link TLB_PERM} bits (only for "leaf"). */
  perm: number;
  /** Addresses of the entries read, root first: `path[0 .. pathLength)`. */
  readonly path: Float64Array;
  pathLength: number;
}

/** {@link X86PageWalker.walk} found a leaf. Other results: a #PF error-code part (>= 0) or {@link WALK_DEVICE}. */
export const WALK_LEAF = -1;
/** A side-effect-free walk met an entry address in device memory and did not read it. */
export const WALK_DEVICE = -2;
/** The #PF error-code part of a reserved-bit violation. */
const RESERVED = PF.P | PF.RSVD;

const TWO32 = 4294967296;
/** Small pages per index step of each level: 512^level. */
const LEVEL_PAGES: readonly number[] = [1, 512, 262144, 134217728, 68719476736];
/** Address bits 51:32 of an entry (in its high half). */
const ADDR_HI = 0xfffff;
/** Reserved low bits of a 2 MiB leaf (20:13) and of a 1 GiB leaf (29:13). @spec SDM Vol. 3A Tables 4-17, 4-19 */
const RSVD_LO_2M = 0x001fe000;
const RSVD_LO_1G = 0x3fffe000;
const { RW, US, XD } = TLB_PERM;

/** The walker of one MMU, with the last walk's result in its fields. */
export class X86PageWalker {
  /** Physical address of the root table (CR3[M-1:12]); the MMU keeps it current. */
  root = 0;
  /** Reserved bits of every entry's high half: 51:M, and bit 63 when EFER.NXE=0; the MMU keeps it current. */
  rsvdHi = 0;
  /** The leaf (or the entry where the walk stopped): value, address, level. */
  lo = 0;
  hi = 0;
  addr = 0;
  level = 0;
  /** Of a leaf: the combined rights and the leaf's attributes ({@link TLB_PERM}), and its 4 KiB frame number. */
  perm = 0;
  ppn = 0;
  /** Trace steps of the last walk made with `tracing`. */
  steps: WalkStep[] = [];
  /** The last {@link peek}. */
  readonly peeked: PeekResult = { outcome: "leaf", lo: 0, hi: 0, pteAddr: 0, level: 0, perm: 0, path: new Float64Array(5), pathLength: 0 };
  private readonly pathAddr = new Float64Array(5);
  private readonly pathLo = new Int32Array(5);
  private pathLength = 0;

  constructor(private readonly bus: Bus, private readonly counters: WalkCounters) {}

  /**
   * Walks the tables for page `vpn` in mode `pm`. Returns {@link WALK_LEAF} with the leaf in
   * lo/hi/addr/level, its rights and attributes in perm and its frame in ppn; or a #PF error-code
   * part (0: not present; P|RSVD: a reserved bit) with lo/hi/addr/level describing the entry where
   * the walk stopped; or, when `pure`, {@link WALK_DEVICE}.
   *
   * `pure` is the side-effect-free mode of {@link peek}: only RAM is read, nothing is counted or
   * recorded. Otherwise entries are read through the bus (a hole reads as all ones, as every x86
   * read of a hole does here), counted, added to `pages` and `morePages` (PTE-page tracking), and
   * recorded in {@link steps} when `tracing`.
   */
  walk(pm: X86PagingMode, vpn: number, pure: boolean, tracing: boolean, pages: Set<number> | undefined, morePages: Set<number> | undefined): number {
    const bus = this.bus;
    if (tracing) this.steps = [];
    if (!pure) this.counters.walks++;
    this.pathLength = 0;
    let table = this.root;
    let perm = RW | US;
    let xd = 0;
    for (let i = pm.levels - 1; i >= 0; i--) {
      const addr = table + (Math.floor(vpn / LEVEL_PAGES[i]!) % 512) * 8;
      this.addr = addr;
      this.level = i;
      this.lo = this.hi = 0;
      if (pure) {
        if (!this.peekRam(addr)) return WALK_DEVICE;
      } else {
        if (bus.read(addr, 8)) {
          this.lo = bus.lo;
          this.hi = bus.hi;
        } else {
          this.lo = this.hi = -1;
        }
        this.counters.walkRefs++;
        const page = Math.floor(addr / 4096);
        pages?.add(page);
        morePages?.add(page);
        if (tracing) this.steps.push({ level: i, pteAddr: addr, pte: (BigInt(this.hi >>> 0) << 32n) | BigInt(this.lo >>> 0) });
      }
      const lo = this.lo, hi = this.hi;
      const n = this.pathLength++;
      this.pathAddr[n] = addr;
      this.pathLo[n] = lo;
      if ((lo & PTE.P) === 0) return 0;
      const ps = (lo & PTE.PS) !== 0;
      const leaf = i === 0 || (ps && ((pm.psLeafLevels >> i) & 1) !== 0);
      if ((hi & this.rsvdHi) !== 0) return RESERVED;
      if (ps && i > 0 && !leaf) return RESERVED; // PS in a PML4E/PML5E
      if (leaf && i === 1 && (lo & RSVD_LO_2M) !== 0) return RESERVED;
      if (leaf && i === 2 && (lo & RSVD_LO_1G) !== 0) return RESERVED;
      perm &= lo;
      if ((hi & PTE.XD_HI) !== 0) xd = XD; // reached only with NXE=1 (else reserved)
      if (leaf) {
        const pat = i === 0 ? lo & PTE.PAT_4K : (lo & PTE.PAT_LARGE) !== 0 ? TLB_PERM.PAT : 0;
        this.perm = (perm & (RW | US)) | xd | (lo & (PTE.PWT | PTE.PCD | PTE.A | PTE.D | PTE.G)) | pat;
        const frameLo = i === 0 ? lo & ~0xfff : lo & ~(LEVEL_PAGES[i]! * 4096 - 1);
        this.ppn = (hi & ADDR_HI) * 1048576 + (frameLo >>> 12);
        return WALK_LEAF;
      }
      table = (hi & ADDR_HI) * TWO32 + ((lo & ~0xfff) >>> 0);
    }
    return 0; // unreachable: level 0 is always a leaf
  }

  /**
   * After a successful access: sets A in every entry of the last walk's path that lacks it, and D
   * in the leaf for a write, root first, each with one 4-byte write of the entry's low half (a hole
   * drops it). The walk's reads and these writes are one atomic step: nothing runs in between.
   * @spec SDM Vol. 3A §4.8 (A in every entry used, D in the leaf on a write)
   */
  setAccessedDirty(write: boolean): void {
    const last = this.pathLength - 1;
    for (let n = 0; n <= last; n++) {
      const lo = this.pathLo[n]!;
      const want = n === last && write ? PTE.A | PTE.D : PTE.A;
      if ((lo & want) === want) continue;
      const nlo = lo | want;
      this.bus.write(this.pathAddr[n]!, 4, nlo);
      this.counters.walkRefs++;
      this.pathLo[n] = nlo;
      if (n === last) this.lo = nlo;
    }
    this.perm |= TLB_PERM.A | (write ? TLB_PERM.D : 0);
  }

  /**
   * A side-effect-free walk ({@link walk} with `pure`): no A/D update, no counters, no trace, only
   * RAM read (device memory stops it unread; a hole reads all ones). The result is in {@link peeked}.
   */
  peek(pm: X86PagingMode, vpn: number): PeekResult {
    const r = this.peeked;
    const walked = this.walk(pm, vpn, true, false, undefined, undefined);
    r.outcome = walked === WALK_LEAF ? "leaf" : walked === WALK_DEVICE ? "device" : "page-fault";
    r.lo = this.lo;
    r.hi = this.hi;
    r.pteAddr = this.addr;
    r.level = this.level;
    r.perm = walked === WALK_LEAF ? this.perm : 0;
    r.pathLength = this.pathLength;
    r.path.set(this.pathAddr.subarray(0, this.pathLength));
    return r;
  }

  /** Reads the entry at `pa` into lo/hi straight from RAM (a hole reads all ones). False for device memory. */
  private peekRam(pa: number): boolean {
    const r = this.bus.find(pa, 8);
    if (r === undefined) {
      this.lo = this.hi = -1;
      return true;
    }
    if (r.ram === undefined) return false;
    const off = pa - r.base;
    const c = r.ram.chunks[Math.floor(off / CHUNK_SIZE)];
    const co = off % CHUNK_SIZE;
    this.lo = c ? c.getInt32(co, true) : 0;
    this.hi = c ? c.getInt32(co + 4, true) : 0;
    return true;
  }
}
