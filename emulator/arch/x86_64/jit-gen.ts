/**
 * JavaScript source for one translated block (jit.ts): each instruction's effect written out with
 * its registers, immediates and displacement as constants, the general registers and RFLAGS held in
 * locals, and every memory access on the host fast path. An access that misses the fast path, a
 * jump that leaves the current 4 GiB (whose canonicality the interpreter checks) and a RET to
 * another 4 GiB leave the block *before* that instruction, with the state of the instructions
 * before it written back: the interpreter then runs it (and delivers any fault), so faults, CR2 and
 * the instruction count stay exactly the interpreter's. The same formulas as execute.ts/fastalu.ts;
 * ADC/SBB, byte and word compares and IMUL call the same helpers (alu, imulTrunc).
 * @spec Intel SDM Vol. 2 (semantics of each instruction), Vol. 1 §3.4.3.1 (status flags)
 */
import { AH_BASE, type Insn, Op } from "./insn.js";
import { FP_SLOTS } from "./memory-access.js";

/** One instruction of a block: its decoded form and its byte offset from the block's start. */
export interface BlockInsn {
  readonly ins: Insn;
  readonly delta: number;
}

/** RFLAGS with the six status flags cleared: `f & KEEP`. */
const KEEP = ~0x8d5;

/** A signed constant as a source literal. */
const k = (n: number): string => `(${n | 0})`;
const L = (r: number): string => `l${r}`;
const H = (r: number): string => `h${r}`;

/** The condition `cc` (Jcc/SETcc numbering) over the flags local `f`. @spec SDM Vol. 1 Appendix B */
export function condSource(cc: number): string {
  const sf = "((f & 0x80) !== 0)", of = "((f & 0x800) !== 0)";
  const base = [
    "((f & 0x800) !== 0)", "((f & 1) !== 0)", "((f & 0x40) !== 0)", "((f & 0x41) !== 0)",
    "((f & 0x80) !== 0)", "((f & 4) !== 0)", `(${sf} !== ${of})`, `((f & 0x40) !== 0 || ${sf} !== ${of})`,
  ][cc >>> 1]!;
  return (cc & 1) === 0 ? base : `!${base}`;
}

/**
 * ALU kind `kind` (0 ADD, 1 OR, 4 AND, 5 SUB, 6 XOR, 7 CMP, 8 TEST; 2 ADC and 3 SBB through the
 * helper) of a,b with their flags into `f`; `dest(lo, hi)` receives the result unless CMP/TEST.
 * Operands are side-effect-free expressions; the high halves are ignored at 32 bits.
 */
