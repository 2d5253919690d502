/**
 * Arithmetic and logic: the ALU group (ADD OR ADC SBB AND SUB XOR CMP), TEST, the unary group
 * (NOT NEG MUL IMUL DIV IDIV, INC DEC), IMUL with two and three operands, shifts and rotates,
 * SHLD/SHRD.
 *
 * @spec Intel SDM Vol. 2A/2B: ADD (00–05, 80/0, 81/0, 83/0), TEST (84, 85, A8, A9, F6/0, F7/0),
 *   IMUL (F7/5, 0F AF, 69, 6B), SAL/SAR/SHL/SHR and RCL/RCR/ROL/ROR (C0, C1, D0–D3), SHLD/SHRD.
 */
import {
  arity, emit, fitsImm8, type Handler, imm8, immFor, type Insn, isGpr, isImm, isMem, isRm, mismatch, operandSize, w,
} from "./forms.js";
import type { Operand } from "./operands.js";

const isAcc = (o: Operand | undefined): boolean => isGpr(o) && o.reg.num === 0;

/** ADD OR ADC SBB AND SUB XOR CMP: `n` is the opcode extension (0–7). */
export function aluOp(n: number): Handler {
  return (insn, ctx) => {
    arity(insn, 2);
    const [src, dst] = insn.ops;
    if (isImm(src) && isRm(dst)) {
      const size = operandSize(insn, [dst], 4);
      // With the size defaulted (no suffix, no register), GNU picks the immediate form from the
      // value as written: $0xffffff80 is not a sign-extended imm8 then.
      const defaulted = insn.suffix === undefined && !isGpr(dst);
      if (size !== 1 && fitsImm8(ctx, src.expr, defaulted ? 8 : size)) {
        emit(ctx, insn, { opcode: [0x83], size, reg: n, rm: dst, imms: [imm8(ctx, src.expr, size)] });
      } else if (isAcc(dst)) {
        emit(ctx, insn, { opcode: [w(0x04 + 8 * n, size)], size, imms: [immFor(src.expr, size)], extraRegs: [(dst as Operand & { k: "reg" }).reg] });
      } else {
        emit(ctx, insn, { opcode: [w(0x80, size)], size, reg: n, rm: dst, imms: [immFor(src.expr, size)] });
      }
    } else if (isGpr(src) && isRm(dst)) {
      emit(ctx, insn, { opcode: [w(8 * n, operandSize(insn, [src, dst]))], size: operandSize(insn, [src, dst]), reg: src.reg, rm: dst });
    } else if (isMem(src) && isGpr(dst)) {
      const size = operandSize(insn, [dst]);
      emit(ctx, insn, { opcode: [w(8 * n + 2, size)], size, reg: dst.reg, rm: src });
    } else {
      mismatch(insn);
    }
  };
}

/** TEST: no sign-extended imm8 form; register and memory operands in either order. */
export const test: Handler = (insn, ctx) => {
  arity(insn, 2);
  const [a, b] = insn.ops;
  if (isImm(a) && isRm(b)) {
    const size = operandSize(insn, [b], 4);
    if (isAcc(b)) emit(ctx, insn, { opcode: [w(0xa8, size)], size, imms: [immFor(a.expr, size)], extraRegs: [(b as Operand & { k: "reg" }).reg] });
    else emit(ctx, insn, { opcode: [w(0xf6, size)], size, reg: 0, rm: b, imms: [immFor(a.expr, size)] });
  } else if (isGpr(a) && isRm(b)) {
    const size = operandSize(insn, [a, b]);
    emit(ctx, insn, { opcode: [w(0x84, size)], size, reg: a.reg, rm: b });
  } else if (isMem(a) && isGpr(b)) {
    const size = operandSize(insn, [b]);
    emit(ctx, insn, { opcode: [w(0x84, size)], size, reg: b.reg, rm: a });
  } else {
    mismatch(insn);
  }
};

/** One r/m operand with opcode `byteOp`/`byteOp+1` and extension `n` (NOT NEG MUL DIV IDIV INC DEC). */
export function unary(byteOp: number, n: number): Handler {
  return (insn, ctx) => {
    arity(insn, 1);
    const [rm] = insn.ops;
    if (!isRm(rm) || rm.star) mismatch(insn);
    const size = operandSize(insn, [rm], 4);
    emit(ctx, insn, { opcode: [w(byteOp, size)], size, reg: n, rm });
  };
}

