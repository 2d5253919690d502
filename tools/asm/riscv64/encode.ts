/**
 * Bit packing of RISC-V instruction formats (unprivileged spec §2.3 "Immediate Encoding
 * Variants" and §16.2 "Compressed Instruction Formats"). No range checks here: callers check
 * immediates first and pass values that fit.
 *
 * 32-bit words are returned as unsigned numbers; compressed instructions as 16-bit numbers.
 */

/** Bits hi..lo of v, shifted down to bit 0. */
const bits = (v: number, hi: number, lo: number): number => (v >>> lo) & ((1 << (hi - lo + 1)) - 1);
/** The 3-bit field of a compressed register (x8..x15). */
const cr = (r: number): number => (r - 8) & 7;

/** Immediate field of an I-type word. */
export const iImm = (imm: number): number => ((imm & 0xfff) << 20) >>> 0;
/** Immediate fields of an S-type word. */
export const sImm = (imm: number): number => ((bits(imm, 11, 5) << 25) | (bits(imm, 4, 0) << 7)) >>> 0;
/** Offset fields of a B-type word (offset is even). */
export const bImm = (off: number): number =>
  ((bits(off, 12, 12) << 31) | (bits(off, 10, 5) << 25) | (bits(off, 4, 1) << 8) | (bits(off, 11, 11) << 7)) >>> 0;
/** Immediate field of a U-type word (imm20 is the 20-bit field value). */
export const uImm = (imm20: number): number => ((imm20 & 0xfffff) << 12) >>> 0;
/** Offset fields of a J-type word (offset is even). */
export const jImm = (off: number): number =>
  ((bits(off, 20, 20) << 31) | (bits(off, 10, 1) << 21) | (bits(off, 11, 11) << 20) | (bits(off, 19, 12) << 12)) >>> 0;

/** R-type: funct7 | rs2 | rs1 | funct3 | rd | opcode. */
export const rType = (opcode: number, f3: number, f7: number, rd: number, rs1: number, rs2: number): number =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opcode) >>> 0;
/** I-type: imm[11:0] | rs1 | funct3 | rd | opcode. */
export const iType = (opcode: number, f3: number, rd: number, rs1: number, imm: number): number =>
  (iImm(imm) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opcode) >>> 0;
/** S-type: imm[11:5] | rs2 | rs1 | funct3 | imm[4:0] | opcode. */
export const sType = (opcode: number, f3: number, rs1: number, rs2: number, imm: number): number =>
  (sImm(imm) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | opcode) >>> 0;
/** B-type conditional branch (opcode BRANCH) with an even offset. */
export const bType = (f3: number, rs1: number, rs2: number, off: number): number =>
  (bImm(off) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | 0x63) >>> 0;
/** U-type: imm20 | rd | opcode. */
export const uType = (opcode: number, rd: number, imm20: number): number => (uImm(imm20) | (rd << 7) | opcode) >>> 0;
/** J-type jal with an even offset. */
export const jType = (rd: number, off: number): number => (jImm(off) | (rd << 7) | 0x6f) >>> 0;

/** CI format: funct3, bit 12 = imm[5], rd/rs1 in 11:7, imm[4:0] in 6:2. */
const ci = (f3: number, op: number, rd: number, imm: number): number =>
  (f3 << 13) | (bits(imm, 5, 5) << 12) | (rd << 7) | (bits(imm, 4, 0) << 2) | op;
/** CA format: the register-register ALU group of quadrant 1. */
const ca = (bit12: number, f2: number, rd: number, rs2: number): number =>
  (0b100 << 13) | (bit12 << 12) | (0b11 << 10) | (cr(rd) << 7) | (f2 << 5) | (cr(rs2) << 2) | 0b01;
/** CB format with a 6-bit immediate (c.srli, c.srai, c.andi). */
const cbImm = (f2: number, rd: number, imm: number): number =>
  (0b100 << 13) | (bits(imm, 5, 5) << 12) | (f2 << 10) | (cr(rd) << 7) | (bits(imm, 4, 0) << 2) | 0b01;
/** CL/CS word access: uimm[5:3] in 12:10, uimm[2] in 6, uimm[6] in 5. */
const clw = (f3: number, r1: number, r2: number, off: number): number =>
  (f3 << 13) | (bits(off, 5, 3) << 10) | (cr(r1) << 7) | (bits(off, 2, 2) << 6) | (bits(off, 6, 6) << 5) | (cr(r2) << 2);
/** CL/CS doubleword access: uimm[5:3] in 12:10, uimm[7:6] in 6:5. */
const cld = (f3: number, r1: number, r2: number, off: number): number =>
  (f3 << 13) | (bits(off, 5, 3) << 10) | (cr(r1) << 7) | (bits(off, 7, 6) << 5) | (cr(r2) << 2);
/** CR format. */
const crf = (bit12: number, rd: number, rs2: number): number => (0b100 << 13) | (bit12 << 12) | (rd << 7) | (rs2 << 2) | 0b10;
/** CB branch offset fields: imm[8|4:3] in 12:10, imm[7:6|2:1|5] in 6:2. */
const cbOff = (off: number): number =>
  (bits(off, 8, 8) << 12) | (bits(off, 4, 3) << 10) | (bits(off, 7, 6) << 5) | (bits(off, 2, 1) << 3) | (bits(off, 5, 5) << 2);