export function aluSource(kind: number, size8: boolean, a: string, ah: string, b: string, bh: string, dest: (lo: string, hi: string) => string): string {
  const out = kind === 7 || kind === 8 ? "" : dest("rl", size8 ? "rh" : "0");
  if (kind === 2 || kind === 3) {
    return `{ c.rflags = f; X.alu(c, ${kind}, ${size8 ? 8 : 4}, ${a}, ${ah}, ${b}, ${bh}); f = c.rflags; const rl = c.rLo, rh = c.rHi; ${out} }`;
  }
  if (kind === 0 || kind === 5 || kind === 7) {
    const add = kind === 0;
    const op = add ? "+" : "-";
    const ovf = add ? `(${ah} ^ rh) & (${bh} ^ rh)` : `(${ah} ^ ${bh}) & (${ah} ^ rh)`;
    if (size8) {
      return `{ const lo = (${a} >>> 0) ${op} (${b} >>> 0); const hi = (${ah} >>> 0) ${op} (${bh} >>> 0) ${op} (${add ? "lo > 0xffffffff" : "lo < 0"} ? 1 : 0);` +
        ` const rl = lo | 0, rh = hi | 0; f = (f & ${KEEP}) | (${add ? "hi > 0xffffffff" : "hi < 0"} ? 1 : 0) | X.P[rl & 0xff] | ((${a} ^ ${b} ^ rl) & 0x10) |` +
        ` ((rl | rh) === 0 ? 0x40 : 0) | ((rh >>> 24) & 0x80) | (((${ovf}) >>> 20) & 0x800); ${out} }`;
    }
    const ovf32 = add ? `(${a} ^ rl) & (${b} ^ rl)` : `(${a} ^ ${b}) & (${a} ^ rl)`;
    return `{ const r = (${a} >>> 0) ${op} (${b} >>> 0); const rl = r | 0; f = (f & ${KEEP}) | (${add ? "r > 0xffffffff" : "r < 0"} ? 1 : 0) | X.P[rl & 0xff] |` +
      ` ((${a} ^ ${b} ^ rl) & 0x10) | (rl === 0 ? 0x40 : 0) | ((rl >>> 24) & 0x80) | (((${ovf32}) >>> 20) & 0x800); ${out} }`;
  }
  const op = kind === 1 ? "|" : kind === 6 ? "^" : "&";
  if (size8) {
    return `{ const rl = ${a} ${op} ${b}, rh = ${ah} ${op} ${bh}; f = (f & ${KEEP}) | X.P[rl & 0xff] | ((rl | rh) === 0 ? 0x40 : 0) | ((rh >>> 24) & 0x80); ${out} }`;
  }
  return `{ const rl = ${a} ${op} ${b}; f = (f & ${KEEP}) | X.P[rl & 0xff] | (rl === 0 ? 0x40 : 0) | ((rl >>> 24) & 0x80); ${out} }`;
}

/** Writes a 64-bit (or zero-extended 32-bit) result to register `r`. */
function setReg(r: number, lo: string, hi: string): string {
  return `${L(r)} = ${lo}; ${H(r)} = ${hi};`;
}

/**
 * The source of a block's function. Its parameters: the CPU, RIP at entry (the block is position
 * independent: only offsets from that RIP are constants) and the budget of instructions it may
 * retire. It returns how many it retired and leaves the next RIP in c.ripLo/c.ripHi. A block whose
 * last instruction jumps back to its first runs again while the budget lasts.
 */
