/**
 * Hardware fault injection on every machine: faults the kernel cannot be asked about, applied to
 * the machine between two instructions (boot/inject-run.ts decides when). The architecture's part
 * (how an interrupt is raised, how the platform reports a memory error) is an {@link InjectTarget}
 * built in boot/<arch>/inject-hw.ts; the rest is here.
 *
 * | kind | what happens | legal hardware behaviour? | machines |
 * |---|---|---|---|
 * | `pte-flip` | bit `bit` of a valid leaf PTE of the running process, in RAM, is flipped or cleared | no: a memory error | all |
 * | `tlb-drop` | one valid TLB entry (any array, any hart) is invalidated | yes: a TLB may drop entries at any time | all |
 * | `tlb-corrupt` | one valid TLB entry's (any hart's) physical page moves to the neighbouring page of its size | no: a TLB array error | all |
 * | `spurious-irq` | an interrupt nobody asked for: riscv64 `sip.SSIP` or `sip.STIP`; arm64 an IRQ exception while the timer's condition is not met; x86_64 the timer vector delivered without the local APIC raising it | no (for the platform): nothing asked for it | all (`irq: "software"` riscv64 only) |
 * | `ipi-lose` | the next IPI to one target never arrives: riscv64 one target of SBI send_ipi; arm64 one target PE of an SGI written to GICD_SGIR; x86_64 one destination of a fixed IPI written to the local APIC's ICR (boot/ipi-faults.ts) | no: a lost interrupt message (SBI §7.1, GICv2 §4.3.15 and SDM Vol. 3A §11.6.1 all deliver every IPI) | all, with several processors |
 * | `ipi-delay` | the next IPI to one target arrives `ticks` (default 10 000) later than it would | yes: delivery latency is not bounded by the spec (an ICR's delivery status may read "send pending" for any time) | all, with several processors |
 * | `bad-frame` | the platform reports a memory error in one frame (`target`: a page of the running process, or a free frame; `mode`: `hard` = uncorrected, data lost; `soft` = corrected) through its notification (boot/memory-errors.ts: riscv64 the supervisor external interrupt, arm64 an SError, x86_64 a machine check); the kernel must retire the frame and move or kill its users | yes: memory fails | all |
 * | `heap-corrupt` | bit `bit` (0..127) of the 16-byte header of one live kernel heap block, in RAM, is flipped | no: a memory error (or a kernel bug that wrote past a block) | all |
 *
 * The PTE is found through the kernel's own page-table walk (AddressSpace.walkPageTable) over the
 * running process's areas, and written through the bus, so caches derived from RAM (decoded
 * instructions, the stale-TLB detectors) see the write as they would see a store. The TLB keeps the
 * old translation until something removes it, as real hardware would.
 */
import type { Bus } from "../emulator/core/memory.js";
import type { RunResult } from "../emulator/core/run.js";
import type { TlbSet } from "../emulator/core/tlb.js";
import type { MemoryError } from "../kernel/hal.js";
import type { Injection } from "../kernel/inject.js";
import type { Kernel } from "../kernel/kernel.js";
import { MemoryFlags } from "../kernel/mm/flags.js";
import { HEADER } from "../kernel/mm/heap/layout.js";
import { heapMemoryOf } from "../kernel/mm/kernel-heap.js";
import type { SplitMix64 } from "../kernel/random.js";
import type { IpiFault } from "./ipi-faults.js";
import { MemoryRegionKind } from "../kernel/mm/phys/regions.js";

/** One hardware fault of a plan. `at`: the instruction count (all processors) to apply it at; unset: drawn from the plan's seed. */
export type HwFault =
  | { kind: "pte-flip"; at?: number; bit?: number; mode?: "flip" | "clear"; target?: "data" | "any" }
  | { kind: "tlb-drop"; at?: number }
  | { kind: "tlb-corrupt"; at?: number }
  | { kind: "spurious-irq"; at?: number; irq?: "software" | "timer" }
  | { kind: "heap-corrupt"; at?: number; bit?: number }
  | { kind: "bad-frame"; at?: number; target?: "user" | "free"; mode?: "hard" | "soft" }
  | { kind: "ipi-lose"; at?: number }
  | { kind: "ipi-delay"; at?: number; ticks?: number };

/** The machines the kernel runs on. */
export type KernelArchName = "riscv64" | "arm64" | "x86_64";

/**
 * The hardware fault kinds, the same on every machine. The IPI kinds act only with several
 * processors (with one, nothing sends an IPI, and the fault is skipped).
 */
