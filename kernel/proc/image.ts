/**
 * A program image in a fresh address space: what the first process (Process.spawn) and execve
 * both build. The address space gets the user layout of this exec (aslr.ts), the program's
 * segments and initial stack (exec.ts `loadProgram`), AT_RANDOM bytes, and the kernel half of the
 * page tables shared with every other space. Nothing here touches the process that will run it,
 * so execve can build the new image while the old one is intact and drop the new one on failure.
 */
import type { Kernel } from "../kernel.js";
import { ProcessMemory } from "../mm/process-memory.js";
import { AddressSpace } from "../mm/vm/address-space.js";
import { chooseLayout, placeImage, setMmapBase, STACK_MAX, type UserLayout } from "./aslr.js";
import type { ElfImage } from "./elf.js";
import { type ExecError, loadProgram } from "./exec.js";
import { pidOwner } from "./process-record.js";

/** A built image, ready to be given to a process. */
export interface BuiltImage {
  readonly ok: true;
  readonly mm: ProcessMemory;
  readonly entry: bigint;
  /** The initial stack pointer (points at argc). */
  readonly sp: bigint;
  readonly layout: UserLayout;
}

/** Why no image was built: the loader's refusal, or no frame for the root page table. */
export type ImageResult = BuiltImage | { readonly ok: false; readonly error: ExecError };

/** What the program is started with. */
export interface ImageArgs {
  readonly argv: readonly string[];
  readonly envp: readonly string[];
  /** What AT_EXECFN names (execve's path); default argv[0]. */
  readonly execfn?: string;
}

/**
 * Builds `image` for process `pid` in a new address space (frames owned by `pid N`). On a refusal
 * every frame taken is returned and the error says why (ExecError kinds; OutOfMemory when even the
 * page tables could not be had). The memory's `hardwareAccess` goes through the MMU of the current
 * address space, so the kernel must not touch the new image's user memory before making it current.
 */
export function buildImage(k: Kernel, pid: number, image: ElfImage, args: ImageArgs): ImageResult {
  const frames = k.memory!.frames;
  const created = AddressSpace.create({ arch: k.arch.paging, mem: k.hal, frames, asid: 0 });
  if (!created.ok) return { ok: false, error: { kind: "OutOfMemory", message: `exec: no memory for the page tables of pid ${pid}: ${created.error.message}` } };
  const mm = new ProcessMemory({ space: created.space, frames, mem: k.hal, tlb: k.tlb, owner: pidOwner(pid) });
  const layout = chooseLayout(k.layoutRandom);
  const random16 = new Uint8Array(16);
  if (k.opts.random) k.opts.random(random16);
  else if (k.random) k.random.fill(random16);
  else random16.forEach((_, i) => { random16[i] = (pid * 131 + i * 7) & 0xff; });
  const loaded = loadProgram(mm, placeImage(image, layout), { ...args, stackTop: layout.stackTop, stackMax: STACK_MAX, random16 });
  if (!loaded.ok) {
    mm.destroy();
    return loaded;
  }
  mm.brkStart = loaded.brkStart + layout.brkOffset;
  mm.brk = mm.brkStart;
  setMmapBase(mm, layout.mmapBase);
  shareKernelHalf(k, mm.space);
  mm.hardwareAccess = (va, access) => k.arch.userAccess(va, access);
  return { ok: true, mm, entry: loaded.entry, sp: loaded.sp, layout };
}

/** Root-table entries of the kernel half (the upper half of the top level). */
function kernelHalf(k: Kernel): { first: number; count: number; bytes: number } {
  const bits = k.arch.paging.indexBits[k.arch.paging.levels - 1]!;
  const entries = 1 << bits;
  return { first: entries / 2, count: entries / 2, bytes: k.arch.paging.entryBytes };
}

/**
 * Every address space shares the kernel's upper-half tables (global mappings), as Linux does;
 * nothing to do where the kernel half has its own root register (KernelArch.kernelHalfInUserTables).
 */
export function shareKernelHalf(k: Kernel, space: AddressSpace): void {
  if (k.arch.kernelHalfInUserTables === false) return;
  const { first, count, bytes } = kernelHalf(k);
  const from = Number(k.memory!.space.rootPa), to = Number(space.rootPa);
  k.hal.copy(to + first * bytes, from + first * bytes, count * bytes);
}

/** Detaches the shared kernel half so that destroying the space frees only user tables. */
export function unshareKernelHalf(k: Kernel, space: AddressSpace): void {
  if (k.arch.kernelHalfInUserTables === false) return;
  const { first, count, bytes } = kernelHalf(k);
  k.hal.fill(Number(space.rootPa) + first * bytes, count * bytes, 0);
}

/**
 * Releases a process memory that belongs to no running context any more (an exited process, or
 * the image execve replaced): leaves it if it is the current address space, detaches the kernel
 * half, frees every frame and table with one ASID-wide flush, and counts its fault statistics.
 */
export function discardMemory(k: Kernel, mm: ProcessMemory): void {
  k.arch.switchAddressSpace(k.memory!.space.rootRegister());
  unshareKernelHalf(k, mm.space);
  mm.destroy();
  for (const c of k.cpus.list) if (c.lastSpace === mm.space) c.lastSpace = undefined;
  k.perf.retire(mm.stats);
}
