/**
 * The AArch64 stage-1 MMU of the EL1&0 translation regime (VMSAv8-64) through the architectural TLB.
 *
 * One walk loop serves the three granules (granules.ts rows); the hot path is a TLB hit: one
 * lookup, one permission test on a cached bit set, no BigInt and no allocation. Faults are data:
 * `translate` returns -1 and leaves the 6-bit DFSC/IFSC in {@link Arm64Mmu.fsc}; the CPU builds
 * ESR_EL1 and FAR_EL1 from it.
 *
 * Implemented: 4K/16K/64K granules with TG0 and TG1 decoded separately, T0SZ/T1SZ 16..39, TBI0/TBI1,
 * EPD0/EPD1, IPS (bounded by the implemented PA size), A1 and AS (16-bit ASIDs), HA and HD (AF and
 * DBM hardware updates), HPD0/HPD1, SCTLR_EL1.M/WXN/EE, PSTATE.PAN. Not implemented (as if absent):
 * FEAT_LPA/LPA2/LVA, FEAT_TTST, FEAT_E0PD, FEAT_PAN3 (EPAN), FEAT_HAFT, FEAT_BBM, FEAT_S1PIE/POE,
 * stage 2. Choices the architecture leaves open are listed in docs/arm64-mmu.md.
 *
 * Fault priority follows the ARM ARM pseudocode: AArch64.S1Translate (VA range and TxSZ checks,
 * TLB lookup, EPD, walk) > AArch64.S1Walk (per level: external abort on the descriptor read,
 * invalid or reserved encoding = Translation, next-table address out of range = Address size; then
 * leaf output address = Address size, AF = 0 without HA = Access flag) > AArch64.S1CheckPermission
 * (Permission) > the AF / dirty-state update (AArch64.S1Walk's descriptor swap), which is made only
 * when nothing faulted.
 * @spec ARM-ARM D8 "The AArch64 Virtual Memory System Architecture"; pseudocode AArch64.S1Translate,
 * AArch64.S1Walk, AArch64.S1DisabledOutput; ARCH-SPEC §3.1-3.8
 */
import { CHUNK_SIZE, type Bus } from "../../core/memory.js";
import type { Tlb, TlbSet } from "../../core/tlb.js";
import { DESC, DESC_HI, FSC, leafPermissions, PERM, PERM_ALLOW } from "./descriptors.js";
import { TG0_GRANULE, TG1_GRANULE } from "./granules.js";
import { bits32, deriveRange, emptyRange, type Range } from "./mmu-range.js";
import type { Arm64StrictHooks, FillEvent, PeekResult, WalkStep } from "./mmu-types.js";
import { TLBI_NAMES, tlbiScope, type TlbiScope } from "./tlbi.js";

export { arm64PageShifts } from "./granules.js";
export {
  TLBI_VMALLE1, TLBI_VAE1, TLBI_VALE1, TLBI_VAAE1, TLBI_VAALE1, TLBI_ASIDE1,
  TLBI_VMALLE1IS, TLBI_VAE1IS, TLBI_VALE1IS, TLBI_VAAE1IS, TLBI_VAALE1IS, TLBI_ASIDE1IS,
} from "./tlbi.js";
export { FSC, isDeviceAttr } from "./descriptors.js";
export type { Arm64StrictHooks, FillEvent, PeekOutcome, PeekResult, WalkStep } from "./mmu-types.js";

/** Access kinds. */
export const FETCH = 0, LOAD = 1, STORE = 2;
export type Access = 0 | 1 | 2;

/** The implemented physical address size (ID_AA64MMFR0_EL1.PARange = 0b0101, 48 bits) by default. */
export const ARM64_PA_BITS = 48;

