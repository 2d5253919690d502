/**
 * Whole-heap walks over the in-RAM format of layout.ts: the consistency check behind
 * `GlobalAllocator.check()`, the lookup that explains a bad pointer, and the red-zone test shared
 * with `free`. All of it reads RAM only; nothing here trusts host-side state.
 */
import type { KernelMemory } from "../frames.js";
import { PAGE_SIZE } from "../frames.js";
import { firstMismatch, HeapError, hex, POISON } from "./common.js";
import { type BlockHeader, classOf, CTL, FIRST_BLOCK, FOOTER, HEADER, HEAP_MAGIC, HeapRam, NUM_CLASSES } from "./layout.js";

/** The heap's configuration, as `check` needs it. */
export interface HeapShape {
  readonly maxSize: number;
  readonly debug: boolean;
  /** Bytes from a block's start to its payload: HEADER + leading red zone. */
  readonly lead: number;
  /** Minimum trailing red zone (0 outside debug mode). */
  readonly redZone: number;
}

/** The blocks from the first to brk, in address order, stopping at the first header that fails its seal. */
export interface Walk {
  readonly blocks: BlockHeader[];
  /** Offset of the first unreadable header, if the walk could not reach brk. */
  readonly corruptAt: number | undefined;
}

/** Walks the heap by header sizes. O(blocks). */
export function walk(ram: HeapRam): Walk {
  const blocks: BlockHeader[] = [];
  const brk = ram.brk;
  for (let off = FIRST_BLOCK; off < brk; ) {
    const h = ram.readHeader(off);
    if (h === undefined) return { blocks, corruptAt: off };
    blocks.push(h);
    off += h.size;
  }
  return { blocks, corruptAt: undefined };
}

/** What lies at offset `target`: the block containing it, or the corrupted header that hides it. */
export type Located =
  | { kind: "inside"; block: BlockHeader }
  | { kind: "corrupt"; at: number; seal: number }
  | { kind: "nowhere" };

/** Finds the block containing offset `target` by walking from the first block. O(blocks). */
export function locate(ram: HeapRam, target: number): Located {
  const w = walk(ram);
  for (const block of w.blocks) if (target >= block.off && target < block.off + block.size) return { kind: "inside", block };
  if (w.corruptAt !== undefined && w.corruptAt <= target) return { kind: "corrupt", at: w.corruptAt, seal: ram.rawSeal(w.corruptAt) };
  return { kind: "nowhere" };
}

/**
 * The HeapError for `addr` (op "free", "reallocate", …) whose header offset `off` holds no sealed
 * header: a corrupted header of a real block, a corrupted header earlier in the heap that hides
 * it, a block merged into a free one (double free), or a pointer into another block (wild).
 */
export function explainBadPointer(ram: HeapRam, off: number, addr: number, op: string, lead: number): HeapError {
  const where = locate(ram, off);
  if (where.kind === "corrupt" && where.at === off) return new HeapError(`heap: header of block ${hex(addr)} corrupted (magic ${hex(where.seal)})`, addr);
  if (where.kind === "corrupt") {
    const at = ram.va(where.at);
    return new HeapError(`heap: header at ${hex(at)} corrupted (magic ${hex(where.seal)}) while looking up ${hex(addr)}`, at);
  }
  if (where.kind === "inside" && !where.block.used) {
    const what = op === "free" ? "double free of" : `${op} of freed block`;
    return new HeapError(`heap: ${what} ${hex(addr)} (now inside free block at ${hex(ram.va(where.block.off))})`, addr);
  }
  const inside = where.kind === "inside" ? ` (inside block ${hex(ram.va(where.block.off + lead))})` : "";
  return new HeapError(`heap: ${op} of wild pointer ${hex(addr)}${inside}`, addr);
}

/**
 * Describes the first overwritten red-zone byte of the used block at `blockVa` (size `size`,
 * payload at blockVa+lead of `requested` bytes), or returns undefined when both zones are intact.
 */
export function redZoneProblem(mem: KernelMemory, blockVa: number, size: number, lead: number, requested: number): string | undefined {
  const u = blockVa + lead;
  const before = firstMismatch(mem, blockVa + HEADER, lead - HEADER, POISON.RED_ZONE);
  if (before >= 0) {
    return `red zone before block ${hex(u)} overwritten at ${hex(before)}, ${u - before} bytes before the payload (byte ${hex(mem.read8(before))}): underrun`;
  }
  const tail = u + requested;
  const after = firstMismatch(mem, tail, blockVa + size - FOOTER - tail, POISON.RED_ZONE);
  if (after >= 0) {
    return `red zone after block ${hex(u)} overwritten at ${hex(after)}, ${after - tail} bytes past its ${requested}-byte payload (byte ${hex(mem.read8(after))}): overrun`;
  }
  return undefined;
}

