/**
 * JavaScript source for one translated A64 block (jit.ts): each instruction's effect written out
 * with its register numbers and immediates as constants, the X registers held in locals as the
 * interpreter keeps them (int32 halves; register 31 reads as the constant 0, destination 33 is the
 * sink, 32 is SP) and NZCV in the local `f` (PSTATE bit positions, as Arm64Cpu.nzcv). Every memory
 * access probes the host fast path with the interpreter's own conditions (tag, page end, SCTLR
 * alignment, SP alignment); a miss, an SP alignment fault to come and a branch to a misaligned
 * register target leave the block *before* that instruction, with the state of the instructions
 * before it written back: the interpreter then runs it and takes any exception with the exact
 * ELR/FAR/ESR and instruction count. The formulas are execute.ts's, mem-ops.ts's and alu.ts's; the
 * less common data processing (shifted and extended register, bitfield moves, multiply, divide,
 * CCMP, ADC/SBC) calls dp.ts executeDp on the register file.
 * @spec Arm ARM (DDI 0487) C6 (semantics of each A64 instruction), "Condition code" table of
 *   ConditionHolds(), "SP alignment checking" (SCTLR_EL1.SA/SA0)
 */
import { F_POST, F_SF, F_WB, MEM_SIGNED, MEM_TO32, Op } from "./decode.js";
import { FP_SLOTS } from "./memory-access.js";

/** One instruction of a block: its decoded fields and its slot offset from the block's first. */
export interface A64BlockInsn {
  readonly op: Op;
  readonly info: number;
  readonly imm: number;
  readonly aux: number;
}

const N = "(-2147483648)", Z = "0x40000000", C = "0x20000000", V = "0x10000000";

/** A signed constant as a source literal. */
const k = (n: number): string => `(${n | 0})`;
/** The low and high word of register r as read (31 is XZR). */
const L = (r: number): string => (r === 31 ? "0" : `l${r}`);
const H = (r: number): string => (r === 31 ? "0" : `h${r}`);

/** ConditionHolds(cond) over the flags local `f` (alu.ts condHolds). @spec Arm ARM J1 shared/functions/system/ConditionHolds */
export function condSource(cond: number): string {
  if (cond >= 14) return "true";
  const base = [
    `((f & ${Z}) !== 0)`, `((f & ${C}) !== 0)`, "(f < 0)", `((f & ${V}) !== 0)`,
    `((f & 0x60000000) === ${C})`, "((f ^ (f << 3)) >= 0)", `((f ^ (f << 3)) >= 0 && (f & ${Z}) === 0)`,
  ][cond >>> 1]!;
  return (cond & 1) === 0 ? base : `!${base}`;
}

/** AddWithCarry (alu.ts adc32/adc64) of a + b + cin into `f` and (rl, rh); operands are side-effect-free. */
function adcSource(sf: boolean, a: string, ah: string, b: string, bh: string, cin: number, dest: string): string {
  if (!sf) {
    return `{ const a = ${a}, b = ${b}, s = (a >>> 0) + (b >>> 0) + ${cin}, rl = s | 0, rh = 0;` +
      ` f = (rl & ${N}) | (rl === 0 ? ${Z} : 0) | (s > 0xffffffff ? ${C} : 0) | (((a ^ rl) & (b ^ rl)) < 0 ? ${V} : 0); ${dest} }`;
  }
  return `{ const al = ${a}, ah = ${ah}, bl = ${b}, bh = ${bh}, s0 = (al >>> 0) + (bl >>> 0) + ${cin}, rl = s0 | 0;` +
    ` const s1 = (ah >>> 0) + (bh >>> 0) + (s0 > 0xffffffff ? 1 : 0), rh = s1 | 0;` +
    ` f = (rh & ${N}) | ((rl | rh) === 0 ? ${Z} : 0) | (s1 > 0xffffffff ? ${C} : 0) | (((ah ^ rh) & (bh ^ rh)) < 0 ? ${V} : 0); ${dest} }`;
}

/** (hi:lo) shifted by the constant n (0..63): kind 0 LSL, 1 LSR, 2 ASR (alu.ts shl64/lsr64/asr64), as "rl = .., rh = .." */
function shift64(kind: number, lo: string, hi: string, n: number): string {
  if (n === 0) return `rl = ${lo}, rh = ${hi}`;
  if (kind === 0) return n < 32 ? `rh = (${hi} << ${n}) | (${lo} >>> ${32 - n}), rl = ${lo} << ${n}` : `rh = ${lo} << ${n - 32}, rl = 0`;
  const sh = kind === 2 ? ">>" : ">>>";
  return n < 32 ? `rl = (${lo} >>> ${n}) | (${hi} << ${32 - n}), rh = (${hi} ${sh} ${n}) | 0`
    : `rl = (${hi} ${sh} ${n - 32}) | 0, rh = ${kind === 2 ? `${hi} >> 31` : "0"}`;
}

