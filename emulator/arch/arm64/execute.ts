/**
 * The execute loop: fetch through the decode cache, then one `switch` over the operation. The
 * frequent operations (add/sub immediate, moves, compares, branches, 32/64-bit loads and stores,
 * LDP/STP) run inline with the host fast path; the rest call out to dp.ts, mem-ops.ts and
 * system.ts.
 * @spec Arm ARM (DDI 0487) C6 (semantics of each A64 instruction)
 */
import type { Arm64Cpu } from "./cpu.js";
import { F_SF, F_WB, F_POST, Op, type DecodedPage } from "./decode.js";
import { adc32, adc64, asr64, COND_TABLE, lsr64, nzFlags, shl64 } from "./alu.js";
import { executeDp } from "./dp.js";
import { executeMem } from "./mem-ops.js";
import { executeSystem } from "./system.js";
import { PSR } from "./defs.js";
import { NO_BLOCK } from "../../core/block-cache.js";

const INVALID_TAG = 1;
const N_FLAG = PSR.N, Z_FLAG = PSR.Z, C_FLAG = PSR.C, V_FLAG = PSR.V;

/** Runs `c` until c.icount reaches c.stopAt (re-read after every call out of the loop). */
export function execute(c: Arm64Cpu): void {
  const xl = c.xl;
  const xh = c.xh;
  const t = c.tmp;
  const rTagLo = c.rTagLo, rTagHi = c.rTagHi, rView = c.rView, rOff = c.rOff;
  const wTagLo = c.wTagLo, wTagHi = c.wTagHi, wView = c.wView, wOff = c.wOff;
  // Hot state lives in locals. Only calls out of this loop can change it on the core: before each
  // such call the pc and count are written back (SAVE), and after it everything is re-read (LOAD).
  let pcLo = c.pcLo;
  let pcHi = c.pcHi;
  let icount = c.icount;
  let stopAt = c.stopAt;
  let fetchTagLo = c.fetchTagLo;
  let fetchTagHi = c.fetchTagHi;
  let page: DecodedPage = c.fetchPage;
  let pInfo = page.info, pImm = page.imm, pAux = page.aux;
  let am = c.alignMask;
  let spa = c.spAlignMask;
  /** Translated blocks (jit.ts) run only with the fetch fast path, whose tag check covers a block's page. */
  const jit = c.fastPath ? c.jit : undefined;
  while (icount < stopAt) {
    if ((pcLo & ~0xfff) !== fetchTagLo || pcHi !== fetchTagHi) {
      c.pcLo = pcLo; c.pcHi = pcHi; c.icount = icount; // SAVE
      const q = c.fetchSlow();
      pcLo = c.pcLo; pcHi = c.pcHi; stopAt = c.stopAt; fetchTagLo = c.fetchTagLo; fetchTagHi = c.fetchTagHi; page = c.fetchPage; pInfo = page.info; pImm = page.imm; pAux = page.aux; am = c.alignMask; spa = c.spAlignMask; // LOAD
      if (q === null) continue;
      page = q; pInfo = q.info; pImm = q.imm; pAux = q.aux;
      if (!c.fastPath) fetchTagLo = INVALID_TAG; // no fast path: translate every fetch
    }
    const i = (pcLo & 0xfff) >>> 2;
    if (jit !== undefined) {
      // A block runs only if all of it fits the budget; retiring 0 leaves its first instruction to the interpreter.
      const len = page.blockLen[i]!;
      if (len > 0) {
        if (icount + len <= stopAt) {
          const n = page.blocks[i]!(c, pcLo, pcHi, stopAt - icount);
          if (n !== 0) {
            pcLo = c.pcLo; pcHi = c.pcHi; icount += n;
            continue;
          }
        }
      } else if (len !== NO_BLOCK && jit.visit(c, page, i) > 0) continue;
    }
    let info = pInfo[i]!;
    if (info === 0) {
      c.decodeSlot(page, i);
      info = pInfo[i]!;
    }
    const op = info & 0xff;
    const rd = (info >>> 8) & 63;
    const rn = (info >>> 14) & 63;
    const rm = (info >>> 20) & 63;
    const imm = pImm[i]!;
    switch (op) {
      // ---- add/sub immediate ----
      case Op.ADDI: {
        const al = xl[rn]!;
        const lo = (al + imm) | 0;
        xh[rd] = info & F_SF ? (xh[rn]! + ((lo >>> 0) < (al >>> 0) ? 1 : 0)) | 0 : 0;
        xl[rd] = lo;
        break;
      }
      case Op.SUBI: {
        const al = xl[rn]!;
        xh[rd] = info & F_SF ? (xh[rn]! - ((al >>> 0) < imm ? 1 : 0)) | 0 : 0;
        xl[rd] = (al - imm) | 0;
        break;
      }
      case Op.ADDSI:
        c.nzcv = info & F_SF ? adc64(t, xl[rn]!, xh[rn]!, imm, 0, 0) : adc32(t, xl[rn]!, imm, 0);
        xl[rd] = t.lo; xh[rd] = t.hi;
        break;
      case Op.SUBSI: {
        if ((info & F_SF) === 0) {
          c.nzcv = adc32(t, xl[rn]!, ~imm, 1);
          xl[rd] = t.lo; xh[rd] = 0;
          break;
        }
        // 64-bit a - imm (0 <= imm < 2^24): C = no borrow, V only when a < 0 and the result >= 0.
        const al = xl[rn]!, ah = xh[rn]!;
        const borrow = (al >>> 0) < imm ? 1 : 0;
        const lo = (al - imm) | 0, hi = (ah - borrow) | 0;
        c.nzcv = (hi & N_FLAG) | ((lo | hi) === 0 ? Z_FLAG : 0) | (borrow === 1 && ah === 0 ? 0 : C_FLAG) | (ah < 0 && hi >= 0 ? V_FLAG : 0);
        xl[rd] = lo; xh[rd] = hi;
        break;
      }
      case Op.LOGI: {
        const hiImm = pAux[i]!;
        let lo: number, hi: number;
        switch (rm) {
          case 0: lo = xl[rn]! & imm; hi = xh[rn]! & hiImm; break;
          case 1: lo = xl[rn]! | imm; hi = xh[rn]! | hiImm; break;
          case 2: lo = xl[rn]! ^ imm; hi = xh[rn]! ^ hiImm; break;
          default: lo = xl[rn]! & imm; hi = xh[rn]! & hiImm; break;
        }
        if ((info & F_SF) === 0) hi = 0;
        if (rm === 3) c.nzcv = info & F_SF ? nzFlags(lo, hi) : nzFlags(lo, lo);
        xl[rd] = lo; xh[rd] = hi;
        break;
      }
      case Op.MOVI: xl[rd] = imm; xh[rd] = pAux[i]!; break;
      case Op.MOVK: {
        const pos = pAux[i]!;
        let lo = xl[rn]!, hi = xh[rn]!;
        if (pos < 32) lo = (lo & ~(0xffff << pos)) | (imm << pos);
        else hi = (hi & ~(0xffff << (pos - 32))) | (imm << (pos - 32));
        xl[rd] = lo;
        xh[rd] = info & F_SF ? hi : 0;
        break;
      }
      case Op.ADR: {
        const lo = (pcLo + imm) | 0;
        xh[rd] = (pcHi + (imm >> 31) + ((lo >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
        xl[rd] = lo;
        break;
      }
      case Op.ADRP: {
        const base = pcLo & ~0xfff;
        const lo = (base + (imm << 12)) | 0;
        xh[rd] = (pcHi + (imm >> 20) + ((lo >>> 0) < (base >>> 0) ? 1 : 0)) | 0;
        xl[rd] = lo;
        break;
      }
      case Op.LSLI:
        if (info & F_SF) { shl64(t, xl[rn]!, xh[rn]!, imm); xl[rd] = t.lo; xh[rd] = t.hi; }
        else { xl[rd] = xl[rn]! << imm; xh[rd] = 0; }
        break;
      case Op.LSRI:
        if (info & F_SF) { lsr64(t, xl[rn]!, xh[rn]!, imm); xl[rd] = t.lo; xh[rd] = t.hi; }
        else { xl[rd] = (xl[rn]! >>> imm) | 0; xh[rd] = 0; }
        break;
      case Op.ASRI:
        if (info & F_SF) { asr64(t, xl[rn]!, xh[rn]!, imm); xl[rd] = t.lo; xh[rd] = t.hi; }
        else { xl[rd] = xl[rn]! >> imm; xh[rd] = 0; }
        break;
      // ---- register moves and add/sub ----
      case Op.MOVR: xl[rd] = xl[rm]!; xh[rd] = info & F_SF ? xh[rm]! : 0; break;
      case Op.ANDR: xl[rd] = xl[rn]! & xl[rm]!; xh[rd] = info & F_SF ? xh[rn]! & xh[rm]! : 0; break;
      case Op.ORRR: xl[rd] = xl[rn]! | xl[rm]!; xh[rd] = info & F_SF ? xh[rn]! | xh[rm]! : 0; break;
      case Op.EORR: xl[rd] = xl[rn]! ^ xl[rm]!; xh[rd] = info & F_SF ? xh[rn]! ^ xh[rm]! : 0; break;
      case Op.ANDSR: {
        const lo = xl[rn]! & xl[rm]!;
        const hi = info & F_SF ? xh[rn]! & xh[rm]! : lo;
        c.nzcv = nzFlags(lo, hi);
        xl[rd] = lo;
        xh[rd] = info & F_SF ? hi : 0;
        break;
      }
      case Op.ADDR: {
        const al = xl[rn]!;
        const lo = (al + xl[rm]!) | 0;
        xh[rd] = info & F_SF ? (xh[rn]! + xh[rm]! + ((lo >>> 0) < (al >>> 0) ? 1 : 0)) | 0 : 0;
        xl[rd] = lo;
        break;
      }
      case Op.SUBR: {
        const al = xl[rn]!, bl = xl[rm]!;
        xh[rd] = info & F_SF ? (xh[rn]! - xh[rm]! - ((al >>> 0) < (bl >>> 0) ? 1 : 0)) | 0 : 0;
        xl[rd] = (al - bl) | 0;
        break;
      }
      case Op.ADDSR:
        c.nzcv = info & F_SF ? adc64(t, xl[rn]!, xh[rn]!, xl[rm]!, xh[rm]!, 0) : adc32(t, xl[rn]!, xl[rm]!, 0);
        xl[rd] = t.lo; xh[rd] = t.hi;
        break;
      case Op.SUBSR:
        c.nzcv = info & F_SF ? adc64(t, xl[rn]!, xh[rn]!, ~xl[rm]!, ~xh[rm]!, 1) : adc32(t, xl[rn]!, ~xl[rm]!, 1);
        xl[rd] = t.lo; xh[rd] = t.hi;
        break;
      case Op.CSEL: {
        const aux = pAux[i]!;
        let lo: number, hi: number;
        if (COND_TABLE[((aux & 15) << 4) | (c.nzcv >>> 28)] === 1) { lo = xl[rn]!; hi = xh[rn]!; }
        else {
          lo = xl[rm]!; hi = xh[rm]!;
          if (aux & 32) { lo = ~lo; hi = ~hi; }
          if (aux & 16) { lo = (lo + 1) | 0; if (lo === 0) hi = (hi + 1) | 0; }
        }
        xl[rd] = lo;
        xh[rd] = info & F_SF ? hi : 0;
        break;
      }
      // ---- branches: a taken branch sets the pc and retires ----
      case Op.B: {
        const lo = (pcLo + imm) | 0;
        pcHi = (pcHi + (imm >> 31) + ((lo >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
        pcLo = lo;
        icount++;
        continue;
      }
      case Op.BL: {
        const rlo = (pcLo + 4) | 0;
        xh[30] = (pcHi + ((rlo >>> 0) < 4 ? 1 : 0)) | 0;
        xl[30] = rlo;
        const lo = (pcLo + imm) | 0;
        pcHi = (pcHi + (imm >> 31) + ((lo >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
        pcLo = lo;
        icount++;
        continue;
      }
      case Op.BR: case Op.BLR: case Op.RET: {
        const lo = xl[rn]!, hi = xh[rn]!;
        if (op === Op.BLR) {
          const rlo = (pcLo + 4) | 0;
          xh[30] = (pcHi + ((rlo >>> 0) < 4 ? 1 : 0)) | 0;
          xl[30] = rlo;
        }
        pcLo = lo;
        pcHi = hi;
        if (lo & 3) { fetchTagLo = INVALID_TAG; c.dropFetch(); } // the next fetch takes the PC alignment fault
        icount++;
        continue;
      }
      case Op.CBZ: case Op.CBNZ: {
        const zero = info & F_SF ? (xl[rn]! | xh[rn]!) === 0 : xl[rn] === 0;
        if (zero === (op === Op.CBZ)) {
          const lo = (pcLo + imm) | 0;
          pcHi = (pcHi + (imm >> 31) + ((lo >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
          pcLo = lo;
          icount++;
          continue;
        }
        break;
      }
      case Op.TBZ: case Op.TBNZ: {
        const bit = pAux[i]!;
        const set = (bit < 32 ? (xl[rn]! >>> bit) & 1 : (xh[rn]! >>> (bit - 32)) & 1) === 1;
        if (set === (op === Op.TBNZ)) {
          const lo = (pcLo + imm) | 0;
          pcHi = (pcHi + (imm >> 31) + ((lo >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
          pcLo = lo;
          icount++;
          continue;
        }
        break;
      }
      case Op.BCOND:
        if (COND_TABLE[(pAux[i]! << 4) | (c.nzcv >>> 28)] === 1) {
          const lo = (pcLo + imm) | 0;
          pcHi = (pcHi + (imm >> 31) + ((lo >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
          pcLo = lo;
          icount++;
          continue;
        }
        break;
      // ---- the common loads and stores, each with its own fast path ----
      case Op.LDRX_U: {
        const blo = xl[rn]!;
        const lo = (blo + imm) | 0;
        const hi = (xh[rn]! + (imm >> 31) + ((lo >>> 0) < (blo >>> 0) ? 1 : 0)) | 0;
        const s = (lo >>> 12) & 0xff;
        if (rTagLo[s] === (lo & ~0xfff) && rTagHi[s] === hi && (lo & 0xfff) <= 4088 && (lo & am & 7) === 0 && (rn !== 32 || (blo & spa) === 0)) {
          const v = rView[s]!;
          const o = rOff[s]! + (lo & 0xfff);
          xl[rd] = v.getInt32(o, true);
          xh[rd] = v.getInt32(o + 4, true);
          break;
        }
        c.pcLo = pcLo; c.pcHi = pcHi; c.icount = icount; // SAVE
        const ok = executeMem(c, op, info, imm, pAux[i]!);
        pcLo = c.pcLo; pcHi = c.pcHi; stopAt = c.stopAt; fetchTagLo = c.fetchTagLo; fetchTagHi = c.fetchTagHi; page = c.fetchPage; pInfo = page.info; pImm = page.imm; pAux = page.aux; am = c.alignMask; spa = c.spAlignMask; // LOAD
        if (!ok) continue;
        break;
      }
      case Op.LDRW_U: {
        const blo = xl[rn]!;
        const lo = (blo + imm) | 0;
        const hi = (xh[rn]! + (imm >> 31) + ((lo >>> 0) < (blo >>> 0) ? 1 : 0)) | 0;
        const s = (lo >>> 12) & 0xff;
        if (rTagLo[s] === (lo & ~0xfff) && rTagHi[s] === hi && (lo & 0xfff) <= 4092 && (lo & am & 3) === 0 && (rn !== 32 || (blo & spa) === 0)) {
          xl[rd] = rView[s]!.getInt32(rOff[s]! + (lo & 0xfff), true);
          xh[rd] = 0;
          break;
        }
        c.pcLo = pcLo; c.pcHi = pcHi; c.icount = icount; // SAVE
        const ok = executeMem(c, op, info, imm, pAux[i]!);
        pcLo = c.pcLo; pcHi = c.pcHi; stopAt = c.stopAt; fetchTagLo = c.fetchTagLo; fetchTagHi = c.fetchTagHi; page = c.fetchPage; pInfo = page.info; pImm = page.imm; pAux = page.aux; am = c.alignMask; spa = c.spAlignMask; // LOAD
        if (!ok) continue;
        break;
      }
      case Op.STRX_U: {
        const blo = xl[rn]!;
        const lo = (blo + imm) | 0;
        const hi = (xh[rn]! + (imm >> 31) + ((lo >>> 0) < (blo >>> 0) ? 1 : 0)) | 0;
        const s = (lo >>> 12) & 0xff;
        if (wTagLo[s] === (lo & ~0xfff) && wTagHi[s] === hi && (lo & 0xfff) <= 4088 && (lo & am & 7) === 0 && (rn !== 32 || (blo & spa) === 0)) {
          const v = wView[s]!;
          const o = wOff[s]! + (lo & 0xfff);
          v.setInt32(o, xl[rd]!, true);
          v.setInt32(o + 4, xh[rd]!, true);
          break;
        }
        c.pcLo = pcLo; c.pcHi = pcHi; c.icount = icount; // SAVE
        const ok = executeMem(c, op, info, imm, pAux[i]!);
        pcLo = c.pcLo; pcHi = c.pcHi; stopAt = c.stopAt; fetchTagLo = c.fetchTagLo; fetchTagHi = c.fetchTagHi; page = c.fetchPage; pInfo = page.info; pImm = page.imm; pAux = page.aux; am = c.alignMask; spa = c.spAlignMask; // LOAD
        if (!ok) continue;
        break;
      }
      case Op.STRW_U: {
        const blo = xl[rn]!;
        const lo = (blo + imm) | 0;
        const hi = (xh[rn]! + (imm >> 31) + ((lo >>> 0) < (blo >>> 0) ? 1 : 0)) | 0;
        const s = (lo >>> 12) & 0xff;
        if (wTagLo[s] === (lo & ~0xfff) && wTagHi[s] === hi && (lo & 0xfff) <= 4092 && (lo & am & 3) === 0 && (rn !== 32 || (blo & spa) === 0)) {
          wView[s]!.setInt32(wOff[s]! + (lo & 0xfff), xl[rd]!, true);
          break;
        }
        c.pcLo = pcLo; c.pcHi = pcHi; c.icount = icount; // SAVE
        const ok = executeMem(c, op, info, imm, pAux[i]!);
        pcLo = c.pcLo; pcHi = c.pcHi; stopAt = c.stopAt; fetchTagLo = c.fetchTagLo; fetchTagHi = c.fetchTagHi; page = c.fetchPage; pInfo = page.info; pImm = page.imm; pAux = page.aux; am = c.alignMask; spa = c.spAlignMask; // LOAD
        if (!ok) continue;
        break;
      }
      case Op.LDRB_U: {
        const blo = xl[rn]!;
        const lo = (blo + imm) | 0;
        const hi = (xh[rn]! + (imm >> 31) + ((lo >>> 0) < (blo >>> 0) ? 1 : 0)) | 0;
        const s = (lo >>> 12) & 0xff;
        if (rTagLo[s] === (lo & ~0xfff) && rTagHi[s] === hi && (rn !== 32 || (blo & spa) === 0)) {
          xl[rd] = rView[s]!.getUint8(rOff[s]! + (lo & 0xfff));
          xh[rd] = 0;
          break;
        }
        c.pcLo = pcLo; c.pcHi = pcHi; c.icount = icount; // SAVE
        const ok = executeMem(c, op, info, imm, pAux[i]!);
        pcLo = c.pcLo; pcHi = c.pcHi; stopAt = c.stopAt; fetchTagLo = c.fetchTagLo; fetchTagHi = c.fetchTagHi; page = c.fetchPage; pInfo = page.info; pImm = page.imm; pAux = page.aux; am = c.alignMask; spa = c.spAlignMask; // LOAD
        if (!ok) continue;
        break;
      }
      case Op.STRB_U: {
        const blo = xl[rn]!;
        const lo = (blo + imm) | 0;
        const hi = (xh[rn]! + (imm >> 31) + ((lo >>> 0) < (blo >>> 0) ? 1 : 0)) | 0;
        const s = (lo >>> 12) & 0xff;
        if (wTagLo[s] === (lo & ~0xfff) && wTagHi[s] === hi && (rn !== 32 || (blo & spa) === 0)) {
          wView[s]!.setUint8(wOff[s]! + (lo & 0xfff), xl[rd]! & 0xff);
          break;
        }
        c.pcLo = pcLo; c.pcHi = pcHi; c.icount = icount; // SAVE
        const ok = executeMem(c, op, info, imm, pAux[i]!);
        pcLo = c.pcLo; pcHi = c.pcHi; stopAt = c.stopAt; fetchTagLo = c.fetchTagLo; fetchTagHi = c.fetchTagHi; page = c.fetchPage; pInfo = page.info; pImm = page.imm; pAux = page.aux; am = c.alignMask; spa = c.spAlignMask; // LOAD
        if (!ok) continue;
        break;
      }
      case Op.LDP: case Op.STP: {
        const aux = pAux[i]!;
        const blo = xl[rn]!, bhi = xh[rn]!;
        if (aux === 3 && (rn !== 32 || (blo & spa) === 0)) {
          const off = info & F_POST ? 0 : imm;
          const lo = (blo + off) | 0;
          const hi = (bhi + (off >> 31) + ((lo >>> 0) < (blo >>> 0) ? 1 : 0)) | 0;
          const s = (lo >>> 12) & 0xff;
          if (op === Op.LDP) {
            if (rTagLo[s] === (lo & ~0xfff) && rTagHi[s] === hi && (lo & 0xfff) <= 4080 && (lo & am & 7) === 0) {
              const v = rView[s]!;
              const o = rOff[s]! + (lo & 0xfff);
              xl[rd] = v.getInt32(o, true);
              xh[rd] = v.getInt32(o + 4, true);
              xl[rm] = v.getInt32(o + 8, true);
              xh[rm] = v.getInt32(o + 12, true);
              if (info & F_WB) {
                const wlo = (blo + imm) | 0;
                xh[rn] = (bhi + (imm >> 31) + ((wlo >>> 0) < (blo >>> 0) ? 1 : 0)) | 0;
                xl[rn] = wlo;
              }
              break;
            }
          } else if (wTagLo[s] === (lo & ~0xfff) && wTagHi[s] === hi && (lo & 0xfff) <= 4080 && (lo & am & 7) === 0) {
            const v = wView[s]!;
            const o = wOff[s]! + (lo & 0xfff);
            v.setInt32(o, xl[rd]!, true);
            v.setInt32(o + 4, xh[rd]!, true);
            v.setInt32(o + 8, xl[rm]!, true);
            v.setInt32(o + 12, xh[rm]!, true);
            if (info & F_WB) {
              const wlo = (blo + imm) | 0;
              xh[rn] = (bhi + (imm >> 31) + ((wlo >>> 0) < (blo >>> 0) ? 1 : 0)) | 0;
              xl[rn] = wlo;
            }
            break;
          }
        }
        c.pcLo = pcLo; c.pcHi = pcHi; c.icount = icount; // SAVE
        const ok = executeMem(c, op, info, imm, aux);
        pcLo = c.pcLo; pcHi = c.pcHi; stopAt = c.stopAt; fetchTagLo = c.fetchTagLo; fetchTagHi = c.fetchTagHi; page = c.fetchPage; pInfo = page.info; pImm = page.imm; pAux = page.aux; am = c.alignMask; spa = c.spAlignMask; // LOAD
        if (!ok) continue;
        break;
      }
      case Op.LD_IMM: case Op.ST_IMM: case Op.LD_REG: case Op.ST_REG: case Op.LD_LIT: case Op.LDTR: case Op.STTR: case Op.EXCL: {
        c.pcLo = pcLo; c.pcHi = pcHi; c.icount = icount; // SAVE
        const ok = executeMem(c, op, info, imm, pAux[i]!);
        pcLo = c.pcLo; pcHi = c.pcHi; stopAt = c.stopAt; fetchTagLo = c.fetchTagLo; fetchTagHi = c.fetchTagHi; page = c.fetchPage; pInfo = page.info; pImm = page.imm; pAux = page.aux; am = c.alignMask; spa = c.spAlignMask; // LOAD
        if (!ok) continue;
        break;
      }
      case Op.PRFM: break;
      case Op.NATIVE: {
        c.pcLo = pcLo; c.pcHi = pcHi; c.icount = icount; // SAVE
        const ran = c.runNative(imm);
        pcLo = c.pcLo; pcHi = c.pcHi; stopAt = c.stopAt; fetchTagLo = c.fetchTagLo; fetchTagHi = c.fetchTagHi; page = c.fetchPage; pInfo = page.info; pImm = page.imm; pAux = page.aux; am = c.alignMask; spa = c.spAlignMask; // LOAD
        icount = c.icount; // a native may run the core itself (a firmware call from the kernel)
        if (ran) icount++;
        continue;
      }
      // ---- the other data processing: no memory, no pc change ----
      case Op.BFM: case Op.EXTR: case Op.LOGR: case Op.ADDSUB_SH: case Op.ADDSUB_EXT: case Op.ADCSBC: case Op.CCMP:
      case Op.DIV: case Op.SHIFTV: case Op.ONESRC: case Op.MUL3:
        executeDp(c, op, info, imm, pAux[i]!);
        break;
      default: {
        // System instructions and UNDEFINED encodings; false = an exception was taken or ERET jumped.
        // ERET retires (it counts); an instruction that took an exception does not.
        c.pcLo = pcLo; c.pcHi = pcHi; c.icount = icount; // SAVE
        const traps = c.traps;
        const ok = executeSystem(c, op, rd, rn, imm, pAux[i]!);
        pcLo = c.pcLo; pcHi = c.pcHi; stopAt = c.stopAt; fetchTagLo = c.fetchTagLo; fetchTagHi = c.fetchTagHi; page = c.fetchPage; pInfo = page.info; pImm = page.imm; pAux = page.aux; am = c.alignMask; spa = c.spAlignMask; // LOAD
        if (!ok) {
          if (c.traps === traps) icount++;
          continue;
        }
        break;
      }
    }
    const nlo = (pcLo + 4) | 0;
    if ((nlo >>> 0) < 4) pcHi = (pcHi + 1) | 0;
    pcLo = nlo;
    icount++;
  }
  c.pcLo = pcLo;
  c.pcHi = pcHi;
  c.icount = icount;
}
