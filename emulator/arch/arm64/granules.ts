/**
 * The VMSAv8-64 translation granules as data rows: one walk loop serves all three.
 *
 * Each level resolves `stride = shift - 3` VA bits (a table is one granule of 8-byte descriptors);
 * the start level takes whatever bits remain below the input size.
 * @spec ARM-ARM D8.2 "Translation table walk" (granule sizes, levels and block sizes, without
 * FEAT_LPA/LPA2/LVA); ARCH-SPEC §3.2 tables
 */

/** One translation granule. */
export interface Granule {
  readonly name: "4K" | "16K" | "64K";
  /** log2 of the granule (page) size: 12, 14 or 16. */
  readonly shift: number;
  /** VA bits resolved per level: shift - 3. */
  readonly stride: number;
  /** Bit L set when a block descriptor is allowed at level L (without FEAT_LPA2 / FEAT_LPA). */
  readonly blockLevels: number;
  /** log2 of the region one descriptor at level L maps, for L = 0..3. */
  readonly levelShift: readonly number[];
}

function granule(name: Granule["name"], shift: number, blockLevels: number): Granule {
  const stride = shift - 3;
  return { name, shift, stride, blockLevels, levelShift: [0, 1, 2, 3].map((l) => shift + stride * (3 - l)) };
}

/** 4 KiB: blocks of 1 GiB at level 1 and 2 MiB at level 2 (a level-0 block needs FEAT_LPA2). */
export const GRANULE_4K = granule("4K", 12, (1 << 1) | (1 << 2));
/** 16 KiB: blocks of 32 MiB at level 2 only (a level-1 block needs FEAT_LPA2). */
export const GRANULE_16K = granule("16K", 14, 1 << 2);
/** 64 KiB: blocks of 512 MiB at level 2 only (a level-1 block needs FEAT_LPA). */
export const GRANULE_64K = granule("64K", 16, 1 << 2);

/**
 * TCR_EL1.TG0 (bits 15:14) to a granule: 00 = 4K, 01 = 64K, 10 = 16K. The reserved value 11 acts
 * as 4K (IMPLEMENTATION DEFINED choice of a supported size; docs/arm64-mmu.md).
 * @spec ARM-ARM D19 TCR_EL1.TG0
 */
export const TG0_GRANULE: readonly Granule[] = [GRANULE_4K, GRANULE_64K, GRANULE_16K, GRANULE_4K];
/**
 * TCR_EL1.TG1 (bits 31:30), a DIFFERENT encoding: 01 = 16K, 10 = 4K, 11 = 64K. The reserved value
 * 00 acts as 4K.
 * @spec ARM-ARM D19 TCR_EL1.TG1
 */
export const TG1_GRANULE: readonly Granule[] = [GRANULE_4K, GRANULE_16K, GRANULE_4K, GRANULE_64K];

/**
 * Every page or block size any granule maps, smallest first, for the TlbSet:
 * 4K page, 16K page, 64K page, 2M block, 32M block, 512M block, 1G block.
 */
export const arm64PageShifts: readonly number[] = [12, 14, 16, 21, 25, 29, 30];

/** Smallest and largest TxSZ without FEAT_LVA / FEAT_TTST. @spec ARM-ARM D8.1.9 (RWTXSZ) */
export const TXSZ_MIN = 16, TXSZ_MAX = 39;

/**
 * The start level for an input size of `inputSize` bits: the levels below it resolve `stride` bits
 * each above the page offset, the start level the rest (1 to `stride` bits).
 * @spec ARM-ARM D8.2.4 "Translation table walk start level" (= 4 - ceil((inputSize - shift) / stride)
 * counted from level 3)
 */
export function startLevel(g: Granule, inputSize: number): number {
  return 3 - Math.ceil((inputSize - g.shift) / g.stride) + 1;
}
