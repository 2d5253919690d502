/**
 * Instruction fetch: RIP translated for execution, the per-physical-page decode cache, and
 * instructions that straddle two pages (decoded afresh from both, never cached, so a store to either
 * page is always seen). A decoded page is dropped by any bus write to it (X86Cpu.ramWritten), and
 * creating one drops the store fast path, so stores to pages holding decoded code take the slow path.
 * @spec Intel SDM Vol. 3A §4.10.2 (instruction fetches use the TLB like data), Vol. 2 §2.3.11 (15-byte limit)
 */
import type { X86Cpu } from "./cpu.js";
import { VEC } from "./defs.js";
import { Insn, Op } from "./insn.js";
import { decodeInsn, NEED_MORE } from "./decode.js";
import { packInfo } from "./specialize.js";
import { FETCH, USER } from "./mmu.js";
import type { BlockFn } from "./jit.js";

/** A fast-path tag that matches no page (tags are page-aligned). */
export const INVALID_TAG = 1;

/**
 * Decoded instructions of one physical page, indexed by the byte offset of their first byte: the
 * whole instruction (for step.ts and the address computation of complex memory operands), and in
 * typed arrays what the execute loop reads inline (as the RV64 and A64 cores keep theirs).
 */
export class DecodedPage {
  readonly insns: (Insn | undefined)[] = new Array<Insn | undefined>(4096);
  /** Packed op, length, registers, sub-op and sizes (insn.ts Info); 0 = not decoded yet. */
  readonly info = new Int32Array(4096);
  /** Immediate, low and high words (the high word is the low word's sign except for MOVABS). */
  readonly imm = new Int32Array(4096);
  readonly immHi = new Int32Array(4096);
  /** Displacement of a memory operand. */
  readonly disp = new Int32Array(4096);
  /**
   * Translated blocks (jit.ts) by the offset of their first byte: blockLen > 0 is the length of
   * blocks[off]; 0 or below counts the visits before one is built; NO_BLOCK means none can start there.
   */
  readonly blockLen = new Int32Array(4096);
  readonly blocks: (BlockFn | undefined)[] = new Array<BlockFn | undefined>(4096);
  /** @param bytes the page's RAM (a view, not a copy) */
  constructor(readonly bytes: Uint8Array) {}
}

/** The marker for an instruction that continues on the next page (decoded afresh each time). */
const CROSS_INSN = new Insn();
CROSS_INSN.op = Op.CROSS;
const CROSS_INFO = packInfo(CROSS_INSN);

/** Translates RIP and makes its page current. Returns false if a fault was delivered. */
export function fetchSlow(c: X86Cpu): boolean {
  const pa = c.mmu.translate(c.ripLo, c.ripHi, FETCH, c.cpl === 3 ? USER : 0);
  if (pa < 0) return c.mmuFault();
  const page = pageAt(c, pa);
  // Fetching from a hole or a device: no instruction there.
  if (page === undefined) return c.fault(VEC.UD);
  c.fetchPage = page;
  c.fetchPpn = Math.floor(pa / 4096);
  if (c.fastPath) {
    c.fetchTagLo = c.ripLo & ~0xfff;
    c.fetchTagHi = c.ripHi;
  } else {
    c.fetchTagLo = INVALID_TAG;
  }
  return true;
}

/** The decoded page for RAM physical address `pa` (created on first use), or undefined if not RAM. */
function pageAt(c: X86Cpu, pa: number): DecodedPage | undefined {
  const ppn = Math.floor(pa / 4096);
  let page = c.decoded.get(ppn);
  if (page !== undefined) return page;
  const r = c.bus.find(pa - (pa % 4096), 4096);
  if (r?.ram === undefined) return undefined;
  const off = ppn * 4096 - r.base;
  const view = r.ram.chunk(off);
  page = new DecodedPage(new Uint8Array(view.buffer, view.byteOffset + (off % 65536), 4096));
  c.decoded.set(ppn, page);
  // Stores to this page must now take the slow path, which drops the decoded copy.
  c.wTagLo.fill(INVALID_TAG);
  return page;
}

/** Decodes the instruction at byte `off` of the current fetch page and caches it there. */
export function decodeAt(c: X86Cpu, page: DecodedPage, off: number): Insn {
  const native = c.nativeAt.get(c.fetchPpn * 4096 + off);
  const ins = new Insn();
  if (native !== undefined) {
    ins.op = Op.NATIVE;
    ins.immLo = native;
    ins.len = 1;
  } else if (decodeInsn(page.bytes, off, 4096, ins) === NEED_MORE) {
    page.insns[off] = CROSS_INSN;
    page.info[off] = CROSS_INFO;
    return CROSS_INSN;
  }
  page.insns[off] = ins;
  page.imm[off] = ins.immLo;
  page.immHi[off] = ins.immHi;
  page.disp[off] = ins.disp;
  page.info[off] = packInfo(ins);
  return ins;
}

/**
 * The instruction at RIP continues on the next page: translate that page for fetch (a fault there is
 * a #PF with CR2 = the first byte of that page) and decode from both, uncached, in its general form
 * (step.ts executes it). Returns null if a fault was delivered.
 */
export function fetchCross(c: X86Cpu): Insn | null {
  const off = c.ripLo & 0xfff;
  const first = 4096 - off;
  const b = c.crossBytes;
  b.set(c.fetchPage.bytes.subarray(off), 0);
  const lo2 = ((c.ripLo & ~0xfff) + 4096) | 0;
  const hi2 = (c.ripHi + (lo2 === 0 ? 1 : 0)) | 0;
  const pa = c.mmu.translate(lo2, hi2, FETCH, c.cpl === 3 ? USER : 0);
  if (pa < 0) {
    c.mmuFault();
    return null;
  }
  const bus = c.bus;
  for (let k = first; k < b.length; k++) b[k] = bus.read(pa + k - first, 1) ? bus.lo & 0xff : 0xff;
  const ins = c.crossInsn;
  decodeInsn(b, 0, b.length, ins, false);
  c.fetchTagLo = INVALID_TAG;
  return ins;
}
