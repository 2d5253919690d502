/**
 * RV64IMAC instruction semantics, checked end to end: each case is a bare-metal M-mode program
 * (assembled with tools/asm/riscv64) run on riscv64-virt, and the test reads the architectural
 * result from the hart (a0) or from the trap trace.
 * @spec RISC-V Unprivileged ISA 20240411: RV32I/RV64I chapters, "M" and "A" extensions, "C" extension
 */
import { describe, expect, it } from "vitest";
import { assembleRiscv64 } from "../tools/asm/riscv64/index.js";
import { type BareRun, runBare } from "./support/run-riscv64.js";

const A0 = 10, A3 = 13, A4 = 14;
const M64 = (1n << 64n) - 1n;
const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);
const hex = (v: bigint): string => "0x" + v.toString(16);

/**
 * Test programs start here: mtvec, PMP (all of memory, for realism), sp, and s11 = `buf` (8 KiB,
 * page aligned, so buf+4096 is a page boundary). Bodies are assembled without compression
 * (`.option norvc`) so the 32-bit encodings are the ones tested, unless a body says `.option rvc`.
 */
const PRELUDE = `
.equ FINISHER, 0x100000
.text
.globl _start
_start:
    la      t0, m_trap
    csrw    mtvec, t0
    li      t0, -1
    csrw    pmpaddr0, t0
    li      t0, 0x1f
    csrw    pmpcfg0, t0
    la      sp, stack_top
    la      s11, buf
    .option norvc
`;

/** The pass sequence, and an M-mode handler that skips the trapping instruction (2 or 4 bytes). */
const EPILOGUE = `
    .option rvc
pass:
    li      t0, FINISHER
    li      t1, 0x5555
    sw      t1, 0(t0)
1:  j       1b
.align 2
m_trap:
    csrr    t0, mepc
    lhu     t1, 0(t0)
    andi    t1, t1, 3
    li      t2, 3
    addi    t0, t0, 2
    bne     t1, t2, 1f
    addi    t0, t0, 2
1:  csrw    mepc, t0
    mret
.data
.align 12
buf:    .zero 8192
.align 4
stack:  .zero 1024
stack_top:
`;

interface Run extends BareRun {
  /** Register i of hart 0 at the end of the run. */
  x(i: number): bigint;
  /** Address of a label. */
  sym(name: string): bigint;
  /** A doubleword of guest RAM. */
  mem64(addr: bigint): bigint;
}

/** Assembles PRELUDE + body + EPILOGUE, runs it, and checks that it reached `pass`. */
function run(body: string): Run {
  const asm = assembleRiscv64(PRELUDE + body + EPILOGUE, { fileName: "isa.S" });
  const r = runBare({ elf: asm.elf }, { maxInsns: 100_000 });
  expect(r.result.reason, r.result.message).toBe("pass");
  const h = r.v.machine.harts[0]!;
  return {
    ...r,
    x: (i) => h.x(i),
    sym: (name) => {
      const v = asm.symbols.get(name);
      if (v === undefined) throw new RangeError(`no symbol ${name}`);
      return v;
    },
    mem64: (addr) => r.v.machine.bus.read64(Number(addr))!,
  };
}

/** A case: the rule it checks, the body (result in a0), and the expected a0 (may use symbols). */
type Case = [rule: string, body: string, expected: bigint | ((sym: (n: string) => bigint) => bigint)];

function checkCases(cases: Case[]): void {
  it.each(cases)("%s", (_rule, body, expected) => {
    const r = run(body);
    expect(hex(r.x(A0))).toBe(hex(typeof expected === "bigint" ? u64(expected) : u64(expected(r.sym))));
    expect(r.traps).toEqual([]);
  });
}

/** `li a1, A; li a2, B; OP a0, a1, a2`. */
const rr = (op: string, a: bigint, b: bigint): string => `li a1, ${a}\n li a2, ${b}\n ${op} a0, a1, a2`;
/** `li a1, A; OP a0, a1, IMM`. */
const ri = (op: string, a: bigint, imm: number): string => `li a1, ${a}\n ${op} a0, a1, ${imm}`;

const MIN = -(1n << 63n), MAX = (1n << 63n) - 1n;

