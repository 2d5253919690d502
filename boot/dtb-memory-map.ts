/**
 * The firmware's view of memory: it reads RAM and devices from the device tree, carves out what
 * is already used (firmware, kernel image, program module, device tree), and describes the result
 * as the kernel's memory map (kernel/boot-info.ts).
 */
import { FdtError, fdtGetRegs, fdtGetU32, parseFdt, type FdtNode } from "./fdt.js";
import { BootError, MemoryRegionKind, type MemoryRegion } from "../kernel/mm/phys/regions.js";

const PAGE = 4096;
const up = (v: number): number => Math.ceil(v / PAGE) * PAGE;
const down = (v: number): number => Math.floor(v / PAGE) * PAGE;

/** A used range of RAM and what it holds. */
export interface Carve {
  base: number;
  size: number;
  kind: MemoryRegion["kind"];
}

/**
 * Memory map from a DTB: every /memory node's RAM minus the `carves` (which keep their kinds),
 * plus each /soc device's registers as DeviceMemory (rounded out to pages).
 * Throws BootError for a DTB without memory, a carve outside RAM, or (with `isRam`, the platform's
 * own knowledge) a /memory range the machine does not back with RAM.
 */
export function memoryMapFromDtb(dtb: Uint8Array, carves: Carve[], isRam?: (base: number, size: number) => boolean): MemoryRegion[] {
  let root: FdtNode;
  try {
    root = parseFdt(dtb);
  } catch (e) {
    if (e instanceof FdtError) throw new BootError(`firmware: bad device tree: ${e.message}`);
    throw e;
  }
  try {
    return regionsOf(root, carves, isRam);
  } catch (e) {
    // A reg that does not fit the cell counts, or cell counts no address can have.
    if (!(e instanceof BootError) && (e instanceof FdtError || e instanceof RangeError)) throw new BootError(`firmware: bad device tree: ${e.message}`);
    throw e;
  }
}

/** The memory map of a parsed tree (see {@link memoryMapFromDtb}). */
function regionsOf(root: FdtNode, carves: Carve[], isRam?: (base: number, size: number) => boolean): MemoryRegion[] {
  const ac = fdtGetU32(root, "#address-cells") ?? 2;
  const sc = fdtGetU32(root, "#size-cells") ?? 1;
  const ram = root.children
    .filter((n) => n.name === "memory" || n.name.startsWith("memory@"))
    .flatMap((n) => fdtGetRegs(n, "reg", ac, sc))
    .map((r) => ({ base: Number(r.base), size: Number(r.size) }));
  if (ram.length === 0) throw new BootError("firmware: the device tree describes no memory");
  for (const r of ram) {
    if (isRam !== undefined && !isRam(r.base, r.size)) throw new BootError(`firmware: the device tree's memory [0x${r.base.toString(16)}, +0x${r.size.toString(16)}) is not RAM on this machine`);
  }
  const out: MemoryRegion[] = [];
  for (const r of ram) {
    const inside = carves.filter((c) => c.base < r.base + r.size && r.base < c.base + c.size).sort((a, b) => a.base - b.base);
    let at = r.base;
    for (const c of inside) {
      const cb = down(c.base), ce = up(c.base + c.size);
      if (cb < r.base || ce > r.base + r.size) throw new BootError(`firmware: ${c.kind} [0x${c.base.toString(16)}, +0x${c.size.toString(16)}) is not inside RAM`);
      if (cb > at) out.push({ base: at, size: cb - at, kind: MemoryRegionKind.Usable });
      out.push({ base: cb, size: ce - cb, kind: c.kind });
      at = ce;
    }
    if (at < r.base + r.size) out.push({ base: at, size: r.base + r.size - at, kind: MemoryRegionKind.Usable });
  }
  const soc = root.children.find((n) => n.name === "soc");
  if (soc) {
    const sac = fdtGetU32(soc, "#address-cells") ?? ac;
    const ssc = fdtGetU32(soc, "#size-cells") ?? sc;
    for (const dev of soc.children) {
      for (const r of fdtGetRegs(dev, "reg", sac, ssc)) {
        const b = down(Number(r.base));
        out.push({ base: b, size: up(Number(r.base) + Number(r.size)) - b, kind: MemoryRegionKind.DeviceMemory });
      }
    }
  }
  return out.sort((a, b) => a.base - b.base);
}
