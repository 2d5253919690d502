/**
 * The slow paths of instruction fetch, loads and stores: translation through the MMU (and its
 * TLB), alignment checks, page-crossing accesses with both pages translated before any byte
 * moves, external aborts for holes, and refilling the host fast path from what the TLB now holds.
 * @spec ARCH-SPEC §3.7 (Data/Instruction Abort ISS, FAR_EL1), §3.1 "Stage 1 disabled"
 *   (data accesses are Device-nGnRnE: unaligned ones take an Alignment fault)
 */
import { CHUNK_SIZE } from "../../core/memory.js";
import type { Arm64Cpu } from "./cpu.js";
import { DecodedPage } from "./decode.js";
import { EC, FETCH, FSC, ISS_WNR, LOAD, STORE } from "./defs.js";

/** Slots of each host fast-path table (direct-mapped by VA page). */
export const FP_SLOTS = 256;

/** A Data Abort from the current EL or a lower one, with DFSC `fsc` and FAR = the VA. */
export function dataAbort(c: Arm64Cpu, fsc: number, write: boolean, lo: number, hi: number): false {
  c.exception(c.el === 0 ? EC.DABT_LOW : EC.DABT_CUR, fsc | (write ? ISS_WNR : 0), lo, hi);
  return false;
}

/**
 * Translates the pc and makes its page the current fetch page. Takes the Illegal Execution State
 * exception when PSTATE.IL is set, a PC alignment fault for a misaligned pc, and an Instruction
 * Abort for a translation fault or a hole. Returns null if an exception was taken.
 */
export function fetchPage(c: Arm64Cpu): DecodedPage | null {
  if (c.il) {
    c.exception(EC.ILLEGAL_STATE, 0);
    return null;
  }
  if ((c.pcLo & 3) !== 0) {
    c.exception(EC.PC_ALIGN, 0, c.pcLo, c.pcHi);
    return null;
  }
  const ec = c.el === 0 ? EC.IABT_LOW : EC.IABT_CUR;
  const pa = c.mmu.translate(c.pcLo, c.pcHi, FETCH, c.el);
  if (pa < 0) {
    c.exception(ec, c.mmu.fsc, c.pcLo, c.pcHi);
    return null;
  }
  const r = c.bus.find(pa);
  if (r?.ram === undefined) {
    c.exception(ec, FSC.EXTERNAL, c.pcLo, c.pcHi);
    return null;
  }
  const ppn = Math.floor(pa / 4096);
  let page = c.decoded.get(ppn);
  if (page === undefined) {
    page = new DecodedPage();
    c.decoded.set(ppn, page);
    // Stores to this page (by any PE) must now go the slow way, which drops the decoded copy.
    c.code.dropFastStores();
  }
  c.fetchPage = page;
  c.fetchPpn = ppn;
  if (c.fastPath) {
    c.fetchTagLo = c.pcLo & ~0xfff;
    c.fetchTagHi = c.pcHi;
  }
  return page;
}

/** Device memory (MAIR attribute bits 7:4 zero): every unaligned access takes an Alignment fault. */
const isDevice = (attr: number): boolean => (attr & 0xf0) === 0;

/** Alignment required of this access: every access when SCTLR.A is set or the MMU is off. */
function misaligned(c: Arm64Cpu, lo: number, size: number, mustAlign: boolean): boolean {
  return (lo & (size - 1)) !== 0 && (mustAlign || c.alignMask !== 0);
}

/**
 * Translates and performs a load of `size` bytes at VA (hi:lo) with the permissions of `el`
 * (the current EL, or 0 for LDTR). Result in ldLo/ldHi, zero-extended. `mustAlign` forces the
 * alignment check (exclusives, acquire/release). Returns false if an exception was taken.
 */
