/**
 * A64 decoder fuzzing: random 32-bit words from every encoding space (op0, bits 28:25, drawn
 * evenly, so the reserved, SME/SVE and unallocated groups come up as often as loads and branches),
 * executed once at EL1 and at EL0. Each either retires, or takes a synchronous exception of a
 * class the core defines, with ELR_EL1 at the instruction (the next one for SVC); an UNDEFINED one
 * is EC 0 (Unknown reason) with ESR.IL = 1 and ISS 0, exactly when the decoder made it Op.UNKNOWN
 * (or an EL0 form of a system instruction only EL1 may use). Never a host exception.
 * @spec Arm ARM (DDI 0487) C4.1 "A64 instruction set encoding" (the op0 table); D19.2 ESR_EL1 (EC
 *       0b000000 "Unknown reason": IL = 1 for a 32-bit instruction, ISS RES0); D1.10.1 preferred
 *       return addresses
 *
 * With `llvm-mc` installed, LLVM's AArch64 disassembler is an independent legality oracle: MultiOS
 * implements a documented subset (docs/arm64.md: no FP/SIMD, SVE or most extensions), so the check
 * is one way — a word MultiOS executes at EL1 must be a valid instruction to LLVM.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DecodedPage, decodeInto, Op } from "../../emulator/arch/arm64/decode.js";
import { EC, ESR_IL, VECTOR } from "../../emulator/arch/arm64/defs.js";
import type { ExceptionEvent } from "../../emulator/arch/arm64/exceptions.js";
import { llvmInvalid, llvmMcMissing } from "./support/oracles.js";
import { fuzzParams, fuzzTimeout } from "./support/params.js";
import { ARM64_CODE, Arm64Stepper } from "./support/step-arm64.js";

/** Exception classes an instruction may raise itself (the others come from outside: IRQ, SError). */
const SYNC_CLASSES = new Set<number>([EC.UNKNOWN, EC.SVC64, EC.HVC64, EC.SMC64, EC.SYS64, EC.IABT_CUR, EC.IABT_LOW, EC.PC_ALIGN, EC.DABT_LOW, EC.DABT_CUR, EC.SP_ALIGN, EC.BRK64, EC.ILLEGAL_STATE]);
/** Classes whose preferred return address is the next instruction. */
const RETURN_NEXT = new Set<number>([EC.SVC64, EC.HVC64, EC.SMC64]);

/** A word: any, or one with op0 (bits 28:25) drawn evenly from its 16 values. */
const word = fc.oneof(
  fc.nat({ max: 0xffffffff }),
  fc.tuple(fc.nat({ max: 0xffffffff }), fc.nat(15)).map(([w, op0]) => ((w & ~(0xf << 25)) | (op0 << 25)) >>> 0),
  // The system-instruction space (MSR/MRS/SYS/HINT/barriers) and exception generation: privilege checks live there.
  fc.nat({ max: 0x3fffff }).map((w) => (0xd5000000 | (w & 0x3fffff)) >>> 0),
  fc.nat({ max: 0xffffff }).map((w) => (0xd4000000 | (w & 0xffffff)) >>> 0),
);

const describeEvent = (e: ExceptionEvent): string => `kind 0x${e.kind.toString(16)} esr 0x${e.esr.toString(16)} elr 0x${e.elr.toString(16)}`;

/** Checks one outcome; returns whether the word was UNDEFINED (EC 0). */
function checkOutcome(w: number, el: 0 | 1, e: ExceptionEvent | undefined): boolean {
  const where = `0x${w.toString(16).padStart(8, "0")} at EL${el}: ${e ? describeEvent(e) : "retired"}`;
  if (e === undefined) return false;
  expect(e.kind, where).toBe(VECTOR.SYNC);
  expect(e.from, where).toBe(el);
  const ec = e.esr >>> 26;
  expect(SYNC_CLASSES.has(ec), where).toBe(true);
  if (ec === EC.UNKNOWN) expect(e.esr >>> 0, where).toBe(ESR_IL);
  if (ec !== EC.PC_ALIGN && ec !== EC.IABT_CUR && ec !== EC.IABT_LOW && ec !== EC.ILLEGAL_STATE) {
    expect(e.elr, where).toBe(BigInt(ARM64_CODE + (RETURN_NEXT.has(ec) ? 4 : 0)));
  }
  return ec === EC.UNKNOWN;
}

describe("A64 instruction words (random, every encoding space)", () => {
  const s = new Arm64Stepper();
  const scratch = new DecodedPage();
  /** The words seen and whether each was UNDEFINED at EL1 (for the oracle). */
  const seen = new Map<number, boolean>();

  it("each retires or takes a defined synchronous exception at EL1 and EL0; UNDEFINED is EC 0 with IL and ELR at the word, exactly where the decoder says so", () => {
    let undefinedWords = 0;
    fc.assert(fc.property(word, (w) => {
      const op = decodeInto(scratch, 0, w | 0) & 0xff;
      const el1 = checkOutcome(w, 1, s.step(w, 1));
      const el0 = checkOutcome(w, 0, s.step(w, 0));
      // The decoder's verdict holds at both levels; EL0 may refuse more (system instructions), never less.
      if (op === Op.UNKNOWN) {
        expect(el1, `0x${w.toString(16)} decodes as UNKNOWN but executed at EL1`).toBe(true);
        expect(el0, `0x${w.toString(16)} decodes as UNKNOWN but executed at EL0`).toBe(true);
      }
      if (el1) expect(el0, `0x${w.toString(16)} is UNDEFINED at EL1 but not at EL0`).toBe(true);
      seen.set(w, el1);
      if (el1) undefinedWords++;
    }), fuzzParams(3000, 0xa64dec));
    expect(undefinedWords).toBeGreaterThan(0);
  }, fuzzTimeout(3000, 10));

  it.skipIf(llvmMcMissing !== undefined)("a word executed at EL1 is a valid instruction to LLVM's AArch64 disassembler", () => {
    const executed = [...seen].filter(([, undef]) => !undef).map(([w]) => w);
    expect(executed.length).toBeGreaterThan(100);
    const bytes = executed.map((w) => new Uint8Array([w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24]));
    const invalid = llvmInvalid("aarch64", "+v8.5a", bytes);
    expect([...invalid].map((i) => `0x${executed[i]!.toString(16).padStart(8, "0")}`)).toEqual([]);
  });
});

if (llvmMcMissing !== undefined) console.log(`skipping the LLVM cross-check of the A64 decoder: ${llvmMcMissing}`);
