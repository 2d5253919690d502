/**
 * The boot-info record: what the firmware hands the kernel (in a1 on RISC-V), in RAM.
 * Little-endian 64-bit words; the layout is documented in docs/kernel.md.
 *
 * ```
 *  +0   magic "MOSBOOT1"        +48  kernelEnd (exclusive)
 *  +8   version (1, 2 or 3)     +56  module (program ELF) address
 *  +16  hart id                 +64  module size
 *  +24  DTB address             +72  arguments address (NUL-separated strings)
 *  +32  DTB size                +80  arguments size
 *  +40  kernelStart             +88  n = memory-map entries
 *  version 2 only:
 *  +96  initial ramdisk address +104 initial ramdisk size (0: none; format in kernel/proc/ramdisk.ts)
 *  then (+96 in version 1, +112 from version 2) n × { base, size, kind }, kind = index into MEMORY_REGION_KINDS
 *  version 3 only, after the memory map: m = CPU count, then m hardware CPU ids (RISC-V hart ids)
 * ```
 * The writer always writes version 3; the reader accepts all three (a version-1 record has no
 * ramdisk; a record before version 3 lists only the boot CPU).
 */
import type { PhysMemory } from "./hal.js";
import { BootError, MEMORY_REGION_KINDS, type MemoryRegion } from "./mm/phys/regions.js";

export const BOOT_INFO_MAGIC = 0x31544f4f42534f4dn; // "MOSBOOT1" little-endian
/** The version {@link writeBootInfo} writes. */
export const BOOT_INFO_VERSION = 3n;
/** Bytes before the memory map, by version. */
const HEADER_BYTES: Record<string, number> = { "1": 96, "2": 112, "3": 112 };
/** Most CPUs a record may list. */
const MAX_CPUS = 64;

/** The record's contents. Addresses are physical. */
export interface BootInfo {
  hartId: number;
  dtb: { base: number; size: number };
  kernelStart: number;
  kernelEnd: number;
  module: { base: number; size: number };
  args: { base: number; size: number };
  /** The initial ramdisk (size 0: none; always none in a version-1 record). */
  ramdisk: { base: number; size: number };
  memoryMap: MemoryRegion[];
  /** Hardware ids of every CPU the platform has, the boot CPU's included (absent: the boot CPU only). */
  cpus?: number[];
}

/** Bytes a version-3 record takes for `entries` memory-map entries and `cpus` CPUs. */
export const bootInfoSize = (entries: number, cpus = 1): number => HEADER_BYTES["3"]! + 24 * entries + 8 * (1 + cpus);

/** Writes `info` at physical address `pa` as a version-3 record. */
export function writeBootInfo(mem: PhysMemory, pa: number, info: BootInfo): void {
  const words = [
    BOOT_INFO_MAGIC, BOOT_INFO_VERSION, BigInt(info.hartId), BigInt(info.dtb.base), BigInt(info.dtb.size),
    BigInt(info.kernelStart), BigInt(info.kernelEnd), BigInt(info.module.base), BigInt(info.module.size),
    BigInt(info.args.base), BigInt(info.args.size), BigInt(info.memoryMap.length),
    BigInt(info.ramdisk.base), BigInt(info.ramdisk.size),
  ];
  words.forEach((w, i) => mem.write64(pa + 8 * i, w));
  info.memoryMap.forEach((r, i) => {
    const at = pa + HEADER_BYTES["2"]! + 24 * i;
    mem.write64(at, BigInt(r.base));
    mem.write64(at + 8, BigInt(r.size));
    mem.write64(at + 16, BigInt(MEMORY_REGION_KINDS.indexOf(r.kind)));
  });
  const cpus = info.cpus ?? [info.hartId];
  const at = pa + HEADER_BYTES["3"]! + 24 * info.memoryMap.length;
  mem.write64(at, BigInt(cpus.length));
  cpus.forEach((id, i) => mem.write64(at + 8 * (i + 1), BigInt(id)));
}

/** Reads and checks a version-1 or version-2 record at `pa`; throws BootError for a bad magic, version or kind. */
export function readBootInfo(mem: PhysMemory, pa: number): BootInfo {
  const w = (i: number): number => Number(mem.read64(pa + 8 * i));
  if (mem.read64(pa) !== BOOT_INFO_MAGIC) throw new BootError(`boot info at 0x${pa.toString(16)}: bad magic 0x${mem.read64(pa).toString(16)}`);
  const version = mem.read64(pa + 8);
  const header = HEADER_BYTES[version.toString()];
  if (header === undefined) throw new BootError(`boot info: version ${version} is not 1, 2 or 3`);
  const n = w(11);
  if (n > 4096) throw new BootError(`boot info: ${n} memory-map entries is implausible`);
  const ramdisk = version >= 2n ? { base: w(12), size: w(13) } : { base: 0, size: 0 };
  const memoryMap: MemoryRegion[] = [];
  for (let i = 0; i < n; i++) {
    const at = pa + header + 24 * i;
    const kind = MEMORY_REGION_KINDS[Number(mem.read64(at + 16))];
    if (kind === undefined) throw new BootError(`boot info: memory-map entry ${i} has unknown kind ${mem.read64(at + 16)}`);
    memoryMap.push({ base: Number(mem.read64(at)), size: Number(mem.read64(at + 8)), kind });
  }
  let cpus = [w(2)];
  if (version >= 3n) {
    const at = pa + header + 24 * n;
    const m = Number(mem.read64(at));
    if (m < 1 || m > MAX_CPUS) throw new BootError(`boot info: ${m} CPUs (expected 1 to ${MAX_CPUS})`);
    cpus = Array.from({ length: m }, (_, i) => Number(mem.read64(at + 8 * (i + 1))));
    if (!cpus.includes(w(2))) throw new BootError(`boot info: the boot CPU ${w(2)} is not in the CPU list`);
  }
  return {
    hartId: w(2), dtb: { base: w(3), size: w(4) }, kernelStart: w(5), kernelEnd: w(6),
    module: { base: w(7), size: w(8) }, args: { base: w(9), size: w(10) }, ramdisk, memoryMap, cpus,
  };
}
