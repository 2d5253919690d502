/**
 * The 32- and 64-bit ADD, SUB/CMP and logic operations with their flags, written small enough for
 * the JIT to inline into the execute loop. Same results as alu.ts (the flags cross-check covers both).
 * Flags: CF bit 0, PF 2, AF 4, ZF 6, SF 7, OF 11; the sign of a 32-bit value moves to SF with
 * `>>> 24 & 0x80` and to OF with `>>> 20 & 0x800`.
 * @spec Intel SDM Vol. 2A "ADD", Vol. 2B "SUB", Vol. 1 §3.4.3.1 (status flags)
 */
import type { AluHost } from "./alu.js";
import { PARITY } from "./alu.js";

const KEEP = ~0x8d5;

/** 64-bit a + b. */
export function add64(c: AluHost, aLo: number, aHi: number, bLo: number, bHi: number): void {
  const lo = (aLo >>> 0) + (bLo >>> 0);
  const hi = (aHi >>> 0) + (bHi >>> 0) + (lo > 0xffffffff ? 1 : 0);
  const rLo = lo | 0, rHi = hi | 0;
  c.rLo = rLo; c.rHi = rHi;
  c.rflags = (c.rflags & KEEP) | (hi > 0xffffffff ? 1 : 0) | PARITY[rLo & 0xff]! | ((aLo ^ bLo ^ rLo) & 0x10) |
    ((rLo | rHi) === 0 ? 0x40 : 0) | ((rHi >>> 24) & 0x80) | ((((aHi ^ rHi) & (bHi ^ rHi)) >>> 20) & 0x800);
}

/** 32-bit a + b (the result zero-extends). */
export function add32(c: AluHost, a: number, b: number): void {
  const r = (a >>> 0) + (b >>> 0);
  const rLo = r | 0;
  c.rLo = rLo; c.rHi = 0;
  c.rflags = (c.rflags & KEEP) | (r > 0xffffffff ? 1 : 0) | PARITY[rLo & 0xff]! | ((a ^ b ^ rLo) & 0x10) |
    (rLo === 0 ? 0x40 : 0) | ((rLo >>> 24) & 0x80) | ((((a ^ rLo) & (b ^ rLo)) >>> 20) & 0x800);
}

/** 64-bit a - b (also CMP). */
export function sub64(c: AluHost, aLo: number, aHi: number, bLo: number, bHi: number): void {
  const lo = (aLo >>> 0) - (bLo >>> 0);
  const hi = (aHi >>> 0) - (bHi >>> 0) - (lo < 0 ? 1 : 0);
  const rLo = lo | 0, rHi = hi | 0;
  c.rLo = rLo; c.rHi = rHi;
  c.rflags = (c.rflags & KEEP) | (hi < 0 ? 1 : 0) | PARITY[rLo & 0xff]! | ((aLo ^ bLo ^ rLo) & 0x10) |
    ((rLo | rHi) === 0 ? 0x40 : 0) | ((rHi >>> 24) & 0x80) | ((((aHi ^ bHi) & (aHi ^ rHi)) >>> 20) & 0x800);
}

/** 32-bit a - b (also CMP). */
export function sub32(c: AluHost, a: number, b: number): void {
  const r = (a >>> 0) - (b >>> 0);
  const rLo = r | 0;
  c.rLo = rLo; c.rHi = 0;
  c.rflags = (c.rflags & KEEP) | (r < 0 ? 1 : 0) | PARITY[rLo & 0xff]! | ((a ^ b ^ rLo) & 0x10) |
    (rLo === 0 ? 0x40 : 0) | ((rLo >>> 24) & 0x80) | ((((a ^ b) & (a ^ rLo)) >>> 20) & 0x800);
}

/** Flags of a 64-bit logical result (CF = OF = AF = 0). */
export function logic64(c: AluHost, rLo: number, rHi: number): void {
  c.rLo = rLo; c.rHi = rHi;
  c.rflags = (c.rflags & KEEP) | PARITY[rLo & 0xff]! | ((rLo | rHi) === 0 ? 0x40 : 0) | ((rHi >>> 24) & 0x80);
}

/** Flags of a 32-bit logical result. */
export function logic32(c: AluHost, rLo: number): void {
  c.rLo = rLo; c.rHi = 0;
  c.rflags = (c.rflags & KEEP) | PARITY[rLo & 0xff]! | (rLo === 0 ? 0x40 : 0) | ((rLo >>> 24) & 0x80);
}
