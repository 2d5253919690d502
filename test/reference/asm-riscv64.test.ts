/**
 * Byte-for-byte comparison of the MultiOS RV64 assembler with GNU binutils:
 *   riscv64-linux-gnu-as -march=rv64imac_zicsr_zifencei -mabi=lp64 -mno-relax
 *   riscv64-linux-gnu-ld --no-relax -T <script placing the sections like assembleRiscv64>
 * then the loaded memory images (from the PT_LOAD headers of both executables) and the symbol
 * values must be identical.
 *
 * `-mno-relax` is what makes GNU's output final at assembly time: with assembler relaxation on,
 * `.align` in code becomes R_RISCV_ALIGN padding that ld rewrites (nop order changes, section
 * tail padding disappears, and some alignments after odd-sized data fail to link).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type AsmResult, assembleRiscv64, mnemonics } from "../../tools/asm/riscv64/index.js";
import { CSR_NUMBERS, GPR_ABI_NAMES } from "../../tools/asm/riscv64/registers.js";

const AS = "riscv64-linux-gnu-as";
const LD = "riscv64-linux-gnu-ld";
const NM = "riscv64-linux-gnu-nm";
const OBJDUMP = "riscv64-linux-gnu-objdump";
const have = [AS, LD, NM, OBJDUMP].every((tool) => spawnSync(tool, ["--version"]).status === 0);
if (!have) console.log("skipping: riscv64-linux-gnu-as not installed");

/** Memory image of an ELF executable: address -> byte, from its PT_LOAD headers. */
function loadImage(elf: Uint8Array): Map<bigint, number> {
  const v = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const phoff = Number(v.getBigUint64(32, true));
  const mem = new Map<bigint, number>();
  for (let i = 0; i < v.getUint16(56, true); i++) {
    const at = phoff + 56 * i;
    if (v.getUint32(at, true) !== 1) continue;
    const off = Number(v.getBigUint64(at + 8, true)), vaddr = v.getBigUint64(at + 16, true);
    const filesz = Number(v.getBigUint64(at + 32, true)), memsz = Number(v.getBigUint64(at + 40, true));
    for (let j = 0; j < memsz; j++) mem.set(vaddr + BigInt(j), j < filesz ? elf[off + j]! : 0);
  }
  return mem;
}

const dir = have ? mkdtempSync(join(tmpdir(), "multios-asm-")) : "";
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });
let runs = 0;

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return r.stdout;
}

/** Assembles `src` with both assemblers; returns a description of the first difference, or undefined. */
function compareWithGnu(src: string): string | undefined {
  const mine: AsmResult = assembleRiscv64(src);
  const stem = join(dir, `t${runs++}`);
  writeFileSync(`${stem}.s`, src);
  const script = ["SECTIONS {", "  . = 0x80000000;"];
  mine.segments.forEach((s, i) => script.push(`${i > 0 ? "  . = ALIGN(0x1000);\n" : ""}  ${s.name} : { *(${s.name}) }`));
  writeFileSync(`${stem}.ld`, `${script.join("\n")}\n}\n`);
  run(AS, ["-march=rv64imac_zicsr_zifencei", "-mabi=lp64", "-mno-relax", `${stem}.s`, "-o", `${stem}.o`]);
  run(LD, ["--no-relax", "-T", `${stem}.ld`, `${stem}.o`, "-o", `${stem}.elf`]);
  const gnu = loadImage(new Uint8Array(readFileSync(`${stem}.elf`)));
  const ours = loadImage(mine.elf);
  const addrs = [...new Set([...gnu.keys(), ...ours.keys()])].sort((a, b) => (a < b ? -1 : 1));
  for (const a of addrs) {
    if ((gnu.get(a) ?? 0) !== (ours.get(a) ?? 0)) {
      return `first difference at 0x${a.toString(16)}: GNU ${gnu.get(a)?.toString(16)}, ours ${ours.get(a)?.toString(16)} (${stem}.s)`;
    }
  }
  const gnuSyms = new Map(run(NM, [`${stem}.elf`]).trim().split("\n").map((l) => l.split(/\s+/)).map(([v, , n]) => [n!, BigInt(`0x${v}`)]));
  for (const [name, value] of mine.symbols) {
    if (gnuSyms.has(name) && gnuSyms.get(name) !== BigInt.asUintN(64, value)) return `symbol ${name}: GNU 0x${gnuSyms.get(name)!.toString(16)}, ours 0x${value.toString(16)}`;
  }
  return undefined;
}

