/**
 * A64 decoder: a 32-bit instruction word becomes an operation number and operand fields in a
 * {@link DecodedPage}, the per-physical-page decode cache the core executes from. Anything not
 * implemented or unallocated decodes to {@link Op.UNKNOWN} (an Unknown-reason exception, EC 0).
 *
 * Register fields are remapped so execution never special-cases register 31: a source that reads
 * XZR is 31 (always zero), a destination XZR is 33 (a sink), and SP is 32.
 * @spec Arm ARM (DDI 0487) C4.1 "A64 instruction set encoding" and the C6 instruction pages
 */
import { REG_SINK, REG_SP } from "./defs.js";
import type { A64BlockFn } from "./jit.js";

/** Operation numbers. 0 means "not decoded yet". */
export const enum Op {
  NONE = 0, UNKNOWN,
  // data processing, immediate
  ADDI, SUBI, ADDSI, SUBSI, LOGI, MOVI, MOVK, ADR, ADRP, LSLI, LSRI, ASRI, BFM, EXTR,
  // data processing, register
  MOVR, ANDR, ORRR, EORR, ANDSR, LOGR, ADDR, SUBR, ADDSR, SUBSR, ADDSUB_SH, ADDSUB_EXT, ADCSBC, CCMP, CSEL,
  DIV, SHIFTV, ONESRC, MUL3,
  // loads and stores
  LDRX_U, LDRW_U, STRX_U, STRW_U, LDRB_U, STRB_U, LD_IMM, ST_IMM, LD_REG, ST_REG, LD_LIT, LDP, STP, LDTR, STTR,
  EXCL, PRFM,
  // branches
  B, BL, BR, BLR, RET, CBZ, CBNZ, TBZ, TBNZ, BCOND,
  // system
  SVC, HVC, SMC, BRK, ERET, MSRI, HINT, BARRIER, SYS, MRS, MSR,
  /** A native entry: a registered TypeScript function stands at this address (imm = its index). */
  NATIVE,
}

/** Flag bits of {@link DecodedPage.info} (bits 26..31). */
export const F_SF = 1 << 26;
/** Writeback (pre/post-index) for loads and stores; S (set flags) for CCMP/ADDSUB generic ops. */
export const F_WB = 1 << 27;
/** Post-index (writeback after the access). */
export const F_POST = 1 << 28;
/** Set flags (generic add/sub and logical ops). */
export const F_S = 1 << 29;

/** Slots per 4 KiB page (one per 4-byte instruction). */
export const SLOTS = 1024;

/**
 * Decoded instructions of one physical page. `info` packs op (7:0) | rd (13:8) | rn (19:14) |
 * rm (25:20) | flags (31:26); `imm` and `aux` hold the per-op immediate and extra fields.
 */
export class DecodedPage {
  readonly info = new Int32Array(SLOTS);
  readonly imm = new Int32Array(SLOTS);
  readonly aux = new Int32Array(SLOTS);
  /** The instruction word (for syndromes and MRS/MSR/SYS fields). */
  readonly raw = new Int32Array(SLOTS);
  /** Translated blocks (jit.ts) by slot: see core/block-cache.ts for what blockLen holds. */
  readonly blockLen = new Int32Array(SLOTS);
  readonly blocks: (A64BlockFn | undefined)[] = new Array<A64BlockFn | undefined>(SLOTS);
}

/** Source register n where 31 is XZR (index 31 of the register file always reads zero). */
const zs = (n: number): number => n;
/** Destination register n where 31 is XZR (the sink). */
const zd = (n: number): number => (n === 31 ? REG_SINK : n);
/** Register n where 31 is SP. */
const sp = (n: number): number => (n === 31 ? REG_SP : n);

const sext = (v: number, bits: number): number => (v << (32 - bits)) >> (32 - bits);

/**
 * Memory operation code kept in `aux` of loads and stores: size log2 (bits 1:0), sign-extend (bit 2),
 * sign-extend into a W register (bit 3; the high word is then 0).
 */
export const MEM_SIGNED = 4, MEM_TO32 = 8;

let P: DecodedPage;
let I = 0;

function put(op: Op, rd: number, rn: number, rm: number, flags: number, imm: number, aux: number): Op {
  P.info[I] = op | rd << 8 | rn << 14 | rm << 20 | flags;
  P.imm[I] = imm;
  P.aux[I] = aux;
  return op;
}

