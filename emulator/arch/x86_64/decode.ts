/**
 * The 64-bit-mode decoder: legacy prefixes, REX, one- and two-byte opcodes (and 0F 38 for INVPCID),
 * ModRM/SIB/displacement, RIP-relative addressing and immediates, into an {@link Insn}.
 * Anything not implemented or not valid in 64-bit mode decodes as Op.UD (#UD when executed).
 * @spec Intel SDM Vol. 2 §2.1 (instruction format), §2.2.1 (REX), Appendix A (opcode map)
 */
import { AH_BASE, Insn, NO_REG, Op, SEG_FS, SEG_GS, SEG_NONE } from "./insn.js";
import { lockable, specialize } from "./specialize.js";

/** Result of {@link decodeInsn}: decoded, or the instruction needs bytes past `limit`. */
export const DECODED = 0, NEED_MORE = 1;

/** Maximum instruction length; longer is #GP(0). @spec SDM Vol. 2 §2.3.11 */
export const MAX_INSN_LEN = 15;

/** Decoder state for one instruction (module-level scratch: decoding is never re-entered). */
let buf: Uint8Array = new Uint8Array(0);
let pos = 0;
let lim = 0;
let short = false;

function byte(): number {
  if (pos >= lim) {
    short = true;
    return 0;
  }
  return buf[pos++]!;
}
function s8(): number {
  return (byte() << 24) >> 24;
}
function u16(): number {
  return byte() | (byte() << 8);
}
function s32(): number {
  return byte() | (byte() << 8) | (byte() << 16) | (byte() << 24);
}

/**
 * Decodes the instruction at `b[start]` into `ins`, reading no byte at or after `limit`.
 * Returns {@link DECODED} or {@link NEED_MORE} (the instruction continues past `limit`).
 * With `specialized` false the frequent forms keep their general ops (for step.ts alone).
 */
export function decodeInsn(b: Uint8Array, start: number, limit: number, ins: Insn, specialized = true): number {
  buf = b;
  pos = start;
  lim = Math.min(limit, start + MAX_INSN_LEN + 1);
  short = false;
  reset(ins);
  decodeBody(ins);
  const len = pos - start;
  if (len > MAX_INSN_LEN) {
    ins.op = Op.GP0;
    ins.len = MAX_INSN_LEN;
    return DECODED;
  }
  if (short) return limit - start > MAX_INSN_LEN ? (ins.op = Op.GP0, ins.len = MAX_INSN_LEN, DECODED) : NEED_MORE;
  ins.len = len;
  if (ins.lock && !lockable(ins)) ins.op = Op.UD;
  else if (specialized) specialize(ins);
  return DECODED;
}

function reset(i: Insn): void {
  i.op = Op.UD; i.len = 1; i.size = 4; i.size2 = 0; i.reg = 0; i.rm = 0; i.base = NO_REG; i.index = NO_REG;
  i.scale = 0; i.disp = 0; i.seg = SEG_NONE; i.ripRel = false; i.addr32 = false; i.immLo = 0; i.immHi = 0;
  i.sub = 0; i.rep = 0; i.lock = false; i.simple = false;
}

// Prefix and REX state of the instruction being decoded.
let rex = 0;
let opsize16 = false;

/** Sets the immediate to a sign-extended 32-bit value. */
function imm32(i: Insn, v: number): void {
  i.immLo = v | 0;
  i.immHi = v >> 31;
}

/** Reads an immediate of the operand size (Iz: 8 bytes never; 64-bit size takes imm32 sign-extended). */
function immZ(i: Insn): void {
  if (i.size === 2) imm32(i, (u16() << 16) >> 16);
  else if (i.size === 1) imm32(i, s8());
  else imm32(i, s32());
}

/** Byte-register number for a 3- or 4-bit register field under the current REX state. */
function byteReg(r: number): number {
  return rex === 0 && r >= 4 && r < 8 ? AH_BASE + r - 4 : r;
}

