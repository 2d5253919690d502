/**
 * Pseudo-instructions (unprivileged spec ch. 25, tables 25.2-25.3) and GNU as aliases.
 *
 * Aliases (mv, not, beqz, csrr...) encode one real instruction directly; their compressed
 * forms, where GNU has them, are in compress.ts. Macros (li, la, call, `lw rd, symbol`...)
 * expand into several instructions through `ctx.insn`, so each part is compressed on its own
 * exactly as GNU as does it.
 */
import { uType } from "./encode.js";
import { fail } from "../common/errors.js";
import type { Expr } from "../common/expr.js";
import { emitCsr, emitImmOp, emitJal, emitJalr } from "./base-forms.js";
import { base, expr, type Form, type FixupRef, type InsnContext, N, R, reg } from "./forms.js";
import { BRANCHES, enc, LOADS, OPC, STORES } from "./opcodes.js";
import { RA, T1, X0 } from "./registers.js";

const ZERO: Expr = { k: "num", v: 0n };
const isSext32 = (v: bigint): boolean => v >= -(1n << 31n) && v < 1n << 31n;

/**
 * Materialises a 64-bit constant like GNU as `load_const`: lui/addiw for a sign-extended 32-bit
 * value; otherwise the constant without its low 12 bits, shifted down past its trailing zeros,
 * is built recursively and followed by slli and addi.
 */
export function loadConst(ctx: InsnContext, rd: number, v: bigint): void {
  const lower = BigInt.asIntN(12, v);
  const upper = BigInt.asIntN(64, v - lower);
  if (!isSext32(v)) {
    let shift = 12n;
    while (((upper >> shift) & 1n) === 0n) shift++;
    loadConst(ctx, rd, upper >> shift);
    ctx.insn("slli", [R(rd), R(rd), N(shift)]);
    if (lower !== 0n) ctx.insn("addi", [R(rd), R(rd), N(lower)]);
    return;
  }
  let hiReg = X0;
  if (upper !== 0n) {
    ctx.insn("lui", [R(rd), N((upper >> 12n) & 0xfffffn)]);
    hiReg = rd;
  }
  if (lower !== 0n || hiReg === X0) ctx.insn("addiw", [R(rd), R(hiReg), N(lower)]);
}

/** auipc `tmp`, %pcrel_hi(target); returns the fixup the second instruction pairs with. */
function auipcTo(ctx: InsnContext, tmp: number, target: Expr): FixupRef {
  return ctx.emit32(uType(OPC.AUIPC, tmp, 0), { kind: "pcrel_hi20", expr: target });
}

/** The symbol operand of la/lla/call/`lw rd, sym`: an address, not a plain number. */
function addressOperand(ctx: InsnContext, e: Expr, what: string): Expr {
  if (ctx.constValue(e) !== undefined) fail(`${what} must be a symbol, not a constant (use li for numbers)`);
  if (e.k === "mod") fail(`%${e.fn} is not allowed here`);
  return e;
}

/** auipc + jalr through `tmp`, linking to `rd` (call, tail, jump). */
function farJump(ctx: InsnContext, rd: number, tmp: number, target: Expr): void {
  const hi = auipcTo(ctx, tmp, addressOperand(ctx, target, "the target"));
  ctx.emit32(enc.jalr(rd, tmp, 0), { kind: "pcrel_lo12i", expr: ZERO, pair: hi });
}

const csrRead = (csr: number): Form => ({ sig: "r", emit: (o, ctx) => { ctx.emit32(enc.csr(2, reg(o, 0), csr, 0)); } });
const word = (w: number): Form => ({ sig: "", emit: (_o, ctx) => { ctx.emit32(w); } });
/** `bgt a, b, L` style: a real branch with its registers swapped. */
const swappedBranch = (real: string): Form => ({
  sig: "r,r,i",
  emit: (o, ctx) => ctx.branch({ cond: { f3: BRANCHES[real]!, rs1: reg(o, 1), rs2: reg(o, 0) }, rvc: false, target: expr(o, 2) }),
});
/** `beqz a, L` style: a real branch comparing with x0, on the left (`blez a` = `bge x0, a`) or right. */
const zeroBranch = (real: string, zeroLeft: boolean): Form => ({
  sig: "r,i",
  emit: (o, ctx) => {
    const [rs1, rs2] = zeroLeft ? [X0, reg(o, 0)] : [reg(o, 0), X0];
    ctx.branch({ cond: { f3: BRANCHES[real]!, rs1, rs2 }, rvc: false, target: expr(o, 1) });
  },
});
/** An alias that is one R-type instruction: operands picked from (rd, rs). */
const rAlias = (name: string, pick: (rd: number, rs: number) => [number, number, number]): Form => ({
  sig: "r,r",
  emit: (o, ctx) => { ctx.emit32(enc.r(name, ...pick(reg(o, 0), reg(o, 1)))); },
});
/** An alias that is one I-type instruction with a fixed immediate. */
const iAlias = (name: string, imm: number): Form => ({
  sig: "r,r",
  emit: (o, ctx) => { ctx.emit32(enc.i(name, reg(o, 0), reg(o, 1), imm)); },
});