/**
 * The source of a block's function `(c, pcLo, pcHi, budget) => retired`: pc at entry (the block is
 * position independent), the instructions it may retire; it leaves the next pc in c.pcLo/c.pcHi. A
 * block whose last instruction branches back to its first runs again while the budget lasts.
 */
export function blockSource(block: readonly A64BlockInsn[]): string {
  const used = new Set<number>();
  const body: string[] = [];
  let flags = false, memory = false, terminated = false;
  const reg = (r: number): number => (r !== 31 && used.add(r), r);
  const set = (r: number, lo: string, hi: string): string => (r === 31 ? "" : `${L(reg(r))} = ${lo}; ${H(r)} = ${hi};`);

  block.forEach(({ op, info, imm, aux }, n) => {
    const delta = n * 4;
    const exit = `{ k = ${n}; nl = (pcLo + ${delta}) | 0; nh = pcHi; break out; }`;
    const ipc = `((pcLo + ${delta}) | 0)`;
    const sf = (info & F_SF) !== 0;
    const rd = (info >>> 8) & 63, rn = reg((info >>> 14) & 63), rm = reg((info >>> 20) & 63);
    const dest = (lo = "rl", hi = "rh"): string => set(rd, lo, sf ? hi : "0");
    /** Jumps to ipc + imm (execute.ts's formula). */
    const jump = `{ const t = (${ipc} + ${k(imm)}) | 0; nh = (pcHi + ${k(imm >> 31)} + ((t >>> 0) < (${ipc} >>> 0) ? 1 : 0)) | 0; nl = t; }`;
    const fallThrough = `{ const ns = (pcLo >>> 0) + ${delta + 4}; nl = ns | 0; nh = ns > 0xffffffff ? (pcHi + 1) | 0 : pcHi; }`;
    const branchIf = (cond: string): string => { terminated = true; return `if (${cond}) ${jump} else ${fallThrough}`; };
    let s: string;
    switch (op) {
      case Op.ADDI:
        s = sf ? `{ const al = ${L(rn)}, rl = (al + ${k(imm)}) | 0, rh = (${H(rn)} + ((rl >>> 0) < (al >>> 0) ? 1 : 0)) | 0; ${dest()} }`
          : `{ const rl = (${L(rn)} + ${k(imm)}) | 0; ${dest("rl", "0")} }`;
        break;
      case Op.SUBI:
        s = sf ? `{ const al = ${L(rn)}, rh = (${H(rn)} - ((al >>> 0) < ${imm} ? 1 : 0)) | 0, rl = (al - ${k(imm)}) | 0; ${dest()} }`
          : `{ const rl = (${L(rn)} - ${k(imm)}) | 0; ${dest("rl", "0")} }`;
        break;
      case Op.ADDSI: case Op.SUBSI: {
        const sub = op === Op.SUBSI;
        s = adcSource(sf, L(rn), H(rn), k(sub ? ~imm : imm), sub ? "(-1)" : "0", sub ? 1 : 0, set(rd, "rl", "rh"));
        flags = true;
        break;
      }
      case Op.ADDSR: case Op.SUBSR: {
        const sub = op === Op.SUBSR;
        s = adcSource(sf, L(rn), H(rn), sub ? `~${L(rm)}` : L(rm), sub ? `~${H(rm)}` : H(rm), sub ? 1 : 0, set(rd, "rl", "rh"));
        flags = true;
        break;
      }
      case Op.LOGI: {
        const o = rm === 1 ? "|" : rm === 2 ? "^" : "&";
        const hi = sf ? `${H(rn)} ${o} ${k(aux)}` : "0";
        s = `{ const rl = ${L(rn)} ${o} ${k(imm)}, rh = ${hi};`;
        if (rm === 3) { s += ` f = (${sf ? "rh" : "rl"} & ${N}) | ((rl | ${sf ? "rh" : "rl"}) === 0 ? ${Z} : 0);`; flags = true; }
        s += ` ${set(rd, "rl", "rh")} }`;
        break;
      }
      case Op.MOVI: s = set(rd, k(imm), k(aux)); break;
      case Op.MOVK: {
        const pos = aux;
        s = pos < 32 ? `{ const rl = (${L(rn)} & ${k(~(0xffff << pos))}) | ${k(imm << pos)}, rh = ${H(rn)}; ${dest()} }`
          : `{ const rl = ${L(rn)}, rh = (${H(rn)} & ${k(~(0xffff << (pos - 32)))}) | ${k(imm << (pos - 32))}; ${dest()} }`;
        break;
      }
      case Op.ADR:
        s = `{ const p = ${ipc}, rl = (p + ${k(imm)}) | 0, rh = (pcHi + ${k(imm >> 31)} + ((rl >>> 0) < (p >>> 0) ? 1 : 0)) | 0; ${set(rd, "rl", "rh")} }`;
        break;
      case Op.ADRP:
        s = `{ const p = ${ipc} & -4096, rl = (p + ${k(imm << 12)}) | 0, rh = (pcHi + ${k(imm >> 20)} + ((rl >>> 0) < (p >>> 0) ? 1 : 0)) | 0; ${set(rd, "rl", "rh")} }`;
        break;
      case Op.LSLI: case Op.LSRI: case Op.ASRI: {
        const kind = op - Op.LSLI;
        if (sf) s = `{ const ${shift64(kind, L(rn), H(rn), imm)}; ${dest()} }`;
        else s = set(rd, kind === 0 ? `${L(rn)} << ${imm}` : kind === 1 ? `(${L(rn)} >>> ${imm}) | 0` : `${L(rn)} >> ${imm}`, "0");
        break;
      }
      case Op.MOVR: s = `{ const rl = ${L(rm)}, rh = ${H(rm)}; ${dest()} }`; break;
      case Op.ANDR: case Op.ORRR: case Op.EORR: {
        const o = op === Op.ANDR ? "&" : op === Op.ORRR ? "|" : "^";
        s = `{ const rl = ${L(rn)} ${o} ${L(rm)}, rh = ${sf ? `${H(rn)} ${o} ${H(rm)}` : "0"}; ${dest()} }`;
        break;
      }
      case Op.ANDSR:
        s = `{ const rl = ${L(rn)} & ${L(rm)}, rh = ${sf ? `${H(rn)} & ${H(rm)}` : "rl"}; f = (rh & ${N}) | ((rl | rh) === 0 ? ${Z} : 0); ${dest()} }`;
        flags = true;
        break;
      case Op.ADDR:
        s = sf ? `{ const al = ${L(rn)}, rl = (al + ${L(rm)}) | 0, rh = (${H(rn)} + ${H(rm)} + ((rl >>> 0) < (al >>> 0) ? 1 : 0)) | 0; ${dest()} }`
          : `{ const rl = (${L(rn)} + ${L(rm)}) | 0; ${dest("rl", "0")} }`;
        break;
      case Op.SUBR:
        s = sf ? `{ const al = ${L(rn)}, bl = ${L(rm)}, rh = (${H(rn)} - ${H(rm)} - ((al >>> 0) < (bl >>> 0) ? 1 : 0)) | 0, rl = (al - bl) | 0; ${dest()} }`
          : `{ const rl = (${L(rn)} - ${L(rm)}) | 0; ${dest("rl", "0")} }`;
        break;
      case Op.CSEL: {
        let other = `let rl = ${L(rm)}, rh = ${H(rm)};`;
        if (aux & 32) other += " rl = ~rl; rh = ~rh;";
        if (aux & 16) other += " rl = (rl + 1) | 0; if (rl === 0) rh = (rh + 1) | 0;";
        s = `if (${condSource(aux & 15)}) { const rl = ${L(rn)}, rh = ${H(rn)}; ${dest()} } else { ${other} ${dest()} }`;
        break;
      }
      case Op.PRFM: s = ""; break;
      case Op.BFM: case Op.EXTR: case Op.LOGR: case Op.ADDSUB_SH: case Op.ADDSUB_EXT: case Op.ADCSBC: case Op.CCMP:
      case Op.DIV: case Op.SHIFTV: case Op.ONESRC: case Op.MUL3: {
        // dp.ts executeDp itself (it never faults), on the register file: its sources written
        // there first, its destination and NZCV read back.
        const srcs = [rn, rm, ...(op === Op.MUL3 ? [reg(imm)] : [])].filter((r) => r !== 31);
        s = [...new Set(srcs)].map((r) => `xl[${r}] = l${r}; xh[${r}] = h${r};`).join(" ") +
          ` c.nzcv = f; X.dp(c, ${op}, ${info}, ${imm}, ${aux}); f = c.nzcv;` +
          // CCMP writes only NZCV (its rd field is 0, not a register).
          (rd === 31 || op === Op.CCMP ? "" : ` ${L(reg(rd))} = xl[${rd}]; ${H(rd)} = xh[${rd}];`);
        flags = true;
        break;
      }
      case Op.B: s = `${jump}`; terminated = true; break;
      case Op.BL:
        s = `{ const p = ${ipc}, rl = (p + 4) | 0, rh = (pcHi + ((rl >>> 0) < 4 ? 1 : 0)) | 0; ${set(30, "rl", "rh")} } ${jump}`;
        terminated = true;
        break;
      case Op.BR: case Op.BLR: case Op.RET:
        // A misaligned target: the interpreter drops its fetch page so the next fetch faults.
        s = `{ const tl = ${L(rn)}, th = ${H(rn)}; if ((tl & 3) !== 0) ${exit}`;
        if (op === Op.BLR) s += ` { const p = ${ipc}, rl = (p + 4) | 0, rh = (pcHi + ((rl >>> 0) < 4 ? 1 : 0)) | 0; ${set(30, "rl", "rh")} }`;
        s += " nl = tl; nh = th; }";
        terminated = true;
        break;
      case Op.CBZ: case Op.CBNZ:
        s = branchIf(`${sf ? `(${L(rn)} | ${H(rn)})` : L(rn)} ${op === Op.CBZ ? "===" : "!=="} 0`);
        break;
      case Op.TBZ: case Op.TBNZ: {
        const bit = aux < 32 ? `((${L(rn)} >>> ${aux}) & 1)` : `((${H(rn)} >>> ${aux - 32}) & 1)`;
        s = branchIf(`${bit} ${op === Op.TBNZ ? "!==" : "==="} 0`);
        break;
      }
      case Op.BCOND: s = branchIf(condSource(aux)); break;
      default:
        memory = true;
        s = memorySource(op, info, imm, aux, exit, reg, set);
    }
    body.push(`// +${delta}\n${s}`);
  });

  const count = block.length;
  if (!terminated) body.push(`{ const ns = (pcLo >>> 0) + ${count * 4}; nl = ns | 0; nh = ns > 0xffffffff ? (pcHi + 1) | 0 : pcHi; }`);
  const regs = [...used].sort((a, b) => a - b);
  return [
    `"use strict"; return function block(c, pcLo, pcHi, budget) {`,
    `const xl = c.xl, xh = c.xh;`,
    memory ? "const rTL = c.rTagLo, rTH = c.rTagHi, rV = c.rView, rO = c.rOff, wTL = c.wTagLo, wTH = c.wTagHi, wV = c.wView, wO = c.wOff, am = c.alignMask, spa = c.spAlignMask;" : "",
    regs.length > 0 ? `let ${regs.map((r) => `l${r} = xl[${r}], h${r} = xh[${r}]`).join(", ")};` : "",
    `let f = c.nzcv, n = 0, k = 0, nl = 0, nh = 0, eL = 0, eH = 0;`,
    `out: for (;;) {`,
    ...body,
    `k = ${count};`,
    `if (nl === pcLo && nh === pcHi && n + ${2 * count} <= budget) { n += ${count}; continue; }`,
    `break;`,
    `}`,
    regs.map((r) => `xl[${r}] = l${r}; xh[${r}] = h${r};`).join(" "),
    flags ? `c.nzcv = f;` : "",
    `c.pcLo = nl; c.pcHi = nh; return n + k;`,
    `};`,
  ].join("\n");
}