// ---- The broad source: every mnemonic, the interesting operand shapes, directives. ----

const REGS = ["a0", "a5", "s0", "s1", "sp", "zero", "ra", "t0", "t6", "x31", "fp", "a1"];
const R_OPS = ["add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and", "mul", "mulh", "mulhsu", "mulhu",
  "div", "divu", "rem", "remu", "addw", "subw", "sllw", "srlw", "sraw", "mulw", "divw", "divuw", "remw", "remuw"];
const I_OPS = ["addi", "slti", "sltiu", "xori", "ori", "andi", "addiw"];
const IMMS = [0, 1, -1, 31, -32, 32, 16, -64, 496, 512, 4, 1020, 1024, 2047, -2048];
const LI_VALUES = ["0", "1", "-1", "31", "-32", "2047", "-2048", "2048", "4096", "-4096", "0x1f000", "-0x20000", "0x7fffffff",
  "-0x80000000", "0x80000000", "0xffffffff", "0x100000000", "0x123456789abcdef0", "0x8000000000000000", "0x7fffffffffffffff",
  "0xdeadbeefcafebabe", "0x0000100000001000", "0xfffff000", "0x7ffff800", "1 << 40", "-(1 << 52) + 7"];
const AMO_OPS = ["amoswap", "amoadd", "amoxor", "amoand", "amoor", "amomin", "amomax", "amominu", "amomaxu"];

