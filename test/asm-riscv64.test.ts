import { describe, expect, it } from "vitest";
import { EM_AARCH64, writeElf64 } from "../tools/asm/elf-writer.js";
import { AsmError, assembleRiscv64, assembleRiscv64Raw } from "../tools/asm/riscv64/index.js";

const BASE = 0x8000_0000n;

/** Splits an instruction stream into 16- and 32-bit parcels (low bits 11 = 32-bit). */
function words(bytes: Uint8Array): number[] {
  const out: number[] = [];
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < bytes.length;) {
    const lo = v.getUint16(i, true);
    if ((lo & 3) === 3) { out.push(v.getUint32(i, true)); i += 4; } else { out.push(lo); i += 2; }
  }
  return out;
}

/** The instruction words of the .text section of a snippet. */
const enc = (src: string): number[] => words(assembleRiscv64(src).segments.find((s) => s.name === ".text")!.bytes);
const one = (line: string, rvc = false): number => {
  const w = enc(`${rvc ? "" : ".option norvc\n"}${line}`);
  expect(w).toHaveLength(1);
  return w[0]!;
};

/** Catches the AsmError of assembling `src`. */
function asmError(src: string): AsmError {
  try {
    assembleRiscv64(src, { fileName: "t.s" });
  } catch (e) {
    expect(e).toBeInstanceOf(AsmError);
    return e as AsmError;
  }
  throw new Error("expected an AsmError");
}

describe("RV64 base encodings match the ISA manual", () => {
  // Words checked against the RISC-V unprivileged/privileged manuals (and GNU as 2.40).
  const cases: [string, number][] = [
    ["addi a0, a0, 1", 0x00150513], ["add a0, a1, a2", 0x00c58533], ["sub a0, a1, a2", 0x40c58533],
    ["mul a0, a1, a2", 0x02c58533], ["divu t0, t1, t2", 0x027352b3], ["remw a0, a1, a2", 0x02c5e53b],
    ["sllw a0, a1, a2", 0x00c5953b], ["srai a0, a1, 63", 0x43f5d513], ["sraiw a0, a1, 31", 0x41f5d51b],
    ["lui a0, 0x12345", 0x12345537], ["auipc t0, 1", 0x00001297], ["ld a0, 8(sp)", 0x00813503],
    ["sd ra, 8(sp)", 0x00113423], ["lbu a0, -1(a1)", 0xfff5c503], ["sb a0, -2048(a1)", 0x80a58023],
    ["lr.w a0, (a1)", 0x1005a52f], ["sc.d a0, a1, (a2)", 0x18b6352f], ["amoswap.w.aqrl a0, a1, (a2)", 0x0eb6252f],
    ["amomaxu.d.aq t0, t1, (t2)", 0xe463b2af], ["csrrw a0, mstatus, a1", 0x30059573], ["csrr a0, mhartid", 0xf1402573],
    ["csrwi sie, 5", 0x1042d073], ["csrrci a0, 0x7c0, 31", 0x7c0ff573], ["fence", 0x0ff0000f],
    ["fence rw, w", 0x0310000f], ["fence.i", 0x0000100f], ["jalr ra, 0(a0)", 0x000500e7],
    ["ecall", 0x00000073], ["ebreak", 0x00100073], ["sret", 0x10200073], ["mret", 0x30200073],
    ["wfi", 0x10500073], ["sfence.vma", 0x12000073], ["sfence.vma a0, a1", 0x12b50073],
    ["sfence.vma a0", 0x12050073], ["x5: addi x5, x5, -1", 0xfff28293], ["addi s0, fp, 0", 0x00040413],
  ];
  for (const [src, word] of cases) {
    it(`${src} = 0x${word.toString(16).padStart(8, "0")}`, () => expect(one(src) >>> 0).toBe(word));
  }
});

