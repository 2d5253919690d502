/**
 * Instruction encoding: legacy prefixes, REX, opcode, ModRM, SIB, displacement and immediates,
 * with GNU as's choices (shortest displacement for constants, disp32 for anything symbolic).
 *
 * @spec Intel SDM Vol. 2A §2.1 (instruction format), §2.1.5 Tables 2-2 (ModRM, 32/64-bit
 *   addressing) and 2-3 (SIB), §2.2.1 (REX prefixes; RIP-relative addressing, Table 2-7).
 */
import { type Expr, fail } from "./shared.js";
import type { MemRef, Operand } from "./operands.js";
import { type Reg, SEGMENT_PREFIX } from "./registers.js";

/** How an immediate or displacement is checked: signed, unsigned, or either (GNU's "fits in N bits"). */
export type Range = "s" | "u" | "any";

/** A value to write once addresses are final. `at` is the byte offset inside the instruction. */
export interface InsnFixup {
  at: number;
  size: 1 | 2 | 4 | 8;
  expr: Expr;
  range: Range;
  /** PC-relative: the value written is target - (address of the end of the instruction). */
  pcrel: boolean;
}

/** An encoded instruction: its bytes (unknown values as zeros) and the fixups that fill them. */
export interface Encoded {
  bytes: number[];
  fixups: InsnFixup[];
}

/** An immediate operand to append after the displacement. */
export interface Imm {
  expr: Expr;
  size: 1 | 2 | 4 | 8;
  range: Range;
}

/** Everything one instruction encoding needs. */
export interface InsnSpec {
  opcode: number[];
  /** Operand size: 2 adds the 0x66 prefix, 8 sets REX.W (unless `noW`). */
  size?: 1 | 2 | 4 | 8;
  /** The instruction defaults to 64-bit operands (push, pop, indirect jmp/call): no REX.W for size 8. */
  noW?: boolean;
  /** Mandatory prefix (0x66, 0xf2, 0xf3) that is part of the opcode. */
  mandatory?: number;
  /** ModRM.reg: a register or an opcode extension digit. Present iff the instruction has a ModRM. */
  reg?: Reg | number;
  /** ModRM.r/m operand (register or memory). */
  rm?: Operand;
  /** Register added to the last opcode byte (`50+r`, `b8+r`, `bswap`). */
  opReg?: Reg;
  imms?: Imm[];
  /** Prefixes written in the source (`lock`, `rep`...). */
  prefixes?: number[];
  /** A pc-relative field after the opcode (CALL rel32, LOOP rel8): target - end of instruction. */
  pcrel?: { expr: Expr; size: 1 | 4 };
  /** Other registers that count for REX checks (e.g. an implicit operand). */
  extraRegs?: Reg[];
}

/** Value of a constant expression, or undefined if it depends on addresses. */
export type ConstValue = (e: Expr) => bigint | undefined;

const ADDR32 = 0x67, OPSIZE = 0x66, LOCK = 0xf0;

const fitsS8 = (v: bigint): boolean => v >= -128n && v <= 127n;
const fitsS32 = (v: bigint): boolean => v >= -(1n << 31n) && v < 1n << 31n;

/** Checks that constant `v` fits `size` bytes under `range`. */
export function checkRange(v: bigint, size: number, range: Range, what: string): void {
  if (size === 8) return;
  const bits = BigInt(size * 8);
  const lo = range === "u" ? 0n : -(1n << (bits - 1n));
  const hi = range === "s" ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  if (v < lo || v > hi) fail(`${what} ${v} out of range [${lo}, ${hi}]`);
}

const pushLE = (out: number[], v: bigint, size: number): void => {
  let x = BigInt.asUintN(64, v);
  for (let i = 0; i < size; i++) {
    out.push(Number(x & 0xffn));
    x >>= 8n;
  }
};

interface Rex { w: boolean; r: boolean; x: boolean; b: boolean; need: boolean }

/**
 * ModRM (+SIB, displacement) for a memory operand; updates rex. A displacement not known yet
 * becomes a disp32 fixup (pc-relative for `sym(%rip)`); a constant one is written as is (for
 * `%rip` too: `8(%rip)` means 8 bytes after the instruction).
 */
function encodeMem(m: MemRef, regField: number, rex: Rex, constValue: ConstValue, out: number[], fixups: InsnFixup[]): void {
  const disp = m.disp === undefined ? 0n : constValue(m.disp);
  const modrm = (mod: number, rm: number): number => (mod << 6) | ((regField & 7) << 3) | rm;
  const dispOut = (size: 0 | 1 | 4, pcrel = false): void => {
    if (size === 0) return;
    if (disp === undefined) {
      fixups.push({ at: out.length, size: 4, expr: m.disp!, range: "s", pcrel });
      pushLE(out, 0n, 4);
      return;
    }
    if (size === 4 && !fitsS32(disp)) fail(`displacement ${disp} out of range of a signed 32-bit displacement`);
    pushLE(out, disp, size);
  };
  if (m.base?.kind === "rip") {
    out.push(modrm(0, 5));
    dispOut(4, true);
    return;
  }
  if (m.base) rex.b = m.base.num >= 8;
  if (m.index) rex.x = m.index.num >= 8;
  if (!m.base) {
    out.push(modrm(0, 4), ((m.index ? Math.log2(m.scale) : 0) << 6) | ((m.index ? m.index.num & 7 : 4) << 3) | 5);
    dispOut(4);
    return;
  }
  const low = m.base.num & 7;
  const mod = disp === undefined ? 2 : disp === 0n && low !== 5 ? 0 : fitsS8(disp) ? 1 : 2;
  if (m.index || low === 4) {
    out.push(modrm(mod, 4), ((m.index ? Math.log2(m.scale) : 0) << 6) | ((m.index ? m.index.num & 7 : 4) << 3) | low);
  } else {
    out.push(modrm(mod, low));
  }
  dispOut(mod === 0 ? 0 : mod === 1 ? 1 : 4);
}

