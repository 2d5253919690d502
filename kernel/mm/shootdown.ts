/**
 * TLB shootdown: the kernel's {@link TlbControl} on a machine with several CPUs. Every invalidation
 * is done on this CPU, and on each other CPU that may cache a translation of the address space by
 * the architecture's mechanism ({@link RemoteTlb}):
 *
 * - `sync` (riscv64): a request the platform performs on the other CPUs before it returns (an SBI
 *   remote fence). Freed frames are released at once.
 * - `broadcast` (arm64): the invalidation itself reaches every CPU (TLBI ...IS, complete at the
 *   issuing CPU's DSB ISH). It replaces the local form whenever another CPU may hold the ASID.
 * - `ipi` (x86_64): the request is queued for each target CPU and an IPI sent; each target
 *   invalidates in its handler (or at any earlier entry into the kernel, {@link processQueue}) and
 *   so acknowledges. The frames the change freed are released only when every target has
 *   acknowledged (Linux waits in `flush_tlb_multi` for the same reason; a handler of this kernel
 *   cannot wait, so the frames wait instead).
 * Callers free frames only through {@link afterFlush} (vm/flush.ts does), so a frame is never
 * reused while another CPU can still reach it.
 *
 * Which CPUs may cache an address space is tracked per ASID, as Linux tracks `mm_cpumask` on riscv:
 * a CPU's bit is set when it switches to the ASID and is kept afterwards (its TLB keeps the
 * ASID-tagged entries after it switches away). An ASID rollover clears the bits: every CPU flushes
 * its whole TLB before it next uses a new-generation ASID (kernel/mm/asid.ts), except the ASIDs
 * still running on other CPUs, whose bits are kept.
 *
 * Batching follows Linux `flush_tlb_range`: one remote request per flush, naming the range that
 * covers the changed pages while it spans at most `ceiling` pages, else the whole ASID.
 */
import type { TlbControl } from "../hal.js";
import { FLUSH_CEILING, type FlushedPage } from "./vm/flush.js";

/** A range of virtual addresses to invalidate on other CPUs. */
export interface RemoteRange {
  start: bigint;
  size: bigint;
}

/** A synchronous remote invalidation: `range` of `asid`, all of `asid` without a range, everything without an ASID. */
export type RemoteFlush = (cpus: readonly number[], asid: number | undefined, range: RemoteRange | undefined) => void;

/** How an architecture reaches other CPUs' TLBs (see the module comment). */
export type RemoteTlb =
  | { readonly kind: "sync"; readonly flush: RemoteFlush }
  | { readonly kind: "broadcast"; readonly tlb: TlbControl }
  | { readonly kind: "ipi"; readonly send: (hwIds: readonly number[]) => void };

/** The CPUs the kernel runs on, as the shootdown needs them. */
export interface CpuView {
  /** Index of the CPU now in the kernel. */
  self(): number;
  /** Bit i: CPU i is online (takes part in shootdowns). */
  onlineMask(): number;
  /** The hardware id (hart id, MPIDR, APIC id) of CPU `i`. */
  hwId(i: number): number;
}

/** Counters of remote invalidation. */
export interface ShootdownStats {
  /** Remote requests made (each may reach several CPUs). */
  requests: number;
  /** CPUs reached, summed over requests. */
  targets: number;
  /** Requests naming a range of pages, a whole ASID, everything. */
  ranges: number;
  asids: number;
  all: number;
  /** Releases of freed frames that had to wait for acknowledgements (`ipi` only). */
  deferred: number;
}

/** A queued request (`ipi`): what one target CPU must invalidate. */
interface Request {
  asid: number | undefined;
  range: RemoteRange | undefined;
}

const PAGE = 4096n;

export class Shootdown implements TlbControl {
  readonly stats: ShootdownStats = { requests: 0, targets: 0, ranges: 0, asids: 0, all: 0, deferred: 0 };
  /** Bit i of asidCpus[a]: CPU i may hold translations tagged with ASID a. */
  private readonly asidCpus = new Uint8Array(1 << 16);
  /** `ipi`: each CPU's queued requests, how many it was ever sent and how many it has carried out. */
  private readonly queues: Request[][] = [];
  private readonly sent: number[] = [];
  private readonly done: number[] = [];
  /** `ipi`: releases waiting for targets to reach a request count. */
  private waiting: { need: [number, number][]; release: () => void }[] = [];
  /** `ipi`: checks waiting for no release to wait any more ({@link whenReleased}), in order. */
  private checks: (() => void)[] = [];
  /** `ipi`: the targets (and their request counts) of the last remote request, for afterFlush. */
  private lastNeed: [number, number][] = [];

  constructor(private readonly local: TlbControl, private readonly cpus: CpuView, private readonly remote: RemoteTlb, readonly ceiling = FLUSH_CEILING) {}

  /** CPU `cpu` now runs with ASID `asid` (call on every switch to an address space). */
  noteActive(cpu: number, asid: number): void {
    this.asidCpus[asid & 0xffff]! |= 1 << cpu;
  }

  /** An ASID rollover: forget every CPU's ASIDs but those still running (`keep`: [cpu, asid]). */
  rollover(keep: readonly (readonly [number, number])[]): void {
    this.asidCpus.fill(0);
    for (const [cpu, asid] of keep) this.noteActive(cpu, asid);
  }

  flushPage(va: bigint, asid: number): void {
    const others = this.begin(asid);
    this.tlbFor(others).flushPage(va, asid);
    this.toOthers(others, asid, { start: va, size: PAGE });
  }