const TWO32 = 4294967296;
/** IPS / PARange encodings to bits. @spec ARM-ARM D19 TCR_EL1.IPS */
const IPS_BITS: readonly number[] = [32, 36, 40, 42, 44, 48, 52, 56];
/** {@link Arm64Mmu.walk} results other than a fault status code (which is >= 0). */
const LEAF = -1;
/** A side-effect-free walk met a descriptor address in device memory and did not read it. */
const DEVICE = -2;

const u64 = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
const bswap = (x: number): number => ((x >>> 24) | ((x >>> 8) & 0xff00) | ((x << 8) & 0xff0000) | (x << 24)) | 0;

/** Translation state and the walker of one PE. */
export class Arm64Mmu {
  /** PSTATE.PAN (the CPU keeps it current). */
  pan = false;
  /** 6-bit DFSC/IFSC of the last failed translation (level in bits 1:0 where it has one). */
  fsc = 0;
  /** Of the last successful translation: a store at the same EL would succeed without a walk. */
  writable = false;
  /**
   * Of the last successful translation: the MAIR_EL1 attribute byte of the page (Device when bits
   * 7:4 are 0, see isDeviceAttr). MMU off: 0x00 (Device-nGnRnE) for data, Normal for fetches.
   */
  attr = 0;
  /** Trace hook for TLB fills; when set, walks record their steps. */
  onFill: ((e: FillEvent) => void) | undefined;
  /** Strict mode (bbm.ts). */
  strict: Arm64StrictHooks | undefined;
  /** The last {@link peek}. */
  readonly peeked: PeekResult = { outcome: "leaf", fsc: 0, lo: 0, hi: 0, descAddr: 0, level: 0, shift: 0, oa: 0, perm: 0 };

  private sctlrLo = 0; private sctlrHi = 0;
  private tcrLo = 0; private tcrHi = 0;
  private ttbr0Lo = 0; private ttbr0Hi = 0;
  private ttbr1Lo = 0; private ttbr1Hi = 0;
  private mairLo = 0; private mairHi = 0;

  /** SCTLR_EL1.M, WXN, EE, I. */
  private m = false;
  private wxn = false;
  private bigEndian = false;
  private icache = false;
  /** TCR_EL1.HA, and HA && HD. */
  private ha = false;
  private dirtyHw = false;
  /** The ASID in force (TTBR{A1}.ASID, 8 or 16 bits) and the mask TLBI operands get. */
  private asidNow = 0;
  private asidMask = 0xff;
  /** The output address limit 2^min(IPS, PA size), and TBI per range. */
  private oaLimit = 2 ** 32;
  private tbi0 = false;
  private tbi1 = false;
  private readonly r0: Range = emptyRange();
  private readonly r1: Range = emptyRange();
  private readonly scope: TlbiScope = { vpn: undefined, asid: undefined, keepGlobal: false, lastLevel: false };

  // The walk's result (see walk()).
  private wLo = 0;
  private wHi = 0;
  private wAddr = 0;
  private wLevel = 0;
  private wTableHi = 0;
  private wOa = 0;
  private steps: WalkStep[] = [];

  /**
   * @param bus the physical bus walks read and write
   * @param tlbs the TLB hierarchy, built with {@link arm64PageShifts}
   * @param paBits implemented PA size (ID_AA64MMFR0_EL1.PARange), at most 48
   */
  constructor(private readonly bus: Bus, readonly tlbs: TlbSet, readonly paBits: number = ARM64_PA_BITS) {
    if (!IPS_BITS.includes(paBits) || paBits > 48) throw new RangeError(`Arm64Mmu: PA size ${paBits} is not a PARange size up to 48`);
    this.derive();
  }

  /** The ASID in force: TTBR{TCR_EL1.A1}.ASID, bits 7:0 only with TCR_EL1.AS = 0. */
  get asid(): number { return this.asidNow; }
  /** Descriptors are big-endian (SCTLR_EL1.EE). */
  get ee(): boolean { return this.bigEndian; }

