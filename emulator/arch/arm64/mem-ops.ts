/**
 * Loads and stores outside the loop's inline fast paths: every addressing mode (unsigned offset,
 * unscaled, pre/post-index, register offset, literal), LDP/STP/LDPSW, LDTR/STTR (EL0 permissions),
 * LDXR/STXR/LDAXR/STLXR and LDAR/STLR, with the SP alignment check and sign/zero extension.
 * @spec Arm ARM (DDI 0487) C6 pages of LDR/STR (all forms), LDP/STP, LDTR/STTR, LDXR/STXR,
 *   LDAR/STLR; "SP alignment checking" (SCTLR_EL1.SA/SA0, EC 0x26)
 */
import type { Arm64Cpu } from "./cpu.js";
import { F_POST, F_WB, MEM_SIGNED, MEM_TO32, Op } from "./decode.js";
import { EC, LOAD, STORE } from "./defs.js";
import { extendReg } from "./alu.js";
import { dataAbort, loadSlow, storeSlow } from "./memory-access.js";

/** Loads `size` bytes at (hi:lo) into c.ldLo/ldHi, trying the host fast path first. */
function load(c: Arm64Cpu, lo: number, hi: number, size: 1 | 2 | 4 | 8, el: number, mustAlign: boolean): boolean {
  const s = (lo >>> 12) & 0xff;
  if (el === c.el && c.rTagLo[s] === (lo & ~0xfff) && c.rTagHi[s] === hi && (lo & 0xfff) + size <= 4096 &&
      (lo & (size - 1) & (mustAlign ? 0xf : c.alignMask)) === 0) {
    const v = c.rView[s]!;
    const o = c.rOff[s]! + (lo & 0xfff);
    switch (size) {
      case 1: c.ldLo = v.getUint8(o); c.ldHi = 0; break;
      case 2: c.ldLo = v.getUint16(o, true); c.ldHi = 0; break;
      case 4: c.ldLo = v.getInt32(o, true); c.ldHi = 0; break;
      default: c.ldLo = v.getInt32(o, true); c.ldHi = v.getInt32(o + 4, true); break;
    }
    return true;
  }
  return loadSlow(c, lo, hi, size, el, mustAlign);
}

/** Stores the low `size` bytes of (vhi:vlo) at (hi:lo), trying the host fast path first. */
function store(c: Arm64Cpu, lo: number, hi: number, size: 1 | 2 | 4 | 8, vlo: number, vhi: number, el: number, mustAlign: boolean): boolean {
  const s = (lo >>> 12) & 0xff;
  if (el === c.el && c.wTagLo[s] === (lo & ~0xfff) && c.wTagHi[s] === hi && (lo & 0xfff) + size <= 4096 &&
      (lo & (size - 1) & (mustAlign ? 0xf : c.alignMask)) === 0) {
    const v = c.wView[s]!;
    const o = c.wOff[s]! + (lo & 0xfff);
    switch (size) {
      case 1: v.setUint8(o, vlo & 0xff); break;
      case 2: v.setUint16(o, vlo & 0xffff, true); break;
      case 4: v.setInt32(o, vlo, true); break;
      default: v.setInt32(o, vlo, true); v.setInt32(o + 4, vhi, true); break;
    }
    return true;
  }
  return storeSlow(c, lo, hi, size, vlo, vhi, el, mustAlign);
}

/** Writes a loaded value (c.ldLo/ldHi, zero-extended) to `rd`, extended as `memop` says. */
function writeLoaded(c: Arm64Cpu, rd: number, lo: number, hi: number, memop: number): void {
  const size = memop & 3;
  if (memop & MEM_SIGNED) {
    if (size === 0) lo = (lo << 24) >> 24;
    else if (size === 1) lo = (lo << 16) >> 16;
    hi = memop & MEM_TO32 ? 0 : lo >> 31;
  } else if (size < 3) {
    hi = 0;
  }
  c.xl[rd] = lo;
  c.xh[rd] = hi;
}

/**
 * Executes a load or store. Returns false if an exception was taken (the registers are then
 * unchanged; for a page-crossing STP the first part may have been written).
 */