export function loadSlow(c: Arm64Cpu, lo: number, hi: number, size: 1 | 2 | 4 | 8, el: number, mustAlign: boolean): boolean {
  if (misaligned(c, lo, size, mustAlign)) return dataAbort(c, FSC.ALIGNMENT, false, lo, hi);
  const pa = c.mmu.translate(lo, hi, LOAD, el);
  if (pa < 0) return dataAbort(c, c.mmu.fsc, false, lo, hi);
  if ((lo & (size - 1)) !== 0 && isDevice(c.mmu.attr)) return dataAbort(c, FSC.ALIGNMENT, false, lo, hi);
  const bus = c.bus;
  if ((lo & 0xfff) + size > 4096) {
    const lo2 = ((lo & ~0xfff) + 4096) | 0;
    const hi2 = (hi + (lo2 === 0 ? 1 : 0)) | 0;
    const pa2 = c.mmu.translate(lo2, hi2, LOAD, el);
    if (pa2 < 0) return dataAbort(c, c.mmu.fsc, false, lo2, hi2);
    let vlo = 0, vhi = 0;
    for (let k = 0; k < size; k++) {
      const a = (lo & 0xfff) + k < 4096 ? pa + k : pa2 + ((lo & 0xfff) + k - 4096);
      if (!bus.read(a, 1)) return dataAbort(c, FSC.EXTERNAL, false, lo, hi);
      if (k < 4) vlo |= bus.lo << (8 * k);
      else vhi |= bus.lo << (8 * (k - 4));
    }
    c.ldLo = vlo;
    c.ldHi = vhi;
    return true;
  }
  if (!bus.read(pa, size)) return dataAbort(c, FSC.EXTERNAL, false, lo, hi);
  c.ldLo = bus.lo;
  c.ldHi = bus.hi;
  if (c.fastPath && el === c.el) fillFast(c, pa, lo, hi, false);
  return true;
}

/** Translates and performs a store of (vhi:vlo), as {@link loadSlow}. Returns false if an exception was taken. */
export function storeSlow(c: Arm64Cpu, lo: number, hi: number, size: 1 | 2 | 4 | 8, vlo: number, vhi: number, el: number, mustAlign: boolean): boolean {
  if (misaligned(c, lo, size, mustAlign)) return dataAbort(c, FSC.ALIGNMENT, true, lo, hi);
  const pa = c.mmu.translate(lo, hi, STORE, el);
  if (pa < 0) return dataAbort(c, c.mmu.fsc, true, lo, hi);
  if ((lo & (size - 1)) !== 0 && isDevice(c.mmu.attr)) return dataAbort(c, FSC.ALIGNMENT, true, lo, hi);
  const bus = c.bus;
  if ((lo & 0xfff) + size > 4096) {
    const lo2 = ((lo & ~0xfff) + 4096) | 0;
    const hi2 = (hi + (lo2 === 0 ? 1 : 0)) | 0;
    const pa2 = c.mmu.translate(lo2, hi2, STORE, el);
    if (pa2 < 0) return dataAbort(c, c.mmu.fsc, true, lo2, hi2);
    const n1 = 4096 - (lo & 0xfff);
    if (bus.find(pa, n1) === undefined || bus.find(pa2, size - n1) === undefined) return dataAbort(c, FSC.EXTERNAL, true, lo, hi);
    for (let k = 0; k < size; k++) {
      const a = k < n1 ? pa + k : pa2 + (k - n1);
      bus.write(a, 1, k < 4 ? vlo >>> (8 * k) : vhi >>> (8 * (k - 4)));
    }
    return true;
  }
  if (!bus.write(pa, size, vlo, vhi)) return dataAbort(c, FSC.EXTERNAL, true, lo, hi);
  if (c.fastPath && el === c.el && c.mmu.writable) fillFast(c, pa, lo, hi, true);
  return true;
}

/** Caches the RAM page at `pa` for VA page (hi:lo) in the load or store fast path. */
function fillFast(c: Arm64Cpu, pa: number, lo: number, hi: number, write: boolean): void {
  // The fast path checks alignment only through alignMask: Device pages need it on.
  if (c.alignMask === 0 && isDevice(c.mmu.attr)) return;
  const r = c.bus.find(pa);
  if (r?.ram === undefined) return;
  const ppn = Math.floor(pa / 4096);
  if (write && !c.code.fastWritable(ppn)) return;
  const off = pa - r.base;
  const view = r.ram.chunk(off);
  const s = (lo >>> 12) & (FP_SLOTS - 1);
  const pageOff = (off % CHUNK_SIZE) & ~0xfff;
  if (write) {
    c.wTagLo[s] = lo & ~0xfff;
    c.wTagHi[s] = hi;
    c.wView[s] = view;
    c.wOff[s] = pageOff;
  } else {
    c.rTagLo[s] = lo & ~0xfff;
    c.rTagHi[s] = hi;
    c.rView[s] = view;
    c.rOff[s] = pageOff;
  }
}
