/**
 * The execute loop: fetch through the decode cache, whose per-page typed arrays (fetch.ts
 * DecodedPage: packed info, immediates, displacements) hold what the specialized forms
 * (specialize.ts) need, run those forms inline with the host fast path for their memory accesses,
 * and send every other form, and every slow path, through step.ts with the decoded Insn object.
 * @spec Intel SDM Vol. 2 (semantics of each instruction)
 */
import type { X86Cpu } from "./cpu.js";
import { Info, Op } from "./insn.js";
import { alu, shift } from "./alu.js";
import { imulTrunc, sx } from "./muldiv.js";
import { cond, getReg } from "./operands.js";
import { step } from "./step.js";
import { LOAD } from "./mmu.js";
import { add32, add64, logic32, logic64, sub32, sub64 } from "./fastalu.js";
import { FP_SLOTS } from "./memory-access.js";
import { NO_BLOCK } from "./jit.js";

/**
 * Runs `c` until c.icount reaches c.stopAt. RIP, the instruction count, the stop point and the fetch
 * fast path live in locals; before any call that can read or change them (memory accesses, faults,
 * step()) they are written back (SAVE) and afterwards re-read (LOAD), as the RV64 loop does.
 */
export function execute(c: X86Cpu): void {
  const gl = c.gl, gh = c.gh;
  const rTagLo = c.rTagLo, rTagHi = c.rTagHi, rView = c.rView, rOff = c.rOff;
  const wTagLo = c.wTagLo, wTagHi = c.wTagHi, wView = c.wView, wOff = c.wOff;
  let ripLo = c.ripLo, ripHi = c.ripHi, icount = c.icount, stopAt = c.stopAt;
  let tagLo = c.fetchTagLo, tagHi = c.fetchTagHi, page = c.fetchPage, pInfo = page.info, pImm = page.imm;
  /** Translated blocks (jit.ts) run only with the fetch fast path, whose tag check covers a block's page. */
  const jit = c.fastPath ? c.jit : undefined;
  /** Set by an inline case that cannot finish on its fast path: step() runs the instruction. */
  let generalPath = false;
  while (icount < stopAt) {
    const lo = ripLo;
    if ((lo & ~0xfff) !== tagLo || ripHi !== tagHi) {
      c.ripLo = ripLo; c.ripHi = ripHi; c.icount = icount; // SAVE
      const ok = c.fetchSlow();
      ripLo = c.ripLo; ripHi = c.ripHi; icount = c.icount; stopAt = c.stopAt; tagLo = c.fetchTagLo; tagHi = c.fetchTagHi; page = c.fetchPage; pInfo = page.info; pImm = page.imm; // LOAD
      // Without the fast path the tag never matches: this executes from the page just translated.
      if (!ok) continue;
    }
    const off = lo & 0xfff;
    if (jit !== undefined) {
      // A block runs only if all of it fits the budget; retiring 0 leaves its first instruction to the interpreter.
      const len = page.blockLen[off]!;
      if (len > 0) {
        if (icount + len <= stopAt) {
          const n = page.blocks[off]!(c, lo, ripHi, stopAt - icount);
          if (n !== 0) {
            ripLo = c.ripLo; ripHi = c.ripHi; icount += n;
            continue;
          }
        }
      } else if (len !== NO_BLOCK && jit.visit(c, page, off) > 0) continue;
    }
    let info = pInfo[off]!;
    if (info === 0) {
      c.decodeAt(page, off); // reads only c.fetchPpn, which is this page's
      info = pInfo[off]!;
    }
    const op = info & 0xff;
    const nlo = (lo + ((info >>> Info.LEN) & 15)) | 0;
    const nhi = (nlo >>> 0) < (lo >>> 0) ? (ripHi + 1) | 0 : ripHi;
    const reg = (info >>> Info.REG) & 31, rm = (info >>> Info.RM) & 31;
    const size8 = (info & Info.SIZE8) !== 0;
    // The memory forms: the effective address first ([base + disp] inline, anything else by c.ea).
    let eLo = 0, eHi = 0;
    if (op >= Op.F_LEA && op <= Op.F_ALU_RLD) {
      if ((info & Info.SIMPLE) !== 0) {
        const d = page.disp[off]!, s = (gl[rm]! >>> 0) + (d >>> 0);
        eLo = s | 0;
        eHi = (gh[rm]! + (d >> 31) + (s > 0xffffffff ? 1 : 0)) | 0;
      } else {
        c.nLo = nlo; c.nHi = nhi;
        c.ea(page.insns[off]!);
        eLo = c.eaLo; eHi = c.eaHi;
      }
    }
    // The most frequent forms run here; everything else (and every fault) goes through step().
    switch (op) {
      case Op.F_MOV_RR:
        gl[reg] = gl[rm]!;
        gh[reg] = size8 ? gh[rm]! : 0;
        break;
      case Op.F_MOV_RI:
        gl[reg] = pImm[off]!;
        gh[reg] = size8 ? page.immHi[off]! : 0;
        break;
      case Op.F_ALU_RR: case Op.F_ALU_RI: {
        const k = (info >>> Info.SUB) & 15;
        const bLo = op === Op.F_ALU_RR ? gl[rm]! : pImm[off]!;
        if (size8) {
          const aLo = gl[reg]!, aHi = gh[reg]!;
          const bHi = op === Op.F_ALU_RR ? gh[rm]! : bLo >> 31;
          if (k === 0) add64(c, aLo, aHi, bLo, bHi);
          else if (k === 5 || k === 7) sub64(c, aLo, aHi, bLo, bHi);
          else if (k === 4 || k === 8) logic64(c, aLo & bLo, aHi & bHi);
          else if (k === 6) logic64(c, aLo ^ bLo, aHi ^ bHi);
          else if (k === 1) logic64(c, aLo | bLo, aHi | bHi);
          else alu(c, k, 8, aLo, aHi, bLo, bHi);
          if (k < 7) { gl[reg] = c.rLo; gh[reg] = c.rHi; }
        } else {
          const a = gl[reg]!;
          if (k === 0) add32(c, a, bLo);
          else if (k === 5 || k === 7) sub32(c, a, bLo);
          else if (k === 4 || k === 8) logic32(c, a & bLo);
          else if (k === 6) logic32(c, a ^ bLo);
          else if (k === 1) logic32(c, a | bLo);
          else alu(c, k, 4, a, 0, bLo, 0);
          if (k < 7) { gl[reg] = c.rLo; gh[reg] = 0; }
        }
        break;
      }
      case Op.F_INCDEC: {
        const cf = c.rflags & 1; // CF is unchanged
        if (size8) {
          if ((info & (1 << Info.SUB)) === 0) add64(c, gl[reg]!, gh[reg]!, 1, 0);
          else sub64(c, gl[reg]!, gh[reg]!, 1, 0);
          gh[reg] = c.rHi;
        } else {
          if ((info & (1 << Info.SUB)) === 0) add32(c, gl[reg]!, 1);
          else sub32(c, gl[reg]!, 1);
          gh[reg] = 0;
        }
        gl[reg] = c.rLo;
        c.rflags = (c.rflags & ~1) | cf;
        break;
      }
      case Op.F_LEA:
        gl[reg] = eLo;
        gh[reg] = size8 ? eHi : 0;
        break;
      case Op.F_MOV_LD: {
        const sl = (eLo >>> 12) & (FP_SLOTS - 1);
        if (rTagLo[sl] === (eLo & ~0xfff) && rTagHi[sl] === eHi && (eLo & 0xfff) <= (size8 ? 4088 : 4092)) {
          const v = rView[sl]!, o = rOff[sl]! + (eLo & 0xfff);
          gl[reg] = v.getInt32(o, true);
          gh[reg] = size8 ? v.getInt32(o + 4, true) : 0;
          break;
        }
        c.ripLo = ripLo; c.ripHi = ripHi; c.icount = icount; c.nLo = nlo; c.nHi = nhi; // SAVE
        if (c.ld(eLo, eHi, size8 ? 8 : 4, LOAD)) {
          gl[reg] = c.vLo; gh[reg] = c.vHi;
          c.ripLo = nlo; c.ripHi = nhi; c.icount++;
        }
        ripLo = c.ripLo; ripHi = c.ripHi; icount = c.icount; stopAt = c.stopAt; tagLo = c.fetchTagLo; tagHi = c.fetchTagHi; page = c.fetchPage; pInfo = page.info; pImm = page.imm; // LOAD
        continue;
      }
      case Op.F_MOV_ST: case Op.F_MOV_ST_BW: case Op.F_MOV_MI: {
        const sz = 1 << ((info >>> Info.SIZE) & 3);
        const imm = op === Op.F_MOV_MI;
        const vLo = imm ? pImm[off]! : gl[reg]!;
        const vHi = imm ? vLo >> 31 : gh[reg]!;
        const sl = (eLo >>> 12) & (FP_SLOTS - 1);
        if (wTagLo[sl] === (eLo & ~0xfff) && wTagHi[sl] === eHi && (eLo & 0xfff) <= 4096 - sz) {
          const v = wView[sl]!, o = wOff[sl]! + (eLo & 0xfff);
          if (sz === 8) { v.setInt32(o, vLo, true); v.setInt32(o + 4, vHi, true); }
          else if (sz === 4) v.setInt32(o, vLo, true);
          else if (sz === 1) v.setUint8(o, vLo & 0xff);
          else v.setUint16(o, vLo & 0xffff, true);
          break;
        }
        c.ripLo = ripLo; c.ripHi = ripHi; c.icount = icount; c.nLo = nlo; c.nHi = nhi; // SAVE
        if (c.st(eLo, eHi, sz, vLo, vHi)) { c.ripLo = nlo; c.ripHi = nhi; c.icount++; }
        ripLo = c.ripLo; ripHi = c.ripHi; icount = c.icount; stopAt = c.stopAt; tagLo = c.fetchTagLo; tagHi = c.fetchTagHi; page = c.fetchPage; pInfo = page.info; pImm = page.imm; // LOAD
        continue;
      }
      case Op.F_MOVX_LD: case Op.F_CMP_MI: case Op.F_ALU_RLD: {
        // A load of size2 (MOVZX/MOVSX) or of the operand size, then the operation.
        const sz = op === Op.F_MOVX_LD ? info >>> Info.SIZE2 : 1 << ((info >>> Info.SIZE) & 3);
        const sl = (eLo >>> 12) & (FP_SLOTS - 1);
        let mLo: number, mHi = 0;
        if (rTagLo[sl] === (eLo & ~0xfff) && rTagHi[sl] === eHi && (eLo & 0xfff) <= 4096 - sz) {
          const v = rView[sl]!, o = rOff[sl]! + (eLo & 0xfff);
          if (sz === 8) { mLo = v.getInt32(o, true); mHi = v.getInt32(o + 4, true); }
          else if (sz === 4) mLo = v.getInt32(o, true);
          else if (sz === 1) mLo = v.getUint8(o);
          else mLo = v.getUint16(o, true);
        } else {
          c.ripLo = ripLo; c.ripHi = ripHi; c.icount = icount; c.nLo = nlo; c.nHi = nhi; // SAVE
          const ok = c.ld(eLo, eHi, sz, LOAD);
          mLo = c.vLo; mHi = c.vHi;
          ripLo = c.ripLo; ripHi = c.ripHi; icount = c.icount; stopAt = c.stopAt; tagLo = c.fetchTagLo; tagHi = c.fetchTagHi; page = c.fetchPage; pInfo = page.info; pImm = page.imm; // LOAD
          if (!ok) continue;
        }
        const k = (info >>> Info.SUB) & 15;
        if (op === Op.F_MOVX_LD) {
          const m = k === 1 ? sx(sz, mLo) : mLo;
          gl[reg] = m;
          gh[reg] = size8 && k === 1 ? m >> 31 : 0;
          break;
        }
        if (op === Op.F_CMP_MI) {
          const iLo = pImm[off]!, iHi = iLo >> 31;
          if (sz === 8) { if (k === 7) sub64(c, mLo, mHi, iLo, iHi); else logic64(c, mLo & iLo, mHi & iHi); }
          else if (sz === 4) { if (k === 7) sub32(c, mLo, iLo); else logic32(c, mLo & iLo); }
          else alu(c, k === 7 ? 7 : 4, sz, mLo, 0, iLo, iHi);
          break;
        }
        if (size8) {
          const aLo = gl[reg]!, aHi = gh[reg]!;
          if (k === 0) add64(c, aLo, aHi, mLo, mHi);
          else if (k === 5 || k === 7) sub64(c, aLo, aHi, mLo, mHi);
          else if (k === 4) logic64(c, aLo & mLo, aHi & mHi);
          else if (k === 6) logic64(c, aLo ^ mLo, aHi ^ mHi);
          else logic64(c, aLo | mLo, aHi | mHi);
          if (k !== 7) { gl[reg] = c.rLo; gh[reg] = c.rHi; }
        } else {
          const a = gl[reg]!;
          if (k === 0) add32(c, a, mLo);
          else if (k === 5 || k === 7) sub32(c, a, mLo);
          else if (k === 4) logic32(c, a & mLo);
          else if (k === 6) logic32(c, a ^ mLo);
          else logic32(c, a | mLo);
          if (k !== 7) { gl[reg] = c.rLo; gh[reg] = 0; }
        }
        break;
      }
      case Op.F_IMUL_RR: case Op.F_IMUL_RI: {
        const sz = size8 ? 8 : 4;
        const aLo = gl[rm]!, aHi = size8 ? gh[rm]! : 0;
        if (op === Op.F_IMUL_RR) imulTrunc(c, sz, gl[reg]!, size8 ? gh[reg]! : 0, aLo, aHi);
        else imulTrunc(c, sz, aLo, aHi, pImm[off]!, pImm[off]! >> 31);
        gl[reg] = c.rLo;
        gh[reg] = size8 ? c.rHi : 0;
        break;
      }
      case Op.F_SHIFT_RI:
        shift(c, (info >>> Info.SUB) & 15, size8 ? 8 : 4, gl[reg]!, gh[reg]!, pImm[off]!);
        gl[reg] = c.rLo;
        gh[reg] = size8 ? c.rHi : 0;
        break;
      case Op.F_MOVX_R: {
        const sz2 = info >>> Info.SIZE2;
        getReg(c, rm, sz2);
        const signed = (info & (1 << Info.SUB)) !== 0;
        const v = signed ? sx(sz2, c.vLo) : c.vLo;
        gl[reg] = v;
        gh[reg] = size8 && signed ? v >> 31 : 0;
        break;
      }
      case Op.JCC: case Op.JMP_REL: {
        if (op === Op.JCC && !cond(c.rflags, (info >>> Info.SUB) & 15)) break;
        const rel = pImm[off]!;
        const t = (nlo >>> 0) + (rel >>> 0);
        // A target in another 4 GiB: the general path checks canonicality.
        if (((nhi + (rel >> 31) + (t > 0xffffffff ? 1 : 0)) | 0) !== ripHi) { generalPath = true; break; }
        ripLo = t | 0;
        icount++;
        continue;
      }
      case Op.F_PUSH: case Op.F_CALL: {
        // The slot below RSP through the store fast path; anything else (a miss, a CALL leaving this
        // 4 GiB, which must be checked for canonicality) takes the general path.
        const sl = gl[4]!, sh = gh[4]!;
        const al = (sl - 8) | 0, ah = (sl >>> 0) < 8 ? (sh - 1) | 0 : sh;
        const slot = (al >>> 12) & (FP_SLOTS - 1);
        let tLo = 0;
        if (op === Op.F_CALL) {
          const rel = pImm[off]!;
          const t = (nlo >>> 0) + (rel >>> 0);
          if (((nhi + (rel >> 31) + (t > 0xffffffff ? 1 : 0)) | 0) !== ripHi) { generalPath = true; break; }
          tLo = t | 0;
        }
        if (wTagLo[slot] === (al & ~0xfff) && wTagHi[slot] === ah && (al & 0xfff) <= 4088) {
          const v = wView[slot]!, o = wOff[slot]! + (al & 0xfff);
          if (op === Op.F_PUSH) { v.setInt32(o, gl[rm]!, true); v.setInt32(o + 4, gh[rm]!, true); }
          else { v.setInt32(o, nlo, true); v.setInt32(o + 4, nhi, true); }
          gl[4] = al;
          gh[4] = ah;
          if (op === Op.F_CALL) { ripLo = tLo; icount++; continue; }
          break;
        }
        generalPath = true;
        break;
      }
      case Op.F_POP: case Op.F_RET: {
        const sl = gl[4]!, sh = gh[4]!;
        const slot = (sl >>> 12) & (FP_SLOTS - 1);
        if (rTagLo[slot] === (sl & ~0xfff) && rTagHi[slot] === sh && (sl & 0xfff) <= 4088) {
          const v = rView[slot]!, o = rOff[slot]! + (sl & 0xfff);
          const lo2 = v.getInt32(o, true), hi2 = v.getInt32(o + 4, true);
          if (op === Op.F_RET && hi2 !== ripHi) { generalPath = true; break; }
          const nl = (sl + 8) | 0;
          gh[4] = (nl >>> 0) < 8 ? (sh + 1) | 0 : sh;
          gl[4] = nl;
          if (op === Op.F_RET) { ripLo = lo2; icount++; continue; }
          gl[rm] = lo2;
          gh[rm] = hi2;
          break;
        }
        generalPath = true;
        break;
      }
      case Op.CROSS: {
        // Straddles two pages: decoded afresh (in its general form) and run by step().
        c.ripLo = ripLo; c.ripHi = ripHi; c.icount = icount; // SAVE
        const x = c.fetchCross();
        if (x !== null) {
          const xl = (lo + x.len) | 0;
          c.nLo = xl;
          c.nHi = (xl >>> 0) < (lo >>> 0) ? (ripHi + 1) | 0 : ripHi;
          if (step(c, x)) { c.ripLo = c.nLo; c.ripHi = c.nHi; c.icount++; }
        }
        ripLo = c.ripLo; ripHi = c.ripHi; icount = c.icount; stopAt = c.stopAt; tagLo = c.fetchTagLo; tagHi = c.fetchTagHi; page = c.fetchPage; pInfo = page.info; pImm = page.imm; // LOAD
        continue;
      }
      default:
        generalPath = true;
    }
    if (generalPath) {
      generalPath = false;
      c.ripLo = ripLo; c.ripHi = ripHi; c.icount = icount; c.nLo = nlo; c.nHi = nhi; // SAVE
      if (step(c, page.insns[off]!)) { c.ripLo = c.nLo; c.ripHi = c.nHi; c.icount++; }
      ripLo = c.ripLo; ripHi = c.ripHi; icount = c.icount; stopAt = c.stopAt; tagLo = c.fetchTagLo; tagHi = c.fetchTagHi; page = c.fetchPage; pInfo = page.info; pImm = page.imm; // LOAD
      continue;
    }
    // Fall-through from `break`: the instruction retires.
    ripLo = nlo;
    ripHi = nhi;
    icount++;
  }
  c.ripLo = ripLo; c.ripHi = ripHi; c.icount = icount; // SAVE
}