/** Does blockSource translate this load or store? (The forms mem-ops.ts and the loop run with the current EL's permissions.) */
export function memoryTranslatable(op: Op, aux: number): boolean {
  if (op >= Op.LDRX_U && op <= Op.ST_REG) return true;
  return (op === Op.LDP || op === Op.STP) && (aux & 3) >= 2;
}

/**
 * A load or store (LDR/STR unsigned offset, unscaled, pre/post-index, register offset, of 1 to 8
 * bytes with sign extension; LDP/STP/LDPSW) as mem-ops.ts executeMem performs it on a fast-path hit;
 * anything else leaves the block before it.
 */
function memorySource(op: Op, info: number, imm: number, aux: number, exit: string, reg: (r: number) => number, set: (r: number, lo: string, hi: string) => string): string {
  const rd = (info >>> 8) & 63, rn = (info >>> 14) & 63, rm = (info >>> 20) & 63;
  const pair = op === Op.LDP || op === Op.STP;
  const isLoad = op === Op.LDRX_U || op === Op.LDRW_U || op === Op.LDRB_U || op === Op.LD_IMM || op === Op.LD_REG || op === Op.LDP;
  const memop = op === Op.LD_REG || op === Op.ST_REG ? aux & 15 : aux;
  const lg = memop & 3, size = 1 << lg, bytes = pair ? 2 * size : size;
  let s = "{ ";
  if (rn === 32) s += `if ((l32 & spa) !== 0) ${exit} `;
  s += `const bl = ${L(rn)}, bh = ${H(rn)};`;
  // The offset (hi:lo) added to the base for the access: 0 after a post-index.
  let ol = k(imm), oh = k(imm >> 31);
  if (op === Op.LD_REG || op === Op.ST_REG) {
    const option = (aux >>> 4) & 7, amt = (aux >>> 8) & 3;
    const x = L(reg(rm)), xh = H(rm);
    const ext: [string, string] = [[`${x} & 0xff`, "0"], [`${x} & 0xffff`, "0"], [x, "0"], [x, xh], [`(${x} << 24) >> 24`, "xl0 >> 31"],
      [`(${x} << 16) >> 16`, "xl0 >> 31"], [x, "xl0 >> 31"], [x, xh]][option] as [string, string];
    s += ` const xl0 = ${ext[0]}, xh0 = ${ext[1]};`;
    s += ` const ${shift64(0, "xl0", "xh0", amt).replace("rh", "oh").replace("rl", "ol")};`;
    ol = "ol"; oh = "oh";
  } else if ((info & F_POST) !== 0) {
    ol = "0"; oh = "0";
  }
  s += ` eL = (bl + ${ol}) | 0; eH = (bh + ${oh} + ((eL >>> 0) < (bl >>> 0) ? 1 : 0)) | 0;`;
  const [TL, TH, VV, OO] = isLoad ? ["rTL", "rTH", "rV", "rO"] : ["wTL", "wTH", "wV", "wO"];
  s += ` const sl = (eL >>> 12) & ${FP_SLOTS - 1}; if (${TL}[sl] !== (eL & -4096) || ${TH}[sl] !== eH || (eL & 0xfff) > ${4096 - bytes}` +
    (size > 1 ? ` || (eL & am & ${size - 1}) !== 0` : "") + `) ${exit}`;
  s += ` const v = ${VV}[sl], o = ${OO}[sl] + (eL & 0xfff);`;
  /** The value at byte `at` of v, extended as mem-ops.ts writeLoaded does: [lo, hi], hi "sx" for the sign of lo. */
  const get = (at: string): [string, string] => {
    const lo = lg === 0 ? `v.getUint8(${at})` : lg === 1 ? `v.getUint16(${at}, true)` : `v.getInt32(${at}, true)`;
    if (lg === 3) return [lo, `v.getInt32(${at} + 4, true)`];
    if ((memop & MEM_SIGNED) === 0) return [lo, "0"];
    const sx = lg === 0 ? `(${lo} << 24) >> 24` : lg === 1 ? `(${lo} << 16) >> 16` : lo;
    return [sx, (memop & MEM_TO32) !== 0 ? "0" : "sx"];
  };
  const put = (at: string, r: number): string => {
    const lo = L(reg(r));
    return lg === 0 ? `v.setUint8(${at}, ${lo} & 0xff);` : lg === 1 ? `v.setUint16(${at}, ${lo} & 0xffff, true);`
      : lg === 2 ? `v.setInt32(${at}, ${lo}, true);` : `v.setInt32(${at}, ${lo}, true); v.setInt32(${at} + 4, ${H(r)}, true);`;
  };
  /** The value at byte `at` into register r, kept in the const `name` first. */
  const load = (at: string, r: number, name: string): string => {
    const [lo, hi] = get(at);
    return ` const ${name} = ${lo}; ${set(r, name, hi === "sx" ? `${name} >> 31` : hi)}`;
  };
  if (isLoad) {
    s += load("o", rd, "v0");
    if (pair) s += load(`o + ${size}`, rm, "v1");
  } else {
    s += ` ${put("o", rd)}`;
    if (pair) s += ` ${put(`o + ${size}`, rm)}`;
  }
  if ((info & F_WB) !== 0) {
    s += ` { const wl = (bl + ${k(imm)}) | 0; ${set(rn, "wl", `(bh + ${k(imm >> 31)} + ((wl >>> 0) < (bl >>> 0) ? 1 : 0)) | 0`)} }`;
  }
  return s + " }";
}
