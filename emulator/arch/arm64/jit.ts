/**
 * The A64 block translator: a straight-line run of the integer forms (add/sub and logical immediate
 * and register, moves, ADR/ADRP, immediate shifts, CSEL family, the rest of integer data processing
 * through dp.ts, the loads and stores of the current EL: LDR/STR of 1 to 8 bytes in every immediate
 * and register-offset form, LDP/STP/LDPSW), starting at one slot of a decoded page and ending at a branch (B, BL, B.cond,
 * CBZ/CBNZ, TBZ/TBNZ, BR/BLR/RET), at the first form it does not translate, or at the page's end,
 * becomes one generated JavaScript function (jit-gen.ts). Blocks live in the decoded page
 * (decode.ts DecodedPage, counted and cached by core/block-cache.ts), so any write to the page that
 * reaches the bus (Arm64Cpu.ramWritten, from this PE or another) drops them; the host fast path never
 * stores to a decoded page, so a store to code, even from inside a block, leaves the block first and
 * the interpreter performs it.
 *
 * The guest cannot tell a block from the interpreter: it runs only when its whole length fits the
 * remaining instruction budget (so slices, timer deadlines and --max-insns stop at the exact count);
 * every access takes the host fast path or leaves the block before that instruction (the
 * interpreter then runs it and takes any Data Abort, alignment or SP alignment fault with the exact
 * ELR/FAR/ESR); nothing inside a block can take an exception, unmask an interrupt, change a
 * translation or the EL. LDTR/STTR, exclusives, system instructions and literal loads stay
 * interpreted. Blocks are built only with the host fast path on (it is
 * off in strict TLB mode).
 * @spec Arm ARM (DDI 0487) B2.2.5 "Concurrent modification and execution of instructions": without
 *   the cache maintenance and context synchronization it prescribes, which copy of modified code
 *   runs is CONSTRAINED UNPREDICTABLE. This emulator's choice, the interpreter's as well: the very
 *   next fetch sees the new instruction.
 */
import type { Arm64Cpu } from "./cpu.js";
import { Op, SLOTS, type DecodedPage } from "./decode.js";
import { BlockCompiler } from "../../core/block-cache.js";
import { blockSource, memoryTranslatable, type A64BlockInsn } from "./jit-gen.js";
import { executeDp } from "./dp.js";

/**
 * A translated block: runs from pc (pcHi:pcLo) retiring at most `budget` instructions, returns how
 * many it retired (0: the interpreter must run the first one) with the next pc in c.pcLo/pcHi.
 */
export type A64BlockFn = (c: Arm64Cpu, pcLo: number, pcHi: number, budget: number) => number;

/** What generated code calls (the `X` of jit-gen.ts). */
const HELPERS = { dp: executeDp };
/** The longest block, in instructions. */
const MAX_BLOCK = 64;

/** Does the translator handle this operation (with this aux field)? */
function translatable(op: Op, aux: number): boolean {
  if (op >= Op.ADDI && op <= Op.ASRI) return true;
  switch (op) {
    case Op.MOVR: case Op.ANDR: case Op.ORRR: case Op.EORR: case Op.ANDSR: case Op.ADDR: case Op.SUBR:
    case Op.ADDSR: case Op.SUBSR: case Op.CSEL: case Op.PRFM:
    case Op.BFM: case Op.EXTR: case Op.LOGR: case Op.ADDSUB_SH: case Op.ADDSUB_EXT: case Op.ADCSBC: case Op.CCMP:
    case Op.DIV: case Op.SHIFTV: case Op.ONESRC: case Op.MUL3:
      return true;
    default:
      return ends(op) || memoryTranslatable(op, aux);
  }
}

/** Branches end a block (the branch is its last instruction). */
function ends(op: Op): boolean {
  return op >= Op.B && op <= Op.BCOND;
}

/** A PE's block translator. */
export class Arm64Jit extends BlockCompiler<A64BlockFn> {
  constructor() {
    super(HELPERS);
  }

  /**
   * Execution arrived at slot `i` of `page` (the current fetch page), which has no block: counts the
   * visit and builds the block on the `hot`-th. Returns the block's length (0 if not built).
   */
  visit(c: Arm64Cpu, page: DecodedPage, i: number): number {
    if (!this.due(page, i)) return 0;
    const block = this.scan(c, page, i);
    if (block.length === 0) {
      this.refuse(page, i);
      return 0;
    }
    this.install(page, i, block.length, blockSource(block));
    return block.length;
  }

  /** The translatable instructions from slot `i` on (decoding them into the page as the loop would). */
  private scan(c: Arm64Cpu, page: DecodedPage, i: number): A64BlockInsn[] {
    const out: A64BlockInsn[] = [];
    for (let j = i; j < SLOTS && out.length < MAX_BLOCK; j++) {
      if (page.info[j] === 0) c.decodeSlot(page, j);
      const info = page.info[j]!, op = (info & 0xff) as Op, aux = page.aux[j]!;
      if (!translatable(op, aux)) break;
      out.push({ op, info, imm: page.imm[j]!, aux });
      if (ends(op)) break;
    }
    return out;
  }
}