describe("RVC: compressed forms", () => {
  const explicit: [string, number][] = [
    ["c.addi a0, 1", 0x0505], ["c.li a0, -1", 0x557d], ["c.mv a0, a1", 0x852e], ["c.ebreak", 0x9002],
    ["c.nop", 0x0001], ["c.lwsp a0, 12(sp)", 0x4532], ["c.sdsp ra, 8(sp)", 0xe406], ["c.addi16sp sp, -64", 0x7139],
    ["c.addi4spn a0, sp, 16", 0x0808], ["c.lui a0, 0xfffff", 0x757d], ["c.srai a5, 3", 0x878d],
    ["c.andi a5, -1", 0x9bfd], ["c.subw a0, a1", 0x9d0d], ["c.ld a0, 8(a1)", 0x6588], ["c.jr ra", 0x8082],
  ];
  for (const [src, half] of explicit) it(`${src} = 0x${half.toString(16)}`, () => expect(one(src, true)).toBe(half));

  it("eligible instructions are compressed like GNU as does (ret, addi sp, mv, ld from sp)", () => {
    expect(enc("ret\naddi sp, sp, -64\nmv a0, a1\nld ra, 8(sp)\naddi a0, a0, 0\nadd a0, a0, 0")).toEqual(
      [0x8082, 0x7139, 0x852e, 0x60a2, 0x852a, 0x0501]);
  });
  it(".option norvc keeps 32-bit forms; c.* mnemonics still emit 16 bits", () => {
    expect(enc(".option norvc\nret\nc.nop")).toEqual([0x00008067, 0x0001]);
  });
  it(".option push/pop restores rvc", () => {
    expect(enc(".option push\n.option norvc\nnop\n.option pop\nnop")).toEqual([0x00000013, 0x0001]);
  });
  it("an operand with %lo() never selects a compressed form", () => {
    expect(enc("addi a0, a0, %lo(0xfff)")).toEqual([0xfff50513]);
  });
});

describe("li expands like GNU as (lui/addiw/slli/addi)", () => {
  const cases: [string, number[]][] = [
    ["-1", [0x557d]], ["4096", [0x6505]], ["0x800", [0x6505, 0x8005051b]],
    ["0x12345678", [0x12345537, 0x6785051b]], ["0x100000000", [0x0010051b, 0x1502]],
    ["0x80000000", [0x0010051b, 0x057e]], ["0xffffffff", [0x0010051b, 0x1502, 0x157d]],
    ["0x123456789abcdef0", [0x00247537, 0x8ad5051b, 0x053a, 0xc4d50513, 0x0532, 0x5e750513, 0x0536, 0xef050513]],
  ];
  for (const [value, expected] of cases) it(`li a0, ${value}`, () => expect(enc(`li a0, ${value}`)).toEqual(expected));

  /** Runs the instructions li produces (lui, addi(w), slli and their c.* forms) on a register file. */
  function run(ws: number[]): bigint {
    const x = new Array<bigint>(32).fill(0n);
    const s64 = (v: bigint): bigint => BigInt.asIntN(64, v);
    const s32 = (v: bigint): bigint => BigInt.asIntN(32, v);
    for (const w of ws) {
      if ((w & 3) === 3) {
        const rd = (w >>> 7) & 31, rs1 = (w >>> 15) & 31, f3 = (w >>> 12) & 7, imm = BigInt(w >> 20);
        if ((w & 0x7f) === 0x37) x[rd] = s32(BigInt(w & 0xfffff000));
        else if ((w & 0x7f) === 0x13 && f3 === 0) x[rd] = s64(x[rs1]! + imm);
        else if ((w & 0x7f) === 0x13 && f3 === 1) x[rd] = s64(x[rs1]! << BigInt((w >>> 20) & 63));
        else if ((w & 0x7f) === 0x1b && f3 === 0) x[rd] = s32(x[rs1]! + imm);
        else throw new Error(`unexpected 0x${w.toString(16)}`);
      } else {
        const rd = (w >>> 7) & 31, f3 = w >>> 13, q = w & 3;
        const raw = (((w >>> 12) & 1) << 5) | ((w >>> 2) & 31);
        const imm = BigInt(raw >= 32 ? raw - 64 : raw);
        if (q === 1 && f3 === 0) x[rd] = s64(x[rd]! + imm);
        else if (q === 1 && f3 === 1) x[rd] = s32(x[rd]! + imm);
        else if (q === 1 && f3 === 2) x[rd] = imm;
        else if (q === 1 && f3 === 3) x[rd] = imm << 12n;
        else if (q === 2 && f3 === 0) x[rd] = s64(x[rd]! << BigInt(raw));
        else throw new Error(`unexpected 0x${w.toString(16)}`);
      }
      x[0] = 0n;
    }
    return x[10]!;
  }

  it("materialises every 64-bit constant (random and edge values)", () => {
    let seed = 12345n;
    const next = (): bigint => (seed = (seed * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n));
    const values = [0n, 1n, -1n, 2047n, 2048n, -2048n, -2049n, 0x7fffffffn, 0x80000000n, -0x80000000n, 0xffffffffn,
      1n << 63n, (1n << 63n) - 1n, 0x7ffff800n, 0xfffff800n];
    for (let i = 0; i < 300; i++) {
      const r = next();
      values.push(BigInt.asIntN(64, r), BigInt.asIntN(64, r >> BigInt(Number(r & 63n))), BigInt.asIntN(64, r & 0xfff00000fffn));
    }
    for (const v of values) {
      for (const rvc of [true, false]) {
        const src = `${rvc ? "" : ".option norvc\n"}li a0, ${v}`;
        expect(run(enc(src)), src).toBe(BigInt.asIntN(64, v));
      }
    }
  });
  it("needs a constant", () => {
    expect(asmError("li a0, later\nlater:").message).toMatch(/^t\.s:1: li a0, later: li needs a constant/);
  });
});

