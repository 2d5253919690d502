/**
 * The physical memory map: what the firmware says each range of physical addresses is.
 *
 * Addresses and sizes are numbers (exact below 2^53, which bounds every physical address the
 * emulated machines can route). A valid map is sorted by base, its regions do not overlap, and each
 * is 4 KiB aligned with a non-zero size; holes between regions are allowed (they are not RAM).
 */
import { PAGE_SIZE } from "../frames.js";

/** What a range of physical memory is used for (the kinds of the seed design's `MemoryRegion`). */
export const MemoryRegionKind = {
  /** Free RAM: the only kind the frame allocator hands out. */
  Usable: "Usable",
  /** Firmware/BIOS reserved. */
  Reserved: "Reserved",
  /** ACPI tables; reclaimable once the kernel has read them. */
  AcpiReclaimable: "AcpiReclaimable",
  /** ACPI non-volatile storage; must be preserved across sleep states. */
  AcpiNvs: "AcpiNvs",
  /** RAM that failed a test; never used. */
  BadMemory: "BadMemory",
  /** Boot loader data (boot info, early page tables); reclaimable after boot. */
  BootloaderReclaimable: "BootloaderReclaimable",
  /** Kernel image, loaded modules and the kernel's own boot-time allocations (e.g. the frame bitmap). */
  KernelAndModules: "KernelAndModules",
  /** A linear framebuffer. */
  Framebuffer: "Framebuffer",
  /** Memory set aside for device DMA. */
  DmaBuffer: "DmaBuffer",
  /** Memory-mapped device registers: not RAM, never managed by the frame allocator. */
  DeviceMemory: "DeviceMemory",
} as const;
export type MemoryRegionKind = (typeof MemoryRegionKind)[keyof typeof MemoryRegionKind];

/** Every kind, in declaration order (stable iteration order for statistics). */
export const MEMORY_REGION_KINDS: readonly MemoryRegionKind[] = Object.values(MemoryRegionKind);

/** One entry of the memory map: `size` bytes at physical address `base`. */
export interface MemoryRegion {
  readonly base: number;
  readonly size: number;
  readonly kind: MemoryRegionKind;
}

/** A memory map (or boot-time placement) the kernel cannot start with. One-line message naming the region. */
export class BootError extends Error {
  override readonly name = "BootError";
}

/** `0x…` formatting used in every message of this subsystem. */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** `[0x80000000, +0x1000) Usable`: how messages name a region. */
export function describeRegion(r: MemoryRegion): string {
  return `[${hex(r.base)}, +${hex(r.size)}) ${r.kind}`;
}

function isKind(k: unknown): k is MemoryRegionKind {
  return typeof k === "string" && (MEMORY_REGION_KINDS as readonly string[]).includes(k);
}

/**
 * Checks a firmware memory map and returns a copy sorted by base.
 *
 * Checks, in this order: empty map; per region, a known kind, a base and end below 2^53, a non-zero
 * size; no two regions overlap; every region 4 KiB aligned.
 * @throws BootError `memory map is empty`; `memory map: region [b, +s) K has an unknown kind`,
 *   `… is outside the physical address space`, `… has size 0`;
 *   `memory map: regions [a, +s) K1 and [b, +t) K2 overlap`; `memory map: region … is not 4 KiB aligned`.
 * @example
 * ```ts
 * validateMemoryMap([{ base: 0x80000000, size: 0x8000000, kind: MemoryRegionKind.Usable }]);
 * ```
 */
export function validateMemoryMap(map: readonly MemoryRegion[]): MemoryRegion[] {
  if (map.length === 0) throw new BootError("memory map is empty");
  for (const r of map) {
    const name = `memory map: region ${describeRegion(r)}`;
    if (!isKind(r.kind)) throw new BootError(`${name} has an unknown kind`);
    if (!Number.isSafeInteger(r.base) || !Number.isSafeInteger(r.size) || r.base < 0 || r.size < 0 ||
        !Number.isSafeInteger(r.base + r.size)) {
      throw new BootError(`${name} is outside the physical address space`);
    }
    if (r.size === 0) throw new BootError(`${name} has size 0`);
  }
  const sorted = map.map((r) => ({ base: r.base, size: r.size, kind: r.kind })).sort((a, b) => a.base - b.base);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (a.base + a.size > b.base) {
      throw new BootError(`memory map: regions ${describeRegion(a)} and ${describeRegion(b)} overlap`);
    }
  }
  for (const r of sorted) {
    if (r.base % PAGE_SIZE !== 0 || r.size % PAGE_SIZE !== 0) throw new BootError(`memory map: region ${describeRegion(r)} is not 4 KiB aligned`);
  }
  return sorted;
}

/** Index of the region of a sorted, non-overlapping map that contains `pa`, or -1 (a hole). O(log regions). */
export function regionIndexAt(regions: readonly MemoryRegion[], pa: number): number {
  let lo = 0;
  let hi = regions.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const r = regions[mid]!;
    if (pa < r.base) hi = mid - 1;
    else if (pa >= r.base + r.size) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** The first hole of a sorted map inside [base, base+size), or undefined when regions cover it all. */
export function firstHole(regions: readonly MemoryRegion[], base: number, size: number): number | undefined {
  let pa = base;
  const end = base + size;
  while (pa < end) {
    const i = regionIndexAt(regions, pa);
    if (i < 0) return pa;
    pa = regions[i]!.base + regions[i]!.size;
  }
  return undefined;
}

/**
 * A new sorted map in which [base, base+size) has kind `kind`; regions it overlaps are split.
 * The caller has checked alignment; holes inside the range become part of the new region.
 */
export function carveRegion(regions: readonly MemoryRegion[], base: number, size: number, kind: MemoryRegionKind): MemoryRegion[] {
  const end = base + size;
  const out: MemoryRegion[] = [];
  for (const r of regions) {
    const rEnd = r.base + r.size;
    if (rEnd <= base || r.base >= end) { out.push(r); continue; }
    if (r.base < base) out.push({ base: r.base, size: base - r.base, kind: r.kind });
    if (rEnd > end) out.push({ base: end, size: rEnd - end, kind: r.kind });
  }
  out.push({ base, size, kind });
  return out.sort((a, b) => a.base - b.base);
}

/** Bytes of each kind in a map (every kind present, zero when absent). */
export function bytesByKind(regions: readonly MemoryRegion[]): Record<MemoryRegionKind, number> {
  const out = Object.fromEntries(MEMORY_REGION_KINDS.map((k) => [k, 0])) as Record<MemoryRegionKind, number>;
  for (const r of regions) out[r.kind] += r.size;
  return out;
}
