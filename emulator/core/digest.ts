/**
 * A fast, deterministic 64-bit digest of machine state (registers, RAM, output), for record and
 * replay and for golden-run comparisons. Not cryptographic: it tells "same" from "different" for
 * states of one emulator, nothing more.
 *
 * Two 32-bit lanes, each a multiply-xorshift mix of 32-bit words (Math.imul), finished with the
 * number of words absorbed. Equal inputs give equal digests on every host.
 */
import type { SparseRam } from "./memory.js";

const M1 = 0x85ebca6b, M2 = 0xc2b2ae35, M3 = 0x27d4eb2f, M4 = 0x165667b1;

/** Absorbs 32-bit words; {@link hex} reads the digest (and leaves the state usable). */
export class Digest {
  private a = 0x6a09e667 | 0;
  private b = 0xbb67ae85 | 0;
  private n = 0;

  /** Absorbs one 32-bit word (any number; only its low 32 bits count). */
  word(w: number): this {
    let a = this.a ^ w;
    a = Math.imul(a ^ (a >>> 15), M1);
    a = Math.imul(a ^ (a >>> 13), M2);
    let b = this.b + w;
    b = Math.imul(b ^ (b >>> 16), M3);
    b = Math.imul(b ^ (b >>> 15), M4);
    this.a = a ^ (a >>> 16) ^ (b << 1);
    this.b = b ^ (b >>> 13) ^ this.a;
    this.n++;
    return this;
  }

  /** Absorbs a safe integer (up to 2^53) as two words. */
  number(v: number): this {
    return this.word(v >>> 0).word(Math.floor(v / 4294967296) >>> 0);
  }

  /** Absorbs a string's UTF-16 code units, preceded by its length. */
  string(s: string): this {
    this.word(s.length);
    for (let i = 0; i < s.length; i++) this.word(s.charCodeAt(i));
    return this;
  }

  /** Absorbs 32-bit words of a typed array (whole array). */
  words(ws: Int32Array | Uint32Array): this {
    for (let i = 0; i < ws.length; i++) this.word(ws[i]!);
    return this;
  }

  /** The digest so far as 16 lower-case hex digits. */
  hex(): string {
    let a = Math.imul(this.a ^ this.n, M1);
    a ^= a >>> 16;
    let b = Math.imul(this.b ^ (this.n * 31), M3);
    b ^= b >>> 13;
    return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
  }
}

/**
 * The digest of a RAM's contents: each allocated chunk holding a non-zero word is absorbed with its
 * index, so an untouched chunk and a chunk written with zeros digest the same.
 */
export function ramDigest(ram: SparseRam, d: Digest = new Digest()): Digest {
  const chunks = ram.chunks;
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i];
    if (c === undefined) continue;
    const w = new Int32Array(c.buffer, c.byteOffset, c.byteLength >> 2);
    let nonZero = false;
    for (let j = 0; j < w.length; j++) if (w[j] !== 0) { nonZero = true; break; }
    if (!nonZero) continue;
    d.word(i);
    d.words(w);
  }
  return d;
}
