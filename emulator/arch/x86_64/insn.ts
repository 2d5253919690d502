/**
 * The decoded form of one x86_64 instruction, as the decoder leaves it in the per-physical-page
 * decode cache and the executor reads it. Objects are created only when a page is decoded, never
 * per executed instruction.
 */

/** Operation numbers of the executor. */
export const enum Op {
  UD = 0, CROSS,
  // Specialized forms the executor runs inline (specialize.ts): registers are 64- or 32-bit (size 8
  // or 4), `reg` is the destination and `rm` the source register where both are registers. They come
  // first, with JCC and JMP_REL, so the execute loop's switch over them compiles to a dense table.
  F_MOV_RR, F_MOV_RI, F_ALU_RR, F_ALU_RI, F_PUSH, F_POP, F_INCDEC, F_IMUL_RR, F_IMUL_RI, F_SHIFT_RI, F_MOVX_R,
  // Near CALL rel32 and RET (no immediate), with the stack access inline.
  F_CALL, F_RET,
  JCC, JMP_REL,
  // Forms with a memory operand whose address the loop computes before dispatch (F_LEA..F_ALU_RLD):
  // LEA; loads and stores of size 4/8; byte/word stores from a low register (not AH..BH); MOVZX/MOVSX
  // from memory to a 32/64-bit register; store an immediate, compare/test memory with an immediate
  // (any size); reg op= memory (size 4/8).
  F_LEA, F_MOV_LD, F_MOV_ST, F_MOV_ST_BW, F_MOVX_LD, F_MOV_MI, F_CMP_MI, F_ALU_RLD,
  NATIVE,
  // data movement
  MOV_RM_R, MOV_R_RM, MOV_RM_I, MOVZX, MOVSX, LEA, XCHG, MOV_SREG_RM, MOV_RM_SREG,
  PUSH_R, POP_R, PUSH_I, PUSH_RM, POP_RM, LEAVE, CONV_A, CONV_D, BSWAP, CMOV, SETCC, LAHF, SAHF,
  // arithmetic and logic
  ALU_RM_R, ALU_R_RM, ALU_RM_I, TEST_RM_R, TEST_RM_I, INC, DEC, NOT, NEG, MUL, IMUL1, IMUL2, IMUL3, DIV, IDIV,
  SHIFT, SHLD, SHRD, BT, BSF, BSR, TZCNT, LZCNT, POPCNT, CMPXCHG, XADD,
  // control transfer
  CALL_REL, JMP_RM, CALL_RM, RET, JRCXZ, LOOP,
  // strings
  MOVS, STOS, LODS, CMPS, SCAS,
  // flags and misc
  NOP, PAUSE, CLC, STC, CMC, CLD, STD, CLI, STI, PUSHF, POPF, HLT,
  // system
  INT, INT3, IRET, LRET, IN, OUT, MOV_FROM_CR, MOV_TO_CR, RDMSR, WRMSR, RDTSC, RDTSCP, CPUID, SWAPGS,
  INVLPG, INVPCID, LGDT, LIDT, SGDT, SIDT, LTR, STR, LLDT, SYSCALL, SYSRET, STAC, CLAC, GP0,
  /** INVD and WBINVD: privileged; there is no cache to write back or drop. */
  WBINVD,
  /** One past the last op: ops fit in the 8-bit INFO field. */
  COUNT,
}

/**
 * The packed form of an instruction in a decoded page's `info` array (fetch.ts), holding what the
 * execute loop reads inline: op in bits 7:0, length 11:8, reg 16:12, rm (or the base register of a
 * simple memory operand) 21:17, sub 25:22, log2(size) 27:26, {@link Insn.simple} 28, size2 31:29.
 * A decoded instruction's info is never 0 (its length is at least 1), so 0 marks "not decoded".
 * (A const enum, so the bundler inlines the numbers into the loop.)
 */
export const enum Info {
  LEN = 8, REG = 12, RM = 17, SUB = 22, SIZE = 26, SIZE2 = 29,
  SIMPLE = 1 << 28,
  /** Operand size 8, for the 4/8-byte forms (size codes 2 and 3 differ in this bit alone). */
  SIZE8 = 1 << 26,
}

/** ALU kind of a specialized F_ALU_* op that only sets flags (TEST). */
export const ALU_TEST = 8;

/** The segment an address is relative to: none (base 0), FS or GS. */
export const SEG_NONE = 0, SEG_FS = 4, SEG_GS = 5;

/** Byte-register operands: 0..15 are the low bytes, AH_BASE + n (n = 0..3) are AH, CH, DH, BH. */
export const AH_BASE = 16;

/** No base or index register in a memory operand. */
export const NO_REG = -1;

/** One decoded instruction. */
export class Insn {
  op: Op = Op.UD;
  /** Length in bytes (1..15). */
  len = 1;
  /** Operand size in bytes: 1, 2, 4 or 8. */
  size = 4;
  /** Second size: the source size of MOVZX/MOVSX, or the shift-count form (0 immediate, 1 CL). */
  size2 = 0;
  /** ModRM.reg (with REX.R); for byte operands see {@link AH_BASE}. Also the CR number, the Sreg. */
  reg = 0;
  /** Register operand (ModRM.mod = 3, or the opcode's register), or -1 for a memory operand. */
  rm = 0;
  /** Memory operand: base register or NO_REG; index register or NO_REG; scale as a shift count. */
  base = NO_REG;
  index = NO_REG;
  scale = 0;
  /** Memory operand displacement (sign-extended 32 bits). */
  disp = 0;
  /** Segment override that has a base in 64-bit mode: SEG_NONE, SEG_FS or SEG_GS. */
  seg = SEG_NONE;
  /** RIP-relative addressing: the address is next RIP + disp. */
  ripRel = false;
  /** Address-size override (67h): the effective address is truncated to 32 bits. */
  addr32 = false;
  /** Immediate (or relative displacement), sign-extended to 64 bits as two int32 halves. */
  immLo = 0;
  immHi = 0;
  /** Sub-operation: ALU kind (ADD=0 … CMP=7), condition code, shift kind, BT kind, group op. */
  sub = 0;
  /** F3 (REP/REPE) = 1, F2 (REPNE) = 2, none = 0. */
  rep = 0;
  /** LOCK prefix present. */
  lock = false;
  /** A memory operand of the form [base + disp] (no index, segment, RIP or 67h): the loop adds it inline. */
  simple = false;
}

/** ALU kinds in opcode order (the /r of group 1 and bits 5:3 of the classic opcodes). */
export const ALU_ADD = 0, ALU_OR = 1, ALU_ADC = 2, ALU_SBB = 3, ALU_AND = 4, ALU_SUB = 5, ALU_XOR = 6, ALU_CMP = 7;
