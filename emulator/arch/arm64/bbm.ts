/**
 * Strict TLB mode for AArch64 (off by default): reports TLB-maintenance mistakes without changing
 * what the guest sees: break-before-make violations, translations relying on a TLBI before its DSB
 * (below), and uses of stale TLB entries (strict-stale.ts).
 *
 * 1. Break-before-make. A valid leaf replaced by another valid leaf with a different output address
 *    or size (a block split or merged, a table replaced by a block or back) needs, in between, an
 *    invalid descriptor and a TLBI whose scope covers the old entry. Detected by tracking stores to
 *    RAM pages that hold descriptors the walker read: each 8-byte slot the walker read is followed
 *    (its last value, level, the VA region and ASID the walk saw), and a store to it is compared with
 *    its previous value.
 *    - `valid-to-valid`: a valid leaf overwritten by a valid leaf (or table) of another OA or size.
 *    - `no-tlbi`: the slot was made invalid, but no TLBI covering it came before the new value.
 *    A leaf with AF = 0 and HA = 0 is never cached, so replacing it is not reported. Table-to-table
 *    changes of the next-level address and changes of the Contiguous bit are not checked.
 *    @spec ARM-ARM D8.16.1 "Using break-before-make when updating translation table entries";
 *    ARCH-SPEC §3.8
 * 2. TLBI without DSB. A TLBI completes only at the next DSB; a translation that relies on it
 *    before then may still use the old entry. Detected by remembering the TLB entries each TLBI
 *    removed until the next DSB; a translation of a page one of them covered, whose fresh walk now
 *    gives another result (invalid, another size, PA or permission), is reported once per entry.
 *    @spec ARM-ARM D8.17 "TLB maintenance instructions" (completion by DSB); ARCH-SPEC §3.8 barriers
 *
 * Stores of the host (the TypeScript kernel's physical writes, loaders) are tracked too: the bus
 * reports every RAM write. The emulator still applies every TLBI at once, so nothing here changes a
 * run; reports go to {@link Arm64StrictTlb.onReport}.
 */
import { CHUNK_SIZE, type Bus } from "../../core/memory.js";
import { hex } from "../../core/trace.js";
import { DESC, DESC_HI, PERM } from "./descriptors.js";
import type { Granule } from "./granules.js";
import type { Tlb } from "../../core/tlb.js";
import type { Access, Arm64Mmu, Arm64StrictHooks } from "./mmu.js";
import { formatStaleReport, freshLeaf, type StaleTlbReport, staleChanges, type StrictContext, whereText } from "./strict-stale.js";
import { TLBI_NAMES, type TlbiScope } from "./tlbi.js";

/** Kinds of access, as reports name them (indexed by FETCH, LOAD, STORE). */
const ACCESS_NAME = ["fetch", "load", "store"] as const;

/** A break-before-make violation. */
export interface BbmReport {
  kind: "bbm";
  sequence: "valid-to-valid" | "no-tlbi";
  /** What differs between the old valid entry and the new one. */
  changes: ("pa" | "size")[];
  descAddr: number;
  level: number;
  /** The old valid descriptor (before the invalid one, for `no-tlbi`) and the new one. */
  old: bigint;
  new: bigint;
  /** Start of the VA region the descriptor maps, as the last walk through it saw it, and its ASID. */
  va: bigint;
  asid: number;
  global: boolean;
  where: StrictContext | undefined;
}

/** A translation that relied on a TLBI not yet completed by a DSB. */
export interface TlbiWithoutDsbReport {
  kind: "tlbi-without-dsb";
  /** The TLBI's mnemonic. */
  op: string;
  va: bigint;
  access: (typeof ACCESS_NAME)[number];
  asid: number;
  /** The removed entry: the PA of the accessed page through it, its size and PERM bits. */
  entry: { pa: number; shift: number; perm: number };
  /** What the walk gives now ("fault": no translation). */
  fresh: { outcome: "leaf" | "fault"; pa: number; shift: number; perm: number };
  where: StrictContext | undefined;
}

export type StrictReport = BbmReport | TlbiWithoutDsbReport | StaleTlbReport;
export type { StaleTlbReport, StrictContext } from "./strict-stale.js";