export function blockSource(block: readonly BlockInsn[], endDelta: number): string {
  const used = new Set<number>([4]);
  const body: string[] = [];
  let flags = false;
  const exitAt = (n: number, delta: number): string => `{ k = ${n}; xl = (ripLo + ${delta}) | 0; xh = ripHi; break out; }`;
  /** The RIP after the instruction into (nl, nh), with the carry into the high half. */
  const nextRip = (d: number): string => `const ns = (ripLo >>> 0) + ${d}, nl = ns | 0, nh = ns > 0xffffffff ? (ripHi + 1) | 0 : ripHi;`;
  const reg = (r: number): number => (used.add(r), r);
  let terminated = false;

  block.forEach(({ ins: i, delta }, n) => {
    const exit = exitAt(n, delta);
    const op = i.op, size8 = i.size === 8;
    const next = delta + i.len;
    let s = "";
    if (op >= Op.F_LEA && op <= Op.F_ALU_RLD) s += eaSource(i, next, reg);
    switch (op) {
      case Op.NOP: break;
      case Op.F_MOV_RR: s += setReg(reg(i.reg), L(reg(i.rm)), size8 ? H(i.rm) : "0"); break;
      case Op.F_MOV_RI: s += setReg(reg(i.reg), k(i.immLo), size8 ? k(i.immHi) : "0"); break;
      case Op.F_ALU_RR: case Op.F_ALU_RI: {
        const d = reg(i.reg);
        const imm = op === Op.F_ALU_RI;
        const b = imm ? k(i.immLo) : L(reg(i.rm)), bh = imm ? k(i.immLo >> 31) : H(i.rm);
        s += aluSource(i.sub, size8, L(d), H(d), b, bh, (lo, hi) => setReg(d, lo, hi));
        flags = true;
        break;
      }
      case Op.F_INCDEC: {
        const d = reg(i.reg);
        s += `{ const cf = f & 1; ${aluSource(i.sub === 1 ? 5 : 0, size8, L(d), H(d), "1", "0", (lo, hi) => setReg(d, lo, hi))} f = (f & ~1) | cf; }`;
        flags = true;
        break;
      }
      case Op.F_LEA: s += setReg(reg(i.reg), "eL", size8 ? "eH" : "0"); break;
      case Op.F_MOV_LD: {
        const sz = size8 ? 8 : 4;
        s += `${loadProbe(sz, exit)} ${setReg(reg(i.reg), "v.getInt32(o, true)", size8 ? "v.getInt32(o + 4, true)" : "0")} }`;
        break;
      }
      case Op.F_MOV_ST: case Op.F_MOV_ST_BW: case Op.F_MOV_MI: {
        const sz = i.size;
        const imm = op === Op.F_MOV_MI;
        const lo = imm ? k(i.immLo) : L(reg(i.reg)), hi = imm ? k(i.immLo >> 31) : H(i.reg);
        const st = sz === 8 ? `v.setInt32(o, ${lo}, true); v.setInt32(o + 4, ${hi}, true);` : sz === 4 ? `v.setInt32(o, ${lo}, true);`
          : sz === 1 ? `v.setUint8(o, ${lo} & 0xff);` : `v.setUint16(o, ${lo} & 0xffff, true);`;
        s += `{ const sl = (eL >>> 12) & ${FP_SLOTS - 1}; if (wTL[sl] !== (eL & -4096) || wTH[sl] !== eH || (eL & 0xfff) > ${4096 - sz}) ${exit}` +
          ` const v = wV[sl], o = wO[sl] + (eL & 0xfff); ${st} }`;
        break;
      }
      case Op.F_MOVX_LD: case Op.F_CMP_MI: case Op.F_ALU_RLD: {
        const sz = op === Op.F_MOVX_LD ? i.size2 : i.size;
        const get = sz === 8 ? "mL = v.getInt32(o, true); mH = v.getInt32(o + 4, true);" : sz === 4 ? "mL = v.getInt32(o, true); mH = 0;"
          : sz === 1 ? "mL = v.getUint8(o); mH = 0;" : "mL = v.getUint16(o, true); mH = 0;";
        s += `${loadProbe(sz, exit)} ${get} }`;
        if (op === Op.F_MOVX_LD) {
          const m = i.sub === 1 ? signExtend(sz, "mL") : "mL";
          s += `{ const m = ${m}; ${setReg(reg(i.reg), "m", size8 && i.sub === 1 ? "m >> 31" : "0")} }`;
        } else if (op === Op.F_CMP_MI) {
          if (sz === 8 || sz === 4) s += aluSource(i.sub === 7 ? 7 : 8, sz === 8, "mL", "mH", k(i.immLo), k(i.immLo >> 31), () => "");
          else s += `c.rflags = f; X.alu(c, ${i.sub === 7 ? 7 : 4}, ${sz}, mL, 0, ${k(i.immLo)}, ${k(i.immLo >> 31)}); f = c.rflags;`;
          flags = true;
        } else {
          const d = reg(i.reg);
          s += aluSource(i.sub, size8, L(d), H(d), "mL", "mH", (lo, hi) => setReg(d, lo, hi));
          flags = true;
        }
        break;
      }
      case Op.F_IMUL_RR: case Op.F_IMUL_RI: {
        const sz = size8 ? 8 : 4, d = reg(i.reg), r = reg(i.rm);
        const args = op === Op.F_IMUL_RR ? `${L(d)}, ${size8 ? H(d) : "0"}, ${L(r)}, ${size8 ? H(r) : "0"}`
          : `${L(r)}, ${size8 ? H(r) : "0"}, ${k(i.immLo)}, ${k(i.immLo >> 31)}`;
        s += `c.rflags = f; X.imul(c, ${sz}, ${args}); f = c.rflags; ${setReg(d, "c.rLo", size8 ? "c.rHi" : "0")}`;
        flags = true;
        break;
      }
      case Op.F_SHIFT_RI: {
        s += shiftSource(i.sub, size8, reg(i.reg), i.immLo & (size8 ? 63 : 31));
        flags = true;
        break;
      }
      case Op.F_MOVX_R: {
        const src = i.rm >= AH_BASE ? `((${L(reg(i.rm - AH_BASE))} >>> 8) & 0xff)`
          : i.size2 === 4 ? L(reg(i.rm)) : `(${L(reg(i.rm))} & ${i.size2 === 1 ? 0xff : 0xffff})`;
        const m = i.sub === 1 ? signExtend(i.size2, src) : src;
        s += `{ const m = ${m}; ${setReg(reg(i.reg), "m", size8 && i.sub === 1 ? "m >> 31" : "0")} }`;
        break;
      }
      case Op.F_PUSH: case Op.F_CALL: {
        // The slot below RSP; a CALL first computes its target (another 4 GiB: the interpreter's).
        s += "{ ";
        let lo = L(reg(i.rm)), hi = H(i.rm);
        if (op === Op.F_CALL) {
          s += `${nextRip(next)} const t = (nl >>> 0) + ${i.immLo >>> 0}; if (((nh + ${i.immLo >> 31} + (t > 0xffffffff ? 1 : 0)) | 0) !== ripHi) ${exit}`;
          lo = "nl"; hi = "nh";
        }
        s += ` const al = (l4 - 8) | 0, ah = (l4 >>> 0) < 8 ? (h4 - 1) | 0 : h4; const sl = (al >>> 12) & ${FP_SLOTS - 1};` +
          ` if (wTL[sl] !== (al & -4096) || wTH[sl] !== ah || (al & 0xfff) > 4088) ${exit}` +
          ` const v = wV[sl], o = wO[sl] + (al & 0xfff); v.setInt32(o, ${lo}, true); v.setInt32(o + 4, ${hi}, true); l4 = al; h4 = ah;`;
        if (op === Op.F_CALL) { s += " xl = t | 0; xh = ripHi;"; terminated = true; }
        s += " }";
        break;
      }
      case Op.F_POP: case Op.F_RET: {
        s += `{ const sl = (l4 >>> 12) & ${FP_SLOTS - 1}; if (rTL[sl] !== (l4 & -4096) || rTH[sl] !== h4 || (l4 & 0xfff) > 4088) ${exit}` +
          ` const v = rV[sl], o = rO[sl] + (l4 & 0xfff); const lo = v.getInt32(o, true), hi = v.getInt32(o + 4, true);`;
        if (op === Op.F_RET) s += ` if (hi !== ripHi) ${exit}`;
        s += " const nl = (l4 + 8) | 0; h4 = (nl >>> 0) < 8 ? (h4 + 1) | 0 : h4; l4 = nl;";
        if (op === Op.F_RET) { s += " xl = lo; xh = ripHi;"; terminated = true; } else s += ` ${setReg(reg(i.rm), "lo", "hi")}`;
        s += " }";
        break;
      }
      case Op.JCC: case Op.JMP_REL: {
        const jump = `const t = (nl >>> 0) + ${i.immLo >>> 0}; if (((nh + ${i.immLo >> 31} + (t > 0xffffffff ? 1 : 0)) | 0) !== ripHi) ${exit} xl = t | 0; xh = ripHi;`;
        s += `{ ${nextRip(next)} ` + (op === Op.JMP_REL ? jump : `if (${condSource(i.sub)}) { ${jump} } else { xl = nl; xh = nh; }`) + " }";
        terminated = true;
        break;
      }
      case Op.NEG: {
        const d = reg(i.rm);
        s += aluSource(5, size8, "0", "0", L(d), H(d), (lo, hi) => setReg(d, lo, hi));
        flags = true;
        break;
      }
      case Op.NOT: s += setReg(reg(i.rm), `~${L(i.rm)}`, size8 ? `~${H(i.rm)}` : "0"); break;
      case Op.SETCC: {
        const v = `(${condSource(i.sub)} ? 1 : 0)`;
        s += i.rm >= AH_BASE ? `${L(reg(i.rm - AH_BASE))} = (${L(i.rm - AH_BASE)} & ~0xff00) | (${v} << 8);` : `${L(reg(i.rm))} = (${L(i.rm)} & ~0xff) | ${v};`;
        break;
      }
      case Op.CMOV: {
        const d = reg(i.reg), r = reg(i.rm);
        s += `if (${condSource(i.sub)}) { ${setReg(d, L(r), size8 ? H(r) : "0")} }` + (size8 ? "" : ` else ${H(d)} = 0;`);
        break;
      }
      default:
        throw new Error(`x86 jit: op ${op} is not translatable (jit.ts translatable() let it in)`);
    }
    body.push(`// +${delta}\n${s}`);
  });

  const count = block.length;
  if (!terminated) body.push(`{ ${nextRip(endDelta)} xl = nl; xh = nh; }`);
  const regs = [...used].sort((a, b) => a - b);
  const memory = block.some(({ ins: { op } }) => (op > Op.F_LEA && op <= Op.F_ALU_RLD) || op === Op.F_PUSH || op === Op.F_POP || op === Op.F_CALL || op === Op.F_RET);
  return [
    `"use strict"; return function block(c, ripLo, ripHi, budget) {`,
    `const gl = c.gl, gh = c.gh;`,
    memory ? `const rTL = c.rTagLo, rTH = c.rTagHi, rV = c.rView, rO = c.rOff, wTL = c.wTagLo, wTH = c.wTagHi, wV = c.wView, wO = c.wOff;` : "",
    `let ${regs.map((r) => `${L(r)} = gl[${r}], ${H(r)} = gh[${r}]`).join(", ")};`,
    `let f = c.rflags, n = 0, k = 0, xl = 0, xh = 0, eL = 0, eH = 0, mL = 0, mH = 0;`,
    `out: for (;;) {`,
    ...body,
    `k = ${count};`,
    `if (xl === ripLo && xh === ripHi && n + ${2 * count} <= budget) { n += ${count}; continue; }`,
    `break;`,
    `}`,
    regs.map((r) => `gl[${r}] = ${L(r)}; gh[${r}] = ${H(r)};`).join(" "),
    flags ? `c.rflags = f;` : "",
    `c.ripLo = xl; c.ripHi = xh; return n + k;`,
    `};`,
  ].join("\n");
}