  get sctlr(): bigint { return u64(this.sctlrLo, this.sctlrHi); }
  get tcr(): bigint { return u64(this.tcrLo, this.tcrHi); }
  get ttbr0(): bigint { return u64(this.ttbr0Lo, this.ttbr0Hi); }
  get ttbr1(): bigint { return u64(this.ttbr1Lo, this.ttbr1Hi); }
  get mair(): bigint { return u64(this.mairLo, this.mairHi); }

  /** MSR SCTLR_EL1, as 32-bit halves. Takes effect at once (stronger than "after the next ISB"). */
  writeSctlr(lo: number, hi: number): void { this.sctlrLo = lo | 0; this.sctlrHi = hi | 0; this.derive(); }
  /** MSR TCR_EL1. */
  writeTcr(lo: number, hi: number): void { this.tcrLo = lo | 0; this.tcrHi = hi | 0; this.derive(); }
  /** MSR TTBR0_EL1. */
  writeTtbr0(lo: number, hi: number): void { this.ttbr0Lo = lo | 0; this.ttbr0Hi = hi | 0; this.derive(); }
  /** MSR TTBR1_EL1. */
  writeTtbr1(lo: number, hi: number): void { this.ttbr1Lo = lo | 0; this.ttbr1Hi = hi | 0; this.derive(); }
  /** MSR MAIR_EL1. */
  writeMair(lo: number, hi: number): void { this.mairLo = lo | 0; this.mairHi = hi | 0; }

  /**
   * Re-derives every cached parameter from the registers.
   * @spec ARM-ARM D19 SCTLR_EL1 (M bit 0, I bit 12, WXN bit 19, EE bit 25), TCR_EL1 (ARCH-SPEC §3.1
   * table), TTBRn_EL1 (ASID 63:48, BADDR 47:1); pseudocode AArch64.S1TTBaseAddress ("Base address
   * is aligned to size of the initial translation table in bytes"), AArch64.PhysicalAddressSize
   */
  private derive(): void {
    const s = this.sctlrLo, t = this.tcrLo, th = this.tcrHi;
    this.m = (s & 1) !== 0;
    this.icache = (s & (1 << 12)) !== 0;
    this.wxn = (s & (1 << 19)) !== 0;
    this.bigEndian = (s & (1 << 25)) !== 0;
    this.ha = (th & (1 << (39 - 32))) !== 0;
    this.dirtyHw = this.ha && (th & (1 << (40 - 32))) !== 0;
    const as16 = (th & (1 << (36 - 32))) !== 0;
    this.asidMask = as16 ? 0xffff : 0xff;
    const a1 = (t & (1 << 22)) !== 0;
    this.asidNow = ((a1 ? this.ttbr1Hi : this.ttbr0Hi) >>> 16) & this.asidMask;
    this.oaLimit = 2 ** Math.min(IPS_BITS[th & 7]!, this.paBits);
    this.tbi0 = (th & (1 << (37 - 32))) !== 0;
    this.tbi1 = (th & (1 << (38 - 32))) !== 0;
    deriveRange(this.r0, 0, t & 0x3f, TG0_GRANULE[(t >>> 14) & 3]!, (t & (1 << 7)) !== 0, this.tbi0, (th & (1 << (41 - 32))) !== 0, this.ttbr0Lo, this.ttbr0Hi);
    deriveRange(this.r1, 1, (t >>> 16) & 0x3f, TG1_GRANULE[(t >>> 30) & 3]!, (t & (1 << 23)) !== 0, this.tbi1, (th & (1 << (42 - 32))) !== 0, this.ttbr1Lo, this.ttbr1Hi);
  }