describe("RV64I integer arithmetic: 64-bit carries, and the W forms sign-extend bit 31", () => {
  checkCases([
    ["ADD carries from bit 31 into bit 32", rr("add", 0xffffffffn, 1n), 0x1_0000_0000n],
    ["ADD wraps modulo 2^64", rr("add", -1n, 2n), 1n],
    ["ADD of MAX + 1 overflows to MIN without a trap", rr("add", MAX, 1n), MIN],
    ["SUB borrows from bit 32 into bit 31", rr("sub", 0x1_0000_0000n, 1n), 0xffffffffn],
    ["SUB 0 - 1 is all ones", rr("sub", 0n, 1n), M64],
    ["ADDI sign-extends its 12-bit immediate (-1 borrows across bit 32)", ri("addi", 0x1_0000_0000n, -1), 0xffffffffn],
    ["ADDW keeps the low 32 bits and sign-extends bit 31", rr("addw", 0x7fffffffn, 1n), -0x80000000n],
    ["ADDIW ignores rs1[63:32]", ri("addiw", 0x12345678_00000001n, -2), -1n],
    ["ADDIW rd, rs, 0 (sext.w) sign-extends bit 31", ri("addiw", 0x1_8000_0000n, 0), -0x80000000n],
    ["SUBW: 0x80000000 - 1 is positive 0x7fffffff (bits 63:32 cleared)", rr("subw", -0x80000000n, 1n), 0x7fffffffn],
  ]);
});

describe("shifts by 0, 31, 32 and 63; only rs2[5:0] (rs2[4:0] for W forms) counts", () => {
  const V = 0x8000_0000_0000_0001n;
  checkCases([
    ["SLL by 0 leaves the value unchanged", rr("sll", V, 0n), V],
    ["SLL by 31 moves bit 0 to bit 31 without sign extension", rr("sll", 1n, 31n), 0x8000_0000n],
    ["SLL by 32 moves bit 0 to bit 32", rr("sll", 1n, 32n), 0x1_0000_0000n],
    ["SLL by 63 moves bit 0 to bit 63", rr("sll", 1n, 63n), MIN],
    ["SLL uses rs2[5:0]: a shift of 65 is a shift of 1", rr("sll", 1n, 65n), 2n],
    ["SRL by 63 brings bit 63 to bit 0", rr("srl", MIN, 63n), 1n],
    ["SRL by 32 moves the high word down with zeros", rr("srl", 0xffffffff_00000000n, 32n), 0xffffffffn],
    ["SRL by 31 crosses the word boundary", rr("srl", MIN, 31n), 0x1_0000_0000n],
    ["SRA by 63 of a negative value gives -1", rr("sra", MIN, 63n), -1n],
    ["SRA by 32 copies the sign into the high word", rr("sra", MIN, 32n), -0x80000000n],
    ["SRA by 31 copies the sign", rr("sra", MIN, 31n), 0xffffffff_00000000n],
    ["SRA by 0 leaves the value unchanged", rr("sra", V, 0n), V],
    ["SLLI by 63", ri("slli", 3n, 63), MIN],
    ["SRLI by 63 of -1 is 1", ri("srli", -1n, 63), 1n],
    ["SRAI by 63 of -1 is -1", ri("srai", -1n, 63), -1n],
    ["SRAI by 1 of MIN keeps the sign", ri("srai", MIN, 1), -(1n << 62n)],
    ["SLLW by 31 sign-extends the new bit 31", rr("sllw", 1n, 31n), -0x80000000n],
    ["SLLW uses rs2[4:0] (32 is 0) and ignores rs1[63:32]", rr("sllw", 0x1_0000_0001n, 32n), 1n],
    ["SRLW by 0 sign-extends bit 31 of the result", rr("srlw", 0x8000_0000n, 0n), -0x80000000n],
    ["SRLW by 31 of 0x80000000 is 1", rr("srlw", 0x8000_0000n, 31n), 1n],
    ["SRLW ignores rs1[63:32] (no bits shift in from above)", rr("srlw", 0xffffffff_00000010n, 4n), 1n],
    ["SRAW by 31 of 0x80000000 is -1", rr("sraw", 0x8000_0000n, 31n), -1n],
    ["SRAW by 4 shifts in copies of bit 31", rr("sraw", 0x8000_0000n, 4n), -0x0800_0000n],
    ["SLLIW by 31 sign-extends bit 31", ri("slliw", 1n, 31), -0x80000000n],
    ["SRLIW by 0 sign-extends bit 31", ri("srliw", 0x8000_0000n, 0), -0x80000000n],
    ["SRLIW by 31 of -1 is 1 (zeros shift into the 32-bit value)", ri("srliw", -1n, 31), 1n],
    ["SRAIW by 31 of 0x7fffffff is 0", ri("sraiw", 0x7fff_ffffn, 31), 0n],
    ["SRAIW by 31 of 0x80000000 is -1", ri("sraiw", 0x8000_0000n, 31), -1n],
  ]);
});

