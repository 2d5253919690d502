/**
 * The x86_64 MMU: IA-32e 4-level and 5-level paging through the architectural TLB, entries tagged
 * by PCID, with the control registers that steer translation (CR0, CR2, CR3, CR4, EFER).
 *
 * Design choices the SDM leaves open (documented in docs/x86_64-mmu.md):
 * - Not-present and reserved-bit walks are never cached; neither is a walk whose access faults on
 *   rights (the #PF would invalidate the entry anyway). A successful walk sets A in every entry
 *   used (and D in the leaf on a write) and then fills the TLB, so every entry has A=1.
 * - TLB entries hold the rights combined across levels (R/W AND, U/S AND, XD OR); CR0.WP, SMEP,
 *   SMAP and RFLAGS.AC are applied at access time, so a hit may fault on a stale entry (one
 *   spurious #PF at most: the #PF invalidates the page).
 * - A store through an entry with D=0 re-walks to set D; D is never set from the cached entry.
 * - A paging-structure read from a physical hole reads all ones, like every x86 read of a hole here
 *   (memory-access.ts): a reserved-bit #PF unless MAXPHYADDR is 52.
 * - CR0.PG=1 always means IA-32e paging: this machine is long mode only.
 *
 * @spec Intel SDM Vol. 3A ch. 4 (§4.5 IA-32e paging, §4.6 access rights, §4.7 #PF, §4.8 A/D,
 * §4.10 TLBs and PCIDs); digested in ARCH-SPEC §2.
 */
import type { Bus } from "../../core/memory.js";
import type { Tlb, TlbScope, TlbSet } from "../../core/tlb.js";
import { CR0, CR4, DEFAULT_MAXPHYADDR, EFER, PF, PTE, TLB_PERM, VECTOR_GP, VECTOR_PF, X86_4LEVEL, X86_5LEVEL, type X86PagingMode } from "./paging-defs.js";
import { type PeekResult, WALK_LEAF, type WalkStep, X86PageWalker } from "./paging-walk.js";

export { x86PageShifts, X86_4LEVEL, X86_5LEVEL, type X86PagingMode } from "./paging-defs.js";
export type { PeekOutcome, PeekResult, WalkStep } from "./paging-walk.js";

/** Access kinds. */
export const FETCH = 0, LOAD = 1, STORE = 2;
export type Access = 0 | 1 | 2;

/**
 * {@link X86Mmu.translate} mode bits. USER: an access at CPL=3. AC: RFLAGS.AC is 1. IMPLICIT: an
 * implicit supervisor-mode access (IDT, GDT, TSS, the stack during event delivery): supervisor
 * whatever the CPL, and SMAP applies to it regardless of AC.
 * @spec SDM Vol. 3A §4.6 ("supervisor-mode access", "implicit")
 */
export const USER = 1, AC = 2, IMPLICIT = 4;

const TWO32 = 4294967296;
/** Address bits 51:32 of an entry or of CR3 (in the high half). */
const ADDR_HI = 0xfffff;
const { RW, US, XD, D: PERM_D, G: PERM_G } = TLB_PERM;

/** A TLB fill, reported to the trace hook. */
export interface FillEvent {
  va: bigint;
  /** The PCID the entry is tagged with (0 with CR4.PCIDE=0). */
  asid: number;
  /** Leaf level: 0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB. */
  level: number;
  /** Physical address of the start of the page. */
  pa: number;
  global: boolean;
  /** The entry's {@link TLB_PERM} word. */
  perm: number;
  steps: WalkStep[];
}

/** The strict-TLB hooks (see tlb-stale.ts); an MMU has them only in strict mode. */
export interface TlbHitCheck {
  /** Physical page numbers that held an entry read by a walk (stores to them are tracked). */
  readonly ptePages: Set<number>;
  /**
   * Called on every translation served by a TLB hit, before the rights checks, with the entry `e`
   * of `tlb` and the linear address (hi:lo, page `vpn`). It must have no architectural effect.
   */
  hit(mmu: X86Mmu, tlb: Tlb, e: number, vpn: number, lo: number, hi: number, access: Access): void;
}

