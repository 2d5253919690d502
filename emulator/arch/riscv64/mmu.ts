/**
 * The RV64 MMU: Sv39 and Sv48 translation through the architectural TLB.
 *
 * Design choices the spec leaves open (documented in docs/riscv64.md):
 * - Invalid PTEs are never cached: only walks that reach a valid leaf with A=1 fill the TLB.
 * - A walk that reaches a valid leaf with A=1 fills the TLB even if the access then faults on
 *   permissions or on D=0 (Svade); faults never invalidate (RV-S "Faults do not invalidate").
 * - Svadu updates are done on a fresh walk, never from a TLB entry.
 * - PMP is not enforced (pmpcfg/pmpaddr are plain storage); PMA = the bus map.
 *
 * @spec RV-S §"Virtual Address Translation Process" (Priv 1.13, 10-step text); step numbers below.
 */
import { CHUNK_SHIFT, CHUNK_SIZE, type Bus, type BusRegion } from "../../core/memory.js";
import type { Tlb, TlbSet } from "../../core/tlb.js";
import { CAUSE, PRV_S, PRV_U, PTE } from "./defs.js";

/** A paging mode as data: one walk loop serves all of them. @spec RV-S §Sv39, §Sv48 */
export interface PagingMode {
  readonly name: string;
  readonly satpMode: number;
  readonly levels: number;
  readonly vaBits: number;
}
export const SV39: PagingMode = { name: "Sv39", satpMode: 8, levels: 3, vaBits: 39 };
export const SV48: PagingMode = { name: "Sv48", satpMode: 9, levels: 4, vaBits: 48 };
export const PAGING_MODES: readonly PagingMode[] = [SV39, SV48];

/** Page sizes this MMU maps: 4 KiB, 2 MiB, 1 GiB, 512 GiB. */
export const RISCV_PAGE_SHIFTS = [12, 21, 30, 39] as const;

/** Access kinds. */
export const FETCH = 0, LOAD = 1, STORE = 2;
export type Access = typeof FETCH | typeof LOAD | typeof STORE;

const PAGE_FAULT: readonly number[] = [CAUSE.INSN_PAGE, CAUSE.LOAD_PAGE, CAUSE.STORE_PAGE];
const ACCESS_FAULT: readonly number[] = [CAUSE.INSN_ACCESS, CAUSE.LOAD_ACCESS, CAUSE.STORE_ACCESS];
const TWO32 = 4294967296;

/** One PTE read by a walk (recorded only when tracing). */
export interface WalkStep {
  level: number;
  pteAddr: number;
  pte: bigint;
}

/** A TLB fill, reported to the trace hook. */
export interface FillEvent {
  va: bigint;
  asid: number;
  level: number;
  pa: number;
  global: boolean;
  perm: number;
  steps: WalkStep[];
}

/**
 * The strict-TLB hooks (see stale-tlb.ts); an MMU has them only in strict mode.
 */
export interface TlbHitCheck {
  /** Physical page numbers that held a PTE read by a walk (stores to them are tracked). */
  readonly ptePages: Set<number>;
  /**
   * Called on every translation served by a TLB hit (L1, or L2 copied into L1), before the
   * permission checks, with the entry `e` of `tlb` and the VA (hi:lo, page `vpn`). It must have
   * no architectural effect.
   */
  hit(mmu: Mmu, tlb: Tlb, e: number, vpn: number, lo: number, hi: number, access: Access): void;
}

/** How a side-effect-free walk ({@link Mmu.peek}) ended. */
export type PeekOutcome = "leaf" | "page-fault" | "access-fault" | "device";

/**
 * The result of {@link Mmu.peek}, overwritten by each call. For "leaf" the PTE fields describe the
 * leaf; otherwise the PTE the walk stopped at ("device" and "access-fault": a PTE address outside
 * RAM, which was not read, so `lo`/`hi` are 0).
 */
export interface PeekResult {
  outcome: PeekOutcome;
  /** The PTE, as int32 halves. */
  lo: number;
  hi: number;
  pteAddr: number;
  level: number;
  /** G was set on the path so far. */
  global: boolean;
  /** Addresses of the PTEs read, root first: `path[0 .. pathLength)`. */
  readonly path: Float64Array;
  pathLength: number;
}

