/**
 * Debug-mode poison for free frames (xv6 fills freed pages with junk; we use a recognisable word).
 * A free frame holds 0xDEADBEEF in every 32-bit word; any other value when the frame is handed out
 * again means something wrote to it while it was free: a use after free.
 */
import type { PhysMemory } from "../../hal.js";
import { PAGE_SIZE } from "../frames.js";

/** The word a free frame holds in debug mode. */
export const POISON_WORD = 0xdeadbeef;

const POISON_PAGE = (() => {
  const page = new Uint8Array(PAGE_SIZE);
  const view = new DataView(page.buffer);
  for (let off = 0; off < PAGE_SIZE; off += 4) view.setUint32(off, POISON_WORD, true);
  return page;
})();

/** Fills the frame at `pa` with the poison word. */
export function poisonFrame(mem: PhysMemory, pa: number): void {
  mem.writeBytes(pa, POISON_PAGE);
}

/** The first word of the frame at `pa` that is not poison, or undefined if the poison is intact. */
export function poisonBreak(mem: PhysMemory, pa: number): { offset: number; found: number } | undefined {
  const bytes = mem.readBytes(pa, PAGE_SIZE);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let off = 0; off < PAGE_SIZE; off += 4) {
    const found = view.getUint32(off, true);
    if (found !== POISON_WORD) return { offset: off, found };
  }
  return undefined;
}
