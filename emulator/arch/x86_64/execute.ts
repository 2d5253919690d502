/**
 * The execute loop: fetch through the decode cache, then the specialized forms (decode.ts
 * specialize) inline, with the host fast path for their memory accesses; every other form, and
 * every slow path, goes through step.ts.
 * @spec Intel SDM Vol. 2 (semantics of each instruction)
 */
import type { X86Cpu } from "./cpu.js";
import { Op } from "./insn.js";
import { alu, shift } from "./alu.js";
import { imulTrunc, sx } from "./muldiv.js";
import { cond, getReg } from "./operands.js";
import { jumpRel, step } from "./step.js";
import { LOAD } from "./mmu.js";
import { add32, add64, logic32, logic64, sub32, sub64 } from "./fastalu.js";
import { FP_SLOTS } from "./memory-access.js";

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
  let tagLo = c.fetchTagLo, tagHi = c.fetchTagHi, page = c.fetchPage;
  /** Set by an inline case that cannot finish on its fast path: step() runs the instruction. */
  let generalPath = false;
  while (icount < stopAt) {
    const lo = ripLo;
    if ((lo & ~0xfff) !== tagLo || ripHi !== tagHi) {
      c.ripLo = ripLo; c.ripHi = ripHi; c.icount = icount; // SAVE
      const ok = c.fetchSlow();
      ripLo = c.ripLo; ripHi = c.ripHi; icount = c.icount; stopAt = c.stopAt; tagLo = c.fetchTagLo; tagHi = c.fetchTagHi; page = c.fetchPage; // LOAD
      if (!ok) continue;
      // Without the fast path the tag never matches: execute from the page just translated.
      page = c.fetchPage;
    }
    let ins = page.insns[lo & 0xfff];
    if (ins === undefined) {
      c.ripLo = ripLo; c.ripHi = ripHi; c.icount = icount; // SAVE (decodeAt reads fetchPpn only)
      ins = c.decodeAt(page, lo & 0xfff);
    }
    const nlo = (lo + ins.len) | 0;
    const nhi = (nlo >>> 0) < (lo >>> 0) ? (ripHi + 1) | 0 : ripHi;
    // The most frequent forms run here; everything else (and every fault) goes through step().
    switch (ins.op) {
      case Op.F_MOV_RR:
        gl[ins.reg] = gl[ins.rm]!;
        gh[ins.reg] = ins.size === 8 ? gh[ins.rm]! : 0;
        break;
      case Op.F_MOV_RI:
        gl[ins.reg] = ins.immLo;
        gh[ins.reg] = ins.size === 8 ? ins.immHi : 0;
        break;
      case Op.F_ALU_RR: case Op.F_ALU_RI: {
        const d = ins.reg, k = ins.sub;
        const bLo = ins.op === Op.F_ALU_RR ? gl[ins.rm]! : ins.immLo;
        if (ins.size === 8) {
          const aLo = gl[d]!, aHi = gh[d]!;
          const bHi = ins.op === Op.F_ALU_RR ? gh[ins.rm]! : ins.immHi;
          if (k === 0) add64(c, aLo, aHi, bLo, bHi);
          else if (k === 5 || k === 7) sub64(c, aLo, aHi, bLo, bHi);
          else if (k === 4 || k === 8) logic64(c, aLo & bLo, aHi & bHi);
          else if (k === 6) logic64(c, aLo ^ bLo, aHi ^ bHi);
          else if (k === 1) logic64(c, aLo | bLo, aHi | bHi);
          else alu(c, k, 8, aLo, aHi, bLo, bHi);
          if (k < 7) { gl[d] = c.rLo; gh[d] = c.rHi; }
        } else {
          const a = gl[d]!;
          if (k === 0) add32(c, a, bLo);
          else if (k === 5 || k === 7) sub32(c, a, bLo);
          else if (k === 4 || k === 8) logic32(c, a & bLo);
          else if (k === 6) logic32(c, a ^ bLo);
          else if (k === 1) logic32(c, a | bLo);
          else alu(c, k, 4, a, 0, bLo, 0);
          if (k < 7) { gl[d] = c.rLo; gh[d] = 0; }
        }
        break;
      }
      case Op.F_INCDEC: {
        const d = ins.reg;
        const cf = c.rflags & 1; // CF
        if (ins.size === 8) {
          if (ins.sub === 0) add64(c, gl[d]!, gh[d]!, 1, 0);
          else sub64(c, gl[d]!, gh[d]!, 1, 0);
          gh[d] = c.rHi;
        } else {
          if (ins.sub === 0) add32(c, gl[d]!, 1);
          else sub32(c, gl[d]!, 1);
          gh[d] = 0;
        }
        gl[d] = c.rLo;
        c.rflags = (c.rflags & ~1) | cf;
        break;
      }
      case Op.F_MOV_LD: {
        let eLo: number, eHi: number;
        if (ins.simple) {
          const b = ins.base, s = (gl[b]! >>> 0) + (ins.disp >>> 0);
          eLo = s | 0;
          eHi = (gh[b]! + (ins.disp >> 31) + (s > 0xffffffff ? 1 : 0)) | 0;
        } else {
          c.nLo = nlo; c.nHi = nhi;
          c.ea(ins);
          eLo = c.eaLo; eHi = c.eaHi;
        }
        const sl = (eLo >>> 12) & (FP_SLOTS - 1);
        const off = eLo & 0xfff;
        if (rTagLo[sl] === (eLo & ~0xfff) && rTagHi[sl] === eHi && off <= 4096 - ins.size) {
          const v = rView[sl]!, o = rOff[sl]! + off;
          gl[ins.reg] = v.getInt32(o, true);
          gh[ins.reg] = ins.size === 8 ? v.getInt32(o + 4, true) : 0;
          break;
        }
        c.ripLo = ripLo; c.ripHi = ripHi; c.icount = icount; c.nLo = nlo; c.nHi = nhi; // SAVE
        if (c.ld(eLo, eHi, ins.size, LOAD)) {
          gl[ins.reg] = c.vLo; gh[ins.reg] = c.vHi;
          c.ripLo = nlo; c.ripHi = nhi; c.icount++;
        }
        ripLo = c.ripLo; ripHi = c.ripHi; icount = c.icount; stopAt = c.stopAt; tagLo = c.fetchTagLo; tagHi = c.fetchTagHi; page = c.fetchPage; // LOAD
        continue;
      }
      case Op.F_MOV_ST: {
        let eLo: number, eHi: number;
        if (ins.simple) {
          const b = ins.base, s = (gl[b]! >>> 0) + (ins.disp >>> 0);
          eLo = s | 0;
          eHi = (gh[b]! + (ins.disp >> 31) + (s > 0xffffffff ? 1 : 0)) | 0;
        } else {
          c.nLo = nlo; c.nHi = nhi;
          c.ea(ins);
          eLo = c.eaLo; eHi = c.eaHi;
        }
        const sl = (eLo >>> 12) & (FP_SLOTS - 1);
        const off = eLo & 0xfff;
        if (wTagLo[sl] === (eLo & ~0xfff) && wTagHi[sl] === eHi && off <= 4096 - ins.size) {
          const v = wView[sl]!, o = wOff[sl]! + off;
          v.setInt32(o, gl[ins.reg]!, true);
          if (ins.size === 8) v.setInt32(o + 4, gh[ins.reg]!, true);
          break;
        }
        c.ripLo = ripLo; c.ripHi = ripHi; c.icount = icount; c.nLo = nlo; c.nHi = nhi; // SAVE
        if (c.st(eLo, eHi, ins.size, gl[ins.reg]!, gh[ins.reg]!)) { c.ripLo = nlo; c.ripHi = nhi; c.icount++; }
        ripLo = c.ripLo; ripHi = c.ripHi; icount = c.icount; stopAt = c.stopAt; tagLo = c.fetchTagLo; tagHi = c.fetchTagHi; page = c.fetchPage; // LOAD
        continue;
      }
      case Op.F_MOV_ST_BW: {
        let eLo: number, eHi: number;
        if (ins.simple) {
          const b = ins.base, s = (gl[b]! >>> 0) + (ins.disp >>> 0);
          eLo = s | 0;
          eHi = (gh[b]! + (ins.disp >> 31) + (s > 0xffffffff ? 1 : 0)) | 0;
        } else {
          c.nLo = nlo; c.nHi = nhi;
          c.ea(ins);
          eLo = c.eaLo; eHi = c.eaHi;
        }
        const sl = (eLo >>> 12) & (FP_SLOTS - 1);
        const off = eLo & 0xfff;
        if (wTagLo[sl] === (eLo & ~0xfff) && wTagHi[sl] === eHi && off <= 4096 - ins.size) {
          const v = wView[sl]!, o = wOff[sl]! + off;
          if (ins.size === 1) v.setUint8(o, gl[ins.reg]! & 0xff);
          else v.setUint16(o, gl[ins.reg]! & 0xffff, true);
          break;
        }
        c.ripLo = ripLo; c.ripHi = ripHi; c.icount = icount; c.nLo = nlo; c.nHi = nhi; // SAVE
        if (c.st(eLo, eHi, ins.size, gl[ins.reg]!, 0)) { c.ripLo = nlo; c.ripHi = nhi; c.icount++; }
        ripLo = c.ripLo; ripHi = c.ripHi; icount = c.icount; stopAt = c.stopAt; tagLo = c.fetchTagLo; tagHi = c.fetchTagHi; page = c.fetchPage; // LOAD
        continue;
      }
      case Op.F_MOVX_LD: {
        let eLo: number, eHi: number;
        if (ins.simple) {
          const b = ins.base, s = (gl[b]! >>> 0) + (ins.disp >>> 0);
          eLo = s | 0;
          eHi = (gh[b]! + (ins.disp >> 31) + (s > 0xffffffff ? 1 : 0)) | 0;
        } else {
          c.nLo = nlo; c.nHi = nhi;
          c.ea(ins);
          eLo = c.eaLo; eHi = c.eaHi;
        }
        const sz = ins.size2;
        const sl = (eLo >>> 12) & (FP_SLOTS - 1);
        const off = eLo & 0xfff;
        let m: number;
        if (rTagLo[sl] === (eLo & ~0xfff) && rTagHi[sl] === eHi && off <= 4096 - sz) {
          const v = rView[sl]!, o = rOff[sl]! + off;
          m = sz === 1 ? (ins.sub === 1 ? v.getInt8(o) : v.getUint8(o)) : sz === 2 ? (ins.sub === 1 ? v.getInt16(o, true) : v.getUint16(o, true)) : v.getInt32(o, true);
        } else {
          c.ripLo = ripLo; c.ripHi = ripHi; c.icount = icount; c.nLo = nlo; c.nHi = nhi; // SAVE
          const ok = c.ld(eLo, eHi, sz, LOAD);
          ripLo = c.ripLo; ripHi = c.ripHi; icount = c.icount; stopAt = c.stopAt; tagLo = c.fetchTagLo; tagHi = c.fetchTagHi; page = c.fetchPage; // LOAD
          if (!ok) continue;
          m = ins.sub === 1 ? sx(sz, c.vLo) : c.vLo;
        }
        gl[ins.reg] = m;
        gh[ins.reg] = ins.size === 8 && ins.sub === 1 ? m >> 31 : 0;
        break;
      }
      case Op.F_MOV_MI: {
        let eLo: number, eHi: number;
        if (ins.simple) {
          const b = ins.base, s = (gl[b]! >>> 0) + (ins.disp >>> 0);
          eLo = s | 0;
          eHi = (gh[b]! + (ins.disp >> 31) + (s > 0xffffffff ? 1 : 0)) | 0;
        } else {
          c.nLo = nlo; c.nHi = nhi;
          c.ea(ins);
          eLo = c.eaLo; eHi = c.eaHi;
        }
        const sz = ins.size;
        const sl = (eLo >>> 12) & (FP_SLOTS - 1);
        const off = eLo & 0xfff;
        if (wTagLo[sl] === (eLo & ~0xfff) && wTagHi[sl] === eHi && off <= 4096 - sz) {
          const v = wView[sl]!, o = wOff[sl]! + off;
          if (sz === 8) { v.setInt32(o, ins.immLo, true); v.setInt32(o + 4, ins.immHi, true); }
          else if (sz === 4) v.setInt32(o, ins.immLo, true);
          else if (sz === 1) v.setUint8(o, ins.immLo & 0xff);
          else v.setUint16(o, ins.immLo & 0xffff, true);
          break;
        }
        c.ripLo = ripLo; c.ripHi = ripHi; c.icount = icount; c.nLo = nlo; c.nHi = nhi; // SAVE
        if (c.st(eLo, eHi, sz, ins.immLo, ins.immHi)) { c.ripLo = nlo; c.ripHi = nhi; c.icount++; }
        ripLo = c.ripLo; ripHi = c.ripHi; icount = c.icount; stopAt = c.stopAt; tagLo = c.fetchTagLo; tagHi = c.fetchTagHi; page = c.fetchPage; // LOAD
        continue;
      }
      case Op.F_CMP_MI: case Op.F_ALU_RLD: {
        let eLo: number, eHi: number;
        if (ins.simple) {
          const b = ins.base, s = (gl[b]! >>> 0) + (ins.disp >>> 0);
          eLo = s | 0;
          eHi = (gh[b]! + (ins.disp >> 31) + (s > 0xffffffff ? 1 : 0)) | 0;
        } else {
          c.nLo = nlo; c.nHi = nhi;
          c.ea(ins);
          eLo = c.eaLo; eHi = c.eaHi;
        }
        const sz = ins.size;
        const sl = (eLo >>> 12) & (FP_SLOTS - 1);
        const off = eLo & 0xfff;
        let mLo: number, mHi = 0;
        if (rTagLo[sl] === (eLo & ~0xfff) && rTagHi[sl] === eHi && off <= 4096 - sz) {
          const v = rView[sl]!, o = rOff[sl]! + off;
          if (sz === 8) { mLo = v.getInt32(o, true); mHi = v.getInt32(o + 4, true); }
          else if (sz === 4) mLo = v.getInt32(o, true);
          else if (sz === 1) mLo = v.getUint8(o);
          else mLo = v.getUint16(o, true);
        } else {
          c.ripLo = ripLo; c.ripHi = ripHi; c.icount = icount; c.nLo = nlo; c.nHi = nhi; // SAVE
          const ok = c.ld(eLo, eHi, sz, LOAD);
          mLo = c.vLo; mHi = c.vHi;
          ripLo = c.ripLo; ripHi = c.ripHi; icount = c.icount; stopAt = c.stopAt; tagLo = c.fetchTagLo; tagHi = c.fetchTagHi; page = c.fetchPage; // LOAD
          if (!ok) continue;
        }
        const k = ins.sub;
        if (ins.op === Op.F_CMP_MI) {
          if (sz === 8) { if (k === 7) sub64(c, mLo, mHi, ins.immLo, ins.immHi); else logic64(c, mLo & ins.immLo, mHi & ins.immHi); }
          else if (sz === 4) { if (k === 7) sub32(c, mLo, ins.immLo); else logic32(c, mLo & ins.immLo); }
          else alu(c, k === 7 ? 7 : 4, sz, mLo, 0, ins.immLo, ins.immHi);
          break;
        }
        const d = ins.reg;
        if (sz === 8) {
          const aLo = gl[d]!, aHi = gh[d]!;
          if (k === 0) add64(c, aLo, aHi, mLo, mHi);
          else if (k === 5 || k === 7) sub64(c, aLo, aHi, mLo, mHi);
          else if (k === 4) logic64(c, aLo & mLo, aHi & mHi);
          else if (k === 6) logic64(c, aLo ^ mLo, aHi ^ mHi);
          else logic64(c, aLo | mLo, aHi | mHi);
          if (k !== 7) { gl[d] = c.rLo; gh[d] = c.rHi; }
        } else {
          const a = gl[d]!;
          if (k === 0) add32(c, a, mLo);
          else if (k === 5 || k === 7) sub32(c, a, mLo);
          else if (k === 4) logic32(c, a & mLo);
          else if (k === 6) logic32(c, a ^ mLo);
          else logic32(c, a | mLo);
          if (k !== 7) { gl[d] = c.rLo; gh[d] = 0; }
        }
        break;
      }
      case Op.F_IMUL_RR: case Op.F_IMUL_RI: {
        const sz = ins.size, src = ins.rm;
        const aLo = gl[src]!, aHi = sz === 8 ? gh[src]! : 0;
        if (ins.op === Op.F_IMUL_RR) imulTrunc(c, sz, gl[ins.reg]!, sz === 8 ? gh[ins.reg]! : 0, aLo, aHi);
        else imulTrunc(c, sz, aLo, aHi, ins.immLo, ins.immHi);
        gl[ins.reg] = c.rLo;
        gh[ins.reg] = sz === 8 ? c.rHi : 0;
        break;
      }
      case Op.F_SHIFT_RI: {
        const d = ins.reg;
        shift(c, ins.sub, ins.size, gl[d]!, gh[d]!, ins.immLo);
        gl[d] = c.rLo;
        gh[d] = ins.size === 8 ? c.rHi : 0;
        break;
      }
      case Op.F_MOVX_R: {
        getReg(c, ins.rm, ins.size2);
        const v = ins.sub === 1 ? sx(ins.size2, c.vLo) : c.vLo;
        gl[ins.reg] = v;
        gh[ins.reg] = ins.size === 8 && ins.sub === 1 ? v >> 31 : 0;
        break;
      }
      case Op.F_LEA:
        c.nLo = nlo; c.nHi = nhi;
        c.ea(ins);
        gl[ins.reg] = c.eaLo;
        gh[ins.reg] = ins.size === 8 ? c.eaHi : 0;
        break;
      case Op.JCC:
        if (cond(c.rflags, ins.sub)) {
          const rel = ins.immLo;
          const t = (nlo >>> 0) + (rel >>> 0);
          const thi = (nhi + (rel >> 31) + (t > 0xffffffff ? 1 : 0)) | 0;
          if (thi !== ripHi) break; // a target in another 4 GiB: the general path checks canonicality
          ripLo = t | 0;
          icount++;
          continue;
        }
        ripLo = nlo; ripHi = nhi; icount++;
        continue;
      case Op.JMP_REL: {
        const rel = ins.immLo;
        const t = (nlo >>> 0) + (rel >>> 0);
        const thi = (nhi + (rel >> 31) + (t > 0xffffffff ? 1 : 0)) | 0;
        if (thi !== ripHi) break;
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
        const off = al & 0xfff;
        let tLo = 0;
        if (ins.op === Op.F_CALL) {
          const rel = ins.immLo;
          const t = (nlo >>> 0) + (rel >>> 0);
          if (((nhi + (rel >> 31) + (t > 0xffffffff ? 1 : 0)) | 0) !== ripHi) { generalPath = true; break; }
          tLo = t | 0;
        }
        if (wTagLo[slot] === (al & ~0xfff) && wTagHi[slot] === ah && off <= 4088) {
          const v = wView[slot]!, o = wOff[slot]! + off;
          if (ins.op === Op.F_PUSH) { v.setInt32(o, gl[ins.rm]!, true); v.setInt32(o + 4, gh[ins.rm]!, true); }
          else { v.setInt32(o, nlo, true); v.setInt32(o + 4, nhi, true); }
          gl[4] = al;
          gh[4] = ah;
          if (ins.op === Op.F_CALL) { ripLo = tLo; icount++; continue; }
          break;
        }
        generalPath = true;
        break;
      }
      case Op.F_POP: case Op.F_RET: {
        const sl = gl[4]!, sh = gh[4]!;
        const slot = (sl >>> 12) & (FP_SLOTS - 1);
        const off = sl & 0xfff;
        if (rTagLo[slot] === (sl & ~0xfff) && rTagHi[slot] === sh && off <= 4088) {
          const v = rView[slot]!, o = rOff[slot]! + off;
          const lo2 = v.getInt32(o, true), hi2 = v.getInt32(o + 4, true);
          if (ins.op === Op.F_RET && hi2 !== ripHi) { generalPath = true; break; }
          const nl = (sl + 8) | 0;
          gh[4] = (nl >>> 0) < 8 ? (sh + 1) | 0 : sh;
          gl[4] = nl;
          if (ins.op === Op.F_RET) { ripLo = lo2; icount++; continue; }
          gl[ins.rm] = lo2;
          gh[ins.rm] = hi2;
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
        ripLo = c.ripLo; ripHi = c.ripHi; icount = c.icount; stopAt = c.stopAt; tagLo = c.fetchTagLo; tagHi = c.fetchTagHi; page = c.fetchPage; // LOAD
        continue;
      }
      default:
        generalPath = true;
    }
    if (generalPath) {
      generalPath = false;
      c.ripLo = ripLo; c.ripHi = ripHi; c.icount = icount; c.nLo = nlo; c.nHi = nhi; // SAVE
      if (step(c, ins)) { c.ripLo = c.nLo; c.ripHi = c.nHi; c.icount++; }
      ripLo = c.ripLo; ripHi = c.ripHi; icount = c.icount; stopAt = c.stopAt; tagLo = c.fetchTagLo; tagHi = c.fetchTagHi; page = c.fetchPage; // LOAD
      continue;
    }
    // Fall-through from `break`: a register-only instruction retires, or a branch leaves this 4 GiB.
    if (ins.op === Op.JCC || ins.op === Op.JMP_REL) {
      c.ripLo = ripLo; c.ripHi = ripHi; c.icount = icount; c.nLo = nlo; c.nHi = nhi; // SAVE
      if (jumpRel(c, ins.immLo)) { c.ripLo = c.nLo; c.ripHi = c.nHi; c.icount++; }
      ripLo = c.ripLo; ripHi = c.ripHi; icount = c.icount; stopAt = c.stopAt; tagLo = c.fetchTagLo; tagHi = c.fetchTagHi; page = c.fetchPage; // LOAD
      continue;
    }
    ripLo = nlo;
    ripHi = nhi;
    icount++;
  }
  c.ripLo = ripLo; c.ripHi = ripHi; c.icount = icount; // SAVE
}

