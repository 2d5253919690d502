/**
 * What the block translators of every architecture share (x86_64/jit.ts, arm64/jit.ts): the
 * per-slot visit counter kept in the decoded page, and the compiled functions by source text.
 *
 * A decoded page (one per physical page, dropped by any bus write to it) holds, for each slot where
 * an instruction can start, `blockLen`: above 0 the length in instructions of the block `blocks[i]`
 * starting there; 0 or below minus the visits counted so far; {@link NO_BLOCK} when no block can
 * start there (its first instruction is not translated). Blocks therefore go with their page.
 */

/** blockLen of a slot where no block starts. */
export const NO_BLOCK = -0x40000000;

/** The block slots of a decoded page. */
export interface BlockSlots<F> {
  readonly blockLen: Int32Array;
  readonly blocks: (F | undefined)[];
}

/** Hot counting and the Function cache of one processor's translator; `F` is its block function type. */
export class BlockCompiler<F> {
  /**
   * A block is built the `hot`-th time execution arrives at its first instruction (1: at once), so
   * code run only a few times is never compiled.
   */
  hot = 16;
  /** Blocks built (for tests and the bench). */
  built = 0;
  /** Compiled functions by source: the same code at another address or after a rewrite reuses one. */
  private readonly compiled = new Map<string, F>();

  /** @param helpers what generated code reaches as `X` */
  constructor(private readonly helpers: object) {}

  /** Counts a visit of slot `i` (which has no block); true when the block is due to be built now. */
  due(page: BlockSlots<F>, i: number): boolean {
    const s = page.blockLen[i]! - 1;
    if (s > -this.hot) {
      page.blockLen[i] = s;
      return false;
    }
    return true;
  }

  /** No block can start at slot `i`. */
  refuse(page: BlockSlots<F>, i: number): void {
    page.blockLen[i] = NO_BLOCK;
  }

  /** Compiles (or reuses) the function of source `src`, `len` instructions long, and puts it at slot `i`. */
  install(page: BlockSlots<F>, i: number, len: number, src: string): void {
    let fn = this.compiled.get(src);
    if (fn === undefined) {
      fn = (new Function("X", src) as (h: object) => F)(this.helpers);
      if (this.compiled.size >= 4096) this.compiled.clear();
      this.compiled.set(src, fn);
    }
    this.built++;
    page.blocks[i] = fn;
    page.blockLen[i] = len;
  }
}