/** Options of an {@link X86Mmu}. */
export interface X86MmuOptions {
  /** MAXPHYADDR, 32..52 (default {@link DEFAULT_MAXPHYADDR}); bits 51:MAXPHYADDR of entries and CR3 are reserved. */
  maxPhysAddr?: number;
  /** The CPU supports LA57 (5-level paging); otherwise CR4.LA57 is reserved (see mmu-regs.ts). */
  la57?: boolean;
}

/** Translation state, control registers and the walker of one x86_64 logical processor. */
export class X86Mmu {
  /** MAXPHYADDR in bits. */
  readonly maxPhysAddr: number;
  /** CR4.LA57 may be set. */
  readonly la57Supported: boolean;
  /**
   * Control registers as int32 halves, exactly as last written (EFER.LMA as computed, CR3 without
   * the bit-63 no-flush hint). Read them freely; write only through the write* methods.
   */
  cr0Lo = 0;
  cr0Hi = 0;
  cr3Lo = 0;
  cr3Hi = 0;
  cr4Lo = 0;
  cr4Hi = 0;
  eferLo = 0;
  eferHi = 0;
  /** CR2: the linear address of the last #PF (written by {@link translate}; MOV to CR2 writes it too). */
  cr2 = 0n;
  /** Of the last failed translation: 14 (#PF) or 13 (#GP(0), a non-canonical address). */
  vector = 0;
  /** Of the last failed translation: the #PF error code (0 for #GP(0)). */
  errorCode = 0;
  /** Of the last successful translation: a store to the page would succeed without a walk (D=1, writable in this mode). */
  writable = false;
  /** Trace hook for TLB fills; when set, walks record their steps. */
  onFill: ((e: FillEvent) => void) | undefined;
  /** With the TLB's flushOnPteWrite mode: physical pages holding entries read by walks. */
  readonly ptePages: Set<number> | undefined;
  /** Strict TLB mode: every hit is compared with a fresh walk. */
  strict: TlbHitCheck | undefined;

  /** The paging mode in force (CR0.PG=1), or undefined when linear = physical. */
  paging: X86PagingMode | undefined;
  /** The current PCID: CR3[11:0] with CR4.PCIDE=1, else 0. */
  pcid = 0;
  /** hi >> canonShift must be 0 or -1 for a canonical address (15 for 48 bits, 24 for 57). */
  private canonShift = 15;
  /** Mask of the high half's translated bits (47:32 or 56:32). */
  private vpnHiMask = 0xffff;
  private wp = false;
  private smep = false;
  private smap = false;
  private pge = false;
  private nxe = false;
  /** Bits 51:M of the high half. */
  private readonly physRsvdHi: number;
  private readonly walker: X86PageWalker;

  /**
   * @param bus the physical address space the walks read and the A/D updates write
   * @param tlbs the TLB hierarchy, built with {@link x86PageShifts}
   */
  constructor(private readonly bus: Bus, readonly tlbs: TlbSet, opts: X86MmuOptions = {}) {
    const m = opts.maxPhysAddr ?? DEFAULT_MAXPHYADDR;
    if (!Number.isInteger(m) || m < 32 || m > 52) throw new RangeError(`X86Mmu: maxPhysAddr ${m} is not an integer in 32..52`);
    this.maxPhysAddr = m;
    this.la57Supported = opts.la57 ?? false;
    this.physRsvdHi = ADDR_HI & ~((1 << (m - 32)) - 1);
    this.ptePages = tlbs.config.flushOnPteWrite ? new Set() : undefined;
    this.walker = new X86PageWalker(bus, tlbs.walk);
    this.update();
  }

  /** CR0 as an unsigned bigint. */
  get cr0(): bigint {
    return pair(this.cr0Lo, this.cr0Hi);
  }
  /** CR3 as an unsigned bigint (bit 63 is never stored). */
  get cr3(): bigint {
    return pair(this.cr3Lo, this.cr3Hi);
  }
  /** CR4 as an unsigned bigint. */
  get cr4(): bigint {
    return pair(this.cr4Lo, this.cr4Hi);
  }
  /** IA32_EFER as an unsigned bigint, LMA included. */
  get efer(): bigint {
    return pair(this.eferLo, this.eferHi);
  }

  /**
   * MOV to CR0 (the caller has checked it with cr0WriteFaults). Clearing PG invalidates every TLB
   * entry, global ones included; WP changes need no invalidation (rights are applied at access time).
   * @spec SDM Vol. 3A §4.10.4.1 "MOV to CR0"
   */
  writeCr0(lo: number, hi: number): void {
    const old = this.cr0Lo;
    this.cr0Lo = lo | 0;
    this.cr0Hi = hi | 0;
    if ((old & CR0.PG) !== 0 && (lo & CR0.PG) === 0) this.invalidate({ kind: "cr0" });
    this.update();
  }

