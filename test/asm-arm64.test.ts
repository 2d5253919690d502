/**
 * The AArch64 assembler (tools/asm/arm64): encodings per instruction group (the expected words
 * are what `aarch64-linux-gnu-as -march=armv8.2-a` produces; test/reference/asm-arm64-gnu.test.ts
 * re-checks far more against the installed binutils), PC-relative fixups, directives, the
 * ELF it writes, and errors (one line, `file:line: message`).
 */
import { describe, expect, it } from "vitest";
import { AsmError, assembleArm64, assembleArm64Raw, DEFAULT_BASE, mnemonics } from "../tools/asm/arm64/index.js";
import { decodeBitmask, encodeBitmask, wideChunk } from "../tools/asm/arm64/immediates.js";

/** The little-endian words of an image. */
function words(image: Uint8Array): number[] {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  return Array.from({ length: image.byteLength >> 2 }, (_, i) => view.getUint32(4 * i, true));
}

/** Each line alone assembles to its word. */
function expectWords(table: [line: string, word: number][]): void {
  for (const [line, word] of table) expect(words(assembleArm64Raw(line)), line).toEqual([word]);
}

/** The AsmError message of assembling `src`. */
function errorOf(src: string): string {
  try {
    assembleArm64(src, { fileName: "t.s" });
  } catch (e) {
    expect(e).toBeInstanceOf(AsmError);
    return (e as Error).message;
  }
  throw new Error(`no error for ${src}`);
}

