/**
 * Address-space layout randomisation, drawn at each exec from the kernel's seeded generator
 * (kernel/random.ts), so the same seed gives the same layout and a run stays reproducible.
 * The ranges follow Linux riscv64 (arch/riscv/include/asm/elf.h, mm/util.c, fs/binfmt_elf.c):
 *
 * | what | fixed (no ASLR) | randomised | Linux |
 * |---|---|---|---|
 * | stack top | {@link STACK_TOP} | minus 0 .. 2^18 - 1 pages (up to 1 GiB) | `randomize_stack_top`, STACK_RND_MASK 0x3ffff |
 * | mmap base | just below the stack's guard | {@link STACK_TOP} - 1 GiB (stack room) - max(stack limit, 128 MiB) - one guard page - 0 .. 2^18 - 1 pages | `mmap_base`, mmap_rnd_bits 18 |
 * | brk start | first page above the program | plus 0 .. 2^18 - 1 pages (up to 1 GiB) | `arch_randomize_brk`, SZ_1G |
 * | ET_DYN load bias | first segment at {@link ELF_ET_DYN_BASE} | plus 0 .. 2^18 - 1 pages | `ELF_ET_DYN_BASE` + `arch_mmap_rnd` |
 *
 * Every value is page-aligned and the ranges stay inside user space: the lowest stack top leaves
 * the stack limit, its guard page and the whole mmap range below it; the highest mmap base is
 * under the lowest stack reservation. ET_EXEC programs (everything MultiOS builds) load at their
 * link addresses, as on Linux; only a position-independent (ET_DYN) program gets a bias. Unlike
 * Linux, a static PIE without an interpreter is placed at ELF_ET_DYN_BASE too rather than by mmap.
 *
 * The draws per exec are always four, in the order of the table, whatever the program's type, so
 * the sequence of layouts does not depend on which programs run.
 */
import { ET_DYN } from "./elf.js";
import type { ElfImageLike } from "./exec.js";
import type { ProcessMemory } from "../mm/process-memory.js";
import type { SplitMix64 } from "../random.js";

/** Highest user stack top (a page below the end of Sv39 user space). */
export const STACK_TOP = 0x3f_ffff_f000n;
/** The stack limit (RLIMIT_STACK). */
export const STACK_MAX = 8n * 1024n * 1024n;
/** Where a position-independent program's first segment goes: 2/3 of Sv39 user space, as Linux riscv64. */
export const ELF_ET_DYN_BASE = ((1n << 38n) / 3n) * 2n & ~0xfffn;

const PAGE = 4096n;
/** Random bits of each offset, in pages (Linux riscv64: STACK_RND_MASK 0x3ffff, mmap_rnd_bits 18). */
export const RANDOM_PAGE_BITS = 18;
const RANDOM_SPAN = (1n << BigInt(RANDOM_PAGE_BITS)) * PAGE;
/** Linux mmap_base's smallest gap between the stack top and the mmap area. */
const MIN_GAP = 128n * 1024n * 1024n;

/** One exec's layout. */
export interface UserLayout {
  readonly stackTop: bigint;
  /** Ceiling of top-down mmap placement; undefined: below the stack (ProcessMemory's default). */
  readonly mmapBase: bigint | undefined;
  /** Added to the brk start the loader computes (a page multiple). */
  readonly brkOffset: bigint;
  /** Where an ET_DYN program's lowest segment is placed (page-aligned). */
  readonly dynBase: bigint;
}

/** The layout for the next exec: fixed without `rng`, else four draws from it. */
export function chooseLayout(rng: SplitMix64 | undefined): UserLayout {
  if (rng === undefined) return { stackTop: STACK_TOP, mmapBase: undefined, brkOffset: 0n, dynBase: ELF_ET_DYN_BASE };
  const pages = (): bigint => rng.bits(RANDOM_PAGE_BITS) * PAGE;
  const stackTop = STACK_TOP - pages();
  const gap = (STACK_MAX > MIN_GAP ? STACK_MAX : MIN_GAP) + PAGE;
  const mmapBase = STACK_TOP - RANDOM_SPAN - gap - pages();
  const brkOffset = pages();
  const dynBase = ELF_ET_DYN_BASE + pages();
  return { stackTop, mmapBase, brkOffset, dynBase };
}

/**
 * `image` moved so that an ET_DYN program's lowest segment starts at `layout.dynBase` (entry and
 * segments shifted alike); an ET_EXEC image is returned as it is.
 */
export function placeImage<T extends ElfImageLike & { readonly type: number }>(image: T, layout: UserLayout): ElfImageLike {
  if (image.type !== ET_DYN || image.segments.length === 0) return image;
  const lowest = image.segments.reduce((m, s) => (s.vaddr < m ? s.vaddr : m), image.segments[0]!.vaddr);
  const bias = layout.dynBase - (lowest - (lowest % PAGE));
  return {
    entry: image.entry + bias,
    segments: image.segments.map((s) => ({ vaddr: s.vaddr + bias, memsz: s.memsz, flags: s.flags, bytes: s.bytes })),
  };
}

/**
 * Makes top-down mmap placement in `mm` start at or below `base` (never above the one ProcessMemory
 * derives from its stack); nothing for undefined.
 */
export function setMmapBase(mm: ProcessMemory, base: bigint | undefined): void {
  if (base !== undefined) mm.mmapCeiling = base;
}
