/**
 * Lockstep reference check: a freestanding C program (test/fixtures/x86_64/lockstep-prog.c, built
 * with gcc and with clang, -O2 -mgeneral-regs-only -mpopcnt -mno-red-zone) runs under QEMU user mode, one instruction per
 * translation block, logging the CPU state before each one:
 *   qemu-x86_64 -singlestep -d cpu,nochain -D LOG PROGRAM
 * and on MultiOS one instruction at a time from the same registers (its stack mapped at QEMU's
 * address). Before every instruction RIP, the 16 general registers and the status flags must agree,
 * and both must print the same output and exit with the same status. SYSCALL is serviced as
 * qemu-user does (write and exit; RCX and R11 unchanged).
 * Skips (with a printed reason) when QEMU or gcc is not installed.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bootBareX86, createX86Pc } from "../../boot/x86_64/pc.js";
import { FIRMWARE } from "../../boot/x86_64/memory-map.js";
import { cleanup, missingGcc, runIn } from "../fixtures/x86_64/build.js";

const QEMU = "qemu-x86_64";
const haveQemu = spawnSync(QEMU, ["--version"], { encoding: "utf8" }).status === 0;
const skip = !haveQemu ? `${QEMU} is not installed (apt-get install qemu-user)` : missingGcc;
if (skip) console.log(`skipping the x86_64 lockstep test: ${skip}`);
const haveClang = spawnSync("clang", ["--version"], { encoding: "utf8" }).status === 0;
if (!skip && !haveClang) console.log("skipping the clang half of the x86_64 lockstep test: clang is not installed");
/** The compilers to build the program with (clang -O2 emits a different instruction mix). */
const COMPILERS = haveClang ? ["gcc", "clang"] : ["gcc"];

/** The state QEMU logged before one instruction. */
interface QemuStep {
  rip: bigint;
  regs: bigint[];
  rflags: number;
}

const NAMES = ["RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI", "R8 ", "R9 ", "R10", "R11", "R12", "R13", "R14", "R15"];

/** Parses a `-d cpu` log into one state per logged block. */
function parseLog(text: string): QemuStep[] {
  const steps: QemuStep[] = [];
  for (const block of text.split(/(?=^RAX=)/m)) {
    if (!block.startsWith("RAX=")) continue;
    const regs = NAMES.map((n) => BigInt(`0x${new RegExp(`${n.replace(/ /g, " ")}=([0-9a-f]{16})`).exec(block)![1]}`));
    const rip = BigInt(`0x${/RIP=([0-9a-f]{16})/.exec(block)![1]}`);
    const rflags = parseInt(/RFL=([0-9a-f]+)/.exec(block)![1]!, 16);
    steps.push({ rip, regs, rflags });
  }
  return steps;
}

const STATUS = 0x8d5;

describe.skipIf(skip !== undefined)("x86_64 lockstep with qemu-x86_64", () => {
  it.each(COMPILERS)("built with %s: agrees with QEMU on RIP, every general register and the status flags before every instruction", (cc) => {
    const src = readFileSync(join(import.meta.dirname, "../fixtures/x86_64/lockstep-prog.c"), "utf8");
    const built = runIn({ "p.c": src }, [
      [cc, ["-O2", "-ffreestanding", "-fno-pic", "-fno-stack-protector", "-fcf-protection=none", "-mgeneral-regs-only", "-mpopcnt", "-mno-red-zone", "-nostdlib", "-static", "-Wl,-Ttext-segment=0x400000", "-o", "p.elf", "p.c"]],
      [QEMU, ["-singlestep", "-d", "cpu,nochain", "-D", "$DIR/q.log", "$DIR/p.elf"]],
    ]);
    try {
      const qemuOut = built.stdout;
      const qemuStatus = built.status;
      const log = parseLog(new TextDecoder().decode(built.read("q.log")));
      expect(log.length).toBeGreaterThan(1000);
      const elf = built.read("p.elf");

      const pc = createX86Pc({ ramSize: 128 << 20 });
      bootBareX86(pc, elf);
      const c = pc.cpu;
      const bus = pc.machine.bus;
      // QEMU's stack lives near 0x40_0080_0000: map that 4 MiB (two 2 MiB pages) onto RAM at 0x4000000.
      const rsp0 = log[0]!.regs[4]!;
      const pd = 0x3e00000;
      bus.write64(FIRMWARE.PDPT + 8 * Number((rsp0 >> 30n) & 511n), BigInt(pd) | 3n);
      const pde = Number((rsp0 >> 21n) & 511n);
      bus.write64(pd + 8 * (pde - 1), 0x4000000n | 0x83n);
      bus.write64(pd + 8 * pde, 0x4200000n | 0x83n);
      c.mmu.writeCr3(c.mmu.cr3Lo, 0);
      log[0]!.regs.forEach((v, i) => c.setReg(i, v));
      c.rflags = log[0]!.rflags;

      let out = "";
      let status: number | undefined;
      const mismatches: string[] = [];
      let k = 0;
      for (; k < log.length && status === undefined; k++) {
        const q = log[k]!;
        const diffs: string[] = [];
        if (c.rip !== q.rip) diffs.push(`rip ${c.rip.toString(16)} want ${q.rip.toString(16)}`);
        for (let r = 0; r < 16; r++) if (c.reg(r) !== q.regs[r]) diffs.push(`${NAMES[r]!.trim().toLowerCase()} ${c.reg(r).toString(16)} want ${q.regs[r]!.toString(16)}`);
        if ((c.rflags & STATUS) !== (q.rflags & STATUS)) diffs.push(`rflags ${(c.rflags & STATUS).toString(16)} want ${(q.rflags & STATUS).toString(16)}`);
        if (diffs.length > 0) {
          mismatches.push(`before instruction ${k} (rip ${q.rip.toString(16)}): ${diffs.join(", ")}`);
          break;
        }
        // SYSCALL as qemu-user services it: write(1, buf, n) and exit(status); RCX and R11 unchanged.
        bus.read(Number(c.rip), 2);
        if ((bus.lo & 0xffff) === 0x050f) {
          const n = c.reg(0);
          if (n === 1n) {
            const len = Number(c.reg(2));
            for (let i = 0; i < len; i++) { bus.read(Number(c.reg(6)) + i, 1); out += String.fromCharCode(bus.lo & 0xff); }
            c.setReg(0, BigInt(len));
          } else if (n === 60n) status = Number(c.reg(7) & 0xffn);
          c.setRip(c.rip + 2n);
          c.icount++;
          continue;
        }
        c.run(c.icount + 1);
      }
      expect(mismatches).toEqual([]);
      expect(out).toBe(qemuOut);
      expect(status).toBe(qemuStatus);
      expect(k).toBe(log.length);
    } finally {
      cleanup(built.dir);
    }
  });
});