/** Marks slot `i` as the native entry number `index`. */
export function markNative(p: DecodedPage, i: number, index: number): void {
  p.info[i] = Op.NATIVE;
  p.imm[i] = index;
  p.aux[i] = 0;
  p.raw[i] = 0;
}

/** Decodes word `w` into slot `i` of `p`. Returns the operation number. */
export function decodeInto(p: DecodedPage, i: number, w: number): Op {
  P = p;
  I = i;
  p.raw[i] = w;
  const op0 = (w >>> 25) & 15;
  let op: Op;
  if ((op0 & 0b1110) === 0b1000) op = decodeDpImm(w);
  else if ((op0 & 0b1110) === 0b1010) op = decodeBranchSys(w);
  else if ((op0 & 0b0101) === 0b0100) op = decodeLoadStore(w);
  else if ((op0 & 0b0111) === 0b0101) op = decodeDpReg(w);
  else op = Op.UNKNOWN;
  if (op === Op.UNKNOWN) put(Op.UNKNOWN, 0, 0, 0, 0, 0, 0);
  return op;
}

/**
 * DecodeBitMasks(N, imms, immr, immediate=TRUE) for logical immediates: the 64-bit value as
 * [lo, hi], or undefined for a reserved encoding.
 * @spec Arm ARM J1 shared/functions/bitmasks/DecodeBitMasks
 */
export function logicalImmediate(n: number, imms: number, immr: number, sf: boolean): [number, number] | undefined {
  const combined = (n << 6) | (~imms & 0x3f);
  if (combined === 0) return undefined;
  const len = 31 - Math.clz32(combined);
  if (len < 1 || (!sf && n === 1)) return undefined;
  const esize = 1 << len;
  const levels = esize - 1;
  const s = imms & levels;
  const r = immr & levels;
  if (s === levels) return undefined;
  let welem = (1n << BigInt(s + 1)) - 1n;
  const emask = esize === 64 ? (1n << 64n) - 1n : (1n << BigInt(esize)) - 1n;
  welem = ((welem >> BigInt(r)) | (welem << BigInt(esize - r))) & emask;
  let v = 0n;
  for (let k = 0; k < 64; k += esize) v |= welem << BigInt(k);
  if (!sf) v &= 0xffffffffn;
  return [Number(v & 0xffffffffn) | 0, Number(v >> 32n) | 0];
}

function decodeDpImm(w: number): Op {
  const sf = w >>> 31;
  const flags = sf ? F_SF : 0;
  const rd = w & 31, rn = (w >>> 5) & 31;
  switch ((w >>> 23) & 7) {
    case 0: case 1: {
      const imm = sext(((w >>> 5) & 0x7ffff) << 2 | ((w >>> 29) & 3), 21);
      return put(sf ? Op.ADRP : Op.ADR, zd(rd), 0, 0, 0, imm, 0);
    }
    case 2: {
      const imm = ((w >>> 10) & 0xfff) << ((w >>> 22) & 1 ? 12 : 0);
      const S = (w >>> 29) & 1, sub = (w >>> 30) & 1;
      if (S) return put(sub ? Op.SUBSI : Op.ADDSI, zd(rd), sp(rn), 0, flags, imm, 0);
      return put(sub ? Op.SUBI : Op.ADDI, sp(rd), sp(rn), 0, flags, imm, 0);
    }
    case 4: {
      const opc = (w >>> 29) & 3;
      const m = logicalImmediate((w >>> 22) & 1, (w >>> 10) & 63, (w >>> 16) & 63, sf === 1);
      if (m === undefined) return Op.UNKNOWN;
      return put(Op.LOGI, opc === 3 ? zd(rd) : sp(rd), zs(rn), opc, flags, m[0], m[1]);
    }
    case 5: {
      const opc = (w >>> 29) & 3;
      const hw = (w >>> 21) & 3;
      if (opc === 1 || (!sf && hw >= 2)) return Op.UNKNOWN;
      const imm16 = (w >>> 5) & 0xffff;
      if (opc === 3) return put(Op.MOVK, zd(rd), zs(rd), 0, flags, imm16, hw * 16);
      let lo = hw === 0 ? imm16 : hw === 1 ? imm16 << 16 : 0;
      let hi = hw === 2 ? imm16 : hw === 3 ? imm16 << 16 : 0;
      if (opc === 0) { lo = ~lo; hi = sf ? ~hi : 0; }
      return put(Op.MOVI, zd(rd), 0, 0, flags, lo, hi);
    }
    case 6: {
      const opc = (w >>> 29) & 3;
      const n = (w >>> 22) & 1, immr = (w >>> 16) & 63, imms = (w >>> 10) & 63;
      if (opc === 3 || n !== sf || (!sf && (immr >= 32 || imms >= 32))) return Op.UNKNOWN;
      const size = sf ? 64 : 32;
      if (opc === 2 && imms !== size - 1 && imms + 1 === immr) return put(Op.LSLI, zd(rd), zs(rn), 0, flags, size - 1 - imms, 0);
      if (opc === 2 && imms === size - 1) return put(Op.LSRI, zd(rd), zs(rn), 0, flags, immr, 0);
      if (opc === 0 && imms === size - 1) return put(Op.ASRI, zd(rd), zs(rn), 0, flags, immr, 0);
      return put(Op.BFM, zd(rd), zs(rn), zs(rd), flags, immr | imms << 8, opc);
    }
    case 7: {
      if (((w >>> 29) & 3) !== 0 || ((w >>> 22) & 1) !== sf || (w >>> 21) & 1) return Op.UNKNOWN;
      const imms = (w >>> 10) & 63;
      if (!sf && imms >= 32) return Op.UNKNOWN;
      return put(Op.EXTR, zd(rd), zs(rn), zs((w >>> 16) & 31), flags, imms, 0);
    }
    default: return Op.UNKNOWN;
  }
}


