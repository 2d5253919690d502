/**
 * Where the frame allocator's metadata goes (boot time only).
 *
 * The metadata block is `[frame bitmap][freed bitmap][frame records]` (FrameBitmap, FrameRecords):
 * 4 * ceil(frames / 32) * 2 + 4 * frames bytes, rounded up to whole frames. It lives in RAM, so it
 * is carved out of the memory map as KernelAndModules and never handed out.
 */
import { PAGE_SIZE } from "../frames.js";
import { FrameRecords } from "./frame-records.js";
import { BootError, carveRegion, describeRegion, firstHole, hex, MemoryRegionKind, type MemoryRegion } from "./regions.js";

/** Kinds the metadata may occupy when its address is given. */
const METADATA_HOSTS: readonly MemoryRegionKind[] = [MemoryRegionKind.Usable, MemoryRegionKind.KernelAndModules, MemoryRegionKind.Reserved];

/** Bytes of metadata (a multiple of 4 KiB) for a managed range of `frames` frames. */
export function metadataBytesFor(frames: number): number {
  return Math.ceil((4 * Math.ceil(frames / 32) + FrameRecords.bytesFor(frames)) / PAGE_SIZE) * PAGE_SIZE;
}

/**
 * Places `bytes` of metadata at `at` (4 KiB aligned, inside Usable, KernelAndModules or Reserved
 * regions) or, when `at` is undefined, at the start of the first Usable region large enough.
 * @returns the base and the map with the block's Usable parts turned into KernelAndModules.
 * @throws BootError naming the block when it is misplaced or does not fit anywhere.
 */
export function placeMetadata(map: readonly MemoryRegion[], bytes: number, at: number | undefined): { base: number; map: MemoryRegion[] } {
  let base = at;
  if (base === undefined) {
    const host = map.find((r) => r.kind === MemoryRegionKind.Usable && r.size >= bytes);
    if (host === undefined) throw new BootError(`memory map: no Usable region can hold the frame allocator's ${hex(bytes)} bytes of metadata`);
    base = host.base;
  }
  const where = `frame allocator metadata [${hex(base)}, +${hex(bytes)})`;
  if (!Number.isSafeInteger(base) || base % PAGE_SIZE !== 0) throw new BootError(`${where} is not 4 KiB aligned`);
  const end = base + bytes;
  const hole = firstHole(map, base, bytes);
  if (hole !== undefined) throw new BootError(`${where} is not in the memory map (hole at ${hex(hole)})`);
  const overlapped = map.filter((r) => r.base < end && base < r.base + r.size);
  const bad = overlapped.find((r) => !METADATA_HOSTS.includes(r.kind));
  if (bad !== undefined) throw new BootError(`${where} overlaps ${describeRegion(bad)}`);
  let out = [...map];
  for (const r of overlapped) {
    if (r.kind !== MemoryRegionKind.Usable) continue;
    const lo = Math.max(base, r.base);
    out = carveRegion(out, lo, Math.min(end, r.base + r.size) - lo, MemoryRegionKind.KernelAndModules);
  }
  return { base, map: out };
}
