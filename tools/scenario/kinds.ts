/**
 * Neutral trap kinds: the names scenarios use for exceptions, and one classifier per architecture
 * that names a trap of the trace by them. A scenario written with kinds (and neutral privileges:
 * "U" for user mode, "S" for the kernel) runs unchanged on every architecture listed here; a
 * scenario that gives a raw `cause` is tied to one architecture.
 */
import { CAUSE } from "../../emulator/arch/riscv64/defs.js";
import type { TrapTraceEvent } from "../../emulator/core/trace.js";

/** Architecture-neutral names of synchronous exceptions. */
export const TRAP_KINDS = [
  "instruction-misaligned", "instruction-access-fault", "illegal-instruction", "breakpoint",
  "load-misaligned", "load-access-fault", "store-misaligned", "store-access-fault",
  "ecall-user", "ecall-supervisor", "ecall-machine",
  "instruction-page-fault", "load-page-fault", "store-page-fault",
] as const;

export type TrapKind = (typeof TRAP_KINDS)[number];

/** Architectures a scenario may name (one runner each, tools/scenario/run.ts). */
export const ARCHES = ["riscv64", "arm64", "x86_64"] as const;
export type Arch = (typeof ARCHES)[number];

/** RISC-V: the kind is the cause (scause/mcause with the Interrupt bit clear; AMOs and SC fault as stores). */
const RISCV_CAUSES: Readonly<Record<TrapKind, number>> = {
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
};

/**
 * Arm: the kind follows from ESR_EL1 (the trace's `syndrome`): EC, WnR (ISS bit 6) and the DFSC/IFSC.
 * Translation, access-flag and permission faults are "page faults"; external aborts are "access
 * faults"; an Alignment fault is "misaligned"; SVC from EL0 is "ecall-user", from EL1 "ecall-supervisor".
 * @spec Arm ARM D19.2 ESR_EL1; ARCH-SPEC §3.7
 */
function arm64Kind(t: TrapTraceEvent): TrapKind | undefined {
  const esr = Number(BigInt(t.syndrome ?? "0") & 0xffff_ffffn);
  const ec = esr >>> 26, fsc = esr & 0x3f, write = (esr & (1 << 6)) !== 0;
  const mmu = fsc >= 0x04 && fsc <= 0x0f, external = fsc === 0x10 || (fsc >= 0x14 && fsc <= 0x17), align = fsc === 0x21;
  switch (ec) {
    case 0x00: return "illegal-instruction";
    case 0x15: return t.from === "EL0" ? "ecall-user" : "ecall-supervisor";
    case 0x3c: return "breakpoint";
    case 0x22: return "instruction-misaligned";
    case 0x20: case 0x21: return mmu ? "instruction-page-fault" : external ? "instruction-access-fault" : undefined;
    case 0x24: case 0x25:
      if (mmu) return write ? "store-page-fault" : "load-page-fault";
      if (external) return write ? "store-access-fault" : "load-access-fault";
      if (align) return write ? "store-misaligned" : "load-misaligned";
      return undefined;
    default: return undefined;
  }
}

/**
 * x86_64: the kind follows from the vector and, for #PF, the error code (the trace's `syndrome`):
 * W/R says store or load, I/D an instruction fetch. System calls (SYSCALL) are not exceptions and
 * never appear as traps. @spec Intel SDM Vol. 3A §6.15 (#UD, #BP, #PF), §4.7 (#PF error code)
 */
function x86Kind(t: TrapTraceEvent): TrapKind | undefined {
  const ec = Number(BigInt(t.syndrome ?? "0") & 0xffffn);
  switch (t.cause) {
    case 6: return "illegal-instruction";
    case 3: return "breakpoint";
    case 14: return (ec & 16) !== 0 ? "instruction-page-fault" : (ec & 2) !== 0 ? "store-page-fault" : "load-page-fault";
    default: return undefined;
  }
}

/** The neutral privilege names ("U", "S", "M") as each architecture's trace writes them. */
const PRIVILEGES: Readonly<Record<Arch, Readonly<Record<string, string>>>> = {
  riscv64: { U: "U", S: "S", M: "M" },
  arm64: { U: "EL0", S: "EL1", M: "EL3" },
  x86_64: { U: "cpl3", S: "cpl0", M: "smm" },
};

/** True when `s` is one of {@link TRAP_KINDS}. */
export function isTrapKind(s: string): s is TrapKind {
  return (TRAP_KINDS as readonly string[]).includes(s);
}

/** The kind of trap `t` (a synchronous exception) on `arch`, or undefined when it has none. */
export function kindOf(arch: Arch, t: TrapTraceEvent): TrapKind | undefined {
  if (t.interrupt) return undefined;
  if (arch === "arm64") return arm64Kind(t);
  if (arch === "x86_64") return x86Kind(t);
  return TRAP_KINDS.find((k) => RISCV_CAUSES[k] === t.cause);
}

/** The trace's name for neutral privilege `p` ("U", "S", "M") on `arch`. */
export function privilegeOf(arch: Arch, p: string): string {
  return PRIVILEGES[arch][p] ?? p;
}
