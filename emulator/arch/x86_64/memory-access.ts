/**
 * The slow path of loads and stores: translation through the MMU (and its TLB), accesses that cross
 * a page boundary (both pages translated before any byte moves), and refilling the host fast path
 * from what the architectural TLB now holds.
 *
 * Physical holes: x86 has no bus-error exception for ordinary accesses, so a read from a physical
 * address with nothing behind it returns all ones and a write there is dropped (as on a PC).
 * @spec Intel SDM Vol. 3A §4.10.2 (TLB use), §6.15 #PF ("accesses that cross a page boundary")
 */
import { CHUNK_SIZE } from "../../core/memory.js";
import type { X86Cpu } from "./cpu.js";
import { STORE, type Access } from "./mmu.js";

/** Slots of each host fast-path table (direct-mapped by VA page). */
export const FP_SLOTS = 256;

/**
 * Translates and performs a load of `size` bytes in MMU `mode`; the value goes to c.vLo/c.vHi.
 * Returns false if a fault was delivered.
 */
export function loadSlow(c: X86Cpu, lo: number, hi: number, size: number, access: Access, mode: number): boolean {
  const mmu = c.mmu;
  const pa = mmu.translate(lo, hi, access, mode);
  if (pa < 0) return c.mmuFault();
  const bus = c.bus;
  if ((lo & 0xfff) + size > 4096) {
    const pa2 = secondPage(c, lo, hi, access, mode);
    if (pa2 < 0) return false;
    let vlo = 0, vhi = 0;
    for (let k = 0; k < size; k++) {
      const a = (lo & 0xfff) + k < 4096 ? pa + k : pa2 + ((lo & 0xfff) + k - 4096);
      const b = bus.read(a, 1) ? bus.lo & 0xff : 0xff;
      if (k < 4) vlo |= b << (8 * k);
      else vhi |= b << (8 * (k - 4));
    }
    c.vLo = vlo;
    c.vHi = vhi;
    return true;
  }
  const writable = mmu.writable;
  if (!bus.read(pa, size as 1 | 2 | 4 | 8)) {
    c.vLo = size === 1 ? 0xff : size === 2 ? 0xffff : -1;
    c.vHi = size === 8 ? -1 : 0;
    return true;
  }
  c.vLo = bus.lo;
  c.vHi = bus.hi;
  if (c.fastPath && mode === c.dataMode) fillFast(c, pa, lo, hi, access === STORE && writable);
  return true;
}

/** Translates and performs a store in MMU `mode`. Returns false if a fault was delivered. */
export function storeSlow(c: X86Cpu, lo: number, hi: number, size: number, vlo: number, vhi: number, mode: number): boolean {
  const mmu = c.mmu;
  const pa = mmu.translate(lo, hi, STORE, mode);
  if (pa < 0) return c.mmuFault();
  const bus = c.bus;
  if ((lo & 0xfff) + size > 4096) {
    const pa2 = secondPage(c, lo, hi, STORE, mode);
    if (pa2 < 0) return false;
    const n1 = 4096 - (lo & 0xfff);
    for (let k = 0; k < size; k++) {
      const a = k < n1 ? pa + k : pa2 + (k - n1);
      bus.write(a, 1, k < 4 ? vlo >>> (8 * k) : vhi >>> (8 * (k - 4)));
    }
    return true;
  }
  const writable = mmu.writable;
  if (!bus.write(pa, size as 1 | 2 | 4 | 8, vlo, vhi)) return true;
  if (c.fastPath && writable && mode === c.dataMode) fillFast(c, pa, lo, hi, true);
  return true;
}

/** Translates the page after the one holding (hi:lo) for a page-crossing access. */
function secondPage(c: X86Cpu, lo: number, hi: number, access: Access, mode: number): number {
  const lo2 = ((lo & ~0xfff) + 4096) | 0;
  const hi2 = (hi + (lo2 === 0 ? 1 : 0)) | 0;
  const pa2 = c.mmu.translate(lo2, hi2, access, mode);
  if (pa2 < 0) c.mmuFault();
  return pa2;
}

/**
 * Caches the RAM page at `pa` for VA page (hi:lo): always for loads, and for stores too when `write`
 * (the TLB entry is dirty and writable in this mode) and the page holds no decoded instructions.
 */
function fillFast(c: X86Cpu, pa: number, lo: number, hi: number, write: boolean): void {
  const r = c.bus.find(pa);
  if (r?.ram === undefined) return;
  const off = pa - r.base;
  const view = r.ram.chunk(off);
  const s = (lo >>> 12) & (FP_SLOTS - 1);
  const pageOff = (off % CHUNK_SIZE) & ~0xfff;
  c.rTagLo[s] = lo & ~0xfff;
  c.rTagHi[s] = hi;
  c.rView[s] = view;
  c.rOff[s] = pageOff;
  if (write && !c.decoded.has(Math.floor(pa / 4096))) {
    c.wTagLo[s] = lo & ~0xfff;
    c.wTagHi[s] = hi;
    c.wView[s] = view;
    c.wOff[s] = pageOff;
  }
}

