/**
 * Lockstep reference check: the bare-metal arm64 programs run under QEMU one instruction per
 * translation block, logging the CPU state before each one:
 *   qemu-system-aarch64 -M virt -cpu cortex-a57 -singlestep -d cpu,nochain -D LOG -kernel ELF
 * and on MultiOS one step at a time (a step is one retired instruction or one exception taken,
 * which is what QEMU logs). Before every step PC, X0-X30, SP and PSTATE must be the same, with one
 * known difference: QEMU 7.2 clears NZCV on exception entry, MultiOS leaves it unchanged (as the
 * architecture and KVM do), so from an exception entry until the flags agree again NZCV is not
 * compared (SPSR_EL1 still records the same flags on both).
 * Skips (with a printed reason) when QEMU or the GNU toolchain is not installed.
 *
 * QEMU 7.2's AArch64 `-d cpu` block, as parsed here:
 *    PC=0000000040080000 X00=0000000000000000 X01=0000000000000000
 *   X02=... (three registers a line) ... X29=... X30=...  SP=0000000000000000
 *   PSTATE=400003c5 -Z-- EL1h
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bootBareArm64, createArm64Virt } from "../../boot/arm64/virt.js";
import { assembleFixture, haveGnu, haveQemu, QEMU } from "../fixtures/arm64/support.js";

const version = haveQemu ? spawnSync(QEMU, ["--version"], { encoding: "utf8" }).stdout : "";
if (!haveQemu || !haveGnu) console.log("skipping the arm64 lockstep test: qemu-system-aarch64 or aarch64-linux-gnu-as/ld is not installed");

/** One guest instruction per TB: `-singlestep` up to QEMU 8.0, then `-accel tcg,one-insn-per-tb=on`. */
function oneInsnPerTb(text: string): string[] {
  const m = /version (\d+)\.(\d+)/.exec(text);
  const newer = m !== null && (Number(m[1]) > 8 || (Number(m[1]) === 8 && Number(m[2]) >= 1));
  return newer ? ["-accel", "tcg,one-insn-per-tb=on"] : ["-singlestep"];
}

interface QemuStep { pc: bigint; x: bigint[]; sp: bigint; pstate: number }

/** Parses the log into states, dropping a block logged twice in a row (re-entered after an exit request). */
function parseCpuLog(log: string): QemuStep[] {
  const steps: QemuStep[] = [];
  let cur: QemuStep | undefined;
  for (const line of log.split("\n")) {
    const pc = /^ PC=([0-9a-f]{16})/.exec(line);
    if (pc) {
      cur = { pc: BigInt(`0x${pc[1]}`), x: [], sp: 0n, pstate: 0 };
      steps.push(cur);
    }
    if (!cur) continue;
    for (const m of line.matchAll(/X(\d\d)=([0-9a-f]{16})/g)) cur.x[Number(m[1])] = BigInt(`0x${m[2]}`);
    const sp = /SP=([0-9a-f]{16})/.exec(line);
    if (sp) cur.sp = BigInt(`0x${sp[1]}`);
    const ps = /^PSTATE=([0-9a-f]{8})/.exec(line);
    if (ps) cur.pstate = Number.parseInt(ps[1]!, 16);
  }
  const same = (a: QemuStep, b: QemuStep): boolean => a.pc === b.pc && a.sp === b.sp && a.pstate === b.pstate && a.x.every((v, i) => v === b.x[i]);
  return steps.filter((s, i) => i === 0 || !same(s, steps[i - 1]!));
}

const PROGRAMS = ["alu", "memory", "exceptions"];

describe.skipIf(!haveQemu || !haveGnu)("arm64 lockstep with qemu-system-aarch64 -d cpu", () => {
  it.each(PROGRAMS)("%s: PC, X0-X30, SP and PSTATE agree before every step", (name) => {
    const { path, elf } = assembleFixture(name);
    const log = `${path}.cpu.log`;
    const q = spawnSync(QEMU, ["-M", "virt", "-cpu", "cortex-a57", "-display", "none", "-monitor", "none", "-serial", "null",
      ...oneInsnPerTb(version), "-d", "cpu,nochain", "-D", log, "-kernel", path], { input: "", timeout: 60_000 });
    expect(q.status).toBe(0);
    const steps = parseCpuLog(readFileSync(log, "utf8"));
    expect(steps.length).toBeGreaterThan(100);
    const v = createArm64Virt();
    bootBareArm64(v, elf);
    const c = v.cpu;
    // X0 at entry is not architectural: MultiOS passes the DTB address, QEMU 7.2 passes 0 for an ELF.
    c.setX(0, steps[0]!.x[0]!);
    let nzcvDiffers = false;
    c.onTrap = () => { c.stopAt = 0; nzcvDiffers = true; };
    for (let k = 0; k < steps.length; k++) {
      const s = steps[k]!;
      const ours = { pc: c.pc, sp: c.x(32), pstate: c.pstate, x: Array.from({ length: 31 }, (_, i) => c.x(i)) };
      const where = `step ${k}, pc 0x${s.pc.toString(16)}`;
      expect(ours.pc, where).toBe(s.pc);
      expect(ours.x, where).toEqual(s.x.slice(0, 31));
      expect(ours.sp, where).toBe(s.sp);
      if (nzcvDiffers && (ours.pstate >>> 28) === (s.pstate >>> 28)) nzcvDiffers = false;
      const mask = nzcvDiffers ? 0x0fffffff : 0xffffffff;
      expect(((ours.pstate & mask) >>> 0).toString(16), where).toBe(((s.pstate & mask) >>> 0).toString(16));
      if (c.halted) break;
      c.run(c.icount + 1);
    }
  });
});