/** The 16-bit system register key op0:op1:CRn:CRm:op2 of an MRS/MSR/SYS word. */
export function sysregKey(w: number): number {
  return (w >>> 5) & 0xffff;
}

function decodeBranchSys(w: number): Op {
  if ((w & 0x7c000000) === 0x14000000) return put(w >>> 31 ? Op.BL : Op.B, 30, 0, 0, 0, sext(w & 0x3ffffff, 26) * 4, 0);
  if ((w & 0x7e000000) === 0x34000000) {
    return put((w >>> 24) & 1 ? Op.CBNZ : Op.CBZ, 0, zs(w & 31), 0, w >>> 31 ? F_SF : 0, sext((w >>> 5) & 0x7ffff, 19) * 4, 0);
  }
  if ((w & 0x7e000000) === 0x36000000) {
    const bit = ((w >>> 31) << 5) | ((w >>> 19) & 31);
    return put((w >>> 24) & 1 ? Op.TBNZ : Op.TBZ, 0, zs(w & 31), 0, 0, sext((w >>> 5) & 0x3fff, 14) * 4, bit);
  }
  if ((w & 0xff000010) === 0x54000000) return put(Op.BCOND, 0, 0, 0, 0, sext((w >>> 5) & 0x7ffff, 19) * 4, w & 15);
  if (w >>> 24 === 0xd4) {
    const opc = (w >>> 21) & 7, ll = w & 3, imm16 = (w >>> 5) & 0xffff;
    if (((w >>> 2) & 7) !== 0) return Op.UNKNOWN;
    if (opc === 0 && ll === 1) return put(Op.SVC, 0, 0, 0, 0, imm16, 0);
    if (opc === 0 && ll === 2) return put(Op.HVC, 0, 0, 0, 0, imm16, 0);
    if (opc === 0 && ll === 3) return put(Op.SMC, 0, 0, 0, 0, imm16, 0);
    if (opc === 1 && ll === 0) return put(Op.BRK, 0, 0, 0, 0, imm16, 0);
    return Op.UNKNOWN;
  }
  if (((w & 0xfe1ffc1f) >>> 0) === 0xd61f0000) {
    const rn = (w >>> 5) & 31;
    switch ((w >>> 21) & 15) {
      case 0: return put(Op.BR, 0, zs(rn), 0, 0, 0, 0);
      case 1: return put(Op.BLR, 30, zs(rn), 0, 0, 0, 0);
      case 2: return put(Op.RET, 0, zs(rn), 0, 0, 0, 0);
      case 4: return rn === 31 ? put(Op.ERET, 0, 0, 0, 0, 0, 0) : Op.UNKNOWN;
      default: return Op.UNKNOWN;
    }
  }
  if (w >>> 22 === 0x354) {
    const l = (w >>> 21) & 1, op0 = (w >>> 19) & 3, op1 = (w >>> 16) & 7;
    const crn = (w >>> 12) & 15, crm = (w >>> 8) & 15, op2 = (w >>> 5) & 7, rt = w & 31;
    if (op0 === 0 && l === 0) {
      if (rt !== 31) return Op.UNKNOWN;
      if (crn === 4) return put(Op.MSRI, 0, 0, 0, 0, crm, (op1 << 3) | op2);
      if (crn === 2) return put(Op.HINT, 0, 0, 0, 0, (crm << 3) | op2, 0);
      if (crn === 3 && op1 === 3 && op2 >= 2) return put(Op.BARRIER, 0, 0, 0, 0, op2, crm);
      return Op.UNKNOWN;
    }
    if (op0 === 1) return l === 0 ? put(Op.SYS, 0, zs(rt), 0, 0, 0, sysregKey(w)) : Op.UNKNOWN;
    if (op0 >= 2) return l === 1 ? put(Op.MRS, zd(rt), 0, 0, 0, 0, sysregKey(w)) : put(Op.MSR, 0, zs(rt), 0, 0, 0, sysregKey(w));
  }
  return Op.UNKNOWN;
}

