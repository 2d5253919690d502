/**
 * The kernel's TLB maintenance on AArch64, as a TlbControl over the PE's TLBI: the local forms
 * (`TLBI VAE1`, `ASIDE1`, `VMALLE1`: this PE's TLB only) for the kernel's own TLB, and the Inner
 * Shareable forms (`TLBI VAE1IS`, `ASIDE1IS`, `VMALLE1IS`: every PE's TLB, complete at the issuing
 * PE's `DSB ISH`) for a change other CPUs may cache (kernel/mm/shootdown.ts, kind "broadcast").
 * Arm64Cpu.tlbi brackets each with the barriers the architecture asks for (DSB before, so the
 * descriptor write is seen by the walkers; DSB + ISB after, so the invalidation is complete and
 * later instructions translate afresh).
 * @spec Arm ARM (DDI 0487) D8.17 "TLB maintenance instructions" (the IS forms affect every PE in the
 *   Inner Shareable domain; the others only the executing PE), D8.17.2 "Ordering and completion of
 *   TLB maintenance instructions" (a TLBI is complete only after a DSB by the PE that issued it,
 *   over the domain of the operation: ISH for the IS forms, NSH suffices for the local ones)
 */
import type { TlbControl } from "../../hal.js";
import type { Arm64Cpu } from "./cpu.js";

/** TLBI operand: ASID in Xt[63:48], VA[55:12] in Xt[43:0]. @spec Arm ARM D8.17 "TLBI VAE1IS" */
export function tlbiOperand(va: bigint | undefined, asid: number): bigint {
  const page = va === undefined ? 0n : (BigInt.asUintN(64, va) >> 12n) & ((1n << 44n) - 1n);
  return (BigInt(asid & 0xffff) << 48n) | page;
}

/** TLB maintenance on this PE only (`shareable` false) or on every PE of the Inner Shareable domain. */
export function arm64Tlb(cpu: Arm64Cpu, shareable: boolean): TlbControl {
  const [va, asidOp, all] = shareable ? (["VAE1IS", "ASIDE1IS", "VMALLE1IS"] as const) : (["VAE1", "ASIDE1", "VMALLE1"] as const);
  return {
    flushPage: (v, asid) => cpu.tlbi(va, tlbiOperand(v, asid)),
    flushPageNumber: (v, asid) => cpu.tlbi(va, tlbiOperand(BigInt(v), asid)),
    flushAsid: (asid) => cpu.tlbi(asidOp, tlbiOperand(undefined, asid)),
    flushAll: () => cpu.tlbi(all, 0n),
  };
}
