/**
 * The stale-TLB detector (strict TLB mode): every translation served by a TLB hit is compared with
 * a fresh, side-effect-free walk of the tables in force now; a difference is reported with the
 * hart, pc, VA, the entry's PTE, what the walk finds now, and the last store to the PTE involved.
 *
 * A stale entry is legal: an implementation may use any translation that was valid at some time
 * since the last SFENCE.VMA, so the detector only reports. The access goes on with the cached
 * translation, exactly as it does without strict mode; the check reads RAM directly and changes
 * no architectural state, counter or trace event of the run.
 * @spec RV-S §"Supervisor Memory-Management Fence Instruction" (stale translations may be used
 * until the fence)
 *
 * What counts as a difference (everything else is not reported):
 * - `invalid`: the fresh walk faults (V=0, a reserved encoding, a PTE outside RAM, no leaf).
 * - `size`: the leaf is at another level (a different page size).
 * - `pa`: the accessed page maps to another physical page.
 * - `perm`: R, W, X or U differ, or G on the path; or D is set in the entry and clear in the table
 *   (dirty tracking restarted without a fence); or, for a store without hardware A/D updates, D is
 *   clear in the entry and set in the table (the store faults only because of the entry).
 *   A is not compared: clearing A without a fence is the usual page-aging idiom, imprecise by
 *   design, and a hardware A/D update (Svadu) is not a change made by software.
 * A walk that meets a PTE address in device memory is not checked (reading it could have effects).
 *
 * Stores are tracked per 8-byte slot on the RAM pages that held a PTE read by a walk (of any hart):
 * the last store by a hart to each slot is remembered (pc, instruction count, privilege). A store
 * made from the host (loading, a debugger) forgets the slot's writer. Strict mode turns the host
 * fast path off, so every access is translated through the TLB and every store is seen.
 */
import type { Tlb } from "../../core/tlb.js";
import { hex, type StaleTlbTraceEvent } from "../../core/trace.js";
import { PRV_NAME, PTE } from "./defs.js";
import type { Hart } from "./hart.js";
import { STORE, type Access, type Mmu, type PeekResult } from "./mmu.js";

/** Kinds of access, as reports name them. */
export type AccessName = "fetch" | "load" | "store";
/** Indexed by {@link Access} (FETCH, LOAD, STORE). */
const ACCESS_NAME: readonly AccessName[] = ["fetch", "load", "store"];

/** What differs between a TLB entry and the tables (see the module comment). */
export type StaleChange = "invalid" | "size" | "pa" | "perm";

/** The last store a hart made to a PTE slot. */
export interface PteWrite {
  /** The slot's physical address (8-byte aligned). */
  pteAddr: number;
  hart: number;
  /** pc of the storing instruction (for the kernel's native code: the pc the hart stood at). */
  pc: bigint;
  /** Instructions the hart had retired before the store. */
  icount: number;
  /** Privilege of the hart at the time: "U", "S" or "M". */
  priv: string;
}

/** One use of a stale TLB entry. */
export interface StaleTlbReport {
  hart: number;
  /** Instructions the hart had retired before the access. */
  icount: number;
  pc: bigint;
  va: bigint;
  access: AccessName;
  /** satp.ASID at the time of the access. */
  asid: number;
  changes: StaleChange[];
  /** The TLB entry that served the access. */
  entry: { pte: bigint; pteAddr: number; level: number; global: boolean };
  /**
   * What a walk finds now: the leaf (`outcome` "leaf"), or the PTE the walk stopped at ("page-fault";
   * "access-fault" when that PTE's address is outside RAM, then `pte` is 0).
   */
  fresh: { outcome: "leaf" | "page-fault" | "access-fault"; pte: bigint; pteAddr: number; level: number; global: boolean };
  /**
   * The last store seen to the PTE that changed: the entry's own slot when the walk ends there,
   * otherwise the most recently written of the entry's slot and the PTEs on the fresh walk's path.
   * Undefined when no store by a hart was seen (written before the page was first walked, or from
   * the host).
   */
  writer: PteWrite | undefined;
}

