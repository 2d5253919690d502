/**
 * The architectural state of RV64 harts as a digest (record and replay, docs/replay.md), and as
 * readable registers for divergence reports.
 */
import { Digest } from "../../core/digest.js";
import { hex } from "../../core/trace.js";
import type { Hart } from "./hart.js";
import { PRV_NAME } from "./defs.js";

/**
 * Absorbs everything software can observe of `h` except memory: pc, privilege, the x registers,
 * every CSR's storage and the state kept outside it (mstatus, mie, software mip, satp's decoded
 * mode/ASID/root), the LR reservation and the instruction and trap counts.
 */
export function hartDigest(h: Hart, d: Digest): Digest {
  d.word(h.hartId).word(h.pcLo).word(h.pcHi).word(h.priv).number(h.icount).number(h.traps);
  for (let i = 1; i < 32; i++) d.word(h.xl[i]!).word(h.xh[i]!);
  d.word(h.mstatus).word(h.mie).word(h.mipSoft).number(h.reservation);
  d.word(h.mmu.mode?.satpMode ?? 0).word(h.mmu.asid).number(h.mmu.rootPpn);
  d.words(h.csrLo).words(h.csrHi);
  return d;
}

/** The digest of all harts' state, as 16 hex digits. */
export function hartsStateHash(harts: readonly Hart[]): string {
  const d = new Digest();
  for (const h of harts) hartDigest(h, d);
  return d.hex();
}

/** pc, privilege and x1..x31 of `h` by name, as hex, for a report that says what differs. */
export function hartRegisters(h: Hart): Record<string, string> {
  const r: Record<string, string> = { pc: hex(h.pc), priv: PRV_NAME[h.priv] ?? String(h.priv) };
  for (let i = 1; i < 32; i++) r[`x${i}`] = hex(h.x(i));
  return r;
}