function broadSource(rvc: boolean): string {
  const L: string[] = [];
  const add = (...lines: string[]): void => { L.push(...lines.map((l) => `  ${l}`)); };
  L.push(".equ K, 0x1234", ".set NEG, -77", "BIG = 1 << 40", ".text", ".globl _start", ".type _start, @function", "_start:");
  for (const op of R_OPS) {
    add(`${op} a0, a0, a1`, `${op} a0, a1, a0`, `${op} s1, s1, a5`, `${op} t0, t1, t2`, `${op} ra, ra, sp`, `${op} a0, zero, a1`);
  }
  for (const op of ["add", "and", "or", "xor", "slt", "sltu", "addw"]) add(`${op} a0, a0, 5`, `${op} s0, s0, -1`, `${op} t0, t1, 100`);
  for (const op of I_OPS) for (const imm of IMMS) add(`${op} a0, a0, ${imm}`, `${op} sp, sp, ${imm}`, `${op} s1, sp, ${imm}`, `${op} t0, zero, ${imm}`);
  add("addi zero, zero, 0", "addi a0, a0, 0", "addi zero, a0, 0", "addi a0, sp, 0", "addi a0, a0, %lo(0x123)", "addi a0, a0, K - 0x1230");
  for (const op of ["slli", "srli", "srai", "sll", "srl", "sra"]) add(`${op} a0, a0, 0`, `${op} a0, a0, 1`, `${op} s1, s1, 63`, `${op} t0, t0, 12`, `${op} a0, a1, 3`);
  for (const op of ["slliw", "srliw", "sraiw", "sllw", "srlw", "sraw"]) add(`${op} a0, a0, 31`, `${op} t0, t1, 0`);
  for (const op of ["lb", "lh", "lw", "ld", "lbu", "lhu", "lwu"]) {
    add(`${op} a0, 0(sp)`, `${op} a0, 8(sp)`, `${op} a0, 252(sp)`, `${op} a0, 504(sp)`, `${op} a0, 8(a1)`, `${op} s1, 124(a5)`,
      `${op} a0, 248(s0)`, `${op} zero, 4(sp)`, `${op} t0, -2048(t1)`, `${op} ra, 2047(x31)`, `${op} a0, (a2)`);
  }
  for (const op of ["sb", "sh", "sw", "sd"]) {
    add(`${op} a0, 0(sp)`, `${op} ra, 8(sp)`, `${op} zero, 252(sp)`, `${op} t6, 504(sp)`, `${op} a0, 8(a1)`, `${op} s1, 124(a5)`,
      `${op} a0, 248(s0)`, `${op} t0, -2048(t1)`, `${op} a0, (a2)`);
  }
  add("lui a0, 1", "lui a0, 31", "lui a0, 32", "lui a0, 0xfffff", "lui a0, 0xfffe0", "lui sp, 1", "lui zero, 1", "lui t0, 0x12345",
    "auipc a0, 0", "auipc t0, 0xfffff", "lui a0, %hi(data_word - 0x80000000)", "addi a0, a0, %lo(data_word)", "sw a1, %lo(data_word)(a0)");
  for (const v of LI_VALUES) add(`li a0, ${v}`, `li sp, ${v}`, `li zero, ${v}`, `li t6, ${v}`);
  add("li a1, K", "li a2, NEG", "li a3, BIG", "li a4, 'a'", "li a5, K * 2 | 1");
  for (const reg of REGS) add(`mv ${reg}, a0`, `mv a0, ${reg}`, `not ${reg}, a1`, `neg ${reg}, a1`, `negw a1, ${reg}`, `sext.w ${reg}, ${reg}`,
    `sext.w a0, ${reg}`, `seqz ${reg}, a1`, `snez ${reg}, a1`, `sltz ${reg}, a1`, `sgtz ${reg}, a1`, `zext.b ${reg}, a1`, `move ${reg}, t0`);
  add("sgt a0, a1, a2", "sgtu t0, t1, t2", "nop", "ret", "ecall", "scall", "ebreak", "sbreak", "unimp", "mret", "sret", "uret", "dret",
    "wfi", "fence", "fence rw, w", "fence iorw, iorw", "fence i, o", "fence.i", "fence.tso", "sfence.vma", "sfence.vma a0", "sfence.vma a0, a1");
  add("rdcycle a0", "rdtime t0", "rdinstret s1");
  for (const csr of [...CSR_NUMBERS.keys(), "0x7c0", "4095"]) add(`csrr a0, ${csr}`);
  for (const op of ["csrrw", "csrrs", "csrrc"]) add(`${op} a0, mstatus, a1`, `${op} a0, satp, 7`, `${op}i t0, 0x7c0, 31`);
  for (const op of ["csrw", "csrs", "csrc"]) add(`${op} sstatus, a0`, `${op} mie, 8`, `${op}i mip, 0`);
  for (const width of ["w", "d"]) {
    for (const ord of ["", ".aq", ".rl", ".aqrl"]) {
      add(`lr.${width}${ord} a0, (a1)`, `lr.${width}${ord} t0, 0(s1)`, `sc.${width}${ord} a0, a1, (a2)`);
      for (const op of AMO_OPS) add(`${op}.${width}${ord} a0, a1, (a2)`);
    }
  }
  add("jalr a0", "jalr ra", "jalr zero", "jalr 8(a0)", "jalr t0, a1", "jalr t0, 4(a1)", "jalr ra, a1, -4", "jalr ra, 0(a0)", "jalr a0, 8",
    "jr a0", "jr ra", "jr 12(t0)", "jr t1, 4", "jr zero");
  // Branches and jumps: near, at the compressed reach, beyond the branch reach, other sections.
  add("near:");
  for (const br of ["beq a0, a1", "bne s0, s1", "blt a0, zero", "bge t0, t1", "bltu a2, a3", "bgeu ra, sp", "bgt a0, a1", "ble a0, a1",
    "bgtu t0, t1", "bleu t0, t1", "beq a0, zero", "bne a5, x0", "beq zero, a0"]) add(`${br}, near`, `${br}, far`, `${br}, other`);
  for (const br of ["beqz", "bnez", "blez", "bgez", "bltz", "bgtz"]) add(`${br} a0, near`, `${br} s1, far`, `${br} t0, near`, `${br} a0, other`);
  add("j near", "j far", "j other", "jal near", "jal far", "jal t0, near", "jal zero, other", "call near", "call t0, far", "tail other",
    "jump far, t1", "beq a0, a1, . + 8", "j . - 2", "1: bnez a0, 1b", "beqz a0, 1f", "1:", "j 0x80000100", "beq a0, a1, 0x80000200");
  add("la a0, data_word", "lla t0, ro_msg", "la s1, bss_buf + 16", "lw a0, data_word", "ld t0, data_word", "lbu a1, ro_msg",
    "sw a0, data_word, t0", "sd a1, bss_buf, t1", "sb zero, data_word + 1, t2");
  add("2: auipc a0, %pcrel_hi(data_word)", "addi a0, a0, %pcrel_lo(2b)", "lw a1, %pcrel_lo(2b)(a0)", "sd a1, %pcrel_lo(2b)(a0)",
    "3: auipc t0, %pcrel_hi(far)", "jalr ra, %pcrel_lo(3b)(t0)");
  if (rvc) {
    add("c.nop", "c.ebreak", "c.unimp", "c.jr a0", "c.jalr t0", "c.mv a0, a1", "c.mv zero, a1", "c.add s0, s1", "c.li a0, -32",
      "c.li zero, 1", "c.addi sp, 31", "c.addi zero, 0", "c.addiw a0, -1", "c.andi a5, 31", "c.lui a0, 1", "c.lui t0, 0xfffe0",
      "c.addi16sp sp, 496", "c.addi16sp sp, -512", "c.addi4spn s1, sp, 1020", "c.slli a0, 63", "c.slli zero, 1", "c.srli a5, 1",
      "c.srai s0, 32", "c.lwsp a0, 252(sp)", "c.ldsp ra, 504(sp)", "c.swsp zero, 0(sp)", "c.sdsp t6, 8(sp)", "c.lw a0, 124(a5)",
      "c.ld s1, 248(s0)", "c.sw a0, 4(a1)", "c.sd a0, 0(a1)", "c.sub a0, a1", "c.xor s0, s1", "c.or a2, a3", "c.and a4, a5",
      "c.subw a0, a5", "c.addw s1, s0", "c.j near", "c.j far", "c.beqz a0, near", "c.bnez s1, far");
  }
  L.push("  .align 2", "  .word 0x12345678, near - _start", "  .half 7", "  .byte 1", "  .balign 16", "  .2byte 3", "  .p2align 3",
    "  .option push", "  .option norvc", "  addi a0, a0, 1", "  .align 2", "  .option pop", "  .space 4000", "far:", "  ret");
  L.push(".data", "data_word: .word 0x11223344", ".dword far, _start + 4, BIG", ".half -1", ".byte 'x', 0x7f", ".align 3",
    ".quad K", ".long NEG", ".4byte 5", ".8byte 6", ".short 8", ".zero 3", ".space 2, 0xaa", ".fill 3, 2, 0x1234",
    ".rept 2", ".byte 9", ".endr", ".asciz \"hello\\n\\t\\\"q\\\"\"");
  L.push(".section .rodata", "ro_msg: .string \"ro\"", ".ascii \"\\x41\\102\"", ".bss", "bss_buf: .zero 64", ".align 4", ".skip 10");
  L.push(".section .text.other, \"ax\", @progbits", "other: nop", "  beqz a0, near", "  j far", "  call _start", "  la a0, data_word", "  ret");
  return `${L.join("\n")}\n`;
}

