/**
 * RV64C: expands a 16-bit compressed instruction into the 32-bit instruction it stands for, so the
 * decoder has one path. Reserved and unimplemented encodings (floating point, HINT-free reserved
 * forms such as c.addi4spn with imm 0) expand to 0, which decodes as illegal.
 * @spec RISC-V Unprivileged ISA, chapter "C" Standard Extension, RVC opcode map (RV64 column)
 */

const bits = (v: number, hi: number, lo: number): number => (v >>> lo) & ((1 << (hi - lo + 1)) - 1);
const sext = (v: number, n: number): number => (v << (32 - n)) >> (32 - n);

const iType = (imm: number, rs1: number, f3: number, rd: number, opc: number): number =>
  ((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc;
const rType = (f7: number, rs2: number, rs1: number, f3: number, rd: number, opc: number): number =>
  (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc;
const sType = (imm: number, rs2: number, rs1: number, f3: number, opc: number): number =>
  (((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | opc;
const bType = (imm: number, rs2: number, rs1: number, f3: number): number =>
  (((imm >> 12) & 1) << 31) | (((imm >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) |
  (((imm >> 1) & 0xf) << 8) | (((imm >> 11) & 1) << 7) | 0x63;
const jType = (imm: number, rd: number): number =>
  (((imm >> 20) & 1) << 31) | (((imm >> 1) & 0x3ff) << 21) | (((imm >> 11) & 1) << 20) | (((imm >> 12) & 0xff) << 12) | (rd << 7) | 0x6f;

const OP_IMM = 0x13, OP_IMM32 = 0x1b, OP = 0x33, OP32 = 0x3b, LOAD = 0x03, STORE = 0x23, LUI = 0x37, JALR = 0x67, SYSTEM = 0x73;

/** Returns the 32-bit equivalent of compressed instruction `c`, or 0 if it is reserved/unsupported. */
export function expandCompressed(c: number): number {
  const quadrant = c & 3;
  const f3 = bits(c, 15, 13);
  const rdp = bits(c, 4, 2) + 8;
  const rs1p = bits(c, 9, 7) + 8;
  const rd = bits(c, 11, 7);
  const rs2 = bits(c, 6, 2);
  if (quadrant === 0) {
    switch (f3) {
      case 0: {
        const imm = (bits(c, 10, 7) << 6) | (bits(c, 12, 11) << 4) | (bits(c, 5, 5) << 3) | (bits(c, 6, 6) << 2);
        return imm === 0 ? 0 : iType(imm, 2, 0, rdp, OP_IMM); // c.addi4spn
      }
      case 2: return iType((bits(c, 5, 5) << 6) | (bits(c, 12, 10) << 3) | (bits(c, 6, 6) << 2), rs1p, 2, rdp, LOAD); // c.lw
      case 3: return iType((bits(c, 6, 5) << 6) | (bits(c, 12, 10) << 3), rs1p, 3, rdp, LOAD); // c.ld
      case 6: return sType((bits(c, 5, 5) << 6) | (bits(c, 12, 10) << 3) | (bits(c, 6, 6) << 2), rdp, rs1p, 2, STORE); // c.sw
      case 7: return sType((bits(c, 6, 5) << 6) | (bits(c, 12, 10) << 3), rdp, rs1p, 3, STORE); // c.sd
      default: return 0; // c.fld, c.fsd, reserved
    }
  }
  if (quadrant === 1) {
    const imm6 = sext((bits(c, 12, 12) << 5) | bits(c, 6, 2), 6);
    switch (f3) {
      case 0: return iType(imm6, rd, 0, rd, OP_IMM); // c.addi / c.nop
      case 1: return rd === 0 ? 0 : iType(imm6, rd, 0, rd, OP_IMM32); // c.addiw
      case 2: return iType(imm6, 0, 0, rd, OP_IMM); // c.li
      case 3:
        if (rd === 2) {
          const imm = sext((bits(c, 12, 12) << 9) | (bits(c, 4, 3) << 7) | (bits(c, 5, 5) << 6) | (bits(c, 2, 2) << 5) | (bits(c, 6, 6) << 4), 10);
          return imm === 0 ? 0 : iType(imm, 2, 0, 2, OP_IMM); // c.addi16sp
        }
        return imm6 === 0 ? 0 : ((imm6 << 12) & 0xfffff000) | (rd << 7) | LUI; // c.lui
      case 4: {
        const f2 = bits(c, 11, 10);
        const shamt = (bits(c, 12, 12) << 5) | bits(c, 6, 2);
        if (f2 === 0) return iType(shamt, rs1p, 5, rs1p, OP_IMM); // c.srli
        if (f2 === 1) return iType(shamt | 0x400, rs1p, 5, rs1p, OP_IMM); // c.srai
        if (f2 === 2) return iType(imm6, rs1p, 7, rs1p, OP_IMM); // c.andi
        const f = (bits(c, 12, 12) << 2) | bits(c, 6, 5);
        switch (f) {
          case 0: return rType(0x20, rdp, rs1p, 0, rs1p, OP); // c.sub
          case 1: return rType(0, rdp, rs1p, 4, rs1p, OP); // c.xor
          case 2: return rType(0, rdp, rs1p, 6, rs1p, OP); // c.or
          case 3: return rType(0, rdp, rs1p, 7, rs1p, OP); // c.and
          case 4: return rType(0x20, rdp, rs1p, 0, rs1p, OP32); // c.subw
          case 5: return rType(0, rdp, rs1p, 0, rs1p, OP32); // c.addw
          default: return 0;
        }
      }
      case 5: {
        const imm = sext((bits(c, 12, 12) << 11) | (bits(c, 8, 8) << 10) | (bits(c, 10, 9) << 8) | (bits(c, 6, 6) << 7) |
          (bits(c, 7, 7) << 6) | (bits(c, 2, 2) << 5) | (bits(c, 11, 11) << 4) | (bits(c, 5, 3) << 1), 12);
        return jType(imm, 0); // c.j
      }
      default: {
        const imm = sext((bits(c, 12, 12) << 8) | (bits(c, 6, 5) << 6) | (bits(c, 2, 2) << 5) | (bits(c, 11, 10) << 3) | (bits(c, 4, 3) << 1), 9);
        return bType(imm, 0, rs1p, f3 === 6 ? 0 : 1); // c.beqz / c.bnez
      }
    }
  }
  if (quadrant === 2) {
    switch (f3) {
      case 0: return iType((bits(c, 12, 12) << 5) | bits(c, 6, 2), rd, 1, rd, OP_IMM); // c.slli
      case 2: return rd === 0 ? 0 : iType((bits(c, 3, 2) << 6) | (bits(c, 12, 12) << 5) | (bits(c, 6, 4) << 2), 2, 2, rd, LOAD); // c.lwsp
      case 3: return rd === 0 ? 0 : iType((bits(c, 4, 2) << 6) | (bits(c, 12, 12) << 5) | (bits(c, 6, 5) << 3), 2, 3, rd, LOAD); // c.ldsp
      case 4:
        if (bits(c, 12, 12) === 0) {
          if (rs2 === 0) return rd === 0 ? 0 : iType(0, rd, 0, 0, JALR); // c.jr
          return rType(0, rs2, 0, 0, rd, OP); // c.mv
        }
        if (rs2 === 0) return rd === 0 ? 0x00100073 | SYSTEM : iType(0, rd, 0, 1, JALR); // c.ebreak / c.jalr
        return rType(0, rs2, rd, 0, rd, OP); // c.add
      case 6: return sType((bits(c, 8, 7) << 6) | (bits(c, 12, 9) << 2), rs2, 2, 2, STORE); // c.swsp
      case 7: return sType((bits(c, 9, 7) << 6) | (bits(c, 12, 10) << 3), rs2, 2, 3, STORE); // c.sdsp
      default: return 0;
    }
  }
  return 0;
}