/** Descriptor kinds. */
const INVALID = 0, TABLE = 1, LEAF = 2;
/** Slot states. */
const LIVE = 0, BROKEN = 1;
/** Removed entries remembered per DSB interval; beyond it the oldest are forgotten. */
const PENDING_LIMIT = 1024;
/** The PERM bits a TLBI-without-DSB report compares. */
const PERM_COMPARED = PERM.EL1_R | PERM.EL1_W | PERM.EL1_X | PERM.EL0_R | PERM.EL0_W | PERM.EL0_X;

/** One 8-byte descriptor slot the walker read. */
interface Slot {
  lo: number;
  hi: number;
  level: number;
  granule: Granule;
  vpnBase: number;
  pages: number;
  asid: number;
  state: number;
  /** The last valid value (the reference for the next valid one), or prevKind INVALID. */
  prevLo: number;
  prevHi: number;
  prevKind: number;
  /** The last store to the slot (with the machine's context), if one was seen. */
  writer: StrictContext | undefined;
}

/** A TLB entry removed by a TLBI not yet followed by a DSB. */
interface Removed {
  /** The PE that executed the TLBI (its DSB completes it), and the MMU whose TLB held the entry. */
  issuer: number | undefined;
  target: Arm64Mmu;
  op: string;
  vpnBase: number;
  shift: number;
  asid: number;
  global: boolean;
  ppn: number;
  perm: number;
}

function kindOf(lo: number, level: number, g: Granule): number {
  if ((lo & DESC.VALID) === 0) return INVALID;
  if ((lo & DESC.TABLE) !== 0) return level === 3 ? LEAF : TABLE;
  return level < 3 && (g.blockLevels & (1 << level)) !== 0 ? LEAF : INVALID;
}

/** The output (or next-table) address of a descriptor at `level`. */
function addressOf(lo: number, hi: number, level: number, kind: number, g: Granule): number {
  const a = (hi & DESC_HI.ADDR) * 4294967296 + (lo >>> 0);
  const align = 2 ** (kind === TABLE ? g.shift : g.levelShift[level]!);
  return a - (a % align);
}

const u64 = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
const vaOf = (vpn: number): bigint => BigInt.asUintN(64, BigInt.asIntN(56, BigInt(vpn) << 12n));
const bswap = (x: number): number => ((x >>> 24) | ((x >>> 8) & 0xff00) | ((x << 8) & 0xff0000) | (x << 24)) | 0;

/** The strict-TLB detector of one PE (hooks for {@link Arm64Mmu.strict}). */
export class Arm64StrictTlb implements Arm64StrictHooks {
  /** Physical 4 KiB pages that held a descriptor read by a walk. */
  readonly ptePages = new Set<number>();
  /** Reports so far. */
  count = 0;
  /** Receives every report. */
  onReport: ((r: StrictReport) => void) | undefined;
  /** Supplies the pc and instruction count for reports (set by the machine). */
  context: (() => StrictContext) | undefined;
  private readonly slots = new Map<number, Slot>();
  private readonly broken = new Set<number>();
  private pending: Removed[] = [];
  private mmu: Arm64Mmu | undefined;
  private bus: Bus | undefined;

  /**
   * Installs the detector as `mmu`'s strict hooks; `bus` is where the tables live. A machine with
   * several PEs attaches every PE's MMU to one detector (descriptors are shared memory); the first
   * one's SCTLR_EL1.EE and TCR_EL1.HA are those the descriptor checks assume.
   */
  attach(mmu: Arm64Mmu, bus: Bus): void {
    this.mmu ??= mmu;
    this.bus = bus;
    mmu.strict = this;
  }

  /**
   * Chains {@link ramWritten} onto `bus.onRamWrite` (after any hook already there). A machine that
   * sets its own hook later must call {@link ramWritten} from it instead.
   */
  watch(bus: Bus): void {
    const prev = bus.onRamWrite;
    bus.onRamWrite = (ppn, pa, len) => {
      prev?.(ppn, pa, len);
      this.ramWritten(ppn, pa, len);
    };
  }

