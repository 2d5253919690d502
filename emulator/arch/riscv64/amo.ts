/**
 * The A extension: LR/SC and AMOs. They must be naturally aligned: a misaligned LR raises a load
 * address-misaligned exception, a misaligned SC/AMO a store/AMO address-misaligned exception (we do
 * not emulate misaligned atomics). AMOs and SC check store permission, so they raise store/AMO
 * page faults, never load page faults; LR checks load permission.
 * @spec Unprivileged ISA, "A" extension; RV-S §4.4 table: "SC, AMO → store/AMO page fault"
 */
import type { Hart } from "./hart.js";
import { Op } from "./decode.js";
import { CAUSE } from "./defs.js";
import { LOAD, STORE } from "./mmu.js";

/** Executes LR/SC/AMO. `info` = funct5 | (64-bit ? 1 : 0) << 5. Returns false if a trap was taken. */
export function executeAmo(h: Hart, op: Op, rd: number, rs1: number, rs2: number, info: number): boolean {
  const xl = h.xl, xh = h.xh;
  const lo = xl[rs1]!, hi = xh[rs1]!;
  const wide = (info >>> 5) & 1;
  const size = wide ? 8 : 4;
  if ((lo & (size - 1)) !== 0) {
    h.exception(op === Op.LR ? CAUSE.LOAD_MISALIGNED : CAUSE.STORE_MISALIGNED, lo, hi);
    return false;
  }
  const access = op === Op.LR ? LOAD : STORE;
  const pa = h.mmu.translate(lo, hi, access, h.dataPriv);
  if (pa < 0) {
    h.exception(h.mmu.cause, lo, hi);
    return false;
  }
  const bus = h.bus;
  if (op === Op.SC) {
    const ok = h.reservation === pa;
    h.reservation = -1;
    if (ok && !bus.write(pa, size, xl[rs2]!, xh[rs2]!)) {
      h.exception(CAUSE.STORE_ACCESS, lo, hi);
      return false;
    }
    xl[rd] = ok ? 0 : 1;
    xh[rd] = 0;
    return true;
  }
  if (!bus.read(pa, size)) {
    h.exception(op === Op.LR ? CAUSE.LOAD_ACCESS : CAUSE.STORE_ACCESS, lo, hi);
    return false;
  }
  const ol = bus.lo;
  const oh = wide ? bus.hi : ol >> 31;
  if (op === Op.LR) {
    h.reservation = pa;
    h.code.reserved(pa);
  } else {
    const bl = xl[rs2]!, bh = wide ? xh[rs2]! : bl >> 31;
    let nl: number, nh: number;
    switch (info & 31) {
      case 0x01: nl = bl; nh = bh; break; // amoswap
      case 0x00: { // amoadd
        nl = (ol + bl) | 0;
        nh = (oh + bh + ((nl >>> 0) < (ol >>> 0) ? 1 : 0)) | 0;
        break;
      }
      case 0x04: nl = ol ^ bl; nh = oh ^ bh; break;
      case 0x0c: nl = ol & bl; nh = oh & bh; break;
      case 0x08: nl = ol | bl; nh = oh | bh; break;
      default: {
        const f = info & 31;
        const signed = f === 0x10 || f === 0x14;
        const ah = signed ? oh : oh >>> 0, bh2 = signed ? bh : bh >>> 0;
        const less = ah < bh2 || (ah === bh2 && (ol >>> 0) < (bl >>> 0));
        const wantMin = f === 0x10 || f === 0x18;
        const pickOld = wantMin ? less : !less;
        nl = pickOld ? ol : bl;
        nh = pickOld ? oh : bh;
      }
    }
    if (!bus.write(pa, size, nl, nh)) {
      h.exception(CAUSE.STORE_ACCESS, lo, hi);
      return false;
    }
  }
  xl[rd] = ol;
  xh[rd] = oh;
  return true;
}