  /**
   * MOV to CR3 (checked with cr3WriteFaults). With CR4.PCIDE=0 it invalidates the non-global entries
   * (all tagged PCID 0). With PCIDE=1 it invalidates the non-global entries of the new PCID, unless
   * bit 63 of the source is 1; bit 63 is never stored.
   * @spec SDM Vol. 3A §4.10.4.1 "MOV to CR3"; §2.5 (CR3 with PCIDE=1)
   */
  writeCr3(lo: number, hi: number): void {
    const noFlush = this.pcidEnabled && (hi & 0x80000000) !== 0;
    this.cr3Lo = lo | 0;
    this.cr3Hi = hi & 0x7fffffff;
    this.update();
    if (!noFlush) this.invalidate({ asid: this.pcid, keepGlobal: true, kind: "cr3" });
  }

  /**
   * MOV to CR4 (checked with cr4WriteFaults). Changing PGE or LA57, or clearing PCIDE, invalidates
   * everything (all PCIDs, globals too); changing PAE or setting SMEP invalidates the current PCID's
   * entries. SMAP, PCIDE 0->1 and the rest invalidate nothing.
   * @spec SDM Vol. 3A §4.10.4.1 "MOV to CR4"
   */
  writeCr4(lo: number, hi: number): void {
    const old = this.cr4Lo;
    const changed = old ^ lo;
    this.cr4Lo = lo | 0;
    this.cr4Hi = hi | 0;
    if ((changed & (CR4.PGE | CR4.LA57)) !== 0 || (old & ~lo & CR4.PCIDE) !== 0) {
      this.invalidate({ kind: "cr4" });
    } else if ((changed & CR4.PAE) !== 0 || (changed & lo & CR4.SMEP) !== 0) {
      this.invalidate({ asid: this.pcid, kind: "cr4" });
    }
    this.update();
  }

  /**
   * WRMSR to IA32_EFER (checked with eferWriteFaults). LMA is not written: it reads as LME AND
   * CR0.PG. Changing NXE invalidates everything (entries cache XD as NXE made it).
   */
  writeEfer(lo: number, hi: number): void {
    const old = this.eferLo;
    this.eferLo = lo | 0;
    this.eferHi = hi | 0;
    if (((old ^ lo) & EFER.NXE) !== 0) this.invalidate({ kind: "efer" });
    this.update();
  }

  /** Power-on state: CR0 = 0x60000010 (CD, NW, ET), CR2 = CR3 = CR4 = EFER = 0, TLB empty. @spec SDM Vol. 3A §9.1 Table 9-1 */
  reset(): void {
    this.cr0Lo = 0x60000010;
    this.cr0Hi = this.cr3Lo = this.cr3Hi = this.cr4Lo = this.cr4Hi = this.eferLo = this.eferHi = 0;
    this.cr2 = 0n;
    this.invalidate({ kind: "reset" });
    this.update();
  }

  /** CR4.PCIDE. */
  get pcidEnabled(): boolean {
    return (this.cr4Lo & CR4.PCIDE) !== 0;
  }

  /** Recomputes the translation context from the registers. */
  private update(): void {
    const pg = (this.cr0Lo & CR0.PG) !== 0;
    const lma = pg && (this.eferLo & EFER.LME) !== 0;
    this.eferLo = lma ? this.eferLo | EFER.LMA : this.eferLo & ~EFER.LMA;
    const cr4 = this.cr4Lo;
    const mode = (cr4 & CR4.LA57) !== 0 ? X86_5LEVEL : X86_4LEVEL;
    this.paging = pg ? mode : undefined;
    this.canonShift = mode.vaBits - 33;
    this.vpnHiMask = (1 << (mode.vaBits - 32)) - 1;
    this.wp = (this.cr0Lo & CR0.WP) !== 0;
    this.smep = (cr4 & CR4.SMEP) !== 0;
    this.smap = (cr4 & CR4.SMAP) !== 0;
    this.pge = (cr4 & CR4.PGE) !== 0;
    this.nxe = (this.eferLo & EFER.NXE) !== 0;
    this.walker.rsvdHi = this.physRsvdHi | (this.nxe ? 0 : PTE.XD_HI);
    this.pcid = (cr4 & CR4.PCIDE) !== 0 ? this.cr3Lo & 0xfff : 0;
    this.walker.root = (this.cr3Hi & ADDR_HI & ~this.physRsvdHi) * TWO32 + ((this.cr3Lo & ~0xfff) >>> 0);
  }