  /**
   * Translates VA (hi:lo) for `access` at EL `el` (0 or 1; LDTR/STTR at EL1 pass 0, which also
   * exempts them from PAN). Returns the PA, or -1 with {@link fsc} set. MMU off (SCTLR_EL1.M = 0):
   * the PA is the VA, with an Address size fault (level 0) when VA[top:PAsize] is not zero.
   * @spec ARM-ARM pseudocode AArch64.S1Translate, AArch64.S1Walk, AArch64.S1CheckPermission
   */
  translate(lo: number, hi: number, access: Access, el: number): number {
    if (!this.m) return this.flat(lo, hi, access);
    // VA range selection by VA[55]; the bits above the input size (up to the top bit, 55 with TBI)
    // must all equal it. TxSZ out of range faults the whole range (QEMU's choice). Level 0.
    const r = (hi & 0x800000) !== 0 ? this.r1 : this.r0;
    if ((hi & r.hiMask) !== r.hiWant || (lo & r.loMask) !== r.loWant || r.oob) return this.fault(FSC.TRANSLATION);
    const vpn = (hi & 0xffffff) * 1048576 + (lo >>> 12);
    if (this.strict) this.strict.translation(this, vpn, lo, hi, access);
    const tlbs = this.tlbs;
    const tlb = access === FETCH ? tlbs.itlb : tlbs.dtlb;
    const e = tlbs.lookup(tlb, vpn, this.asidNow);
    // A store to a writable-clean page never uses the TLB: it walks to set the dirty state.
    // @spec pseudocode AArch64.S1Walk (TLB hit excluded when HA, HD, DBM, AP[2] and a write)
    if (e < 0 || (access === STORE && (tlb.perm[e]! & PERM.CLEAN) !== 0)) return this.miss(r, tlb, vpn, lo, hi, access, el);
    if (this.strict) this.strict.hit(this, tlb, e, vpn, lo, hi, access);
    const p = tlb.perm[e]!;
    if (!this.permits(p, access, el)) return this.fault(FSC.PERMISSION + ((p >>> PERM.LEVEL_SHIFT) & 3));
    return this.success(tlb, e, p, vpn, lo, el);
  }

  /** The end of a successful translation through entry `e`: the hints, then the PA. */
  private success(tlb: Tlb, e: number, p: number, vpn: number, lo: number, el: number): number {
    this.writable = (p & PERM.CLEAN) === 0 && this.permits(p, STORE, el);
    this.attr = p & PERM.ATTR_MASK;
    return (tlb.ppn[e]! + (vpn - tlb.vpnBase[e]!)) * 4096 + (lo & 0xfff);
  }

  /** A TLB miss (or a store to a writable-clean entry): EPD, the walk, permissions, updates, fill. */
  private miss(r: Range, tlb: Tlb, vpn: number, lo: number, hi: number, access: Access, el: number): number {
    // @spec AArch64.S1Walk: "EPDx: Translation fault, level 0" only on a TLB miss.
    if (r.epd) return this.fault(FSC.TRANSLATION);
    const w = this.walk(r, vpn, (hi & 0xffff) * TWO32 + (lo >>> 0), false);
    if (w !== LEAF) return this.fault(w);
    let p = this.leafPerm(r);
    const level = this.wLevel;
    if (!this.permits(p, access, el)) {
      // Permission-faulting entries may be cached; an AF = 0 one (HA = 1) is not: no update was made.
      if (this.wLo & DESC.AF) this.fill(tlb, vpn, p, lo, hi);
      return this.fault(FSC.PERMISSION + level);
    }
    // Hardware updates, made only when nothing faulted: AF := 1 (HA), AP[2] := 0 on a store to a
    // writable-clean page (HA && HD && DBM). The read and this write are one atomic step here.
    // @spec pseudocode AArch64.S1Walk descriptor update; ARCH-SPEC §3.6
    let nlo = this.wLo | DESC.AF;
    if (access === STORE && (p & PERM.CLEAN) !== 0) nlo &= ~DESC.AP2;
    if (nlo !== this.wLo) {
      const ok = this.bigEndian ? this.bus.write(this.wAddr, 8, bswap(this.wHi), bswap(nlo)) : this.bus.write(this.wAddr, 8, nlo, this.wHi);
      if (!ok) return this.fault(FSC.EXTERNAL_WALK + level);
      this.tlbs.walk.walkRefs++;
      this.wLo = nlo;
      p = this.leafPerm(r);
    }
    return this.success(tlb, this.fill(tlb, vpn, p, lo, hi), p, vpn, lo, el);
  }

