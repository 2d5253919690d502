/**
 * Unit tests of the x86-64 assembler: each encoding rule of the Intel SDM (ModRM/SIB special
 * cases, REX, prefixes, immediate and displacement sizes), the choices GNU as makes where the
 * manual allows several, jump relaxation, directives, the ELF result and the error messages.
 * (test/reference/asm-x86_64-gnu.test.ts checks the same against GNU as byte for byte.)
 */
import { describe, expect, it } from "vitest";
import { EM_X86_64 } from "../tools/asm/elf-writer.js";
import { AsmError, assembleX86_64, assembleX86_64Raw, DEFAULT_BASE } from "../tools/asm/x86_64/index.js";

const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");
/** The .text bytes of `src`, as spaced hex. */
const text = (src: string): string => hex(assembleX86_64(src).segments.find((s) => s.name === ".text")!.bytes);

/** Catches the AsmError of assembling `src`. */
function asmError(src: string): AsmError {
  try {
    assembleX86_64(src, { fileName: "t.s" });
  } catch (e) {
    if (e instanceof AsmError) return e;
    throw e;
  }
  throw new Error(`no error for: ${src}`);
}

describe("ModRM and SIB special cases (SDM Vol. 2A Tables 2-2, 2-3)", () => {
  it("%rsp and %r12 as base need a SIB byte (r/m = 100 means SIB)", () => {
    expect(text("mov (%rsp), %eax")).toBe("8b 04 24");
    expect(text("mov (%r12), %eax")).toBe("41 8b 04 24");
    expect(text("mov 8(%rsp), %rax")).toBe("48 8b 44 24 08");
  });
  it("%rbp and %r13 as base need a displacement (mod 00 r/m 101 is RIP-relative)", () => {
    expect(text("mov (%rbp), %eax")).toBe("8b 45 00");
    expect(text("mov (%r13), %eax")).toBe("41 8b 45 00");
    expect(text("lea (%r13,%rax), %rax")).toBe("49 8d 44 05 00");
  });
  it("a displacement is 8 bits when the constant fits, else 32; none for 0", () => {
    expect(text("mov 127(%rbx), %eax")).toBe("8b 43 7f");
    expect(text("mov -128(%rbx), %eax")).toBe("8b 43 80");
    expect(text("mov 128(%rbx), %eax")).toBe("8b 83 80 00 00 00");
    expect(text("mov 0(%rbx), %eax")).toBe("8b 03");
  });
  it("an absolute address is SIB with no base and no index, disp32 (not RIP-relative)", () => {
    expect(text("mov 0x10, %eax")).toBe("8b 04 25 10 00 00 00");
    expect(text("lea (,%rdx,4), %rax")).toBe("48 8d 04 95 00 00 00 00");
  });
  it("RIP-relative displacements count from the end of the instruction, immediate included", () => {
    expect(text("x: lea x(%rip), %rax")).toBe("48 8d 05 f9 ff ff ff");
    expect(text("x: movl $5, x(%rip)")).toBe("c7 05 f6 ff ff ff 05 00 00 00");
    expect(text("lea 8(%rip), %rax")).toBe("48 8d 05 08 00 00 00");
  });
  it("32-bit addressing takes the 0x67 prefix", () => {
    expect(text("lea (%eax), %eax")).toBe("67 8d 00");
  });
  it("an index of %rsp is refused (SIB index 100 means none)", () => {
    expect(asmError("mov (%rax,%rsp), %eax").message).toMatch(/^t\.s:1: .*not a valid index register/);
  });
});