/** Walk results other than a fault cause. */
const LEAF = -1;
/** A side-effect-free walk met a PTE address in device memory and did not read it. */
const DEVICE = -2;
/** {@link Mmu.peekRam}: the PTE was read; its address is a hole. (Or {@link DEVICE}.) */
const READ = 0, HOLE = 1;

/** Translation state and the walker of one hart. */
export class Mmu {
  /** The satp mode in force, or undefined for Bare. */
  mode: PagingMode | undefined;
  asid = 0;
  rootPpn = 0;
  /** mstatus.SUM and MXR, as booleans. */
  sum = false;
  mxr = false;
  /** menvcfg.ADUE: hardware A/D updates (Svadu). */
  adue = false;
  /** Cause code of the last failed translation. */
  cause = 0;
  /** Of the last successful translation: could the page be cached for fast stores (D=1 or Bare)? */
  writable = false;
  /** Trace hook for TLB fills; when set, walks record their steps. */
  onFill: ((e: FillEvent) => void) | undefined;
  /** With the TLB's flushOnPteWrite mode: physical pages holding PTEs read by walks. */
  readonly ptePages: Set<number> | undefined;
  /** Strict TLB mode: every hit is compared with a fresh walk. */
  strict: TlbHitCheck | undefined;
  /** The last {@link peek}. */
  readonly peeked: PeekResult = { outcome: "leaf", lo: 0, hi: 0, pteAddr: 0, level: 0, global: false, path: new Float64Array(5), pathLength: 0 };

  private steps: WalkStep[] = [];
  /** The RAM region that held the last PTE read ({@link peekRam}). */
  private pteRegion: BusRegion | undefined;
  private wLo = 0;
  private wHi = 0;
  private wAddr = 0;
  private wLevel = 0;
  private wGlobal = false;

  constructor(private readonly bus: Bus, readonly tlbs: TlbSet) {
    this.ptePages = tlbs.config.flushOnPteWrite ? new Set() : undefined;
  }

  /**
   * Translates VA (hi:lo) for `access` at effective privilege `priv` (M-mode and Bare are physical).
   * Returns the physical address, or -1 with {@link cause} set (stval is the VA).
   */
  translate(lo: number, hi: number, access: Access, priv: number): number {
    const mode = this.mode;
    if (mode === undefined || priv > PRV_S) {
      this.writable = true;
      return (hi >>> 0) * TWO32 + (lo >>> 0);
    }
    // Step 1 (and §Sv39/§Sv48): bits 63:vaBits-1 must all equal, else a page fault.
    const top = hi >> (mode.vaBits - 33);
    if (top !== 0 && top !== -1) return this.fault(PAGE_FAULT[access]!);
    const vpn = (hi & ((1 << (mode.vaBits - 32)) - 1)) * 1048576 + (lo >>> 12);
    const tlbs = this.tlbs;
    const tlb = access === FETCH ? tlbs.itlb : tlbs.dtlb;
    let e = tlbs.lookup(tlb, vpn, this.asid);
    let perm: number;
    if (e >= 0) {
      perm = tlb.perm[e]!;
      if (access === STORE && (perm & PTE.D) === 0 && this.adue && this.permits(perm, access, priv)) {
        e = -1; // Svadu: set D on a fresh walk, never from the cached entry.
      } else if (this.strict) {
        this.strict.hit(this, tlb, e, vpn, lo, hi, access);
      }
    }
    if (e < 0) {
      const walked = this.walk(mode, vpn, access, false);
      if (walked !== LEAF) return this.fault(walked);
      perm = this.wLo & 0xff;
      // Steps 6-8 before step 9: a permission fault sets no A/D bit.
      if (!this.permits(perm, access, priv)) {
        if (perm & PTE.A) this.fill(tlb, vpn, lo, hi);
        return this.fault(PAGE_FAULT[access]!);
      }
      // Step 9: A=0, or a store to D=0.
      if ((perm & PTE.A) === 0 || (access === STORE && (perm & PTE.D) === 0)) {
        if (!this.adue) {
          if (perm & PTE.A) this.fill(tlb, vpn, lo, hi);
          return this.fault(PAGE_FAULT[access]!);
        }
        const nlo = this.wLo | PTE.A | (access === STORE ? PTE.D : 0);
        // The walk's read and this write are one atomic step: nothing else runs in between.
        if (!this.bus.write(this.wAddr, 8, nlo, this.wHi)) return this.fault(ACCESS_FAULT[access]!);
        tlbs.walk.walkRefs++;
        this.wLo = nlo;
        perm = nlo & 0xff;
      }
      e = this.fill(tlb, vpn, lo, hi);
    } else if (!this.permits(perm!, access, priv)) {
      return this.fault(PAGE_FAULT[access]!);
    } else if (access === STORE && (perm! & PTE.D) === 0) {
      return this.fault(PAGE_FAULT[access]!); // Svade: D=0 in the cached entry.
    }
    this.writable = (perm! & PTE.D) !== 0;
    // Step 10: superpage offsets come from the VA.
    return (tlb.ppn[e]! + (vpn - tlb.vpnBase[e]!)) * 4096 + (lo & 0xfff);
  }