  /** @inheritdoc */
  descriptorRead(descAddr: number, lo: number, hi: number, level: number, granule: Granule, vpn: number, asid: number): void {
    this.ptePages.add(Math.floor(descAddr / 4096));
    const pages = 2 ** (granule.levelShift[level]! - 12);
    let s = this.slots.get(descAddr);
    if (s === undefined) {
      s = { lo, hi, level, granule, vpnBase: 0, pages, asid, state: LIVE, prevLo: 0, prevHi: 0, prevKind: INVALID, writer: undefined };
      this.slots.set(descAddr, s);
    }
    s.lo = lo;
    s.hi = hi;
    s.level = level;
    s.granule = granule;
    s.pages = pages;
    s.vpnBase = vpn - (vpn % pages);
    s.asid = asid;
    const k = kindOf(lo, level, granule);
    if (k !== INVALID) {
      s.state = LIVE;
      this.broken.delete(descAddr);
      s.prevLo = lo;
      s.prevHi = hi;
      s.prevKind = k;
    }
  }

  /** A RAM write of `len` bytes at `pa`, all in 4 KiB page `ppn` (the bus's onRamWrite). */
  ramWritten(ppn: number, pa: number, len: number): void {
    if (!this.ptePages.has(ppn)) return;
    if (len >= 4096) {
      // A store of the whole page is the page being recycled (a kernel zeroing a freed table page):
      // its descriptors' history belongs to an address space that is gone, whose ASID is flushed
      // before it is used again, so it is no break-before-make case. Forget the page; if it was
      // still live, the stale-TLB check reports the first use of what its TLB entries kept.
      this.forgetPage(ppn);
      return;
    }
    for (let a = pa - (pa % 8); a < pa + len; a += 8) {
      const s = this.slots.get(a);
      if (s === undefined || !this.readRam(a)) continue;
      if (this.nLo === s.lo && this.nHi === s.hi) continue;
      this.written(a, s, this.nLo, this.nHi);
    }
  }

  private nLo = 0;
  private nHi = 0;

  private forgetPage(ppn: number): void {
    this.ptePages.delete(ppn);
    for (let a = ppn * 4096; a < ppn * 4096 + 4096; a += 8) {
      this.slots.delete(a);
      this.broken.delete(a);
    }
  }

  /** Reads the descriptor at `pa` (in the MMU's endianness) into nLo/nHi; false if not RAM. */
  private readRam(pa: number): boolean {
    const r = this.bus?.find(pa, 8);
    if (r?.ram === undefined) return false;
    const off = pa - r.base;
    const c = r.ram.chunks[Math.floor(off / CHUNK_SIZE)];
    const co = off % CHUNK_SIZE;
    const lo = c ? c.getInt32(co, true) : 0;
    const hi = c ? c.getInt32(co + 4, true) : 0;
    const ee = this.mmu?.ee ?? false;
    this.nLo = ee ? bswap(hi) : lo;
    this.nHi = ee ? bswap(lo) : hi;
    return true;
  }

  private written(addr: number, s: Slot, lo: number, hi: number): void {
    s.writer = this.context?.();
    const oldKind = kindOf(s.lo, s.level, s.granule);
    const newKind = kindOf(lo, s.level, s.granule);
    if (newKind === INVALID) {
      if (oldKind !== INVALID) {
        s.state = BROKEN;
        this.broken.add(addr);
      }
    } else {
      const sequence = oldKind !== INVALID ? "valid-to-valid" : s.state === BROKEN ? "no-tlbi" : undefined;
      const refLo = oldKind !== INVALID ? s.lo : s.prevLo, refHi = oldKind !== INVALID ? s.hi : s.prevHi;
      const refKind = oldKind !== INVALID ? oldKind : s.prevKind;
      if (sequence !== undefined && refKind !== INVALID) this.compare(addr, s, sequence, refLo, refHi, refKind, lo, hi, newKind);
      s.state = LIVE;
      this.broken.delete(addr);
      s.prevLo = lo;
      s.prevHi = hi;
      s.prevKind = newKind;
    }
    s.lo = lo;
    s.hi = hi;
  }

