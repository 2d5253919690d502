/**
 * A64 integer semantics, each row an architectural fact: the flags AddWithCarry produces for
 * ADDS/SUBS/ADCS/SBCS (64 and 32 bits), ANDS, and CCMP/CCMN with the condition met or not.
 * @spec Arm ARM (DDI 0487) J1 AddWithCarry, ConditionHolds; C6 ADDS/SUBS/ADCS/SBCS/ANDS/CCMP/CCMN
 */
import { describe, expect, it } from "vitest";
import { A64, machineWith, step } from "./fixtures/arm64/harness.js";
import { decodeInto, DecodedPage, logicalImmediate, Op } from "../emulator/arch/arm64/decode.js";

const N = 8, Z = 4, C = 2, V = 1;
const M64 = (1n << 64n) - 1n;
const MAX = 0x7fffffffffffffffn, MIN = 0x8000000000000000n;

/** Runs one instruction with x1 = a, x2 = b and the given NZCV; returns x0 and NZCV (as 4 bits). */
function run1(word: number, a: bigint, b: bigint, nzcv = 0): { x0: bigint; f: number } {
  const { c } = machineWith([word]);
  c.setX(1, a & M64);
  c.setX(2, b & M64);
  c.nzcv = (nzcv << 28) | 0;
  step(c);
  return { x0: c.x(0), f: c.nzcv >>> 28 };
}

describe("flag-setting add and subtract (AddWithCarry)", () => {
  const rows: [string, number, bigint, bigint, number, bigint, number][] = [
    // name, word, a, b, NZCV in, result, NZCV out
    ["ADDS 1+1", A64.ADDS(0, 1, 2), 1n, 1n, 0, 2n, 0],
    ["ADDS signed overflow MAX+1", A64.ADDS(0, 1, 2), MAX, 1n, 0, MIN, N | V],
    ["ADDS unsigned carry -1+1", A64.ADDS(0, 1, 2), M64, 1n, 0, 0n, Z | C],
    ["ADDS MIN+MIN: carry and overflow", A64.ADDS(0, 1, 2), MIN, MIN, 0, 0n, Z | C | V],
    ["SUBS equal: Z and C (no borrow)", A64.SUBS(0, 1, 2), 5n, 5n, 0, 0n, Z | C],
    ["SUBS 0-1: borrow, negative", A64.SUBS(0, 1, 2), 0n, 1n, 0, M64, N],
    ["SUBS MIN-1: overflow", A64.SUBS(0, 1, 2), MIN, 1n, 0, MAX, C | V],
    ["SUBS 1-MIN: overflow, borrow", A64.SUBS(0, 1, 2), 1n, MIN, 0, MIN + 1n, N | V],
    ["ADDSW 0x80000000+0x80000000", A64.ADDSW(0, 1, 2), 0x80000000n, 0x80000000n, 0, 0n, Z | C | V],
    ["ADDSW ignores the high words", A64.ADDSW(0, 1, 2), 0xffffffff00000001n, 0x1_00000001n, 0, 2n, 0],
    ["SUBSW 0x7fffffff-(-1): overflow", A64.SUBSW(0, 1, 2), 0x7fffffffn, 0xffffffffn, 0, 0x80000000n, N | V],
    ["SUBSW result zero-extends", A64.SUBSW(0, 1, 2), 0n, 1n, 0, 0xffffffffn, N],
    ["ADCS carry in", A64.ADCS(0, 1, 2), 1n, 1n, C, 3n, 0],
    ["ADCS -1+0+1 carries out", A64.ADCS(0, 1, 2), M64, 0n, C, 0n, Z | C],
    ["ADCS MAX+0+1 overflows", A64.ADCS(0, 1, 2), MAX, 0n, C, MIN, N | V],
    ["SBCS with C clear subtracts one more", A64.SBCS(0, 1, 2), 5n, 5n, 0, M64, N],
    ["SBCS with C set is SUBS", A64.SBCS(0, 1, 2), 5n, 5n, C, 0n, Z | C],
    ["ADCSW carry into bit 32 is dropped", A64.ADCSW(0, 1, 2), 0xffffffffn, 0n, C, 0n, Z | C],
    ["SBCSW 0-0-1", A64.SBCSW(0, 1, 2), 0n, 0n, 0, 0xffffffffn, N],
  ];
  it.each(rows)("%s", (_name, word, a, b, fin, result, fout) => {
    const r = run1(word, a, b, fin);
    expect(r.x0).toBe(result);
    expect(r.f).toBe(fout);
  });
});

