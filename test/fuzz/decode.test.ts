/**
 * Decoder fuzzing: every instruction word the hart can fetch becomes either an instruction it
 * executes or an illegal-instruction exception whose tval holds the instruction bits
 * (RV-M §"Machine Trap Value (mtval) Register": on an illegal-instruction trap mtval is written with
 * the faulting instruction, which MultiOS always does). Checked exhaustively for the 16-bit
 * (compressed) space at U, S and M, with LLVM's disassembler as an independent legality oracle when
 * it is installed, and on random 32-bit words; random words also run as guest programs at S and U
 * for a bounded number of instructions, and the run always ends in a defined outcome.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bootBare, createRiscvVirt } from "../../boot/riscv64/virt.js";
import { csrWrite } from "../../emulator/arch/riscv64/csr.js";
import { CAUSE, CSR, MSTATUS, PRV_M, PRV_NAME, PRV_S, PRV_U } from "../../emulator/arch/riscv64/defs.js";
import { DecodedPage, decodeInto, Op } from "../../emulator/arch/riscv64/decode.js";
import { expandCompressed } from "../../emulator/arch/riscv64/rvc.js";
import { llvmInvalid, llvmMcMissing } from "./support/oracles.js";
import { fuzzParams, fuzzTimeout } from "./support/params.js";
import { CODE, CROSSING, PRIVILEGES, Stepper } from "./support/step.js";

/** Every 16-bit parcel that is a compressed instruction (low bits not 11). */
const COMPRESSED = Array.from({ length: 0x10000 }, (_, c) => c).filter((c) => (c & 3) !== 3);

/** The cause and tval of an illegal-instruction trap taken at CODE, or undefined for any other outcome. */
function illegalTval(s: Stepper, bits: number, len: 2 | 4, priv: number, at = CODE): bigint | undefined {
  const t = s.step(bits, len, priv, at);
  if (t === undefined || t.interrupt || t.cause !== CAUSE.ILLEGAL) return undefined;
  expect(t.epc).toBe(BigInt(at));
  return t.tval;
}

describe("16-bit instructions (exhaustive)", () => {
  it("each is executed or raises illegal-instruction with tval = its 16 bits, at U, S and M, exactly when the RVC expansion is reserved", () => {
    const s = new Stepper();
    const wrong: string[] = [];
    for (const priv of PRIVILEGES) {
      for (const c of COMPRESSED) {
        const tval = illegalTval(s, c, 2, priv);
        const reserved = expandCompressed(c) === 0;
        if (tval !== undefined && tval !== BigInt(c)) wrong.push(`${PRV_NAME[priv]} 0x${c.toString(16)}: tval 0x${tval.toString(16)}`);
        if ((tval !== undefined) !== reserved) wrong.push(`${PRV_NAME[priv]} 0x${c.toString(16)}: ${reserved ? "reserved but executed" : "legal but illegal-instruction"}`);
      }
    }
    expect(wrong.slice(0, 20)).toEqual([]);
  });

  if (llvmMcMissing !== undefined) console.log(`skipping the LLVM cross-check of the compressed space: ${llvmMcMissing}`);

  /**
   * C.LUI with nzimm = 0 (rd not x2): "The code points with nzimm=0 are reserved" (Unprivileged ISA,
   * "C" chapter, C.LUI). LLVM 14 decodes them as `c.lui rd, 0`; MultiOS follows the manual.
   */
  const cLuiZero = (c: number): boolean => (c & 0xe003) === 0x6001 && (c & 0x107c) === 0 && ((c >>> 7) & 31) !== 2;

  it.skipIf(llvmMcMissing !== undefined)("are reserved exactly where LLVM's RV64IMAC disassembler finds no instruction, apart from 0x0000 (LLVM's unimp) and C.LUI with nzimm = 0", () => {
    const found = llvmInvalid("riscv64", "+m,+a,+c", COMPRESSED.map((c) => new Uint8Array([c & 0xff, c >> 8])));
    const invalid = new Set<number>([0, ...[...found].map((i) => COMPRESSED[i]!)]);
    expect(invalid.size).toBeGreaterThan(10_000);
    const differ = COMPRESSED.filter((c) => (expandCompressed(c) === 0) !== (invalid.has(c) || cLuiZero(c)));
    expect(differ.map((c) => `0x${c.toString(16).padStart(4, "0")}: ours ${expandCompressed(c) === 0 ? "reserved" : "legal"}`).slice(0, 40)).toEqual([]);
  });
});

