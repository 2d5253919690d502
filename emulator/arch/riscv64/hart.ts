/**
 * An RV64IMAC hart with M, S and U modes: state, the fetch/decode/execute loop and the memory
 * access paths (host fast path → architectural TLB → page walk).
 *
 * 64-bit values are int32 halves: x registers in `xl`/`xh`, the pc in `pcLo`/`pcHi`.
 * Faults are returned, never thrown: an instruction that traps calls {@link takeTrap} and the loop
 * continues at the vector. The host fast path (`r*`, `w*`, `fetch*` fields) caches only what the
 * architectural TLB currently holds for the current privilege/satp/mstatus context, and is dropped
 * whenever any TLB entry is dropped or that context changes, so it never changes what the guest sees.
 */
import type { Bus } from "../../core/memory.js";
import { TlbSet, type TlbConfig } from "../../core/tlb.js";
import { CSR, IRQ, MSTATUS, PRV_M, PRV_U, SATP_MODE_SV48, CAUSE } from "./defs.js";
import { DecodedPage, Op, decodeInto, markCross, markNative } from "./decode.js";
import { FETCH, LOAD, Mmu, PAGING_MODES, RISCV_PAGE_SHIFTS, STORE } from "./mmu.js";
import { pendingInterrupt, takeTrap, trapReturn, type TrapEvent } from "./trap.js";
import type { StaleTlbDetector } from "./stale-tlb.js";
import { CodeCache } from "./code-cache.js";
import { execute } from "./execute.js";
import { FP_SLOTS, loadSlow, storeSlow } from "./memory-access.js";

const INVALID_TAG = 1;

/** Where the interrupt lines of the hart come from (the CLINT). */
export interface InterruptLines {
  timerPending(hart: number): boolean;
  softwarePending(hart: number): boolean;
}

/**
 * A native entry: TypeScript that stands at a physical address where kernel or firmware text would
 * be. It runs when the hart fetches that address in S- or M-mode, after the hardware has done
 * everything it does for any instruction fetch (translation, and for a trap vector the whole trap
 * entry). It must leave by changing the pc: `hart.sret()`, `hart.mret()`, or a jump.
 */
export type NativeEntry = (hart: Hart) => void;

/** Options of one hart. */
export interface HartOptions {
  hartId: number;
  tlb: TlbConfig;
  /** Svadu present: menvcfg.ADUE can be set, and then A/D are updated by hardware. */
  svadu?: boolean;
  /** Largest satp mode supported: Sv39 (8) or Sv48 (9, default). */
  maxSatpMode?: number;
  /** ASIDLEN: implemented bits of satp.ASID, 0 to 16 (default 16); the rest read as zero. */
  asidBits?: number;
  /** Disables the host fast path (for checking that it changes nothing). */
  noFastPath?: boolean;
  /** The decode cache and native entries shared with the machine's other harts (default: its own). */
  code?: CodeCache;
}

export class Hart {
  readonly hartId: number;
  /** x registers, low and high words; index 32 is the sink that stands for x0 as destination. */
  readonly xl = new Int32Array(33);
  readonly xh = new Int32Array(33);
  pcLo = 0;
  pcHi = 0;
  priv = PRV_M;
  /** Instructions retired. */
  icount = 0;
  /** Traps taken. */
  traps = 0;
  /** mcycle and minstret minus the instruction count (set by CSR writes). */
  cycleOffset = 0n;
  instretOffset = 0n;
  /** The last trap's cause code and kind, for messages. */
  lastCause = 0;
  lastInterrupt = false;
  /** mstatus low word (the high word is constant). */
  mstatus = 0;
  mie = 0;
  /** mip bits written by software (SSIP, STIP, SEIP); MTIP/MSIP come from {@link lines}. */
  mipSoft = 0;
  /** Plain CSR storage, indexed by CSR number. */
  readonly csrLo = new Int32Array(4096);
  readonly csrHi = new Int32Array(4096);
  /** LR reservation: physical address, or -1. */
  reservation = -1;
  readonly svadu: boolean;
  readonly maxSatpMode: number;
  /** Mask of the implemented satp.ASID bits (ASIDLEN ones). */
  readonly asidMask: number;
  readonly mmu: Mmu;
  readonly tlbs: TlbSet;
  /** Scratch pair for CSR reads and M-extension results. */
  readonly tmp = { lo: 0, hi: 0 };
  /** Value of the last slow-path load (zero-extended halves). */
  ldLo = 0;
  ldHi = 0;
  /** The run loop stops before the instruction at this count (interrupt checks, budgets). */
  stopAt = 0;
  /**
   * Every trap entry and trap return ends the run slice (the default). With several harts the
   * schedule's interleaving depends on it; a machine with one hart turns it off (see trap.ts,
   * "Slices"), since there a slice only has to end where an interrupt may have to be taken.
   */
  trapEndsSlice = true;
  /** {@link icount} at the last trap entry (-1 before the first). */
  lastTrapIcount = -1;
  /** The machine has been told to stop (power-off, finisher): natives may return without leaving. */
  halted = false;
  /** Set by WFI when nothing can ever wake the hart. */
  wfiHang = false;
  /** Set by WFI: the machine should advance time to the next timer event. */
  waiting = false;
  /** Trace hook for traps. */
  onTrap: ((e: TrapEvent) => void) | undefined;
  /** Interrupt sources and the clock; set by the machine. */
  lines: InterruptLines | undefined;
  time: () => number = () => this.icount;