  flushPageNumber(va: number, asid: number): void {
    const others = this.begin(asid);
    const tlb = this.tlbFor(others);
    if (tlb.flushPageNumber) tlb.flushPageNumber(va, asid);
    else tlb.flushPage(BigInt(va), asid);
    if (others !== 0) this.toOthers(others, asid, { start: BigInt(va), size: PAGE });
  }

  /** The pages of one flush: each on this CPU (or broadcast), then one request for all of them on the others. */
  flushPages(pages: readonly FlushedPage[], asid: number): void {
    const others = this.begin(asid);
    const tlb = this.tlbFor(others);
    for (const p of pages) tlb.flushPage(p.va, asid);
    if (others === 0 || pages.length === 0) return;
    let lo = pages[0]!.va, hi = lo;
    for (const p of pages) {
      if (p.va < lo) lo = p.va;
      if (p.va + p.size > hi) hi = p.va + p.size;
    }
    this.toOthers(others, asid, hi - lo <= BigInt(this.ceiling) * PAGE ? { start: lo, size: hi - lo } : undefined);
  }

  flushAsid(asid: number): void {
    const others = this.begin(asid);
    this.tlbFor(others).flushAsid(asid);
    this.toOthers(others, asid, undefined);
  }

  /** Everything, globals included, on every online CPU (kernel mappings are cached everywhere). */
  flushAll(): void {
    const others = this.begin(undefined);
    this.tlbFor(others).flushAll();
    this.toOthers(others, undefined, undefined);
  }

  /**
   * Runs `release` (frees the frames a flushed change gave up) once every CPU the last flush
   * reached has invalidated: at once, except with `ipi` until the targets acknowledge.
   */
  afterFlush(release: () => void): void {
    if (this.lastNeed.length === 0) {
      release();
      return;
    }
    this.stats.deferred++;
    this.waiting.push({ need: this.lastNeed, release });
    this.lastNeed = [];
  }

  /**
   * `ipi`: carries out the requests queued for CPU `cpu` on its own TLB (call on that CPU, in the
   * IPI handler or at any entry into the kernel before it touches user memory), acknowledging
   * them, and runs the releases that no longer wait. Cheap when nothing is queued.
   */
  processQueue(cpu: number): void {
    const q = this.queues[cpu];
    if (q === undefined || q.length === 0) return;
    for (const r of q.splice(0)) {
      if (r.asid === undefined) this.local.flushAll();
      else if (r.range === undefined) this.local.flushAsid(r.asid);
      else for (let va = r.range.start; va < r.range.start + r.range.size; va += PAGE) this.local.flushPage(va, r.asid);
    }
    this.done[cpu] = this.sent[cpu]!;
    this.waiting = this.waiting.filter((w) => {
      if (w.need.some(([c, n]) => (this.done[c] ?? 0) < n)) return true;
      w.release();
      return false;
    });
    this.runChecks();
  }

  /**
   * Releases everything still waiting for acknowledgements: for power-off, when no process is left
   * to run on any CPU, so no stale translation can be used again.
   */
  releaseAll(): void {
    for (const w of this.waiting.splice(0)) w.release();
    this.runChecks();
  }

  /**
   * Runs `fn` once no release waits: at once when none does (always with `sync` and `broadcast`),
   * else after the last release waiting then (or queued meanwhile) has run. For checks that must see
   * every frame a flush gave up freed (the exit leak check): a release queued after the check, by a
   * later exit, may free a frame the exited process allocated (a copy-on-write page it shared with
   * the later one), and must run first.
   */
  whenReleased(fn: () => void): void {
    if (this.waiting.length === 0) fn();
    else this.checks.push(fn);
  }

  /** Runs the waiting checks, in order, once no release waits. */
  private runChecks(): void {
    if (this.waiting.length > 0) return;
    for (const fn of this.checks.splice(0)) fn();
  }

  /** Releases (and checks behind them) that wait for acknowledgements (`ipi`). */
  get pending(): number {
    return this.waiting.length + this.checks.length;
  }

  /** The other online CPUs that may hold ASID `asid` (all of them for undefined); starts a flush. */
  private begin(asid: number | undefined): number {
    this.lastNeed = [];
    const self = ~(1 << this.cpus.self());
    const online = this.cpus.onlineMask();
    return (asid === undefined ? online : this.asidCpus[asid & 0xffff]! & online) & self;
  }

  /** The TLB the operation runs on here: the broadcast one when other CPUs are concerned and the architecture broadcasts. */
  private tlbFor(others: number): TlbControl {
    return others !== 0 && this.remote.kind === "broadcast" ? this.remote.tlb : this.local;
  }

  private toOthers(mask: number, asid: number | undefined, range: RemoteRange | undefined): void {
    if (mask === 0) return;
    const idx: number[] = [];
    for (let i = 0; mask >> i !== 0; i++) if ((mask >> i) & 1) idx.push(i);
    this.stats.requests++;
    this.stats.targets += idx.length;
    if (asid === undefined) this.stats.all++;
    else if (range === undefined) this.stats.asids++;
    else this.stats.ranges++;
    const r = this.remote;
    if (r.kind === "sync") r.flush(idx.map((i) => this.cpus.hwId(i)), asid, range);
    else if (r.kind === "ipi") {
      for (const i of idx) {
        (this.queues[i] ??= []).push({ asid, range });
        this.sent[i] = (this.sent[i] ?? 0) + 1;
        this.done[i] ??= 0;
      }
      this.lastNeed = idx.map((i) => [i, this.sent[i]!]);
      r.send(idx.map((i) => this.cpus.hwId(i)));
    }
  }
}
