/**
 * Bitfield moves (SBFM, BFM, UBFM) with their aliases (LSL/LSR/ASR immediate, SBFX, UBFX,
 * SBFIZ, UBFIZ, BFI, BFXIL, BFC, SXTB, SXTH, SXTW, UXTB, UXTH), EXTR and ROR, and the
 * register shifts (LSLV... and LSL/LSR/ASR/ROR with a register amount).
 * @spec Arm ARM (DDI 0487) C4.1 "A64 instruction set encoding": Data Processing -- Immediate
 *   (Bitfield, Extract), Data Processing -- Register (Data-processing (2 source)); C6.2 aliases
 */
import { fail } from "../common/errors.js";
import { type Asm, count, type Handler, immIn, rz, sameWidth, sf } from "./insn.js";
import type { Reg } from "./registers.js";

const ZR = (x: boolean): Reg => ({ num: 31, x, sp: false });

/** sf opc 100110 N immr imms Rn Rd (N = sf). */
function bitfield(a: Asm, opc: number, rd: Reg, rn: Reg, immr: number, imms: number): void {
  a.emit((sf(rd) << 31) | (opc << 29) | 0x13000000 | (sf(rd) << 22) | (immr << 16) | (imms << 10) | (rn.num << 5) | rd.num);
}

/** The raw SBFM/BFM/UBFM: Rd, Rn, #immr, #imms. */
function raw(opc: number): Handler {
  return (ops, a) => {
    count(ops, 4);
    const rd = rz(ops, 0), rn = rz(ops, 1);
    sameWidth(rd.x, rn);
    const max = rd.x ? 63 : 31;
    bitfield(a, opc, rd, rn, immIn(a, ops, 2, 0, max, "immr"), immIn(a, ops, 3, 0, max, "imms"));
  };
}

/** `op Rd, Rn, #lsb, #width` aliases: `insert` places the field at lsb, else extracts from lsb. */
function field(opc: number, insert: boolean): Handler {
  return (ops, a) => {
    count(ops, 4);
    const rd = rz(ops, 0), rn = rz(ops, 1);
    sameWidth(rd.x, rn);
    const size = rd.x ? 64 : 32;
    const lsb = immIn(a, ops, 2, 0, size - 1, "lsb");
    const width = immIn(a, ops, 3, 1, size - lsb, "width");
    if (insert) bitfield(a, opc, rd, rn, (size - lsb) % size, width - 1);
    else bitfield(a, opc, rd, rn, lsb, lsb + width - 1);
  };
}

/** BFC Rd, #lsb, #width: BFI from the zero register. */
const bfc: Handler = (ops, a) => {
  count(ops, 3);
  const rd = rz(ops, 0);
  const size = rd.x ? 64 : 32;
  const lsb = immIn(a, ops, 1, 0, size - 1, "lsb");
  const width = immIn(a, ops, 2, 1, size - lsb, "width");
  bitfield(a, 1, rd, ZR(rd.x), (size - lsb) % size, width - 1);
};

/** SXTB/SXTH/SXTW (opc 0) and UXTB/UXTH (opc 2): Rd, Wn. */
function extend(opc: number, bits: number): Handler {
  return (ops, a) => {
    count(ops, 2);
    const rd = rz(ops, 0), rn = rz(ops, 1);
    if (rn.x) fail("the source of an extend must be a W register");
    if (bits === 32 && !rd.x) fail("the destination must be an X register");
    // UXTB/UXTH only exist in 32 bits; GNU also takes an X destination and encodes it as W.
    const dest = opc === 2 ? { ...rd, x: false } : rd;
    bitfield(a, opc, dest, { ...rn, x: dest.x }, 0, bits - 1);
  };
}

/** Data-processing (2 source): sf 0 0 11010110 Rm opcode Rn Rd. */
function twoSource(a: Asm, opcode: number, rd: Reg, rn: Reg, rm: Reg): void {
  sameWidth(rd.x, rn, rm);
  a.emit((sf(rd) << 31) | 0x1ac00000 | (rm.num << 16) | (opcode << 10) | (rn.num << 5) | rd.num);
}

/** EXTR Rd, Rn, Rm, #lsb: sf 00 100111 N 0 Rm imms Rn Rd. */
function extr(a: Asm, rd: Reg, rn: Reg, rm: Reg, lsb: number): void {
  sameWidth(rd.x, rn, rm);
  a.emit((sf(rd) << 31) | 0x13800000 | (sf(rd) << 22) | (rm.num << 16) | (lsb << 10) | (rn.num << 5) | rd.num);
}

const SHIFT_OPCODES: Readonly<Record<string, number>> = { lsl: 8, lsr: 9, asr: 10, ror: 11 };

/** LSL/LSR/ASR/ROR: an immediate amount is a bitfield move (EXTR for ROR), a register one LSLV... */
function shift(name: "lsl" | "lsr" | "asr" | "ror"): Handler {
  return (ops, a) => {
    count(ops, 3);
    const rd = rz(ops, 0), rn = rz(ops, 1);
    if (ops[2]!.k === "reg") return twoSource(a, SHIFT_OPCODES[name]!, rd, rn, rz(ops, 2));
    sameWidth(rd.x, rn);
    const size = rd.x ? 64 : 32;
    const n = immIn(a, ops, 2, 0, size - 1, "shift amount");
    switch (name) {
      case "lsl": return bitfield(a, 2, rd, rn, (size - n) % size, size - 1 - n);
      case "lsr": return bitfield(a, 2, rd, rn, n, size - 1);
      case "asr": return bitfield(a, 0, rd, rn, n, size - 1);
      case "ror": return extr(a, rd, rn, rn, n);
    }
  };
}

/** Bitfield, extract and shift handlers by mnemonic. */
export const BITFIELD: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ["sbfm", raw(0)], ["bfm", raw(1)], ["ubfm", raw(2)],
  ["sbfx", field(0, false)], ["ubfx", field(2, false)], ["bfxil", field(1, false)],
  ["sbfiz", field(0, true)], ["ubfiz", field(2, true)], ["bfi", field(1, true)], ["bfc", bfc],
  ["sxtb", extend(0, 8)], ["sxth", extend(0, 16)], ["sxtw", extend(0, 32)],
  ["uxtb", extend(2, 8)], ["uxth", extend(2, 16)],
  ["lsl", shift("lsl")], ["lsr", shift("lsr")], ["asr", shift("asr")], ["ror", shift("ror")],
  ["extr", (ops, a) => {
    count(ops, 4);
    const rd = rz(ops, 0);
    extr(a, rd, rz(ops, 1), rz(ops, 2), immIn(a, ops, 3, 0, rd.x ? 63 : 31, "lsb"));
  }],
  ...Object.entries(SHIFT_OPCODES).map(([n, opc]): [string, Handler] => [`${n}v`, (ops, a) => {
    count(ops, 3);
    twoSource(a, opc, rz(ops, 0), rz(ops, 1), rz(ops, 2));
  }]),
  ["udiv", (ops, a) => { count(ops, 3); twoSource(a, 2, rz(ops, 0), rz(ops, 1), rz(ops, 2)); }],
  ["sdiv", (ops, a) => { count(ops, 3); twoSource(a, 3, rz(ops, 0), rz(ops, 1), rz(ops, 2)); }],
]);