  /** The decode cache, native entries and fast-store rules shared by the machine's harts. */
  readonly code: CodeCache;
  /** Native entries: physical address → index into {@link nativeFns} (shared, see {@link code}). */
  private readonly nativeAt: Map<number, number>;
  private readonly nativeFns: NativeEntry[];
  /** Decode cache: physical page number → decoded instructions (shared, see {@link code}). */
  readonly decoded: Map<number, DecodedPage>;
  /** Host fast path for loads (r) and stores (w): direct-mapped by VA page. */
  readonly rTagLo = new Int32Array(FP_SLOTS).fill(INVALID_TAG);
  readonly rTagHi = new Int32Array(FP_SLOTS);
  readonly rView: (DataView | null)[] = new Array(FP_SLOTS).fill(null);
  readonly rOff = new Int32Array(FP_SLOTS);
  readonly wTagLo = new Int32Array(FP_SLOTS).fill(INVALID_TAG);
  readonly wTagHi = new Int32Array(FP_SLOTS);
  readonly wView: (DataView | null)[] = new Array(FP_SLOTS).fill(null);
  readonly wOff = new Int32Array(FP_SLOTS);
  /**
   * The slots filled since the last flush (`rUsed[0 .. rUsedN)`, `rListed[s]` = 1 when slot s is
   * in that list), so that a flush clears only those: a trap entry and an `sret` each flush, and
   * between two traps only a few slots are filled.
   */
  readonly rUsed = new Int32Array(FP_SLOTS);
  readonly rListed = new Uint8Array(FP_SLOTS);
  rUsedN = 0;
  readonly wUsed = new Int32Array(FP_SLOTS);
  readonly wListed = new Uint8Array(FP_SLOTS);
  wUsedN = 0;
  /** Fetch fast path: the VA page of the pc, and its decoded page. */
  fetchTagLo = INVALID_TAG;
  fetchTagHi = 0;
  fetchPage: DecodedPage = new DecodedPage();
  fetchPpn = -1;
  /** The privilege the fetch entry above was made for. */
  private fetchPriv = PRV_M;
  /**
   * Fetch entries of the other privilege levels (index: privilege), put aside when a trap entry or
   * return changes only the privilege and taken back when the hart returns to it: the user loop's
   * page and the kernel's trap vector page survive each other's traps. Dropped with the fetch entry
   * (any TLB drop of their page, a write to their physical page, any other change of context).
   */
  private readonly stashTagLo = new Int32Array(4).fill(INVALID_TAG);
  private readonly stashTagHi = new Int32Array(4);
  private readonly stashPpn = new Float64Array(4).fill(-1);
  private readonly stashPage: DecodedPage[] = [this.fetchPage, this.fetchPage, this.fetchPage, this.fetchPage];
  /** Decoded page for an instruction that straddles two pages (not cached). */
  readonly scratch = new DecodedPage();
  /** Effective privilege for loads and stores (MPRV). */
  dataPriv = PRV_M;
  /** The host fast path is on (off with noFastPath, flushOnPteWrite, or strict TLB mode). */
  fastPath: boolean;

