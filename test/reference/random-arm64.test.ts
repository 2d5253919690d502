/**
 * Random differential check of the data-processing instructions: 4000 pseudo-random words drawn
 * from the A64 "data processing (immediate)" and "data processing (register)" encoding spaces
 * (allocated or not), on random register values, run in lockstep with qemu-system-aarch64
 * (`-d cpu,nochain`, one instruction per block). Unallocated words must be UNDEFINED on both; a
 * vector skips them. Fixed seed, so a failure names a reproducible step.
 * Skips (with a printed reason) when QEMU or the GNU toolchain is not installed.
 */
import { describe, expect, it } from "vitest";
import { assembleArm64, haveGnu, haveQemu, lockstep } from "../fixtures/arm64/support.js";

if (!haveQemu || !haveGnu) console.log("skipping the arm64 random lockstep test: qemu-system-aarch64 or aarch64-linux-gnu-as/ld is not installed");

/** xorshift32 with a fixed seed. */
function rng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    return s >>> 0;
  };
}

/** A random word in one of the two data-processing spaces; x28 (the vector's scratch) is never a destination. */
function randomWord(next: () => number): number {
  for (;;) {
    let w = next();
    w = next() & 1 ? ((w & ~0x1c000000) | 0x10000000) >>> 0 : ((w & ~0x0e000000) | 0x0a000000) >>> 0;
    // CRC32/CRC32C (Cortex-A57 has FEAT_CRC32, MultiOS does not implement it): draw again.
    if (((w >>> 21) & 0xff) === 0xd6 && ((w >>> 30) & 1) === 0 && ((w >>> 13) & 7) === 2) continue;
    if ((w & 31) === 28) w = (w & ~31) | 27;
    return w >>> 0;
  }
}

function program(seed: number, count: number): string {
  const next = rng(seed);
  const specials = [0n, 1n, 0xffffffffffffffffn, 0x8000000000000000n, 0x7fffffffffffffffn, 0x80000000n, 0xffffffffn, 0x7fffffffn];
  const values: bigint[] = [];
  for (let i = 0; i < 31; i++) {
    const r = next() % 4;
    values.push(r === 0 ? specials[next() % specials.length]! : (BigInt(next()) << 32n) | BigInt(next()));
  }
  const lines = [
    "        .section .text.start", "        .global _start",
    "_start: adr     x28, vectors", "        msr     vbar_el1, x28", "        isb", "        adr     x28, values",
  ];
  for (let i = 0; i < 31; i++) if (i !== 28) lines.push(`        ldr     x${i}, [x28, #${i * 8}]`);
  for (let i = 0; i < count; i++) lines.push(`        .word   0x${randomWord(next).toString(16)}`);
  lines.push("        b       poweroff", "        .balign 8", "values:");
  for (const v of values) lines.push(`        .quad   0x${v.toString(16)}`);
  lines.push("        .balign 2048", "vectors:", "        .skip   0x200",
    "        mrs     x28, elr_el1", "        add     x28, x28, #4", "        msr     elr_el1, x28", "        eret");
  return lines.join("\n") + "\n";
}

describe.skipIf(!haveQemu || !haveGnu)("random data-processing words in lockstep with QEMU", () => {
  it.each([1, 2])("seed %i: every step agrees", (seed) => {
    const { path, elf } = assembleArm64(`random-${seed}`, program(0x9e3779b9 ^ seed, 4000));
    expect(lockstep(path, elf)).toBeGreaterThan(4000);
  });
});
