/**
 * Base (32-bit) encodings of RV64IMA + Zicsr + Zifencei + privileged instructions, as data
 * rows (unprivileged spec ch. 37 "RV32/64G Instruction Set Listings", privileged spec §9).
 */
import { iType, rType, sType } from "./encode.js";

/** Major opcodes (bits 6:0). */
export const OPC = {
  LOAD: 0x03, MISC_MEM: 0x0f, OP_IMM: 0x13, AUIPC: 0x17, OP_IMM_32: 0x1b, STORE: 0x23,
  AMO: 0x2f, OP: 0x33, LUI: 0x37, OP_32: 0x3b, BRANCH: 0x63, JALR: 0x67, JAL: 0x6f, SYSTEM: 0x73,
} as const;

/** Register-register operations: [opcode, funct3, funct7]. */
export const R_OPS: Readonly<Record<string, readonly [number, number, number]>> = {
  add: [OPC.OP, 0, 0x00], sub: [OPC.OP, 0, 0x20], sll: [OPC.OP, 1, 0], slt: [OPC.OP, 2, 0],
  sltu: [OPC.OP, 3, 0], xor: [OPC.OP, 4, 0], srl: [OPC.OP, 5, 0x00], sra: [OPC.OP, 5, 0x20],
  or: [OPC.OP, 6, 0], and: [OPC.OP, 7, 0],
  mul: [OPC.OP, 0, 1], mulh: [OPC.OP, 1, 1], mulhsu: [OPC.OP, 2, 1], mulhu: [OPC.OP, 3, 1],
  div: [OPC.OP, 4, 1], divu: [OPC.OP, 5, 1], rem: [OPC.OP, 6, 1], remu: [OPC.OP, 7, 1],
  addw: [OPC.OP_32, 0, 0x00], subw: [OPC.OP_32, 0, 0x20], sllw: [OPC.OP_32, 1, 0],
  srlw: [OPC.OP_32, 5, 0x00], sraw: [OPC.OP_32, 5, 0x20],
  mulw: [OPC.OP_32, 0, 1], divw: [OPC.OP_32, 4, 1], divuw: [OPC.OP_32, 5, 1],
  remw: [OPC.OP_32, 6, 1], remuw: [OPC.OP_32, 7, 1],
};

/** Register-immediate operations with a 12-bit signed immediate: [opcode, funct3]. */
export const I_OPS: Readonly<Record<string, readonly [number, number]>> = {
  addi: [OPC.OP_IMM, 0], slti: [OPC.OP_IMM, 2], sltiu: [OPC.OP_IMM, 3], xori: [OPC.OP_IMM, 4],
  ori: [OPC.OP_IMM, 6], andi: [OPC.OP_IMM, 7], addiw: [OPC.OP_IMM_32, 0],
};

/** Shifts by immediate: [opcode, funct3, bits 31:26 (funct6), largest shift amount]. */
export const SHIFT_OPS: Readonly<Record<string, readonly [number, number, number, number]>> = {
  slli: [OPC.OP_IMM, 1, 0x00, 63], srli: [OPC.OP_IMM, 5, 0x00, 63], srai: [OPC.OP_IMM, 5, 0x10, 63],
  slliw: [OPC.OP_IMM_32, 1, 0x00, 31], srliw: [OPC.OP_IMM_32, 5, 0x00, 31], sraiw: [OPC.OP_IMM_32, 5, 0x10, 31],
};

/** Register-register mnemonics that accept an immediate third operand, and the I form they become. */
export const IMM_ALIASES: Readonly<Record<string, string>> = {
  add: "addi", and: "andi", or: "ori", xor: "xori", slt: "slti", sltu: "sltiu", addw: "addiw",
  sll: "slli", srl: "srli", sra: "srai", sllw: "slliw", srlw: "srliw", sraw: "sraiw",
};

/** Loads: funct3. */
export const LOADS: Readonly<Record<string, number>> = { lb: 0, lh: 1, lw: 2, ld: 3, lbu: 4, lhu: 5, lwu: 6 };
/** Stores: funct3. */
export const STORES: Readonly<Record<string, number>> = { sb: 0, sh: 1, sw: 2, sd: 3 };
/** Conditional branches: funct3. */
export const BRANCHES: Readonly<Record<string, number>> = { beq: 0, bne: 1, blt: 4, bge: 5, bltu: 6, bgeu: 7 };

/** Instructions without operands: the whole word. */
export const FIXED_WORDS: Readonly<Record<string, number>> = {
  ecall: 0x00000073, scall: 0x00000073, ebreak: 0x00100073, sbreak: 0x00100073,
  uret: 0x00200073, sret: 0x10200073, mret: 0x30200073, dret: 0x7b200073, wfi: 0x10500073,
  "fence.i": 0x0000100f, "fence.tso": 0x8330000f,
};

/** sfence.vma rs1, rs2 with both registers zero. */
export const SFENCE_VMA = 0x12000073;

/** CSR instructions: funct3 of the register form; the immediate form is funct3 | 4. */
export const CSR_OPS: Readonly<Record<string, number>> = { csrrw: 1, csrrs: 2, csrrc: 3 };

/** AMO funct5 values (bits 31:27); funct3 is 2 for .w and 3 for .d. */
export const AMO_OPS: Readonly<Record<string, number>> = {
  lr: 0x02, sc: 0x03, amoswap: 0x01, amoadd: 0x00, amoxor: 0x04, amoand: 0x0c, amoor: 0x08,
  amomin: 0x10, amomax: 0x14, amominu: 0x18, amomaxu: 0x1c,
};

/** Uncompressed encoders by mnemonic, for forms and pseudo-instructions that need a fixed word. */
export const enc = {
  r(name: string, rd: number, rs1: number, rs2: number): number {
    const [op, f3, f7] = R_OPS[name]!;
    return rType(op, f3, f7, rd, rs1, rs2);
  },
  i(name: string, rd: number, rs1: number, imm: number): number {
    const [op, f3] = I_OPS[name]!;
    return iType(op, f3, rd, rs1, imm);
  },
  shift(name: string, rd: number, rs1: number, shamt: number): number {
    const [op, f3, f6] = SHIFT_OPS[name]!;
    return iType(op, f3, rd, rs1, (f6 << 6) | shamt);
  },
  load(name: string, rd: number, rs1: number, imm: number): number {
    return iType(OPC.LOAD, LOADS[name]!, rd, rs1, imm);
  },
  store(name: string, rs2: number, rs1: number, imm: number): number {
    return sType(OPC.STORE, STORES[name]!, rs1, rs2, imm);
  },
  jalr(rd: number, rs1: number, imm: number): number {
    return iType(OPC.JALR, 0, rd, rs1, imm);
  },
  csr(funct3: number, rd: number, csr: number, rs1OrUimm: number): number {
    return iType(OPC.SYSTEM, funct3, rd, rs1OrUimm, csr);
  },
};
