/**
 * RVC (unprivileged spec ch. 16): the compressed candidates GNU as tries before the 32-bit form
 * of a standard mnemonic (so `addi sp, sp, -64` becomes `c.addi16sp`), and the explicit `c.*`
 * mnemonics. Candidates are listed in GNU's order, which decides ties (`addi a0, a0, 0` is
 * `c.mv a0, a0`, `add a0, a0, 0` is `c.addi a0, 0`). Floating-point c.* forms are not provided.
 */
import { C } from "./encode.js";
import { fail } from "../common/errors.js";
import {
  base, checkRange, constOf, expr, fits, type Form, type InsnContext, mustConst, type Operand, reg,
} from "./forms.js";
import { isCompressedReg as isC, RA, SP } from "./registers.js";

type Encoder = (o: Operand[], ctx: InsnContext) => number | undefined;

/** A compressed candidate: emits the 16-bit encoding, or declines when `enc` returns undefined. */
const cand = (sig: string, enc: Encoder): Form => ({
  sig,
  rvc: true,
  emit: (o, ctx) => {
    const half = enc(o, ctx);
    if (half === undefined) return false;
    ctx.emit16(half);
    return true;
  },
});

const simm6 = (v: bigint | undefined): v is bigint => fits(v, -32, 31);
/** A c.lui immediate as written in `lui`: 1..31 or 0xfffe0..0xfffff; returns the 6-bit signed field. */
const luiField = (v: bigint | undefined): number | undefined =>
  v === undefined ? undefined : v >= 1n && v <= 31n ? Number(v) : v >= 0xfffe0n && v <= 0xfffffn ? Number(v) - 0x100000 : undefined;

// Candidate encoders shared by several mnemonics. Operands: (rd, rs1, value).
const addi4spn = (rd: number, rs1: number, v: bigint | undefined): number | undefined =>
  isC(rd) && rs1 === SP && fits(v, 4, 1020, 4) ? C.addi4spn(rd, Number(v)) : undefined;
const addi16sp = (rd: number, rs1: number, v: bigint | undefined): number | undefined =>
  rd === SP && rs1 === SP && fits(v, -512, 496, 16, true) ? C.addi16sp(Number(v)) : undefined;
const addiSame = (rd: number, rs1: number, v: bigint | undefined, allowZero: boolean): number | undefined =>
  rd !== 0 && rs1 === rd && simm6(v) && (allowZero || v !== 0n) ? C.addi(rd, Number(v)) : undefined;
const addiwSame = (rd: number, rs1: number, v: bigint | undefined): number | undefined =>
  rd !== 0 && rs1 === rd && simm6(v) ? C.addiw(rd, Number(v)) : undefined;
/** Two-address CA-format ops (and/or/xor/...): rd = rd op rs2, all in x8..x15. */
const caSame = (op: (rd: number, rs2: number) => number, commutative: boolean): Encoder => (o) => {
  const [rd, rs1, rs2] = [reg(o, 0), reg(o, 1), reg(o, 2)];
  if (!isC(rd)) return undefined;
  if (rs1 === rd && isC(rs2)) return op(rd, rs2);
  if (commutative && rs2 === rd && isC(rs1)) return op(rd, rs1);
  return undefined;
};
const shiftSame = (op: (rd: number, sh: number) => number, cregOnly: boolean): Encoder => (o, ctx) => {
  const [rd, rs1, v] = [reg(o, 0), reg(o, 1), constOf(ctx, o, 2)];
  const ok = cregOnly ? isC(rd) : rd !== 0;
  return ok && rs1 === rd && fits(v, 1, 63) ? op(rd, Number(v)) : undefined;
};
/** Loads and stores: the sp-relative form (wide offset) first, then the x8..x15 form. */
const memAccess = (
  sp: (r: number, off: number) => number, regForm: (r: number, b: number, off: number) => number,
  size: 4 | 8, isLoad: boolean,
): Encoder => (o, ctx) => {
  const [r, b, off] = [reg(o, 0), base(o, 1), constOf(ctx, o, 1)];
  const spMax = size === 4 ? 252 : 504, regMax = size === 4 ? 124 : 248;
  if (b === SP && (!isLoad || r !== 0) && fits(off, 0, spMax, size)) return sp(r, Number(off));
  if (isC(r) && isC(b) && fits(off, 0, regMax, size)) return regForm(r, b, Number(off));
  return undefined;
};
const andiSame: Encoder = (o, ctx) => {
  const [rd, v] = [reg(o, 0), constOf(ctx, o, 2)];
  return isC(rd) && reg(o, 1) === rd && simm6(v) ? C.andi(rd, Number(v)) : undefined;
};
const rvcBranch = (f3: number, rs1: number, rs2: number, ctx: InsnContext, target: Operand[], i: number): boolean => {
  if (!isC(rs1) || rs2 !== 0) return false;
  ctx.branch({ cond: { f3, rs1, rs2: 0 }, rvc: true, target: expr(target, i) });
  return true;
};

