/**
 * Forms of the real (uncompressed) instructions: RV64I, M, A, Zicsr, Zifencei and the
 * privileged ones. Compressed candidates and pseudo-instructions live in compress.ts and pseudo.ts.
 */
import { uType } from "./encode.js";
import { fail } from "../common/errors.js";
import type { Expr } from "../common/expr.js";
import {
  base, checkRange, constOf, expr, type Form, iField, type InsnContext, mustConst, type Operand, reg, sField, uField,
} from "./forms.js";
import {
  AMO_OPS, BRANCHES, CSR_OPS, enc, FIXED_WORDS, I_OPS, IMM_ALIASES, LOADS, OPC, R_OPS, SFENCE_VMA, SHIFT_OPS, STORES,
} from "./opcodes.js";
import { CSR_NUMBERS, RA } from "./registers.js";

/** Emits an I-type ALU instruction whose immediate may need a fixup. */
function emitI(ctx: InsnContext, name: string, rd: number, rs1: number, e: Expr): void {
  const { imm, fix } = iField(ctx, e);
  ctx.emit32(enc.i(name, rd, rs1, imm), fix);
}

/** Emits a shift by a constant amount. */
function emitShift(ctx: InsnContext, name: string, rd: number, rs1: number, e: Expr): void {
  const max = SHIFT_OPS[name]![3];
  const sh = checkRange(mustConst(ctx, e, "shift amount"), 0, max, "shift amount");
  ctx.emit32(enc.shift(name, rd, rs1, sh));
}

/** Emits an immediate-form instruction (I-type ALU or shift) by name. */
export function emitImmOp(ctx: InsnContext, name: string, rd: number, rs1: number, e: Expr): void {
  if (name in SHIFT_OPS) emitShift(ctx, name, rd, rs1, e);
  else emitI(ctx, name, rd, rs1, e);
}

/** Emits `jalr rd, imm(rs1)`. */
export function emitJalr(ctx: InsnContext, rd: number, rs1: number, e: Expr): void {
  const { imm, fix } = iField(ctx, e);
  ctx.emit32(enc.jalr(rd, rs1, imm), fix);
}

/** Emits a load `rd, offset(base)`. */
export function emitLoad(ctx: InsnContext, name: string, rd: number, rs1: number, e: Expr): void {
  const { imm, fix } = iField(ctx, e);
  ctx.emit32(enc.load(name, rd, rs1, imm), fix);
}

/** Emits a store `rs2, offset(base)`. */
export function emitStore(ctx: InsnContext, name: string, rs2: number, rs1: number, e: Expr): void {
  const { imm, fix } = sField(ctx, e);
  ctx.emit32(enc.store(name, rs2, rs1, imm), fix);
}

/** Emits `jal rd, target`: always 4 bytes (no c.jal on RV64), but laid out as a jump like GNU as does. */
export function emitJal(ctx: InsnContext, rd: number, target: Expr): void {
  ctx.branch({ cond: null, link: rd, rvc: false, target });
}

/** Emits lui/auipc. */
function emitU(ctx: InsnContext, opcode: number, rd: number, e: Expr): void {
  const { imm, fix } = uField(ctx, e);
  ctx.emit32(uType(opcode, rd, imm), fix);
}

/** A CSR given by name (`mstatus`) or number (0..4095). */
export function csrNumber(ctx: InsnContext, e: Expr): number {
  if (e.k === "sym") {
    const n = CSR_NUMBERS.get(e.name);
    if (n !== undefined) return n;
  }
  const v = ctx.constValue(e);
  if (v === undefined) fail(`unknown CSR \`${e.k === "sym" ? e.name : "?"}'`);
  return checkRange(v, 0, 4095, "CSR number");
}

/** The 5-bit unsigned immediate of csrr?i. */
export function csrUimm(ctx: InsnContext, e: Expr): number {
  return checkRange(mustConst(ctx, e, "CSR immediate"), 0, 31, "CSR immediate");
}

/** Emits csrrw/csrrs/csrrc (register source) or their immediate forms. */
export function emitCsr(ctx: InsnContext, funct3: number, rd: number, csr: Expr, src: Operand): void {
  const n = csrNumber(ctx, csr);
  if (src.kind === "reg") ctx.emit32(enc.csr(funct3, rd, n, src.reg));
  else ctx.emit32(enc.csr(funct3 | 4, rd, n, csrUimm(ctx, expr([src], 0))));
}

const FENCE_BITS: Readonly<Record<string, number>> = { i: 8, o: 4, r: 2, w: 1 };

/** The predecessor/successor set of `fence`: letters from "iorw". */
function fenceSet(e: Expr): number {
  if (e.k !== "sym" || !/^[iorw]+$/.test(e.name)) fail("fence operands are sets of i, o, r, w (e.g. `fence rw, w`)");
  return [...e.name].reduce((acc, ch) => acc | FENCE_BITS[ch]!, 0);
}

/** Memory operand of an AMO: `(rs1)` or `0(rs1)`. */
function amoAddress(ctx: InsnContext, ops: Operand[], i: number): number {
  const off = constOf(ctx, ops, i);
  if (off !== 0n) fail("AMO address must be (reg) or 0(reg)");
  return base(ops, i);
}

function addForm(table: Map<string, Form[]>, name: string, form: Form): void {
  const list = table.get(name);
  if (list) list.push(form);
  else table.set(name, [form]);
}

