/**
 * Loading an ELF image into physical memory for a bare boot. The parser and validator are the
 * kernel's (kernel/proc/elf.ts: the kernel loads user programs with the same rules); re-exported here.
 */
import { type Bus, type BusRegion, CHUNK_SIZE } from "../emulator/core/memory.js";
import { ElfError, type ElfImage, type ElfSegment, range } from "../kernel/proc/elf.js";

export * from "../kernel/proc/elf.js";

/**
 * Copies every PT_LOAD segment to its physical address (`paddr`) and zero-fills the bytes from
 * filesz to memsz. Checks everything before writing anything, so a failed load leaves RAM as it was.
 * Zero-filling skips RAM chunks never touched (they already read as 0), so a large .bss costs no
 * host memory.
 *
 * @throws ElfError if a segment's [paddr, paddr+memsz) is not inside one RAM region of `bus`,
 *   or two segments' physical ranges overlap
 */
export function loadElfPhysical(bus: Bus, image: ElfImage): void {
  const placed: { seg: ElfSegment; index: number; pa: number; region: BusRegion }[] = [];
  image.segments.forEach((seg, index) => {
    if (seg.memsz === 0) return;
    const region = bus.find(Number(seg.paddr), seg.memsz);
    if (seg.paddr >= 1n << 53n || !region?.ram) {
      const rams = bus.map.filter((r) => r.ram).map((r) => range(r.base, r.size));
      const ramText = rams.length > 0 ? `RAM is ${rams.join(", ")}` : "there is no RAM";
      throw new ElfError(`segment ${index} ${range(seg.paddr, seg.memsz)} is not inside RAM (${ramText})`);
    }
    placed.push({ seg, index, pa: Number(seg.paddr), region });
  });
  const sorted = [...placed].sort((a, b) => a.pa - b.pa);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (b.pa < a.pa + a.seg.memsz) {
      const [x, y] = a.index < b.index ? [a, b] : [b, a];
      throw new ElfError(`segment ${x.index} ${range(x.pa, x.seg.memsz)} overlaps segment ${y.index} ${range(y.pa, y.seg.memsz)}`);
    }
  }
  for (const { seg, pa, region } of placed) {
    if (seg.filesz > 0) bus.load(pa, seg.bytes);
    zeroFill(bus, region, pa + seg.filesz, seg.memsz - seg.filesz);
  }
}

/** Zeroes [pa, pa+len) inside `region`, touching only chunks that are already allocated. */
function zeroFill(bus: Bus, region: BusRegion, pa: number, len: number): void {
  const ram = region.ram!;
  const zeros = new Uint8Array(Math.min(len, CHUNK_SIZE));
  const end = pa + len;
  for (let p = pa; p < end; ) {
    const off = p - ram.base;
    const chunkEnd = ram.base + (Math.floor(off / CHUNK_SIZE) + 1) * CHUNK_SIZE;
    const n = Math.min(end, chunkEnd) - p;
    if (ram.chunks[Math.floor(off / CHUNK_SIZE)] !== undefined) bus.load(p, zeros.subarray(0, n));
    p += n;
  }
}