describe("SLT/SLTU compare signed vs unsigned; SLTI/SLTIU sign-extend the immediate", () => {
  checkCases([
    ["SLT: -1 < 1 signed", rr("slt", -1n, 1n), 1n],
    ["SLTU: 2^64-1 is not < 1 unsigned", rr("sltu", -1n, 1n), 0n],
    ["SLT: MIN < MAX", rr("slt", MIN, MAX), 1n],
    ["SLTU: 2^63 is not < 2^63-1", rr("sltu", MIN, MAX), 0n],
    ["SLT: equal values are not less", rr("slt", 5n, 5n), 0n],
    ["SLT compares the high word first (2^32 > 0xffffffff)", rr("slt", 0x1_0000_0000n, 0xffffffffn), 0n],
    ["SLTU compares the high word first", rr("sltu", 0xffffffffn, 0x1_0000_0000n), 1n],
    ["SLTI with a negative immediate: -2 < -1", ri("slti", -2n, -1), 1n],
    ["SLTIU sign-extends the immediate, then compares unsigned: 5 < 2^64-1", ri("sltiu", 5n, -1), 1n],
    ["SLTIU rd, rs, 1 is seqz", ri("sltiu", 0n, 1), 1n],
  ]);
});

describe("LUI and AUIPC sign-extend their 32-bit result", () => {
  checkCases([
    ["LUI 0x80000 gives 0xffffffff80000000", "lui a0, 0x80000", -0x80000000n],
    ["LUI 0x7ffff gives 0x7ffff000", "lui a0, 0x7ffff", 0x7ffff000n],
    ["LUI 0xfffff gives -4096", "lui a0, 0xfffff", -4096n],
    ["AUIPC 0 gives the address of the AUIPC", "here: auipc a0, 0", (s) => s("here")],
    ["AUIPC 0x80000 adds the sign-extended -2^31 to the pc", "here: auipc a0, 0x80000", (s) => s("here") - 0x8000_0000n],
    ["AUIPC 0x7ffff adds +0x7ffff000 to the pc", "here: auipc a0, 0x7ffff", (s) => s("here") + 0x7ffff000n],
  ]);
});

describe("JAL and JALR: link = pc+4, JALR target = (rs1 + imm) & ~1", () => {
  checkCases([
    ["JAL writes pc+4 to rd", "site: jal a0, 1f\n nop\n1:", (s) => s("site") + 4n],
    ["JALR clears bit 0 of the target and links pc+4",
      "la a1, 2f\n addi a1, a1, 1\nsite: jalr a0, 0(a1)\n li a0, 0\n j 3f\n2: la a2, site\n sub a0, a0, a2\n3:", 4n],
    ["JALR with rd = rs1 jumps to the old rs1", "la a0, 2f\nsite: jalr a0, 0(a0)\n li a0, 0\n2:", (s) => s("site") + 4n],
    ["JALR adds a negative offset", "li a3, 0\n la a1, 3f\n jalr zero, -8(a1)\n li a3, 1\n j 3f\n li a3, 7\n nop\n3: mv a0, a3", 7n],
  ]);
});

