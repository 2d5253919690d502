/**
 * Mutations of a device-tree blob for the fuzz suites: big-endian u32 writes aimed at the header
 * and the 4-aligned words of the blocks (tokens, lengths, name offsets), bit flips, splices and
 * truncation. A mutation list is plain data, kept verbatim by regression tests.
 */
import fc from "fast-check";
import { buildRiscvVirtDtb } from "../../../boot/riscv64/virt-dtb.js";

/** The riscv64-virt tree as a machine with 128 MiB and two harts hands it to the firmware. */
export const VIRT_DTB = buildRiscvVirtDtb({
  ramBase: 0x8000_0000, ramSize: 128 << 20, harts: 2, isa: "rv64imac_zicsr_zifencei", mmuType: "riscv,sv48",
  timebaseHz: 10_000_000, bootargs: "console=ttyS0",
});

/** A big-endian u32 write, a bit flip, a splice or a truncation of a blob. */
export type FdtMutation =
  | { kind: "u32"; off: number; value: number }
  | { kind: "flip"; off: number; bit: number }
  | { kind: "splice"; off: number; bytes: number[] }
  | { kind: "truncate"; len: number };

/** `blob` with `mutations` applied in order (a copy). */
export function applyFdtMutations(blob: Uint8Array, mutations: readonly FdtMutation[]): Uint8Array {
  let out = blob.slice();
  for (const m of mutations) {
    if (m.kind === "u32") for (let i = 0; i < 4 && m.off + i < out.length; i++) out[m.off + i] = (m.value >>> (24 - 8 * i)) & 0xff;
    else if (m.kind === "flip") { if (m.off < out.length) out[m.off]! ^= 1 << m.bit; }
    else if (m.kind === "splice") out.set(m.bytes.slice(0, Math.max(0, out.length - m.off)), Math.min(m.off, out.length));
    else out = out.slice(0, m.len);
  }
  return out;
}

/** Mutations aimed at the header fields and the 4-aligned words of the blocks (tokens, lengths, name offsets). */
export function fdtMutationsArb(blob: Uint8Array): fc.Arbitrary<FdtMutation[]> {
  const len = blob.length;
  const h = new DataView(blob.buffer, blob.byteOffset, len);
  const header = Array.from({ length: 10 }, (_, i) => h.getUint32(4 * i));
  const interesting = [...new Set([
    0, 1, 2, 3, 4, 5, 8, 9, 16, 17, 18, 0x28, 63, 64, 65, 0xd00dfeed, 0x7fffffff, 0x80000000, 0xfffffffc, 0xffffffff,
    len, len - 1, len + 1, len + 4, ...header, ...header.map((v) => v + 4), ...header.map((v) => (v - 4) >>> 0),
  ].map((v) => v >>> 0))];
  const value = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...interesting) }, { weight: 1, arbitrary: fc.nat({ max: 0xffffffff }) });
  const offset = fc.oneof(fc.nat(9).map((i) => 4 * i), fc.nat(Math.floor(len / 4) - 1).map((i) => 4 * i));
  const mutation: fc.Arbitrary<FdtMutation> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant("u32" as const), off: offset, value }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("flip" as const), off: fc.nat(len - 1), bit: fc.nat(7) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("splice" as const), off: fc.nat(len - 1), bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 12 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("truncate" as const), len: fc.nat(len) }) },
  );
  return fc.array(mutation, { minLength: 1, maxLength: 4 });
}
