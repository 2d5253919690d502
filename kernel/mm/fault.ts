/**
 * The page-fault handler: decides from the process's areas and its page table what a fault means,
 * fixes what can be fixed, and otherwise says why the process must die.
 *
 * ```
 *  fault at va ─► kernel half? ─────────────────────────────► kill "kernel-address"
 *        │ lookup(va) in the VMAs
 *        ├─ none ───────────────────────────────────────────► kill "unmapped"
 *        ├─ guard gap below a stack ────────────────────────► kill "guard-page"
 *        ├─ area forbids the access ─────────────────────────► kill "write-to-readonly" /
 *        │                                                     "exec-non-executable" / "read-protected"
 *        ├─ stack growth room ──────────────────────────────► grow the area, map a zeroed page
 *        └─ inside: walk the page table
 *             ├─ no leaf ───────────────────────────────────► demand-zero (or unpark a PROT_NONE frame)
 *             ├─ leaf allows the access ────────────────────► spurious: flush the page, retry
 *             └─ write to a COPY_ON_WRITE leaf ─── refs > 1 ─► cow-copy
 *                                              └── refs = 1 ─► cow-reuse (make it writable)
 * ```
 *
 * Presence is decided by the walk, never by {@link PageFaultError.notPresent}: a RISC-V page fault
 * (scause 12/13/15) does not say whether the PTE was valid, and even where the architecture says
 * (x86 P bit), the page table is the truth by the time the handler runs. For the same reason a
 * "spurious" fault is recognised by reading the PTE: the hart used a stale TLB entry.
 *
 * The caller (the trap layer) resumes the faulting instruction for every outcome except "kill" and
 * "out-of-memory". For a user-mode fault those kill the process with the `report`; for a
 * kernel-mode fault on a user address (a syscall copying its arguments) they become -EFAULT; a
 * kernel-mode fault on a kernel address is an oops. {@link isResolved} tells them apart.
 */
import { KernelPanic } from "../panic.js";
import type { FaultAccess, PageFaultInfo } from "./fault-info.js";
import { MemoryFlags as F, type MemoryFlags } from "./flags.js";
import { type ProcessMemory, pteFlags } from "./process-memory.js";
import { hex } from "./safety.js";
import { describeVma, pageDown, type Vma } from "./vma.js";

/** Why a fault kills the process. */
export type KillReason =
  | "unmapped"
  | "write-to-readonly"
  | "exec-non-executable"
  /** A read of an area without READ (PROT_NONE, or execute-only). */
  | "read-protected"
  | "kernel-address"
  | "guard-page";

/** What the handler did. `va` is the faulting page; frames are physical addresses. */
export type FaultOutcome =
  | { readonly kind: "demand-zero"; readonly va: bigint; readonly frame: number }
  | { readonly kind: "stack-growth"; readonly va: bigint; readonly frame: number; /** The grown area. */ readonly vma: Vma }
  | { readonly kind: "cow-copy"; readonly va: bigint; readonly from: number; readonly frame: number }
  | { readonly kind: "cow-reuse"; readonly va: bigint; readonly frame: number }
  /** A page whose frame was parked by mprotect(PROT_NONE) was mapped back. */
  | { readonly kind: "unpark"; readonly va: bigint; readonly frame: number }
  /** The PTE already allowed the access: the page's TLB entry was flushed. */
  | { readonly kind: "spurious"; readonly va: bigint }
  | { readonly kind: "kill"; readonly reason: KillReason; readonly access: FaultAccess; readonly report: string }
  | { readonly kind: "out-of-memory"; readonly access: FaultAccess; readonly report: string };

/** The outcomes after which the faulting access can be retried. */
export function isResolved(o: FaultOutcome): boolean {
  return o.kind !== "kill" && o.kind !== "out-of-memory";
}

/** The permission an access needs. */
const NEEDS: Record<FaultAccess, MemoryFlags> = { read: F.READ, write: F.WRITE, execute: F.EXECUTE };
const PREPOSITION: Record<FaultAccess, string> = { read: "read from", write: "write to", execute: "execute at" };
const DENIED: Record<FaultAccess, KillReason> = { read: "read-protected", write: "write-to-readonly", execute: "exec-non-executable" };

