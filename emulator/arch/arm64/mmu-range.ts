/**
 * The translation parameters of one VA range of the EL1&0 regime, derived from TCR_EL1 and a TTBR
 * once per register write, so a translation reads them without decoding.
 * @spec ARM-ARM D8.2 (VA ranges, TxSZ, granules); pseudocode AArch64.S1TTBaseAddress ("Base address
 * is aligned to size of the initial translation table in bytes"); ARCH-SPEC §3.2
 */
import { type Granule, GRANULE_4K, startLevel, TXSZ_MAX, TXSZ_MIN } from "./granules.js";

const TWO32 = 4294967296;

/** The 32-bit mask of bits from..to (0 <= from <= to <= 31), or 0 when from > to. */
export const bits32 = (from: number, to: number): number => (from > to ? 0 : ((to === 31 ? -1 : (1 << (to + 1)) - 1) & ~((1 << from) - 1)) | 0);

/** The translation parameters of one VA range (TTBR0 for VA[55] = 0, TTBR1 for 1), from TCR_EL1. */
export interface Range {
  granule: Granule;
  inputSize: number;
  start: number;
  /** TxSZ outside 16..39: every translation in the range is a Translation fault, level 0. */
  oob: boolean;
  epd: boolean;
  hpd: boolean;
  /** Bits of VA[63:32] / VA[31:0] that must equal VA[55] (from the top bit down to the input size). */
  hiMask: number;
  loMask: number;
  hiWant: number;
  loWant: number;
  /** Start-level table base: TTBRx.BADDR aligned to the table's size. */
  base: number;
}

/** A range before the first register write (4K, 48-bit, base 0). */
export function emptyRange(): Range {
  return { granule: GRANULE_4K, inputSize: 48, start: 0, oob: false, epd: false, hpd: false, hiMask: 0, loMask: 0, hiWant: 0, loWant: 0, base: 0 };
}

/**
 * Fills `r` for range `sel` (0 = TTBR0, 1 = TTBR1) from TxSZ `tsz`, the granule, EPDx, TBIx, HPDx
 * and the TTBR. TxSZ outside 16..39 sets `oob` (every translation faults) and is clamped for the
 * other fields.
 */
export function deriveRange(r: Range, sel: number, tsz: number, g: Granule, epd: boolean, tbi: boolean, hpd: boolean, ttbrLo: number, ttbrHi: number): void {
  r.oob = tsz < TXSZ_MIN || tsz > TXSZ_MAX;
  const size = 64 - Math.min(Math.max(tsz, TXSZ_MIN), TXSZ_MAX);
  r.granule = g;
  r.inputSize = size;
  r.start = startLevel(g, size);
  r.epd = epd;
  r.hpd = hpd;
  const top = tbi ? 55 : 63;
  r.hiMask = bits32(Math.max(size, 32) - 32, top - 32);
  r.loMask = size < 32 ? bits32(size, 31) : 0;
  r.hiWant = sel ? r.hiMask : 0;
  r.loWant = sel ? r.loMask : 0;
  const baddr = (ttbrHi & 0xffff) * TWO32 + ((ttbrLo & ~1) >>> 0);
  const tableBytes = 2 ** (size - g.levelShift[r.start]! + 3);
  r.base = baddr - (baddr % tableBytes);
}