/**
 * The riscv64 decode cache's per-bucket count of decoded pages: a RAM write skips the harts' checks
 * only for pages that certainly hold no decoded instructions, so a write to code (from a native
 * entry, as the kernel writes RAM) is still seen by the next fetch.
 */
import { describe, expect, it } from "vitest";
import { bootBare, createRiscvVirt } from "../boot/riscv64/virt.js";
import { CodeCache } from "../emulator/arch/riscv64/code-cache.js";
import { CSR } from "../emulator/arch/riscv64/defs.js";
import { DecodedPage } from "../emulator/arch/riscv64/decode.js";
import { assembleRiscv64 } from "../tools/asm/riscv64/index.js";

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
    mret
.option norvc
user:
patch:
    li      a0, 1
    ecall
1:  j       1b
.bss
.align 12
vector: .zero 4096
`;

/** addi a0, x0, 2 */
const LI_A0_2 = (2 << 20) | (10 << 7) | 0x13;

describe("the decode cache's page buckets", () => {
  it("say a page may hold decoded instructions exactly while some page of its bucket does", () => {
    const c = new CodeCache();
    const a = 0x80010, b = a + 4096; // same bucket (page number mod 4096)
    expect(c.mayHoldDecoded(a)).toBe(false);
    c.addDecoded(a, new DecodedPage());
    c.addDecoded(b, new DecodedPage());
    expect([c.mayHoldDecoded(a), c.mayHoldDecoded(b), c.mayHoldDecoded(a + 1)]).toEqual([true, true, false]);
    expect(c.dropDecoded(a)).toBe(true);
    expect(c.dropDecoded(a)).toBe(false);
    expect(c.mayHoldDecoded(a)).toBe(true);
    c.dropDecoded(b);
    expect(c.mayHoldDecoded(a)).toBe(false);
  });

  it("a native entry's bus write over an instruction it already ran is what the hart runs next", () => {
    const asm = assembleRiscv64(PROGRAM);
    const v = createRiscvVirt();
    bootBare(v, asm.elf);
    const h = v.machine.harts[0]!;
    const patch = Number(asm.symbols.get("patch")!);
    const seen: bigint[] = [];
    h.registerNative(Number(asm.symbols.get("vector")!), (hart) => {
      seen.push(hart.x(10));
      if (seen.length === 1) {
        v.machine.bus.write(patch + 0x100000, 4, 0x12345678); // a page with no decoded instructions
        v.machine.bus.write(patch, 4, LI_A0_2);
        hart.csrLo[CSR.sepc] = patch | 0; // run the patched instruction
      } else {
        v.machine.requestFinish("pass", 0);
        hart.csrLo[CSR.sepc] = (hart.csrLo[CSR.sepc]! + 4) | 0;
      }
      hart.sret();
    });
    expect(v.machine.run({ maxInsns: 10_000 }).reason).toBe("pass");
    expect(seen).toEqual([1n, 2n]);
  });
});
