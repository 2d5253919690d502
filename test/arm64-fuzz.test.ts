/**
 * Robustness: whatever words the guest executes, at EL1 or EL0, the core never throws or hangs the
 * host. Pseudo-random words (fixed seeds) from every encoding space run on random register values
 * with every vector pointing at a native entry that skips the faulting instruction; each run must
 * end with a RunResult. Unallocated words must be UNDEFINED (EC 0), never a host error.
 */
import { describe, expect, it } from "vitest";
import { CODE, machineWith, msr, put } from "./fixtures/arm64/harness.js";
import { REG } from "../emulator/arch/arm64/sysregs.js";
import { DecodedPage, decodeInto, Op } from "../emulator/arch/arm64/decode.js";

function rng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    return s >>> 0;
  };
}

const VBAR = 0x40200000;

describe("random instruction words", () => {
  it("the decoder accepts every 32-bit pattern of a large sample without throwing", () => {
    const next = rng(12345);
    const p = new DecodedPage();
    let undecoded = 0;
    for (let k = 0; k < 200_000; k++) if (decodeInto(p, k & 1023, next() | 0) === Op.NONE) undecoded++;
    expect(undecoded).toBe(0);
  });

  it.each([1, 2, 3, 4])("seed %i: random words at EL1 and EL0 end in a RunResult", (seed) => {
    const next = rng(seed * 7919);
    const words = Array.from({ length: 4096 }, () => next());
    const { v, c } = machineWith(words);
    for (let i = 0; i < 31; i++) c.setX(i, BigInt(next()) << BigInt(next() % 33) | BigInt(next()));
    c.setX(32, 0x40100000n);
    const skip = (): void => {
      c.elrLo = (c.elrLo + 4) | 0;
      c.eret();
    };
    put(v, VBAR, []);
    for (let off = 0; off < 0x800; off += 0x80) c.registerNative(VBAR + off, skip);
    msr(c, REG.VBAR_EL1, BigInt(VBAR));
    if (seed % 2 === 0) {
      // Start at EL0.
      msr(c, REG.SPSR_EL1, 0n);
      msr(c, REG.ELR_EL1, BigInt(CODE));
      c.eret();
    }
    const r = v.machine.run({ maxInsns: 100_000 });
    expect(["pass", "fail", "reset", "max-insns", "wfi-hang", "trap-loop"]).toContain(r.reason);
  });
});
