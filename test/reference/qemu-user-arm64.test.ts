/**
 * Lockstep with qemu-aarch64 (user mode): a static Linux program (test/fixtures/arm64/user.S) runs
 * under `qemu-aarch64 -singlestep -d cpu,nochain`, and at EL0 on arm64-virt with the MMU on: its
 * segments and stack mapped by host-built 4 KiB tables (48-bit VA) at the addresses QEMU used, and
 * a native entry at the lower-EL synchronous vector serving write and exit_group. Before every EL0
 * instruction PC, X0-X30, SP and PSTATE must agree; the console bytes and exit status too.
 * Skips (with a printed reason) when qemu-aarch64 or the GNU toolchain is missing.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createArm64Virt } from "../../boot/arm64/virt.js";
import { parseElf, EM_AARCH64 } from "../../boot/elf.js";
import { LOAD } from "../../emulator/arch/arm64/defs.js";
import { REG, writeSysreg } from "../../emulator/arch/arm64/sysregs.js";
import { AS, haveGnu, LD, parseCpuLog } from "../fixtures/arm64/support.js";

const QEMU_USER = "qemu-aarch64";
const haveUser = spawnSync(QEMU_USER, ["--version"]).status === 0;
if (!haveUser || !haveGnu) console.log("skipping the qemu-aarch64 lockstep test: qemu-aarch64 or aarch64-linux-gnu-as/ld is not installed");

const L0 = 0x40300000, VBAR = 0x40200000;
/** Leaf attributes: page, Attr1 (Normal), AP = 01 (EL0 and EL1 RW), inner shareable, AF. */
const USER_PAGE = 0x747n;
/** Leaf attributes: page, Attr1, AP = 00 (EL1 only), inner shareable, AF. */
const KERNEL_PAGE = 0x707n;

describe.skipIf(!haveUser || !haveGnu)("a static user program in lockstep with qemu-aarch64", () => {
  it("user.S: every EL0 step, the output and the exit status agree", () => {
    const dir = mkdtempSync(join(tmpdir(), "multios-arm64-user-"));
    const src = new URL("../fixtures/arm64/user.S", import.meta.url).pathname;
    expect(spawnSync(AS, ["-o", `${dir}/user.o`, src]).status).toBe(0);
    expect(spawnSync(LD, ["-static", "-o", `${dir}/user.elf`, `${dir}/user.o`]).status).toBe(0);
    const q = spawnSync(QEMU_USER, ["-singlestep", "-d", "cpu,nochain", "-D", `${dir}/user.log`, `${dir}/user.elf`], { encoding: "latin1", timeout: 60_000 });
    const steps = parseCpuLog(readFileSync(`${dir}/user.log`, "utf8"));
    expect(steps.length).toBeGreaterThan(50);

    const v = createArm64Virt({ gic: false });
    const c = v.cpu, bus = v.machine.bus;
    // Page tables: L0 at L0, further tables allocated after it.
    let nextTable = L0 + 0x1000;
    let nextFrame = 0x40500000;
    const map = (va: bigint, pa: number, attrs: bigint): void => {
      let table = L0;
      for (let level = 0; level < 3; level++) {
        const slot = table + Number((va >> BigInt(39 - 9 * level)) & 511n) * 8;
        let d = bus.read64(slot)!;
        if ((d & 3n) === 0n) {
          d = BigInt(nextTable) | 3n;
          nextTable += 0x1000;
          bus.write64(slot, d);
        }
        table = Number(d & 0xfffffffff000n);
      }
      bus.write64(table + Number((va >> 12n) & 511n) * 8, BigInt(pa) | attrs);
    };
    const image = parseElf(new Uint8Array(readFileSync(`${dir}/user.elf`)), EM_AARCH64);
    for (const s of image.segments) {
      for (let off = 0; off < s.memsz + Number(s.vaddr & 0xfffn); off += 0x1000) {
        const pageVa = (s.vaddr & ~0xfffn) + BigInt(off);
        map(pageVa, nextFrame, USER_PAGE);
        const pageBytes = new Uint8Array(0x1000);
        for (let k = 0; k < 0x1000; k++) {
          const at = Number(pageVa) + k - Number(s.vaddr);
          if (at >= 0 && at < s.filesz) pageBytes[k] = s.bytes[at]!;
        }
        bus.load(nextFrame, pageBytes);
        nextFrame += 0x1000;
      }
    }
    const sp = steps[0]!.sp;
    for (const page of [(sp & ~0xfffn) - 0x1000n, sp & ~0xfffn]) {
      map(page, nextFrame, USER_PAGE);
      nextFrame += 0x1000;
    }
    map(BigInt(VBAR), VBAR, KERNEL_PAGE);

    let out = "";
    let exitCode = -1;
    c.registerNative(VBAR + 0x400, (cpu) => {
      const nr = Number(cpu.x(8));
      if (nr === 64) {
        const base = cpu.x(1), len = Number(cpu.x(2));
        for (let k = 0; k < len; k++) {
          const va = base + BigInt(k);
          const pa = cpu.mmu.translate(Number(va & 0xffffffffn) | 0, Number(va >> 32n) | 0, LOAD, 0);
          bus.read(pa, 1);
          out += String.fromCharCode(bus.lo);
        }
        cpu.setX(0, BigInt(len));
        cpu.eret();
      } else {
        exitCode = Number(cpu.x(0) & 0xffn);
        v.machine.requestFinish(exitCode === 0 ? "pass" : "fail", exitCode);
        cpu.eret();
      }
    });
    writeSysreg(c, REG.VBAR_EL1, BigInt(VBAR));
    writeSysreg(c, REG.MAIR_EL1, 0xff00n);
    writeSysreg(c, REG.TCR_EL1, 0x500803510n); // T0SZ 16, 4K, WB inner shareable, EPD1, IPS 48 bits
    writeSysreg(c, REG.TTBR0_EL1, BigInt(L0));
    writeSysreg(c, REG.SCTLR_EL1, 0x00c50838n | 1n | 4n | 0x1000n);
    writeSysreg(c, REG.SP_EL0, sp);
    writeSysreg(c, REG.ELR_EL1, image.entry);
    writeSysreg(c, REG.SPSR_EL1, BigInt(steps[0]!.pstate));
    c.eret();

    let k = 0;
    for (; k < steps.length; k++) {
      const s = steps[k]!;
      const where = `step ${k}, pc 0x${s.pc.toString(16)}`;
      expect(c.pc, where).toBe(s.pc);
      expect(Array.from({ length: 31 }, (_, i) => c.x(i)), where).toEqual(s.x.slice(0, 31));
      expect(c.x(32), where).toBe(s.sp);
      expect((c.pstate >>> 0).toString(16), where).toBe(s.pstate.toString(16));
      // One EL0 instruction; an SVC runs through the native handler back to EL0.
      c.run(c.icount + 1);
      for (let n = 0; n < 10 && c.el !== 0 && !c.halted; n++) c.run(c.icount + 1);
      if (c.halted) break;
    }
    expect(k).toBe(steps.length - 1);
    expect(out).toBe(q.stdout);
    expect(exitCode).toBe(q.status);
  });
});