  private compare(addr: number, s: Slot, sequence: BbmReport["sequence"], oLo: number, oHi: number, oKind: number, nLo: number, nHi: number, nKind: number): void {
    // Only a leaf can be in the TLB here (tables are not cached), and an AF = 0 leaf only with HA.
    if (oKind !== LEAF && nKind !== LEAF) return;
    if (oKind === LEAF && (oLo & DESC.AF) === 0 && !this.haOn()) return;
    const changes: BbmReport["changes"] = [];
    if (oKind !== nKind) changes.push("size");
    else if (addressOf(oLo, oHi, s.level, oKind, s.granule) !== addressOf(nLo, nHi, s.level, nKind, s.granule)) changes.push("pa");
    if (changes.length === 0) return;
    this.report({
      kind: "bbm", sequence, changes, descAddr: addr, level: s.level, old: u64(oLo, oHi), new: u64(nLo, nHi),
      va: vaOf(s.vpnBase), asid: s.asid, global: oKind === LEAF && (oLo & DESC.NG) === 0, where: this.context?.(),
    });
  }

  private haOn(): boolean {
    return this.mmu !== undefined && (this.mmu.tcr & (1n << 39n)) !== 0n;
  }

  /** @inheritdoc */
  tlbi(mmu: Arm64Mmu, op: number, scope: TlbiScope): void {
    for (const a of this.broken) {
      const s = this.slots.get(a)!;
      if (this.covers(scope, s)) {
        this.broken.delete(a);
        s.state = LIVE;
        s.prevKind = INVALID;
      }
    }
    this.rememberRemoved(mmu, TLBI_NAMES[op] ?? String(op), scope);
  }

  /** Does a TLBI of `scope` reach what the slot's last valid value could have put in a TLB? */
  private covers(scope: TlbiScope, s: Slot): boolean {
    const global = s.prevKind === LEAF && (s.prevLo & DESC.NG) === 0;
    if (scope.lastLevel && s.prevKind === TABLE) return false;
    if (scope.keepGlobal && global) return false;
    if (scope.asid !== undefined && !global && s.asid !== scope.asid) return false;
    return scope.vpn === undefined || (scope.vpn >= s.vpnBase && scope.vpn < s.vpnBase + s.pages);
  }

  private rememberRemoved(mmu: Arm64Mmu, op: string, scope: TlbiScope): void {
    const seen = new Set<string>();
    const issuer = this.context?.().cpu;
    for (const t of mmu.tlbs.arrays) {
      for (let i = 0; i < t.valid.length; i++) {
        if (t.valid[i] !== 1) continue;
        const global = t.global[i] === 1;
        if (scope.keepGlobal && global) continue;
        if (scope.asid !== undefined && !global && t.asid[i] !== scope.asid) continue;
        const vpnBase = t.vpnBase[i]!, shift = t.shift[i]!;
        if (scope.vpn !== undefined && (scope.vpn < vpnBase || scope.vpn >= vpnBase + 2 ** (shift - 12))) continue;
        const key = `${vpnBase}/${shift}/${global ? "g" : t.asid[i]}`;
        if (seen.has(key)) continue;
        seen.add(key);
        this.pending.push({ issuer, target: mmu, op, vpnBase, shift, asid: t.asid[i]!, global, ppn: t.ppn[i]!, perm: t.perm[i]! });
      }
    }
    if (this.pending.length > PENDING_LIMIT) this.pending = this.pending.slice(-PENDING_LIMIT);
  }

