/**
 * The slow path of loads and stores: translation through the MMU (and its TLB), page-crossing
 * (misaligned) accesses with both pages translated before any byte moves, access faults for
 * holes, and refilling the host fast path from what the architectural TLB now holds.
 */
import { CHUNK_SIZE } from "../../core/memory.js";
import { CAUSE } from "./defs.js";
import type { Hart } from "./hart.js";
import { LOAD, STORE } from "./mmu.js";

/** Slots of each host fast-path table (direct-mapped by VA page). */
export const FP_SLOTS = 256;

/**
 * Translates and performs a load of `size` bytes (misaligned accesses are performed, translating
 * both pages first). Result in ldLo/ldHi, zero-extended. Returns false if a trap was taken.
 */
export function loadSlow(h: Hart, lo: number, hi: number, size: 1 | 2 | 4 | 8, access: typeof LOAD | typeof STORE): boolean {
  const pa = h.mmu.translate(lo, hi, access, h.dataPriv);
  if (pa < 0) {
    h.exception(h.mmu.cause, lo, hi);
    return false;
  }
  const bus = h.bus;
  if ((lo & 0xfff) + size > 4096) {
    const pa2 = secondPage(h, lo, hi, access);
    if (pa2 < 0) return false;
    let vlo = 0, vhi = 0;
    for (let k = 0; k < size; k++) {
      const a = (lo & 0xfff) + k < 4096 ? pa + k : pa2 + ((lo & 0xfff) + k - 4096);
      if (!bus.read(a, 1)) return accessFault(h, access, lo, hi);
      if (k < 4) vlo |= bus.lo << (8 * k);
      else vhi |= bus.lo << (8 * (k - 4));
    }
    h.ldLo = vlo;
    h.ldHi = vhi;
    return true;
  }
  if (!bus.read(pa, size)) return accessFault(h, access, lo, hi);
  h.ldLo = bus.lo;
  h.ldHi = bus.hi;
  if (h.fastPath && access === LOAD) fillFast(h, pa, lo, hi, false);
  return true;
}

/** Translates and performs a store of (vhi:vlo). Returns false if a trap was taken. */
export function storeSlow(h: Hart, lo: number, hi: number, size: 1 | 2 | 4 | 8, vlo: number, vhi: number): boolean {
  const pa = h.mmu.translate(lo, hi, STORE, h.dataPriv);
  if (pa < 0) {
    h.exception(h.mmu.cause, lo, hi);
    return false;
  }
  const bus = h.bus;
  if ((lo & 0xfff) + size > 4096) {
    const pa2 = secondPage(h, lo, hi, STORE);
    if (pa2 < 0) return false;
    const n1 = 4096 - (lo & 0xfff);
    if (bus.find(pa, n1) === undefined || bus.find(pa2, size - n1) === undefined) return accessFault(h, STORE, lo, hi);
    for (let k = 0; k < size; k++) {
      const a = k < n1 ? pa + k : pa2 + (k - n1);
      bus.write(a, 1, k < 4 ? vlo >>> (8 * k) : vhi >>> (8 * (k - 4)));
    }
    return true;
  }
  if (!bus.write(pa, size, vlo, vhi)) return accessFault(h, STORE, lo, hi);
  if (h.fastPath && h.mmu.writable) fillFast(h, pa, lo, hi, true);
  return true;
}

/** Translates the page after the one holding VA (hi:lo) for a page-crossing access. */
function secondPage(h: Hart, lo: number, hi: number, access: typeof LOAD | typeof STORE): number {
  const lo2 = ((lo & ~0xfff) + 4096) | 0;
  const hi2 = (hi + (lo2 === 0 ? 1 : 0)) | 0;
  const pa2 = h.mmu.translate(lo2, hi2, access, h.dataPriv);
  if (pa2 < 0) h.exception(h.mmu.cause, lo2, hi2);
  return pa2;
}

function accessFault(h: Hart, access: number, lo: number, hi: number): false {
  h.exception(access === STORE ? CAUSE.STORE_ACCESS : CAUSE.LOAD_ACCESS, lo, hi);
  return false;
}

/** Caches the RAM page at `pa` for VA page (hi:lo) in the load or store fast path. */
function fillFast(h: Hart, pa: number, lo: number, hi: number, write: boolean): void {
  const r = h.bus.find(pa);
  if (r?.ram === undefined) return;
  const ppn = Math.floor(pa / 4096);
  if (write && !h.code.fastWritable(ppn)) return;
  const off = pa - r.base;
  const view = r.ram.chunk(off);
  const s = (lo >>> 12) & (FP_SLOTS - 1);
  const pageOff = off & (CHUNK_SIZE - 1) & ~0xfff; // off is an integer below 2^53: its low bits survive the mask
  if (write) {
    if (h.wListed[s] === 0) { h.wListed[s] = 1; h.wUsed[h.wUsedN++] = s; }
    h.wTagLo[s] = lo & ~0xfff;
    h.wTagHi[s] = hi;
    h.wView[s] = view;
    h.wOff[s] = pageOff;
  } else {
    if (h.rListed[s] === 0) { h.rListed[s] = 1; h.rUsed[h.rUsedN++] = s; }
    h.rTagLo[s] = lo & ~0xfff;
    h.rTagHi[s] = hi;
    h.rView[s] = view;
    h.rOff[s] = pageOff;
  }
}