describe("branches: taken and not taken, forward and backward (negative offset)", () => {
  const cases: [string, bigint, bigint, boolean][] = [
    ["beq", 5n, 5n, true], ["beq", 5n, 6n, false],
    ["bne", 0x1_0000_0000n, 0n, true], ["bne", -1n, -1n, false],
    ["blt", -1n, 1n, true], ["blt", 1n, -1n, false], ["blt", 0x1_0000_0000n, 0xffffffffn, false],
    ["bge", -1n, -1n, true], ["bge", -2n, -1n, false],
    ["bltu", 1n, -1n, true], ["bltu", -1n, 1n, false], ["bltu", 0xffffffffn, 0x1_0000_0000n, true],
    ["bgeu", -1n, 1n, true], ["bgeu", 0n, 1n, false],
  ];
  for (const [op, a, b, taken] of cases) {
    it(`${op} ${a}, ${b} is ${taken ? "taken" : "not taken"}, with a forward and a backward target`, () => {
      const fwd = run(`li a1, ${a}\n li a2, ${b}\n ${op} a1, a2, 1f\n li a0, 1\n j 2f\n1: li a0, 2\n2:`);
      const back = run(`li a1, ${a}\n li a2, ${b}\n j 2f\n1: li a0, 2\n j 3f\n2: ${op} a1, a2, 1b\n li a0, 1\n3:`);
      expect(fwd.x(A0)).toBe(taken ? 2n : 1n);
      expect(back.x(A0)).toBe(taken ? 2n : 1n);
    });
  }
});

describe("loads sign- or zero-extend by width; stores write exactly their width", () => {
  const NEG = "li a1, 0x8182838485868788\n sd a1, 0(s11)\n";
  const POS = "li a1, 0x7172737475767778\n sd a1, 0(s11)\n";
  const ONES = "li a1, -1\n sd a1, 0(s11)\n li a2, 0x1122334455667788\n";
  checkCases([
    ["LB sign-extends bit 7", NEG + "lb a0, 0(s11)", -0x78n],
    ["LB of byte 7 (0x81)", NEG + "lb a0, 7(s11)", -0x7fn],
    ["LBU zero-extends", NEG + "lbu a0, 0(s11)", 0x88n],
    ["LH sign-extends bit 15", NEG + "lh a0, 0(s11)", 0x8788n - 0x10000n],
    ["LHU zero-extends", NEG + "lhu a0, 0(s11)", 0x8788n],
    ["LW sign-extends bit 31", NEG + "lw a0, 0(s11)", 0x85868788n - 0x1_0000_0000n],
    ["LWU zero-extends", NEG + "lwu a0, 0(s11)", 0x85868788n],
    ["LD loads all 64 bits", NEG + "ld a0, 0(s11)", 0x8182838485868788n],
    ["LB of a positive byte", POS + "lb a0, 0(s11)", 0x78n],
    ["LH of a positive halfword", POS + "lh a0, 0(s11)", 0x7778n],
    ["LW of a positive word", POS + "lw a0, 0(s11)", 0x75767778n],
    ["loads add a negative offset", NEG + "addi a3, s11, 8\n lw a0, -4(a3)", 0x81828384n - 0x1_0000_0000n],
    ["SB writes one byte", ONES + "sb a2, 1(s11)\n ld a0, 0(s11)", 0xffffffff_ffff88ffn],
    ["SH writes two bytes", ONES + "sh a2, 2(s11)\n ld a0, 0(s11)", 0xffffffff_7788ffffn],
    ["SW writes four bytes", ONES + "sw a2, 4(s11)\n ld a0, 0(s11)", 0x55667788_ffffffffn],
    ["SD writes eight bytes", ONES + "sd a2, 0(s11)\n ld a0, 0(s11)", 0x1122334455667788n],
  ]);
});