function decodeLoadStore(w: number): Op {
  const rt = w & 31, rn = sp((w >>> 5) & 31);
  const size = w >>> 30;
  if ((w >>> 26) & 1) return Op.UNKNOWN; // SIMD&FP (not implemented: -mgeneral-regs-only code)
  // Load/store exclusive and load-acquire/store-release: size 001000 o2 L o1 Rs o0 Rt2 Rn Rt
  if (((w >>> 24) & 0x3f) === 0x08) {
    const o2 = (w >>> 23) & 1, l = (w >>> 22) & 1, o1 = (w >>> 21) & 1, o0 = (w >>> 15) & 1;
    const rs = (w >>> 16) & 31;
    if (o1 === 1) return Op.UNKNOWN; // pairs and CAS (LSE) are not implemented
    if (o2 === 1 && o0 === 0) return Op.UNKNOWN; // LDLAR/STLLR (FEAT_LOR)
    // aux: size | L<<2 | exclusive<<3 | ordered<<4
    const aux = size | l << 2 | (o2 ? 0 : 8) | o0 << 4;
    return put(Op.EXCL, l ? zd(rt) : zs(rt), rn, o2 || l ? 0 : zd(rs), 0, 0, aux);
  }
  // Load register (literal): opc 011 V 00 imm19 Rt
  if (((w >>> 27) & 7) === 3 && ((w >>> 24) & 3) === 0) {
    const opc = w >>> 30;
    const off = sext((w >>> 5) & 0x7ffff, 19) * 4;
    if (opc === 3) return put(Op.PRFM, 0, 0, 0, 0, 0, 0);
    return put(Op.LD_LIT, zd(rt), 0, 0, 0, off, opc === 0 ? 2 : opc === 1 ? 3 : 2 | MEM_SIGNED);
  }
  // Load/store pair: opc 101 V 0 mode L imm7 Rt2 Rn Rt
  if (((w >>> 27) & 7) === 5 && ((w >>> 25) & 1) === 0) {
    const opc = w >>> 30, mode = (w >>> 23) & 3, l = (w >>> 22) & 1;
    const rt2 = (w >>> 10) & 31;
    // opc 01 is LDPSW, a load with writeback or offset only: no store, and no no-allocate form
    // (mode 00, LDNP/STNP: opc 01 unallocated). Found by test/fuzz/decode-arm64.test.ts.
    // @spec Arm ARM (DDI 0487) C4.1 "Loads and Stores", the table of "Load/store no-allocate pair (offset)": opc = 01, V = 0 is unallocated
    if (opc === 3 || (opc === 1 && (l === 0 || mode === 0))) return Op.UNKNOWN;
    const sz = opc === 2 ? 3 : 2;
    const memop = sz | (opc === 1 ? MEM_SIGNED : 0);
    const flags = mode === 1 ? F_WB | F_POST : mode === 3 ? F_WB : 0;
    if (l && rt === rt2) return Op.UNKNOWN; // CONSTRAINED UNPREDICTABLE: we choose UNDEFINED (docs/arm64.md)
    return put(l ? Op.LDP : Op.STP, l ? zd(rt) : zs(rt), rn, l ? zd(rt2) : zs(rt2), flags, sext((w >>> 15) & 0x7f, 7) << sz, memop);
  }
  if (((w >>> 27) & 7) !== 7) return Op.UNKNOWN;
  const opc = (w >>> 22) & 3;
  // memop for size/opc; -1 = unallocated, -2 = prefetch
  let memop: number;
  if (opc === 0) memop = size;
  else if (opc === 1) memop = size;
  else if (size === 3) memop = opc === 2 ? -2 : -1;
  else if (opc === 2) memop = size | MEM_SIGNED;
  else memop = size === 2 ? -1 : size | MEM_SIGNED | MEM_TO32;
  if (memop === -1) return Op.UNKNOWN;
  const load = opc !== 0;
  const r = load ? zd(rt) : zs(rt);
  if ((w >>> 24) & 1) {
    // unsigned offset
    if (memop === -2) return put(Op.PRFM, 0, 0, 0, 0, 0, 0);
    const off = ((w >>> 10) & 0xfff) << size;
    if (memop === 3) return put(load ? Op.LDRX_U : Op.STRX_U, r, rn, 0, 0, off, memop);
    if (memop === 2 && opc !== 2) return put(load ? Op.LDRW_U : Op.STRW_U, r, rn, 0, 0, off, memop);
    if (memop === 0) return put(load ? Op.LDRB_U : Op.STRB_U, r, rn, 0, 0, off, memop);
    return put(load ? Op.LD_IMM : Op.ST_IMM, r, rn, 0, 0, off, memop);
  }
  const kind = (w >>> 10) & 3;
  if ((w >>> 21) & 1) {
    if (kind !== 2) return Op.UNKNOWN; // atomics (LSE), PAC loads
    const option = (w >>> 13) & 7;
    if ((option & 2) === 0) return Op.UNKNOWN;
    if (memop === -2) return put(Op.PRFM, 0, 0, 0, 0, 0, 0);
    const amount = (w >>> 12) & 1 ? size : 0;
    return put(load ? Op.LD_REG : Op.ST_REG, r, rn, zs((w >>> 16) & 31), 0, 0, memop | option << 4 | amount << 8);
  }
  const imm9 = sext((w >>> 12) & 0x1ff, 9);
  if (memop === -2) return kind === 0 ? put(Op.PRFM, 0, 0, 0, 0, 0, 0) : Op.UNKNOWN;
  switch (kind) {
    case 0:
      if (memop === 3) return put(load ? Op.LDRX_U : Op.STRX_U, r, rn, 0, 0, imm9, memop);
      if (memop === 2 && opc !== 2) return put(load ? Op.LDRW_U : Op.STRW_U, r, rn, 0, 0, imm9, memop);
      return put(load ? Op.LD_IMM : Op.ST_IMM, r, rn, 0, 0, imm9, memop);
    case 1: return put(load ? Op.LD_IMM : Op.ST_IMM, r, rn, 0, F_WB | F_POST, imm9, memop);
    case 2: return put(load ? Op.LDTR : Op.STTR, r, rn, 0, 0, imm9, memop);
    default: return put(load ? Op.LD_IMM : Op.ST_IMM, r, rn, 0, F_WB, imm9, memop);
  }
}

