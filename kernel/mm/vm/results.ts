/**
 * Options and results of {@link AddressSpace} operations. Every refusal is a result, never a throw;
 * see errors.ts for the error kinds.
 */
import type { PhysMemory } from "../../hal.js";
import type { MemoryFlags } from "../flags.js";
import type { FrameSource } from "../frames.js";
import type { AddressSpace } from "./address-space.js";
import type { ArchPaging, DecodedPte } from "./arch.js";
import type { MapError, ProtectError, UnmapError, VmError } from "./errors.js";
import type { FLUSH_CEILING, TlbFlush } from "./flush.js";

/** How to build an {@link AddressSpace}. */
export interface AddressSpaceOptions {
  readonly arch: ArchPaging;
  readonly mem: PhysMemory;
  readonly frames: FrameSource;
  /** Address-space identifier written to the root register and used by flushes. Default 0. */
  readonly asid?: number;
  /** Track unsettled flush tokens for {@link AddressSpace.pendingFlushes}. Default true. */
  readonly debug?: boolean;
  /** Per-page flushes up to this many leaves, one ASID-wide flush above. Default {@link FLUSH_CEILING}. */
  readonly flushCeiling?: number;
}

export type CreateResult =
  | { readonly ok: true; readonly space: AddressSpace }
  | { readonly ok: false; readonly error: Extract<VmError, { kind: "OutOfFrames" }> };

export interface MapOptions {
  /** Accept WRITE+EXECUTE. Default false. */
  readonly allowWX?: boolean;
}

export type MapResult =
  | { readonly ok: true; readonly flush: TlbFlush; /** Leaves installed, by level. */ readonly leaves: readonly number[] }
  | { readonly ok: false; readonly error: MapError };

export interface UnmapOptions {
  /**
   * Return every 4 KiB frame of the removed leaves to the FrameSource when the flush token is
   * settled. Default false: the frames are listed in the result and stay the caller's (who must not
   * reuse them before settling the token either).
   */
  readonly freeFrames?: boolean;
}

/** The physical memory one removed leaf mapped. */
export interface LeafFrame {
  readonly va: bigint;
  readonly pa: bigint;
  readonly size: bigint;
}

export type UnmapResult =
  | {
    readonly ok: true;
    readonly flush: TlbFlush;
    /** Leaves removed (empty when `freeFrames`: they are freed with the token instead). */
    readonly frames: readonly LeafFrame[];
    readonly unmapped: number;
    /** Page-table pages unhooked (freed when the token is settled). */
    readonly tablesFreed: number;
  }
  | { readonly ok: false; readonly error: UnmapError };

export type ProtectResult =
  | { readonly ok: true; readonly flush: TlbFlush; /** Leaves whose entry changed. */ readonly changed: number }
  | { readonly ok: false; readonly error: ProtectError };

export interface DestroyResult {
  readonly flush: TlbFlush;
  /** Leaves still mapped at destruction (empty when `freeFrames`). */
  readonly frames: readonly LeafFrame[];
  /** Page-table pages released, the root included. */
  readonly tablesFreed: number;
}

/** Where a VA translates to. */
export interface Translation {
  readonly pa: bigint;
  readonly flags: MemoryFlags;
  /** Level of the leaf: 0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB. */
  readonly level: number;
}

/** One entry read by {@link AddressSpace.walkPageTable}. */
export interface WalkStep {
  readonly level: number;
  /** Index of the entry in its table. */
  readonly index: number;
  /** Physical address of the entry. */
  readonly pteAddr: number;
  readonly pte: bigint;
  readonly decoded: DecodedPte;
}
