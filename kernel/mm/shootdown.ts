/**
 * TLB shootdown: the kernel's {@link TlbControl} on a machine with several CPUs. Every invalidation
 * is done on this CPU with the local instruction, then on each other CPU that may cache a
 * translation of the address space, with the architecture's remote mechanism (riscv64: an SBI
 * remote fence; x86_64: an IPI whose handler invalidates; arm64: the broadcast TLBI ...IS form),
 * and returns only when those CPUs have invalidated. Callers free frames after `flush` returns (see
 * vm/flush.ts), so a frame is never reused while another CPU can still reach it.
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

/** The architecture's remote invalidation (KernelSmp.remoteFlush). */
export type RemoteFlush = (cpus: readonly number[], asid: number | undefined, range: RemoteRange | undefined) => void;

/** The CPUs the kernel runs on, as the shootdown needs them. */
export interface CpuView {
  /** Index of the CPU now in the kernel. */
  self(): number;
  /** Bit i: CPU i is online (takes part in shootdowns). */
  onlineMask(): number;
  /** The hardware id (hart id, MPIDR, APIC id) of CPU `i`. */
  hwId(i: number): number;
}

/** Counters of remote invalidation requests. */
export interface ShootdownStats {
  /** Remote requests made (each may reach several CPUs). */
  requests: number;
  /** CPUs reached, summed over requests. */
  targets: number;
  /** Requests naming a range of pages, a whole ASID, everything. */
  ranges: number;
  asids: number;
  all: number;
}

const PAGE = 4096n;

export class Shootdown implements TlbControl {
  readonly stats: ShootdownStats = { requests: 0, targets: 0, ranges: 0, asids: 0, all: 0 };
  /** Bit i of asidCpus[a]: CPU i may hold translations tagged with ASID a. */
  private asidCpus = new Uint8Array(1 << 16);

  constructor(private readonly local: TlbControl, private readonly cpus: CpuView, private readonly remote: RemoteFlush, readonly ceiling = FLUSH_CEILING) {}

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
    this.local.flushPage(va, asid);
    this.toOthers(this.others(asid), asid, { start: va, size: PAGE });
  }

  flushPageNumber(va: number, asid: number): void {
    if (this.local.flushPageNumber) this.local.flushPageNumber(va, asid);
    else this.local.flushPage(BigInt(va), asid);
    const others = this.others(asid);
    if (others !== 0) this.toOthers(others, asid, { start: BigInt(va), size: PAGE });
  }

  /** The pages of one flush: each on this CPU, then one request for all of them on the others. */
  flushPages(pages: readonly FlushedPage[], asid: number): void {
    for (const p of pages) this.local.flushPage(p.va, asid);
    const others = this.others(asid);
    if (others === 0 || pages.length === 0) return;
    let lo = pages[0]!.va, hi = lo;
    for (const p of pages) {
      if (p.va < lo) lo = p.va;
      if (p.va + p.size > hi) hi = p.va + p.size;
    }
    this.toOthers(others, asid, hi - lo <= BigInt(this.ceiling) * PAGE ? { start: lo, size: hi - lo } : undefined);
  }

  flushAsid(asid: number): void {
    this.local.flushAsid(asid);
    this.toOthers(this.others(asid), asid, undefined);
  }

  /** Everything, globals included, on every online CPU (kernel mappings are cached everywhere). */
  flushAll(): void {
    this.local.flushAll();
    this.toOthers(this.cpus.onlineMask() & ~(1 << this.cpus.self()), undefined, undefined);
  }

  /** The other online CPUs that may hold ASID `asid`. */
  private others(asid: number): number {
    return this.asidCpus[asid & 0xffff]! & this.cpus.onlineMask() & ~(1 << this.cpus.self());
  }

  private toOthers(mask: number, asid: number | undefined, range: RemoteRange | undefined): void {
    if (mask === 0) return;
    const ids: number[] = [];
    for (let i = 0; mask >> i !== 0; i++) if ((mask >> i) & 1) ids.push(this.cpus.hwId(i));
    this.stats.requests++;
    this.stats.targets += ids.length;
    if (asid === undefined) this.stats.all++;
    else if (range === undefined) this.stats.asids++;
    else this.stats.ranges++;
    this.remote(ids, asid, range);
  }
}