  /**
   * May `access` at `el` use an entry with PERM bits `p`? PAN: an EL1 data access to a page EL0 can
   * access faults while PSTATE.PAN = 1 (instruction fetches are not affected).
   * @spec ARM-ARM pseudocode AArch64.S1DirectBasePermissions ("pan = PSTATE.PAN AND ur")
   */
  permits(p: number, access: Access, el: number): boolean {
    if ((p & PERM_ALLOW[el * 3 + access]!) === 0) return false;
    return !(el === 1 && access !== FETCH && this.pan && (p & PERM.USER) !== 0);
  }

  /** The PERM word of the walk's leaf (wLo/wHi at wLevel, table attributes wTableHi). */
  private leafPerm(r: Range): number {
    const lo = this.wLo, hi = this.wHi;
    const attrIndx = (lo >>> DESC.ATTRINDX_SHIFT) & 7;
    const attr = attrIndx < 4 ? (this.mairLo >>> (8 * attrIndx)) & 0xff : (this.mairHi >>> (8 * (attrIndx - 4))) & 0xff;
    return leafPermissions(lo, hi, this.wTableHi, r.hpd, this.dirtyHw, this.wxn)
      | attr | (attrIndx << PERM.ATTRINDX_SHIFT)
      | ((lo & DESC.NG) !== 0 ? PERM.NG : 0) | (r === this.r1 ? PERM.TTBR1 : 0)
      | (this.wLevel << PERM.LEVEL_SHIFT);
  }

  /**
   * SCTLR_EL1.M = 0: flat translation. VA[top:PAsize] must be zero (top = 55 with TBI for the VA's
   * range, else 63), else an Address size fault at level 0. Data is Device-nGnRnE; fetches are
   * Normal: Write-Through (0xaa) with SCTLR_EL1.I, else Non-cacheable (0x44). No permission checks.
   * @spec ARM-ARM pseudocode AArch64.S1DisabledOutput / AArch64.TranslateAddressS1Off
   */
  private flat(lo: number, hi: number, access: Access): number {
    const tbi = (hi & 0x800000) !== 0 ? this.tbi1 : this.tbi0;
    const mask = bits32(this.paBits - 32, tbi ? 23 : 31);
    if ((hi & mask) !== 0) return this.fault(FSC.ADDRESS_SIZE);
    this.writable = true;
    this.attr = access === FETCH ? (this.icache ? 0xaa : 0x44) : 0x00;
    return (hi & 0xffff) * TWO32 + (lo >>> 0);
  }