  /** @inheritdoc */
  hit(mmu: Arm64Mmu, tlb: Tlb, e: number, vpn: number, lo: number, hi: number, access: Access): void {
    const f = mmu.peek(lo, hi);
    if (f.outcome === "device") return;
    const perm = tlb.perm[e]!, shift = tlb.shift[e]!;
    const page = tlb.ppn[e]! + (vpn - tlb.vpnBase[e]!);
    const changes = staleChanges(perm, shift, page, f, vpn);
    if (changes.length === 0) return;
    const leaf = freshLeaf(f);
    const entryAddr = tlb.pteAddr[e]!;
    this.report({
      kind: "stale-tlb", va: u64(lo, hi), access: ACCESS_NAME[access], asid: mmu.asid, changes,
      entry: { desc: u64(tlb.pteLo[e]!, tlb.pteHi[e]!), descAddr: entryAddr, level: (perm >>> PERM.LEVEL_SHIFT) & 3, shift, pa: page * 4096, global: tlb.global[e] === 1 },
      fresh: {
        outcome: f.outcome === "leaf" ? "leaf" : "fault", fsc: f.outcome === "leaf" ? 0 : f.fsc, desc: u64(f.lo, f.hi), descAddr: f.descAddr, level: f.level, shift: f.shift,
        pa: leaf ? f.oa + (vpn % 2 ** (f.shift - 12)) * 4096 : 0,
      },
      writer: this.slots.get(entryAddr)?.writer ?? this.slots.get(f.descAddr)?.writer,
      where: this.context?.(),
    });
  }

  /** @inheritdoc A DSB completes the TLBIs the executing PE issued (on every PE they reached). */
  dsb(): void {
    if (this.pending.length === 0) return;
    const cpu = this.context?.().cpu;
    this.pending = this.pending.filter((p) => p.issuer !== cpu);
  }

  /** @inheritdoc */
  translation(mmu: Arm64Mmu, vpn: number, lo: number, hi: number, access: Access): void {
    if (this.pending.length === 0) return;
    for (let i = 0; i < this.pending.length; i++) {
      const p = this.pending[i]!;
      if (p.target !== mmu || vpn < p.vpnBase || vpn >= p.vpnBase + 2 ** (p.shift - 12) || (!p.global && p.asid !== mmu.asid)) continue;
      this.pending.splice(i--, 1);
      const f = mmu.peek(lo, hi);
      if (f.outcome === "device") continue;
      const oldPage = p.ppn + (vpn - p.vpnBase);
      const leaf = f.outcome === "leaf";
      const newPage = leaf ? f.oa / 4096 + (vpn % 2 ** (f.shift - 12)) : -1;
      if (leaf && newPage === oldPage && f.shift === p.shift && ((f.perm ^ p.perm) & PERM_COMPARED) === 0) continue;
      this.report({
        kind: "tlbi-without-dsb", op: p.op, va: u64(lo, hi), access: ACCESS_NAME[access], asid: mmu.asid,
        entry: { pa: oldPage * 4096, shift: p.shift, perm: p.perm },
        fresh: { outcome: leaf ? "leaf" : "fault", pa: leaf ? newPage * 4096 : 0, shift: leaf ? f.shift : 0, perm: leaf ? f.perm : 0 },
        where: this.context?.(),
      });
    }
  }

  private report(r: StrictReport): void {
    this.count++;
    this.onReport?.(r);
  }
}

/**
 * One line describing a report, e.g. `break-before-make: descriptor 0x41001ff8 (level 2, VA
 * 0x3fe00000) changed 0x40000701 -> 0x40200701 (pa) while valid — write an invalid descriptor,
 * DSB, TLBI, DSB first`.
 */
export function formatStrictReport(r: StrictReport): string {
  if (r.kind === "stale-tlb") return formatStaleReport(r);
  const at = whereText(r.where);
  if (r.kind === "bbm") {
    const how = r.sequence === "valid-to-valid"
      ? "while valid — write an invalid descriptor, DSB, TLBI, DSB first"
      : "after an invalid descriptor but with no TLBI covering the old entry in between";
    return `break-before-make${at}: descriptor ${hex(r.descAddr)} (level ${r.level}, VA ${hex(r.va)}${r.global ? ", global" : `, ASID ${r.asid}`}) changed ${hex(r.old)} -> ${hex(r.new)} (${r.changes.join(", ")}) ${how}`;
  }
  const now = r.fresh.outcome === "leaf" ? `PA ${hex(r.fresh.pa)} (2^${r.fresh.shift})` : "no translation";
  return `TLBI without DSB${at}: ${r.access} of VA ${hex(r.va)} (ASID ${r.asid}) relies on TLBI ${r.op.toUpperCase()} completing: the old entry gave PA ${hex(r.entry.pa)} (2^${r.entry.shift}), the tables now give ${now} — missing DSB after TLBI?`;
}