const SS = 2, DS = 3;

/**
 * The segment a memory operand uses without an override: SS with base %rsp or %rbp (not
 * %r12/%r13), DS otherwise. GNU as drops an override that names it.
 * @spec Intel SDM Vol. 1 §3.7.4 "Specifying a Segment Selector" (Table 3-5, default segment selection)
 */
export function defaultSegment(m: MemRef): number {
  return m.base?.kind === "gpr" && (m.base.num === 4 || m.base.num === 5) ? SS : DS;
}

/**
 * Encodes one instruction.
 * @throws SourceError when a high-byte register meets a REX prefix, or a constant is out of range.
 */
export function encode(spec: InsnSpec, constValue: ConstValue): Encoded {
  const rex: Rex = { w: spec.size === 8 && !spec.noW, r: false, x: false, b: false, need: false };
  const regs: Reg[] = [...(spec.extraRegs ?? [])];
  const body: number[] = [];
  const fixups: InsnFixup[] = [];
  const opcode = [...spec.opcode];
  if (spec.opReg) {
    regs.push(spec.opReg);
    rex.b = spec.opReg.num >= 8;
    opcode[opcode.length - 1]! |= spec.opReg.num & 7;
  }
  let mem: (Operand & { k: "mem" }) | undefined;
  if (spec.reg !== undefined) {
    const regField = typeof spec.reg === "number" ? spec.reg : spec.reg.num;
    if (typeof spec.reg !== "number") regs.push(spec.reg);
    rex.r = regField >= 8;
    const rm = spec.rm;
    if (!rm) throw new Error("encode: ModRM without an r/m operand");
    if (rm.k === "reg") {
      regs.push(rm.reg);
      rex.b = rm.reg.num >= 8;
      body.push(0xc0 | ((regField & 7) << 3) | (rm.reg.num & 7));
    } else if (rm.k === "mem") {
      mem = rm;
      encodeMem(rm, regField, rex, constValue, body, fixups);
    } else {
      throw new Error("encode: immediate as r/m operand");
    }
  }
  if (spec.pcrel) {
    fixups.push({ at: body.length, size: spec.pcrel.size, expr: spec.pcrel.expr, range: "s", pcrel: true });
    pushLE(body, 0n, spec.pcrel.size);
  }
  for (const imm of spec.imms ?? []) {
    const v = constValue(imm.expr);
    if (v === undefined) {
      fixups.push({ at: body.length, size: imm.size, expr: imm.expr, range: imm.range, pcrel: false });
      pushLE(body, 0n, imm.size);
    } else {
      checkRange(v, imm.size, imm.range, "immediate");
      pushLE(body, v, imm.size);
    }
  }
  for (const r of regs) {
    if (r.kind === "gpr" && r.needsRex) rex.need = true;
  }
  const usesRex = rex.w || rex.r || rex.x || rex.b || rex.need;
  if (usesRex) {
    const high = regs.find((r) => r.highByte);
    if (high) fail(`can't encode register '%${high.name}' in an instruction requiring REX prefix`);
  }
  const prefix: number[] = [];
  const src = spec.prefixes ?? [];
  const seg = mem?.seg && mem.seg.num !== defaultSegment(mem) ? SEGMENT_PREFIX[mem.seg.num]! : src.find((p) => (SEGMENT_PREFIX as readonly number[]).includes(p));
  if (seg !== undefined) prefix.push(seg);
  if ((mem && (mem.base?.size === 4 || mem.index?.size === 4)) || src.includes(ADDR32)) prefix.push(ADDR32);
  if (spec.size === 2 || spec.mandatory === OPSIZE || src.includes(OPSIZE)) prefix.push(OPSIZE);
  if (new Set(src).size !== src.length || (src.includes(OPSIZE) && (spec.size === 2 || spec.mandatory === OPSIZE))) fail("same type of prefix used twice");
  const rep = src.find((p) => p === 0xf2 || p === 0xf3);
  if (spec.mandatory !== undefined && spec.mandatory !== OPSIZE) prefix.push(spec.mandatory);
  else if (rep !== undefined) prefix.push(rep);
  if (src.includes(LOCK)) prefix.push(LOCK);
  if (usesRex) prefix.push(0x40 | (rex.w ? 8 : 0) | (rex.r ? 4 : 0) | (rex.x ? 2 : 0) | (rex.b ? 1 : 0));
  const head = [...prefix, ...opcode];
  for (const f of fixups) f.at += head.length;
  return { bytes: [...head, ...body], fixups };
}
