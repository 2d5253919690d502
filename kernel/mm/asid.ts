/**
 * Address-space identifiers with generations, in the manner of Linux's arm64 context allocator
 * (arch/arm64/mm/context.c): an address space keeps its ASID while its generation is current;
 * when the ASID space runs out, the generation advances, every TLB is flushed once, and ASIDs are
 * handed out afresh. ASID 0 belongs to the kernel.
 *
 * Between rollovers no flush is needed when an ASID is handed out: an ASID is never given to a
 * second address space within one generation, and the rollover flush removed everything the
 * previous generation cached.
 */

/** What an address space remembers of its ASID. */
export interface AsidContext {
  asid: number;
  /** Generation the ASID belongs to; 0 = never allocated. */
  generation: number;
}

/** Statistics of the allocator. */
export interface AsidStats {
  allocations: number;
  rollovers: number;
  generation: number;
}

export class AsidAllocator {
  private generation = 1;
  private used: Uint8Array;
  private next = 1;
  readonly stats: AsidStats = { allocations: 0, rollovers: 0, generation: 1 };

  /**
   * @param bits ASID width (1..16; e.g. satp.ASID's implemented bits)
   * @param flushAll invalidates every non-kernel translation on this hart (called on rollover)
   */
  constructor(readonly bits: number, private readonly flushAll: () => void) {
    if (!Number.isInteger(bits) || bits < 1 || bits > 16) throw new RangeError(`AsidAllocator: ${bits} ASID bits (expected 1..16)`);
    this.used = new Uint8Array(1 << bits);
    this.used[0] = 1;
  }

  /** How many ASIDs user address spaces can have at once. */
  get capacity(): number {
    return (1 << this.bits) - 1;
  }

  /**
   * The ASID `ctx` must run with now, allocating (and on exhaustion rolling over) if its generation
   * is stale. `active` is the context (or contexts, one per other CPU) currently running: they keep
   * their ASIDs across a rollover, as Linux keeps each CPU's active ASID as a reserved one.
   */
  acquire(ctx: AsidContext, active?: AsidContext | readonly AsidContext[]): number {
    if (ctx.generation === this.generation) return ctx.asid;
    let asid = this.find();
    if (asid === undefined) {
      this.rollover(active);
      if (ctx.generation === this.generation) return ctx.asid;
      asid = this.find();
      if (asid === undefined) throw new RangeError(`AsidAllocator: all ${this.capacity} ASIDs are held by running address spaces`);
    }
    this.used[asid] = 1;
    this.next = asid + 1;
    ctx.asid = asid;
    ctx.generation = this.generation;
    this.stats.allocations++;
    return asid;
  }

  /**
   * Forgets an exiting address space's ASID. As in Linux, the number is not handed out again until
   * the next generation, so no flush is ever needed when an ASID is given out.
   */
  release(ctx: AsidContext): void {
    ctx.generation = 0;
  }

  private find(): number | undefined {
    const n = this.used.length;
    for (let k = 0; k < n; k++) {
      const a = (this.next + k) % n;
      if (a !== 0 && this.used[a] === 0) return a;
    }
    return undefined;
  }

  private rollover(active: AsidContext | readonly AsidContext[] | undefined): void {
    this.generation++;
    this.stats.rollovers++;
    this.stats.generation = this.generation;
    this.used.fill(0);
    this.used[0] = 1;
    this.next = 1;
    this.flushAll();
    const running = active === undefined ? [] : Array.isArray(active) ? active : [active as AsidContext];
    for (const a of running) {
      if (a.generation !== this.generation - 1) continue;
      // A running address space keeps its ASID into the new generation: its CPU flushes its TLB
      // before it switches to any other (the flushAll callback arranges that on every CPU), so
      // nothing stale can be hit under a number handed out afresh.
      a.generation = this.generation;
      this.used[a.asid] = 1;
    }
  }
}