describe("misaligned loads and stores are performed, not trapped (docs/riscv64.md)", () => {
  const BYTES = "li a1, 0x0706050403020100\n sd a1, 0(s11)\n li a1, 0x0f0e0d0c0b0a0908\n sd a1, 8(s11)\n";
  checkCases([
    ["LD at offset 1", BYTES + "ld a0, 1(s11)", 0x0807060504030201n],
    ["LW at offset 3 (sign bit clear)", BYTES + "lw a0, 3(s11)", 0x06050403n],
    ["LH at offset 7 straddles the doubleword", BYTES + "lh a0, 7(s11)", 0x0807n],
    ["SD at offset 3 writes bytes 3..10", BYTES + "li a2, -1\n sd a2, 3(s11)\n ld a0, 0(s11)", 0xffffffffff020100n],
    ["SD at offset 3 writes bytes 3..10 (second doubleword)", BYTES + "li a2, -1\n sd a2, 3(s11)\n ld a0, 8(s11)", 0x0f0e0d0c0bffffffn],
    ["SD and LD across a 4 KiB page boundary (3 bytes + 5 bytes)",
      "li t0, 4093\n add a3, s11, t0\n li a2, 0x8877665544332211\n sd a2, 0(a3)\n ld a0, 0(a3)", 0x8877665544332211n],
    ["a page-crossing SD leaves its first 3 bytes at the end of the first page",
      "li t0, 4088\n add a3, s11, t0\n li a2, 0x8877665544332211\n sd a2, 5(a3)\n ld a0, 0(a3)", 0x332211_0000000000n],
    ["a page-crossing SW leaves its last 2 bytes at the start of the second page",
      "li t0, 4096\n add a3, s11, t0\n li a2, 0x44332211\n sw a2, -2(a3)\n lhu a0, 0(a3)", 0x4433n],
  ]);
});

describe("M extension: MUL/MULH*/DIV/REM with negative, large and corner-case operands", () => {
  checkCases([
    ["MUL keeps the low 64 bits: 2^32 * 2^32 = 0", rr("mul", 1n << 32n, 1n << 32n), 0n],
    ["MUL -1 * -1 = 1", rr("mul", -1n, -1n), 1n],
    ["MUL 0xffffffff * 0xffffffff crosses the word boundary", rr("mul", 0xffffffffn, 0xffffffffn), 0xfffffffe_00000001n],
    ["MULH (signed x signed) of -1 * -1 is 0", rr("mulh", -1n, -1n), 0n],
    ["MULH of MIN * MIN is 2^62", rr("mulh", MIN, MIN), 1n << 62n],
    ["MULH of MIN * -1: the product 2^63 has high half 0", rr("mulh", MIN, -1n), 0n],
    ["MULH of MIN * 1 is -1 (sign of the 128-bit product)", rr("mulh", MIN, 1n), -1n],
    ["MULHU of (2^64-1)^2 is 2^64-2", rr("mulhu", -1n, -1n), -2n],
    ["MULHSU: -1 (signed) * (2^64-1) (unsigned) has high half -1", rr("mulhsu", -1n, -1n), -1n],
    ["MULHSU: 2 * (2^64-1) has high half 1", rr("mulhsu", 2n, -1n), 1n],
    ["MULW ignores bits 63:32 and sign-extends: 0x7fffffff * 2", rr("mulw", 0xabcd_0000_7fffffffn, 2n), -2n],
    ["MULW of 0x10000 * 0x10000 is 0 (low 32 bits)", rr("mulw", 0x10000n, 0x10000n), 0n],
    ["DIV by zero gives -1", rr("div", 1234n, 0n), -1n],
    ["DIVU by zero gives 2^64-1", rr("divu", 1234n, 0n), M64],
    ["REM by zero gives the dividend", rr("rem", -1234n, 0n), -1234n],
    ["REMU by zero gives the dividend", rr("remu", -1234n, 0n), -1234n],
    ["DIV overflow: MIN / -1 = MIN", rr("div", MIN, -1n), MIN],
    ["REM overflow: MIN % -1 = 0", rr("rem", MIN, -1n), 0n],
    ["DIV rounds toward zero: -7 / 2 = -3", rr("div", -7n, 2n), -3n],
    ["REM takes the dividend's sign: -7 % 2 = -1", rr("rem", -7n, 2n), -1n],
    ["REM takes the dividend's sign: 7 % -2 = 1", rr("rem", 7n, -2n), 1n],
    ["DIVU treats -1 as 2^64-1", rr("divu", -1n, 2n), MAX],
    ["REMU of large values", rr("remu", -1n, 10n), 5n],
    ["DIVW by zero gives -1", rr("divw", 5n, 0n), -1n],
    ["DIVUW by zero gives all ones (2^32-1 sign-extended)", rr("divuw", 5n, 0n), -1n],
    ["REMW by zero gives the sign-extended low word of the dividend", rr("remw", 0x1_8000_0000n, 0n), -0x80000000n],
    ["REMUW by zero gives the sign-extended low word of the dividend", rr("remuw", 0x1_8000_0000n, 0n), -0x80000000n],
    ["DIVW overflow: -2^31 / -1 = -2^31", rr("divw", -0x80000000n, -1n), -0x80000000n],
    ["REMW overflow: -2^31 % -1 = 0", rr("remw", -0x80000000n, -1n), 0n],
    ["DIVW ignores bits 63:32: (2^32 - 8) / 2 is -4", rr("divw", 0xffff_fff8n, 2n), -4n],
    ["DIVUW sign-extends its 32-bit quotient", rr("divuw", 0x8000_0000n, 1n), -0x80000000n],
    ["REMUW is unsigned on 32 bits: 0xffffffff % 10 = 5", rr("remuw", 0xffff_ffffn, 10n), 5n],
  ]);
});

