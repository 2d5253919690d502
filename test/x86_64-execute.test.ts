/**
 * The execute loop keeps RIP, the instruction count and the fetch page in locals and runs the
 * frequent forms inline from the decode cache's typed arrays (execute.ts, fetch.ts); none of that
 * may change what the guest sees. A generated program of flag-setting instructions (register,
 * immediate and memory forms, 32- and 64-bit), each followed by a reader of the flags (Jcc of every
 * condition, SETcc, CMOVcc, ADC/SBB, INC/DEC keeping CF, PUSHFQ, shifts and IMUL), leaves the same
 * registers, RFLAGS, memory and instruction count when run in one slice as when every instruction
 * is its own slice (written back to the CPU and re-read after each one), and the same again when
 * every straight-line run is a translated block (jit.ts).
 */
import { describe, expect, it } from "vitest";
import { bootBareX86, createX86Pc } from "../boot/x86_64/pc.js";
import { assembleX86_64 } from "../tools/asm/x86_64/index.js";
import { Info, Insn, Op } from "../emulator/arch/x86_64/insn.js";
import { decodeInsn } from "../emulator/arch/x86_64/decode.js";
import { packInfo } from "../emulator/arch/x86_64/specialize.js";

const CC = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];
/** Registers the generated code computes with (not RSP, not RBX = the data buffer). */
const Q = ["%rax", "%rcx", "%rdx", "%rsi", "%rdi", "%r8", "%r9", "%r10", "%r11", "%r12", "%r13", "%r14", "%r15"];
const L = ["%eax", "%ecx", "%edx", "%esi", "%edi", "%r8d", "%r9d", "%r10d", "%r11d", "%r12d", "%r13d", "%r14d", "%r15d"];
const B = ["%al", "%cl", "%dl", "%sil", "%dil", "%r8b", "%r9b", "%r10b", "%r11b", "%r12b", "%r13b", "%r14b", "%r15b"];

/** A small deterministic generator (xorshift32), so a failure names a reproducible seed. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return x >>> 0;
  };
}

/** Operand values that make carries, borrows, overflows, zeros and sign changes likely. */
function value(r: () => number): string {
  const picks = ["0", "1", "-1", "0x7fffffffffffffff", "0x8000000000000000", "0xffffffff", "0x80000000", "0x7fffffff", "0x100000000"];
  const k = r() % 12;
  if (k < picks.length) return picks[k]!;
  return "0x" + r().toString(16) + r().toString(16).padStart(8, "0");
}

function program(seed: number, blocks: number): string {
  const r = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[r() % a.length]!;
  const lines: string[] = ["  .text", "  .globl _start", "_start:", "  lea buf(%rip), %rbx"];
  for (let i = 0; i < Q.length; i++) lines.push(`  movabs $${value(r)}, ${Q[i]}`);
  for (let i = 0; i < 8; i++) lines.push(`  movabs $${value(r)}, %rax`, `  mov %rax, ${8 * i}(%rbx)`);
  const imm = (): number => pick([0, 1, -1, 3, 0x7f, -0x80, 0x7fffffff, -0x80000000, 0x1234]);
  const mem = (): string => `${8 * (r() % 8)}(%rbx)`;
  const producer = (): string => {
    const wide = r() % 2 === 0;
    const R = wide ? Q : L, s = wide ? "q" : "l";
    const alu = pick(["add", "sub", "cmp", "and", "or", "xor", "test", "add", "sub", "cmp"]);
    switch (r() % 7) {
      case 0: case 1: return `  ${alu} ${pick(R)}, ${pick(R)}`;
      case 2: return alu === "test" ? `  test${s} $${imm()}, ${pick(R)}` : `  ${alu}${s} $${imm()}, ${pick(R)}`;
      case 3: return alu === "test" ? `  test ${pick(R)}, ${mem()}` : `  ${alu} ${mem()}, ${pick(R)}`;
      case 4: return `  ${pick(["cmp", "test"])}${s} $${imm()}, ${mem()}`;
      case 5: return `  ${pick(["inc", "dec"])} ${pick(R)}`;
      default: return `  ${pick(["adc", "sbb"])} ${pick(R)}, ${pick(R)}`;
    }
  };
  for (let b = 0; b < blocks; b++) {
    const n = 1 + (r() % 3);
    for (let k = 0; k < n; k++) lines.push(producer());
    const cc = pick(CC);
    switch (r() % 8) {
      case 0: case 1: case 2: // a branch whose outcome shows in RBP
        lines.push(`  j${cc} 1f`, `  add $${b + 1}, %rbp`, "1:");
        break;
      case 3: lines.push(`  set${cc} ${8 * (r() % 8)}(%rbx)`, `  set${cc} ${pick(B)}`); break;
      case 4: lines.push(`  cmov${cc} ${pick(Q)}, ${pick(Q)}`); break;
      case 5: lines.push("  pushfq", `  pop ${pick(Q)}`); break;
      case 6: lines.push(`  ${pick(["shl", "shr", "sar"])} $${r() % 64}, ${pick(Q)}`, `  imul ${pick(Q)}, ${pick(Q)}`); break;
      default: lines.push(`  ${pick(["inc", "dec"])} ${pick(Q)}`, `  ${pick(["adc", "sbb"])} $${imm()}, ${pick(Q)}`);
    }
  }
  lines.push("  pushfq", "  pop %rbp", "  hlt", "  .data", "  .balign 64", "buf: .fill 8, 8, 0");
  return lines.join("\n") + "\n";
}

