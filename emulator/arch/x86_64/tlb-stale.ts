/**
 * The stale-TLB detector for x86_64 (strict TLB mode), the counterpart of riscv64/stale-tlb.ts:
 * every translation served by a TLB hit is compared with a fresh, side-effect-free walk of the
 * tables in force now; a difference that makes the cached entry wrong is reported with the CPU, RIP,
 * linear address, PCID, the entry's PTE, what the walk finds now, and the last store to the entry
 * involved.
 *
 * A stale entry is legal (the processor may use it until INVLPG, INVPCID or a MOV to CR3/CR4
 * removes it), so the detector only reports: the access goes on with the cached translation, and
 * the check reads RAM directly and changes no architectural state, counter or trace event.
 * @spec SDM Vol. 3A §4.10.2.3 ("the processor may use a cached translation after the paging
 * structures change"), §4.10.4.2-4.10.4.3 (when software needs to invalidate)
 *
 * What counts as a difference (everything else is not reported):
 * - `invalid`: the fresh walk faults (an entry not present, or a reserved bit).
 * - `size`: the leaf is at another level (a different page size).
 * - `pa`: the accessed page maps to another physical page.
 * - `perm`: the entry grants more than the tables now do (R/W or U/S 1 in the entry and 0 now, or
 *   XD 0 in the entry and 1 now); G, PWT, PCD or PAT differ; or D is 1 in the entry and 0 in the
 *   table (dirty tracking restarted without invalidation: later writes would not set D). A rights
 *   upgrade without invalidation is not reported: the SDM allows it (§4.10.4.3: at most one spurious
 *   #PF, which invalidates the entry). A is not compared (clearing A is the page-aging idiom).
 * A walk that meets an entry address in device memory is not checked (reading it could have effects).
 */
import type { Tlb } from "../../core/tlb.js";
import { hex, type StaleTlbTraceEvent } from "../../core/trace.js";
import { type Access, type X86Mmu, type PeekResult } from "./mmu.js";
import { TLB_PERM } from "./paging-defs.js";

/** Kinds of access, as reports name them (indexed by {@link Access}). */
export type AccessName = "fetch" | "load" | "store";
const ACCESS_NAME: readonly AccessName[] = ["fetch", "load", "store"];

/** What differs between a TLB entry and the tables (see the module comment). */
export type StaleChange = "invalid" | "size" | "pa" | "perm";

/** What the detector needs to know about the CPU making an access or a store. */
export interface StaleTlbCpu {
  readonly hartId: number;
  /** RIP of the current instruction. */
  readonly pc: bigint;
  /** Instructions retired so far. */
  readonly icount: number;
  /** Current privilege level, 0..3. */
  readonly cpl: number;
}

/** The last store a CPU made to a paging-entry slot. */
export interface PteWrite {
  /** The slot's physical address (8-byte aligned). */
  pteAddr: number;
  hart: number;
  pc: bigint;
  icount: number;
  /** "CPL0" .. "CPL3". */
  priv: string;
}

/** One use of a stale TLB entry. */
export interface StaleTlbReport {
  hart: number;
  icount: number;
  pc: bigint;
  va: bigint;
  access: AccessName;
  /** The PCID at the time of the access. */
  asid: number;
  changes: StaleChange[];
  /** The TLB entry that served the access (level 0 = 4 KiB). */
  entry: { pte: bigint; pteAddr: number; level: number; global: boolean };
  /** What a walk finds now: the leaf, or the entry the walk stopped at. */
  fresh: { outcome: "leaf" | "page-fault"; pte: bigint; pteAddr: number; level: number; global: boolean };
  /** The last store seen to the entry that changed (see riscv64/stale-tlb.ts), if any. */
  writer: PteWrite | undefined;
}