  /**
   * Walks the tables of range `r` for VA[47:0] = `va48` (page `vpn`). Returns {@link LEAF} with the
   * leaf in wLo/wHi/wAddr/wLevel, its output base in wOa and the OR of the table descriptors' high
   * halves in wTableHi; otherwise the fault status code, with those fields describing where the walk
   * stopped. `pure` is {@link peek}'s mode: RAM reads only ({@link DEVICE} for a descriptor in
   * device memory), nothing counted, recorded or traced.
   * @spec pseudocode AArch64.S1Walk, AArch64.S1SLTTEntryAddress, AArch64.TTEntryAddress,
   * AArch64.DecodeDescriptorType, AArch64.BlockDescSupported, AArch64.OAOutOfRange
   */
  private walk(r: Range, vpn: number, va48: number, pure: boolean): number {
    const g = r.granule;
    const tracing = !pure && this.onFill !== undefined;
    const strict = pure ? undefined : this.strict;
    if (tracing) this.steps = [];
    if (!pure) this.tlbs.walk.walks++;
    let level = r.start;
    let base = r.base;
    this.wTableHi = 0;
    this.wLevel = level;
    this.wLo = 0;
    this.wHi = 0;
    this.wAddr = base;
    // The start-level table's base beyond the output size: Address size fault, level 0.
    if (base >= this.oaLimit) return FSC.ADDRESS_SIZE;
    for (;;) {
      const shift = g.levelShift[level]!;
      const indexBits = level === r.start ? r.inputSize - shift : g.stride;
      const addr = base + (Math.floor(va48 / 2 ** shift) % 2 ** indexBits) * 8;
      this.wAddr = addr;
      this.wLevel = level;
      if (pure) {
        const read = this.peekRam(addr);
        if (read !== LEAF) return read === DEVICE ? DEVICE : FSC.EXTERNAL_WALK + level;
      } else {
        if (!this.bus.read(addr, 8)) {
          this.wLo = 0;
          this.wHi = 0;
          return FSC.EXTERNAL_WALK + level;
        }
        this.tlbs.walk.walkRefs++;
        if (this.bigEndian) {
          const lo = this.bus.lo;
          this.wLo = bswap(this.bus.hi);
          this.wHi = bswap(lo);
        } else {
          this.wLo = this.bus.lo;
          this.wHi = this.bus.hi;
        }
        if (tracing) this.steps.push({ level, descAddr: addr, desc: u64(this.wLo, this.wHi) });
        if (strict) strict.descriptorRead(addr, this.wLo, this.wHi, level, g, vpn, this.asidNow);
      }
      const lo = this.wLo, hi = this.wHi;
      if ((lo & DESC.VALID) === 0) return FSC.TRANSLATION + level;
      let oa = (hi & DESC_HI.ADDR) * TWO32 + (lo >>> 0);
      if ((lo & DESC.TABLE) !== 0 && level < 3) {
        // A table: the next level's base; its RES0 bits below the granule are ignored.
        oa -= oa % 2 ** g.shift;
        if (oa >= this.oaLimit) return FSC.ADDRESS_SIZE + level;
        this.wTableHi |= hi;
        base = oa;
        level++;
        continue;
      }
      // A page (level 3, bits 1:0 = 11) or a block where the granule allows one; a block encoding
      // at level 3 or at a level without blocks is invalid.
      if ((lo & DESC.TABLE) === 0 && (g.blockLevels & (1 << level)) === 0) return FSC.TRANSLATION + level;
      oa -= oa % 2 ** shift;
      this.wOa = oa;
      if (oa >= this.oaLimit) return FSC.ADDRESS_SIZE + level;
      if ((lo & DESC.AF) === 0 && !this.ha) return FSC.ACCESS_FLAG + level;
      return LEAF;
    }
  }

  /**
   * Reads the descriptor at `pa` into wLo/wHi straight from RAM (no bus access, nothing allocated):
   * {@link LEAF} when read, {@link DEVICE} for device memory, 0 for a hole (neither is read).
   */
  private peekRam(pa: number): number {
    this.wLo = 0;
    this.wHi = 0;
    const region = this.bus.find(pa, 8);
    if (region === undefined) return 0;
    if (region.ram === undefined) return DEVICE;
    const off = pa - region.base;
    const c = region.ram.chunks[Math.floor(off / CHUNK_SIZE)];
    const co = off % CHUNK_SIZE;
    const lo = c ? c.getInt32(co, true) : 0;
    const hi = c ? c.getInt32(co + 4, true) : 0;
    this.wLo = this.bigEndian ? bswap(hi) : lo;
    this.wHi = this.bigEndian ? bswap(lo) : hi;
    return LEAF;
  }

