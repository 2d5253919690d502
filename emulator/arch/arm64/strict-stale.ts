/**
 * The stale-TLB check of strict mode (as emulator/arch/riscv64/stale-tlb.ts does for RV64): every
 * translation served by a TLB hit is compared with a side-effect-free walk of the tables in force;
 * a difference means the guest changed a descriptor (or WXN, MAIR, TCR) without the TLBI the
 * architecture requires, and is reported. Using the stale entry is legal, so the access goes on
 * with it, exactly as without strict mode.
 * @spec ARM-ARM D8.16 "Translation Lookaside Buffers" (an entry may be used until invalidated);
 * ARCH-SPEC §3.8
 *
 * What counts as a difference:
 * - `invalid`: the walk finds no translation (anything but a leaf, or a leaf with AF = 0 is fine).
 * - `size`: the leaf is of another size.
 * - `pa`: the accessed page maps to another physical page.
 * - `perm`: EL1/EL0 read, write or execute, EL0 data access or nG differ; or the entry is dirty and
 *   the table writable-clean again (dirty tracking restarted without a TLBI).
 * - `attr`: AttrIndx or the MAIR attribute byte differ.
 * AF is not compared: clearing it without a TLBI is the page-aging idiom. A hardware dirty-state
 * update (writable-clean entry, dirty table) is not a change made by software.
 */
import { hex } from "../../core/trace.js";
import { FSC, PERM } from "./descriptors.js";
import type { PeekResult } from "./mmu-types.js";

/** What differs between a TLB entry and the tables. */
export type StaleChange = "invalid" | "size" | "pa" | "perm" | "attr";

/** Where a report happened (pc and instructions retired), supplied by the machine. */
export interface StrictContext {
  pc: bigint;
  icount: number;
  /** The PE (only on a machine with several). */
  cpu?: number;
}

/** " at pc 0x... (instruction N)", with "on cpu K" first on a machine with several PEs. */
export function whereText(w: StrictContext | undefined): string {
  if (!w) return "";
  return `${w.cpu !== undefined ? ` on cpu ${w.cpu}` : ""} at pc ${hex(w.pc)} (instruction ${w.icount})`;
}

/** One use of a stale TLB entry. */
export interface StaleTlbReport {
  kind: "stale-tlb";
  va: bigint;
  access: "fetch" | "load" | "store";
  asid: number;
  changes: StaleChange[];
  /** The entry: its leaf descriptor, where it was read, the PA of the accessed page through it. */
  entry: { desc: bigint; descAddr: number; level: number; shift: number; pa: number; global: boolean };
  /** What a walk finds now: the leaf, or the descriptor it stopped at (with the fault status). */
  fresh: { outcome: "leaf" | "fault"; fsc: number; desc: bigint; descAddr: number; level: number; shift: number; pa: number };
  /** The last store seen to the entry's descriptor (or, if none, to where the walk stopped). */
  writer: StrictContext | undefined;
  where: StrictContext | undefined;
}

const INVALID = 1, SIZE = 2, PA = 4, PERM_CHANGED = 8, ATTR = 16;
const NAMES: readonly [number, StaleChange][] = [[INVALID, "invalid"], [SIZE, "size"], [PA, "pa"], [PERM_CHANGED, "perm"], [ATTR, "attr"]];
const COMPARED = PERM.EL1_R | PERM.EL1_W | PERM.EL1_X | PERM.EL0_R | PERM.EL0_W | PERM.EL0_X | PERM.USER | PERM.NG;
const ATTR_BITS = PERM.ATTR_MASK | (7 << PERM.ATTRINDX_SHIFT);

/** Does the walk result describe a leaf (an Access flag fault still found one)? */
export function freshLeaf(f: PeekResult): boolean {
  return f.outcome === "leaf" || (f.outcome === "fault" && (f.fsc & 0x3c) === FSC.ACCESS_FLAG);
}

/**
 * The differences between an entry (PERM word `perm`, size 2^`shift`, physical page `page` for
 * the accessed page `vpn`) and the walk `f`, as a list (empty when the entry is current).
 */
export function staleChanges(perm: number, shift: number, page: number, f: PeekResult, vpn: number): StaleChange[] {
  let m = 0;
  if (!freshLeaf(f)) {
    m = INVALID;
  } else {
    if (f.shift !== shift) m |= SIZE;
    if (f.oa / 4096 + (vpn % 2 ** (f.shift - 12)) !== page) m |= PA;
    const dirtyAgain = (perm & PERM.CLEAN) === 0 && (f.perm & PERM.CLEAN) !== 0;
    if (((perm ^ f.perm) & COMPARED) !== 0 || dirtyAgain) m |= PERM_CHANGED;
    if (((perm ^ f.perm) & ATTR_BITS) !== 0) m |= ATTR;
  }
  return NAMES.filter(([bit]) => (m & bit) !== 0).map(([, name]) => name);
}

/**
 * One line describing a report, e.g. `stale TLB at pc 0x40001000 (instruction 17): load of VA
 * 0x1000 (ASID 1) uses descriptor 0x40000703 from 0x41002008 but the tables now give ... (pa) —
 * missing TLBI?`.
 */
export function formatStaleReport(r: StaleTlbReport): string {
  const at = whereText(r.where);
  const f = r.fresh;
  const now = f.outcome === "leaf"
    ? `the walk now finds ${hex(f.desc)} at ${hex(f.descAddr)} (level ${f.level}, PA ${hex(f.pa)})`
    : `the walk now stops at level ${f.level} on ${hex(f.desc)} at ${hex(f.descAddr)} (DFSC ${hex(f.fsc)})`;
  const by = r.writer ? `last written${whereText(r.writer)}` : "no store to it was seen";
  return `stale TLB${at}: ${r.access} of VA ${hex(r.va)} (ASID ${r.asid}) uses descriptor ${hex(r.entry.desc)} from ${hex(r.entry.descAddr)} (PA ${hex(r.entry.pa)}) but ${now} [${r.changes.join(", ")}] (${by}) — missing TLBI?`;
}
