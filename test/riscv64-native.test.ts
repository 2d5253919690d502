/**
 * Native entries: a TypeScript function registered at a physical address runs when the hart
 * fetches that address in S- or M-mode, after the hardware's own trap entry, and leaves through
 * the architectural return (DESIGN.md "How the kernel is entered").
 */
import { describe, expect, it } from "vitest";
import { bootBare, createRiscvVirt } from "../boot/riscv64/virt.js";
import { CSR, PRV_S } from "../emulator/arch/riscv64/defs.js";
import type { Hart } from "../emulator/arch/riscv64/hart.js";
import type { TrapTraceEvent } from "../emulator/core/trace.js";
import { assembleRiscv64 } from "../tools/asm/riscv64/index.js";

/** M-mode delegates ecall-from-U to S, points stvec at `vector`, and drops to U at `user`. */
const PROGRAM = `
.text
.globl _start
_start:
    li      t0, 1 << 8
    csrw    medeleg, t0
    la      t0, vector
    csrw    stvec, t0
    la      t0, user
    csrw    mepc, t0
    li      t0, 3 << 11
    csrc    mstatus, t0
    li      a0, 0
    mret
user:
    li      a7, 64
    ecall
    ecall
    ecall
    li      t0, 0x100000
    li      t1, 0x5555
    sw      t1, 0(t0)
1:  j       1b
.bss
.align 12
vector: .zero 4096
`;

function boot(): { v: ReturnType<typeof createRiscvVirt>; h: Hart; vector: number; user: number; traps: TrapTraceEvent[] } {
  const asm = assembleRiscv64(PROGRAM);
  const v = createRiscvVirt();
  bootBare(v, asm.elf);
  const traps: TrapTraceEvent[] = [];
  v.machine.setTrace((e) => { if (e.type === "trap") traps.push(e); });
  return { v, h: v.machine.harts[0]!, vector: Number(asm.symbols.get("vector")!), user: Number(asm.symbols.get("user")!), traps };
}

describe("native entries", () => {
  it("run at the trap vector in S-mode after the hardware trap entry, and leave through sret", () => {
    const { v, h, vector, traps } = boot();
    const seen: { cause: number; sepc: number; priv: number; a7: bigint }[] = [];
    h.registerNative(vector, (hart) => {
      seen.push({ cause: hart.csrLo[CSR.scause]!, sepc: hart.csrLo[CSR.sepc]!, priv: hart.priv, a7: hart.x(17) });
      hart.setX(10, hart.x(10) + 1n);
      hart.csrLo[CSR.sepc] = (hart.csrLo[CSR.sepc]! + 4) | 0;
      hart.sret();
    });
    const r = v.machine.run({ maxInsns: 10_000 });
    expect(r.reason).toBe("pass");
    expect(seen).toHaveLength(3);
    expect(seen.every((s) => s.cause === 8 && s.priv === PRV_S && s.a7 === 64n)).toBe(true);
    expect(new Set(seen.map((s) => s.sepc)).size).toBe(3);
    expect(h.x(10)).toBe(3n);
    expect(traps.map((t) => [t.cause, t.from, t.to])).toEqual([[8, "U", "S"], [8, "U", "S"], [8, "U", "S"]]);
  });

  it("count as one retired instruction each", () => {
    const a = boot();
    a.h.registerNative(a.vector, (hart) => { hart.csrLo[CSR.sepc] = (hart.csrLo[CSR.sepc]! + 4) | 0; hart.sret(); });
    const withNative = a.v.machine.run({ maxInsns: 10_000 }).icount;
    expect(withNative).toBeGreaterThan(3);
    const b = boot();
    b.h.registerNative(b.vector, (hart) => { hart.csrLo[CSR.sepc] = (hart.csrLo[CSR.sepc]! + 4) | 0; hart.sret(); });
    expect(b.v.machine.run({ maxInsns: 10_000 }).icount).toBe(withNative);
  });

  // The machine skips the harts' decode-cache checks only on pages with no decoded instructions.
  it("see their own bus write over an instruction already run: the hart runs the new one", () => {
    const { v, h, vector, user } = boot();
    const LI_A7_65 = (65 << 20) | (17 << 7) | 0x13; // addi a7, x0, 65 over `li a7, 64`
    const seen: bigint[] = [];
    h.registerNative(vector, (hart) => {
      seen.push(hart.x(17));
      if (seen.length === 1) {
        v.machine.bus.write(user + 0x100000, 4, 0x12345678); // a page with no decoded instructions
        v.machine.bus.write(user, 4, LI_A7_65);
        hart.csrLo[CSR.sepc] = user | 0; // run the patched instruction
      } else {
        hart.csrLo[CSR.sepc] = (hart.csrLo[CSR.sepc]! + 4) | 0;
      }
      hart.sret();
    });
    expect(v.machine.run({ maxInsns: 10_000 }).reason).toBe("pass");
    expect(seen).toEqual([64n, 65n, 65n, 65n]);
  });

  it("refuse a misaligned or duplicate address", () => {
    const { h, vector } = boot();
    h.registerNative(vector, (hart) => hart.sret());
    expect(() => h.registerNative(vector, (hart) => hart.sret())).toThrow(RangeError);
    expect(() => h.registerNative(vector + 1, (hart) => hart.sret())).toThrow(/aligned/);
  });

  it("are a host error when they return without leaving, naming the pc", () => {
    const { v, h, vector } = boot();
    h.registerNative(vector, () => {});
    expect(() => v.machine.run({ maxInsns: 10_000 })).toThrow(/returned without leaving/);
  });
});