/**
 * Handles one page fault of the process owning `mm` (see the module comment for the decision).
 * Counts the outcome in `mm.stats`. Throws KernelPanic for a reserved-bit fault (corrupt page
 * tables) or a PTE that contradicts its area (a kernel bug), naming the address and the entry.
 *
 * @example
 * ```ts
 * const o = handlePageFault(mm, { faultAddr: stval, instructionPtr: sepc, error: new PageFaultError({ access: "write", user: true }) });
 * if (!isResolved(o)) killProcess(139, o.report);
 * ```
 */
export function handlePageFault(mm: ProcessMemory, info: PageFaultInfo): FaultOutcome {
  const va = info.faultAddr;
  const access = info.error.access;
  if (info.error.reservedBitViolation()) {
    throw new KernelPanic(`page fault at ${hex(va)} (pc ${hex(info.instructionPtr)}): reserved bits set in a page-table entry: ${walkText(mm, va)}`);
  }
  if (va < 0n || va >= mm.userEnd) {
    return kill(mm, info, "kernel-address", mm.space.arch.isCanonical(va) ? "(kernel address)" : "(non-canonical address)");
  }
  const page = pageDown(va);
  const look = mm.vmas.lookup(va);
  if (look.kind === "none") return kill(mm, info, "unmapped", "(no mapping)");
  if (look.kind === "guard") return kill(mm, info, "guard-page", `in the guard page below ${describeVma(look.vma)}`);
  const vma = look.vma;
  if ((vma.flags & NEEDS[access]) === 0) return kill(mm, info, DENIED[access], `in ${describeVma(vma)}`);

  if (look.kind === "growth") {
    const frame = mm.allocatePage(page, pteFlags(vma.flags, false));
    if (frame === undefined) return outOfMemory(mm, info, vma);
    const grown = mm.vmas.growDown(vma, page);
    if (!grown.ok) throw new KernelPanic(`page fault at ${hex(va)}: ${grown.error.message}`);
    mm.stats.stackGrowth++;
    return { kind: "stack-growth", va: page, frame, vma: grown.value };
  }

  const present = mm.pageAt(page);
  if (present === undefined) {
    if (mm.parked.has(page)) {
      const frame = mm.parked.get(page)!;
      if (!mm.unpark(page, vma)) return outOfMemory(mm, info, vma);
      return { kind: "unpark", va: page, frame };
    }
    const frame = mm.allocatePage(page, pteFlags(vma.flags, false));
    if (frame === undefined) return outOfMemory(mm, info, vma);
    mm.stats.demandZero++;
    return { kind: "demand-zero", va: page, frame };
  }

  if ((present.flags & F.USER) !== 0 && (present.flags & NEEDS[access]) !== 0) {
    mm.tlb.flushPage(page, mm.space.asid);
    mm.stats.spurious++;
    return { kind: "spurious", va: page };
  }
  if (access !== "write" || (present.flags & F.COPY_ON_WRITE) === 0) {
    throw new KernelPanic(`page fault at ${hex(va)}: ${access} allowed by ${describeVma(vma)} but not by its entry: ${walkText(mm, va)}`);
  }
  if (mm.frames.refCount(present.pa) > 1) return cowCopy(mm, info, vma, present.pa);
  mm.reprotectPage(page, pteFlags(vma.flags, false));
  mm.stats.cowReuse++;
  return { kind: "cow-reuse", va: page, frame: present.pa };
}

/** {@link tryDemandZero}: not the common case; nothing was done (call {@link handlePageFault}). */
export const DEMAND_ZERO_DECLINED = -1;
/** {@link tryDemandZero}: no frame or page-table page was left; nothing was mapped (report with {@link demandZeroOutOfMemory}). */
export const DEMAND_ZERO_NO_MEMORY = -2;

/**
 * The common page fault, decided and handled by number: a user access at `va` (a number; any value
 * at or above the user half is declined) to a page with no entry, inside an area that allows the
 * access (not a stack's growth room), in a process with no parked frames. Maps a fresh zeroed frame
 * there as {@link handlePageFault} does for "demand-zero" (same allocations in the same order, same
 * PTE), counts it in `mm.stats.demandZero`, and returns the frame, without a bigint or an allocation
 * on the way. It fences lazily (see AddressSpace.mapPageNow): a hart that had cached the invalid
 * entry faults again, and that fault is handled as "spurious". Every other fault is {@link DEMAND_ZERO_DECLINED}, having
 * changed nothing; running out of memory is {@link DEMAND_ZERO_NO_MEMORY}.
 *
 * @example
 * ```ts
 * const frame = tryDemandZero(mm, stvalNumber, "write");
 * if (frame === DEMAND_ZERO_DECLINED) outcome = handlePageFault(mm, info);
 * ```
 */