  constructor(readonly bus: Bus, opts: HartOptions) {
    this.hartId = opts.hartId;
    this.svadu = opts.svadu ?? false;
    this.maxSatpMode = opts.maxSatpMode ?? SATP_MODE_SV48;
    const asidBits = opts.asidBits ?? 16;
    if (!Number.isInteger(asidBits) || asidBits < 0 || asidBits > 16) throw new RangeError(`hart: ${asidBits} ASID bits (0 to 16 are possible)`);
    this.asidMask = (1 << asidBits) - 1;
    this.fastPath = !(opts.noFastPath ?? false) && !opts.tlb.flushOnPteWrite;
    this.tlbs = new TlbSet(opts.tlb, RISCV_PAGE_SHIFTS);
    this.tlbs.onDrop = (vpnBase, shift) => this.dropFast(vpnBase, shift);
    this.mmu = new Mmu(bus, this.tlbs);
    this.code = opts.code ?? new CodeCache();
    this.code.harts.push(this);
    this.nativeAt = this.code.nativeAt;
    this.nativeFns = this.code.nativeFns;
    this.decoded = this.code.decoded;
  }

  /**
   * Strict TLB mode: the host fast path goes off for good, so every fetch, load and store is
   * translated through the TLB and every store reaches the bus; each TLB hit is then checked by
   * `detector` (reports only: what the guest sees does not change).
   */
  checkTlbHits(detector: StaleTlbDetector): void {
    this.fastPath = false;
    this.flushFast();
    this.mmu.strict = {
      ptePages: detector.ptePages,
      hit: (mmu, tlb, e, vpn, lo, hi, access) => detector.check(this, mmu, tlb, e, vpn, lo, hi, access),
    };
  }

  /** Resets to M-mode at `pc` with a0 = hart id, a1 = `a1` (the DTB address). */
  reset(pcLo: number, pcHi: number, a1: number): void {
    this.xl.fill(0);
    this.xh.fill(0);
    this.xl[10] = this.hartId;
    this.xl[11] = a1 % 4294967296 | 0;
    this.xh[11] = Math.floor(a1 / 4294967296) | 0;
    this.pcLo = pcLo;
    this.pcHi = pcHi;
    this.priv = PRV_M;
    this.mstatus = 0;
    this.mie = 0;
    this.mipSoft = 0;
    this.csrLo.fill(0);
    this.csrHi.fill(0);
    this.reservation = -1;
    this.cycleOffset = 0n;
    this.instretOffset = 0n;
    this.tlbs.invalidate({ kind: "reset" });
    this.translationChanged();
    this.flushFast();
  }

  /** The pc as an unsigned bigint. */
  get pc(): bigint {
    return BigInt.asUintN(64, (BigInt(this.pcHi) << 32n) | BigInt(this.pcLo >>> 0));
  }

  /** x register `i` as an unsigned bigint. */
  x(i: number): bigint {
    return BigInt.asUintN(64, (BigInt(this.xh[i]!) << 32n) | BigInt(this.xl[i]! >>> 0));
  }

  /** Sets x register `i` (host-side). */
  setX(i: number, v: bigint): void {
    if (i === 0) return;
    this.xl[i] = Number(BigInt.asUintN(32, v)) | 0;
    this.xh[i] = Number(BigInt.asUintN(32, v >> 32n)) | 0;
  }

  /** mip as software sees it: software-written bits plus MTIP and MSIP from the CLINT. */
  mipValue(): number {
    let v = this.mipSoft;
    const l = this.lines;
    if (l) {
      if (l.timerPending(this.hartId)) v |= 1 << IRQ.MTI;
      if (l.softwarePending(this.hartId)) v |= 1 << IRQ.MSI;
    }
    return v;
  }

  /** Something that may enable or raise an interrupt changed: stop after this instruction to check. */
  interruptsChanged(): void {
    this.stopAt = 0;
  }