/**
 * SHL (4), SHR (5) or SAR (7) of register `d` by the constant `n` (already masked), with alu.ts
 * shift()'s flags: CF the last bit shifted out, OF as QEMU computes it for every count, AF clear; a
 * count of 0 changes no flag (a 32-bit destination is still zero-extended).
 * @spec SDM Vol. 2B "SAL/SAR/SHL/SHR—Shift"
 */
function shiftSource(kind: number, size8: boolean, d: number, n: number): string {
  const lo = L(d), hi = H(d);
  if (n === 0) return size8 ? "" : `${hi} = 0;`;
  let r: string;
  if (!size8) {
    const v = kind === 4 ? `v << ${n}` : kind === 5 ? `v >>> ${n}` : `v >> ${n}`;
    const cf = kind === 4 ? `(v >>> ${32 - n}) & 1` : kind === 5 ? `(v >>> ${n - 1}) & 1` : `(v >> ${n - 1}) & 1`;
    const of = kind === 4 ? "((rl >>> 31) ^ cf)" : kind === 5 && n === 1 ? "(v >>> 31)" : "0";
    r = `const v = ${lo}; const rl = (${v}) | 0, cf = ${cf}; f = (f & ${KEEP}) | cf | (${of} << 11) | X.P[rl & 0xff] | (rl === 0 ? 0x40 : 0) | ((rl >>> 24) & 0x80); ${lo} = rl; ${hi} = 0;`;
    return `{ ${r} }`;
  }
  const bit = (b: number): string => (b < 32 ? `((${lo} >>> ${b}) & 1)` : `((${hi} >>> ${b - 32}) & 1)`);
  let res: string;
  if (kind === 4) res = n < 32 ? `rh = (${hi} << ${n}) | (${lo} >>> ${32 - n}), rl = ${lo} << ${n}` : `rh = ${lo} << ${n - 32}, rl = 0`;
  else {
    const sh = kind === 7 ? ">>" : ">>>";
    res = n < 32 ? `rl = ((${lo} >>> ${n}) | (${hi} << ${32 - n})) | 0, rh = (${hi} ${sh} ${n}) | 0`
      : `rl = (${hi} ${sh} ${n - 32}) | 0, rh = ${kind === 7 ? `${hi} >> 31` : "0"}`;
  }
  const cf = bit(kind === 4 ? 64 - n : n - 1);
  const of = kind === 4 ? "((rh >>> 31) ^ cf)" : kind === 5 && n === 1 ? `(${hi} >>> 31)` : "0";
  r = `const ${res}, cf = ${cf}; f = (f & ${KEEP}) | cf | (${of} << 11) | X.P[rl & 0xff] | ((rl | rh) === 0 ? 0x40 : 0) | ((rh >>> 24) & 0x80); ${lo} = rl; ${hi} = rh;`;
  return `{ ${r} }`;
}