export function tryDemandZero(mm: ProcessMemory, va: number, access: FaultAccess): number {
  if (!(va >= 0 && va < mm.userEndNumber) || mm.parked.size !== 0) return DEMAND_ZERO_DECLINED;
  const page = va - (va & 4095); // va is an integer below 2^53 here: its low 12 bits survive ToInt32
  const vma = mm.vmas.findNumber(page);
  if (vma === undefined || (vma.flags & NEEDS[access]) === 0) return DEMAND_ZERO_DECLINED;
  if (mm.space.probePage(page) !== 0) return DEMAND_ZERO_DECLINED;
  const frame = mm.frames.allocateFrame(mm.owner);
  if (frame === undefined) return DEMAND_ZERO_NO_MEMORY;
  if (!mm.space.mapPageNow(page, frame, pteFlags(vma.flags, false))) {
    mm.frames.freeFrame(frame);
    return DEMAND_ZERO_NO_MEMORY;
  }
  mm.stats.demandZero++;
  return frame;
}

/**
 * The "out-of-memory" outcome {@link handlePageFault} gives when a demand-zero fault finds no
 * memory, for a fault {@link tryDemandZero} answered with {@link DEMAND_ZERO_NO_MEMORY} (counted in
 * `mm.stats.outOfMemory`). Throws KernelPanic if `info.faultAddr` is in no area (tryDemandZero found one).
 */
export function demandZeroOutOfMemory(mm: ProcessMemory, info: PageFaultInfo): FaultOutcome {
  const vma = mm.vmas.find(info.faultAddr);
  if (vma === undefined) throw new KernelPanic(`page fault at ${hex(info.faultAddr)}: out of memory outside every area`);
  return outOfMemory(mm, info, vma);
}

/** Copies the shared frame `from` into a private one mapped writable at the faulting page. */
function cowCopy(mm: ProcessMemory, info: PageFaultInfo, vma: Vma, from: number): FaultOutcome {
  const page = pageDown(info.faultAddr);
  const frame = mm.frames.allocateFrame(mm.owner);
  if (frame === undefined) return outOfMemory(mm, info, vma);
  mm.mem.copy(frame, from, 4096);
  // One entry write swaps in the private copy; the page is flushed before the shared frame's
  // reference is dropped, so no hart can still write through the old translation.
  mm.replacePage(page, frame, pteFlags(vma.flags, false));
  mm.frames.freeFrame(from);
  mm.stats.cowCopy++;
  return { kind: "cow-copy", va: page, from, frame };
}

/** "segfault: write to 0x10008 in text [0x10000, 0x11000) r-x, pc 0x100b0", counted. */
function kill(mm: ProcessMemory, info: PageFaultInfo, reason: KillReason, where: string): FaultOutcome {
  if (info.error.userMode()) mm.stats.protectionKill++;
  else mm.stats.userAccessFailed++;
  const access = info.error.access;
  const report = `segfault: ${PREPOSITION[access]} ${hex(info.faultAddr)} ${where}, pc ${hex(info.instructionPtr)}`;
  return { kind: "kill", reason, access, report };
}

function outOfMemory(mm: ProcessMemory, info: PageFaultInfo, vma: Vma): FaultOutcome {
  mm.stats.outOfMemory++;
  const access = info.error.access;
  return { kind: "out-of-memory", access, report: `out of memory: ${PREPOSITION[access]} ${hex(info.faultAddr)} in ${describeVma(vma)}, pc ${hex(info.instructionPtr)}` };
}

/** The walk of `va` as "L2 0x… → L1 0x… → L0 0x…", for panic messages. */
function walkText(mm: ProcessMemory, va: bigint): string {
  return mm.space.walkPageTable(va).map((s) => `L${s.level} ${hex(s.pte)}`).join(" → ");
}