/** Reads ModRM (and SIB, displacement) into `i.reg`, `i.rm` or the memory fields. Returns ModRM.reg (3 bits). */
function modrm(i: Insn, byteOps: boolean): number {
  const m = byte();
  const mod = m >>> 6;
  const reg3 = (m >>> 3) & 7;
  const reg = reg3 | ((rex & 4) << 1);
  i.reg = byteOps ? byteReg(reg) : reg;
  let rm = m & 7;
  if (mod === 3) {
    const r = rm | ((rex & 1) << 3);
    i.rm = byteOps ? byteReg(r) : r;
    return reg3;
  }
  i.rm = -1;
  if (rm === 4) {
    const sib = byte();
    i.scale = sib >>> 6;
    const index = ((sib >>> 3) & 7) | ((rex & 2) << 2);
    i.index = index === 4 ? NO_REG : index;
    const base = sib & 7;
    if (base === 5 && mod === 0) {
      i.base = NO_REG;
      i.disp = s32();
      return reg3;
    }
    rm = base;
    i.base = base | ((rex & 1) << 3);
  } else if (rm === 5 && mod === 0) {
    i.ripRel = true;
    i.disp = s32();
    return reg3;
  } else {
    i.base = rm | ((rex & 1) << 3);
  }
  if (mod === 1) i.disp = s8();
  else if (mod === 2) i.disp = s32();
  return reg3;
}

function decodeBody(i: Insn): void {
  rex = 0;
  opsize16 = false;
  let op: number;
  for (;;) {
    op = byte();
    if (short) return;
    switch (op) {
      case 0x66: opsize16 = true; rex = 0; continue;
      case 0x67: i.addr32 = true; rex = 0; continue;
      case 0xf0: i.lock = true; rex = 0; continue;
      case 0xf2: i.rep = 2; rex = 0; continue;
      case 0xf3: i.rep = 1; rex = 0; continue;
      case 0x26: case 0x2e: case 0x36: case 0x3e: rex = 0; continue;
      case 0x64: i.seg = SEG_FS; rex = 0; continue;
      case 0x65: i.seg = SEG_GS; rex = 0; continue;
    }
    // REX counts only immediately before the opcode: a REX followed by a prefix is ignored.
    if ((op & 0xf0) === 0x40) {
      rex = op;
      continue;
    }
    break;
  }
  i.size = rex & 8 ? 8 : opsize16 ? 2 : 4;
  if (op === 0x0f) return decode0F(i);
  decodeOneByte(i, op);
}

/** Default-64-bit operand size (PUSH, POP, near branches): 8, or 2 with 66h. */
function size64(i: Insn): void {
  i.size = opsize16 && (rex & 8) === 0 ? 2 : 8;
}