describe("A extension: LR/SC pairing", () => {
  it("LR.D then SC.D to the same address succeeds (rd = 0) and stores", () => {
    const r = run("li a1, 5\n sd a1, 0(s11)\n li a2, 9\n lr.d a0, (s11)\n sc.d a4, a2, (s11)\n ld a3, 0(s11)");
    expect([r.x(A0), r.x(A4), r.x(A3)]).toEqual([5n, 0n, 9n]);
  });
  it("SC.D without a reservation fails (rd = 1) and does not store", () => {
    const r = run("li a1, 5\n sd a1, 0(s11)\n li a2, 9\n sc.d a4, a2, (s11)\n ld a3, 0(s11)");
    expect([r.x(A4), r.x(A3)]).toEqual([1n, 5n]);
  });
  it("a successful SC consumes the reservation: a second SC fails", () => {
    const r = run("li a2, 9\n lr.d a0, (s11)\n sc.d a4, a2, (s11)\n li a2, 10\n sc.d a5, a2, (s11)\n ld a3, 0(s11)\n mv a0, a5");
    expect([r.x(A4), r.x(A0), r.x(A3)]).toEqual([0n, 1n, 9n]);
  });
  it("SC to an address outside the reservation fails", () => {
    const r = run("addi a5, s11, 8\n li a2, 9\n lr.d a0, (s11)\n sc.d a4, a2, (a5)\n ld a3, 8(s11)");
    expect([r.x(A4), r.x(A3)]).toEqual([1n, 0n]);
  });
  it("LR.W sign-extends the loaded word; SC.W writes only the low word", () => {
    const r = run("li a1, 0x1111111180000000\n sd a1, 0(s11)\n li a2, 7\n lr.w a0, (s11)\n sc.w a4, a2, (s11)\n ld a3, 0(s11)");
    expect([hex(r.x(A0)), r.x(A4), hex(r.x(A3))]).toEqual([hex(u64(-0x80000000n)), 0n, "0x1111111100000007"]);
  });
});