export const HW_KINDS_ALL: readonly HwFault["kind"][] = ["pte-flip", "tlb-drop", "tlb-corrupt", "spurious-irq", "heap-corrupt", "bad-frame", "ipi-lose", "ipi-delay"];
export const HW_KINDS: Record<KernelArchName, readonly HwFault["kind"][]> = {
  riscv64: HW_KINDS_ALL,
  arm64: HW_KINDS_ALL,
  x86_64: HW_KINDS_ALL,
};

/** What fault injection needs of a booted kernel machine; each architecture builds one (boot/<arch>/inject-hw.ts). */
export interface InjectTarget {
  readonly arch: KernelArchName;
  readonly kernel: Kernel;
  readonly bus: Bus;
  /** Processor 0's TLBs. */
  readonly tlbs: TlbSet;
  /**
   * Every processor's TLBs and fast-path flush, when there are several; absent: processor 0's alone
   * ({@link tlbs}, {@link flushFast}).
   */
  readonly processors?: readonly { tlbs: TlbSet; flushFast(): void }[];
  /** Retired instructions (all processors together, as the machine's instruction bound counts them). */
  icount(): number;
  /** Runs the machine until it ends or `maxInsns` instructions have retired. */
  run(maxInsns: number): RunResult;
  /** Drops the host fast path (after a TLB entry was changed behind the TLB's back). */
  flushFast(): void;
  /** Raises an interrupt nobody asked for; returns what was done, or undefined when interrupts are masked now. */
  spuriousIrq(irq: "software" | "timer" | undefined): string | undefined;
  /** The platform reports a memory error; returns how it was announced. */
  reportMemoryError(e: MemoryError): string;
  /** Arms the next IPI to one target to be lost or delayed (boot/ipi-faults.ts); absent with one processor. */
  armIpiFault?(f: IpiFault): boolean;
}

/** Pages of the running process's areas scanned for PTEs, at most (a bound on the walk's cost). */
const MAX_SCANNED_PAGES = 1 << 16;
const PAGE = 4096n;

/** A uniform integer in [0, n) (n ≥ 1, below 2^32). */
export function below(rng: SplitMix64, n: number): number {
  return Number(rng.bits(32) % BigInt(n));
}

/**
 * Applies `fault` to `km` now, choosing its target with `rng`. Returns the injection made, or
 * undefined when there was nothing to apply it to (no process running, an empty TLB, no valid PTE).
 * Throws RangeError for a bit outside 0..63.
 */
