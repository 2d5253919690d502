/**
 * Random instruction words never crash or hang the host: every word decodes to an instruction or
 * an illegal-instruction trap, every access to an access or page fault. Runs are deterministic,
 * and the host fast path changes nothing the guest can observe.
 */
import { describe, expect, it } from "vitest";
import { bootBare, createRiscvVirt } from "../boot/riscv64/virt.js";
import { CSR } from "../emulator/arch/riscv64/defs.js";
import type { TraceEvent } from "../emulator/core/trace.js";
import { rng } from "./support/rng.js";

/** Opcodes of the base map, so most random words reach the decoder's interesting paths. */
const OPCODES = [0x03, 0x0f, 0x13, 0x17, 0x1b, 0x23, 0x2f, 0x33, 0x37, 0x3b, 0x63, 0x67, 0x6f, 0x73];

/** A minimal ELF64 RISC-V executable with one RWX segment holding `code` at 0x8000_0000. */
function elfOf(code: Uint8Array): Uint8Array {
  const b = new Uint8Array(64 + 56 + code.length);
  const v = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  v.setUint16(16, 2, true); v.setUint16(18, 243, true); v.setUint32(20, 1, true);
  v.setBigUint64(24, 0x80000000n, true); v.setBigUint64(32, 64n, true);
  v.setUint16(52, 64, true); v.setUint16(54, 56, true); v.setUint16(56, 1, true);
  v.setUint32(64, 1, true); v.setUint32(68, 7, true); v.setBigUint64(72, 120n, true);
  v.setBigUint64(80, 0x80000000n, true); v.setBigUint64(88, 0x80000000n, true);
  v.setBigUint64(96, BigInt(code.length), true); v.setBigUint64(104, BigInt(code.length), true);
  b.set(code, 120);
  return b;
}

function randomCode(seed: number): Uint8Array {
  const next = rng(seed);
  const code = new Uint8Array(8192);
  const v = new DataView(code.buffer);
  for (let off = 0; off < code.length; ) {
    const kind = next() % 8;
    if (kind < 2) { v.setUint16(off, next() & 0xffff, true); off += 2; continue; } // compressed or half
    const w = kind < 7 ? (next() & ~0x7f) | OPCODES[next() % OPCODES.length]! : next();
    if (off + 4 > code.length) break;
    v.setUint32(off, w >>> 0, true);
    off += 4;
  }
  return code;
}

interface Outcome {
  reason: string;
  icount: number;
  traps: number;
  regs: string;
  events: number;
  trapHash: number;
}

function runRandom(seed: number, noFastPath: boolean): Outcome {
  const v = createRiscvVirt({ ramSize: 4 << 20, noFastPath });
  bootBare(v, elfOf(randomCode(seed)));
  const h = v.machine.harts[0]!;
  h.csrLo[CSR.mtvec] = 0x80000000 | 0; // traps restart the random code
  h.csrHi[CSR.mtvec] = 0;
  let events = 0;
  let trapHash = 0;
  v.machine.setTrace((e: TraceEvent) => {
    events++;
    if (e.type === "trap") trapHash = (Math.imul(trapHash, 31) + e.cause + e.icount) | 0;
  });
  const r = v.machine.run({ maxInsns: 5000 });
  const regs = Array.from({ length: 32 }, (_, i) => h.x(i).toString(16)).join(",");
  return { reason: r.reason, icount: r.icount, traps: h.traps, regs, events, trapHash };
}

describe("random instruction words", () => {
  it("never throw a host exception or hang, and always end in a defined outcome", () => {
    const reasons = new Set<string>();
    for (let seed = 1; seed <= 150; seed++) {
      const o = runRandom(seed, false);
      expect(["max-insns", "pass", "fail", "reset", "wfi-hang", "trap-loop"]).toContain(o.reason);
      reasons.add(o.reason);
    }
    expect(reasons.has("max-insns")).toBe(true);
  });

  it("run deterministically: the same seed gives the same instruction count, traps and registers", () => {
    for (let seed = 1000; seed < 1020; seed++) expect(runRandom(seed, false)).toEqual(runRandom(seed, false));
  });

  it("see the same machine with and without the host fast path", () => {
    for (let seed = 2000; seed < 2040; seed++) expect(runRandom(seed, true)).toEqual(runRandom(seed, false));
  });
});