const INVALID = 1, SIZE = 2, PA = 4, PERM = 8;
const CHANGE_NAMES: readonly [number, StaleChange][] = [[INVALID, "invalid"], [SIZE, "size"], [PA, "pa"], [PERM, "perm"]];
/** Attribute bits compared as they are. */
const ATTRS = TLB_PERM.G | TLB_PERM.PWT | TLB_PERM.PCD | TLB_PERM.PAT;

/** Small-page frame number that page `vpn` reaches through a leaf (lo/hi) at `level`. */
function frameOf(lo: number, hi: number, level: number, vpn: number): number {
  const pages = 512 ** level;
  const ppn = (hi & 0xfffff) * 1048576 + (lo >>> 12);
  return ppn - (ppn % pages) + (vpn % pages);
}

/**
 * Differences between the TLB entry `e` of `tlb` and a fresh walk, for page `vpn`: a bit set of
 * INVALID | SIZE | PA | PERM, 0 when the entry is still right.
 */
function staleChanges(tlb: Tlb, e: number, fresh: PeekResult, vpn: number): number {
  if (fresh.outcome !== "leaf") return INVALID;
  const eLevel = (tlb.shift[e]! - 12) / 9;
  let m = 0;
  if (fresh.level !== eLevel) m |= SIZE;
  if (tlb.ppn[e]! + (vpn - tlb.vpnBase[e]!) !== frameOf(fresh.lo, fresh.hi, fresh.level, vpn)) m |= PA;
  const ep = tlb.perm[e]!, fp = fresh.perm;
  const grantsMore = (ep & ~fp & (TLB_PERM.RW | TLB_PERM.US)) !== 0 || (fp & ~ep & TLB_PERM.XD) !== 0;
  const dirtyLost = (ep & ~fp & TLB_PERM.D) !== 0;
  if (grantsMore || dirtyLost || ((ep ^ fp) & ATTRS) !== 0) m |= PERM;
  return m;
}

const pte64 = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

interface Author { hart: number; pc: bigint; icount: number; priv: string; seq: number }

/** The detector of one machine: paging-page store tracking shared by its CPUs, and the hit check. */
export class X86StaleTlbDetector {
  /** Physical pages that held an entry read by a walk of any CPU. */
  readonly ptePages = new Set<number>();
  /** Reports so far. */
  count = 0;
  /** Receives every report. */
  onReport: ((r: StaleTlbReport) => void) | undefined;
  private readonly writes = new Map<number, Author>();
  private seq = 0;

  /**
   * A RAM write of `len` bytes at `pa`, all in page `ppn`, made by `cpu` (undefined: by the host).
   * Only pages in {@link ptePages} are tracked.
   */
  ramWritten(ppn: number, pa: number, len: number, cpu: StaleTlbCpu | undefined): void {
    if (!this.ptePages.has(ppn)) return;
    const first = pa - (pa % 8);
    if (cpu === undefined) {
      for (let a = first; a < pa + len; a += 8) this.writes.delete(a);
      return;
    }
    const author: Author = { hart: cpu.hartId, pc: cpu.pc, icount: cpu.icount, priv: `CPL${cpu.cpl}`, seq: this.seq++ };
    for (let a = first; a < pa + len; a += 8) this.writes.set(a, author);
  }

  /** The hooks to install as `mmu.strict` for `cpu`. */
  hooksFor(cpu: StaleTlbCpu): NonNullable<X86Mmu["strict"]> {
    return { ptePages: this.ptePages, hit: (mmu, tlb, e, vpn, lo, hi, access) => this.check(cpu, mmu, tlb, e, vpn, lo, hi, access) };
  }

