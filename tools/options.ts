/**
 * Parsers for command-line values shared by the tools: sizes and TLB geometries.
 * Each throws RangeError with a one-line message naming the bad value.
 */
import { DEFAULT_TLB, type TlbConfig, type TlbGeometry } from "../emulator/core/tlb.js";

const UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Parses "128M", "4G", "65536" into bytes. */
export function parseSize(s: string, what: string): number {
  const m = /^(\d+)([KMGT]?)(i?B)?$/i.exec(s.trim());
  if (!m) throw new RangeError(`${what} '${s}' is not a size (examples: 128M, 4G)`);
  const v = Number(m[1]) * UNITS[m[2]!.toUpperCase()]!;
  if (!Number.isSafeInteger(v)) throw new RangeError(`${what} '${s}' is too large`);
  return v;
}

function parseGeometry(s: string, what: string): TlbGeometry {
  const m = /^(\d+)\/(\d+)$/.exec(s);
  if (!m) throw new RangeError(`${what} '${s}' is not ENTRIES/WAYS (example: 32/4)`);
  const entries = Number(m[1]), ways = Number(m[2]);
  const sets = entries / ways;
  if (ways < 1 || !Number.isInteger(sets) || sets < 1 || (sets & (sets - 1)) !== 0) {
    throw new RangeError(`${what} '${s}': entries/ways must be a power of two`);
  }
  return { entries, ways };
}

/**
 * Parses a TLB spec "L1ENTRIES/WAYS[,split|unified][,l2=ENTRIES/WAYS|,nol2]".
 * Undefined gives the default geometry.
 */
export function parseTlbSpec(spec: string | undefined, flushOnPteWrite = false): TlbConfig {
  if (spec === undefined) return { ...DEFAULT_TLB, flushOnPteWrite };
  const [first, ...rest] = spec.split(",");
  const cfg: TlbConfig = { l1: parseGeometry(first!, "--tlb"), split: true, l2: DEFAULT_TLB.l2, flushOnPteWrite };
  for (const part of rest) {
    if (part === "split") cfg.split = true;
    else if (part === "unified") cfg.split = false;
    else if (part === "nol2") cfg.l2 = undefined;
    else if (part.startsWith("l2=")) cfg.l2 = parseGeometry(part.slice(3), "--tlb l2");
    else throw new RangeError(`--tlb: unknown part '${part}' (use split, unified, l2=E/W or nol2)`);
  }
  return cfg;
}