describe("ANDS sets N and Z from the result and clears C and V", () => {
  it.each([
    ["64-bit negative", A64.ANDS(0, 1, 2), MIN | 5n, MIN, N | C | V, MIN, N],
    ["64-bit zero", A64.ANDS(0, 1, 2), 0xf0n, 0x0fn, C | V, 0n, Z],
    ["32-bit: N from bit 31", A64.ANDSW(0, 1, 2), 0x80000000n, 0xffffffff80000000n, 0, 0x80000000n, N],
  ] as [string, number, bigint, bigint, number, bigint, number][])("%s", (_n, word, a, b, fin, result, fout) => {
    const r = run1(word, a, b, fin);
    expect(r.x0).toBe(result);
    expect(r.f).toBe(fout);
  });
});

describe("CCMP/CCMN: flags of the comparison when the condition holds, else the immediate NZCV", () => {
  const EQ = 0, NE = 1;
  it.each([
    ["CCMP EQ held: 3-3", A64.CCMP(1, 2, 0b0000, EQ), 3n, 3n, Z, Z | C],
    ["CCMP EQ failed: nzcv immediate", A64.CCMP(1, 2, 0b1010, EQ), 3n, 3n, 0, N | C],
    ["CCMP NE held: 0-1", A64.CCMP(1, 2, 0b1111, NE), 0n, 1n, 0, N],
    ["CCMN EQ held: -1+1", A64.CCMN(1, 2, 0b0000, EQ), M64, 1n, Z, Z | C],
    ["CCMP immediate: 5-5", A64.CCMPI(1, 5, 0b0000, EQ), 5n, 0n, Z, Z | C],
  ] as [string, number, bigint, bigint, number, number][])("%s", (_n, word, a, b, fin, fout) => {
    expect(run1(word, a, b, fin).f).toBe(fout);
  });
});

describe("decoding", () => {
  it("an unallocated word decodes to UNKNOWN (an exception with EC 0, never a host error)", () => {
    const p = new DecodedPage();
    for (const w of [0x00000000, 0xffffffff, 0x1e200000 /* FP: not implemented */, 0xd4400000 /* HLT */]) {
      expect(decodeInto(p, 0, w | 0)).toBe(Op.UNKNOWN);
    }
  });
  it("logical immediates follow DecodeBitMasks; the reserved all-ones element is rejected", () => {
    expect(logicalImmediate(1, 0b000000, 0, true)).toEqual([1, 0]);
    expect(logicalImmediate(0, 0b111100, 0, true)).toEqual([0x55555555, 0x55555555]);
    expect(logicalImmediate(0, 0b100111, 4, true)).toEqual([0xf00ff00f | 0, 0xf00ff00f | 0]);
    expect(logicalImmediate(1, 0b111111, 0, true)).toBeUndefined();
    expect(logicalImmediate(1, 0b000000, 0, false)).toBeUndefined();
  });
  it("writes to XZR are discarded and reads of register 31 in data processing give zero", () => {
    const { c } = machineWith([A64.ADDS(31, 1, 2), A64.ADDS(0, 31, 31)]);
    c.setX(1, 5n);
    c.setX(2, 6n);
    step(c, 2);
    expect(c.x(0)).toBe(0n);
    expect(c.x(31)).toBe(0n);
  });
});
