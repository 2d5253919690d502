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

/** The program built with `cc`, QEMU's log and output, and a MultiOS machine in QEMU's initial state. */
function prepare(cc: string, jit: boolean): { built: ReturnType<typeof runIn>; log: QemuStep[]; pc: ReturnType<typeof createX86Pc> } {
  const src = readFileSync(join(import.meta.dirname, "../fixtures/x86_64/lockstep-prog.c"), "utf8");
  const built = runIn({ "p.c": src }, [
    [cc, ["-O2", "-ffreestanding", "-fno-pic", "-fno-stack-protector", "-fcf-protection=none", "-mgeneral-regs-only", "-mpopcnt", "-mno-red-zone", "-nostdlib", "-static", "-Wl,-Ttext-segment=0x400000", "-o", "p.elf", "p.c"]],
    [QEMU, ["-singlestep", "-d", "cpu,nochain", "-D", "$DIR/q.log", "$DIR/p.elf"]],
  ]);
  const log = parseLog(new TextDecoder().decode(built.read("q.log")));
  const pc = createX86Pc({ ramSize: 128 << 20, noJit: !jit });
  bootBareX86(pc, built.read("p.elf"));
  const c = pc.cpu;
  if (jit) c.jit!.hot = 1;
  const bus = pc.machine.bus;
  if (log.length > 0) {
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
  }
  return { built, log, pc };
}

/** Is the instruction at RIP a SYSCALL (0F 05)? */
function atSyscall(pc: ReturnType<typeof createX86Pc>, rip: bigint): boolean {
  pc.machine.bus.read(Number(rip), 2);
  return (pc.machine.bus.lo & 0xffff) === 0x050f;
}

/**
 * SYSCALL as qemu-user services it: write(1, buf, n) appends to the output, exit(status) returns
 * the status; RCX and R11 unchanged; RIP moves past it and it counts as one instruction.
 */
function serviceSyscall(pc: ReturnType<typeof createX86Pc>, out: { text: string }): number | undefined {
  const c = pc.cpu, bus = pc.machine.bus;
  const n = c.reg(0);
  let status: number | undefined;
  if (n === 1n) {
    const len = Number(c.reg(2));
    for (let i = 0; i < len; i++) { bus.read(Number(c.reg(6)) + i, 1); out.text += String.fromCharCode(bus.lo & 0xff); }
    c.setReg(0, BigInt(len));
  } else if (n === 60n) status = Number(c.reg(7) & 0xffn);
  c.setRip(c.rip + 2n);
  c.icount++;
  return status;
}

/** Differences between the CPU's state and QEMU's logged state `q` (RIP, registers, status flags). */
function diffState(pc: ReturnType<typeof createX86Pc>, q: QemuStep): string[] {
  const c = pc.cpu;
  const diffs: string[] = [];
  if (c.rip !== q.rip) diffs.push(`rip ${c.rip.toString(16)} want ${q.rip.toString(16)}`);
  for (let r = 0; r < 16; r++) if (c.reg(r) !== q.regs[r]) diffs.push(`${NAMES[r]!.trim().toLowerCase()} ${c.reg(r).toString(16)} want ${q.regs[r]!.toString(16)}`);
  if ((c.rflags & STATUS) !== (q.rflags & STATUS)) diffs.push(`rflags ${(c.rflags & STATUS).toString(16)} want ${(q.rflags & STATUS).toString(16)}`);
  return diffs;
}

describe.skipIf(skip !== undefined)("x86_64 lockstep with qemu-x86_64", () => {
  it.each(COMPILERS)("built with %s: agrees with QEMU on RIP, every general register and the status flags before every instruction", (cc) => {
    const { built, log, pc } = prepare(cc, false);
    try {
      expect(log.length).toBeGreaterThan(1000);
      const c = pc.cpu;
      const out = { text: "" };
      let status: number | undefined;
      const mismatches: string[] = [];
      let k = 0;
      for (; k < log.length && status === undefined; k++) {
        const q = log[k]!;
        const diffs = diffState(pc, q);
        if (diffs.length > 0) {
          mismatches.push(`before instruction ${k} (rip ${q.rip.toString(16)}): ${diffs.join(", ")}`);
          break;
        }
        if (atSyscall(pc, c.rip)) { status = serviceSyscall(pc, out); continue; }
        c.run(c.icount + 1);
      }
      expect(mismatches).toEqual([]);
      expect(out.text).toBe(built.stdout);
      expect(status).toBe(built.status);
      expect(k).toBe(log.length);
    } finally {
      cleanup(built.dir);
    }
  });

  it.each(COMPILERS)("built with %s and run as translated blocks (jit.ts) between system calls: agrees with QEMU at every SYSCALL after exactly QEMU's instruction count", (cc) => {
    const { built, log, pc } = prepare(cc, true);
    try {
      expect(log.length).toBeGreaterThan(1000);
      const c = pc.cpu;
      const out = { text: "" };
      let status: number | undefined;
      const mismatches: string[] = [];
      let k = 0, calls = 0;
      while (k < log.length && status === undefined) {
        // Run, in one slice, every instruction QEMU ran up to its next SYSCALL.
        let j = k;
        while (j < log.length && !atSyscall(pc, log[j]!.rip)) j++;
        if (j === log.length) break;
        c.run(c.icount + (j - k));
        const diffs = diffState(pc, log[j]!);
        if (diffs.length > 0) {
          mismatches.push(`at the SYSCALL before instruction ${j} (rip ${log[j]!.rip.toString(16)}): ${diffs.join(", ")}`);
          break;
        }
        status = serviceSyscall(pc, out);
        calls++;
        k = j + 1;
      }
      expect(mismatches).toEqual([]);
      expect(calls).toBeGreaterThan(1);
      expect(c.jit!.built).toBeGreaterThan(10);
      expect(out.text).toBe(built.stdout);
      expect(status).toBe(built.status);
    } finally {
      cleanup(built.dir);
    }
  });
});