function decodeDpReg(w: number): Op {
  const sf = w >>> 31;
  const flags = sf ? F_SF : 0;
  const rd = w & 31, rn = (w >>> 5) & 31, rm = (w >>> 16) & 31;
  const op28_21 = (w >>> 21) & 0xff;
  if ((op28_21 & 0xf8) === 0x50) {
    // logical (shifted register): sf opc 01010 shift N Rm imm6 Rn Rd
    const opc = (w >>> 29) & 3, shift = (w >>> 22) & 3, n = (w >>> 21) & 1, amt = (w >>> 10) & 63;
    if (!sf && amt >= 32) return Op.UNKNOWN;
    if (opc === 1 && n === 0 && shift === 0 && amt === 0 && rn === 31) return put(Op.MOVR, zd(rd), 0, zs(rm), flags, 0, 0);
    if (n === 0 && amt === 0) return put([Op.ANDR, Op.ORRR, Op.EORR, Op.ANDSR][opc]!, zd(rd), zs(rn), zs(rm), flags, 0, 0);
    return put(Op.LOGR, zd(rd), zs(rn), zs(rm), flags, amt, opc | n << 2 | shift << 3);
  }
  if ((op28_21 & 0xf9) === 0x58) {
    // add/sub (shifted register): sf op S 01011 shift 0 Rm imm6 Rn Rd
    const sub = (w >>> 30) & 1, S = (w >>> 29) & 1, shift = (w >>> 22) & 3, amt = (w >>> 10) & 63;
    if (shift === 3 || (!sf && amt >= 32)) return Op.UNKNOWN;
    if (amt === 0) {
      const op = S ? (sub ? Op.SUBSR : Op.ADDSR) : (sub ? Op.SUBR : Op.ADDR);
      return put(op, zd(rd), zs(rn), zs(rm), flags, 0, 0);
    }
    return put(Op.ADDSUB_SH, zd(rd), zs(rn), zs(rm), flags | (S ? F_S : 0), amt, sub | shift << 1);
  }
  if ((op28_21 & 0xf9) === 0x59) {
    // add/sub (extended register): sf op S 01011 00 1 Rm option imm3 Rn Rd
    const sub = (w >>> 30) & 1, S = (w >>> 29) & 1, opt = (w >>> 22) & 3, imm3 = (w >>> 10) & 7;
    if (opt !== 0 || imm3 > 4) return Op.UNKNOWN;
    return put(Op.ADDSUB_EXT, S ? zd(rd) : sp(rd), sp(rn), zs(rm), flags | (S ? F_S : 0), imm3, sub | ((w >>> 13) & 7) << 1);
  }
  if (op28_21 === 0xd0) {
    if (((w >>> 10) & 63) !== 0) return Op.UNKNOWN;
    return put(Op.ADCSBC, zd(rd), zs(rn), zs(rm), flags | ((w >>> 29) & 1 ? F_S : 0), 0, (w >>> 30) & 1);
  }
  if (op28_21 === 0xd2) {
    // CCMN/CCMP: sf op 1 11010010 Rm|imm5 cond imm 0 Rn 0 nzcv
    if (((w >>> 29) & 1) === 0 || (w >>> 10) & 1 || (w >>> 4) & 1) return Op.UNKNOWN;
    const isImm = (w >>> 11) & 1;
    // aux: nzcv | cond<<4 | sub<<8 | imm<<9 ; imm = imm5
    return put(Op.CCMP, 0, zs(rn), isImm ? 0 : zs(rm), flags, isImm ? rm : 0, (w & 15) | ((w >>> 12) & 15) << 4 | ((w >>> 30) & 1) << 8 | isImm << 9);
  }
  if (op28_21 === 0xd4) {
    if ((w >>> 29) & 1 || (w >>> 11) & 1) return Op.UNKNOWN;
    return put(Op.CSEL, zd(rd), zs(rn), zs(rm), flags, 0, ((w >>> 12) & 15) | ((w >>> 10) & 1) << 4 | ((w >>> 30) & 1) << 5);
  }
  if (op28_21 === 0xd6) {
    if ((w >>> 29) & 1) return Op.UNKNOWN;
    const opcode = (w >>> 10) & 63;
    if (((w >>> 30) & 1) === 0) {
      if (opcode === 2 || opcode === 3) return put(Op.DIV, zd(rd), zs(rn), zs(rm), flags, opcode & 1, 0);
      if (opcode >= 8 && opcode <= 11) return put(Op.SHIFTV, zd(rd), zs(rn), zs(rm), flags, opcode & 3, 0);
      return Op.UNKNOWN;
    }
    if (rm !== 0 || opcode > 5 || (opcode === 3 && !sf)) return Op.UNKNOWN;
    return put(Op.ONESRC, zd(rd), zs(rn), 0, flags, opcode, 0);
  }
  if ((op28_21 & 0xf8) === 0xd8) {
    // data processing 3-source: sf 00 11011 op31 Rm o0 Ra Rn Rd
    if ((w >>> 29) & 3) return Op.UNKNOWN;
    const op31 = (w >>> 21) & 7, o0 = (w >>> 15) & 1, ra = (w >>> 10) & 31;
    const ok = op31 === 0 || (sf && (op31 === 1 || op31 === 5 || ((op31 === 2 || op31 === 6) && o0 === 0)));
    if (!ok) return Op.UNKNOWN;
    return put(Op.MUL3, zd(rd), zs(rn), zs(rm), flags, zs(ra), op31 << 1 | o0);
  }
  return Op.UNKNOWN;
}