interface Final { regs: bigint[]; rip: bigint; rflags: number; icount: number; buf: bigint[] }

/**
 * Runs `source` one instruction at a time ("stepped"), or in one slice with the interpreter alone
 * ("interpreted") or with every block translated on its first visit ("blocks", jit.ts).
 */
function runProgram(source: string, how: "stepped" | "interpreted" | "blocks"): Final {
  const { elf, symbols } = assembleX86_64(source);
  const pc = createX86Pc({ noJit: how === "interpreted" });
  bootBareX86(pc, elf);
  const c = pc.cpu;
  if (how === "blocks") c.jit!.hot = 1;
  if (how === "stepped") {
    while (!c.halted && c.icount < 100_000) c.run(c.icount + 1);
  } else {
    expect(pc.machine.run({ maxInsns: 100_000 }).reason).toBe("hlt-hang");
  }
  expect(c.halted).toBe(true);
  const buf = Number(symbols.get("buf")!);
  return {
    regs: Array.from({ length: 16 }, (_, i) => c.reg(i)),
    rip: c.rip, rflags: c.rflags, icount: c.icount,
    buf: Array.from({ length: 8 }, (_, i) => pc.machine.bus.read64(buf + 8 * i)!),
  };
}

describe("x86_64 decode cache: the packed form the loop reads", () => {
  it("every op fits the 8-bit op field", () => {
    expect(Op.COUNT).toBeLessThanOrEqual(256);
  });

  it("packs op, length, registers, sub-op, size and the simple-address bit of a decoded instruction", () => {
    // 48 8b 43 08 = mov 8(%rbx), %rax: a 64-bit load from [base + disp].
    const ins = new Insn();
    decodeInsn(Uint8Array.of(0x48, 0x8b, 0x43, 0x08), 0, 4, ins);
    const info = packInfo(ins);
    expect(info & 0xff).toBe(Op.F_MOV_LD);
    expect((info >>> Info.LEN) & 15).toBe(4);
    expect((info >>> Info.REG) & 31).toBe(0);
    expect((info >>> Info.RM) & 31).toBe(3);
    expect(1 << ((info >>> Info.SIZE) & 3)).toBe(8);
    expect(info & Info.SIMPLE).not.toBe(0);
    expect(ins.disp).toBe(8);
  });
});

describe("x86_64 execute loop: slices and inline forms", () => {
  it("a program of flag writers and readers ends the same in one slice as one instruction at a time", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const source = program(seed * 7919, 60);
      const stepped = runProgram(source, "stepped");
      expect({ seed, ...runProgram(source, "interpreted") }).toEqual({ seed, ...stepped });
      expect({ seed, ...runProgram(source, "blocks") }).toEqual({ seed, ...stepped });
    }
  });

  it("a DEC then JNE loop retires the same instructions and ends with the flags of the last DEC, CF kept", () => {
    const source = `
  .text
  .globl _start
_start:
  mov $1000, %ecx
  xor %eax, %eax
1:
  add $3, %rax
  cmp $0x200, %rax
  dec %rcx
  jne 1b
  hlt
  .data
buf: .quad 0
`;
    const fast = runProgram(source, "interpreted");
    expect(fast).toEqual(runProgram(source, "stepped"));
    expect(runProgram(source, "blocks")).toEqual(fast);
    expect(fast.regs[0]).toBe(3000n);
    // DEC to zero: ZF and PF set, CF kept from the CMP (0x3000 >= 0x200: clear), SF, OF, AF clear.
    expect(fast.rflags & 0x8d5).toBe(0x44);
    expect(fast.icount).toBe(2 + 4 * 1000 + 1);
  });
});
