/**
 * Neutral trap kinds: the names scenarios use for exceptions, and the one table that maps them to
 * each architecture's encoding. A scenario written with kinds runs unchanged on every architecture
 * that has a row here; a scenario that gives a raw `cause` is tied to one architecture.
 */
import { CAUSE } from "../../emulator/arch/riscv64/defs.js";

/** Architecture-neutral names of synchronous exceptions. */
export const TRAP_KINDS = [
  "instruction-misaligned", "instruction-access-fault", "illegal-instruction", "breakpoint",
  "load-misaligned", "load-access-fault", "store-misaligned", "store-access-fault",
  "ecall-user", "ecall-supervisor", "ecall-machine",
  "instruction-page-fault", "load-page-fault", "store-page-fault",
] as const;

export type TrapKind = (typeof TRAP_KINDS)[number];

/** Architectures a scenario may name (one runner each, tools/scenario/run.ts). */
export const ARCHES = ["riscv64"] as const;
export type Arch = (typeof ARCHES)[number];

/**
 * Exception code per kind and architecture (RISC-V: scause/mcause with the Interrupt bit clear;
 * AMOs and SC fault as stores). An arm64 row will map to ESR_EL1.EC (plus the access bit WnR),
 * an x86_64 row to the vector (plus the error code's W/U/I bits), so kinds stay the vocabulary.
 */
export const TRAP_CAUSES: Readonly<Record<Arch, Readonly<Record<TrapKind, number>>>> = {
  riscv64: {
    "instruction-misaligned": CAUSE.INSN_MISALIGNED,
    "instruction-access-fault": CAUSE.INSN_ACCESS,
    "illegal-instruction": CAUSE.ILLEGAL,
    "breakpoint": CAUSE.BREAKPOINT,
    "load-misaligned": CAUSE.LOAD_MISALIGNED,
    "load-access-fault": CAUSE.LOAD_ACCESS,
    "store-misaligned": CAUSE.STORE_MISALIGNED,
    "store-access-fault": CAUSE.STORE_ACCESS,
    "ecall-user": CAUSE.ECALL_U,
    "ecall-supervisor": CAUSE.ECALL_S,
    "ecall-machine": CAUSE.ECALL_M,
    "instruction-page-fault": CAUSE.INSN_PAGE,
    "load-page-fault": CAUSE.LOAD_PAGE,
    "store-page-fault": CAUSE.STORE_PAGE,
  },
};

/** True when `s` is one of {@link TRAP_KINDS}. */
export function isTrapKind(s: string): s is TrapKind {
  return (TRAP_KINDS as readonly string[]).includes(s);
}

/** The exception code of `kind` on `arch`. */
export function causeOf(arch: Arch, kind: TrapKind): number {
  return TRAP_CAUSES[arch][kind];
}

/** The kind of exception code `cause` on `arch`, or undefined when the table has none. */
export function kindOf(arch: Arch, cause: number): TrapKind | undefined {
  const row = TRAP_CAUSES[arch];
  return TRAP_KINDS.find((k) => row[k] === cause);
}