  /**
   * Steps 6 and 8: the U-bit rule with SUM, and R/W/X with MXR.
   * @spec RV-S step 6 ("pte.u … SUM"), step 8, §sstatus "MXR"
   */
  permits(perm: number, access: Access, priv: number): boolean {
    if (perm & PTE.U) {
      if (priv === PRV_S && (access === FETCH || !this.sum)) return false;
    } else if (priv === PRV_U) {
      return false;
    }
    if (access === FETCH) return (perm & PTE.X) !== 0;
    if (access === LOAD) return (perm & PTE.R) !== 0 || (this.mxr && (perm & PTE.X) !== 0);
    return (perm & PTE.W) !== 0;
  }

  /**
   * Walks the current tables for page `vpn` as {@link translate} would, without side effects: no
   * A/D update, no TLB fill, no counters, no trace, and only RAM is read (a PTE address in device
   * memory stops the walk unread). The result is in {@link peeked}. Used by the strict-TLB check.
   * Call it only with paging on ({@link mode} set).
   */
  peek(vpn: number): PeekResult {
    const r = this.peeked;
    const walked = this.walk(this.mode!, vpn, LOAD, true);
    r.outcome = walked === LEAF ? "leaf" : walked === DEVICE ? "device" : ACCESS_FAULT.includes(walked) ? "access-fault" : "page-fault";
    r.lo = this.wLo;
    r.hi = this.wHi;
    r.pteAddr = this.wAddr;
    r.level = this.wLevel;
    r.global = this.wGlobal;
    return r;
  }