/** IMUL: one operand (F7/5), `rm, reg` (0F AF), `$imm, reg` and `$imm, rm, reg` (6B ib / 69 iz). */
export const imul: Handler = (insn, ctx) => {
  arity(insn, 1, 2, 3);
  const ops = insn.ops;
  if (ops.length === 1) return unary(0xf6, 5)(insn, ctx);
  const [a, b, c] = ops;
  if (ops.length === 2 && isRm(a) && isGpr(b)) {
    const size = operandSize(insn, [a, b]);
    if (size === 1) mismatch(insn);
    return emit(ctx, insn, { opcode: [0x0f, 0xaf], size, reg: b.reg, rm: a });
  }
  const rm = b;
  const src = ops.length === 2 ? b : c;
  if (!isImm(a) || !isRm(rm) || !isGpr(src)) mismatch(insn);
  const size = operandSize(insn, [rm, src]);
  if (size === 1) mismatch(insn);
  if (fitsImm8(ctx, a.expr, size)) {
    emit(ctx, insn, { opcode: [0x6b], size, reg: src.reg, rm, imms: [imm8(ctx, a.expr, size)] });
  } else {
    emit(ctx, insn, { opcode: [0x69], size, reg: src.reg, rm, imms: [immFor(a.expr, size)] });
  }
};

/**
 * The shift-count register: %cl, or (as GNU also takes them) %ecx and %rcx, which mean %cl;
 * with a suffix, those two must have its size.
 */
function isCountRegister(o: Operand, insn: Insn): boolean {
  if (o.k !== "reg" || o.star || !["cl", "ecx", "rcx"].includes(o.reg.name)) return false;
  if (o.reg.name !== "cl" && insn.suffix !== undefined && o.reg.size !== insn.suffix) mismatch(insn);
  return true;
}

/** Shifts and rotates: `n` is the opcode extension (ROL 0 ROR 1 RCL 2 RCR 3 SHL/SAL 4 SHR 5 SAR 7). */
export function shift(n: number): Handler {
  return (insn, ctx) => {
    arity(insn, 1, 2);
    const rm = insn.ops[insn.ops.length - 1];
    if (!isRm(rm) || rm.star) mismatch(insn);
    const size = operandSize(insn, [rm], 4);
    if (insn.ops.length === 1) return emit(ctx, insn, { opcode: [w(0xd0, size)], size, reg: n, rm });
    const count = insn.ops[0]!;
    if (isCountRegister(count, insn)) {
      return emit(ctx, insn, { opcode: [w(0xd2, size)], size, reg: n, rm });
    }
    if (!isImm(count)) mismatch(insn);
    if (ctx.constValue(count.expr) === 1n) return emit(ctx, insn, { opcode: [w(0xd0, size)], size, reg: n, rm });
    emit(ctx, insn, { opcode: [w(0xc0, size)], size, reg: n, rm, imms: [{ expr: count.expr, size: 1, range: "any" }] });
  };
}

/** SHLD (0F A4/A5) and SHRD (0F AC/AD): `$imm|%cl, reg, rm`, or `reg, rm` meaning by %cl. */
export function doubleShift(base: number): Handler {
  return (insn, ctx) => {
    arity(insn, 2, 3);
    const ops = insn.ops.length === 2 ? [undefined, ...insn.ops] : insn.ops;
    const [count, src, rm] = ops;
    if (!isGpr(src) || !isRm(rm)) mismatch(insn);
    const size = operandSize(insn, [src, rm]);
    if (size === 1) mismatch(insn);
    if (count === undefined || isCountRegister(count, insn)) {
      return emit(ctx, insn, { opcode: [0x0f, base + 1], size, reg: src.reg, rm });
    }
    if (!isImm(count)) mismatch(insn);
    emit(ctx, insn, { opcode: [0x0f, base], size, reg: src.reg, rm, imms: [{ expr: count.expr, size: 1, range: "any" }] });
  };
}

/** Handlers of this file by base mnemonic. */
export const ALU_HANDLERS: [string, Handler][] = [
  ...["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"].map((m, n): [string, Handler] => [m, aluOp(n)]),
  ["test", test],
  ["not", unary(0xf6, 2)], ["neg", unary(0xf6, 3)], ["mul", unary(0xf6, 4)], ["div", unary(0xf6, 6)], ["idiv", unary(0xf6, 7)],
  ["inc", unary(0xfe, 0)], ["dec", unary(0xfe, 1)],
  ["imul", imul],
  ["rol", shift(0)], ["ror", shift(1)], ["rcl", shift(2)], ["rcr", shift(3)],
  ["shl", shift(4)], ["sal", shift(4)], ["shr", shift(5)], ["sar", shift(7)],
  ["shld", doubleShift(0xa4)], ["shrd", doubleShift(0xac)],
];