describe("labels and expressions", () => {
  it("numeric local labels: 1b is the latest before, 1f the next after", () => {
    expect(enc(".option norvc\n1: j 1f\n1: j 1b\nj 1b")).toEqual([0x0040006f, 0x0000006f, 0xffdff06f]);
  });
  it("branches measure to the label; far conditional branches become an inverted branch over a jal", () => {
    const far = enc("beqz a0, far\n.space 5000\nfar: nop");
    expect(far.slice(0, 2)).toEqual([0xe119, 0x38c0106f]);
  });
  it("GNU as expression rules: | binds tighter than +, >> is logical, true is -1", () => {
    expect(assembleRiscv64Raw(".data\n.dword 1 | 2 + 3, -8 >> 60, 3 > 2, 'a', 'b, 07 + 0b11 + 0x10")).toEqual(
      new Uint8Array([6, 0, 0, 0, 0, 0, 0, 0, 15, 0, 0, 0, 0, 0, 0, 0, ...new Array(8).fill(255), 97, 0, 0, 0, 0, 0, 0, 0,
        98, 0, 0, 0, 0, 0, 0, 0, 26, 0, 0, 0, 0, 0, 0, 0]));
  });
  it(".equ, .set and = define constants, usable before later redefinition", () => {
    const w = enc(".equ A, 5\n.set B, A * 2\nC = B + 1\nli a0, C\n.set B, 1\nli a0, B");
    expect(w).toEqual([0x452d, 0x4505]);
  });
  it("la/lla use auipc+addi pc-relative; %pcrel_lo names the auipc label", () => {
    const r = assembleRiscv64(".text\n_start: la a0, msg\n1: auipc a1, %pcrel_hi(msg)\n addi a1, a1, %pcrel_lo(1b)\n.data\nmsg: .byte 1");
    const text = words(r.segments[0]!.bytes);
    expect(text).toEqual([0x00001517, 0x00050513, 0x00001597, 0xff858593]);
    expect(r.symbols.get("msg")).toBe(BASE + 0x1000n);
  });
  it("label differences within a section are constants", () => {
    expect(enc(".data\nstart: .ascii \"hello\"\nend:\n.text\nli a0, end - start")).toEqual([0x4515]);
  });
  it(". is the address of the current statement", () => {
    expect(enc(".option norvc\nnop\nj .")).toEqual([0x00000013, 0x0000006f]);
  });
});

