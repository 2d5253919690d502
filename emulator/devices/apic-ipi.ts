/**
 * Several local APICs on one bus: the window at 0xFEE00000 that shows each CPU its own APIC, and
 * which APICs an interprocessor interrupt reaches: the ICR's destination shorthand, or its
 * destination field read in physical mode (an APIC ID; 0xFF broadcasts) or in logical mode (each
 * receiver matches the message destination against its LDR, in the flat or the cluster model its
 * DFR selects).
 * @spec Intel SDM Vol. 3A §11.6.1 (ICR layout, Figure 11-12), §11.6.2.1 (physical destination mode,
 * 0xFF broadcast), §11.6.2.2 (logical destination mode: flat and cluster models), §11.6.2.3
 * (destination shorthands: self, all including self, all excluding self)
 */
import type { MmioDevice } from "../core/memory.js";
import type { LocalApic } from "./lapic.js";

/**
 * The APIC page as every CPU sees it: the same physical addresses reach the accessing CPU's own
 * APIC (`current`, set by the machine before it runs a CPU). @spec SDM Vol. 3A §11.4.1 ("each
 * logical processor's local APIC is mapped at the same physical base")
 */
export class LapicWindow implements MmioDevice {
  readonly name = "lapic";
  /** Index into `apics` of the CPU running now. */
  current = 0;
  constructor(readonly apics: readonly LocalApic[]) {
    for (const a of apics) a.peers = apics;
  }
  read(offset: number, size: 1 | 2 | 4): number {
    return this.apics[this.current]!.read(offset, size);
  }
  write(offset: number, size: 1 | 2 | 4, value: number): void {
    this.apics[this.current]!.write(offset, size, value);
  }
}

/** ICR fields. @spec SDM Vol. 3A Figure 11-12 */
export const ICR = {
  /** Delivery mode, bits 10:8: 000 fixed. */
  MODE_FIXED: 0,
  /** Bit 11: 0 physical, 1 logical destination mode. */
  LOGICAL: 1 << 11,
  /** Bit 12: send pending (read-only). */
  DELIVERY_STATUS: 1 << 12,
  /** Bits 19:18: destination shorthand. */
  SHORTHAND_SHIFT: 18,
  SELF: 1, ALL: 2, ALL_BUT_SELF: 3,
} as const;

/** The APICs among `apics` that an IPI sent by `from` with ICR (`lo`, `hi`) reaches, in `apics` order. */
export function ipiDestinations(lo: number, hi: number, from: LocalApic, apics: readonly LocalApic[]): LocalApic[] {
  switch ((lo >>> ICR.SHORTHAND_SHIFT) & 3) {
    case ICR.SELF: return [from];
    case ICR.ALL: return [...apics];
    case ICR.ALL_BUT_SELF: return apics.filter((a) => a !== from);
  }
  const dest = hi >>> 24;
  if ((lo & ICR.LOGICAL) === 0) return dest === 0xff ? [...apics] : apics.filter((a) => a.id === dest);
  return apics.filter((a) => logicalMatch(dest, a));
}

/** Does message destination `dest` (logical mode) select APIC `a`? Flat: a bit mask; cluster: cluster 4 bits + member mask. */
function logicalMatch(dest: number, a: LocalApic): boolean {
  const ld = a.ldr >>> 24;
  if (a.dfr >>> 28 === 0xf) return (dest & ld) !== 0;
  if (dest === 0xff) return true;
  return dest >>> 4 === ld >>> 4 && (dest & ld & 0xf) !== 0;
}
