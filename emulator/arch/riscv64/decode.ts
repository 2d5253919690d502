/**
 * RV64IMAC + Zicsr + Zifencei + privileged decoder. A 32-bit word (or a compressed one expanded by
 * {@link expandCompressed}) becomes an operation number and operand fields in a {@link DecodedPage},
 * the per-physical-page decode cache the hart executes from.
 * @spec RISC-V Unprivileged ISA, chapter "RV32I/RV64I Base Integer Instruction Set" opcode map
 */
import { expandCompressed } from "./rvc.js";

/** Operation numbers. 0 means "not decoded yet". */
export const enum Op {
  NONE = 0, ILLEGAL, CROSS,
  LUI, AUIPC, JAL, JALR,
  BEQ, BNE, BLT, BGE, BLTU, BGEU,
  LB, LH, LW, LD, LBU, LHU, LWU,
  SB, SH, SW, SD,
  ADDI, SLTI, SLTIU, XORI, ORI, ANDI, SLLI, SRLI, SRAI,
  ADD, SUB, SLL, SLT, SLTU, XOR, SRL, SRA, OR, AND,
  ADDIW, SLLIW, SRLIW, SRAIW, ADDW, SUBW, SLLW, SRLW, SRAW,
  MUL, MULH, MULHSU, MULHU, DIV, DIVU, REM, REMU, MULW, DIVW, DIVUW, REMW, REMUW,
  FENCE, FENCE_I, ECALL, EBREAK, MRET, SRET, WFI, SFENCE_VMA,
  CSRRW, CSRRS, CSRRC, CSRRWI, CSRRSI, CSRRCI,
  LR, SC, AMO,
  /** A native entry: a registered TypeScript function stands at this address (imm = its index). */
  NATIVE,
}

/** Slots per 4 KiB page: one per halfword, since compressed instructions align to 2 bytes. */
export const SLOTS = 2048;

/**
 * Decoded instructions of one physical page. Slot i describes the instruction starting at byte 2i.
 * `rd` of an instruction that writes x0 is 32 (a sink register), so execution never special-cases x0.
 */
export class DecodedPage {
  /**
   * Packed fields: op (bits 7:0) | rd (15:8) | rs1 (23:16) | rs2 (28:24) | 32-bit instruction (bit 29).
   * 0 means the slot is not decoded yet.
   */
  readonly info = new Int32Array(SLOTS);
  /** Sign-extended immediate; CSR number for CSR ops; funct5|width<<5|aq/rl<<8 for AMOs. */
  readonly imm = new Int32Array(SLOTS);
  /** The instruction bits as fetched (16 or 32), for illegal-instruction stval. */
  readonly raw = new Int32Array(SLOTS);
}

/** Sink register index that stands for x0 as a destination. */
export const X0_SINK = 32;

const sext = (v: number, bits: number): number => (v << (32 - bits)) >> (32 - bits);

/**
 * Decodes the instruction bits `insn` (a 16-bit parcel when `len` is 2) into slot `i` of `p`.
 * Returns the operation number (Op.ILLEGAL for anything not implemented or reserved).
 */
export function decodeInto(p: DecodedPage, i: number, insn: number, len: 2 | 4): Op {
  p.raw[i] = insn;
  const w = len === 2 ? expandCompressed(insn) : insn;
  const op = w === 0 ? Op.ILLEGAL : decodeWord(p, i, w);
  const regs = w === 0 ? 0 : (((w >>> 7) & 31) || X0_SINK) << 8 | ((w >>> 15) & 31) << 16 | ((w >>> 20) & 31) << 24;
  p.info[i] = op | regs | (len === 4 ? INFO_LEN4 : 0);
  return op;
}

/** Bit of {@link DecodedPage.info} set for 32-bit instructions. */
export const INFO_LEN4 = 1 << 29;

/** Marks slot `i` as the native entry number `index`. */
export function markNative(p: DecodedPage, i: number, index: number): void {
  p.info[i] = Op.NATIVE | INFO_LEN4;
  p.imm[i] = index;
  p.raw[i] = 0;
}

/** Marks slot `i` as the start of a 32-bit instruction that continues on the next page. */
export function markCross(p: DecodedPage, i: number): void {
  p.info[i] = Op.CROSS;
}

