/**
 * Independent legality oracles for the decoder fuzz suites: LLVM's disassembler (`llvm-mc
 * --disassemble`, riscv64 and aarch64) for fixed-length words, and GNU objdump for x86_64, where
 * the length of the first instruction matters too. Each is optional: `missing` says why it cannot
 * be used here (the suites skip that check and print the reason).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const runs = (tool: string, args: string[]): boolean => spawnSync(tool, args, { stdio: "ignore" }).status === 0;

/** Why `llvm-mc` cannot be used, or undefined. */
export const llvmMcMissing: string | undefined = runs("llvm-mc", ["--version"]) ? undefined : "llvm-mc is not installed";

/**
 * The indexes of `cases` (each one instruction's bytes, little-endian) that `llvm-mc --disassemble`
 * finds no instruction in, for `triple` with the features `mattr`.
 */
export function llvmInvalid(triple: string, mattr: string, cases: readonly Uint8Array[]): Set<number> {
  const input = cases.map((b) => Array.from(b, (x) => `0x${x.toString(16)}`).join(" ")).join("\n");
  const r = spawnSync("llvm-mc", ["--disassemble", `-triple=${triple}`, ...(mattr ? [`-mattr=${mattr}`] : [])], { input, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`llvm-mc failed: ${r.stderr.toString().slice(0, 400)}`);
  const invalid = new Set<number>();
  for (const m of r.stderr.toString().matchAll(/^<stdin>:(\d+):\d+: warning: invalid instruction encoding/gm)) invalid.add(Number(m[1]) - 1);
  return invalid;
}

/** The x86_64 objdump: the cross binutils' or the host's (on an x86_64 host). */
const OBJDUMP_X86 = ["x86_64-linux-gnu-objdump", "objdump"].find((t) => runs(t, ["--version"]) && spawnSync(t, ["--help"], { encoding: "utf8" }).stdout.includes("x86-64"));
export const objdumpX86Missing: string | undefined = OBJDUMP_X86 === undefined ? "no objdump for x86-64 is installed" : undefined;

/** Prefixes objdump prints as an instruction of their own. */
const BARE_PREFIX = /^((rex(\.[WRXB]+)?|data16|addr32|lock|repn?z?|[c-gs]s|bnd|notrack|xacquire|xrelease)( |$))+$/;

/** What objdump makes of the first instruction of a case: its length in bytes, or undefined for "(bad)". */
export type X86Decode = { length: number; text: string } | undefined;

/**
 * Disassembles each of `cases` (x86_64 byte strings of at most 15 bytes) with objdump and returns
 * its first instruction. Each case sits at a 32-byte stride followed by NOPs, so whatever objdump
 * makes of one case, it is back in step at the next (an instruction is at most 15 bytes).
 */
export function objdumpX86First(cases: readonly Uint8Array[]): X86Decode[] {
  const STRIDE = 32;
  const image = new Uint8Array(cases.length * STRIDE).fill(0x90);
  cases.forEach((c, i) => image.set(c.subarray(0, 15), i * STRIDE));
  const dir = mkdtempSync(join(tmpdir(), "multios-fuzz-"));
  try {
    const file = join(dir, "cases.bin");
    writeFileSync(file, image);
    const r = spawnSync(OBJDUMP_X86!, ["-D", "-b", "binary", "-m", "i386:x86-64", "-M", "intel64", "--insn-width=16", file], { encoding: "utf8", maxBuffer: 256 << 20 });
    if (r.status !== 0) throw new Error(`objdump failed: ${r.stderr.slice(0, 400)}`);
    const lines: { addr: number; length: number; text: string }[] = [];
    for (const line of r.stdout.split("\n")) {
      // "      20:\t48 01 c0             \tadd    %rax,%rax"
      const m = /^\s*([0-9a-f]+):\t((?:[0-9a-f]{2} )+)\s*\t?(.*)$/.exec(line);
      if (m) lines.push({ addr: parseInt(m[1]!, 16), length: m[2]!.trim().split(" ").length, text: m[3]!.trim() });
    }
    const out: X86Decode[] = new Array(cases.length).fill(undefined);
    for (let k = 0; k < lines.length; k++) {
      if (lines[k]!.addr % STRIDE !== 0) continue;
      // A prefix objdump prints on its own line (a REX before a legacy prefix, a repeated one) still
      // belongs to the instruction the processor executes: count it in.
      let length = 0, j = k;
      while (j < lines.length - 1 && BARE_PREFIX.test(lines[j]!.text)) length += lines[j++]!.length;
      const { text } = lines[j]!;
      out[lines[k]!.addr / STRIDE] = text.includes("(bad)") || text.startsWith(".byte") ? undefined : { length: length + lines[j]!.length, text };
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