export function executeMem(c: Arm64Cpu, op: Op, info: number, imm: number, aux: number): boolean {
  const xl = c.xl, xh = c.xh;
  const rd = (info >>> 8) & 63, rn = (info >>> 14) & 63, rm = (info >>> 20) & 63;
  if (rn === 32 && op !== Op.LD_LIT && (xl[32]! & c.spAlignMask) !== 0) {
    c.exception(EC.SP_ALIGN, 0);
    return false;
  }
  const blo = xl[rn]!, bhi = xh[rn]!;
  let off = imm, offHi = imm >> 31;
  if (op === Op.LD_REG || op === Op.ST_REG) {
    extendReg(c.tmp, (aux >>> 4) & 7, xl[rm]!, xh[rm]!, (aux >>> 8) & 3);
    off = c.tmp.lo;
    offHi = c.tmp.hi;
  } else if (info & F_POST || op === Op.EXCL) {
    off = 0;
    offHi = 0;
  }
  let lo: number, hi: number;
  if (op === Op.LD_LIT) {
    lo = (c.pcLo + imm) | 0;
    hi = (c.pcHi + (imm >> 31) + ((lo >>> 0) < (c.pcLo >>> 0) ? 1 : 0)) | 0;
  } else {
    lo = (blo + off) | 0;
    hi = (bhi + offHi + ((lo >>> 0) < (blo >>> 0) ? 1 : 0)) | 0;
  }
  const el = op === Op.LDTR || op === Op.STTR ? 0 : c.el;
  const memop = op === Op.EXCL ? aux & 3 : aux;
  const size = (1 << (memop & 3)) as 1 | 2 | 4 | 8;
  switch (op) {
    case Op.LDRX_U: case Op.LDRW_U: case Op.LDRB_U: case Op.LD_IMM: case Op.LD_REG: case Op.LD_LIT: case Op.LDTR:
      if (!load(c, lo, hi, size, el, false)) return false;
      writeLoaded(c, rd, c.ldLo, c.ldHi, memop);
      break;
    case Op.STRX_U: case Op.STRW_U: case Op.STRB_U: case Op.ST_IMM: case Op.ST_REG: case Op.STTR:
      if (!store(c, lo, hi, size, xl[rd]!, xh[rd]!, el, false)) return false;
      break;
    case Op.LDP: {
      if (!load(c, lo, hi, size, el, false)) return false;
      const l1 = c.ldLo, h1 = c.ldHi;
      const lo2 = (lo + size) | 0;
      const hi2 = (hi + ((lo2 >>> 0) < size ? 1 : 0)) | 0;
      if (!load(c, lo2, hi2, size, el, false)) return false;
      writeLoaded(c, rd, l1, h1, memop);
      writeLoaded(c, rm, c.ldLo, c.ldHi, memop);
      break;
    }
    case Op.STP: {
      const vl2 = xl[rm]!, vh2 = xh[rm]!;
      if (!store(c, lo, hi, size, xl[rd]!, xh[rd]!, el, false)) return false;
      const lo2 = (lo + size) | 0;
      const hi2 = (hi + ((lo2 >>> 0) < size ? 1 : 0)) | 0;
      if (!store(c, lo2, hi2, size, vl2, vh2, el, false)) return false;
      break;
    }
    case Op.EXCL: return exclusive(c, aux, rd, rm, lo, hi, size);
    default: return true;
  }
  if (info & F_WB) {
    const wlo = (blo + imm) | 0;
    xh[rn] = (bhi + (imm >> 31) + ((wlo >>> 0) < (blo >>> 0) ? 1 : 0)) | 0;
    xl[rn] = wlo;
  }
  return true;
}

/**
 * LDXR/LDAXR (set the exclusive monitor), STXR/STLXR (store only if the monitor holds this
 * address; Rs ← 0 on success, 1 on failure; the monitor is cleared either way), LDAR, STLR.
 * All require natural alignment. aux = size | L << 2 | exclusive << 3 | ordered << 4.
 */
function exclusive(c: Arm64Cpu, aux: number, rt: number, rs: number, lo: number, hi: number, size: 1 | 2 | 4 | 8): boolean {
  const isLoad = (aux & 4) !== 0, excl = (aux & 8) !== 0;
  if (isLoad) {
    if (!load(c, lo, hi, size, c.el, true)) return false;
    writeLoaded(c, rt, c.ldLo, c.ldHi, aux & 3);
    if (excl) {
      c.exclusivePa = c.mmu.translate(lo, hi, LOAD, c.el);
      c.exclusiveSize = size;
      // Other PEs' stores to this page must reach the bus, where they clear the mark.
      if (c.exclusivePa >= 0) c.code.reserved(c.exclusivePa);
    }
    return true;
  }
  if (!excl) return store(c, lo, hi, size, c.xl[rt]!, c.xh[rt]!, c.el, true);
  const monitored = c.exclusivePa;
  c.exclusivePa = -1;
  // A store whose monitor check fails makes no access (as QEMU); otherwise the store's own
  // alignment and translation checks apply before it is performed.
  let ok = false;
  // A size different from the LDXR's fails (CONSTRAINED UNPREDICTABLE; QEMU's choice).
  if (monitored >= 0 && size === c.exclusiveSize) {
    const pa = (lo & (size - 1)) === 0 ? c.mmu.translate(lo, hi, STORE, c.el) : monitored;
    if (pa === monitored) {
      if (!store(c, lo, hi, size, c.xl[rt]!, c.xh[rt]!, c.el, true)) return false;
      ok = true;
    } else if (pa < 0) {
      return dataAbort(c, c.mmu.fsc, true, lo, hi);
    }
  }
  c.xl[rs] = ok ? 0 : 1;
  c.xh[rs] = 0;
  return true;
}