const INVALID = 1, SIZE = 2, PA = 4, PERM = 8;
const CHANGE_NAMES: readonly [number, StaleChange][] = [[INVALID, "invalid"], [SIZE, "size"], [PA, "pa"], [PERM, "perm"]];
/** The leaf bits compared as they are. */
const COMPARED = PTE.R | PTE.W | PTE.X | PTE.U;

/**
 * Differences between a TLB entry (its leaf PTE `eLo`/`eHi` at `eLevel`, global or not) and a fresh
 * walk, for an `access` to page `vpn`; `adue` = hardware A/D updates on. A bit set of
 * INVALID | SIZE | PA | PERM, 0 when the entry is current.
 */
function staleChanges(eLo: number, eHi: number, eLevel: number, eGlobal: boolean, fresh: PeekResult, vpn: number, access: Access, adue: boolean): number {
  if (fresh.outcome !== "leaf") return INVALID;
  let m = 0;
  if (fresh.level !== eLevel) m |= SIZE;
  // The physical page this vpn reaches through each: the leaf's PPN plus the VA's offset in the page.
  const ePpn = (eHi & 0x3fffff) * 4194304 + (eLo >>> 10) + (vpn % 2 ** (9 * eLevel));
  const fPpn = (fresh.hi & 0x3fffff) * 4194304 + (fresh.lo >>> 10) + (vpn % 2 ** (9 * fresh.level));
  if (ePpn !== fPpn) m |= PA;
  const eD = (eLo & PTE.D) !== 0, fD = (fresh.lo & PTE.D) !== 0;
  if (((eLo ^ fresh.lo) & COMPARED) !== 0 || eGlobal !== fresh.global || (eD && !fD) || (!eD && fD && access === STORE && !adue)) m |= PERM;
  return m;
}

const pte64 = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

/** A store's author, shared by the slots one store covers. */
interface Author {
  hart: number;
  pc: bigint;
  icount: number;
  priv: string;
  /** Order of the store among all tracked stores. */
  seq: number;
}

/** The detector of one machine: PTE-page store tracking shared by its harts, and the hit check. */
export class StaleTlbDetector {
  /** Physical pages that held a PTE read by a walk of any hart. */
  readonly ptePages = new Set<number>();
  /** Reports so far. */
  count = 0;
  /** Receives every report. */
  onReport: ((r: StaleTlbReport) => void) | undefined;
  /** Last store by a hart to each tracked 8-byte slot. */
  private readonly writes = new Map<number, Author>();
  private seq = 0;

  /**
   * A RAM write of `len` bytes at `pa`, all in page `ppn`, made by `hart` (undefined: by the host).
   * Only pages in {@link ptePages} are tracked.
   */
  ramWritten(ppn: number, pa: number, len: number, hart: Hart | undefined): void {
    if (!this.ptePages.has(ppn)) return;
    const first = pa - (pa % 8);
    if (hart === undefined) {
      for (let a = first; a < pa + len; a += 8) this.writes.delete(a);
      return;
    }
    const author: Author = { hart: hart.hartId, pc: hart.pc, icount: hart.icount, priv: PRV_NAME[hart.priv]!, seq: this.seq++ };
    for (let a = first; a < pa + len; a += 8) this.writes.set(a, author);
  }