function decodeOneByte(i: Insn, op: number): void {
  if (op < 0x40 && (op & 7) < 6) {
    i.sub = op >>> 3;
    switch (op & 7) {
      case 0: i.size = 1; modrm(i, true); i.op = Op.ALU_RM_R; return;
      case 1: modrm(i, false); i.op = Op.ALU_RM_R; return;
      case 2: i.size = 1; modrm(i, true); i.op = Op.ALU_R_RM; return;
      case 3: modrm(i, false); i.op = Op.ALU_R_RM; return;
      case 4: i.size = 1; i.rm = 0; imm32(i, s8()); i.op = Op.ALU_RM_I; return;
      default: i.rm = 0; immZ(i); i.op = Op.ALU_RM_I; return;
    }
  }
  if (op >= 0x50 && op <= 0x5f) {
    size64(i);
    i.rm = (op & 7) | ((rex & 1) << 3);
    i.op = op < 0x58 ? Op.PUSH_R : Op.POP_R;
    return;
  }
  if (op >= 0x70 && op <= 0x7f) {
    i.sub = op & 15;
    imm32(i, s8());
    i.op = Op.JCC;
    return;
  }
  if (op >= 0x91 && op <= 0x97) {
    i.rm = (op & 7) | ((rex & 1) << 3);
    i.reg = 0;
    i.op = Op.XCHG;
    return;
  }
  if (op >= 0xb0 && op <= 0xbf) {
    const r = (op & 7) | ((rex & 1) << 3);
    if (op < 0xb8) {
      i.size = 1;
      i.rm = byteReg(r);
      imm32(i, s8());
    } else {
      i.rm = r;
      if (i.size === 8) {
        i.immLo = s32();
        i.immHi = s32();
      } else immZ(i);
    }
    i.op = Op.MOV_RM_I;
    return;
  }
  switch (op) {
    case 0x63: modrm(i, false); i.size2 = 4; i.op = i.size === 8 ? Op.MOVSX : Op.MOV_R_RM; return;
    case 0x68: size64(i); immZ(i); i.op = Op.PUSH_I; return;
    case 0x6a: size64(i); imm32(i, s8()); i.op = Op.PUSH_I; return;
    case 0x69: modrm(i, false); immZ(i); i.op = Op.IMUL3; return;
    case 0x6b: modrm(i, false); imm32(i, s8()); i.op = Op.IMUL3; return;
    case 0x80: i.size = 1; i.sub = modrm(i, true); imm32(i, s8()); i.op = Op.ALU_RM_I; return;
    case 0x81: i.sub = modrm(i, false); immZ(i); i.op = Op.ALU_RM_I; return;
    case 0x83: i.sub = modrm(i, false); imm32(i, s8()); i.op = Op.ALU_RM_I; return;
    case 0x84: i.size = 1; modrm(i, true); i.op = Op.TEST_RM_R; return;
    case 0x85: modrm(i, false); i.op = Op.TEST_RM_R; return;
    case 0x86: i.size = 1; modrm(i, true); i.op = Op.XCHG; return;
    case 0x87: modrm(i, false); i.op = Op.XCHG; return;
    case 0x88: i.size = 1; modrm(i, true); i.op = Op.MOV_RM_R; return;
    case 0x89: modrm(i, false); i.op = Op.MOV_RM_R; return;
    case 0x8a: i.size = 1; modrm(i, true); i.op = Op.MOV_R_RM; return;
    case 0x8b: modrm(i, false); i.op = Op.MOV_R_RM; return;
    case 0x8c: modrm(i, false); if (i.rm < 0) i.size = 2; i.reg &= 7; i.op = i.reg < 6 ? Op.MOV_RM_SREG : Op.UD; return;
    case 0x8d: modrm(i, false); i.seg = SEG_NONE; i.op = i.rm < 0 ? Op.LEA : Op.UD; return;
    case 0x8e: i.size = 2; modrm(i, false); i.reg &= 7; i.op = i.reg < 6 && i.reg !== 1 ? Op.MOV_SREG_RM : Op.UD; return;
    case 0x8f: size64(i); i.op = modrm(i, false) === 0 ? Op.POP_RM : Op.UD; return;
    case 0x90:
      if (rex & 1) { i.rm = 8; i.reg = 0; i.op = Op.XCHG; return; }
      i.op = i.rep === 1 ? Op.PAUSE : Op.NOP;
      return;
    case 0x98: i.op = Op.CONV_A; return;
    case 0x99: i.op = Op.CONV_D; return;
    case 0x9c: size64(i); i.op = Op.PUSHF; return;
    case 0x9d: size64(i); i.op = Op.POPF; return;
    case 0x9e: i.op = Op.SAHF; return;
    case 0x9f: i.op = Op.LAHF; return;
    case 0xa4: i.size = 1; i.op = Op.MOVS; return;
    case 0xa5: i.op = Op.MOVS; return;
    case 0xa6: i.size = 1; i.op = Op.CMPS; return;
    case 0xa7: i.op = Op.CMPS; return;
    case 0xa8: i.size = 1; i.rm = 0; imm32(i, s8()); i.op = Op.TEST_RM_I; return;
    case 0xa9: i.rm = 0; immZ(i); i.op = Op.TEST_RM_I; return;
    case 0xaa: i.size = 1; i.op = Op.STOS; return;
    case 0xab: i.op = Op.STOS; return;
    case 0xac: i.size = 1; i.op = Op.LODS; return;
    case 0xad: i.op = Op.LODS; return;
    case 0xae: i.size = 1; i.op = Op.SCAS; return;
    case 0xaf: i.op = Op.SCAS; return;
    case 0xc0: i.size = 1; i.sub = modrm(i, true); imm32(i, byte()); i.op = Op.SHIFT; return;
    case 0xc1: i.sub = modrm(i, false); imm32(i, byte()); i.op = Op.SHIFT; return;
    case 0xd0: i.size = 1; i.sub = modrm(i, true); imm32(i, 1); i.op = Op.SHIFT; return;
    case 0xd1: i.sub = modrm(i, false); imm32(i, 1); i.op = Op.SHIFT; return;
    case 0xd2: i.size = 1; i.sub = modrm(i, true); i.size2 = 1; i.op = Op.SHIFT; return;
    case 0xd3: i.sub = modrm(i, false); i.size2 = 1; i.op = Op.SHIFT; return;
    case 0xc2: size64(i); imm32(i, u16()); i.op = Op.RET; return;
    case 0xc3: size64(i); i.op = Op.RET; return;
    case 0xc6: i.size = 1; i.op = modrm(i, true) === 0 ? Op.MOV_RM_I : Op.UD; imm32(i, s8()); return;
    case 0xc7: i.op = modrm(i, false) === 0 ? Op.MOV_RM_I : Op.UD; immZ(i); return;
    case 0xc9: size64(i); i.op = Op.LEAVE; return;
    case 0xca: imm32(i, u16()); i.op = Op.LRET; return;
    case 0xcb: i.op = Op.LRET; return;
    case 0xcc: i.op = Op.INT3; return;
    case 0xcd: imm32(i, byte()); i.op = Op.INT; return;
    case 0xcf: i.op = Op.IRET; return;
    case 0xe0: case 0xe1: case 0xe2: i.sub = op & 3; imm32(i, s8()); i.op = Op.LOOP; return;
    case 0xe3: imm32(i, s8()); i.op = Op.JRCXZ; return;
    case 0xe4: i.size = 1; imm32(i, byte()); i.op = Op.IN; return;
    case 0xe5: if (i.size === 8) i.size = 4; imm32(i, byte()); i.op = Op.IN; return;
    case 0xe6: i.size = 1; imm32(i, byte()); i.op = Op.OUT; return;
    case 0xe7: if (i.size === 8) i.size = 4; imm32(i, byte()); i.op = Op.OUT; return;
    case 0xec: i.size = 1; i.size2 = 1; i.op = Op.IN; return;
    case 0xed: if (i.size === 8) i.size = 4; i.size2 = 1; i.op = Op.IN; return;
    case 0xee: i.size = 1; i.size2 = 1; i.op = Op.OUT; return;
    case 0xef: if (i.size === 8) i.size = 4; i.size2 = 1; i.op = Op.OUT; return;
    case 0xe8: size64(i); imm32(i, s32()); i.size = 8; i.op = Op.CALL_REL; return;
    case 0xe9: imm32(i, s32()); i.op = Op.JMP_REL; return;
    case 0xeb: imm32(i, s8()); i.op = Op.JMP_REL; return;
    case 0xf4: i.op = Op.HLT; return;
    case 0xf5: i.op = Op.CMC; return;
    case 0xf6: case 0xf7: {
      if (op === 0xf6) i.size = 1;
      const r = modrm(i, op === 0xf6);
      const ops = [Op.TEST_RM_I, Op.TEST_RM_I, Op.NOT, Op.NEG, Op.MUL, Op.IMUL1, Op.DIV, Op.IDIV];
      i.op = ops[r]!;
      if (r < 2) {
        if (op === 0xf6) imm32(i, s8());
        else immZ(i);
      }
      return;
    }
    case 0xf8: i.op = Op.CLC; return;
    case 0xf9: i.op = Op.STC; return;
    case 0xfa: i.op = Op.CLI; return;
    case 0xfb: i.op = Op.STI; return;
    case 0xfc: i.op = Op.CLD; return;
    case 0xfd: i.op = Op.STD; return;
    case 0xfe: { i.size = 1; const r = modrm(i, true); i.op = r === 0 ? Op.INC : r === 1 ? Op.DEC : Op.UD; return; }
    case 0xff: {
      const r = modrm(i, false);
      switch (r) {
        case 0: i.op = Op.INC; return;
        case 1: i.op = Op.DEC; return;
        case 2: i.size = 8; i.op = Op.CALL_RM; return;
        case 4: i.size = 8; i.op = Op.JMP_RM; return;
        case 6: size64(i); i.op = Op.PUSH_RM; return;
        default: i.op = Op.UD; return;
      }
    }
    default: i.op = Op.UD;
  }
}

