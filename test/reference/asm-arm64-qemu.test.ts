/**
 * An executable from the AArch64 assembler boots under QEMU's `virt` board the way the docs say:
 * `-kernel` loads its PT_LOADs at their p_paddr (default base 0x4008_0000), enters `_start` at
 * EL1, the PL011 at 0x0900_0000 prints, and PSCI SYSTEM_OFF over HVC ends the run.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { assembleArm64 } from "../../tools/asm/arm64/index.js";

const QEMU = "qemu-system-aarch64";
const have = spawnSync(QEMU, ["--version"]).status === 0;
if (!have) console.log(`skipping: ${QEMU} not installed`);

const dir = have ? mkdtempSync(join(tmpdir(), "multios-asm-arm64-qemu-")) : "";
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

const PROGRAM = `
.equ UART, 0x09000000
.equ PSCI_SYSTEM_OFF, 0x84000008
.macro putc reg
  strb \\reg, [x1]
.endm
.globl _start
_start:
  mrs x0, currentel
  lsr x0, x0, #2
  ldr x1, =UART
  add w0, w0, #'0'
  putc w0
  adrp x2, msg
  add x2, x2, :lo12:msg
1: ldrb w3, [x2], #1
  cbz w3, 2f
  putc w3
  b 1b
2: adr x4, _start
  ldr x5, =_start
  cmp x4, x5
  b.ne .
  ldr x0, =PSCI_SYSTEM_OFF
  hvc #0
  b .
.section .rodata
msg: .asciz " hello from arm64\\n"
`;

describe.skipIf(!have)("the assembled ELF under qemu-system-aarch64 -M virt -kernel", () => {
  it("is loaded at its addresses, starts at EL1, prints through the PL011 and powers off through PSCI", () => {
    const file = join(dir, "hello.elf");
    writeFileSync(file, assembleArm64(PROGRAM).elf);
    const r = spawnSync(QEMU, ["-M", "virt", "-cpu", "cortex-a57", "-nographic", "-monitor", "none", "-kernel", file], { encoding: "utf8", timeout: 20000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe("1 hello from arm64\n");
  });
});
