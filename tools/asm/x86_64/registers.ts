/**
 * x86-64 register names as GNU as spells them in AT&T syntax (without the `%`).
 *
 * @spec Intel SDM Vol. 2A §2.2.1 (REX prefixes): registers 8–15 need a REX extension bit; the
 *   byte registers SPL, BPL, SIL, DIL exist only with a REX prefix, and AH, CH, DH, BH cannot be
 *   encoded in an instruction that has one (Table 2-5 / §3.7.2.1).
 */

/** What kind of register a name denotes. */
export type RegKind = "gpr" | "seg" | "cr" | "dr" | "rip";

/** One register. */
export interface Reg {
  /** Name without `%`, lower case. */
  name: string;
  kind: RegKind;
  /** Encoding number 0–15 (the REX extension bit is bit 3). */
  num: number;
  /** Size in bytes of a general-purpose register (segment registers 2, control/debug/rip 8). */
  size: 1 | 2 | 4 | 8;
  /** SPL, BPL, SIL, DIL and R8B–R15B: only encodable with a REX prefix. */
  needsRex?: boolean;
  /** AH, CH, DH, BH: not encodable with a REX prefix. */
  highByte?: boolean;
}

const REGS = new Map<string, Reg>();
const add = (r: Reg): void => { REGS.set(r.name, r); };

const LEGACY = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"];
LEGACY.forEach((base, num) => {
  add({ name: `r${base}`, kind: "gpr", num, size: 8 });
  add({ name: `e${base}`, kind: "gpr", num, size: 4 });
  add({ name: base, kind: "gpr", num, size: 2 });
  if (num < 4) {
    add({ name: `${base[0]}l`, kind: "gpr", num, size: 1 });
    add({ name: `${base[0]}h`, kind: "gpr", num: num + 4, size: 1, highByte: true });
  } else {
    add({ name: `${base}l`, kind: "gpr", num, size: 1, needsRex: true });
  }
});
for (let num = 8; num < 16; num++) {
  add({ name: `r${num}`, kind: "gpr", num, size: 8 });
  add({ name: `r${num}d`, kind: "gpr", num, size: 4 });
  add({ name: `r${num}w`, kind: "gpr", num, size: 2 });
  add({ name: `r${num}b`, kind: "gpr", num, size: 1 });
  add({ name: `r${num}l`, kind: "gpr", num, size: 1 });
}
["es", "cs", "ss", "ds", "fs", "gs"].forEach((name, num) => add({ name, kind: "seg", num, size: 2 }));
for (const num of [0, 2, 3, 4, 8]) add({ name: `cr${num}`, kind: "cr", num, size: 8 });
for (let num = 0; num < 8; num++) add({ name: `db${num}`, kind: "dr", num, size: 8 });
for (let num = 0; num < 8; num++) REGS.set(`dr${num}`, { name: `db${num}`, kind: "dr", num, size: 8 });
add({ name: "rip", kind: "rip", num: 5, size: 8 });
add({ name: "eip", kind: "rip", num: 5, size: 4 });

/** The register called `name` (without `%`, any case), or undefined. */
export function lookupRegister(name: string): Reg | undefined {
  return REGS.get(name.toLowerCase());
}

/** Prefix byte of each segment override (ES CS SS DS FS GS). @spec Intel SDM Vol. 2A §2.1.1 Group 2 */
export const SEGMENT_PREFIX = [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65] as const;