export function applyHwFault(km: InjectTarget, fault: HwFault, rng: SplitMix64): Injection | undefined {
  const pid = km.kernel.procs.current?.pid;
  const base = { point: fault.kind, call: km.icount(), ...(pid !== undefined ? { pid } : {}) };
  switch (fault.kind) {
    case "pte-flip": {
      const bit = fault.bit ?? below(rng, 10);
      if (!Number.isInteger(bit) || bit < 0 || bit > 63) throw new RangeError(`pte-flip: bit ${bit} is not in 0..63`);
      const ptes = userLeafPtes(km, fault.target ?? "data");
      if (ptes.length === 0) return undefined;
      const { va, pteAddr } = ptes[below(rng, ptes.length)]!;
      const old = km.bus.read64(pteAddr)!;
      const mask = 1n << BigInt(bit);
      const now = fault.mode === "clear" ? old & ~mask : old ^ mask;
      km.bus.write64(pteAddr, now);
      return { ...base, detail: `va 0x${va.toString(16)}: PTE at 0x${pteAddr.toString(16)} 0x${old.toString(16)} -> 0x${now.toString(16)} (bit ${bit} ${fault.mode === "clear" ? "cleared" : "flipped"})` };
    }
    case "tlb-drop":
    case "tlb-corrupt": {
      // One entry drawn from every processor's valid entries (processor 0's first, so one processor draws as before).
      const cpus = km.processors ?? [{ tlbs: km.tlbs, flushFast: () => km.flushFast() }];
      const slots = cpus.flatMap((cpu, c) => cpu.tlbs.arrays.flatMap((t) => [...t.valid].flatMap((v, i) => (v === 1 ? [{ c, t, i }] : []))));
      if (slots.length === 0) return undefined;
      const { c, t, i } = slots[below(rng, slots.length)]!;
      const va = t.vpnBase[i]! * 4096;
      const where = `${cpus.length > 1 ? `${km.arch === "riscv64" ? "hart" : "cpu"} ${c} ` : ""}${t.name}[${i}] va 0x${va.toString(16)}`;
      if (fault.kind === "tlb-drop") {
        t.valid[i] = 0;
        cpus[c]!.flushFast();
        return { ...base, detail: `${where} dropped` };
      }
      const pages = 2 ** (t.shift[i]! - 12);
      const ppn = t.ppn[i]!;
      t.ppn[i] = Math.floor(ppn / pages) % 2 === 0 ? ppn + pages : ppn - pages;
      cpus[c]!.flushFast();
      return { ...base, detail: `${where} ppn 0x${ppn.toString(16)} -> 0x${t.ppn[i]!.toString(16)}` };
    }
    case "heap-corrupt": {
      const heap = km.kernel.heap;
      const mem = heap && heapMemoryOf(heap);
      if (heap === undefined || mem === undefined) return undefined;
      const blocks = [...heap.liveByOwner().keys()].flatMap((owner) => heap.liveBlocksOf(owner).map((b) => ({ ...b, owner })));
      if (blocks.length === 0) return undefined;
      const bit = fault.bit ?? below(rng, HEADER * 8);
      if (!Number.isInteger(bit) || bit < 0 || bit >= HEADER * 8) throw new RangeError(`heap-corrupt: bit ${bit} is not in 0..${HEADER * 8 - 1}`);
      const b = blocks[below(rng, blocks.length)]!;
      const at = b.addr - heap.redZone - HEADER + (bit >> 3);
      const old = mem.read8(at);
      mem.write8(at, old ^ (1 << (bit & 7)));
      return { ...base, owner: b.owner, detail: `block 0x${mem.vaOf(b.addr).toString(16)} of "${b.owner}": header bit ${bit} flipped` };
    }
    case "bad-frame": {
      const pa = fault.target === "free" ? freeFrame(km, rng) : userFrame(km, rng);
      if (pa === undefined) return undefined;
      const corrected = fault.mode === "soft";
      const how = km.reportMemoryError({ pa, corrected });
      return { ...base, detail: `memory error reported at 0x${pa.toString(16)} (${corrected ? "corrected" : "uncorrected"}, ${fault.target ?? "user"} frame) by ${how}` };
    }
    case "ipi-lose":
    case "ipi-delay": {
      if (km.armIpiFault === undefined) return undefined;
      const ticks = fault.kind === "ipi-delay" ? fault.ticks ?? 10_000 : 0;
      if (!Number.isSafeInteger(ticks) || ticks < 0) throw new RangeError(`ipi-delay: ticks ${ticks} is not a whole number`);
      if (!km.armIpiFault(fault.kind === "ipi-lose" ? { mode: "lose" } : { mode: "delay", ticks })) return undefined;
      return { ...base, detail: fault.kind === "ipi-lose" ? "armed: the next IPI is lost" : `armed: the next IPI is delayed ${ticks} ticks` };
    }
    case "spurious-irq": {
      const detail = km.spuriousIrq(fault.irq);
      return detail === undefined ? undefined : { ...base, detail };
    }
  }
}

/** A frame one of the running process's present pages maps (its data pages first), or undefined. */
function userFrame(km: InjectTarget, rng: SplitMix64): number | undefined {
  const p = km.kernel.procs.current;
  if (p === undefined || p.state === "zombie") return undefined;
  const pages = p.mm.presentPages(0n, p.mm.userEnd);
  const data = pages.filter((pg) => (pg.flags & MemoryFlags.EXECUTE) === 0);
  const pool = data.length > 0 ? data : pages;
  return pool.length === 0 ? undefined : pool[below(rng, pool.length)]!.pa;
}

/** A free Usable frame, drawn at random (a few tries), or undefined. */
function freeFrame(km: InjectTarget, rng: SplitMix64): number | undefined {
  const frames = km.kernel.memory?.frames;
  if (frames === undefined) return undefined;
  const count = (frames.managedEnd - frames.managedBase) / 4096;
  for (let tries = 0; tries < 64; tries++) {
    const pa = frames.managedBase + below(rng, count) * 4096;
    const usable = frames.regions.some((r) => r.kind === MemoryRegionKind.Usable && pa >= r.base && pa < r.base + r.size);
    if (usable && pa >= frames.metadataBase + frames.metadataBytes && frames.refCount(pa) === 0) return pa;
  }
  return undefined;
}

/** Valid leaf PTEs mapping the running process's areas (writable ones only for "data"), in address order. */
function userLeafPtes(km: InjectTarget, target: "data" | "any"): { va: bigint; pteAddr: number }[] {
  const p = km.kernel.procs.current;
  if (p === undefined || p.state === "zombie") return [];
  const out: { va: bigint; pteAddr: number }[] = [];
  let scanned = 0;
  for (const vma of p.mm.vmas.all()) {
    if (target === "data" && (vma.flags & MemoryFlags.WRITE) === 0) continue;
    for (let va = vma.start; va < vma.end && scanned < MAX_SCANNED_PAGES; va += PAGE, scanned++) {
      const leaf = p.mm.space.walkPageTable(va).at(-1);
      if (leaf?.decoded.valid && leaf.decoded.leaf) out.push({ va, pteAddr: leaf.pteAddr });
    }
  }
  return out;
}