  /**
   * Translates linear address (hi:lo) for `access` in `mode` ({@link USER} | {@link AC} |
   * {@link IMPLICIT}). Returns the physical address, or -1 with {@link vector} = 13 (#GP(0): not
   * canonical; CR2 untouched) or 14 (#PF: {@link errorCode} set, {@link cr2} = the address, and the
   * TLB entries for that page in the current PCID invalidated). With CR0.PG=0 the address is physical.
   * @spec SDM Vol. 3A §4.5 (walk), §4.6 (rights), §4.7 (#PF), §4.8 (A/D), §4.10.2 (TLB use), §3.3.7.1 (canonical)
   */
  translate(lo: number, hi: number, access: Access, mode: number): number {
    const pm = this.paging;
    if (pm === undefined) {
      this.writable = true;
      return (hi >>> 0) * TWO32 + (lo >>> 0);
    }
    const top = hi >> this.canonShift;
    if (top !== 0 && top !== -1) {
      this.vector = VECTOR_GP;
      this.errorCode = 0;
      return -1;
    }
    const vpn = (hi & this.vpnHiMask) * 1048576 + (lo >>> 12);
    const tlbs = this.tlbs;
    const tlb = access === FETCH ? tlbs.itlb : tlbs.dtlb;
    let e = tlbs.lookup(tlb, vpn, this.pcid);
    if (e >= 0) {
      const perm = tlb.perm[e]!;
      if (this.strict) this.strict.hit(this, tlb, e, vpn, lo, hi, access);
      if (this.denied(perm, access, mode)) return this.pageFault(lo, hi, vpn, access, mode, PF.P);
      if (access !== STORE || (perm & PERM_D) !== 0) {
        this.writable = (perm & PERM_D) !== 0 && !this.denied(perm, STORE, mode);
        return (tlb.ppn[e]! + (vpn - tlb.vpnBase[e]!)) * 4096 + (lo & 0xfff);
      }
      // A store through an entry with D=0: D is set by a fresh walk, never from the entry.
    }
    const w = this.walker;
    const walked = w.walk(pm, vpn, false, this.onFill !== undefined, this.ptePages, this.strict?.ptePages);
    if (walked !== WALK_LEAF) return this.pageFault(lo, hi, vpn, access, mode, walked);
    if (this.denied(w.perm, access, mode)) return this.pageFault(lo, hi, vpn, access, mode, PF.P);
    w.setAccessedDirty(access === STORE);
    e = this.fill(tlb, vpn, lo, hi);
    this.writable = (w.perm & PERM_D) !== 0 && !this.denied(w.perm, STORE, mode);
    return (tlb.ppn[e]! + (vpn - tlb.vpnBase[e]!)) * 4096 + (lo & 0xfff);
  }

  /**
   * Whether rights `perm` ({@link TLB_PERM} bits) forbid `access` in `mode`, under the current
   * CR0.WP, CR4.SMEP and CR4.SMAP.
   * @spec SDM Vol. 3A §4.6.1 (the rules for supervisor-mode and user-mode accesses); ARCH-SPEC §2.5
   */
  denied(perm: number, access: Access, mode: number): boolean {
    const userPage = (perm & US) !== 0;
    if ((mode & (USER | IMPLICIT)) === USER) {
      if (!userPage) return true;
      if (access === STORE) return (perm & RW) === 0;
      return access === FETCH && (perm & XD) !== 0;
    }
    if (access === FETCH) return (perm & XD) !== 0 || (userPage && this.smep);
    // SMAP: data accesses to user-mode addresses need RFLAGS.AC=1 and an explicit access.
    if (userPage && this.smap && (mode & (AC | IMPLICIT)) !== AC) return true;
    return access === STORE && this.wp && (perm & RW) === 0;
  }