/** Probes the load fast path for `sz` bytes at (eH:eL), leaving the block on a miss; opens a scope with v, o. */
function loadProbe(sz: number, exit: string): string {
  return `{ const sl = (eL >>> 12) & ${FP_SLOTS - 1}; if (rTL[sl] !== (eL & -4096) || rTH[sl] !== eH || (eL & 0xfff) > ${4096 - sz}) ${exit}` +
    ` const v = rV[sl], o = rO[sl] + (eL & 0xfff);`;
}

/** Sign-extends the low `size` bytes of expression `v` to 32 bits (muldiv.ts sx). */
function signExtend(size: number, v: string): string {
  return size === 4 ? `(${v} | 0)` : size === 2 ? `((${v} << 16) >> 16)` : `((${v} << 24) >> 24)`;
}

/**
 * The effective address of memory operand `i` into (eH:eL), as X86Cpu.ea computes it: base or
 * next RIP, plus disp, plus index << scale, truncated by 67h, plus the FS/GS base.
 * @spec SDM Vol. 1 §3.7.5 "Specifying an Offset"; Vol. 2A §2.2.1.6 "RIP-Relative Addressing"
 */
function eaSource(i: Insn, next: number, reg: (r: number) => number): string {
  const d = i.disp | 0;
  let s = `eL = ${k(d)}; eH = ${k(d >> 31)};`;
  const add = (lo: string, hi: string): string => `{ const s = (eL >>> 0) + (${lo} >>> 0); eH = (eH + ${hi} + (s > 0xffffffff ? 1 : 0)) | 0; eL = s | 0; }`;
  if (i.base >= 0) s += add(L(reg(i.base)), H(i.base));
  else if (i.ripRel) s += `{ const ns = (ripLo >>> 0) + ${next}; ${add("(ns | 0)", "(ns > 0xffffffff ? (ripHi + 1) | 0 : ripHi)")} }`;
  if (i.index >= 0) {
    const x = reg(i.index), sc = i.scale;
    s += sc === 0 ? add(L(x), H(x)) : `{ const il = ${L(x)} << ${sc}, ih = (${H(x)} << ${sc}) | (${L(x)} >>> ${32 - sc}); ${add("il", "ih")} }`;
  }
  if (i.addr32) s += " eH = 0;";
  if (i.seg === 4) s += add("c.fsBaseLo", "c.fsBaseHi");
  else if (i.seg === 5) s += add("c.gsBaseLo", "c.gsBaseHi");
  return s + " ";
}
