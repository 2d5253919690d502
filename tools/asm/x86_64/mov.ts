/**
 * Data movement: MOV (general, immediate, MOVABS with 64-bit immediates and moffs, segment,
 * control and debug registers), MOVZX/MOVSX/MOVSXD in their AT&T spellings, LEA, CMOVcc, SETcc,
 * the sign-extension group (CBW...CQO), PUSH/POP, XCHG, CMPXCHG, XADD, BSWAP.
 *
 * @spec Intel SDM Vol. 2A/2B: MOV (88–8C, 8E, A0–A3, B0–BF, C6/0, C7/0), MOV to/from control
 *   registers (0F 20/22) and debug registers (0F 21/23), MOVZX (0F B6/B7), MOVSX/MOVSXD (0F BE/BF,
 *   63), LEA (8D), CMOVcc (0F 40+cc), SETcc (0F 90+cc), PUSH (50+r, 6A, 68, FF/6, 0F A0/A8), POP
 *   (58+r, 8F/0, 0F A1/A9), XCHG (86, 87, 90+r), CMPXCHG (0F B0/B1), XADD (0F C0/C1), BSWAP (0F C8+r).
 */
import {
  arity, emit, fitsImm8, type Handler, imm8, immFor, type Insn, isGpr, isImm, isMem, isRm, type MemOp, mismatch, operandSize,
  type RegOp, type Size, w, type X86Context,
} from "./forms.js";
import { defaultSegment } from "./encode.js";
import type { Operand } from "./operands.js";
import { SEGMENT_PREFIX } from "./registers.js";
import type { Expr } from "./shared.js";

const fitsS32 = (v: bigint): boolean => v >= -(1n << 31n) && v < 1n << 31n;

/** A memory operand that is only an address (no base or index): the moffs candidates. */
const isAbsolute = (o: Operand | undefined): o is MemOp => isMem(o) && !o.base && !o.index && o.disp !== undefined;

/** A constant absolute address that does not fit disp32: only the A0–A3 forms can reach it. */
function needsMoffs(ctx: X86Context, o: Operand | undefined): boolean {
  if (!isAbsolute(o)) return false;
  const v = ctx.constValue(o.disp!);
  return v !== undefined && !fitsS32(v);
}

/** `movabs addr, %acc` / `movabs %acc, addr`: A0–A3 with a 64-bit address. */
function moffs(insn: Insn, ctx: X86Context, mem: MemOp, acc: RegOp, store: boolean): void {
  if (acc.reg.num !== 0) mismatch(insn);
  const size = operandSize(insn, [acc]);
  const seg = mem.seg && mem.seg.num !== defaultSegment(mem) ? [SEGMENT_PREFIX[mem.seg.num]!] : [];
  emit(ctx, insn, { opcode: [w(store ? 0xa2 : 0xa0, size)], size, imms: [{ expr: mem.disp!, size: 8, range: "any" }], prefixes: seg });
}

/** `mov $imm, %reg`: B0+r / B8+r, or C7/0 with a sign-extended imm32 for 64-bit registers when it fits. */
function movImmReg(insn: Insn, ctx: X86Context, imm: Expr, dst: RegOp, forceAbs: boolean): void {
  const size = operandSize(insn, [dst]);
  if (size === 8 && !forceAbs) {
    const v = ctx.constValue(imm);
    if (v === undefined || fitsS32(v)) return emit(ctx, insn, { opcode: [0xc7], size, reg: 0, rm: dst, imms: [immFor(imm, 8)] });
  }
  emit(ctx, insn, { opcode: [size === 1 ? 0xb0 : 0xb8], size, opReg: dst.reg, imms: [{ expr: imm, size, range: "any" }] });
}

