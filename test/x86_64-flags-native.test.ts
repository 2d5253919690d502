/**
 * RFLAGS and results of the integer instructions, checked against the host CPU: the host is
 * x86_64, so a generated program (test/fixtures/x86_64/flag-cases.ts) runs natively and on MultiOS
 * and every case must agree on RAX, RCX, RDX and the status flags the SDM defines for it.
 * Skips (with the reason) when the host is not x86_64 Linux or GNU as/ld are missing.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync, mkdtempSync, rmSync, chmodSync } from "node:fs";
import { tmpdir, arch, platform } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bootBareX86, createX86Pc } from "../boot/x86_64/pc.js";
import { buildAsm, missingBinutils } from "./fixtures/x86_64/build.js";
import { generateFlagProgram, STATUS } from "./fixtures/x86_64/flag-cases.js";

const skip = missingBinutils ?? (arch() !== "x64" || platform() !== "linux" ? "the host is not x86_64 Linux" : undefined);
if (skip) console.log(`skipping the native flags cross-check: ${skip}`);

describe.skipIf(skip !== undefined)("integer instructions agree with the host CPU", () => {
  it("every case: RAX, RCX, RDX and the defined status flags", () => {
    const { source, cases } = generateFlagProgram();
    const { elf, symbols } = buildAsm(source, 0x400000);
    const dir = mkdtempSync(join(tmpdir(), "multios-x86-native-"));
    let native: Buffer;
    try {
      writeFileSync(join(dir, "flags"), elf);
      chmodSync(join(dir, "flags"), 0o755);
      const r = spawnSync(join(dir, "flags"), [], { maxBuffer: 64 << 20 });
      expect(r.status).toBe(0);
      native = r.stdout;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(native.length).toBe(cases.length * 32);

    const pc = createX86Pc({ ramSize: 64 << 20 });
    bootBareX86(pc, elf);
    pc.cpu.registerNative(Number(symbols.get("done")!), () => pc.machine.requestExit(0));
    const run = pc.machine.run({ maxInsns: 50_000_000 });
    expect(run.reason).toBe("exit");
    const results = Number(symbols.get("results")!);
    const bus = pc.machine.bus;
    const mismatches: string[] = [];
    cases.forEach((c, k) => {
      const at = results + 32 * k;
      const got = [0, 8, 16, 24].map((o) => bus.read64(at + o)!);
      const want = [0, 8, 16, 24].map((o) => native.readBigUInt64LE(32 * k + o));
      const fmask = BigInt(STATUS & ~c.undefinedFlags);
      const bad: string[] = [];
      if (!c.skipRax && got[0] !== want[0]) bad.push(`rax ${got[0]!.toString(16)} want ${want[0]!.toString(16)}`);
      if (got[1] !== want[1]) bad.push(`rcx ${got[1]!.toString(16)} want ${want[1]!.toString(16)}`);
      if (got[2] !== want[2]) bad.push(`rdx ${got[2]!.toString(16)} want ${want[2]!.toString(16)}`);
      if ((got[3]! & fmask) !== (want[3]! & fmask)) bad.push(`flags ${(got[3]! & fmask).toString(16)} want ${(want[3]! & fmask).toString(16)}`);
      if (bad.length > 0) mismatches.push(`${c.name}: ${bad.join(", ")}`);
    });
    expect(mismatches.slice(0, 40)).toEqual([]);
  });
});
