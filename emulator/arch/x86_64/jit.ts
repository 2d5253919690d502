/**
 * The block translator: a straight-line run of the forms the execute loop runs inline, starting at
 * one byte of a decoded page and ending at a jump, CALL or RET, at the first form it does not
 * translate, or at the page's end, becomes one generated JavaScript function (jit-gen.ts). Blocks
 * live in the decoded page (fetch.ts DecodedPage), so they are keyed by physical page and offset
 * and are dropped with it by any write to the page that reaches the bus (X86Cpu.ramWritten): the
 * host fast path never stores to a decoded page, so a store to code, even from inside a block,
 * leaves the block first and the interpreter performs it.
 *
 * What a block may do is bounded so the guest cannot tell it from the interpreter: it runs only
 * when its whole length fits the remaining instruction budget (so a slice, a timer deadline or
 * --max-insns stops at the exact count), every memory access takes the host fast path or leaves
 * the block before that instruction (the interpreter then runs it and delivers any fault with the
 * exact RIP and CR2), and nothing inside a block can raise an interrupt or change a translation.
 * Blocks are built only with the host fast path on (strict TLB mode checks every fetch).
 * @spec Intel SDM Vol. 3A §11.6 "Self-Modifying Code" and §8.1.3 "Handling Self- and
 *       Cross-Modifying Code" (numbers of order no. 253668; later editions renumber them): when a
 *       store to code takes effect is model-specific short of a jump or a serializing instruction.
 *       This emulator's choice, the interpreter's as well: the very next fetch sees it.
 */
import type { X86Cpu } from "./cpu.js";
import type { DecodedPage } from "./fetch.js";
import { Info, type Insn, Op } from "./insn.js";
import { alu, PARITY } from "./alu.js";
import { imulTrunc } from "./muldiv.js";
import { blockSource, type BlockInsn } from "./jit-gen.js";
import { BlockCompiler, NO_BLOCK } from "../../core/block-cache.js";

/**
 * A translated block: runs from RIP (ripHi:ripLo) retiring at most `budget` instructions, returns
 * how many it retired (0: the interpreter must run the first one) with the next RIP in c.ripLo/ripHi.
 */
export type BlockFn = (c: X86Cpu, ripLo: number, ripHi: number, budget: number) => number;

/** DecodedPage.blockLen of an offset where no block starts (shared with every translator). */
export { NO_BLOCK };
/** The longest block, in instructions. */
const MAX_BLOCK = 64;
/** What generated code calls (the `X` of jit-gen.ts). */
const HELPERS = { P: PARITY, alu, imul: imulTrunc };

/**
 * Does the block translator handle this decoded instruction? The inline forms of the execute loop,
 * and NEG, NOT, SETcc and CMOVcc on registers (NEG/NOT/CMOVcc at 32 and 64 bits).
 */
function translatable(i: Insn, op: Op): boolean {
  if ((op >= Op.F_MOV_RR && op <= Op.F_ALU_RLD) || op === Op.NOP) return true;
  if (i.rm < 0) return false;
  if (op === Op.SETCC) return true;
  return (op === Op.NEG || op === Op.NOT || op === Op.CMOV) && (i.size === 4 || i.size === 8);
}

/** Jumps, CALL and RET end a block (the instruction is its last). */
function ends(op: Op): boolean {
  return op === Op.JCC || op === Op.JMP_REL || op === Op.F_CALL || op === Op.F_RET;
}

/** A CPU's block translator: when to translate (hot, counted in the page), and the functions already compiled. */
export class X86Jit extends BlockCompiler<BlockFn> {
  constructor() {
    super(HELPERS);
  }

  /**
   * Execution arrived at byte `off` of `page` (the current fetch page), which has no block: counts
   * the visit in page.blockLen and builds the block on the `hot`-th. Returns the block's length (0
   * if not built).
   */
  visit(c: X86Cpu, page: DecodedPage, off: number): number {
    if (!this.due(page, off)) return 0;
    const block = this.scan(c, page, off);
    if (block.length === 0) {
      this.refuse(page, off);
      return 0;
    }
    const last = block[block.length - 1]!;
    this.install(page, off, block.length, blockSource(block, last.delta + last.ins.len));
    return block.length;
  }

  /** The translatable instructions from `off` on (decoding them into the page as the loop would). */
  private scan(c: X86Cpu, page: DecodedPage, off: number): BlockInsn[] {
    const out: BlockInsn[] = [];
    let o = off;
    while (o < 4096 && out.length < MAX_BLOCK) {
      if (page.info[o] === 0) c.decodeAt(page, o);
      const op = (page.info[o]! & 0xff) as Op;
      const ins: Insn = page.insns[o]!;
      if (!translatable(ins, op)) break;
      out.push({ ins, delta: o - off });
      o += (page.info[o]! >>> Info.LEN) & 15;
      if (ends(op)) break;
    }
    return out;
  }
}