/** CJ offset fields: imm[11|4|9:8|10|6|7|3:1|5] in 12:2. */
const cjOff = (off: number): number =>
  (bits(off, 11, 11) << 12) | (bits(off, 4, 4) << 11) | (bits(off, 9, 8) << 9) | (bits(off, 10, 10) << 8) |
  (bits(off, 6, 6) << 7) | (bits(off, 7, 7) << 6) | (bits(off, 3, 1) << 3) | (bits(off, 5, 5) << 2);

/** RV64C encoders, named after the instructions. Registers are full numbers (x8..x15 where the format needs it). */
export const C = {
  addi4spn: (rd: number, imm: number): number =>
    (bits(imm, 5, 4) << 11) | (bits(imm, 9, 6) << 7) | (bits(imm, 2, 2) << 6) | (bits(imm, 3, 3) << 5) | (cr(rd) << 2),
  lw: (rd: number, rs1: number, off: number): number => clw(0b010, rs1, rd, off),
  ld: (rd: number, rs1: number, off: number): number => cld(0b011, rs1, rd, off),
  sw: (rs2: number, rs1: number, off: number): number => clw(0b110, rs1, rs2, off),
  sd: (rs2: number, rs1: number, off: number): number => cld(0b111, rs1, rs2, off),
  addi: (rd: number, imm: number): number => ci(0b000, 0b01, rd, imm),
  addiw: (rd: number, imm: number): number => ci(0b001, 0b01, rd, imm),
  li: (rd: number, imm: number): number => ci(0b010, 0b01, rd, imm),
  addi16sp: (imm: number): number =>
    (0b011 << 13) | (bits(imm, 9, 9) << 12) | (2 << 7) | (bits(imm, 4, 4) << 6) | (bits(imm, 6, 6) << 5) |
    (bits(imm, 8, 7) << 3) | (bits(imm, 5, 5) << 2) | 0b01,
  /** `imm6` is nzimm[17:12] as a 6-bit signed value. */
  lui: (rd: number, imm6: number): number => ci(0b011, 0b01, rd, imm6),
  srli: (rd: number, shamt: number): number => cbImm(0b00, rd, shamt),
  srai: (rd: number, shamt: number): number => cbImm(0b01, rd, shamt),
  andi: (rd: number, imm: number): number => cbImm(0b10, rd, imm),
  sub: (rd: number, rs2: number): number => ca(0, 0b00, rd, rs2),
  xor: (rd: number, rs2: number): number => ca(0, 0b01, rd, rs2),
  or: (rd: number, rs2: number): number => ca(0, 0b10, rd, rs2),
  and: (rd: number, rs2: number): number => ca(0, 0b11, rd, rs2),
  subw: (rd: number, rs2: number): number => ca(1, 0b00, rd, rs2),
  addw: (rd: number, rs2: number): number => ca(1, 0b01, rd, rs2),
  j: (off: number): number => (0b101 << 13) | cjOff(off) | 0b01,
  beqz: (rs1: number, off: number): number => (0b110 << 13) | cbOff(off) | (cr(rs1) << 7) | 0b01,
  bnez: (rs1: number, off: number): number => (0b111 << 13) | cbOff(off) | (cr(rs1) << 7) | 0b01,
  slli: (rd: number, shamt: number): number => ci(0b000, 0b10, rd, shamt),
  lwsp: (rd: number, off: number): number =>
    (0b010 << 13) | (bits(off, 5, 5) << 12) | (rd << 7) | (bits(off, 4, 2) << 4) | (bits(off, 7, 6) << 2) | 0b10,
  ldsp: (rd: number, off: number): number =>
    (0b011 << 13) | (bits(off, 5, 5) << 12) | (rd << 7) | (bits(off, 4, 3) << 5) | (bits(off, 8, 6) << 2) | 0b10,
  jr: (rs1: number): number => crf(0, rs1, 0),
  mv: (rd: number, rs2: number): number => crf(0, rd, rs2),
  ebreak: (): number => crf(1, 0, 0),
  jalr: (rs1: number): number => crf(1, rs1, 0),
  add: (rd: number, rs2: number): number => crf(1, rd, rs2),
  swsp: (rs2: number, off: number): number => (0b110 << 13) | (bits(off, 5, 2) << 9) | (bits(off, 7, 6) << 7) | (rs2 << 2) | 0b10,
  sdsp: (rs2: number, off: number): number => (0b111 << 13) | (bits(off, 5, 3) << 10) | (bits(off, 8, 6) << 7) | (rs2 << 2) | 0b10,
} as const;

/** c.beqz and c.bnez differ in one funct3 bit: XOR flips the condition. */
export const C_BRANCH_INVERT = 0x2000;
/** beq/bne, blt/bge and bltu/bgeu differ in funct3 bit 0: XOR flips the condition. */
export const BRANCH_INVERT = 0x1000;