  /**
   * The strict check of one TLB hit of `hart` (entry `e` of `tlb`, VA hi:lo in page `vpn`): walks
   * the current tables without side effects and reports a difference.
   */
  check(hart: Hart, mmu: Mmu, tlb: Tlb, e: number, vpn: number, lo: number, hi: number, access: Access): void {
    const fresh = mmu.peek(vpn);
    if (fresh.outcome === "device") return;
    const eLo = tlb.pteLo[e]!, eHi = tlb.pteHi[e]!;
    const eLevel = (tlb.shift[e]! - 12) / 9;
    const eGlobal = tlb.global[e] === 1;
    const m = staleChanges(eLo, eHi, eLevel, eGlobal, fresh, vpn, access, mmu.adue);
    if (m === 0) return;
    const entryAddr = tlb.pteAddr[e]!;
    this.count++;
    this.onReport?.({
      hart: hart.hartId, icount: hart.icount, pc: hart.pc,
      va: BigInt.asUintN(64, (BigInt(hi) << 32n) | BigInt(lo >>> 0)),
      access: ACCESS_NAME[access]!, asid: mmu.asid,
      changes: CHANGE_NAMES.filter(([bit]) => (m & bit) !== 0).map(([, name]) => name),
      entry: { pte: pte64(eLo, eHi), pteAddr: entryAddr, level: eLevel, global: eGlobal },
      fresh: { outcome: fresh.outcome, pte: pte64(fresh.lo, fresh.hi), pteAddr: fresh.pteAddr, level: fresh.level, global: fresh.global },
      writer: this.writerOf(entryAddr, fresh),
    });
  }

  /** See {@link StaleTlbReport.writer}. */
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

/** The trace event for a report (docs/trace.md, "stale-tlb"). */
export function staleTlbTraceEvent(r: StaleTlbReport, arch: string): StaleTlbTraceEvent {
  return {
    type: "stale-tlb", arch, hart: r.hart, icount: r.icount, pc: hex(r.pc), va: hex(r.va), access: r.access, asid: r.asid,
    changes: r.changes,
    entry: { pte: hex(r.entry.pte), pteAddr: hex(r.entry.pteAddr), level: r.entry.level, global: r.entry.global },
    fresh: { outcome: r.fresh.outcome, pte: hex(r.fresh.pte), pteAddr: hex(r.fresh.pteAddr), level: r.fresh.level, global: r.fresh.global },
    ...(r.writer ? { writer: { pteAddr: hex(r.writer.pteAddr), hart: r.writer.hart, pc: hex(r.writer.pc), icount: r.writer.icount, priv: r.writer.priv } } : {}),
  };
}

/**
 * One line describing a report, e.g. `stale TLB: hart 0 pc 0x80000040 va 0x40000000 (load) uses
 * PTE 0x20001cd7 from 0x80005000 but the table now holds 0x200020d7 (written by pc 0x80000038 at
 * instruction 17) — missing sfence.vma?`.
 */
export function formatStaleTlbReport(r: StaleTlbReport): string {
  const f = r.fresh;
  let now: string;
  if (f.outcome === "access-fault") now = `the walk now stops at level ${f.level}: its PTE address ${hex(f.pteAddr)} is not RAM`;
  else if (f.pteAddr === r.entry.pteAddr) now = `the table now holds ${hex(f.pte)}${f.outcome === "leaf" ? "" : " (invalid)"}`;
  else if (f.outcome === "leaf") now = `the walk now finds ${hex(f.pte)} at ${hex(f.pteAddr)} (level ${f.level})`;
  else now = `the walk now stops at level ${f.level} on ${hex(f.pte)} at ${hex(f.pteAddr)} (invalid)`;
  const w = r.writer;
  const by = w === undefined
    ? "no store to it by a hart was seen"
    : `${w.pteAddr === f.pteAddr ? "" : `${hex(w.pteAddr)} `}written by ${w.hart === r.hart ? "" : `hart ${w.hart} `}pc ${hex(w.pc)} at instruction ${w.icount}`;
  return `stale TLB: hart ${r.hart} pc ${hex(r.pc)} va ${hex(r.va)} (${r.access}) uses PTE ${hex(r.entry.pte)} from ${hex(r.entry.pteAddr)} but ${now} (${by}) — missing sfence.vma?`;
}