/** Compressed candidates of standard mnemonics, in GNU as order. */
export const COMPRESSED_CANDIDATES: ReadonlyMap<string, readonly Form[]> = new Map<string, Form[]>([
  ["addi", [
    cand("r,r,i", (o, ctx) => addi4spn(reg(o, 0), reg(o, 1), constOf(ctx, o, 2))),
    cand("r,r,i", (o, ctx) => addiSame(reg(o, 0), reg(o, 1), constOf(ctx, o, 2), false)),
    cand("r,r,i", (o, ctx) => (reg(o, 0) === 0 && reg(o, 1) === 0 && constOf(ctx, o, 2) === 0n ? C.addi(0, 0) : undefined)),
    cand("r,r,i", (o, ctx) => addi16sp(reg(o, 0), reg(o, 1), constOf(ctx, o, 2))),
    cand("r,r,i", (o, ctx) => {
      const [rd, v] = [reg(o, 0), constOf(ctx, o, 2)];
      return rd !== 0 && reg(o, 1) === 0 && simm6(v) ? C.li(rd, Number(v)) : undefined;
    }),
    cand("r,r,i", (o, ctx) => (reg(o, 0) !== 0 && reg(o, 1) !== 0 && constOf(ctx, o, 2) === 0n ? C.mv(reg(o, 0), reg(o, 1)) : undefined)),
  ]],
  ["add", [
    cand("r,r,r", (o) => (reg(o, 0) !== 0 && reg(o, 1) === reg(o, 0) && reg(o, 2) !== 0 ? C.add(reg(o, 0), reg(o, 2)) : undefined)),
    cand("r,r,r", (o) => (reg(o, 0) !== 0 && reg(o, 2) === reg(o, 0) && reg(o, 1) !== 0 ? C.add(reg(o, 0), reg(o, 1)) : undefined)),
    cand("r,r,i", (o, ctx) => addiSame(reg(o, 0), reg(o, 1), constOf(ctx, o, 2), true)),
    cand("r,r,i", (o, ctx) => addi4spn(reg(o, 0), reg(o, 1), constOf(ctx, o, 2))),
    cand("r,r,i", (o, ctx) => addi16sp(reg(o, 0), reg(o, 1), constOf(ctx, o, 2))),
    cand("r,r,r", (o) => (reg(o, 0) !== 0 && reg(o, 1) === 0 && reg(o, 2) !== 0 ? C.mv(reg(o, 0), reg(o, 2)) : undefined)),
  ]],
  ["addiw", [cand("r,r,i", (o, ctx) => addiwSame(reg(o, 0), reg(o, 1), constOf(ctx, o, 2)))]],
  ["addw", [
    cand("r,r,r", caSame(C.addw, true)),
    cand("r,r,i", (o, ctx) => addiwSame(reg(o, 0), reg(o, 1), constOf(ctx, o, 2))),
  ]],
  ["sext.w", [cand("r,r", (o) => (reg(o, 0) !== 0 && reg(o, 1) === reg(o, 0) ? C.addiw(reg(o, 0), 0) : undefined))]],
  ["subw", [cand("r,r,r", caSame(C.subw, false))]],
  ["sub", [cand("r,r,r", caSame(C.sub, false))]],
  ["and", [
    cand("r,r,r", caSame(C.and, true)),
    cand("r,r,i", andiSame),
  ]],
  ["andi", [cand("r,r,i", andiSame)]],
  ["or", [cand("r,r,r", caSame(C.or, true))]],
  ["xor", [cand("r,r,r", caSame(C.xor, true))]],
  ["slli", [cand("r,r,i", shiftSame(C.slli, false))]],
  ["sll", [cand("r,r,i", shiftSame(C.slli, false))]],
  ["srli", [cand("r,r,i", shiftSame(C.srli, true))]],
  ["srl", [cand("r,r,i", shiftSame(C.srli, true))]],
  ["srai", [cand("r,r,i", shiftSame(C.srai, true))]],
  ["sra", [cand("r,r,i", shiftSame(C.srai, true))]],
  ["lw", [cand("r,m", memAccess(C.lwsp, C.lw, 4, true))]],
  ["ld", [cand("r,m", memAccess(C.ldsp, C.ld, 8, true))]],
  ["sw", [cand("r,m", memAccess(C.swsp, C.sw, 4, false))]],
  ["sd", [cand("r,m", memAccess(C.sdsp, C.sd, 8, false))]],
  ["lui", [cand("r,i", (o, ctx) => {
    const rd = reg(o, 0), f = luiField(constOf(ctx, o, 1));
    return rd !== 0 && rd !== SP && f !== undefined ? C.lui(rd, f) : undefined;
  })]],
  ["li", [
    cand("r,i", (o, ctx) => {
      const rd = reg(o, 0), v = constOf(ctx, o, 1);
      if (rd === 0 || rd === SP || v === undefined || (v & 0xfffn) !== 0n) return undefined;
      return fits(v >> 12n, -32, 31, 1, true) ? C.lui(rd, Number(v >> 12n)) : undefined;
    }),
    cand("r,i", (o, ctx) => (reg(o, 0) !== 0 && simm6(constOf(ctx, o, 1)) ? C.li(reg(o, 0), Number(constOf(ctx, o, 1))) : undefined)),
  ]],
  ["mv", [cand("r,r", (o) => (reg(o, 0) !== 0 && reg(o, 1) !== 0 ? C.mv(reg(o, 0), reg(o, 1)) : undefined))]],
  ["move", [cand("r,r", (o) => (reg(o, 0) !== 0 && reg(o, 1) !== 0 ? C.mv(reg(o, 0), reg(o, 1)) : undefined))]],
  ["nop", [cand("", () => C.addi(0, 0))]],
  ["ebreak", [cand("", () => C.ebreak())]],
  ["sbreak", [cand("", () => C.ebreak())]],
  ["unimp", [cand("", () => 0)]],
  ["ret", [cand("", () => C.jr(RA))]],
  ["jr", [cand("r", (o) => (reg(o, 0) !== 0 ? C.jr(reg(o, 0)) : undefined))]],
  ["jalr", [cand("r", (o) => (reg(o, 0) !== 0 ? C.jalr(reg(o, 0)) : undefined))]],
  ["j", [{ sig: "i", rvc: true, emit: (o, ctx) => ctx.branch({ cond: null, rvc: true, target: expr(o, 0) }) }]],
  ["beqz", [{ sig: "r,i", rvc: true, emit: (o, ctx) => rvcBranch(0, reg(o, 0), 0, ctx, o, 1) }]],
  ["bnez", [{ sig: "r,i", rvc: true, emit: (o, ctx) => rvcBranch(1, reg(o, 0), 0, ctx, o, 1) }]],
  ["beq", [{ sig: "r,r,i", rvc: true, emit: (o, ctx) => rvcBranch(0, reg(o, 0), reg(o, 1), ctx, o, 2) }]],
  ["bne", [{ sig: "r,r,i", rvc: true, emit: (o, ctx) => rvcBranch(1, reg(o, 0), reg(o, 1), ctx, o, 2) }]],
]);