describe("A extension: every AMO returns the old value (.w sign-extended) and stores op(old, rs2)", () => {
  const W_HI = 0x11111111_00000000n;
  const amos: [string, bigint, bigint, bigint, bigint][] = [
    // [insn, memory before, rs2, rd, memory after]
    ["amoswap.w", W_HI | 0x8000_0000n, 7n, -0x80000000n, W_HI | 7n],
    ["amoswap.d", MIN, 1n, MIN, 1n],
    ["amoadd.w", W_HI | 0x7fff_ffffn, 1n, 0x7fff_ffffn, W_HI | 0x8000_0000n],
    ["amoadd.w", W_HI | 0xffff_ffffn, 1n, -1n, W_HI],
    ["amoadd.d", 0xffff_ffffn, 1n, 0xffff_ffffn, 0x1_0000_0000n],
    ["amoxor.w", W_HI | 0xf0f0_f0f0n, -1n, 0xf0f0_f0f0n - 0x1_0000_0000n, W_HI | 0x0f0f_0f0fn],
    ["amoxor.d", 0xff00n, 0x0ff0n, 0xff00n, 0xf0f0n],
    ["amoand.w", W_HI | 0xffff_0000n, 0x0ff0_0ff0n, -0x10000n, W_HI | 0x0ff0_0000n],
    ["amoand.d", -1n, 0x1234_5678_9abc_def0n, -1n, 0x1234_5678_9abc_def0n],
    ["amoor.w", W_HI | 1n, 0x8000_0000n, 1n, W_HI | 0x8000_0001n],
    ["amoor.d", 0x1_0000_0000n, 1n, 0x1_0000_0000n, 0x1_0000_0001n],
    ["amomin.w", W_HI | 0xffff_ffffn, 1n, -1n, W_HI | 0xffff_ffffn],
    ["amominu.w", W_HI | 0xffff_ffffn, 1n, -1n, W_HI | 1n],
    ["amomax.w", W_HI | 0xffff_ffffn, 1n, -1n, W_HI | 1n],
    ["amomaxu.w", W_HI | 0xffff_ffffn, 1n, -1n, W_HI | 0xffff_ffffn],
    ["amomin.w", W_HI, 0x1_8000_0000n, 0n, W_HI | 0x8000_0000n],
    ["amomin.d", 1n, MIN, 1n, MIN],
    ["amominu.d", 1n, MIN, 1n, 1n],
    ["amomax.d", 1n, MIN, 1n, 1n],
    ["amomaxu.d", 1n, MIN, 1n, MIN],
    ["amomaxu.d", 0x1_0000_0000n, 0xffff_ffffn, 0x1_0000_0000n, 0x1_0000_0000n],
  ];
  for (const [insn, before, rs2, rd, after] of amos) {
    it(`${insn}: memory ${hex(u64(before))}, rs2 ${hex(u64(rs2))} -> rd ${hex(u64(rd))}, memory ${hex(u64(after))}`, () => {
      const r = run(`li a1, ${before}\n sd a1, 0(s11)\n li a2, ${rs2}\n ${insn} a0, a2, (s11)\n ld a3, 0(s11)`);
      expect(hex(r.x(A0))).toBe(hex(u64(rd)));
      expect(hex(r.x(A3))).toBe(hex(u64(after)));
    });
  }
});

describe("misaligned atomics trap: LR -> load address misaligned (4), SC/AMO -> store/AMO misaligned (6)", () => {
  const cases: [string, number, number][] = [
    ["amoadd.w a0, a2, (a1)", 2, 6], ["amoswap.d a0, a2, (a1)", 4, 6], ["amomaxu.d a0, a2, (a1)", 1, 6],
    ["sc.w a0, a2, (a1)", 1, 6], ["sc.d a0, a2, (a1)", 4, 6],
    ["lr.w a0, (a1)", 2, 4], ["lr.d a0, (a1)", 4, 4],
  ];
  for (const [insn, off, cause] of cases) {
    it(`${insn.split(" ")[0]} at buf+${off} -> cause ${cause}, mtval = the address, memory and rd unchanged`, () => {
      const r = run(`li a0, 77\n li a2, -1\n addi a1, s11, ${off}\nsite: ${insn}`);
      expect(r.traps.map((t) => [t.cause, t.tval, t.epc])).toEqual([[cause, hex(r.sym("buf") + BigInt(off)), hex(r.sym("site"))]]);
      expect(r.x(A0)).toBe(77n);
      expect(r.mem64(r.sym("buf"))).toBe(0n);
    });
  }
});

