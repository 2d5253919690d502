/**
 * Lockstep reference check: `examples/isa-riscv64.S` (every RV64IMAC integer instruction with edge
 * operands) runs under QEMU, one instruction per translation block, logging the CPU state before
 * each one:
 *   qemu-system-riscv64 -M virt -bios none -singlestep -d cpu,nochain -D LOG -kernel ELF
 * and on MultiOS one instruction at a time. Before every instruction the pc and x1..x31 must be the
 * same, and both must reach the SiFive test finisher after the same number of instructions.
 * Skips (with a printed reason) when QEMU is not installed.
 *
 * QEMU 7.2's `-d cpu` block, as parsed here (one per executed TB; `nochain` makes every TB go
 * through the logging path):
 *    pc       0000000080000000
 *    ...
 *    x8/s0    0000000000000000 x9/s1    0000000000000000 x10/a0   0000000000000000 x11/a1   ...
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bootBare, createRiscvVirt } from "../../boot/riscv64/virt.js";
import type { Hart } from "../../emulator/arch/riscv64/hart.js";
import { assembleRiscv64 } from "../../tools/asm/riscv64/index.js";
import { GPR_ABI_NAMES } from "../../tools/asm/riscv64/registers.js";

const QEMU = "qemu-system-riscv64";
const version = spawnSync(QEMU, ["--version"], { encoding: "utf8" });
const have = version.status === 0;
if (!have) console.log(`skipping the RV64 lockstep test: ${QEMU} is not installed (apt-get install qemu-system-misc)`);

/**
 * One guest instruction per TB: `-singlestep` up to QEMU 8.0; from 8.1 it is spelled
 * `-accel tcg,one-insn-per-tb=on` (and `-singlestep` is gone since 9.0).
 */
function oneInsnPerTb(versionText: string): string[] {
  const m = /version (\d+)\.(\d+)/.exec(versionText);
  const newer = m !== null && (Number(m[1]) > 8 || (Number(m[1]) === 8 && Number(m[2]) >= 1));
  return newer ? ["-accel", "tcg,one-insn-per-tb=on"] : ["-singlestep"];
}

/** Where `-bios none -kernel` starts the guest (after QEMU's reset ROM at 0x1000). */
const ENTRY = 0x8000_0000n;
/**
 * Registers QEMU's reset ROM (hw/riscv/boot.c, riscv_setup_rom_reset_vec) leaves behind at the
 * entry: t0 = the entry address it jumped through, a2 = the address of its fw_dynamic_info. They
 * are not part of the boot contract (a0 = hart id, a1 = DTB address), so they are copied from QEMU
 * before the first step; every other register must already agree.
 */
const ROM_LEFTOVERS = [5, 12];

/** The architectural state QEMU logged before one instruction. */
interface QemuStep {
  pc: bigint;
  /** x0..x31. */
  x: bigint[];
}

/**
 * Parses a `-d cpu` log into one state per executed TB. QEMU logs a TB before entering it, and a TB
 * that takes an exit request on entry runs no instruction and is logged again when re-entered; such
 * a repeat (same pc, same registers as the block before) is dropped. No instruction of
 * isa-riscv64.S jumps to itself, so a retired instruction always changes the pc.
 * Throws on a block without all 32 registers.
 */
function parseCpuLog(log: string): QemuStep[] {
  const steps: QemuStep[] = [];
  let cur: QemuStep | undefined;
  const reg = /x(\d+)\/\w+\s+([0-9a-f]{16})/g;
  for (const line of log.split("\n")) {
    const pc = /^ pc\s+([0-9a-f]{16})$/.exec(line);
    if (pc) {
      cur = { pc: BigInt(`0x${pc[1]}`), x: [] };
      steps.push(cur);
      continue;
    }
    if (!cur) continue;
    for (const m of line.matchAll(reg)) cur.x[Number(m[1])] = BigInt(`0x${m[2]}`);
  }
  for (const s of steps) {
    if (s.x.filter((v) => v !== undefined).length !== 32) throw new Error(`QEMU log: the block at pc 0x${s.pc.toString(16)} lacks some of x0..x31`);
  }
  return steps.filter((s, i) => i === 0 || s.pc !== steps[i - 1]!.pc || s.x.some((v, r) => v !== steps[i - 1]!.x[r]));
}

const hex = (v: bigint): string => `0x${v.toString(16).padStart(16, "0")}`;

/** Describes how `h` differs from `q` (pc, then each differing register), or "" if it does not. */
function difference(h: Hart, q: QemuStep): string {
  const out: string[] = [];
  if (h.pc !== q.pc) out.push(`pc: ours ${hex(h.pc)}, QEMU ${hex(q.pc)}`);
  for (let i = 1; i < 32; i++) {
    if (h.x(i) !== q.x[i]) out.push(`x${i}/${GPR_ABI_NAMES[i]}: ours ${hex(h.x(i))}, QEMU ${hex(q.x[i]!)}`);
  }
  return out.join("; ");
}

describe.skipIf(!have)("RV64IMAC lockstep with QEMU", () => {
  const dir = have ? mkdtempSync(join(tmpdir(), "multios-lockstep-")) : "";
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it("isa-riscv64: pc and x1..x31 agree with QEMU before every instruction, and both finish after the same count", () => {
    const source = readFileSync(new URL("../../examples/isa-riscv64.S", import.meta.url), "utf8");
    const { elf } = assembleRiscv64(source, { fileName: "isa-riscv64.S" });
    const elfPath = join(dir, "isa-riscv64.elf");
    const logPath = join(dir, "isa-riscv64.log");
    writeFileSync(elfPath, elf);
    const q = spawnSync(QEMU, [
      "-M", "virt", "-bios", "none", "-display", "none", "-monitor", "none", "-serial", "null",
      ...oneInsnPerTb(version.stdout), "-d", "cpu,nochain", "-D", logPath, "-kernel", elfPath,
    ], { input: "", timeout: 20_000 });
    expect(q.error, "QEMU did not finish within 20 s").toBeUndefined();
    expect(q.status, `QEMU exit status (stderr: ${q.stderr})`).toBe(0);

    const all = parseCpuLog(readFileSync(logPath, "latin1"));
    const start = all.findIndex((s) => s.pc === ENTRY);
    expect(start, `QEMU never reached ${hex(ENTRY)}`).toBeGreaterThanOrEqual(0);
    const qemu = all.slice(start);

    const v = createRiscvVirt();
    bootBare(v, elf);
    const h = v.machine.harts[0]!;
    for (const r of ROM_LEFTOVERS) h.setX(r, qemu[0]!.x[r]!);

    let finishedAt = -1;
    for (let step = 0; step < qemu.length; step++) {
      const diff = difference(h, qemu[step]!);
      if (diff !== "") {
        const after = step === 0 ? "at the entry" : `after step ${step - 1} (the instruction at ${hex(qemu[step - 1]!.pc)})`;
        expect.fail(`state differs before step ${step}, ${after}: ${diff}`);
      }
      const r = v.machine.run({ maxInsns: h.icount + 1 });
      if (r.reason === "pass") {
        finishedAt = h.icount;
        break;
      }
      if (r.reason !== "max-insns") expect.fail(`step ${step} at ${hex(qemu[step]!.pc)}: MultiOS stopped: ${r.message}`);
    }
    expect(h.traps, "isa-riscv64.S is meant to be trap-free").toBe(0);
    expect(finishedAt, "instructions until the finisher: MultiOS (-1: never) vs QEMU").toBe(qemu.length);
  });
});