/**
 * Validates the whole heap: control block, every header seal and footer, coalescing (no two free
 * neighbours), red zones and free-block poison (debug), every free-list link and bitmap bit, and
 * the counters. Returns one line per problem; empty means consistent. O(heap bytes) in debug mode,
 * O(blocks) otherwise.
 */
export function checkHeap(ram: HeapRam, shape: HeapShape): string[] {
  const problems: string[] = [];
  const magic = ram.get(CTL.MAGIC);
  if (magic !== HEAP_MAGIC) return [`control block at ${hex(ram.start)} corrupted (magic ${hex(magic)})`];
  const brk = ram.brk;
  if (brk > shape.maxSize || brk % PAGE_SIZE !== 0 || brk <= FIRST_BLOCK) return [`control block at ${hex(ram.start)} corrupted (brk ${hex(brk)})`];

  const w = walk(ram);
  const free = new Map<number, BlockHeader>();
  const totals = { usedBlocks: 0, usedBytes: 0, requested: 0, freeBytes: 0 };
  let prevFree = false;
  for (const h of w.blocks) {
    const at = hex(ram.va(h.off));
    const f = ram.readFooter(h.off + h.size);
    if (f === undefined || f.size !== h.size || f.used !== h.used) problems.push(`footer of the block at ${at} corrupted`);
    if (h.used) {
      const payload = ram.va(h.off + shape.lead);
      totals.usedBlocks++;
      totals.usedBytes += h.size;
      totals.requested += h.a;
      if (h.a > h.size - shape.lead - FOOTER - shape.redZone) problems.push(`block ${hex(payload)}: ${h.a} requested bytes exceed its capacity`);
      else if (shape.debug) {
        const rz = redZoneProblem(ram.mem, ram.va(h.off), h.size, shape.lead, h.a);
        if (rz !== undefined) problems.push(rz);
      }
      prevFree = false;
    } else {
      if (prevFree) problems.push(`free block at ${at} follows another free block (not coalesced)`);
      free.set(h.off, h);
      totals.freeBytes += h.size;
      if (shape.debug) {
        const bad = firstMismatch(ram.mem, ram.va(h.off + HEADER), h.size - HEADER - FOOTER, POISON.FREED);
        if (bad >= 0) problems.push(`free block at ${at} written after free at ${hex(bad)} (byte ${hex(ram.mem.read8(bad))})`);
      }
      prevFree = true;
    }
  }
  if (w.corruptAt !== undefined) {
    problems.push(`header at ${hex(ram.va(w.corruptAt))} corrupted (magic ${hex(ram.rawSeal(w.corruptAt))}); blocks after it were not checked`);
    return problems;
  }
  checkLists(ram, free, problems);
  const expect: [string, number, number][] = [
    ["used blocks", CTL.USED_BLOCKS, totals.usedBlocks],
    ["used bytes", CTL.USED_BYTES, totals.usedBytes],
    ["requested bytes", CTL.REQUESTED_BYTES, totals.requested],
    ["free blocks", CTL.FREE_BLOCKS, free.size],
    ["free bytes", CTL.FREE_BYTES, totals.freeBytes],
  ];
  for (const [name, field, actual] of expect) {
    const counted = ram.get(field);
    if (counted !== actual) problems.push(`counter of ${name} says ${counted}, the walk found ${actual}`);
  }
  return problems;
}

/** Every list links only free blocks of its class, back links agree, bitmap matches, every free block is listed once. */
function checkLists(ram: HeapRam, free: Map<number, BlockHeader>, problems: string[]): void {
  const bitmap = ram.get(CTL.BITMAP);
  const listed = new Set<number>();
  for (let c = 0; c < NUM_CLASSES; c++) {
    const head = ram.head(c);
    const bit = (bitmap >>> c) & 1;
    if ((head !== 0 ? 1 : 0) !== bit) problems.push(`class ${c}: bitmap bit is ${bit} but the list is ${head !== 0 ? "non-empty" : "empty"}`);
    let prev = 0;
    for (let off = head; off !== 0; ) {
      const h = free.get(off);
      if (h === undefined) {
        problems.push(`class ${c} free list links to ${hex(ram.va(off))}, which is not a free block`);
        break;
      }
      if (listed.has(off)) {
        problems.push(`class ${c} free list loops back to ${hex(ram.va(off))}`);
        break;
      }
      listed.add(off);
      if (classOf(h.size) !== c) problems.push(`free block at ${hex(ram.va(off))} (${h.size} bytes) is on the list of class ${c}`);
      if (h.b !== prev) problems.push(`free block at ${hex(ram.va(off))} links back to offset ${hex(h.b)}, expected ${hex(prev)}`);
      prev = off;
      off = h.a;
    }
  }
  for (const off of free.keys()) if (!listed.has(off)) problems.push(`free block at ${hex(ram.va(off))} is on no free list`);
}
