/**
 * Memory initialisation: the frame allocator from the boot memory map, and the kernel's address
 * space (all RAM and devices direct-mapped at `physicalOffset` with the largest pages that fit, the
 * kernel image with W^X), made current through the architecture's root register.
 */
import type { KernelArch } from "./arch/arch.js";
import type { Hal } from "./hal.js";
import { MemoryFlags } from "./mm/flags.js";
import { FrameAllocator } from "./mm/phys/allocator.js";
import { BootError, MemoryRegionKind, type MemoryRegion, validateMemoryMap } from "./mm/phys/regions.js";
import { AddressSpace } from "./mm/vm/address-space.js";
import type { TlbFlush } from "./mm/vm/flush.js";

/** The seed's MemoryInitContext. Addresses are physical except `physicalOffset`. */
export interface MemoryInitContext {
  memoryMap: MemoryRegion[];
  kernelStart: number;
  kernelEnd: number;
  physicalOffset: bigint;
  targetArch: string;
}

/** Where the kernel image is mapped: `textSize` bytes of R+X text, then R+W data up to kernelEnd. */
export interface KernelImage {
  va: bigint;
  textSize: number;
}

/** What {@link initMemory} builds. */
export interface KernelMemory {
  frames: FrameAllocator;
  space: AddressSpace;
  map: readonly MemoryRegion[];
}

const must = (what: string, r: { ok: true; flush: TlbFlush } | { ok: false; error: { message: string } }, hal: Hal): void => {
  if (!r.ok) throw new BootError(`kernel: cannot map ${what}: ${r.error.message}`);
  r.flush.flush(hal.tlb);
};

/**
 * Builds the frame allocator and the kernel address space, and switches to it.
 * Throws BootError for a bad memory map or a kernel range outside KernelAndModules memory.
 */
export function initMemory(ctx: MemoryInitContext, hal: Hal, arch: KernelArch, image: KernelImage, opts: { debug?: boolean } = {}): KernelMemory {
  if (ctx.targetArch !== arch.name) throw new BootError(`kernel: built for ${arch.name}, booted as ${ctx.targetArch}`);
  const map = validateMemoryMap(ctx.memoryMap);
  const kernelRegion = map.find((r) => r.kind === MemoryRegionKind.KernelAndModules && r.base <= ctx.kernelStart && ctx.kernelEnd <= r.base + r.size);
  if (!kernelRegion) throw new BootError(`kernel: [0x${ctx.kernelStart.toString(16)}, 0x${ctx.kernelEnd.toString(16)}) is not inside a KernelAndModules region`);
  const frames = new FrameAllocator(hal, map, { debug: opts.debug ?? false, zeroedAtBoot: hal.ramZeroedAtBoot ?? false });
  const created = AddressSpace.create({ arch: arch.paging, mem: hal, frames, asid: 0 });
  if (!created.ok) throw new BootError(`kernel: no memory for the kernel page tables: ${created.error.message}`);
  const space = created.space;
  const rw = MemoryFlags.kernelRw() | MemoryFlags.GLOBAL;
  for (const r of map) {
    // Everything physical is reachable through the direct map, never executable.
    must(`${r.kind} [0x${r.base.toString(16)}, +0x${r.size.toString(16)})`, space.map(ctx.physicalOffset + BigInt(r.base), BigInt(r.base), BigInt(r.size), rw), hal);
  }
  const text = BigInt(image.textSize);
  const total = BigInt(ctx.kernelEnd - ctx.kernelStart);
  must("kernel text", space.map(image.va, BigInt(ctx.kernelStart), text, MemoryFlags.kernelRx() | MemoryFlags.GLOBAL), hal);
  if (total > text) must("kernel data", space.map(image.va + text, BigInt(ctx.kernelStart) + text, total - text, rw), hal);
  if (arch.installKernelSpace) arch.installKernelSpace(space.rootRegister());
  else arch.switchAddressSpace(space.rootRegister());
  return { frames, space, map };
}