/** Opcodes of the base map, so most random words reach the decoder's interesting paths. */
const OPCODES = [0x03, 0x0f, 0x13, 0x17, 0x1b, 0x23, 0x2f, 0x33, 0x37, 0x3b, 0x63, 0x67, 0x6f, 0x73];

/** A 32-bit instruction word: any word with low bits 11, half of them with a base-map opcode. */
const word32 = fc.oneof(
  fc.nat({ max: 0xffffffff }).map((w) => (w | 3) >>> 0),
  fc.tuple(fc.nat({ max: 0x1ffffff }), fc.constantFrom(...OPCODES)).map(([hi, op]) => ((hi << 7) | op) >>> 0),
);

/** Operations that need more privilege than U has (the manual makes them illegal there). */
const PRIVILEGED_OPS = new Set([Op.MRET, Op.SRET, Op.WFI, Op.SFENCE_VMA]);

describe("32-bit instructions (random)", () => {
  it("each is executed or raises illegal-instruction with tval = its 32 bits at U, S and M, also across a page boundary; the decoder's illegal ones always trap, privileged ones at U", () => {
    const s = new Stepper();
    const scratch = new DecodedPage();
    fc.assert(fc.property(word32, (w) => {
      const op = decodeInto(scratch, 0, w | 0, 4);
      for (const priv of PRIVILEGES) {
        const tval = illegalTval(s, w, 4, priv);
        if (tval !== undefined) expect(tval).toBe(BigInt(w));
        expect(illegalTval(s, w, 4, priv, CROSSING)).toBe(tval);
        if (op === Op.ILLEGAL || (priv === PRV_U && PRIVILEGED_OPS.has(op))) expect(tval).toBe(BigInt(w));
        const csrPriv = (w >>> 28) & 3;
        if (op >= Op.CSRRW && op <= Op.CSRRCI && csrPriv > priv) expect(tval).toBe(BigInt(w));
      }
    }), fuzzParams(1500, 0xdec032));
  }, fuzzTimeout(1500, 20));
});

/** A minimal ELF64 RISC-V executable with one RWX segment holding `code` at 0x8000_0000. */
function rawElf(code: Uint8Array, base = 0x8000_0000n): Uint8Array {
  const b = new Uint8Array(120 + code.length);
  const v = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  v.setUint16(16, 2, true); v.setUint16(18, 243, true); v.setUint32(20, 1, true);
  v.setBigUint64(24, base, true); v.setBigUint64(32, 64n, true);
  v.setUint16(52, 64, true); v.setUint16(54, 56, true); v.setUint16(56, 1, true);
  v.setUint32(64, 1, true); v.setUint32(68, 7, true); v.setBigUint64(72, 120n, true);
  v.setBigUint64(80, base, true); v.setBigUint64(88, base, true);
  v.setBigUint64(96, BigInt(code.length), true); v.setBigUint64(104, BigInt(code.length), true);
  b.set(code, 120);
  return b;
}

/** Random code: 16-bit parcels and 32-bit words, most with a base-map opcode. */
const randomCode = fc.array(fc.oneof(
  { weight: 2, arbitrary: fc.nat({ max: 0xffff }).map((h) => [h]) },
  { weight: 5, arbitrary: word32.map((w) => [w & 0xffff, w >>> 16]) },
  { weight: 1, arbitrary: fc.nat({ max: 0xffffffff }).map((w) => [w & 0xffff, w >>> 16]) },
), { minLength: 16, maxLength: 1024 }).map((parts) => new Uint16Array(parts.flat()));