export const mov: Handler = (insn, ctx) => {
  arity(insn, 2);
  const [src, dst] = insn.ops;
  if (src?.k === "reg" && src.reg.kind !== "gpr" && isRm(dst)) return movSpecial(insn, ctx, src, dst, false);
  if (dst?.k === "reg" && dst.reg.kind !== "gpr" && isRm(src)) return movSpecial(insn, ctx, dst, src, true);
  if (isImm(src) && isGpr(dst)) return movImmReg(insn, ctx, src.expr, dst, false);
  if (isImm(src) && isMem(dst)) {
    const size = operandSize(insn, [], 4);
    return emit(ctx, insn, { opcode: [w(0xc6, size)], size, reg: 0, rm: dst, imms: [immFor(src.expr, size)] });
  }
  if (isGpr(src) && needsMoffs(ctx, dst)) return moffs(insn, ctx, dst as MemOp, src, true);
  if (isGpr(dst) && needsMoffs(ctx, src)) return moffs(insn, ctx, src as MemOp, dst, false);
  if (isGpr(src) && isRm(dst)) {
    const size = operandSize(insn, [src, dst]);
    return emit(ctx, insn, { opcode: [w(0x88, size)], size, reg: src.reg, rm: dst });
  }
  if (isMem(src) && isGpr(dst)) {
    const size = operandSize(insn, [dst]);
    return emit(ctx, insn, { opcode: [w(0x8a, size)], size, reg: dst.reg, rm: src });
  }
  mismatch(insn);
};

/** MOV with a segment, control or debug register (`toSpecial`: the special register is the destination). */
function movSpecial(insn: Insn, ctx: X86Context, special: RegOp, other: RegOp | MemOp, toSpecial: boolean): void {
  const r = special.reg;
  if (r.kind === "seg") {
    const size = isGpr(other) ? other.reg.size : undefined;
    if (size === 1 || (toSpecial && r.name === "cs")) mismatch(insn);
    return emit(ctx, insn, { opcode: [toSpecial ? 0x8e : 0x8c], size: size === 2 && !toSpecial ? 2 : undefined, reg: r, rm: other });
  }
  if (r.kind !== "cr" && r.kind !== "dr") mismatch(insn);
  if (!isGpr(other) || other.reg.size !== 8) mismatch(insn);
  const op = (r.kind === "cr" ? 0x20 : 0x21) + (toSpecial ? 2 : 0);
  emit(ctx, insn, { opcode: [0x0f, op], reg: r, rm: other });
}

export const movabs: Handler = (insn, ctx) => {
  arity(insn, 2);
  const [src, dst] = insn.ops;
  // The immediate form exists only with a 64-bit register (B8+r io).
  if (isImm(src) && isGpr(dst) && operandSize(insn, [dst]) === 8) return movImmReg(insn, ctx, src.expr, dst, true);
  if (isAbsolute(src) && isGpr(dst)) return moffs(insn, ctx, src, dst, false);
  if (isGpr(src) && isAbsolute(dst)) return moffs(insn, ctx, dst, src, true);
  mismatch(insn);
};

/**
 * MOVZX/MOVSX/MOVSXD: `from` is the source size (undefined: the suffix of `movzx`/`movsx`, which
 * names the source size, else the source register, else a byte for memory).
 */
function extend(opcode: number[], from: Size | undefined, to: Size | undefined): Handler {
  return (insn, ctx) => {
    arity(insn, 2);
    const [src, dst] = insn.ops;
    if (!isRm(src) || !isGpr(dst)) mismatch(insn);
    const srcSize = from ?? insn.suffix ?? (isGpr(src) ? src.reg.size : 1);
    if (isGpr(src) && src.reg.size !== srcSize) mismatch(insn);
    if (opcode.length === 1 ? srcSize !== 4 : srcSize > 2) mismatch(insn);
    const size = to ?? dst.reg.size;
    // GNU also takes the 16-to-16-bit `movzx %ax, %si` (and movsxd to 32 bits).
    if (dst.reg.size !== size || size < srcSize || size === 1) mismatch(insn);
    const op = opcode.length === 1 ? opcode : [0x0f, opcode[1]! + (srcSize === 2 ? 1 : 0)];
    emit(ctx, insn, { opcode: op, size, reg: dst.reg, rm: src });
  };
}

