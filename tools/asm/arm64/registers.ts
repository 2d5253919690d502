/**
 * AArch64 general-purpose register names and condition codes (GNU as also accepts `fp` = x29,
 * `lr` = x30, `ip0`/`ip1` = x16/x17). Names are case-insensitive.
 * @spec Arm ARM (DDI 0487) C1.2 "Structure of the A64 assembler language" (condition codes,
 *   register names)
 */

/** A general-purpose register operand. Number 31 is SP or ZR, told apart by `sp`. */
export interface Reg {
  /** 0..31. */
  num: number;
  /** True for an X (64-bit) name, false for a W (32-bit) name. */
  x: boolean;
  /** True for `sp`/`wsp`, false for every other name (31 is then `xzr`/`wzr`). */
  sp: boolean;
}

const REGS = new Map<string, Reg>();
for (let i = 0; i <= 30; i++) {
  REGS.set(`x${i}`, { num: i, x: true, sp: false });
  REGS.set(`w${i}`, { num: i, x: false, sp: false });
}
REGS.set("xzr", { num: 31, x: true, sp: false }).set("wzr", { num: 31, x: false, sp: false });
REGS.set("sp", { num: 31, x: true, sp: true }).set("wsp", { num: 31, x: false, sp: true });
REGS.set("fp", { num: 29, x: true, sp: false }).set("lr", { num: 30, x: true, sp: false });
REGS.set("ip0", { num: 16, x: true, sp: false }).set("ip1", { num: 17, x: true, sp: false });

/** The register named `name` (any case), or undefined. */
export function parseReg(name: string): Reg | undefined {
  return REGS.get(name.trim().toLowerCase());
}

/** Condition codes by name, including the `hs`/`lo` synonyms. @spec Arm ARM C1.2 "Condition code" table */
export const CONDITIONS: ReadonlyMap<string, number> = new Map(Object.entries({
  eq: 0, ne: 1, cs: 2, hs: 2, cc: 3, lo: 3, mi: 4, pl: 5, vs: 6, vc: 7,
  hi: 8, ls: 9, ge: 10, lt: 11, gt: 12, le: 13, al: 14, nv: 15,
}));

/** The name of register `r` as GNU objdump prints it, for messages. */
export function regName(r: Reg): string {
  if (r.num === 31) return r.sp ? (r.x ? "sp" : "wsp") : r.x ? "xzr" : "wzr";
  return `${r.x ? "x" : "w"}${r.num}`;
}