function decode0F(i: Insn): void {
  const op = byte();
  if (op >= 0x40 && op <= 0x4f) { i.sub = op & 15; modrm(i, false); i.op = Op.CMOV; return; }
  if (op >= 0x80 && op <= 0x8f) { i.sub = op & 15; imm32(i, s32()); i.op = Op.JCC; return; }
  if (op >= 0x90 && op <= 0x9f) { i.sub = op & 15; i.size = 1; modrm(i, true); i.op = Op.SETCC; return; }
  if (op >= 0xc8 && op <= 0xcf) { i.rm = (op & 7) | ((rex & 1) << 3); i.op = i.size === 2 ? Op.UD : Op.BSWAP; return; }
  switch (op) {
    case 0x00: {
      const r = modrm(i, false);
      i.size = 2;
      i.op = r === 1 ? Op.STR : r === 2 ? Op.LLDT : r === 3 ? Op.LTR : Op.UD;
      return;
    }
    case 0x01: return decode0F01(i);
    case 0x05: i.op = Op.SYSCALL; return;
    case 0x07: i.op = Op.SYSRET; return;
    // INVD, WBINVD: CPL 0 only (they were NOPs everywhere; found by test/fuzz/decode-x86.test.ts).
    case 0x08: case 0x09: i.op = Op.WBINVD; return;
    case 0x0b: i.op = Op.UD; return;
    case 0x0d: {
      // PREFETCH/PREFETCHW name a memory byte: the register form is #UD (as QEMU decodes it).
      // Found by test/fuzz/decode-x86.test.ts against objdump. @spec SDM Vol. 2B PREFETCHW ("0F 0D /1 PREFETCHW m8")
      const register = (buf[pos]! >>> 6) === 3;
      modrm(i, false);
      i.op = register ? Op.UD : Op.NOP;
      return;
    }
    case 0x18: case 0x19: case 0x1a: case 0x1b: case 0x1c: case 0x1d: case 0x1e: case 0x1f:
      modrm(i, false);
      i.op = Op.NOP;
      return;
    case 0x20: case 0x22: {
      const m = byte();
      i.reg = ((m >>> 3) & 7) | ((rex & 4) << 1);
      i.rm = (m & 7) | ((rex & 1) << 3);
      i.size = 8;
      i.op = op === 0x20 ? Op.MOV_FROM_CR : Op.MOV_TO_CR;
      return;
    }
    case 0x30: i.op = Op.WRMSR; return;
    case 0x31: i.op = Op.RDTSC; return;
    case 0x32: i.op = Op.RDMSR; return;
    case 0x38: {
      const op3 = byte();
      if (op3 === 0x82 && opsize16) { modrm(i, false); i.size = 8; i.op = i.rm < 0 ? Op.INVPCID : Op.UD; return; }
      i.op = Op.UD;
      return;
    }
    case 0xa2: i.op = Op.CPUID; return;
    case 0xa3: modrm(i, false); i.sub = 0; i.op = Op.BT; return;
    case 0xab: modrm(i, false); i.sub = 1; i.op = Op.BT; return;
    case 0xb3: modrm(i, false); i.sub = 2; i.op = Op.BT; return;
    case 0xbb: modrm(i, false); i.sub = 3; i.op = Op.BT; return;
    case 0xba: {
      const r = modrm(i, false);
      imm32(i, byte());
      i.size2 = 1;
      i.sub = r - 4;
      i.op = r >= 4 ? Op.BT : Op.UD;
      return;
    }
    case 0xa4: modrm(i, false); imm32(i, byte()); i.op = Op.SHLD; return;
    case 0xa5: modrm(i, false); i.size2 = 1; i.op = Op.SHLD; return;
    case 0xac: modrm(i, false); imm32(i, byte()); i.op = Op.SHRD; return;
    case 0xad: modrm(i, false); i.size2 = 1; i.op = Op.SHRD; return;
    case 0xae: {
      const m = buf[pos];
      if (m !== undefined && m >= 0xe8 && pos < lim) { pos++; i.op = m === 0xe8 || m === 0xf0 || m === 0xf8 ? Op.NOP : Op.UD; return; }
      const r = modrm(i, false);
      i.op = r === 7 && i.rm < 0 ? Op.NOP : Op.UD;
      return;
    }
    case 0xaf: modrm(i, false); i.op = Op.IMUL2; return;
    case 0xb0: i.size = 1; modrm(i, true); i.op = Op.CMPXCHG; return;
    case 0xb1: modrm(i, false); i.op = Op.CMPXCHG; return;
    case 0xb6: modrm(i, false); i.size2 = 1; fixByteSource(i); i.op = Op.MOVZX; return;
    case 0xb7: modrm(i, false); i.size2 = 2; i.op = Op.MOVZX; return;
    case 0xbe: modrm(i, false); i.size2 = 1; fixByteSource(i); i.op = Op.MOVSX; return;
    case 0xbf: modrm(i, false); i.size2 = 2; i.op = Op.MOVSX; return;
    case 0xb8: modrm(i, false); i.op = i.rep === 1 ? Op.POPCNT : Op.UD; return;
    case 0xbc: modrm(i, false); i.op = i.rep === 1 ? Op.TZCNT : Op.BSF; return;
    case 0xbd: modrm(i, false); i.op = i.rep === 1 ? Op.LZCNT : Op.BSR; return;
    case 0xc0: i.size = 1; modrm(i, true); i.op = Op.XADD; return;
    case 0xc1: modrm(i, false); i.op = Op.XADD; return;
    case 0xc3: modrm(i, false); i.op = i.rm < 0 && i.size >= 4 ? Op.MOV_RM_R : Op.UD; return;
    default: i.op = Op.UD;
  }
}

/** MOVZX/MOVSX from a byte register: the source follows the byte-register rules. */
function fixByteSource(i: Insn): void {
  if (i.rm >= 0) i.rm = byteReg(i.rm);
}

function decode0F01(i: Insn): void {
  const m = buf[pos];
  if (m === undefined || pos >= lim) { short = true; return; }
  if (m >= 0xc0) {
    pos++;
    switch (m) {
      case 0xca: i.op = Op.CLAC; return;
      case 0xcb: i.op = Op.STAC; return;
      case 0xf8: i.op = Op.SWAPGS; return;
      case 0xf9: i.op = Op.RDTSCP; return;
      default: i.op = Op.UD; return;
    }
  }
  const r = modrm(i, false);
  i.op = [Op.SGDT, Op.SIDT, Op.LGDT, Op.LIDT, Op.UD, Op.UD, Op.UD, Op.INVLPG][r]!;
}
