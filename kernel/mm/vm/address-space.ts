/**
 * An address space: one tree of page tables in physical memory, in the format an {@link ArchPaging}
 * describes, with map / unmap / protect / translate / walk / destroy. Architecture-neutral: every
 * bit-level decision is the arch layer's.
 *
 * ```
 *  VA (canonical)  ──index(va, levels-1)──►  root table ──► … ──► level-0 table ──► 4 KiB leaf
 *                                             └── a leaf at level 1 / 2 maps 2 MiB / 1 GiB
 * ```
 *
 * Invariants:
 * - Every table except the root holds at least one non-zero entry (unmap frees tables it empties;
 *   map allocates only what it installs). So a valid table entry always means "something mapped".
 * - Operations are all-or-nothing: they check the whole range before writing any entry, and map
 *   allocates every page-table page it needs before installing any.
 * - Table pages come from the FrameSource and are zeroed here before they are linked in.
 * - Frames released by a change are returned to the FrameSource when its {@link TlbFlush} is
 *   settled, after the invalidation (see flush.ts).
 *
 * Number choice: VAs and PAs are bigint at this API; table addresses are JS numbers (they are RAM
 * frames from the FrameSource, below 2^53), which is what PhysMemory takes.
 */
import type { PhysMemory, TlbControl } from "../../hal.js";
import { type MemoryFlags, MemoryFlags as F } from "../flags.js";
import type { FrameSource } from "../frames.js";
import { hex, validateAddressRange, validateFlags } from "../safety.js";
import type { ArchPaging, DecodedPte } from "./arch.js";
import type { VmError } from "./errors.js";
import { FLUSH_CEILING, type FlushCause, type FlushedPage, TlbFlush } from "./flush.js";
import type {
  AddressSpaceOptions, CreateResult, DestroyResult, LeafFrame, MapOptions, MapResult, ProtectResult, Translation, UnmapOptions,
  UnmapResult, WalkStep,
} from "./results.js";

/** A table below the root on the way to an entry, and the entry pointing at it. */
interface PathTable {
  readonly table: number;
  readonly level: number;
  readonly parentEntry: number;
}

/** Where a descent stopped: at an invalid entry, a leaf, or the requested level. */
interface Located {
  readonly level: number;
  readonly pteAddr: number;
  readonly pte: bigint;
  readonly d: DecodedPte;
  readonly path: PathTable[];
  /** A valid entry on the way (or the entry itself) has G set. */
  readonly global: boolean;
}

/** One leaf found in a range by {@link AddressSpace.leavesIn}. */
interface FoundLeaf {
  readonly va: bigint;
  readonly level: number;
  readonly pteAddr: number;
  readonly pte: bigint;
  readonly d: DecodedPte;
  readonly path: PathTable[];
  readonly global: boolean;
}

const alignDown = (v: bigint, a: bigint): bigint => v - (v % a);

/**
 * One address space over `mem`, taking page-table pages from `frames`.
 *
 * @example
 * ```ts
 * const r = AddressSpace.create({ arch: RISCV_SV39, mem: hal, frames, asid: 1 });
 * if (!r.ok) throw new Error(r.error.message);
 * const m = r.space.map(0x1000_0000n, 0x8020_0000n, 0x1000n, MemoryFlags.userRw());
 * if (m.ok) m.flush.flush(hal.tlb);
 * ```
 */
export class AddressSpace {
  readonly arch: ArchPaging;
  private readonly mem: PhysMemory;
  private readonly frames: FrameSource;
  private readonly debug: boolean;
  private readonly ceiling: number;
  private readonly root: number;
  private readonly pending = new Set<TlbFlush>();
  private asidValue = 0;
  private tables = 1;
  private destroyed = false;

  private constructor(opts: AddressSpaceOptions, root: number) {
    this.arch = opts.arch;
    this.mem = opts.mem;
    this.frames = opts.frames;
    this.debug = opts.debug ?? true;
    this.ceiling = opts.flushCeiling ?? FLUSH_CEILING;
    this.root = root;
    this.asid = opts.asid ?? 0;
    this.userTop = 2 ** (this.arch.vaBits - 1);
  }