describe("REX and prefixes (SDM Vol. 2A §2.1.1, §2.2.1)", () => {
  it("REX.W for 64-bit operands, REX.R/X/B for registers 8-15", () => {
    expect(text("mov %rax, %rbx")).toBe("48 89 c3");
    expect(text("mov %r8, %r15")).toBe("4d 89 c7");
    expect(text("mov (%rax,%r9,2), %ecx")).toBe("42 8b 0c 48");
  });
  it("%spl %bpl %sil %dil need a REX prefix; %ah..%bh cannot have one", () => {
    expect(text("mov %sil, (%rax)")).toBe("40 88 30");
    expect(text("movb $1, %spl")).toBe("40 b4 01");
    expect(text("mov %ah, %bl")).toBe("88 e3");
    expect(asmError("mov %ah, %sil").message).toMatch(/can't encode register '%ah' in an instruction requiring REX prefix/);
  });
  it("16-bit operands take the 0x66 prefix", () => {
    expect(text("add %ax, %bx")).toBe("66 01 c3");
    expect(text("pushw $1")).toBe("66 6a 01");
  });
  it("prefixes in GNU's order: segment, operand size, rep/mandatory, lock, REX", () => {
    expect(text("lock cmpxchg %ecx, %fs:(%rax)")).toBe("64 f0 0f b1 08");
    expect(text("popcnt %ax, %bx")).toBe("66 f3 0f b8 d8");
    expect(text("rep movsq")).toBe("f3 48 a5");
    expect(text("mov %gs:8(%rax), %rax")).toBe("65 48 8b 40 08");
  });
  it("a segment override naming the default segment is dropped (SS for %rsp/%rbp bases, else DS)", () => {
    expect(text("mov %ss:(%rbp), %eax")).toBe("8b 45 00");
    expect(text("mov %ds:(%rax), %eax")).toBe("8b 00");
    expect(text("mov %ss:(%r13), %eax")).toBe("36 41 8b 45 00");
  });
});

describe("immediate forms as GNU as picks them", () => {
  it("ALU: sign-extended imm8 (83) when it fits, else the accumulator short form, else 81", () => {
    expect(text("add $1, %rax")).toBe("48 83 c0 01");
    expect(text("add $200, %eax")).toBe("05 c8 00 00 00");
    expect(text("add $200, %ebx")).toBe("81 c3 c8 00 00 00");
    expect(text("add $200, %al")).toBe("04 c8");
    expect(text("addw $0xffff, %ax")).toBe("66 83 c0 ff");
    expect(text("add $0xffffffff, %eax")).toBe("83 c0 ff");
    expect(text("add $sym, %eax\nsym:")).toBe("05 05 00 10 00");
  });
  it("mov to a 64-bit register: C7 with a sign-extended imm32 when it fits, else movabs B8+r imm64", () => {
    expect(text("mov $1, %rax")).toBe("48 c7 c0 01 00 00 00");
    expect(text("mov $-1, %rax")).toBe("48 c7 c0 ff ff ff ff");
    expect(text("mov $0xffffffff, %rax")).toBe("48 b8 ff ff ff ff 00 00 00 00");
    expect(text("movabs $1, %r10")).toBe("49 ba 01 00 00 00 00 00 00 00");
  });
  it("moffs (A0-A3) only for movabs or an address beyond disp32; movabs $imm only into a 64-bit register", () => {
    expect(text("mov 0x123456789, %eax")).toBe("a1 89 67 45 23 01 00 00 00");
    expect(text("movabs 0x10, %ax")).toBe("66 a1 10 00 00 00 00 00 00 00");
    expect(asmError("movabs $1, %eax").message).toMatch(/operand type mismatch for `movabs'/);
    expect(asmError("mov 0x123456789, %ebx").message).toMatch(/operand type mismatch for `mov'/);
  });
  it("shifts by 1 use D0/D1; by %cl D2/D3; else C0/C1 ib", () => {
    expect(text("shl $1, %eax")).toBe("d1 e0");
    expect(text("shl %eax")).toBe("d1 e0");
    expect(text("shl %cl, %eax")).toBe("d3 e0");
    expect(text("sar $3, %rdx")).toBe("48 c1 fa 03");
  });
  it("imul three-operand: 6B ib when the immediate fits a byte, else 69", () => {
    expect(text("imul $3, %eax")).toBe("6b c0 03");
    expect(text("imul $300, %eax, %ebx")).toBe("69 d8 2c 01 00 00");
  });
  it("xchg with the accumulator is 90+r; xchg %eax,%eax is 87 c0 (90 would not zero-extend)", () => {
    expect(text("xchg %ebx, %eax")).toBe("93");
    expect(text("xchg %r8, %rax")).toBe("49 90");
    expect(text("xchg %eax, %eax")).toBe("87 c0");
    expect(text("xchg %rax, %rax")).toBe("90");
  });
  it("int $3 is INT3", () => {
    expect(text("int $3")).toBe("cc");
    expect(text("int $0x80")).toBe("cd 80");
  });
});

describe("system instructions", () => {
  it("control and debug registers, MSRs, descriptor tables, TLB", () => {
    expect(text("mov %cr3, %rax")).toBe("0f 20 d8");
    expect(text("mov %rax, %cr3")).toBe("0f 22 d8");
    expect(text("mov %cr8, %rax")).toBe("44 0f 20 c0");
    expect(text("rdmsr\nwrmsr\nswapgs")).toBe("0f 32 0f 30 0f 01 f8");
    expect(text("lgdt (%rax)\nlidt (%rax)\nltr %ax")).toBe("0f 01 10 0f 01 18 0f 00 d8");
    expect(text("invlpg (%rax)\ninvpcid (%rax), %rbx")).toBe("0f 01 38 66 0f 38 82 18");
    expect(text("iretq\nsysretq\nsyscall")).toBe("48 cf 48 0f 07 0f 05");
    expect(text("stac\nclac\nhlt\ncli\nsti\ncpuid\nrdtsc")).toBe("0f 01 cb 0f 01 ca f4 fa fb 0f a2 0f 31");
  });
  it("IN/OUT in every form", () => {
    expect(text("in $0x60, %al\nin %dx, %eax\ninb %dx\nout %al, $0x80\nout %eax, %dx\noutw %ax, (%dx)")).toBe("e4 60 ed ec e6 80 ef 66 ef");
  });
});

describe("jumps (GNU relaxation: short when in rel8 reach within the section, else near)", () => {
  it("a jump to a label within reach is short; one step further it is near", () => {
    expect(text("jmp T\n.space 127\nT: ret").slice(0, 5)).toBe("eb 7f");
    expect(text("jmp T\n.space 128\nT: ret").slice(0, 14)).toBe("e9 80 00 00 00");
    expect(text("T: .space 126\njne T").slice(-5)).toBe("75 80");
    expect(text("T: .space 127\njne T").slice(-17)).toBe("0f 85 7b ff ff ff");
  });
  it("a jump to another section or an absolute address is near; call is always rel32", () => {
    expect(text("jmp x\ncall x\n.data\nx: .byte 0")).toBe("e9 fb 0f 00 00 e8 f6 0f 00 00");
    expect(text("je 0x100000")).toBe("0f 84 fa ff ff ff");
  });
  it("a jump that grows pushes an earlier jump out of reach", () => {
    const src = "jmp T\n.space 122\njne U\n.space 1\nT: ret\n.space 200\nU: ret";
    expect(text(src).slice(0, 14)).toBe("e9 81 00 00 00");
  });
  it("indirect forms", () => {
    expect(text("jmp *%rax\ncall *8(%rbx)\njmp *%r11\ncall *(%rip)")).toBe("ff e0 ff 53 08 41 ff e3 ff 15 00 00 00 00");
  });
});

describe("directives and padding", () => {
  it(".word is 2 bytes and .align counts bytes on x86", () => {
    const raw = assembleX86_64Raw(".data\n.byte 1\n.align 4\n.word 0x1234\n.long 5\n.int 6", 0x2000n);
    expect(hex(raw)).toBe("01 00 00 00 34 12 05 00 00 00 06 00 00 00");
  });
  it("code alignment uses GNU's multi-byte nops, also for an explicit 0x90 fill", () => {
    expect(text("ret\n.p2align 4")).toBe("c3 66 66 2e 0f 1f 84 00 00 00 00 00 0f 1f 40 00");
    expect(text("ret\n.p2align 3, 0x90")).toBe("c3 0f 1f 80 00 00 00 00");
    expect(text("ret\n.balign 4, 0xcc")).toBe("c3 cc cc cc");
  });
  it("the end of a code section is not padded to its alignment (an explicit .align at the end is kept)", () => {
    expect(text("nop\n.p2align 4\nnop")).toHaveLength(17 * 3 - 1);
    expect(text("nop\n.p2align 4")).toHaveLength(16 * 3 - 1);
  });
  it(".comm/.lcomm storage follows the rest of .bss: .comm aligned by its argument, .lcomm by its size", () => {
    const r = assembleX86_64(".bss\nx: .byte 0\n.local a\n.comm a, 3, 1\n.lcomm c, 7\n.lcomm d, 10\n.comm e, 100, 32\ny: .byte 0");
    const at = (n: string): bigint => r.symbols.get(n)! - 0x100000n;
    expect([at("x"), at("y"), at("a"), at("c"), at("d"), at("e")]).toEqual([0n, 1n, 2n, 8n, 16n, 32n]);
    expect(r.segments[0]!.memsz).toBe(132);
  });
  it(".code64 is accepted, other modes are refused", () => {
    expect(text(".code64\nret")).toBe("c3");
    expect(asmError(".code32").message).toBe("t.s:1: .code32: only 64-bit code is supported (.code32)");
  });
  it("sym@PLT means sym in a static executable", () => {
    expect(text("call f@PLT\nf: ret")).toBe("e8 00 00 00 00 c3");
  });
});

describe("the ELF result", () => {
  it("is EM_X86_64, loads at 1 MiB by default, enters at _start", () => {
    const r = assembleX86_64(".globl _start\nnop\n_start: hlt\n.data\nv: .quad 1");
    const v = new DataView(r.elf.buffer, r.elf.byteOffset);
    expect(v.getUint16(18, true)).toBe(EM_X86_64);
    expect(DEFAULT_BASE).toBe(0x100000n);
    expect(r.entry).toBe(0x100001n);
    expect(r.symbols.get("v")).toBe(0x101000n);
  });
});

describe("errors: one line, file:line: message", () => {
  it("unknown mnemonic", () => {
    expect(asmError("nop\n  frobnicate %eax").message).toBe("t.s:2: frobnicate %eax: unknown instruction `frobnicate'");
  });
  it("bad operand combination", () => {
    expect(asmError("mov %eax, %rbx").message).toMatch(/^t\.s:1: mov %eax, %rbx: operand size mismatch/);
    expect(asmError("addq %eax, %ebx").message).toBe("t.s:1: addq %eax, %ebx: incorrect register `%eax' used with `q' suffix");
    expect(asmError("lea %rax, %rbx").message).toBe("t.s:1: lea %rax, %rbx: operand type mismatch for `lea'");
    expect(asmError("push %eax").message).toMatch(/operand type mismatch for `push'/);
  });
  it("out-of-range immediate", () => {
    expect(asmError("movb $256, %al").message).toBe("t.s:1: movb $256, %al: immediate 256 out of range [-128, 255]");
    expect(asmError("add $0x80000000, %rax").message).toMatch(/^t\.s:1: .*immediate 2147483648 out of range \[-2147483648, 2147483647\]/);
    expect(asmError("x: mov $x, %ax").message).toMatch(/^t\.s:1: value 1048576 out of range \[-32768, 65535\]/);
  });
  it("prefix misuse: a repeated prefix, lock before a non-lockable instruction or a register destination", () => {
    expect(asmError("data16 nopw (%rax)").message).toMatch(/same type of prefix used twice/);
    expect(asmError("lock mov %eax, (%rbx)").message).toBe("t.s:1: mov %eax, (%rbx): expecting lockable instruction after `lock'");
    expect(asmError("lock add (%rax), %eax").message).toMatch(/expecting lockable instruction after `lock'/);
    expect(text("lock xchg (%rbx), %eax\nlock btsl $3, (%rax)")).toBe("f0 87 03 f0 0f ba 28 03");
  });
  it("suffixes where GNU refuses them", () => {
    expect(asmError("movzbwq %al, %ax").message).toMatch(/unknown instruction `movzbwq'/);
    expect(asmError("jmpq 1f\n1:").message).toMatch(/operand type mismatch for `jmp'/);
    expect(asmError("cpuidl").message).toMatch(/invalid instruction suffix for `cpuid'/);
    expect(asmError("lgdtl (%rax)").message).toMatch(/invalid instruction suffix for `lgdt'/);
    expect(text("callq f\nf: leaveq\nlretq\nretw\npushw %fs")).toBe("e8 00 00 00 00 c9 48 cb 66 c3 66 0f a0");
  });
  it("notrack (CET) only before an indirect jmp or call", () => {
    expect(text("notrack jmp *%r11")).toBe("3e 41 ff e3");
    expect(asmError("notrack jmp 1f\n1:").message).toMatch(/expecting indirect branch instruction after `notrack'/);
  });
  it("`*' only before the operand of jmp and call", () => {
    expect(asmError("add *%rax, %rbx").message).toMatch(/indirect operand/);
    expect(text("callw *%ax")).toBe("66 ff d0");
  });
});