  /**
   * Steps 1-5: walks the tables for `vpn`. Returns {@link LEAF} with the leaf in
   * wLo/wHi/wAddr/wLevel/wGlobal, or the fault's cause with those fields describing the PTE where
   * the walk stopped. `pure` is {@link peek}'s mode: RAM reads only ({@link DEVICE} for a PTE in
   * device memory), nothing counted or recorded, and the path goes to {@link peeked}.
   */
  private walk(mode: PagingMode, vpn: number, access: Access, pure: boolean): number {
    const bus = this.bus;
    const counters = this.tlbs.walk;
    const tracing = !pure && this.onFill !== undefined;
    const strictPages = pure ? undefined : this.strict?.ptePages;
    const path = this.peeked.path;
    if (pure) this.peeked.pathLength = 0;
    if (tracing) this.steps = [];
    if (!pure) counters.walks++;
    let a = this.rootPpn * 4096; // step 1
    let global = false;
    this.wGlobal = false;
    for (let i = mode.levels - 1; i >= 0; i--) {
      const idx = vpn < 0x80000000 ? (vpn >>> (9 * i)) & 511 : Math.floor(vpn / 2 ** (9 * i)) % 512;
      const pteAddr = a + idx * 8;
      this.wAddr = pteAddr;
      this.wLevel = i;
      this.wLo = 0;
      this.wHi = 0;
      // Step 2: the PTE read; a PMA violation is an access fault of the original access type.
      // RAM is read straight from its chunk; a PTE in device memory is a bus read (not for peek).
      const read = this.peekRam(pteAddr);
      if (pure) {
        path[this.peeked.pathLength++] = pteAddr;
        if (read === DEVICE) return DEVICE;
        if (read === HOLE) return ACCESS_FAULT[access]!;
      } else {
        if (read === HOLE) return ACCESS_FAULT[access]!;
        if (read === DEVICE) {
          if (!bus.read(pteAddr, 8)) return ACCESS_FAULT[access]!;
          this.wLo = bus.lo;
          this.wHi = bus.hi;
        }
        counters.walkRefs++;
        if (this.ptePages) this.ptePages.add(Math.floor(pteAddr / 4096));
        if (strictPages) strictPages.add(Math.floor(pteAddr / 4096));
        if (tracing) this.steps.push({ level: i, pteAddr, pte: (BigInt(this.wHi >>> 0) << 32n) | BigInt(this.wLo >>> 0) });
      }
      const plo = this.wLo;
      const phi = this.wHi;
      // Step 3: V=0, W without R, or reserved bits 63:54 (no Svpbmt/Svnapot/Svrsw60t59b here).
      if ((plo & PTE.V) === 0 || ((plo & PTE.R) === 0 && (plo & PTE.W) !== 0) || phi >>> 22 !== 0) {
        return PAGE_FAULT[access]!;
      }
      if (plo & PTE.G) global = true;
      this.wGlobal = global;
      const ppn = (phi & 0x3fffff) * 4194304 + (plo >>> 10);
      if ((plo & (PTE.R | PTE.X)) === 0) {
        // Step 4: a pointer to the next level; D, A and U are reserved in non-leaf PTEs.
        if (plo & (PTE.D | PTE.A | PTE.U)) return PAGE_FAULT[access]!;
        a = ppn * 4096;
        continue;
      }
      // Step 5: a superpage must be aligned: ppn[i-1:0] == 0.
      if (i > 0 && ppn % 2 ** (9 * i) !== 0) return PAGE_FAULT[access]!;
      return LEAF;
    }
    // Step 4: i < 0 without reaching a leaf.
    return PAGE_FAULT[access]!;
  }

  /**
   * Reads the PTE at `pa` into wLo/wHi straight from RAM (no bus access, nothing allocated; the RAM
   * region of the last PTE read is kept, since regions never move):
   * {@link READ}, or {@link HOLE} / {@link DEVICE} without reading.
   */
  private peekRam(pa: number): number {
    let r = this.pteRegion;
    if (r === undefined || !(pa >= r.base && pa + 8 <= r.base + r.size)) {
      const found = this.bus.find(pa, 8);
      if (found === undefined) return HOLE;
      if (found.ram === undefined) return DEVICE;
      r = this.pteRegion = found;
    }
    // PTE addresses are 8-byte aligned, so the entry never straddles a chunk; offsets are integers
    // below 2^53, whose low 16 bits survive the mask.
    const off = pa - r.base;
    const c = r.ram!.chunks[off < 0x1_0000_0000 ? off >>> CHUNK_SHIFT : Math.floor(off / CHUNK_SIZE)];
    const co = off & (CHUNK_SIZE - 1);
    this.wLo = c ? c.getInt32(co, true) : 0;
    this.wHi = c ? c.getInt32(co + 4, true) : 0;
    return READ;
  }

  private fill(tlb: Tlb, vpn: number, lo: number, hi: number): number {
    const shift = 12 + 9 * this.wLevel;
    const ppn = (this.wHi & 0x3fffff) * 4194304 + (this.wLo >>> 10);
    const e = this.tlbs.fill(tlb, vpn, shift, this.asid, this.wGlobal, ppn, this.wLo & 0xff, this.wAddr, this.wLo, this.wHi);
    if (this.onFill) {
      const va = BigInt.asUintN(64, (BigInt(hi) << 32n) | BigInt(lo >>> 0));
      this.onFill({ va, asid: this.asid, level: this.wLevel, pa: tlb.ppn[e]! * 4096, global: this.wGlobal, perm: this.wLo & 0xff, steps: this.steps });
    }
    return e;
  }

  private fault(cause: number): number {
    this.cause = cause;
    return -1;
  }
}