describe("A64 encodings (as GNU as encodes them)", () => {
  it("add/sub immediate, shifted and extended register: GNU flips negative immediates, uses lsl #12, and the extended form next to SP", () => {
    expectWords([
    ["add x0, x1, #4096", 0x91400420],
    ["sub x0, x1, #-8", 0x91002020],
    ["add sp, sp, #16", 0x910043ff],
    ["add x0, sp, x1", 0x8b2163e0],
    ["add x0, x1, w2, sxtw #2", 0x8b22c820],
    ["adds x0, x1, x2, asr #5", 0xab821420],
    ["cmp x0, #4", 0xf100101f],
    ["cmn w0, #1", 0x3100041f],
    ["cmp sp, x1", 0xeb2163ff],
    ["neg x0, x1, lsl #2", 0xcb010be0],
    ["ngc w3, w4", 0x5a0403e3],
    ]);
  });

  it("logical immediates use the bitmask encoding; bic takes the inverted immediate", () => {
    expectWords([
    ["and x0, x1, #0xff", 0x92401c20],
    ["orr w0, w1, #0x80000001", 0x32010420],
    ["eor x0, x1, #0x5555555555555555", 0xd200f020],
    ["and w0, w1, #0xfffffffe", 0x121f7820],
    ["tst w0, #1", 0x7200001f],
    ["bic x0, x1, #0xff", 0x9278dc20],
    ["orn w0, w1, w2, ror #3", 0x2ae20c20],
    ["mvn x0, x1", 0xaa2103e0],
    ]);
  });

  it("mov picks ADD for SP, ORR for registers, then MOVZ, MOVN, ORR for immediates", () => {
    expectWords([
    ["mov x0, x1", 0xaa0103e0],
    ["mov sp, x0", 0x9100001f],
    ["mov x0, sp", 0x910003e0],
    ["mov x0, #0", 0xd2800000],
    ["mov x0, #-1", 0x92800000],
    ["mov w0, #-1", 0x12800000],
    ["mov x0, #0x10000", 0xd2a00020],
    ["mov x0, #0xffffffffffff1234", 0x929db960],
    ["mov x0, #0xff00ff00ff00ff00", 0xb2089fe0],
    ["mov w0, #0xffff0000", 0x52bfffe0],
    ["movz x0, #1, lsl #32", 0xd2c00020],
    ["movk x0, #0xbeef, lsl #16", 0xf2b7dde0],
    ["movn w0, #5", 0x128000a0],
    ]);
  });

  it("bitfield aliases encode as SBFM/BFM/UBFM/EXTR, register shifts as LSLV...", () => {
    expectWords([
    ["lsl x0, x1, #3", 0xd37df020],
    ["lsr w0, w1, #31", 0x531f7c20],
    ["asr x0, x1, x2", 0x9ac22820],
    ["ror x0, x1, #7", 0x93c11c20],
    ["ubfx x0, x1, #4, #8", 0xd3442c20],
    ["sbfiz x0, x1, #3, #5", 0x937d1020],
    ["bfi x0, x1, #8, #16", 0xb3783c20],
    ["sxtw x0, w1", 0x93407c20],
    ["uxtb w0, w1", 0x53001c20],
    ["extr x0, x1, x2, #9", 0x93c22420],
    ["udiv x0, x1, x2", 0x9ac20820],
    ["sdiv w0, w1, w2", 0x1ac20c20],
    ]);
  });

  it("one- and three-source data processing, conditional select and compare", () => {
    expectWords([
    ["rbit x0, x1", 0xdac00020],
    ["rev w0, w1", 0x5ac00820],
    ["rev16 x0, x1", 0xdac00420],
    ["clz x0, x1", 0xdac01020],
    ["madd x0, x1, x2, x3", 0x9b020c20],
    ["mul w0, w1, w2", 0x1b027c20],
    ["smulh x0, x1, x2", 0x9b427c20],
    ["umull x0, w1, w2", 0x9ba27c20],
    ["csel x0, x1, x2, eq", 0x9a820020],
    ["cset x0, lt", 0x9a9fa7e0],
    ["csetm w0, hi", 0x5a9f93e0],
    ["cinc x0, x1, ge", 0x9a81b420],
    ["cneg x0, x1, mi", 0xda815420],
    ["ccmp x0, #5, #4, ne", 0xfa451804],
    ["ccmn w0, w1, #0, eq", 0x3a410000],
    ]);
  });

  it("loads and stores: scaled offset when possible, else unscaled; writeback, register offset, pairs, exclusives", () => {
    expectWords([
    ["ldr x0, [x1, #8]", 0xf9400420],
    ["ldr x0, [x1, #-8]", 0xf85f8020],
    ["ldr x0, [x1, #3]", 0xf8403020],
    ["ldr w0, [x1, #4]!", 0xb8404c20],
    ["ldr x0, [x1], #16", 0xf8410420],
    ["ldrb w0, [x1, #4095]", 0x397ffc20],
    ["ldrsb x0, [x1]", 0x39800020],
    ["ldrsw x0, [x1, #4]", 0xb9800420],
    ["str x0, [sp, #-16]!", 0xf81f0fe0],
    ["ldr x0, [x1, x2, lsl #3]", 0xf8627820],
    ["ldr x0, [x1, w2, sxtw #3]", 0xf862d820],
    ["ldrb w0, [x1, x2, lsl #0]", 0x38627820],
    ["ldur x0, [x1, #8]", 0xf8408020],
    ["ldtr x0, [x1, #8]", 0xf8408820],
    ["sttrb w0, [x1]", 0x38000820],
    ["ldp x29, x30, [sp], #16", 0xa8c17bfd],
    ["stp x29, x30, [sp, #-16]!", 0xa9bf7bfd],
    ["ldpsw x0, x1, [x2]", 0x69400440],
    ["ldxr x0, [x1]", 0xc85f7c20],
    ["stxr w2, x0, [x1]", 0xc8027c20],
    ["ldaxr w0, [x1]", 0x885ffc20],
    ["stlxr w2, w0, [x1]", 0x8802fc20],
    ["ldar x0, [x1]", 0xc8dffc20],
    ["stlr w0, [x1]", 0x889ffc20],
    ]);
  });

  it("branches to registers, exception generation, hints and barriers", () => {
    expectWords([
    ["br x0", 0xd61f0000],
    ["blr x1", 0xd63f0020],
    ["ret", 0xd65f03c0],
    ["svc #0", 0xd4000001],
    ["hvc #0", 0xd4000002],
    ["smc #0", 0xd4000003],
    ["brk #1", 0xd4200020],
    ["eret", 0xd69f03e0],
    ["wfi", 0xd503207f],
    ["nop", 0xd503201f],
    ["dmb ish", 0xd5033bbf],
    ["dsb sy", 0xd5033f9f],
    ["isb", 0xd5033fdf],
    ]);
  });

  it("system registers by name and generic form, PSTATE immediates, TLBI", () => {
    expectWords([
    ["msr sctlr_el1, x0", 0xd5181000],
    ["mrs x0, currentel", 0xd5384240],
    ["msr daifset, #2", 0xd50342df],
    ["msr daifclr, #0xf", 0xd5034fff],
    ["msr spsel, #1", 0xd50041bf],
    ["msr pan, #1", 0xd500419f],
    ["mrs x0, s3_0_c1_c0_0", 0xd5381000],
    ["mrs x0, cntvct_el0", 0xd53be040],
    ["tlbi vmalle1", 0xd508871f],
    ["tlbi vae1is, x0", 0xd5088320],
    ["tlbi aside1, x1", 0xd5088741],
    ["tlbi vaale1is, x2", 0xd50883e2],
    ]);
  });
});