  /**
   * A new, empty address space: one zeroed root table from `opts.frames`. Refuses with OutOfFrames
   * when none is available. Throws RangeError for an ASID wider than the architecture's.
   */
  static create(opts: AddressSpaceOptions): CreateResult {
    const asid = opts.asid ?? 0;
    if (!Number.isInteger(asid) || asid < 0 || asid >= 2 ** opts.arch.asidBits) {
      throw new RangeError(`AddressSpace: ASID ${asid} does not fit ${opts.arch.asidBits} bits`);
    }
    const root = opts.frames.allocateFrame("page table");
    if (root === undefined) return { ok: false, error: { kind: "OutOfFrames", needed: 1, message: "no frame for the root page table" } };
    opts.mem.fill(root, 4096, 0);
    return { ok: true, space: new AddressSpace(opts, root) };
  }

  /** The address-space identifier (assigned by the caller; ASID allocation is not done here). */
  get asid(): number {
    return this.asidValue;
  }

  set asid(v: number) {
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** this.arch.asidBits) {
      throw new RangeError(`AddressSpace: ASID ${v} does not fit ${this.arch.asidBits} bits`);
    }
    this.asidValue = v;
    this.rootRegisterValue = undefined;
  }

  /** Physical address of the root table. */
  get rootPa(): bigint {
    return BigInt(this.root);
  }

  /** Page-table pages in the tree, the root included. */
  get tableCount(): number {
    return this.tables;
  }

  /** The root-register value (satp on RISC-V) that activates this space. */
  rootRegister(): bigint {
    if (this.rootRegisterValue === undefined) this.rootRegisterValue = this.arch.rootRegister(this.asidValue, BigInt(this.root));
    return this.rootRegisterValue;
  }

  /** rootRegister() for the current ASID, computed once (cleared when the ASID changes). */
  private rootRegisterValue: bigint | undefined;

  /** Flush tokens neither flushed nor ignored (always empty when built with `debug: false`). */
  pendingFlushes(): readonly TlbFlush[] {
    return [...this.pending];
  }

  /**
   * Maps `[virt, virt+size)` to `[phys, phys+size)` with `flags`, using the largest leaf (1 GiB,
   * 2 MiB, 4 KiB) that the alignment of both addresses and the remaining size allow at each step.
   * Refuses, changing nothing, with InvalidFlags, Misaligned (4 KiB granularity), NonCanonical (the
   * range must lie in one canonical half), PhysOutOfRange, AlreadyMapped (never remaps), or
   * OutOfFrames (page-table pages are all allocated before anything is installed).
   */
  map(virt: bigint, phys: bigint, size: bigint, flags: MemoryFlags, opts: MapOptions = {}): MapResult {
    this.checkAlive("map");
    const arch = this.arch;
    const fl = validateFlags(flags, { allowWX: opts.allowWX, allowWriteOnly: arch.writeOnly, supported: arch.supportedFlags });
    if (!fl.ok) return { ok: false, error: { kind: "InvalidFlags", flags, message: `map: ${fl.error}` } };
    const bad = this.checkRange("map", virt, size);
    if (bad) return { ok: false, error: bad };
    const base = arch.entrySpan(0);
    if (phys < 0n || phys % base !== 0n) return { ok: false, error: { kind: "Misaligned", what: "phys", value: phys, message: `map: phys ${hex(phys)} is not ${hex(base)}-aligned` } };
    if (phys + size > 1n << BigInt(arch.paBits)) {
      return { ok: false, error: { kind: "PhysOutOfRange", pa: phys, message: `map: phys range ${hex(phys)}+${hex(size)} exceeds ${arch.paBits}-bit physical addresses` } };
    }

    const chunks = this.plan(virt, phys, size);
    const missing = new Set<string>();
    for (const c of chunks) {
      const loc = this.locate(c.va, c.level);
      if (loc.d.valid) {
        const what = loc.d.leaf ? `a level-${loc.level} leaf` : `a table holding mappings`;
        return { ok: false, error: { kind: "AlreadyMapped", va: c.va, level: loc.level, message: `map: ${hex(c.va)} is already mapped by ${what}` } };
      }
      for (let j = loc.level - 1; j >= c.level; j--) missing.add(`${j}:${c.va / arch.entrySpan(j + 1)}`);
    }
    const pool: number[] = [];
    for (let i = 0; i < missing.size; i++) {
      const f = this.frames.allocateFrame("page table");
      if (f === undefined) {
        for (const p of pool) this.frames.freeFrame(p);
        return { ok: false, error: { kind: "OutOfFrames", needed: missing.size, message: `map: ${missing.size} page-table page(s) needed for ${hex(virt)}+${hex(size)}, only ${i} available` } };
      }
      pool.push(f);
    }

    const leaves = Array.from({ length: arch.levels }, () => 0);
    const pages: FlushedPage[] = [];
    for (const c of chunks) {
      const loc = this.locate(c.va, c.level);
      let level = loc.level;
      let pteAddr = loc.pteAddr;
      while (level > c.level) {
        const table = pool.pop()!;
        this.mem.fill(table, 4096, 0);
        this.mem.write64(pteAddr, arch.encodeTable(BigInt(table)));
        this.tables++;
        level--;
        pteAddr = table + arch.index(c.va, level) * arch.entryBytes;
      }
      this.mem.write64(pteAddr, arch.encodeLeaf(c.pa, flags, c.level));
      leaves[c.level]!++;
      pages.push({ va: c.va, size: arch.entrySpan(c.level) });
    }
    if (pool.length !== 0) throw new Error(`AddressSpace.map: ${pool.length} page-table page(s) planned but not used at ${hex(virt)}`);
    const flush = this.token("map", pages, (flags & F.GLOBAL) !== 0, false, []);
    return { ok: true, flush, leaves };
  }

  /**
   * Removes every leaf in `[virt, virt+size)` (holes are skipped) and unhooks the page-table pages
   * this leaves empty (never the root). Refuses, changing nothing, with Misaligned, NonCanonical, or
   * SplitRequired when the range covers only part of a superpage. Emptied tables, and with
   * `opts.freeFrames` the leaf frames, go back to the FrameSource when the token is settled.
   */
  unmap(virt: bigint, size: bigint, opts: UnmapOptions = {}): UnmapResult {
    this.checkAlive("unmap");
    const bad = this.checkRange("unmap", virt, size);
    if (bad) return { ok: false, error: bad };
    const found = this.leavesIn("unmap", virt, size, false);
    if (!Array.isArray(found)) {
      if (found.kind === "NotMapped") throw new Error(`AddressSpace.unmap: hole reported at ${hex(found.va)}`);
      return { ok: false, error: found };
    }

    const touched = new Map<number, PathTable>();
    let global = false;
    for (const leaf of found) {
      this.mem.write64(leaf.pteAddr, 0n);
      global ||= leaf.global;
      for (const p of leaf.path) touched.set(p.table, p);
    }
    const freedTables: number[] = [];
    for (const p of [...touched.values()].sort((a, b) => a.level - b.level)) {
      if (!this.isEmptyTable(p.table)) continue;
      this.mem.write64(p.parentEntry, 0n);
      freedTables.push(p.table);
      this.tables--;
    }
    const frames = found.map((l) => ({ va: l.va, pa: l.d.pa, size: this.arch.entrySpan(l.level) }));
    const release = opts.freeFrames === true ? frames : [];
    const flush = this.token("unmap", frames.map((f) => ({ va: f.va, size: f.size })), global, freedTables.length > 0, freedTables, release);
    return { ok: true, flush, frames: opts.freeFrames === true ? [] : frames, unmapped: found.length, tablesFreed: freedTables.length };
  }

  /**
   * Replaces the permissions of every leaf in `[virt, virt+size)` with `flags`, keeping the frames.
   * Refuses, changing nothing, with InvalidFlags, Misaligned, NonCanonical, NotMapped (a hole in the
   * range) or SplitRequired. Only entries that actually change are put in the flush token.
   */
  protect(virt: bigint, size: bigint, flags: MemoryFlags, opts: MapOptions = {}): ProtectResult {
    this.checkAlive("protect");
    const arch = this.arch;
    const fl = validateFlags(flags, { allowWX: opts.allowWX, allowWriteOnly: arch.writeOnly, supported: arch.supportedFlags });
    if (!fl.ok) return { ok: false, error: { kind: "InvalidFlags", flags, message: `protect: ${fl.error}` } };
    const bad = this.checkRange("protect", virt, size);
    if (bad) return { ok: false, error: bad };
    const found = this.leavesIn("protect", virt, size, true);
    if (!Array.isArray(found)) return { ok: false, error: found };

    const pages: FlushedPage[] = [];
    let global = false;
    for (const leaf of found) {
      const next = arch.updateLeaf(leaf.pte, flags, leaf.level);
      if (next === leaf.pte) continue;
      this.mem.write64(leaf.pteAddr, next);
      pages.push({ va: leaf.va, size: arch.entrySpan(leaf.level) });
      global ||= leaf.global || arch.decode(next, leaf.level).global;
    }
    return { ok: true, flush: this.token("protect", pages, global, false, []), changed: pages.length };
  }

  /**
   * Points the present leaf at page `virt` to frame `phys` with `flags`, in place: one entry write,
   * no page-table page freed or allocated (copy-on-write uses it to swap in the private copy).
   * Refuses with InvalidFlags, Misaligned, NonCanonical, NotMapped or SplitRequired (a large page).
   * The old frame stays the caller's; the token invalidates the one page. Where the format needs
   * break-before-make ({@link FlushCapabilities.breakBeforeMake}) the entry first goes invalid and
   * is flushed through `tlb` (when given), then the new one is written.
   */
  remap(virt: bigint, phys: bigint, flags: MemoryFlags, opts: MapOptions = {}, tlb?: TlbControl): ProtectResult {
    this.checkAlive("remap");
    const arch = this.arch;
    const fl = validateFlags(flags, { allowWX: opts.allowWX, allowWriteOnly: arch.writeOnly, supported: arch.supportedFlags });
    if (!fl.ok) return { ok: false, error: { kind: "InvalidFlags", flags, message: `remap: ${fl.error}` } };
    const page = BigInt(arch.entrySpan(0));
    const bad = this.checkRange("remap", virt, page);
    if (bad) return { ok: false, error: bad };
    const found = this.leavesIn("remap", virt, page, true);
    if (!Array.isArray(found)) return { ok: false, error: found };
    const leaf = found[0]!;
    if (leaf.level !== 0) return { ok: false, error: { kind: "SplitRequired", va: virt, level: leaf.level, message: `remap: ${hex(virt)} is inside a level-${leaf.level} page` } };
    const next = arch.encodeLeaf(phys, flags, 0);
    if (arch.flush.breakBeforeMake && tlb !== undefined) {
      this.mem.write64(leaf.pteAddr, 0n);
      this.token("remap", [{ va: leaf.va, size: page }], leaf.global, false, []).flush(tlb);
    }
    this.mem.write64(leaf.pteAddr, next);
    const global = leaf.global || arch.decode(next, 0).global;
    return { ok: true, flush: this.token("remap", [{ va: leaf.va, size: page }], global, false, []), changed: 1 };
  }

  /**
   * The fault path's probe, without bigints: 1 when a valid 4 KiB leaf maps the page holding `va`,
   * 0 when the walk ends at an invalid entry (the page is not mapped), -1 when the number path cannot
   * answer (the format has no {@link ArchPaging.fast} codec, `va` is not a user-half address, or the
   * walk ends at a larger leaf): ask {@link translate}.
   */
  probePage(va: number): -1 | 0 | 1 {
    if (this.walkFast(va) < 0) return -1;
    this.probedVa = va;
    this.probedAt = this.changes;
    if (!this.arch.fast!.valid(this.fastLo, this.fastHi)) return 0;
    return this.fastLevel === 0 ? 1 : -1;
  }

  /**
   * Maps the 4 KiB page at `va` (a page-aligned user-half address, as a number) to the frame `pa`
   * with `flags`, where {@link probePage} said 0, allocating the missing page-table pages (all before
   * installing any, in the order `map` takes them). The demand-fault path's map.
   *
   * No TLB maintenance is needed, so no token is returned: every entry written goes from invalid to
   * valid. x86 and Arm never cache a translation that faulted; RISC-V may cache V=0 entries, but
   * "invalid→valid … may be fenced lazily; the cost is spurious page faults that are resolved by
   * SFENCE.VMA in the handler" (RV-S note, ARCH-SPEC §4.7), which the fault handler does (its
   * "spurious" outcome). Linux does the same on x86 and arm64, and on RISC-V with Svvptc.
   *
   * Returns false, changing nothing, when a page-table page cannot be allocated.
   * Throws Error when the page is mapped, the flags are refused by `validateFlags` (W+X allowed), or
   * the format has no number codec: callers probe first, and use `map` otherwise.
   */
  mapPageNow(va: number, pa: number, flags: MemoryFlags): boolean {
    this.checkAlive("mapPageNow");
    const c = this.arch.fast;
    // The walk of the probe just before is still good if no entry of this space was written since.
    const walked = va === this.probedVa && this.probedAt === this.changes ? this.fastLevel : this.walkFast(va);
    if (c === undefined || walked < 0 || c.valid(this.fastLo, this.fastHi) || (va & 4095) !== 0 || (pa & 4095) !== 0) {
      throw new Error(`AddressSpace.mapPageNow: ${hex(BigInt(va))} is not an unmapped 4 KiB user page this format can map by number`);
    }
    if (flags !== this.fastFlags) {
      const fl = validateFlags(flags, { allowWX: true, allowWriteOnly: this.arch.writeOnly, supported: this.arch.supportedFlags });
      if (!fl.ok || (flags & (F.READ | F.EXECUTE)) === 0) throw new Error(`AddressSpace.mapPageNow: ${fl.ok ? "flags map nothing" : fl.error}`);
      this.fastFlags = flags;
    }
    const pool = this.fastPool;
    let pooled = 0;
    for (; pooled < this.fastLevel; pooled++) {
      const f = this.frames.allocateFrame("page table");
      if (f === undefined) {
        for (let i = 0; i < pooled; i++) this.frames.freeFrame(pool[i]!);
        return false;
      }
      pool[pooled] = f;
    }
    let pteAddr = this.fastPteAddr;
    for (let level = this.fastLevel; level > 0; level--) {
      const table = pool[--pooled]!;
      this.mem.fill(table, 4096, 0);
      this.writeHalves(pteAddr, c.tableLow(table), c.tableHigh(table));
      this.tables++;
      pteAddr = table + c.index(va, level - 1) * 8;
    }
    this.writeHalves(pteAddr, c.leafLow(pa, flags), c.leafHigh(pa, flags));
    this.changes++;
    return true;
  }

  /** Changes made to the tree (every operation that writes entries counts one), and the VA and count of the last {@link probePage}. */
  private changes = 0;
  private probedVa = -1;
  private probedAt = -1;
  /**
   * Where {@link walkFast} stopped: the level, the entry's address and its halves (in a typed array:
   * numbers above 2^30 stored in plain fields may each allocate a heap number).
   */
  private readonly fastAt = new Float64Array(4);
  private get fastLevel(): number { return this.fastAt[0]!; }
  private get fastPteAddr(): number { return this.fastAt[1]!; }
  private get fastLo(): number { return this.fastAt[2]!; }
  private get fastHi(): number { return this.fastAt[3]!; }
  /** The last flags {@link mapPageNow} validated, and its table-page pool (reused: no allocation per fault). */
  private fastFlags = -1;
  private readonly fastPool: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
  /** One past the user half, as a number (2^(vaBits-1)). */
  private readonly userTop: number;

  /**
   * Descends towards `va` by number, stopping at an invalid entry, a leaf or level 0, and records
   * where ({@link fastLevel} …). Returns -1 when there is no number codec or `va` is not a user-half
   * address below 2^53; else the level reached.
   */
  private walkFast(va: number): number {
    const c = this.arch.fast;
    if (c === undefined || !(va >= 0 && va < this.userTop)) return -1;
    const mem = this.mem;
    let table = this.root;
    for (let level = this.arch.levels - 1; ; level--) {
      const pteAddr = table + c.index(va, level) * 8;
      let lo: number, hi: number;
      if (mem.read64Low !== undefined) {
        lo = mem.read64Low(pteAddr);
        hi = mem.lastHigh!;
      } else {
        lo = mem.read32(pteAddr);
        hi = mem.read32(pteAddr + 4);
      }
      if (level === 0 || !c.valid(lo, hi) || c.leaf(lo, hi)) {
        const at = this.fastAt;
        at[0] = level;
        at[1] = pteAddr;
        at[2] = lo;
        at[3] = hi;
        return level;
      }
      table = c.address(lo, hi);
    }
  }

  /** Writes a 64-bit entry from its halves in one access when the memory offers it (else high word first, so the valid bit lands last). */
  private writeHalves(pa: number, lo: number, hi: number): void {
    if (this.mem.write64Halves !== undefined) this.mem.write64Halves(pa, lo, hi);
    else {
      this.mem.write32(pa + 4, hi >>> 0);
      this.mem.write32(pa, lo >>> 0);
    }
  }

  /** Where `virt` maps to, or undefined when it is non-canonical or unmapped. */
  translate(virt: bigint): Translation | undefined {
    if (!this.arch.isCanonical(virt)) return undefined;
    const loc = this.locate(virt, 0);
    if (!loc.d.valid || !loc.d.leaf) return undefined;
    const span = this.arch.entrySpan(loc.level);
    return { pa: loc.d.pa + (virt % span), flags: loc.d.flags, level: loc.level };
  }

  /** True when `virt` has a leaf translation. */
  isMapped(virt: bigint): boolean {
    return this.translate(virt) !== undefined;
  }

  /**
   * Every entry a hardware walk of `virt` reads, root first, ending at a leaf or an invalid entry
   * (empty for a non-canonical `virt`).
   */
  walkPageTable(virt: bigint): WalkStep[] {
    const arch = this.arch;
    if (!arch.isCanonical(virt)) return [];
    const steps: WalkStep[] = [];
    let table = this.root;
    for (let level = arch.levels - 1; level >= 0; level--) {
      const index = arch.index(virt, level);
      const pteAddr = table + index * arch.entryBytes;
      const pte = this.mem.read64(pteAddr);
      const decoded = arch.decode(pte, level);
      steps.push({ level, index, pteAddr, pte, decoded });
      if (!decoded.valid || decoded.leaf) break;
      table = Number(decoded.pa);
    }
    return steps;
  }

  /**
   * Releases the whole tree for exit reclaim: every page-table page (root included) and, with
   * `opts.freeFrames`, every mapped 4 KiB frame, all returned to the FrameSource when the token (one
   * ASID-wide flush, or flushAll if anything was global) is settled. The space is unusable afterwards.
   */
  destroy(opts: UnmapOptions = {}): DestroyResult {
    this.checkAlive("destroy");
    const arch = this.arch;
    const tables: number[] = [];
    const frames: LeafFrame[] = [];
    let global = false;
    const visit = (table: number, level: number, prefix: bigint): void => {
      tables.push(table);
      for (let i = 0; i < 2 ** arch.indexBits[level]!; i++) {
        const pte = this.mem.read64(table + i * arch.entryBytes);
        const d = arch.decode(pte, level);
        if (!d.valid) continue;
        global ||= d.global;
        const va = this.signExtend(prefix + BigInt(i) * arch.entrySpan(level));
        if (d.leaf) frames.push({ va, pa: d.pa, size: arch.entrySpan(level) });
        else visit(Number(d.pa), level - 1, prefix + BigInt(i) * arch.entrySpan(level));
      }
    };
    visit(this.root, arch.levels - 1, 0n);
    this.destroyed = true;
    this.tables = 0;
    const release = opts.freeFrames === true ? frames : [];
    const flush = this.token("destroy", [], global, true, tables, release, true);
    return { flush, frames: opts.freeFrames === true ? [] : frames, tablesFreed: tables.length };
  }

  /** Misaligned / NonCanonical checks shared by map, unmap and protect. */
  private checkRange(op: string, virt: bigint, size: bigint): Extract<VmError, { kind: "Misaligned" | "NonCanonical" }> | undefined {
    const base = this.arch.entrySpan(0);
    if (virt < 0n || virt % base !== 0n) return { kind: "Misaligned", what: "virt", value: virt, message: `${op}: virt ${hex(virt)} is not ${hex(base)}-aligned` };
    if (size <= 0n || size % base !== 0n) return { kind: "Misaligned", what: "size", value: size, message: `${op}: size ${hex(size)} is not a positive multiple of ${hex(base)}` };
    const half = virt < 1n << BigInt(this.arch.vaBits - 1) ? "user" : "kernel";
    const r = validateAddressRange(virt, size, half, this.arch);
    return r.ok ? undefined : { kind: "NonCanonical", va: virt, message: `${op}: ${r.error}` };
  }

  /** The leaves `map` installs: the largest allowed size at each step. */
  private plan(virt: bigint, phys: bigint, size: bigint): { va: bigint; pa: bigint; level: number }[] {
    const arch = this.arch;
    const levels = [...arch.leafLevels].sort((a, b) => b - a);
    const out: { va: bigint; pa: bigint; level: number }[] = [];
    let va = virt, pa = phys, rem = size;
    while (rem > 0n) {
      const level = levels.find((l) => {
        const span = arch.entrySpan(l);
        return span <= rem && va % span === 0n && pa % span === 0n;
      })!;
      out.push({ va, pa, level });
      const span = arch.entrySpan(level);
      va += span;
      pa += span;
      rem -= span;
    }
    return out;
  }

  /** Descends from the root towards `va`, stopping at an invalid entry, a leaf, or `stopLevel`. */
  private locate(va: bigint, stopLevel: number): Located {
    const arch = this.arch;
    const path: PathTable[] = [];
    let table = this.root;
    let global = false;
    for (let level = arch.levels - 1; ; level--) {
      const pteAddr = table + arch.index(va, level) * arch.entryBytes;
      const pte = this.mem.read64(pteAddr);
      const d = arch.decode(pte, level);
      if (d.valid && d.global) global = true;
      if (!d.valid || d.leaf || level === stopLevel) return { level, pteAddr, pte, d, path, global };
      const next = Number(d.pa);
      path.push({ table: next, level: level - 1, parentEntry: pteAddr });
      table = next;
    }
  }

  /**
   * The leaves in `[virt, virt+size)`, skipping holes an entry-span at a time, or the first problem:
   * SplitRequired for a leaf that sticks out of the range, NotMapped for a hole when `requireMapped`.
   */
  private leavesIn(op: string, virt: bigint, size: bigint, requireMapped: boolean): FoundLeaf[] | Extract<VmError, { kind: "SplitRequired" | "NotMapped" }> {
    const arch = this.arch;
    const end = virt + size;
    const out: FoundLeaf[] = [];
    let va = virt;
    while (va < end) {
      const loc = this.locate(va, 0);
      const span = arch.entrySpan(loc.level);
      if (!loc.d.valid) {
        if (requireMapped) return { kind: "NotMapped", va, message: `${op}: ${hex(va)} is not mapped` };
        va = alignDown(va, span) + span;
        continue;
      }
      if (!loc.d.leaf) throw new Error(`AddressSpace: level-0 entry at 0x${loc.pteAddr.toString(16)} for ${hex(va)} is not a leaf (${hex(loc.pte)})`);
      const start = alignDown(va, span);
      if (start < virt || start + span > end) {
        return { kind: "SplitRequired", va: start, level: loc.level, message: `${op}: range ${hex(virt)}+${hex(size)} covers part of the level-${loc.level} leaf at ${hex(start)}` };
      }
      out.push({ va: start, level: loc.level, pteAddr: loc.pteAddr, pte: loc.pte, d: loc.d, path: loc.path, global: loc.global });
      va = start + span;
    }
    return out;
  }

  private isEmptyTable(table: number): boolean {
    const entries = 4096 / this.arch.entryBytes;
    for (let i = 0; i < entries; i++) if (this.mem.read64(table + i * this.arch.entryBytes) !== 0n) return false;
    return true;
  }

  /** The canonical (upper-half sign-extended) form of a VA index sum. */
  private signExtend(va: bigint): bigint {
    const top = 1n << BigInt(this.arch.vaBits - 1);
    return va >= top ? va + ((1n << 64n) - (top << 1n)) : va;
  }

  /** Builds a token whose settlement frees `tables` and the frames of `leaves`. */
  private token(cause: FlushCause, pages: FlushedPage[], global: boolean, tablesFreed: boolean, tables: number[], leaves: readonly LeafFrame[] = [], wholeSpace = false): TlbFlush {
    this.changes++;
    const frames = this.frames;
    const release = tables.length === 0 && leaves.length === 0 ? undefined : (): void => {
      for (const t of tables) frames.freeFrame(t);
      for (const l of leaves) for (let off = 0n; off < l.size; off += 4096n) frames.freeFrame(Number(l.pa + off));
    };
    const t = new TlbFlush({
      cause, asid: this.asidValue, pages, global, tablesFreed, wholeSpace, capabilities: this.arch.flush, ceiling: this.ceiling, release,
      onSettle: this.debug ? (tok): void => { this.pending.delete(tok); } : undefined,
    });
    if (this.debug) this.pending.add(t);
    return t;
  }

  private checkAlive(op: string): void {
    if (this.destroyed) throw new Error(`AddressSpace.${op}: the space (root 0x${this.root.toString(16)}) was destroyed`);
  }
}