  /** The strict check of one TLB hit (entry `e` of `tlb`, linear address hi:lo in page `vpn`). */
  check(cpu: StaleTlbCpu, mmu: X86Mmu, tlb: Tlb, e: number, vpn: number, lo: number, hi: number, access: Access): void {
    const fresh = mmu.peek(vpn);
    if (fresh.outcome === "device") return;
    const m = staleChanges(tlb, e, fresh, vpn);
    if (m === 0) return;
    const entryAddr = tlb.pteAddr[e]!;
    this.count++;
    this.onReport?.({
      hart: cpu.hartId, icount: cpu.icount, pc: cpu.pc,
      va: BigInt.asUintN(64, (BigInt(hi) << 32n) | BigInt(lo >>> 0)),
      access: ACCESS_NAME[access]!, asid: mmu.pcid,
      changes: CHANGE_NAMES.filter(([bit]) => (m & bit) !== 0).map(([, name]) => name),
      entry: { pte: pte64(tlb.pteLo[e]!, tlb.pteHi[e]!), pteAddr: entryAddr, level: (tlb.shift[e]! - 12) / 9, global: tlb.global[e] === 1 },
      fresh: { outcome: fresh.outcome, pte: pte64(fresh.lo, fresh.hi), pteAddr: fresh.pteAddr, level: fresh.level, global: (fresh.perm & TLB_PERM.G) !== 0 },
      writer: this.writerOf(entryAddr, fresh),
    });
  }

  /** The most recent store to the entry's slot or, if the walk now ends elsewhere, to a slot on its path. */
  private writerOf(entryAddr: number, fresh: PeekResult): PteWrite | undefined {
    let at = entryAddr;
    let best = this.writes.get(entryAddr);
    if (fresh.pteAddr !== entryAddr) {
      for (let i = 0; i < fresh.pathLength; i++) {
        const a = fresh.path[i]!;
        const w = this.writes.get(a);
        if (w !== undefined && (best === undefined || w.seq > best.seq)) {
          best = w;
          at = a;
        }
      }
    }
    return best && { pteAddr: at, hart: best.hart, pc: best.pc, icount: best.icount, priv: best.priv };
  }
}

/** The trace event for a report (docs/trace.md, "stale-tlb"; `asid` is the PCID). */
export function x86StaleTlbTraceEvent(r: StaleTlbReport): StaleTlbTraceEvent {
  return {
    type: "stale-tlb", arch: "x86_64", hart: r.hart, icount: r.icount, pc: hex(r.pc), va: hex(r.va), access: r.access, asid: r.asid,
    changes: r.changes,
    entry: { pte: hex(r.entry.pte), pteAddr: hex(r.entry.pteAddr), level: r.entry.level, global: r.entry.global },
    fresh: { outcome: r.fresh.outcome, pte: hex(r.fresh.pte), pteAddr: hex(r.fresh.pteAddr), level: r.fresh.level, global: r.fresh.global },
    ...(r.writer ? { writer: { pteAddr: hex(r.writer.pteAddr), hart: r.writer.hart, pc: hex(r.writer.pc), icount: r.writer.icount, priv: r.writer.priv } } : {}),
  };
}

/** One line describing a report, ending with the likely cause ("missing invlpg?"). */
export function formatX86StaleTlbReport(r: StaleTlbReport): string {
  const f = r.fresh;
  let now: string;
  if (f.pteAddr === r.entry.pteAddr) now = `the table now holds ${hex(f.pte)}${f.outcome === "leaf" ? "" : " (no valid translation)"}`;
  else if (f.outcome === "leaf") now = `the walk now finds ${hex(f.pte)} at ${hex(f.pteAddr)} (level ${f.level})`;
  else now = `the walk now stops at level ${f.level} on ${hex(f.pte)} at ${hex(f.pteAddr)}`;
  const w = r.writer;
  const by = w === undefined
    ? "no store to it by a CPU was seen"
    : `${w.pteAddr === f.pteAddr ? "" : `${hex(w.pteAddr)} `}written by ${w.hart === r.hart ? "" : `cpu ${w.hart} `}rip ${hex(w.pc)} at instruction ${w.icount}`;
  return `stale TLB: cpu ${r.hart} rip ${hex(r.pc)} va ${hex(r.va)} (${r.access}, pcid ${r.asid}) uses PTE ${hex(r.entry.pte)} from ${hex(r.entry.pteAddr)} but ${now} (${by}) — missing invlpg?`;
}