/** Builds the table of base forms. */
function build(): Map<string, Form[]> {
  const t = new Map<string, Form[]>();
  const add = (name: string, sig: string, emit: Form["emit"]): void => addForm(t, name, { sig, emit });

  for (const name of Object.keys(R_OPS)) {
    add(name, "r,r,r", (o, ctx) => { ctx.emit32(enc.r(name, reg(o, 0), reg(o, 1), reg(o, 2))); });
    const immName = IMM_ALIASES[name];
    if (immName) add(name, "r,r,i", (o, ctx) => emitImmOp(ctx, immName, reg(o, 0), reg(o, 1), expr(o, 2)));
  }
  for (const name of [...Object.keys(I_OPS), ...Object.keys(SHIFT_OPS)]) {
    add(name, "r,r,i", (o, ctx) => emitImmOp(ctx, name, reg(o, 0), reg(o, 1), expr(o, 2)));
  }
  for (const name of Object.keys(LOADS)) add(name, "r,m", (o, ctx) => emitLoad(ctx, name, reg(o, 0), base(o, 1), expr(o, 1)));
  for (const name of Object.keys(STORES)) add(name, "r,m", (o, ctx) => emitStore(ctx, name, reg(o, 0), base(o, 1), expr(o, 1)));
  for (const [name, f3] of Object.entries(BRANCHES)) {
    add(name, "r,r,i", (o, ctx) => ctx.branch({ cond: { f3, rs1: reg(o, 0), rs2: reg(o, 1) }, rvc: false, target: expr(o, 2) }));
  }
  add("lui", "r,i", (o, ctx) => emitU(ctx, OPC.LUI, reg(o, 0), expr(o, 1)));
  add("auipc", "r,i", (o, ctx) => emitU(ctx, OPC.AUIPC, reg(o, 0), expr(o, 1)));

  add("jal", "r,i", (o, ctx) => emitJal(ctx, reg(o, 0), expr(o, 1)));
  add("jal", "i", (o, ctx) => emitJal(ctx, RA, expr(o, 0)));
  add("jalr", "r", (o, ctx) => emitJalr(ctx, RA, reg(o, 0), { k: "num", v: 0n }));
  add("jalr", "m", (o, ctx) => emitJalr(ctx, RA, base(o, 0), expr(o, 0)));
  add("jalr", "r,i", (o, ctx) => emitJalr(ctx, RA, reg(o, 0), expr(o, 1)));
  add("jalr", "r,r", (o, ctx) => emitJalr(ctx, reg(o, 0), reg(o, 1), { k: "num", v: 0n }));
  add("jalr", "r,m", (o, ctx) => emitJalr(ctx, reg(o, 0), base(o, 1), expr(o, 1)));
  add("jalr", "r,r,i", (o, ctx) => emitJalr(ctx, reg(o, 0), reg(o, 1), expr(o, 2)));

  for (const [name, word] of Object.entries(FIXED_WORDS)) add(name, "", (_o, ctx) => { ctx.emit32(word); });
  add("sfence.vma", "", (_o, ctx) => { ctx.emit32(SFENCE_VMA); });
  add("sfence.vma", "r", (o, ctx) => { ctx.emit32((SFENCE_VMA | (reg(o, 0) << 15)) >>> 0); });
  add("sfence.vma", "r,r", (o, ctx) => { ctx.emit32((SFENCE_VMA | (reg(o, 0) << 15) | (reg(o, 1) << 20)) >>> 0); });
  add("fence", "", (_o, ctx) => { ctx.emit32(0x0ff0000f); });
  add("fence", "i,i", (o, ctx) => {
    ctx.emit32(((fenceSet(expr(o, 0)) << 24) | (fenceSet(expr(o, 1)) << 20) | OPC.MISC_MEM) >>> 0);
  });

  for (const [name, f3] of Object.entries(CSR_OPS)) {
    add(name, "r,i,r", (o, ctx) => emitCsr(ctx, f3, reg(o, 0), expr(o, 1), o[2]!));
    add(name, "r,i,i", (o, ctx) => emitCsr(ctx, f3, reg(o, 0), expr(o, 1), o[2]!));
    add(`${name}i`, "r,i,i", (o, ctx) => emitCsr(ctx, f3, reg(o, 0), expr(o, 1), o[2]!));
  }

  for (const [op, funct5] of Object.entries(AMO_OPS)) {
    for (const [width, f3] of [["w", 2], ["d", 3]] as const) {
      for (const [suffix, aqrl] of [["", 0], [".aq", 2], [".rl", 1], [".aqrl", 3]] as const) {
        const name = `${op}.${width}${suffix}`;
        const top = (funct5 << 27) | (aqrl << 25);
        if (op === "lr") {
          add(name, "r,m", (o, ctx) => {
            const rs1 = amoAddress(ctx, o, 1);
            ctx.emit32((top | (rs1 << 15) | (f3 << 12) | (reg(o, 0) << 7) | OPC.AMO) >>> 0);
          });
        } else {
          add(name, "r,r,m", (o, ctx) => {
            const rs1 = amoAddress(ctx, o, 2);
            ctx.emit32((top | (reg(o, 1) << 20) | (rs1 << 15) | (f3 << 12) | (reg(o, 0) << 7) | OPC.AMO) >>> 0);
          });
        }
      }
    }
  }
  return t;
}

/** Base forms by mnemonic. */
export const BASE_FORMS: ReadonlyMap<string, readonly Form[]> = build();