  /**
   * Privilege, satp, mstatus or menvcfg changed: recompute the MMU context and drop the fast path.
   * When only the privilege changed, the fetch entry is put aside for the old privilege and the one
   * put aside for the new privilege comes back (see {@link stashTagLo}); trap entries and returns
   * call {@link privilegeChanged}, which does only that.
   */
  translationChanged(): void {
    this.setDataPriv();
    const m = this.mmu;
    const oldMode = m.mode, oldAsid = m.asid, oldRoot = m.rootPpn, oldSum = m.sum, oldMxr = m.mxr, oldAdue = m.adue;
    const hi = this.csrHi[CSR.satp]!;
    const mode = hi >>> 28;
    m.mode = undefined;
    for (const p of PAGING_MODES) if (p.satpMode === mode) m.mode = p;
    m.asid = (hi >>> 12) & 0xffff;
    m.rootPpn = (hi & 0xfff) * 4294967296 + (this.csrLo[CSR.satp]! >>> 0);
    m.sum = (this.mstatus & MSTATUS.SUM) !== 0;
    m.mxr = (this.mstatus & MSTATUS.MXR) !== 0;
    m.adue = this.svadu && (this.csrHi[CSR.menvcfg]! & (1 << 29)) !== 0;
    if (m.mode === oldMode && m.asid === oldAsid && m.rootPpn === oldRoot && m.sum === oldSum && m.mxr === oldMxr && m.adue === oldAdue) {
      this.dropFastData();
      this.swapFetch(this.priv);
    } else {
      this.flushFast();
      this.fetchPriv = this.priv;
    }
  }

  /**
   * A trap entry or return changed the privilege (and mstatus's xIE, xPIE, xPP, MPRV), and nothing
   * else translation depends on (satp, SUM, MXR, menvcfg): what {@link translationChanged} does when
   * the MMU context is unchanged, without recomputing that context.
   */
  privilegeChanged(): void {
    this.setDataPriv();
    this.dropFastData();
    this.swapFetch(this.priv);
  }

  /** The effective privilege of loads and stores: MPP when MPRV is set in M-mode. */
  private setDataPriv(): void {
    const s = this.mstatus;
    this.dataPriv = this.priv === PRV_M && (s & MSTATUS.MPRV) !== 0 ? (s & MSTATUS.MPP) >>> MSTATUS.MPP_SHIFT : this.priv;
  }

  /** Puts the fetch entry aside for its privilege and takes back the one put aside for `priv`. */
  private swapFetch(priv: number): void {
    const from = this.fetchPriv;
    if (priv === from) return;
    this.stashTagLo[from] = this.fetchTagLo;
    this.stashTagHi[from] = this.fetchTagHi;
    this.stashPpn[from] = this.fetchPpn;
    this.stashPage[from] = this.fetchPage;
    this.fetchTagLo = this.stashTagLo[priv]!;
    this.fetchTagHi = this.stashTagHi[priv]!;
    this.fetchPage = this.stashPage[priv]!;
    this.fetchPpn = this.stashPpn[priv]!;
    this.stashTagLo[priv] = INVALID_TAG;
    this.fetchPriv = priv;
  }

  /** Drops the host fast-path store entries (a page became decoded or guarded, see CodeCache). */
  dropFastStores(): void {
    const used = this.wUsed, listed = this.wListed, tag = this.wTagLo;
    for (let i = 0; i < this.wUsedN; i++) {
      const s = used[i]!;
      tag[s] = INVALID_TAG;
      listed[s] = 0;
    }
    this.wUsedN = 0;
  }

  /** Drops every host fast-path entry. */
  flushFast(): void {
    this.dropFastData();
    this.fetchTagLo = INVALID_TAG;
    this.stashTagLo.fill(INVALID_TAG);
  }

  /** Drops the host fast-path load and store entries. */
  private dropFastData(): void {
    const used = this.rUsed, listed = this.rListed, tag = this.rTagLo;
    for (let i = 0; i < this.rUsedN; i++) {
      const s = used[i]!;
      tag[s] = INVALID_TAG;
      listed[s] = 0;
    }
    this.rUsedN = 0;
    this.dropFastStores();
  }

