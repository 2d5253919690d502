/**
 * Shared set-up for the process-memory tests: a FakeHal, a reference-counted frame fake, and
 * ProcessMemory objects over Sv39 address spaces, plus small helpers to fault and to read memory
 * through an address space.
 */
import { RISCV_SV39 } from "../../kernel/arch/riscv64/paging.js";
import { handlePageFault, type FaultOutcome } from "../../kernel/mm/fault.js";
import { type FaultAccess, PageFaultError } from "../../kernel/mm/fault-info.js";
import { MemoryFlags } from "../../kernel/mm/flags.js";
import { ProcessMemory, pteFlags } from "../../kernel/mm/process-memory.js";
import { PAGE, type Vma } from "../../kernel/mm/vma.js";
import { AddressSpace } from "../../kernel/mm/vm/index.js";
import { FakeHal } from "./fake-hal.js";
import { FakeSharedFrames } from "./shared-frames.js";

export interface ProcEnv {
  hal: FakeHal;
  frames: FakeSharedFrames;
  mm: ProcessMemory;
}

/** A fresh address space with `asid` over the env's RAM and frames. */
export function newSpace(hal: FakeHal, frames: FakeSharedFrames, asid: number): AddressSpace {
  const r = AddressSpace.create({ arch: RISCV_SV39, mem: hal, frames, asid });
  if (!r.ok) throw new Error(r.error.message);
  return r.space;
}

export function procEnv(frameCount = 4096): ProcEnv {
  const hal = new FakeHal();
  const frames = new FakeSharedFrames(hal, 0x8100_0000, frameCount);
  const mm = new ProcessMemory({ space: newSpace(hal, frames, 1), frames, mem: hal, tlb: hal.tlb, owner: "proc 1" });
  return { hal, frames, mm };
}

/** Runs the fault handler for one access. */
export function fault(mm: ProcessMemory, va: bigint, access: FaultAccess, user = true, pc = 0x100b0n): FaultOutcome {
  return handlePageFault(mm, { faultAddr: va, instructionPtr: pc, error: new PageFaultError({ access, user }) });
}

/** `len` bytes at `va`, read through `mm`'s page table (fails when unmapped). */
export function peek(env: { hal: FakeHal }, mm: ProcessMemory, va: bigint, len: number): Uint8Array {
  const t = mm.space.translate(va);
  if (t === undefined) throw new Error(`peek: 0x${va.toString(16)} is not mapped`);
  return env.hal.readBytes(Number(t.pa), len);
}

/** The 64-bit word at `va`, read through `mm`'s page table. */
export function peek64(env: { hal: FakeHal }, mm: ProcessMemory, va: bigint): bigint {
  const t = mm.space.translate(va);
  if (t === undefined) throw new Error(`peek64: 0x${va.toString(16)} is not mapped`);
  return env.hal.read64(Number(t.pa));
}

/** Writes `bytes` at `va` through the page table, ignoring permissions (a test's backdoor). */
export function poke(env: { hal: FakeHal }, mm: ProcessMemory, va: bigint, bytes: Uint8Array): void {
  const t = mm.space.translate(va);
  if (t === undefined) throw new Error(`poke: 0x${va.toString(16)} is not mapped`);
  env.hal.writeBytes(Number(t.pa), bytes);
}

/** Frames the env's process owns (data pages, not page tables). */
export function userFrames(env: ProcEnv, owner = "proc 1"): number {
  return env.frames.liveByOwner()[owner] ?? 0;
}

/** Where {@link anon} maps. */
export const ANON = 0x2000_0000n;

/** An anonymous mapping (MAP_FIXED) of `pages` pages at {@link ANON}, read-write by default. */
export function anon(env: ProcEnv, pages: number, prot = MemoryFlags.READ | MemoryFlags.WRITE): bigint {
  const r = env.mm.mapAnonymous(ANON, BigInt(pages) * PAGE, prot, { fixed: true });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

/** Inserts an area into `env.mm` and, when `present`, maps a fresh frame at every page of it. */
export function area(env: ProcEnv, v: Vma, present = true): void {
  const r = env.mm.vmas.insert(v);
  if (!r.ok) throw new Error(r.error.message);
  if (!present) return;
  for (let va = v.start; va < v.end; va += PAGE) {
    if (env.mm.allocatePage(va, pteFlags(v.flags, false)) === undefined) throw new Error("area: out of frames");
  }
}