// ---- Explicit c.* mnemonics: always compressed, operands checked strictly. ----

const needC = (r: number, what: string): number => (isC(r) ? r : fail(`${what} must be one of x8..x15 (s0, s1, a0-a5)`));
const needNonZero = (r: number, what: string): number => (r !== 0 ? r : fail(`${what} must not be x0`));
const needSp = (r: number): void => { if (r !== SP) fail("base register must be sp"); };
/** A constant in [lo, hi] that is a multiple of step (and non-zero when asked). */
function scaled(ctx: InsnContext, o: Operand[], i: number, lo: number, hi: number, step: number, nonzero = false): number {
  const v = mustConst(ctx, expr(o, i), "immediate");
  const n = checkRange(v, lo, hi);
  if (n % step !== 0) fail(`immediate ${n} must be a multiple of ${step}`);
  if (nonzero && n === 0) fail("immediate must not be 0");
  return n;
}

type Explicit = [name: string, sig: string, enc: (o: Operand[], ctx: InsnContext) => number];
const EXPLICIT: Explicit[] = [
  ["c.unimp", "", () => 0],
  ["c.nop", "", () => C.addi(0, 0)],
  ["c.ebreak", "", () => C.ebreak()],
  ["c.jr", "r", (o) => C.jr(needNonZero(reg(o, 0), "rs1"))],
  ["c.jalr", "r", (o) => C.jalr(needNonZero(reg(o, 0), "rs1"))],
  ["c.mv", "r,r", (o) => C.mv(reg(o, 0), needNonZero(reg(o, 1), "rs2"))],
  ["c.add", "r,r", (o) => C.add(reg(o, 0), needNonZero(reg(o, 1), "rs2"))],
  ["c.li", "r,i", (o, ctx) => C.li(reg(o, 0), scaled(ctx, o, 1, -32, 31, 1))],
  ["c.addi", "r,i", (o, ctx) => C.addi(reg(o, 0), scaled(ctx, o, 1, -32, 31, 1))],
  ["c.addiw", "r,i", (o, ctx) => C.addiw(needNonZero(reg(o, 0), "rd"), scaled(ctx, o, 1, -32, 31, 1))],
  ["c.andi", "r,i", (o, ctx) => C.andi(needC(reg(o, 0), "rd"), scaled(ctx, o, 1, -32, 31, 1))],
  ["c.lui", "r,i", (o, ctx) => {
    if (reg(o, 0) === SP) fail("rd must not be sp");
    const f = luiField(mustConst(ctx, expr(o, 1), "immediate"));
    return f !== undefined ? C.lui(reg(o, 0), f) : fail("c.lui immediate must be in 1..31 or 0xfffe0..0xfffff");
  }],
  ["c.addi16sp", "r,i", (o, ctx) => { needSp(reg(o, 0)); return C.addi16sp(scaled(ctx, o, 1, -512, 496, 16, true)); }],
  ["c.addi4spn", "r,r,i", (o, ctx) => { needSp(reg(o, 1)); return C.addi4spn(needC(reg(o, 0), "rd"), scaled(ctx, o, 2, 4, 1020, 4)); }],
  ["c.slli", "r,i", (o, ctx) => C.slli(reg(o, 0), scaled(ctx, o, 1, 1, 63, 1))],
  ["c.srli", "r,i", (o, ctx) => C.srli(needC(reg(o, 0), "rd"), scaled(ctx, o, 1, 1, 63, 1))],
  ["c.srai", "r,i", (o, ctx) => C.srai(needC(reg(o, 0), "rd"), scaled(ctx, o, 1, 1, 63, 1))],
  ["c.lwsp", "r,m", (o, ctx) => { needSp(base(o, 1)); return C.lwsp(needNonZero(reg(o, 0), "rd"), scaled(ctx, o, 1, 0, 252, 4)); }],
  ["c.ldsp", "r,m", (o, ctx) => { needSp(base(o, 1)); return C.ldsp(needNonZero(reg(o, 0), "rd"), scaled(ctx, o, 1, 0, 504, 8)); }],
  ["c.swsp", "r,m", (o, ctx) => { needSp(base(o, 1)); return C.swsp(reg(o, 0), scaled(ctx, o, 1, 0, 252, 4)); }],
  ["c.sdsp", "r,m", (o, ctx) => { needSp(base(o, 1)); return C.sdsp(reg(o, 0), scaled(ctx, o, 1, 0, 504, 8)); }],
  ["c.lw", "r,m", (o, ctx) => C.lw(needC(reg(o, 0), "rd"), needC(base(o, 1), "base"), scaled(ctx, o, 1, 0, 124, 4))],
  ["c.ld", "r,m", (o, ctx) => C.ld(needC(reg(o, 0), "rd"), needC(base(o, 1), "base"), scaled(ctx, o, 1, 0, 248, 8))],
  ["c.sw", "r,m", (o, ctx) => C.sw(needC(reg(o, 0), "rs2"), needC(base(o, 1), "base"), scaled(ctx, o, 1, 0, 124, 4))],
  ["c.sd", "r,m", (o, ctx) => C.sd(needC(reg(o, 0), "rs2"), needC(base(o, 1), "base"), scaled(ctx, o, 1, 0, 248, 8))],
  ...(["sub", "xor", "or", "and", "subw", "addw"] as const).map((op): Explicit =>
    [`c.${op}`, "r,r", (o) => C[op](needC(reg(o, 0), "rd"), needC(reg(o, 1), "rs2"))]),
];

function explicitForms(): Map<string, Form[]> {
  const m = new Map<string, Form[]>();
  for (const [name, sig, enc] of EXPLICIT) m.set(name, [{ sig, emit: (o, ctx) => { ctx.emit16(enc(o, ctx)); } }]);
  m.set("c.j", [{ sig: "i", emit: (o, ctx) => ctx.branch({ cond: null, rvc: true, target: expr(o, 0) }) }]);
  for (const [name, f3] of [["c.beqz", 0], ["c.bnez", 1]] as const) {
    m.set(name, [{
      sig: "r,i",
      emit: (o, ctx) => ctx.branch({ cond: { f3, rs1: needC(reg(o, 0), "rs1"), rs2: 0 }, rvc: true, target: expr(o, 1) }),
    }]);
  }
  return m;
}

/** The explicit `c.*` mnemonics. */
export const EXPLICIT_COMPRESSED: ReadonlyMap<string, readonly Form[]> = explicitForms();