function build(): Map<string, Form[]> {
  const t = new Map<string, Form[]>();
  const add = (name: string, ...forms: Form[]): void => { t.set(name, [...(t.get(name) ?? []), ...forms]); };

  add("nop", word(enc.i("addi", 0, 0, 0)));
  add("unimp", word(0xc0001073));
  add("ret", word(enc.jalr(X0, RA, 0)));
  add("mv", iAlias("addi", 0));
  add("move", iAlias("addi", 0));
  add("sext.w", iAlias("addiw", 0));
  add("not", iAlias("xori", -1));
  add("seqz", iAlias("sltiu", 1));
  add("zext.b", iAlias("andi", 255));
  add("neg", rAlias("sub", (rd, rs) => [rd, X0, rs]));
  add("negw", rAlias("subw", (rd, rs) => [rd, X0, rs]));
  add("snez", rAlias("sltu", (rd, rs) => [rd, X0, rs]));
  add("sltz", rAlias("slt", (rd, rs) => [rd, rs, X0]));
  add("sgtz", rAlias("slt", (rd, rs) => [rd, X0, rs]));
  for (const [name, real] of [["sgt", "slt"], ["sgtu", "sltu"]] as const) {
    add(name, { sig: "r,r,r", emit: (o, ctx) => { ctx.emit32(enc.r(real, reg(o, 0), reg(o, 2), reg(o, 1))); } });
  }

  add("beqz", zeroBranch("beq", false));
  add("bnez", zeroBranch("bne", false));
  add("blez", zeroBranch("bge", true));
  add("bgez", zeroBranch("bge", false));
  add("bltz", zeroBranch("blt", false));
  add("bgtz", zeroBranch("blt", true));
  add("bgt", swappedBranch("blt"));
  add("ble", swappedBranch("bge"));
  add("bgtu", swappedBranch("bltu"));
  add("bleu", swappedBranch("bgeu"));

  add("j", { sig: "i", emit: (o, ctx) => emitJal(ctx, X0, expr(o, 0)) });
  add("jr",
    { sig: "r", emit: (o, ctx) => emitJalr(ctx, X0, reg(o, 0), ZERO) },
    { sig: "m", emit: (o, ctx) => emitJalr(ctx, X0, base(o, 0), expr(o, 0)) },
    { sig: "r,i", emit: (o, ctx) => emitJalr(ctx, X0, reg(o, 0), expr(o, 1)) });
  add("call",
    { sig: "i", emit: (o, ctx) => farJump(ctx, RA, RA, expr(o, 0)) },
    { sig: "r,i", emit: (o, ctx) => farJump(ctx, reg(o, 0), T1, expr(o, 1)) });
  add("tail", { sig: "i", emit: (o, ctx) => farJump(ctx, X0, T1, expr(o, 0)) });
  add("jump", { sig: "i,r", emit: (o, ctx) => farJump(ctx, X0, reg(o, 1), expr(o, 0)) });

  for (const name of ["la", "lla"]) {
    add(name, {
      sig: "r,i",
      emit: (o, ctx) => {
        const rd = reg(o, 0);
        const hi = auipcTo(ctx, rd, addressOperand(ctx, expr(o, 1), "the address"));
        ctx.emit32(enc.i("addi", rd, rd, 0), { kind: "pcrel_lo12i", expr: ZERO, pair: hi });
      },
    });
  }
  for (const name of Object.keys(LOADS)) {
    add(name, {
      sig: "r,i",
      emit: (o, ctx) => {
        const rd = reg(o, 0);
        const hi = auipcTo(ctx, rd, addressOperand(ctx, expr(o, 1), "the address"));
        ctx.emit32(enc.load(name, rd, rd, 0), { kind: "pcrel_lo12i", expr: ZERO, pair: hi });
      },
    });
  }
  for (const name of Object.keys(STORES)) {
    add(name, {
      sig: "r,i,r",
      emit: (o, ctx) => {
        const tmp = reg(o, 2);
        const hi = auipcTo(ctx, tmp, addressOperand(ctx, expr(o, 1), "the address"));
        ctx.emit32(enc.store(name, reg(o, 0), tmp, 0), { kind: "pcrel_lo12s", expr: ZERO, pair: hi });
      },
    });
  }

  add("li", {
    sig: "r,i",
    emit: (o, ctx) => {
      const v = ctx.constValue(expr(o, 1));
      if (v === undefined) fail("li needs a constant defined before this line (use la for addresses)");
      if (v >= -2048n && v <= 2047n) emitImmOp(ctx, "addi", reg(o, 0), X0, expr(o, 1));
      else loadConst(ctx, reg(o, 0), v);
    },
  });

  add("csrr", { sig: "r,i", emit: (o, ctx) => emitCsr(ctx, 2, reg(o, 0), expr(o, 1), R(X0)) });
  for (const [name, f3] of [["csrw", 1], ["csrs", 2], ["csrc", 3]] as const) {
    add(name, { sig: "i,r", emit: (o, ctx) => emitCsr(ctx, f3, X0, expr(o, 0), o[1]!) });
    add(name, { sig: "i,i", emit: (o, ctx) => emitCsr(ctx, f3, X0, expr(o, 0), o[1]!) });
    add(`${name}i`, { sig: "i,i", emit: (o, ctx) => emitCsr(ctx, f3, X0, expr(o, 0), o[1]!) });
  }
  add("rdcycle", csrRead(0xc00));
  add("rdtime", csrRead(0xc01));
  add("rdinstret", csrRead(0xc02));
  return t;
}

/** Pseudo-instruction and alias forms by mnemonic. */
export const PSEUDO_FORMS: ReadonlyMap<string, readonly Form[]> = build();