  /**
   * Raises #PF: the error code from the walk's `bits` (0, P, or P|RSVD) and the access; CR2; and
   * the invalidation of the faulting page in the current PCID (globals for that page too).
   * @spec SDM Vol. 3A §4.7 (error code, I/D only with SMEP or NXE), §4.10.4.1 ("page-fault exceptions")
   */
  private pageFault(lo: number, hi: number, vpn: number, access: Access, mode: number, bits: number): number {
    let code = bits;
    if (access === STORE) code |= PF.WR;
    if ((mode & (USER | IMPLICIT)) === USER) code |= PF.US;
    if (access === FETCH && (this.nxe || this.smep)) code |= PF.ID;
    this.vector = VECTOR_PF;
    this.errorCode = code;
    this.cr2 = pair(lo, hi);
    this.invalidate({ vpn, asid: this.pcid, kind: "pf" });
    return -1;
  }

  /**
   * INVLPG: invalidates the page of linear address (hi:lo) in the current PCID, and global entries
   * for it. A non-canonical address invalidates nothing (and does not fault).
   * @spec SDM Vol. 3A §4.10.4.1 "INVLPG"; Vol. 2A INVLPG
   */
  invlpg(lo: number, hi: number): void {
    const top = hi >> this.canonShift;
    if (top !== 0 && top !== -1) return;
    this.invalidate({ vpn: (hi & this.vpnHiMask) * 1048576 + (lo >>> 12), asid: this.pcid, kind: "invlpg" });
  }

  /**
   * INVPCID with descriptor {`pcid`, linear address hi:lo}. Type 0: that page in that PCID, not
   * global entries; 1: that PCID, not global entries; 2: everything, globals included; 3:
   * everything except global entries. Returns false (nothing invalidated; the CPU raises #GP(0))
   * for a type above 3, a PCID outside 0..4095 (descriptor bits 63:12 set), a non-canonical
   * address with type 0, or PCID != 0 with type 0/1 while CR4.PCIDE=0.
   * @spec SDM Vol. 2A INVPCID; Vol. 3A §4.10.4.1 "INVPCID"
   */
  invpcid(type: number, pcid: number, lo: number, hi: number): boolean {
    if (!Number.isInteger(type) || type < 0 || type > 3) return false;
    if (!Number.isInteger(pcid) || pcid < 0 || pcid > 0xfff) return false;
    if (type <= 1 && pcid !== 0 && !this.pcidEnabled) return false;
    switch (type) {
      case 0: {
        const top = hi >> this.canonShift;
        if (top !== 0 && top !== -1) return false;
        this.invalidate({ vpn: (hi & this.vpnHiMask) * 1048576 + (lo >>> 12), asid: pcid, keepGlobal: true, kind: "invpcid-address" });
        break;
      }
      case 1: this.invalidate({ asid: pcid, keepGlobal: true, kind: "invpcid-context" }); break;
      case 2: this.invalidate({ kind: "invpcid-all" }); break;
      case 3: this.invalidate({ keepGlobal: true, kind: "invpcid-non-global" }); break;
    }
    return true;
  }

  private invalidate(scope: TlbScope): void {
    this.tlbs.invalidate(scope);
  }

  /**
   * Walks the current tables for page `vpn` as {@link translate} would, without side effects: no
   * A/D update, no TLB fill, no counters, no trace, and only RAM is read (an entry address in
   * device memory stops the walk unread; a hole reads all ones). The result is overwritten by the
   * next call. Used by the strict-TLB check. Call it only with paging on ({@link paging} set).
   */
  peek(vpn: number): PeekResult {
    return this.walker.peek(this.paging!, vpn);
  }

  /** Enters the walker's leaf into `tlb` (and L2) for page `vpn` (linear address hi:lo, for the trace). */
  private fill(tlb: Tlb, vpn: number, lo: number, hi: number): number {
    const w = this.walker;
    const global = this.pge && (w.perm & PERM_G) !== 0;
    const e = this.tlbs.fill(tlb, vpn, 12 + 9 * w.level, this.pcid, global, w.ppn, w.perm, w.addr, w.lo, w.hi);
    if (this.onFill) {
      this.onFill({ va: pair(lo, hi), asid: this.pcid, level: w.level, pa: tlb.ppn[e]! * 4096, global, perm: w.perm, steps: w.steps });
    }
    return e;
  }
}

/** (hi:lo) as an unsigned 64-bit bigint. */
function pair(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