describe("directives", () => {
  it("data directives are little-endian and unaligned as written", () => {
    expect(assembleRiscv64Raw(".data\n.byte 1, -1\n.half 0x1234\n.short 2\n.word 0xdeadbeef\n.long 1\n.dword -2\n.quad 3")).toEqual(
      new Uint8Array([1, 0xff, 0x34, 0x12, 2, 0, 0xef, 0xbe, 0xad, 0xde, 1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        3, 0, 0, 0, 0, 0, 0, 0]));
  });
  it("strings: .ascii, .asciz/.string add a NUL, escapes", () => {
    expect(assembleRiscv64Raw('.data\n.ascii "a\\n", "b"\n.asciz "\\x41\\101"\n.string "\\t"')).toEqual(
      new Uint8Array([97, 10, 98, 65, 65, 0, 9, 0]));
  });
  it(".zero, .space with fill, .fill", () => {
    expect(assembleRiscv64Raw(".data\n.zero 2\n.space 2, 7\n.fill 2, 2, 0x1234")).toEqual(new Uint8Array([0, 0, 7, 7, 0x34, 0x12, 0x34, 0x12]));
  });
  it(".align N is 2**N; code is padded with nops (c.nop first, also at the section end), data with zeros", () => {
    expect(enc("c.nop\n.align 3\nc.nop")).toEqual([0x0001, 0x0001, 0x00000013, 0x0001, 0x0001, 0x00000013]);
    expect(assembleRiscv64Raw(".data\n.byte 1\n.p2align 2\n.byte 2\n.balign 8, 0xee\n.byte 3")).toEqual(
      new Uint8Array([1, 0, 0, 0, 2, 0xee, 0xee, 0xee, 3]));
  });
  it(".rept repeats; comments (#, //, /* */) and ; separators", () => {
    expect(enc(".rept 3\nc.nop # one\n.endr\n/* block\n comment */ c.nop ; c.nop // tail")).toEqual([1, 1, 1, 1, 1]);
  });
  it("sections: .text, .rodata, .data, .bss, then others, each on a new 4 KiB page", () => {
    const r = assembleRiscv64(`.section .extra, "aw"\n.byte 9\n.bss\nbuf: .zero 100\n.data\n.byte 1\n.rodata\n.byte 2\n.text\n_start: nop`);
    expect(r.segments.map((s) => [s.name, s.vaddr, s.flags, s.memsz, s.bytes.length])).toEqual([
      [".text", BASE, "rx", 2, 2], [".rodata", BASE + 0x1000n, "r", 1, 1], [".data", BASE + 0x2000n, "rw", 1, 1],
      [".bss", BASE + 0x3000n, "rw", 100, 0], [".extra", BASE + 0x4000n, "rw", 1, 1],
    ]);
    expect(r.symbols.get("buf")).toBe(BASE + 0x3000n);
    const raw = assembleRiscv64Raw(".text\nnop\n.data\n.byte 5\n.bss\n.zero 3");
    expect(raw.length).toBe(0x2003);
    expect([raw[0], raw[1], raw[2], raw[0x1000], raw[0x2002]]).toEqual([1, 0, 0, 5, 0]);
  });
  it("base option moves the image", () => {
    const r = assembleRiscv64("_start: j _start", { base: 0x1000n });
    expect(r.entry).toBe(0x1000n);
    expect(r.segments[0]!.vaddr).toBe(0x1000n);
  });
});