describe("logical (bitmask) immediates", () => {
  it("every encodable value of each element size round-trips through encode and decode", () => {
    let count64 = 0;
    for (const e of [2, 4, 8, 16, 32, 64]) {
      for (let ones = 1; ones < e; ones++) {
        for (let rot = 0; rot < e; rot++) {
          const run = (1n << BigInt(ones)) - 1n;
          const elt = ((run >> BigInt(rot)) | (run << BigInt(e - rot))) & ((1n << BigInt(e)) - 1n);
          let v = 0n;
          for (let i = 0; i < 64; i += e) v |= elt << BigInt(i);
          const f = encodeBitmask(v, 64);
          expect(f, `0x${v.toString(16)}`).toBeDefined();
          expect(decodeBitmask(f!, 64)).toBe(v);
          count64++;
        }
      }
    }
    expect(count64).toBe(5334);
  });

  it("zero, all ones and non-repeating patterns are not encodable", () => {
    for (const v of [0n, (1n << 64n) - 1n, 0x12345n, 0x5n, 0xf0f0f0f0f0f0f0f1n]) expect(encodeBitmask(v, 64)).toBeUndefined();
    expect(encodeBitmask(0xffffffffn, 32)).toBeUndefined();
    expect(encodeBitmask(0x0000ffff0000ffffn, 64)).toEqual({ n: 0, immr: 0, imms: 0b001111 });
    expect(errorOf("and x0, x1, #0x12345")).toBe("t.s:1: and x0, x1, #0x12345: immediate 0x12345 cannot be encoded as a logical immediate");
    expect(errorOf("orr w0, w1, #0")).toMatch(/cannot be encoded as a logical immediate/);
  });

  it("a move-wide chunk is one 16-bit piece at a 16-bit boundary", () => {
    expect(wideChunk(0x12340000n, 64)).toEqual([0x1234, 1]);
    expect(wideChunk(0n, 64)).toEqual([0, 0]);
    expect(wideChunk(0x10001n, 64)).toBeUndefined();
    expect(wideChunk(0x12345n, 32)).toBeUndefined();
  });
});