  /**
   * The TLB dropped the entry for the 2^shift-byte page at VPN `vpnBase`: drops what the fast path
   * may hold of it. A 4 KiB page has one load slot and one store slot (VA page mod {@link FP_SLOTS});
   * those and the fetch entry are dropped when their VA page could be it (compared on the low VPN
   * bits only, so sometimes more is dropped than needed, never less). A larger page drops everything.
   */
  private dropFast(vpnBase: number, shift: number): void {
    if (shift !== 12) {
      this.flushFast();
      return;
    }
    const s = vpnBase & (FP_SLOTS - 1);
    this.rTagLo[s] = INVALID_TAG;
    this.wTagLo[s] = INVALID_TAG;
    const low = vpnBase & 0xfffff;
    if (this.fetchTagLo >>> 12 === low) this.fetchTagLo = INVALID_TAG;
    const stash = this.stashTagLo;
    for (let p = 0; p < 4; p++) if (stash[p]! >>> 12 === low) stash[p] = INVALID_TAG;
  }

  /**
   * Called for every bus write to RAM page `ppn` that did not go through the fast path (the machine
   * skips the call when the page holds no decoded instructions and the MMU tracks no PTE pages).
   */
  ramWritten(ppn: number): void {
    this.code.dropDecoded(ppn);
    if (this.fetchPpn === ppn) this.fetchTagLo = INVALID_TAG;
    const stash = this.stashPpn;
    for (let p = 0; p < 4; p++) if (stash[p] === ppn) this.stashTagLo[p] = INVALID_TAG;
    const pages = this.mmu.ptePages;
    if (pages && pages.has(ppn)) {
      pages.clear();
      this.tlbs.invalidate({ kind: "pte-write" });
    }
  }

  /** Takes a synchronous exception at the current pc. */
  exception(cause: number, tvalLo: number, tvalHi: number): void {
    takeTrap(this, cause, false, tvalLo, tvalHi);
  }

  /** Takes a pending, enabled interrupt if there is one. Returns true if it did. */
  checkInterrupts(): boolean {
    const irq = pendingInterrupt(this);
    if (irq < 0) return false;
    takeTrap(this, irq, true, 0, 0);
    return true;
  }

  /** Runs until `icount` reaches `limit` or something stops the loop (see {@link stopAt}). */
  run(limit: number): void {
    this.stopAt = limit;
    execute(this);
  }

  // ---- instruction fetch ------------------------------------------------------------------

  /** Translates the pc and makes its page current. Returns null if a trap was taken. */
  fetchSlow(): DecodedPage | null {
    const pa = this.mmu.translate(this.pcLo, this.pcHi, FETCH, this.priv);
    if (pa < 0) {
      this.exception(this.mmu.cause, this.pcLo, this.pcHi);
      return null;
    }
    const r = this.bus.find(pa);
    if (r?.ram === undefined) {
      this.exception(CAUSE.INSN_ACCESS, this.pcLo, this.pcHi);
      return null;
    }
    const ppn = Math.floor(pa / 4096);
    let page = this.decoded.get(ppn);
    if (page === undefined) {
      page = new DecodedPage();
      this.code.addDecoded(ppn, page);
      // Stores to this page, by any hart, must now go the slow way, which drops the decoded copy.
      this.code.dropFastStores();
    }
    this.fetchPage = page;
    this.fetchPpn = ppn;
    if (this.fastPath) {
      this.fetchTagLo = this.pcLo & ~0xfff;
      this.fetchTagHi = this.pcHi;
    }
    return page;
  }

  /**
   * Places a native entry at physical address `pa` (2-byte aligned, in RAM). Throws RangeError
   * for a misaligned or already used address.
   */
  registerNative(pa: number, fn: NativeEntry): void {
    if (pa % 2 !== 0 || this.bus.find(pa, 4)?.ram === undefined) throw new RangeError(`registerNative: 0x${pa.toString(16)} is not a 2-byte aligned RAM address`);
    if (this.nativeAt.has(pa)) throw new RangeError(`registerNative: 0x${pa.toString(16)} already holds a native entry`);
    this.nativeAt.set(pa, this.nativeFns.length);
    this.nativeFns.push(fn);
    this.ramWritten(Math.floor(pa / 4096));
  }

  /**
   * Runs native entry `index` as one retired instruction. In U-mode it is an illegal instruction
   * (kernel text is never user-executable; this only happens with broken page tables).
   * Returns false if a trap was taken instead.
   */
  runNative(index: number): boolean {
    if (this.priv === PRV_U) {
      this.exception(CAUSE.ILLEGAL, 0, 0);
      return false;
    }
    const lo = this.pcLo, hi = this.pcHi;
    this.nativeFns[index]!(this);
    if (this.pcLo === lo && this.pcHi === hi && !this.halted) {
      throw new Error(`native entry at pc 0x${this.pc.toString(16)} returned without leaving (it must sret, mret or jump)`);
    }
    return true;
  }