describe("C extension: compressed instructions behave as their 32-bit expansions", () => {
  checkCases([
    ["C.ADDI16SP adds a multiple of 16 to sp", ".option rvc\n mv a1, sp\n c.addi16sp sp, -64\n sub a0, a1, sp\n addi sp, sp, 64", 64n],
    ["C.SDSP and C.LDSP store and load at sp + 8*k",
      ".option rvc\n addi sp, sp, -64\n li a1, 0x123456789abcdef0\n c.sdsp a1, 24(sp)\n c.ldsp a0, 24(sp)", 0x123456789abcdef0n],
    ["C.LWSP sign-extends the loaded word", ".option rvc\n addi sp, sp, -64\n li a1, 0x80000000\n sd a1, 8(sp)\n c.lwsp a0, 8(sp)", -0x80000000n],
    ["C.SRAI shifts arithmetically", ".option rvc\n li a0, -256\n c.srai a0, 4", -16n],
    ["C.AND is a full 64-bit AND", ".option rvc\n li a0, 0xff000000ff00ff00\n li a1, 0x0f0000000ff00ff0\n c.and a0, a1", 0x0f0000000f000f00n],
    ["C.SUBW ignores bits 63:32 and sign-extends", ".option rvc\n li a0, 0x1234567880000000\n li a1, 1\n c.subw a0, a1", 0x7fffffffn],
    ["C.BEQZ is taken on zero, backward", ".option rvc\n li a1, 0\n j 2f\n1: li a0, 2\n j 3f\n2: c.beqz a1, 1b\n li a0, 1\n3:", 2n],
    ["C.BEQZ is not taken on non-zero", ".option rvc\n li a1, 0x100000000\n c.beqz a1, 1f\n li a0, 1\n j 2f\n1: li a0, 2\n2:", 1n],
    ["C.JR jumps to rs1 without linking", ".option rvc\n li ra, 0\n la a1, 1f\n c.jr a1\n li ra, 5\n1: mv a0, ra", 0n],
    ["C.JALR links pc+2", ".option rvc\n la a1, 1f\nsite: c.jalr a1\n nop\n1: mv a0, ra", (s) => s("site") + 2n],
  ]);
});

describe("instruction fetch: page-crossing instructions and code modified by stores", () => {
  checkCases([
    ["a 32-bit instruction that straddles a 4 KiB page boundary executes",
      "li a0, 0\n j 1f\n .align 12\n .zero 4094\n1: addi a0, zero, 123", 123n],
    ["a store to the instruction stream followed by FENCE.I executes the new instruction",
      "la a1, 1f\n li a2, 0x07b00513\n sw a2, 0(a1)\n fence.i\n1: addi a0, zero, 1", 123n],
  ]);
});

describe("illegal instructions: cause 2 with mtval = the instruction bits, epc = the instruction", () => {
  it(".half 0 (the all-zero 16-bit parcel) is illegal, mtval 0", () => {
    const r = run("site: .half 0");
    expect(r.traps.map((t) => [t.cause, t.tval, t.epc])).toEqual([[2, "0x0", hex(r.sym("site"))]]);
  });
  it(".word 0 is two all-zero 16-bit parcels (low bits 00 = a 16-bit length): two illegal-instruction traps", () => {
    const r = run("site: .word 0");
    const s = r.sym("site");
    expect(r.traps.map((t) => [t.cause, t.tval, t.epc])).toEqual([[2, "0x0", hex(s)], [2, "0x0", hex(s + 2n)]]);
  });
  it("a reserved 32-bit encoding (OP with funct7 = 0x7f) reports its bits zero-extended", () => {
    const r = run("site: .word 0xfe000033");
    expect(r.traps.map((t) => [t.cause, t.tval, t.epc])).toEqual([[2, "0xfe000033", hex(r.sym("site"))]]);
  });
  it("a reserved 16-bit encoding (C.ADDI4SPN with imm 0) reports its 16 bits", () => {
    const r = run("site: .half 0x0004");
    expect(r.traps.map((t) => [t.cause, t.tval, t.epc])).toEqual([[2, "0x4", hex(r.sym("site"))]]);
  });
  it("an unimplemented CSR (fcsr 0x003: no F extension) is illegal; rd is not written", () => {
    const r = run("li a0, 77\nsite: csrr a0, 0x003");
    // csrrs a0, 0x003, x0 = 0x003 << 20 | 2 << 12 | 10 << 7 | 0x73
    expect(r.traps.map((t) => [t.cause, t.tval, t.epc])).toEqual([[2, "0x302573", hex(r.sym("site"))]]);
    expect(r.x(A0)).toBe(77n);
    expect(r.v.machine.harts[0]!.csrLo[0x343]).toBe(0x302573);
  });
});
