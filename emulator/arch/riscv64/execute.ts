/**
 * The execute loop: fetch through the decode cache, then one `switch` over the operation. Integer
 * operations work on int32 halves; loads and stores try the host fast path, then the MMU.
 * Rare operations (M extension, atomics, system) call out to their own modules.
 * @spec RISC-V Unprivileged ISA, RV64I chapter (semantics of each instruction)
 */
import type { Hart } from "./hart.js";
import { INFO_LEN4, Op, type DecodedPage } from "./decode.js";
import { mulDiv } from "./muldiv.js";
import { executeAmo } from "./amo.js";
import { executeSystem } from "./system.js";

/** Runs `h` until h.icount reaches h.stopAt (re-read after every instruction). */
export function execute(h: Hart): void {
  const xl = h.xl;
  const xh = h.xh;
  const rTagLo = h.rTagLo, rTagHi = h.rTagHi, rView = h.rView, rOff = h.rOff;
  const wTagLo = h.wTagLo, wTagHi = h.wTagHi, wView = h.wView, wOff = h.wOff;
  // Hot state lives in locals. Only calls out of this loop (slow paths, traps, system instructions)
  // can change it on the hart: before each such call the pc and count are written back (SAVE), and
  // after it everything is re-read (LOAD): pc, the fetch fast path, and the stop point.
  let pcLo = h.pcLo;
  let pcHi = h.pcHi;
  let icount = h.icount;
  let stopAt = h.stopAt;
  let fetchTagLo = h.fetchTagLo;
  let fetchTagHi = h.fetchTagHi;
  let page: DecodedPage = h.fetchPage;
  let pageInfo = page.info;
  let pageImm = page.imm;
  while (icount < stopAt) {
    let p = page;
    let pInfo = pageInfo;
    let pImm = pageImm;
    if ((pcLo & ~0xfff) !== fetchTagLo || pcHi !== fetchTagHi) {
      h.pcLo = pcLo; h.pcHi = pcHi; h.icount = icount; // SAVE
      const q = h.fetchSlow();
      pcLo = h.pcLo; pcHi = h.pcHi; stopAt = h.stopAt; fetchTagLo = h.fetchTagLo; fetchTagHi = h.fetchTagHi; page = h.fetchPage; pageInfo = page.info; pageImm = page.imm; // LOAD
      if (q === null) continue;
      p = q;
      pInfo = pageInfo = q.info;
      pImm = pageImm = q.imm;
    }
    let i = (pcLo & 0xfff) >>> 1;
    let info = pInfo[i]!;
    if (info === 0) {
      h.decodeSlot(p, i);
      info = pInfo[i]!;
    }
    if ((info & 0xff) === Op.CROSS) {
      h.pcLo = pcLo; h.pcHi = pcHi; h.icount = icount; // SAVE
      const q = h.fetchCross();
      pcLo = h.pcLo; pcHi = h.pcHi; stopAt = h.stopAt; fetchTagLo = h.fetchTagLo; fetchTagHi = h.fetchTagHi; page = h.fetchPage; pageInfo = page.info; pageImm = page.imm; // LOAD
      if (q === null) continue;
      p = q;
      pImm = q.imm;
      i = 0;
      info = q.info[0]!;
    }
    const op = info & 0xff;
    const rd = (info >>> 8) & 0xff;
    const rs1 = (info >>> 16) & 0xff;
    const rs2 = (info >>> 24) & 31;
    const len = info & INFO_LEN4 ? 4 : 2;
    const imm = pImm[i]!;
    switch (op) {
      // ---- upper immediates and jumps ----
      case Op.LUI: xl[rd] = imm; xh[rd] = imm >> 31; break;
      case Op.AUIPC: {
        const lo = (pcLo + imm) | 0;
        xh[rd] = (pcHi + (imm >> 31) + ((lo >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
        xl[rd] = lo;
        break;
      }
      case Op.JAL: {
        const rlo = (pcLo + len) | 0;
        const rhi = (pcHi + ((rlo >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
        const lo = (pcLo + imm) | 0;
        pcHi = (pcHi + (imm >> 31) + ((lo >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
        pcLo = lo;
        xl[rd] = rlo;
        xh[rd] = rhi;
        icount++;
        continue;
      }
      case Op.JALR: {
        const blo = xl[rs1]!;
        const lo = (blo + imm) | 0;
        const hi = (xh[rs1]! + (imm >> 31) + ((lo >>> 0) < (blo >>> 0) ? 1 : 0)) | 0;
        const rlo = (pcLo + len) | 0;
        xh[rd] = (pcHi + ((rlo >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
        xl[rd] = rlo;
        pcLo = lo & ~1;
        pcHi = hi;
        icount++;
        continue;
      }
      // ---- branches: a taken branch sets the pc and retires ----
      case Op.BEQ:
        if (xl[rs1] === xl[rs2] && xh[rs1] === xh[rs2]) {
          const lo = (pcLo + imm) | 0;
          pcHi = (pcHi + (imm >> 31) + ((lo >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
          pcLo = lo;
          icount++;
          continue;
        }
        break;
      case Op.BNE:
        if (xl[rs1] !== xl[rs2] || xh[rs1] !== xh[rs2]) {
          const lo = (pcLo + imm) | 0;
          pcHi = (pcHi + (imm >> 31) + ((lo >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
          pcLo = lo;
          icount++;
          continue;
        }
        break;
      case Op.BLT:
        if (xh[rs1]! < xh[rs2]! || (xh[rs1] === xh[rs2] && (xl[rs1]! >>> 0) < (xl[rs2]! >>> 0))) {
          const lo = (pcLo + imm) | 0;
          pcHi = (pcHi + (imm >> 31) + ((lo >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
          pcLo = lo;
          icount++;
          continue;
        }
        break;
      case Op.BGE:
        if (xh[rs1]! > xh[rs2]! || (xh[rs1] === xh[rs2] && (xl[rs1]! >>> 0) >= (xl[rs2]! >>> 0))) {
          const lo = (pcLo + imm) | 0;
          pcHi = (pcHi + (imm >> 31) + ((lo >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
          pcLo = lo;
          icount++;
          continue;
        }
        break;
      case Op.BLTU:
        if ((xh[rs1]! >>> 0) < (xh[rs2]! >>> 0) || (xh[rs1] === xh[rs2] && (xl[rs1]! >>> 0) < (xl[rs2]! >>> 0))) {
          const lo = (pcLo + imm) | 0;
          pcHi = (pcHi + (imm >> 31) + ((lo >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
          pcLo = lo;
          icount++;
          continue;
        }
        break;
      case Op.BGEU:
        if ((xh[rs1]! >>> 0) > (xh[rs2]! >>> 0) || (xh[rs1] === xh[rs2] && (xl[rs1]! >>> 0) >= (xl[rs2]! >>> 0))) {
          const lo = (pcLo + imm) | 0;
          pcHi = (pcHi + (imm >> 31) + ((lo >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
          pcLo = lo;
          icount++;
          continue;
        }
        break;
      // ---- loads ----
      // ---- the common loads and stores, each with its own fast path (the hot path) ----
      case Op.LD: {
        const blo = xl[rs1]!;
        const lo = (blo + imm) | 0;
        const hi = (xh[rs1]! + (imm >> 31) + ((lo >>> 0) < (blo >>> 0) ? 1 : 0)) | 0;
        const s = (lo >>> 12) & 0xff;
        if (rTagLo[s] === (lo & ~0xfff) && rTagHi[s] === hi && (lo & 0xfff) <= 4088) {
          const v = rView[s]!;
          const o = rOff[s]! + (lo & 0xfff);
          const w = v.getInt32(o, true);
          xl[rd] = w;
          xh[rd] = v.getInt32(o + 4, true);
          break;
        }
        h.pcLo = pcLo; h.pcHi = pcHi; h.icount = icount; // SAVE
        const ok = h.loadSlow(lo, hi, 8);
        pcLo = h.pcLo; pcHi = h.pcHi; stopAt = h.stopAt; fetchTagLo = h.fetchTagLo; fetchTagHi = h.fetchTagHi; page = h.fetchPage; pageInfo = page.info; pageImm = page.imm; // LOAD
        if (!ok) continue;
        xl[rd] = h.ldLo;
        xh[rd] = h.ldHi;
        break;
      }
      case Op.LW: {
        const blo = xl[rs1]!;
        const lo = (blo + imm) | 0;
        const hi = (xh[rs1]! + (imm >> 31) + ((lo >>> 0) < (blo >>> 0) ? 1 : 0)) | 0;
        const s = (lo >>> 12) & 0xff;
        if (rTagLo[s] === (lo & ~0xfff) && rTagHi[s] === hi && (lo & 0xfff) <= 4092) {
          const v = rView[s]!;
          const o = rOff[s]! + (lo & 0xfff);
          const w = v.getInt32(o, true);
          xl[rd] = w;
          xh[rd] = w >> 31;
          break;
        }
        h.pcLo = pcLo; h.pcHi = pcHi; h.icount = icount; // SAVE
        const ok = h.loadSlow(lo, hi, 4);
        pcLo = h.pcLo; pcHi = h.pcHi; stopAt = h.stopAt; fetchTagLo = h.fetchTagLo; fetchTagHi = h.fetchTagHi; page = h.fetchPage; pageInfo = page.info; pageImm = page.imm; // LOAD
        if (!ok) continue;
        xl[rd] = h.ldLo;
        xh[rd] = h.ldLo >> 31;
        break;
      }
      case Op.SD: {
        const blo = xl[rs1]!;
        const lo = (blo + imm) | 0;
        const hi = (xh[rs1]! + (imm >> 31) + ((lo >>> 0) < (blo >>> 0) ? 1 : 0)) | 0;
        const s = (lo >>> 12) & 0xff;
        if (wTagLo[s] === (lo & ~0xfff) && wTagHi[s] === hi && (lo & 0xfff) <= 4088) {
          const v = wView[s]!;
          const o = wOff[s]! + (lo & 0xfff);
          v.setInt32(o, xl[rs2]!, true);
          v.setInt32(o + 4, xh[rs2]!, true);
          break;
        }
        h.pcLo = pcLo; h.pcHi = pcHi; h.icount = icount; // SAVE
        const ok = h.storeSlow(lo, hi, 8, xl[rs2]!, xh[rs2]!);
        pcLo = h.pcLo; pcHi = h.pcHi; stopAt = h.stopAt; fetchTagLo = h.fetchTagLo; fetchTagHi = h.fetchTagHi; page = h.fetchPage; pageInfo = page.info; pageImm = page.imm; // LOAD
        if (!ok) continue;
        break;
      }
      case Op.SW: {
        const blo = xl[rs1]!;
        const lo = (blo + imm) | 0;
        const hi = (xh[rs1]! + (imm >> 31) + ((lo >>> 0) < (blo >>> 0) ? 1 : 0)) | 0;
        const s = (lo >>> 12) & 0xff;
        if (wTagLo[s] === (lo & ~0xfff) && wTagHi[s] === hi && (lo & 0xfff) <= 4092) {
          const v = wView[s]!;
          const o = wOff[s]! + (lo & 0xfff);
          v.setInt32(o, xl[rs2]!, true);
          break;
        }
        h.pcLo = pcLo; h.pcHi = pcHi; h.icount = icount; // SAVE
        const ok = h.storeSlow(lo, hi, 4, xl[rs2]!, xh[rs2]!);
        pcLo = h.pcLo; pcHi = h.pcHi; stopAt = h.stopAt; fetchTagLo = h.fetchTagLo; fetchTagHi = h.fetchTagHi; page = h.fetchPage; pageInfo = page.info; pageImm = page.imm; // LOAD
        if (!ok) continue;
        break;
      }
      // ---- the other loads ----
      case Op.LB: case Op.LH: case Op.LBU: case Op.LHU: case Op.LWU: {
        const blo = xl[rs1]!;
        const lo = (blo + imm) | 0;
        const hi = (xh[rs1]! + (imm >> 31) + ((lo >>> 0) < (blo >>> 0) ? 1 : 0)) | 0;
        const size = op === Op.LWU ? 4 : op === Op.LH || op === Op.LHU ? 2 : 1;
        let vlo: number, vhi: number;
        const s = (lo >>> 12) & 0xff;
        if (rTagLo[s] === (lo & ~0xfff) && rTagHi[s] === hi && (lo & 0xfff) + size <= 4096) {
          const v = rView[s]!;
          const o = rOff[s]! + (lo & 0xfff);
          switch (size) {
            case 4: vlo = v.getInt32(o, true); vhi = 0; break;
            case 2: vlo = v.getUint16(o, true); vhi = 0; break;
            default: vlo = v.getUint8(o); vhi = 0; break;
          }
        } else {
          h.pcLo = pcLo; h.pcHi = pcHi; h.icount = icount; // SAVE
          const ok = h.loadSlow(lo, hi, size);
          pcLo = h.pcLo; pcHi = h.pcHi; stopAt = h.stopAt; fetchTagLo = h.fetchTagLo; fetchTagHi = h.fetchTagHi; page = h.fetchPage; pageInfo = page.info; pageImm = page.imm; // LOAD
          if (!ok) continue;
          vlo = h.ldLo;
          vhi = h.ldHi;
        }
        switch (op) {
          case Op.LB: vlo = (vlo << 24) >> 24; vhi = vlo >> 31; break;
          case Op.LH: vlo = (vlo << 16) >> 16; vhi = vlo >> 31; break;
          case Op.LBU: vlo &= 0xff; break;
          case Op.LHU: vlo &= 0xffff; break;
        }
        xl[rd] = vlo;
        xh[rd] = vhi;
        break;
      }
      // ---- stores ----
      case Op.SB: case Op.SH: {
        const blo = xl[rs1]!;
        const lo = (blo + imm) | 0;
        const hi = (xh[rs1]! + (imm >> 31) + ((lo >>> 0) < (blo >>> 0) ? 1 : 0)) | 0;
        const size = op === Op.SH ? 2 : 1;
        const s = (lo >>> 12) & 0xff;
        if (wTagLo[s] === (lo & ~0xfff) && wTagHi[s] === hi && (lo & 0xfff) + size <= 4096) {
          const v = wView[s]!;
          const o = wOff[s]! + (lo & 0xfff);
          switch (size) {
            case 2: v.setUint16(o, xl[rs2]! & 0xffff, true); break;
            default: v.setUint8(o, xl[rs2]! & 0xff); break;
          }
        } else {
          h.pcLo = pcLo; h.pcHi = pcHi; h.icount = icount; // SAVE
          const ok = h.storeSlow(lo, hi, size, xl[rs2]!, xh[rs2]!);
          pcLo = h.pcLo; pcHi = h.pcHi; stopAt = h.stopAt; fetchTagLo = h.fetchTagLo; fetchTagHi = h.fetchTagHi; page = h.fetchPage; pageInfo = page.info; pageImm = page.imm; // LOAD
          if (!ok) continue;
        }
        break;
      }
      // ---- register-immediate ----
      case Op.ADDI: {
        const al = xl[rs1]!;
        const lo = (al + imm) | 0;
        xh[rd] = (xh[rs1]! + (imm >> 31) + ((lo >>> 0) < (al >>> 0) ? 1 : 0)) | 0;
        xl[rd] = lo;
        break;
      }
      case Op.SLTI: {
        const ah = xh[rs1]!, bh = imm >> 31;
        xl[rd] = ah < bh || (ah === bh && (xl[rs1]! >>> 0) < (imm >>> 0)) ? 1 : 0;
        xh[rd] = 0;
        break;
      }
      case Op.SLTIU: {
        const ah = xh[rs1]! >>> 0, bh = (imm >> 31) >>> 0;
        xl[rd] = ah < bh || (ah === bh && (xl[rs1]! >>> 0) < (imm >>> 0)) ? 1 : 0;
        xh[rd] = 0;
        break;
      }
      case Op.XORI: xl[rd] = xl[rs1]! ^ imm; xh[rd] = xh[rs1]! ^ (imm >> 31); break;
      case Op.ORI: xl[rd] = xl[rs1]! | imm; xh[rd] = xh[rs1]! | (imm >> 31); break;
      case Op.ANDI: xl[rd] = xl[rs1]! & imm; xh[rd] = xh[rs1]! & (imm >> 31); break;
      case Op.SLLI: shiftLeft(xl, xh, rd, xl[rs1]!, xh[rs1]!, imm); break;
      case Op.SRLI: shiftRight(xl, xh, rd, xl[rs1]!, xh[rs1]!, imm, false); break;
      case Op.SRAI: shiftRight(xl, xh, rd, xl[rs1]!, xh[rs1]!, imm, true); break;
      // ---- register-register ----
      case Op.ADD: {
        const al = xl[rs1]!;
        const lo = (al + xl[rs2]!) | 0;
        xh[rd] = (xh[rs1]! + xh[rs2]! + ((lo >>> 0) < (al >>> 0) ? 1 : 0)) | 0;
        xl[rd] = lo;
        break;
      }
      case Op.SUB: {
        const al = xl[rs1]!, bl = xl[rs2]!;
        xh[rd] = (xh[rs1]! - xh[rs2]! - ((al >>> 0) < (bl >>> 0) ? 1 : 0)) | 0;
        xl[rd] = (al - bl) | 0;
        break;
      }
      case Op.SLL: shiftLeft(xl, xh, rd, xl[rs1]!, xh[rs1]!, xl[rs2]! & 63); break;
      case Op.SRL: shiftRight(xl, xh, rd, xl[rs1]!, xh[rs1]!, xl[rs2]! & 63, false); break;
      case Op.SRA: shiftRight(xl, xh, rd, xl[rs1]!, xh[rs1]!, xl[rs2]! & 63, true); break;
      case Op.SLT: {
        const ah = xh[rs1]!, bh = xh[rs2]!;
        xl[rd] = ah < bh || (ah === bh && (xl[rs1]! >>> 0) < (xl[rs2]! >>> 0)) ? 1 : 0;
        xh[rd] = 0;
        break;
      }
      case Op.SLTU: {
        const ah = xh[rs1]! >>> 0, bh = xh[rs2]! >>> 0;
        xl[rd] = ah < bh || (ah === bh && (xl[rs1]! >>> 0) < (xl[rs2]! >>> 0)) ? 1 : 0;
        xh[rd] = 0;
        break;
      }
      case Op.XOR: xl[rd] = xl[rs1]! ^ xl[rs2]!; xh[rd] = xh[rs1]! ^ xh[rs2]!; break;
      case Op.OR: xl[rd] = xl[rs1]! | xl[rs2]!; xh[rd] = xh[rs1]! | xh[rs2]!; break;
      case Op.AND: xl[rd] = xl[rs1]! & xl[rs2]!; xh[rd] = xh[rs1]! & xh[rs2]!; break;
      // ---- 32-bit (W) forms: compute on the low word, sign-extend ----
      case Op.ADDIW: { const v = (xl[rs1]! + imm) | 0; xl[rd] = v; xh[rd] = v >> 31; break; }
      case Op.SLLIW: { const v = xl[rs1]! << imm; xl[rd] = v; xh[rd] = v >> 31; break; }
      case Op.SRLIW: { const v = (xl[rs1]! >>> imm) | 0; xl[rd] = v; xh[rd] = v >> 31; break; }
      case Op.SRAIW: { const v = xl[rs1]! >> imm; xl[rd] = v; xh[rd] = v >> 31; break; }
      case Op.ADDW: { const v = (xl[rs1]! + xl[rs2]!) | 0; xl[rd] = v; xh[rd] = v >> 31; break; }
      case Op.SUBW: { const v = (xl[rs1]! - xl[rs2]!) | 0; xl[rd] = v; xh[rd] = v >> 31; break; }
      case Op.SLLW: { const v = xl[rs1]! << (xl[rs2]! & 31); xl[rd] = v; xh[rd] = v >> 31; break; }
      case Op.SRLW: { const v = (xl[rs1]! >>> (xl[rs2]! & 31)) | 0; xl[rd] = v; xh[rd] = v >> 31; break; }
      case Op.SRAW: { const v = xl[rs1]! >> (xl[rs2]! & 31); xl[rd] = v; xh[rd] = v >> 31; break; }
      // ---- M extension ----
      case Op.MUL: case Op.MULH: case Op.MULHSU: case Op.MULHU: case Op.DIV: case Op.DIVU: case Op.REM: case Op.REMU:
      case Op.MULW: case Op.DIVW: case Op.DIVUW: case Op.REMW: case Op.REMUW: {
        const t = h.tmp;
        mulDiv(op, xl[rs1]!, xh[rs1]!, xl[rs2]!, xh[rs2]!, t);
        xl[rd] = t.lo;
        xh[rd] = t.hi;
        break;
      }
      case Op.FENCE: case Op.FENCE_I: break; // one hart, in order, coherent decode cache
      case Op.NATIVE: {
        h.pcLo = pcLo; h.pcHi = pcHi; h.icount = icount; // SAVE
        const ran = h.runNative(imm);
        pcLo = h.pcLo; pcHi = h.pcHi; stopAt = h.stopAt; fetchTagLo = h.fetchTagLo; fetchTagHi = h.fetchTagHi; page = h.fetchPage; pageInfo = page.info; pageImm = page.imm; // LOAD
        icount = h.icount; // a native may run the hart itself (a firmware call from the kernel)
        if (ran) icount++;
        continue;
      }
      case Op.LR: case Op.SC: case Op.AMO: {
        h.pcLo = pcLo; h.pcHi = pcHi; h.icount = icount; // SAVE
        const ok = executeAmo(h, op, rd, rs1, rs2, imm);
        pcLo = h.pcLo; pcHi = h.pcHi; stopAt = h.stopAt; fetchTagLo = h.fetchTagLo; fetchTagHi = h.fetchTagHi; page = h.fetchPage; pageInfo = page.info; pageImm = page.imm; // LOAD
        if (!ok) continue;
        break;
      }
      default: {
        // System instructions and illegal encodings; false = trapped or jumped (pc already set).
        // MRET/SRET jump and retire, so they count; an instruction that trapped does not.
        h.pcLo = pcLo; h.pcHi = pcHi; h.icount = icount; // SAVE
        const traps = h.traps;
        const ok = executeSystem(h, op, rd, rs1, rs2, imm, p.raw[i]!);
        pcLo = h.pcLo; pcHi = h.pcHi; stopAt = h.stopAt; fetchTagLo = h.fetchTagLo; fetchTagHi = h.fetchTagHi; page = h.fetchPage; pageInfo = page.info; pageImm = page.imm; // LOAD
        if (!ok) {
          if (h.traps === traps) icount++;
          continue;
        }
        break;
      }
    }
    const nlo = (pcLo + len) | 0;
    if ((nlo >>> 0) < len) pcHi = (pcHi + 1) | 0;
    pcLo = nlo;
    icount++;
  }
  h.pcLo = pcLo;
  h.pcHi = pcHi;
  h.icount = icount;
}

function shiftLeft(xl: Int32Array, xh: Int32Array, rd: number, lo: number, hi: number, s: number): void {
  if (s === 0) { xl[rd] = lo; xh[rd] = hi; }
  else if (s < 32) { xh[rd] = (hi << s) | (lo >>> (32 - s)); xl[rd] = lo << s; }
  else { xh[rd] = lo << (s - 32); xl[rd] = 0; }
}

function shiftRight(xl: Int32Array, xh: Int32Array, rd: number, lo: number, hi: number, s: number, arith: boolean): void {
  if (s === 0) { xl[rd] = lo; xh[rd] = hi; }
  else if (s < 32) { xl[rd] = (lo >>> s) | (hi << (32 - s)); xh[rd] = arith ? hi >> s : (hi >>> s) | 0; }
  else { xl[rd] = arith ? hi >> (s - 32) : (hi >>> (s - 32)) | 0; xh[rd] = arith ? hi >> 31 : 0; }
}