describe("PC-relative fixups", () => {
  it("branch, compare-and-branch, test-and-branch, adr and literal loads measure from the instruction", () => {
    const src = "_start:\n b 1f\n b.eq _start\n cbz x0, 1f\n tbnz w1, #3, _start\n adr x0, 1f\n ldr x1, 1f\n bl .\n1: nop";
    expect(words(assembleArm64Raw(src))).toEqual([0x14000007, 0x54ffffe0, 0xb40000a0, 0x371fffa1, 0x10000060, 0x58000041, 0x94000000, 0xd503201f]);
  });

  it("adrp counts 4 KiB pages and :lo12: supplies the low 12 bits, scaled by the access size", () => {
    const src = "_start:\n adrp x0, v\n add x0, x0, :lo12:v\n ldr x1, [x0, :lo12:v]\n ldrh w2, [x0, #:lo12:v + 2]\n.data\n.skip 16\nv: .quad 1";
    const base = 0x4000_0ff8n;
    const [adrp, add, ldr, ldrh] = words(assembleArm64Raw(src, base));
    // _start at 0x40000ff8 (page 0x40000000); .data at 0x40002000, v at 0x40002010: two pages up.
    expect(adrp).toBe(0xd0000000);
    expect(add).toBe(0x91004000);
    expect(ldr).toBe(0xf9400801);
    expect(ldrh).toBe(0x79402402);
  });

  it("a :lo12: offset that is not a multiple of the access size is an error", () => {
    expect(errorOf("ldr x0, [x0, :lo12:v]\n.data\n.byte 1\nv: .quad 1")).toMatch(/^t\.s:1: :lo12: offset 0x1 .* is not a multiple of the access size 8$/);
  });

  it("branch targets out of range or not 4-byte aligned name the line", () => {
    expect(errorOf("nop\nb.ne far\n.space 0x100000\nfar: ret")).toMatch(/^t\.s:2: branch target 0x[0-9a-f]+ is out of range \(offset 1048580/);
    expect(errorOf("tbz x0, #1, far\n.space 0x8000\nfar: ret")).toMatch(/^t\.s:1: test-and-branch target .* out of range/);
    expect(errorOf("b odd\n.byte 1\nodd: ret")).toMatch(/^t\.s:1: branch target 0x40080005 is not 4-byte aligned$/);
    expect(errorOf("b nowhere")).toBe("t.s:1: undefined symbol `nowhere'");
  });
});

describe("source syntax and directives", () => {
  it("// comments anywhere, # comments at the start of a line, ; separates statements", () => {
    expect(words(assembleArm64Raw("# leading comment\n  nop // trailing\n  mov x0, #1; ret"))).toEqual([0xd503201f, 0xd2800020, 0xd65f03c0]);
  });

  it("immediates may omit #, use expressions, .equ symbols and character literals", () => {
    expect(words(assembleArm64Raw(".equ K, 3\n mov x0, K * 2 + 1\n add x1, x1, 'a'\n movz x2, #(1 << 4)"))).toEqual([0xd28000e0, 0x91018421, 0xd2800202]);
  });

  it("data directives, .hword/.word/.quad/.xword and alignment with NOP padding in code", () => {
    const image = assembleArm64Raw("nop\n.byte 1\n.balign 8\n.hword 2, 0\n.word 3\n.xword 4\n.inst 0xd65f03c0");
    expect(Array.from(image.subarray(0, 8))).toEqual([0x1f, 0x20, 0x03, 0xd5, 1, 0, 0, 0]);
    expect(words(image.subarray(8))).toEqual([2, 3, 4, 0, 0xd65f03c0]);
    expect(words(assembleArm64Raw("nop\n.align 4\nret"))).toEqual([0xd503201f, 0xd503201f, 0xd503201f, 0xd503201f, 0xd65f03c0]);
  });

  it("ldr Rt, =value loads from a literal pool placed at .ltorg or at the end of the section", () => {
    expect(words(assembleArm64Raw("ldr x0, =0x1122334455667788\nldr w1, =7\nldr x2, =0x1122334455667788\nret"))).toEqual([
      0x580000c0, 0x18000061, 0x58000082, 0xd65f03c0, 7, 0, 0x55667788, 0x11223344,
    ]);
    expect(words(assembleArm64Raw("ldr w0, =9\n.ltorg\nnop"))).toEqual([0x18000020, 9, 0xd503201f]);
  });

  it(".org pads to a section offset or to an offset from a label of the section", () => {
    expect(words(assembleArm64Raw("nop\nv: nop\n.org v + 12\nret\n.org 20\neret"))).toEqual([0xd503201f, 0xd503201f, 0, 0, 0xd65f03c0, 0xd69f03e0]);
    expect(errorOf("v: nop\nnop\n.org v + 4\nret")).toBe("t.s:3: .org 4 moves backwards (section offset is already 8)");
    expect(errorOf(".org later\nlater: nop")).toMatch(/^t\.s:1: \.org: \.org target must be a constant or an offset from a label/);
  });

  it("immediates that depend on later labels are encoded once known, choosing the form then (as GNU does)", () => {
    const src = "s: mov x0, #(e - s)\nmov x1, #(s - e)\nadd x2, x2, #(s - e)\nldr x3, [x4, #(e - s + 4)]\n.balign 32\ne: nop";
    expect(words(assembleArm64Raw(src)).slice(0, 4)).toEqual([0xd2800400, 0x928003e1, 0xd1008042, 0xf8424083]);
    expect(errorOf("add x0, x0, #(e - s)\ns: .space 5000\ne: nop")).toBe("t.s:1: add x0, x0, #(e - s): immediate 5000 out of range [0, 4095]");
    expect(errorOf("mov x0, #typo")).toBe("t.s:1: mov x0, #typo: undefined symbol `typo'");
  });

  it(".macro expands with its arguments; .if selects statements; unbalanced blocks are errors", () => {
    expect(words(assembleArm64Raw(".macro put r, v=7\n mov \\r, #\\v\n.endm\nput x1\nput x2, 9\n.if 1 > 2\nnop\n.else\nret\n.endif"))).toEqual([0xd28000e1, 0xd2800122, 0xd65f03c0]);
    expect(errorOf("nop\n.endif")).toBe("t.s:2: `.endif' without `.if'");
    expect(errorOf(".if 1\nnop")).toBe("t.s:1: `.if' without `.endif'");
    expect(errorOf(".macro m\nnop")).toBe("t.s:1: `.macro' without `.endm'");
    expect(errorOf(".macro m\n m\n.endm\n m")).toMatch(/^t\.s:4: macros nested more than 100 deep/);
    expect(errorOf(".macro m\n add x0, x0, #5000\n.endm\nnop\n m")).toBe("t.s:5: add x0, x0, #5000: immediate 5000 out of range [0, 4095]");
  });

  it("every mnemonic is listed, including each b.cond", () => {
    const all = mnemonics();
    for (const m of ["add", "ldxr", "b.hs", "tlbi", "msr", "ldtrsw", "ubfiz", "csetm"]) expect(all).toContain(m);
  });
});

describe("the ELF it writes", () => {
  it("is ELF64 EM_AARCH64 with one PT_LOAD per section from 0x40080000 and _start as entry", () => {
    const r = assembleArm64(".globl _start\nhelper: ret\n_start: bl helper\n.data\nd: .quad 1\n.bss\nb: .zero 16");
    const v = new DataView(r.elf.buffer, r.elf.byteOffset);
    expect(v.getUint32(0, false)).toBe(0x7f454c46);
    expect(v.getUint16(18, true)).toBe(183);
    expect(DEFAULT_BASE).toBe(0x4008_0000n);
    expect(r.entry).toBe(0x4008_0004n);
    expect(r.segments.map((s) => [s.name, s.vaddr, s.flags, s.memsz])).toEqual([
      [".text", 0x4008_0000n, "rx", 8], [".data", 0x4008_1000n, "rw", 8], [".bss", 0x4008_2000n, "rw", 16],
    ]);
    expect(r.symbols.get("d")).toBe(0x4008_1000n);
  });

  it("honours another base", () => {
    expect(assembleArm64("nop", { base: 0x1000n }).segments[0]!.vaddr).toBe(0x1000n);
  });
});

describe("errors are one line, file:line: message", () => {
  it.each([
    ["nop\nfoo x0", "t.s:2: unknown instruction `foo'"],
    ["add x0, x1, #4097", "t.s:1: add x0, x1, #4097: immediate 4097 out of range [0, 4095]"],
    ["add x0, w1, #1", "t.s:1: add x0, w1, #1: w1: expected an X register"],
    ["add xzr, x1, #1", "t.s:1: add xzr, x1, #1: the destination of an immediate add/sub is SP, not the zero register"],
    ["mov x0, #0x12345", "t.s:1: mov x0, #0x12345: immediate 0x12345 cannot be moved in one instruction (not a MOVZ, MOVN or logical immediate)"],
    ["ldr x0, [x1, #32768]", "t.s:1: ldr x0, [x1, #32768]: offset 32768 out of range (a multiple of 8 in [0, 32760] or [-256, 255])"],
    ["ldp x0, x1, [x2, #4]", "t.s:1: ldp x0, x1, [x2, #4]: offset 4 is not a multiple of 8"],
    ["lsl x0, x1, #64", "t.s:1: lsl x0, x1, #64: shift amount 64 out of range [0, 63]"],
    ["mrs x0, nosuch_el1", "t.s:1: mrs x0, nosuch_el1: unknown system register `nosuch_el1'"],
    ["cset x0, al", "t.s:1: cset x0, al: the condition cannot be al or nv here"],
    ["ldr x0, [xzr]", "t.s:1: ldr x0, [xzr]: base register must be an X register or SP, not `xzr'"],
    ["svc #0x10000", "t.s:1: svc #0x10000: immediate 65536 out of range [0, 65535]"],
    ["tlbi vae1", "t.s:1: tlbi vae1: tlbi vae1 needs register operand"],
    [".data\nnop\n.bss\nnop", "t.s:4: instructions cannot go in .bss"],
  ])("%s", (src, message) => {
    expect(errorOf(src)).toBe(message);
  });
});