  /**
   * SFENCE.VMA's effect: `va` undefined stands for rs1 = x0 (all addresses), `asid` undefined for
   * rs2 = x0 (all address spaces, globals included). A non-canonical `va` makes it a no-op.
   * @spec RV-S §"Supervisor Memory-Management Fence Instruction"
   */
  sfenceVma(va: { lo: number; hi: number } | undefined, asid: number | undefined): void {
    const tlbs = this.tlbs;
    if (va === undefined) {
      if (asid === undefined) tlbs.invalidate({ kind: "sfence.vma all" });
      else tlbs.invalidate({ kind: "sfence.vma asid", asid, keepGlobal: true });
      return;
    }
    const vaBits = this.mmu.mode?.vaBits ?? 48;
    const top = va.hi >> (vaBits - 33);
    if (top !== 0 && top !== -1) return;
    const vpn = (va.hi & ((1 << (vaBits - 32)) - 1)) * 1048576 + (va.lo >>> 12);
    if (asid === undefined) tlbs.invalidate({ kind: "sfence.vma va", vpn });
    else tlbs.invalidate({ kind: "sfence.vma va+asid", vpn, asid, keepGlobal: true });
  }

  /** SRET, as the instruction does it (for native entries). */
  sret(): void {
    trapReturn(this, false);
  }

  /** MRET, as the instruction does it (for native entries). */
  mret(): void {
    trapReturn(this, true);
  }

  /** Decodes slot `i` of the current fetch page from RAM. */
  decodeSlot(p: DecodedPage, i: number): Op {
    const base = this.fetchPpn * 4096 + i * 2;
    const native = this.nativeAt.get(base);
    if (native !== undefined) {
      markNative(p, i, native);
      return Op.NATIVE;
    }
    this.bus.read(base, 2);
    const low = this.bus.lo & 0xffff;
    if ((low & 3) !== 3) return decodeInto(p, i, low, 2);
    if (i === 2047) {
      markCross(p, i);
      return Op.CROSS;
    }
    this.bus.read(base + 2, 2);
    return decodeInto(p, i, low | (this.bus.lo << 16), 4);
  }

  /**
   * A 32-bit instruction whose second half is on the next page: fetch that half through the MMU
   * (a fault reports the VA of the second half) and decode into the scratch page.
   * @spec RV-S §stval: "the VA of the portion of the instruction that caused the fault"
   */
  fetchCross(): DecodedPage | null {
    const lowPa = this.fetchPpn * 4096 + 4094;
    this.bus.read(lowPa, 2);
    const low = this.bus.lo & 0xffff;
    const lo2 = (this.pcLo + 2) | 0;
    const hi2 = (this.pcHi + ((lo2 >>> 0) < 2 ? 1 : 0)) | 0;
    const pa = this.mmu.translate(lo2, hi2, FETCH, this.priv);
    if (pa < 0) {
      this.exception(this.mmu.cause, lo2, hi2);
      return null;
    }
    if (!this.bus.read(pa, 2) || this.bus.find(pa)?.ram === undefined) {
      this.exception(CAUSE.INSN_ACCESS, lo2, hi2);
      return null;
    }
    this.fetchTagLo = INVALID_TAG; // the next instruction is on the other page
    decodeInto(this.scratch, 0, low | (this.bus.lo << 16), 4);
    return this.scratch;
  }

  // ---- loads and stores (memory-access.ts) -----------------------------------------------

  /**
   * Translates and performs a load of `size` bytes (misaligned accesses are performed, translating
   * both pages first). Result in ldLo/ldHi, zero-extended. Returns false if a trap was taken.
   */
  loadSlow(lo: number, hi: number, size: 1 | 2 | 4 | 8, access: typeof LOAD | typeof STORE = LOAD): boolean {
    return loadSlow(this, lo, hi, size, access);
  }

  /** Translates and performs a store of (vhi:vlo). Returns false if a trap was taken. */
  storeSlow(lo: number, hi: number, size: 1 | 2 | 4 | 8, vlo: number, vhi: number): boolean {
    return storeSlow(this, lo, hi, size, vlo, vhi);
  }
}