describe("ELF64 output", () => {
  const r = assembleRiscv64(".globl _start\n.text\nnop\n_start: j _start\n.data\nd: .word 1\n.bss\n.zero 16");
  const v = new DataView(r.elf.buffer, r.elf.byteOffset, r.elf.byteLength);
  it("has the RISC-V ELF64 header with entry = _start", () => {
    expect([...r.elf.subarray(0, 7)]).toEqual([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    expect(v.getUint16(16, true)).toBe(2);
    expect(v.getUint16(18, true)).toBe(243);
    expect(v.getBigUint64(24, true)).toBe(BASE + 2n);
    expect(r.entry).toBe(BASE + 2n);
    expect(v.getUint32(48, true)).toBe(1);
  });
  it("has one PT_LOAD per section with page-congruent offsets; .bss has filesz 0", () => {
    const phoff = Number(v.getBigUint64(32, true));
    const loads = Array.from({ length: v.getUint16(56, true) }, (_, i) => {
      const at = phoff + 56 * i;
      return {
        type: v.getUint32(at, true), flags: v.getUint32(at + 4, true), off: v.getBigUint64(at + 8, true),
        vaddr: v.getBigUint64(at + 16, true), paddr: v.getBigUint64(at + 24, true),
        filesz: v.getBigUint64(at + 32, true), memsz: v.getBigUint64(at + 40, true),
      };
    });
    expect(loads.map((l) => [l.type, l.flags, l.vaddr, l.filesz, l.memsz])).toEqual([
      [1, 5, BASE, 4n, 4n], [1, 6, BASE + 0x1000n, 4n, 4n], [1, 6, BASE + 0x2000n, 0n, 16n],
    ]);
    for (const l of loads) {
      expect(l.paddr).toBe(l.vaddr);
      expect(l.off % 0x1000n).toBe(l.vaddr % 0x1000n);
    }
    expect([...r.elf.subarray(Number(loads[1]!.off), Number(loads[1]!.off) + 4)]).toEqual([1, 0, 0, 0]);
  });
  it("has section headers and a symbol table naming _start", () => {
    const text = new TextDecoder().decode(r.elf);
    for (const name of [".text", ".data", ".bss", ".symtab", ".strtab", ".shstrtab", "_start"]) expect(text).toContain(name);
  });
});

describe("writeElf64 (shared by the guest assemblers)", () => {
  it("writes any e_machine and rejects bad segments with RangeError", () => {
    const seg = { name: ".text", vaddr: 0x4000_0000n, flags: "rx", bytes: new Uint8Array([0x1f, 0x20, 0x03, 0xd5]) };
    const elf = writeElf64({ machine: EM_AARCH64, entry: 0x4000_0000n, segments: [seg] });
    expect(new DataView(elf.buffer).getUint16(18, true)).toBe(183);
    expect(() => writeElf64({ machine: 0, entry: 0n, segments: [{ ...seg, flags: "xr" }] })).toThrow(RangeError);
    expect(() => writeElf64({ machine: 0, entry: 0n, segments: [{ ...seg, memsz: 1 }] })).toThrow(RangeError);
    expect(() => writeElf64({ machine: 0, entry: 0n, segments: [seg], symbols: [{ name: "s", value: 0n, segment: 1 }] })).toThrow(RangeError);
  });
});

describe("errors are one line: file:line: message", () => {
  const cases: [string, RegExp][] = [
    ["nop\nfrob a0", /^t\.s:2: unknown instruction `frob'$/],
    ["addi a0, a0, a1", /^t\.s:1: addi a0, a0, a1: bad operands/],
    ["addi a0, a0, 4096", /^t\.s:1: .*immediate 4096 out of range \[-2048, 2047\]$/],
    ["slli a0, a0, 64", /shift amount 64 out of range \[0, 63\]/],
    ["lui a0, 0x100000", /immediate 1048576 out of range \[0, 1048575\]/],
    ["\n\nj nowhere", /^t\.s:3: undefined symbol `nowhere'$/],
    ["bnez a0, 2f", /^t\.s:1: undefined symbol `2f'$/],
    ["beq a0, a1, 0x80000001", /^t\.s:1: branch target 0x80000001 is not 2-byte aligned$/],
    ["c.lw a0, 2(a1)", /multiple of 4/],
    ["c.addi4spn t0, sp, 8", /x8\.\.x15/],
    ["x: nop\nx: nop", /^t\.s:2: symbol `x' is already defined$/],
    [".bss\n.byte 1", /only zeros/],
    [".bss\nnop", /instructions cannot go in \.bss/],
    [".frobnicate", /unknown directive/],
    ["csrr a0, nosuchcsr", /unknown CSR `nosuchcsr'/],
    ["lw a0, 8", /the address must be a symbol/],
    [".data\n.byte 256", /value 256 does not fit in 1 byte/],
    ["lui a0, %hi(x)\n.data\nx: .word 0", /^t\.s:1: %hi value 0x80001000 does not fit/],
  ];
  for (const [src, re] of cases) {
    it(re.source, () => {
      const e = asmError(src);
      expect(e.message).toMatch(re);
      expect(e.message).not.toContain("\n");
      expect(e.file).toBe("t.s");
    });
  }
});