  /**
   * Walks the current tables for VA (hi:lo) as a translation would after a TLB miss, without side
   * effects: no AF/DBM update, no TLB fill, no counters, no trace, and only RAM is read. The result
   * is in {@link peeked}. With the MMU off the outcome is "fault" with fsc 0 and nothing else set.
   */
  peek(lo: number, hi: number): PeekResult {
    const out = this.peeked;
    out.outcome = "fault";
    out.fsc = FSC.TRANSLATION;
    out.lo = 0; out.hi = 0; out.descAddr = 0; out.level = 0; out.shift = 0; out.oa = 0; out.perm = 0;
    if (!this.m) {
      out.fsc = 0;
      return out;
    }
    const r = (hi & 0x800000) !== 0 ? this.r1 : this.r0;
    if ((hi & r.hiMask) !== r.hiWant || (lo & r.loMask) !== r.loWant || r.oob || r.epd) return out;
    const vpn = (hi & 0xffffff) * 1048576 + (lo >>> 12);
    const w = this.walk(r, vpn, (hi & 0xffff) * TWO32 + (lo >>> 0), true);
    out.lo = this.wLo;
    out.hi = this.wHi;
    out.descAddr = this.wAddr;
    out.level = this.wLevel;
    out.shift = r.granule.levelShift[this.wLevel]!;
    if (w === LEAF) {
      out.outcome = "leaf";
      out.oa = this.wOa;
      out.perm = this.leafPerm(r);
    } else if (w === DEVICE) {
      out.outcome = "device";
    } else {
      out.fsc = w;
      if ((w & 0x3c) === FSC.ACCESS_FLAG) {
        // The walk reached a leaf whose AF is 0: describe it too (page aging clears AF).
        out.oa = this.wOa;
        out.perm = this.leafPerm(r);
      }
    }
    return out;
  }

  private fill(tlb: Tlb, vpn: number, p: number, lo: number, hi: number): number {
    const level = this.wLevel;
    const r = (p & PERM.TTBR1) !== 0 ? this.r1 : this.r0;
    const shift = r.granule.levelShift[level]!;
    const global = (this.wLo & DESC.NG) === 0;
    const e = this.tlbs.fill(tlb, vpn, shift, this.asidNow, global, this.wOa / 4096, p, this.wAddr, this.wLo, this.wHi);
    if (this.onFill) {
      const va = u64(lo, hi);
      this.onFill({ va, asid: this.asidNow, level, pageShift: shift, pa: this.wOa, global, perm: p, steps: this.steps });
    }
    return e;
  }

  private fault(fsc: number): number {
    this.fsc = fsc;
    return -1;
  }

  /**
   * TLBI `op` (a TLBI_* constant) with operand Xt = (hi:lo): VA[55:12] in Xt[43:0], ASID in
   * Xt[63:48] (only ASID[7:0] with TCR_EL1.AS = 0). Only leaf translations are cached, so the
   * last-level forms remove what the others do (over-invalidation is always permitted). This MMU's
   * TLB only: the CPU (Arm64Cpu.tlbi) sends the IS forms to every PE's MMU. Takes effect at once; strict mode checks the DSB.
   * @spec ARM-ARM D8.17 TLB maintenance instructions; ARCH-SPEC §3.8
   */
  tlbi(op: number, lo: number, hi: number): void {
    const kind = TLBI_NAMES[op];
    if (kind === undefined) throw new RangeError(`Arm64Mmu.tlbi: unknown op ${op}`);
    const s = tlbiScope(op, lo, hi, this.asidMask, this.scope);
    if (this.strict) this.strict.tlbi(this, op, s);
    this.tlbs.invalidate({ vpn: s.vpn, asid: s.asid, keepGlobal: s.keepGlobal, kind });
  }

  /** DSB: completes earlier TLB maintenance (already complete here; strict mode notes it). */
  dsb(): void {
    if (this.strict) this.strict.dsb();
  }

  /** ISB: a context synchronization event. Register writes already took effect, so nothing to do. */
  isb(): void {}
}