const lea: Handler = (insn, ctx) => {
  arity(insn, 2);
  const [src, dst] = insn.ops;
  if (!isMem(src) || !isGpr(dst) || dst.reg.size === 1) mismatch(insn);
  const size = operandSize(insn, [dst]);
  emit(ctx, insn, { opcode: [0x8d], size, reg: dst.reg, rm: src });
};

/** CMOVcc (`rm, reg`, 16/32/64-bit). */
export function cmov(cc: number): Handler {
  return (insn, ctx) => {
    arity(insn, 2);
    const [src, dst] = insn.ops;
    if (!isRm(src) || !isGpr(dst) || dst.reg.size === 1) mismatch(insn);
    emit(ctx, insn, { opcode: [0x0f, 0x40 + cc], size: operandSize(insn, [src, dst]), reg: dst.reg, rm: src });
  };
}

/** SETcc (byte r/m). */
export function setcc(cc: number): Handler {
  return (insn, ctx) => {
    arity(insn, 1);
    const [rm] = insn.ops;
    if (!isRm(rm) || operandSize(insn, [rm], 1) !== 1) mismatch(insn);
    emit(ctx, insn, { opcode: [0x0f, 0x90 + cc], reg: 0, rm });
  };
}

const push: Handler = (insn, ctx) => {
  arity(insn, 1);
  const [op] = insn.ops;
  if (op?.k === "reg" && op.reg.kind === "seg") {
    if (op.reg.name !== "fs" && op.reg.name !== "gs") mismatch(insn);
    const s = insn.suffix ?? 8;
    if (s !== 8 && s !== 2) mismatch(insn);
    return emit(ctx, insn, { opcode: [0x0f, op.reg.name === "fs" ? 0xa0 : 0xa8], size: s, noW: true });
  }
  if (isImm(op)) {
    const size = operandSize(insn, [], 8);
    if (size !== 8 && size !== 2) mismatch(insn);
    if (fitsImm8(ctx, op.expr, size)) return emit(ctx, insn, { opcode: [0x6a], size, noW: true, imms: [imm8(ctx, op.expr, size)] });
    return emit(ctx, insn, { opcode: [0x68], size, noW: true, imms: [immFor(op.expr, size)] });
  }
  pushPop(insn, ctx, 0x50, 0xff, 6);
};

const pop: Handler = (insn, ctx) => {
  arity(insn, 1);
  const [op] = insn.ops;
  if (op?.k === "reg" && op.reg.kind === "seg") {
    if (op.reg.name !== "fs" && op.reg.name !== "gs") mismatch(insn);
    const s = insn.suffix ?? 8;
    if (s !== 8 && s !== 2) mismatch(insn);
    return emit(ctx, insn, { opcode: [0x0f, op.reg.name === "fs" ? 0xa1 : 0xa9], size: s, noW: true });
  }
  pushPop(insn, ctx, 0x58, 0x8f, 0);
};

function pushPop(insn: Insn, ctx: X86Context, regOp: number, memOp: number, ext: number): void {
  const [op] = insn.ops;
  if (!isRm(op) || op.star) mismatch(insn);
  const size = operandSize(insn, [op], 8);
  if (size !== 8 && size !== 2) mismatch(insn);
  if (isGpr(op)) emit(ctx, insn, { opcode: [regOp], size, noW: true, opReg: op.reg });
  else emit(ctx, insn, { opcode: [memOp], size, noW: true, reg: ext, rm: op });
}

/** XCHG: 90+r when one operand is the accumulator (GNU's choice), else 86/87 with the first operand in ModRM.reg. */
const xchg: Handler = (insn, ctx) => {
  arity(insn, 2);
  const [a, b] = insn.ops;
  if (isGpr(a) && isGpr(b)) {
    const size = operandSize(insn, [a, b]);
    if (size !== 1 && (a.reg.num === 0 || b.reg.num === 0)) {
      const other = a.reg.num === 0 ? b : a;
      if (other.reg.num === 0 && size === 4) return emit(ctx, insn, { opcode: [0x87], size, reg: a.reg, rm: b });
      if (other.reg.num === 0 && size === 8) return emit(ctx, insn, { opcode: [0x90] });
      return emit(ctx, insn, { opcode: [0x90], size, opReg: other.reg });
    }
    return emit(ctx, insn, { opcode: [w(0x86, size)], size, reg: a.reg, rm: b });
  }
  const reg = isGpr(a) ? a : isGpr(b) ? b : undefined;
  const mem = isMem(a) ? a : isMem(b) ? b : undefined;
  if (!reg || !mem) mismatch(insn);
  const size = operandSize(insn, [reg]);
  emit(ctx, insn, { opcode: [w(0x86, size)], size, reg: reg.reg, rm: mem });
};