describe.skipIf(!have)("matches GNU as + ld byte for byte", () => {
  it("prints the GNU version used", () => {
    console.log(run(AS, ["--version"]).split("\n")[0]);
  });

  it("our ELF is readable by objdump -d and nm", () => {
    const r = assembleRiscv64(".globl _start\n_start: li a0, 1\n  j _start\n.data\nv: .dword 5\n.bss\nb: .zero 8");
    const file = join(dir, "ours.elf");
    writeFileSync(file, r.elf);
    expect(run(OBJDUMP, ["-d", file])).toMatch(/80000000 <_start>:\s+80000000:\s+4505\s+li\s+a0,1/);
    const nm = run(NM, [file]);
    expect(nm).toContain("0000000080000000 T _start");
    expect(nm).toContain("0000000080001000 d v");
    expect(nm).toContain("0000000080002000 b b");
  });

  it("the broad source uses every mnemonic the assembler knows", () => {
    const used = new Set(broadSource(true).split("\n").map((l) => l.replace(/^\s*([0-9]+|[A-Za-z_.]+):\s*/, "").trim().split(/\s+/)[0]));
    expect(mnemonics().filter((m) => !used.has(m))).toEqual([]);
    expect(GPR_ABI_NAMES).toHaveLength(32);
  });

  it("with RVC (compression, relaxation, directives)", () => {
    expect(compareWithGnu(broadSource(true))).toBeUndefined();
  });

  it("with .option norvc throughout", () => {
    expect(compareWithGnu(`.option norvc\n${broadSource(false)}`)).toBeUndefined();
  });

  it("branch sizes at the exact reach boundaries, forward and backward, early and late in the section", () => {
    const kinds: [branch: string, reach: number][] = [["beqz a0, T", 256], ["j T", 2048], ["beq a0, a1, T", 4096], ["bnez s0, T", 4096], ["jal T", 4096]];
    for (const [branch, reach] of kinds) {
      for (const lead of [0, 300]) {
        for (const gap of [reach - 6, reach - 4, reach - 2, reach]) {
          const forward = `_start:\n  .space ${lead}\n  ${branch}\n  .space ${gap}\nT: ret\n`;
          const backward = `_start:\n  .space ${lead}\nT: .space ${gap}\n  ${branch}\n  ret\n`;
          expect(compareWithGnu(forward), forward).toBeUndefined();
          expect(compareWithGnu(backward), backward).toBeUndefined();
        }
      }
    }
  });

  it("branch relaxation at the reach boundaries (seeded random programs)", () => {
    for (let seed = 1; seed <= 12; seed++) {
      let state = seed;
      const rnd = (n: number): number => { state = (state * 1103515245 + 12345) & 0x7fffffff; return state % n; };
      const labelAt = new Map(Array.from({ length: 8 }, (_, i) => [rnd(60), i]));
      const lines = [".text", "_start:"];
      let rvc = true;
      for (let i = 0; i < 60; i++) {
        if (labelAt.has(i)) lines.push(`T${labelAt.get(i)}:`);
        const target = `T${rnd(8)}`;
        switch (rnd(9)) {
          case 0: case 1: lines.push(`  ${["beqz a0", "bnez s1", "beq a2, zero", "blt a0, a1"][rnd(4)]}, ${target}`); break;
          case 2: lines.push(`  ${["j", "jal"][rnd(2)]} ${target}`); break;
          case 3: lines.push(`  .space ${2 * [1 + rnd(130), 1000 + rnd(30), 2030 + rnd(20), 120 + rnd(10)][rnd(4)]}`); break;
          case 4: lines.push(`  .align ${2 + rnd(4)}`); break;
          case 5: rvc = rnd(2) === 0; lines.push(rvc ? "  .option rvc" : "  .option norvc"); break;
          default: lines.push(`  ${["nop", "addi a0, a0, 1", rvc ? "c.nop" : "nop", "add a0, a1, a2"][rnd(4)]}`);
        }
      }
      for (let i = 0; i < 8; i++) if (![...labelAt.values()].includes(i)) lines.push(`T${i}:`);
      lines.push("  ret");
      expect(compareWithGnu(`${lines.join("\n")}\n`), `seed ${seed}`).toBeUndefined();
    }
  });
});