function decodeWord(p: DecodedPage, i: number, w: number): Op {
  const opcode = w & 0x7f;
  const rd = (w >>> 7) & 31;
  const f3 = (w >>> 12) & 7;
  const rs1 = (w >>> 15) & 31;
  const rs2 = (w >>> 20) & 31;
  const f7 = w >>> 25;
  const immI = w >> 20;
  switch (opcode) {
    case 0x37: p.imm[i] = w & 0xfffff000; return Op.LUI;
    case 0x17: p.imm[i] = w & 0xfffff000; return Op.AUIPC;
    case 0x6f:
      p.imm[i] = sext(((w >>> 31) << 20) | (((w >>> 12) & 0xff) << 12) | (((w >>> 20) & 1) << 11) | (((w >>> 21) & 0x3ff) << 1), 21);
      return Op.JAL;
    case 0x67: p.imm[i] = immI; return f3 === 0 ? Op.JALR : Op.ILLEGAL;
    case 0x63: {
      p.imm[i] = sext(((w >>> 31) << 12) | (((w >>> 7) & 1) << 11) | (((w >>> 25) & 0x3f) << 5) | (((w >>> 8) & 0xf) << 1), 13);
      const b = [Op.BEQ, Op.BNE, Op.ILLEGAL, Op.ILLEGAL, Op.BLT, Op.BGE, Op.BLTU, Op.BGEU][f3]!;
      return b;
    }
    case 0x03: p.imm[i] = immI; return [Op.LB, Op.LH, Op.LW, Op.LD, Op.LBU, Op.LHU, Op.LWU, Op.ILLEGAL][f3]!;
    case 0x23:
      p.imm[i] = sext(((w >>> 25) << 5) | ((w >>> 7) & 31), 12);
      return f3 < 4 ? [Op.SB, Op.SH, Op.SW, Op.SD][f3]! : Op.ILLEGAL;
    case 0x13:
      p.imm[i] = immI;
      switch (f3) {
        case 0: return Op.ADDI;
        case 2: return Op.SLTI;
        case 3: return Op.SLTIU;
        case 4: return Op.XORI;
        case 6: return Op.ORI;
        case 7: return Op.ANDI;
        case 1: p.imm[i] = (w >>> 20) & 63; return w >>> 26 === 0 ? Op.SLLI : Op.ILLEGAL;
        default: p.imm[i] = (w >>> 20) & 63; return w >>> 26 === 0 ? Op.SRLI : w >>> 26 === 0x10 ? Op.SRAI : Op.ILLEGAL;
      }
    case 0x1b:
      p.imm[i] = immI;
      if (f3 === 0) return Op.ADDIW;
      p.imm[i] = (w >>> 20) & 31;
      if (f3 === 1) return f7 === 0 ? Op.SLLIW : Op.ILLEGAL;
      if (f3 === 5) return f7 === 0 ? Op.SRLIW : f7 === 0x20 ? Op.SRAIW : Op.ILLEGAL;
      return Op.ILLEGAL;
    case 0x33:
      if (f7 === 0) return [Op.ADD, Op.SLL, Op.SLT, Op.SLTU, Op.XOR, Op.SRL, Op.OR, Op.AND][f3]!;
      if (f7 === 0x20) return f3 === 0 ? Op.SUB : f3 === 5 ? Op.SRA : Op.ILLEGAL;
      if (f7 === 1) return [Op.MUL, Op.MULH, Op.MULHSU, Op.MULHU, Op.DIV, Op.DIVU, Op.REM, Op.REMU][f3]!;
      return Op.ILLEGAL;
    case 0x3b:
      if (f7 === 0) return f3 === 0 ? Op.ADDW : f3 === 1 ? Op.SLLW : f3 === 5 ? Op.SRLW : Op.ILLEGAL;
      if (f7 === 0x20) return f3 === 0 ? Op.SUBW : f3 === 5 ? Op.SRAW : Op.ILLEGAL;
      if (f7 === 1) return [Op.MULW, Op.ILLEGAL, Op.ILLEGAL, Op.ILLEGAL, Op.DIVW, Op.DIVUW, Op.REMW, Op.REMUW][f3]!;
      return Op.ILLEGAL;
    case 0x0f:
      if (f3 === 0) return Op.FENCE;
      if (f3 === 1) return Op.FENCE_I;
      return Op.ILLEGAL;
    case 0x2f: return decodeAmo(p, i, w, f3);
    case 0x73: return decodeSystem(p, i, w, f3, rd, rs1);
    default: return Op.ILLEGAL;
  }
}

/** AMO funct5 values that exist. @spec Unprivileged ISA, "A" extension opcode table */
const AMO_FUNCT5 = new Set([0x00, 0x01, 0x04, 0x08, 0x0c, 0x10, 0x14, 0x18, 0x1c]);

function decodeAmo(p: DecodedPage, i: number, w: number, f3: number): Op {
  if (f3 !== 2 && f3 !== 3) return Op.ILLEGAL;
  const f5 = w >>> 27;
  p.imm[i] = f5 | ((f3 === 3 ? 1 : 0) << 5);
  if (f5 === 0x02) return ((w >>> 20) & 31) === 0 ? Op.LR : Op.ILLEGAL;
  if (f5 === 0x03) return Op.SC;
  return AMO_FUNCT5.has(f5) ? Op.AMO : Op.ILLEGAL;
}

function decodeSystem(p: DecodedPage, i: number, w: number, f3: number, rd: number, rs1: number): Op {
  if (f3 === 0) {
    if (rd !== 0) return Op.ILLEGAL;
    if (w >>> 25 === 0x09) return Op.SFENCE_VMA;
    if (rs1 !== 0) return Op.ILLEGAL;
    switch (w >>> 20) {
      case 0x000: return Op.ECALL;
      case 0x001: return Op.EBREAK;
      case 0x102: return Op.SRET;
      case 0x302: return Op.MRET;
      case 0x105: return Op.WFI;
      default: return Op.ILLEGAL;
    }
  }
  p.imm[i] = w >>> 20;
  switch (f3) {
    case 1: return Op.CSRRW;
    case 2: return Op.CSRRS;
    case 3: return Op.CSRRC;
    case 5: return Op.CSRRWI;
    case 6: return Op.CSRRSI;
    case 7: return Op.CSRRCI;
    default: return Op.ILLEGAL;
  }
}