const ENTRY = 0x8000_0000, HANDLER = 0x8000_0100, CODE_BASE = 0x8000_1000;
const RUN_LIMIT = 4000;

/**
 * Runs `code` at `priv` from CODE_BASE for RUN_LIMIT instructions. Every trap goes to an M-mode
 * handler that checks an illegal-instruction trap's tval against the bits at mepc and restarts the
 * code at `priv`. Returns the run's outcome and the wrong tvals seen.
 */
function runAt(code: Uint16Array, priv: number): { reason: string; wrong: string[]; traps: number; illegal: number } {
  const image = new Uint8Array(CODE_BASE - ENTRY + code.length * 2);
  image.set(new Uint8Array(code.buffer), CODE_BASE - ENTRY);
  const v = createRiscvVirt({ ramSize: 4 << 20 });
  bootBare(v, rawElf(image));
  const h = v.machine.harts[0]!, bus = v.machine.bus;
  const wrong: string[] = [];
  let illegal = 0;
  const set = (csr: number, value: number): void => void csrWrite(h, csr, value | 0, 0);
  const enter = (): void => {
    set(CSR.mepc, CODE_BASE);
    h.mstatus = (h.mstatus & ~MSTATUS.MPP) | (priv << MSTATUS.MPP_SHIFT);
    h.mret();
  };
  h.registerNative(ENTRY, () => {
    set(CSR.mtvec, HANDLER);
    enter();
  });
  h.registerNative(HANDLER, () => {
    if (h.csrHi[CSR.mcause]! >= 0 && h.csrLo[CSR.mcause] === CAUSE.ILLEGAL) {
      const epc = h.csrLo[CSR.mepc]! >>> 0, tval = BigInt.asUintN(64, (BigInt(h.csrHi[CSR.mtval]!) << 32n) | BigInt(h.csrLo[CSR.mtval]! >>> 0));
      if (h.csrHi[CSR.mepc] === 0 && bus.find(epc, 4)?.ram !== undefined) {
        bus.read(epc, 2);
        const low = bus.lo & 0xffff;
        bus.read(epc + 2, 2);
        const bits = (low & 3) !== 3 ? low : (low | (bus.lo << 16)) >>> 0;
        illegal++;
        if (tval !== BigInt(bits)) wrong.push(`${PRV_NAME[priv]}: illegal at 0x${epc.toString(16)}: tval 0x${tval.toString(16)}, bits 0x${bits.toString(16)}`);
      }
    }
    enter();
  });
  const r = v.machine.run({ maxInsns: RUN_LIMIT });
  return { reason: r.reason, wrong, traps: h.traps, illegal };
}

describe("random words as a guest program", () => {
  for (const priv of [PRV_S, PRV_U]) {
    it(`at ${PRV_NAME[priv]}: the host never throws, the run ends in a defined outcome, every illegal-instruction tval is the instruction`, () => {
      let illegal = 0;
      fc.assert(fc.property(randomCode, (code) => {
        const r = runAt(code, priv);
        expect(["max-insns", "pass", "fail", "reset", "wfi-hang", "trap-loop"]).toContain(r.reason);
        expect(r.wrong).toEqual([]);
        illegal += r.illegal;
      }), fuzzParams(30, priv === PRV_S ? 0xdec0051 : 0xdec0050));
      expect(illegal).toBeGreaterThan(0);
    }, fuzzTimeout(30, 1000));
  }

  it("the same program run twice is the same run (no host state leaks between runs)", () => {
    fc.assert(fc.property(randomCode, (code) => {
      expect(runAt(code, PRV_U)).toEqual(runAt(code, PRV_U));
    }), fuzzParams(10, 0xdec0052));
  }, fuzzTimeout(10, 2000));
});