/** CMPXCHG (0F B0/B1) and XADD (0F C0/C1): `reg, rm`. */
function regToRm(byteOp: number): Handler {
  return (insn, ctx) => {
    arity(insn, 2);
    const [src, dst] = insn.ops;
    if (!isGpr(src) || !isRm(dst)) mismatch(insn);
    const size = operandSize(insn, [src, dst]);
    emit(ctx, insn, { opcode: [0x0f, w(byteOp, size)], size, reg: src.reg, rm: dst });
  };
}

/** CMPXCHG8B / CMPXCHG16B (0F C7/1); GNU takes `cmpxchg8bq` (no other suffix). */
function cmpxchgNb(size: 4 | 8): Handler {
  return (insn, ctx) => {
    arity(insn, 1);
    const [m] = insn.ops;
    if (!isMem(m) || (insn.suffix !== undefined && insn.suffix !== 8)) mismatch(insn);
    emit(ctx, insn, { opcode: [0x0f, 0xc7], size, reg: 1, rm: m });
  };
}

const bswap: Handler = (insn, ctx) => {
  arity(insn, 1);
  const [r] = insn.ops;
  if (!isGpr(r) || r.reg.size < 4) mismatch(insn);
  emit(ctx, insn, { opcode: [0x0f, 0xc8], size: operandSize(insn, [r]), opReg: r.reg });
};

/** Fixed encodings of the sign-extension group, with their GNU and Intel names. */
const FIXED: [string[], number[]][] = [
  [["cbtw", "cbw"], [0x66, 0x98]], [["cwtl", "cwde"], [0x98]], [["cltq", "cdqe"], [0x48, 0x98]],
  [["cwtd", "cwd"], [0x66, 0x99]], [["cltd", "cdq"], [0x99]], [["cqto", "cqo"], [0x48, 0x99]],
];

/** Handlers of this file by base mnemonic. */
export const MOV_HANDLERS: [string, Handler][] = [
  ["mov", mov], ["movabs", movabs], ["lea", lea],
  ["movzbw", extend([0x0f, 0xb6], 1, 2)], ["movzbl", extend([0x0f, 0xb6], 1, 4)], ["movzbq", extend([0x0f, 0xb6], 1, 8)],
  ["movzwl", extend([0x0f, 0xb6], 2, 4)], ["movzwq", extend([0x0f, 0xb6], 2, 8)], ["movzx", extend([0x0f, 0xb6], undefined, undefined)],
  ["movsbw", extend([0x0f, 0xbe], 1, 2)], ["movsbl", extend([0x0f, 0xbe], 1, 4)], ["movsbq", extend([0x0f, 0xbe], 1, 8)],
  ["movswl", extend([0x0f, 0xbe], 2, 4)], ["movswq", extend([0x0f, 0xbe], 2, 8)], ["movsx", extend([0x0f, 0xbe], undefined, undefined)],
  ["movslq", extend([0x63], 4, 8)], ["movsxd", extend([0x63], 4, undefined)],
  ["push", push], ["pop", pop], ["xchg", xchg],
  ["cmpxchg", regToRm(0xb0)], ["xadd", regToRm(0xc0)], ["cmpxchg8b", cmpxchgNb(4)], ["cmpxchg16b", cmpxchgNb(8)],
  ["bswap", bswap],
  ...FIXED.flatMap(([names, bytes]) => names.map((n): [string, Handler] => [n, (insn, ctx) => {
    arity(insn, 0);
    if (insn.suffix !== undefined) mismatch(insn);
    ctx.emitBytes([...insn.prefixes, ...bytes]);
  }])),
];
