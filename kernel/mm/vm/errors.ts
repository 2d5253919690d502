/**
 * Why an address-space operation refused. Every variant carries the offending value and a one-line
 * `message` naming it; the operation changed nothing when it returns one of these.
 */
import type { MemoryFlags } from "../flags.js";

export type VmError =
  /** Part of the range is already mapped (by a leaf at `level`, or by a table holding mappings). */
  | { readonly kind: "AlreadyMapped"; readonly va: bigint; readonly level: number; readonly message: string }
  /** `virt`, `phys` or `size` is not a multiple of the base page (or `size` is not positive). */
  | { readonly kind: "Misaligned"; readonly what: "virt" | "phys" | "size"; readonly value: bigint; readonly message: string }
  /** The FrameSource ran dry while `needed` page-table pages were required. */
  | { readonly kind: "OutOfFrames"; readonly needed: number; readonly message: string }
  /** The flags fail `validateFlags` for this page-table format. */
  | { readonly kind: "InvalidFlags"; readonly flags: MemoryFlags; readonly message: string }
  /** The range leaves the canonical user or kernel half (or wraps past 2^64). */
  | { readonly kind: "NonCanonical"; readonly va: bigint; readonly message: string }
  /** The physical range reaches beyond the architecture's physical-address width. */
  | { readonly kind: "PhysOutOfRange"; readonly pa: bigint; readonly message: string }
  /** The range covers only part of the superpage at `va` (splitting is not implemented). */
  | { readonly kind: "SplitRequired"; readonly va: bigint; readonly level: number; readonly message: string }
  /** `protect` found no mapping at `va`. */
  | { readonly kind: "NotMapped"; readonly va: bigint; readonly message: string };

/** The kinds of {@link VmError}. */
export type VmErrorKind = VmError["kind"];

/** Errors `map` returns. */
export type MapError = Extract<VmError, { kind: "AlreadyMapped" | "Misaligned" | "OutOfFrames" | "InvalidFlags" | "NonCanonical" | "PhysOutOfRange" }>;
/** Errors `unmap` returns. */
export type UnmapError = Extract<VmError, { kind: "Misaligned" | "NonCanonical" | "SplitRequired" }>;
/** Errors `protect` returns. */
export type ProtectError = Extract<VmError, { kind: "Misaligned" | "NonCanonical" | "SplitRequired" | "NotMapped" | "InvalidFlags" }>;
