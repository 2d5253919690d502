/**
 * Exception and interrupt delivery in IA-32e mode: the frame pushed into guest memory (SS, RSP,
 * RFLAGS, CS, RIP, error code), IST and TSS.RSP0 stack switching, #PF with CR2 and error code,
 * #GP(0) for a non-canonical address, #DE, #UD, gate DPL for INT n, IRETQ, SYSCALL/SYSRET, the
 * double fault and the triple fault. Programs are assembled with the host's GNU as/ld.
 * @spec Intel SDM Vol. 3A §6.14 (64-bit mode interrupt handling), §6.15 (exception reference)
 */
import { describe, expect, it } from "vitest";
import { missingBinutils } from "./fixtures/x86_64/build.js";
import { KCODE, KDATA, systemEnv, UCODE, UDATA, USER_BASE } from "./fixtures/x86_64/system-env.js";

if (missingBinutils) console.log(`skipping the x86_64 trap tests: ${missingBinutils}`);

/** Exit status the recording handler of vector v produces. */
const status = (v: number): number => ((v << 1) | 1) & 0xff;

describe.skipIf(missingBinutils !== undefined)("x86_64 event delivery", () => {
  it("#DE at CPL 0 pushes SS, RSP, RFLAGS, CS, RIP of the faulting instruction, no error code, on the current stack aligned to 16", () => {
    const env = systemEnv(`
  .text
go:
  sub $8, %rsp
  xor %ecx, %ecx
  push $0x8d7
  popfq
  .globl fault_at
fault_at:
  div %ecx
`, "go");
    const r = env.pc.machine.run({ maxInsns: 1000 });
    expect(r.exitCode).toBe(status(0));
    const sp = Number(env.q(env.sym("rec_vec")) === 0n ? env.q(env.sym("rec_rsp")) : -1n);
    const top = env.sym("kstack_top");
    expect(sp).toBe(top - 16 - 40);
    expect(env.q(sp)).toBe(BigInt(env.sym("fault_at")));
    expect(env.q(sp + 8)).toBe(BigInt(KCODE));
    expect(env.q(sp + 16)).toBe(0x8d7n);
    expect(env.q(sp + 24)).toBe(BigInt(top - 8));
    expect(env.q(sp + 32)).toBe(BigInt(KDATA));
  });

  it("#PF: CR2 is the faulting address, the error code is pushed, RIP is the faulting instruction", () => {
    const env = systemEnv(`
  .text
go:
  movabs $0x123456789, %rax
  .globl fault_at
fault_at:
  movl $1, (%rax)
`, "go");
    const r = env.pc.machine.run({ maxInsns: 1000 });
    expect(r.exitCode).toBe(status(14));
    const sp = Number(env.q(env.sym("rec_rsp")));
    expect(env.q(env.sym("rec_cr2"))).toBe(0x123456789n);
    expect(env.q(sp)).toBe(0x2n); // not present, write, supervisor
    expect(env.q(sp + 8)).toBe(BigInt(env.sym("fault_at")));
    expect(env.q(sp + 16)).toBe(BigInt(KCODE));
  });

  it("a non-canonical data address is #GP(0) and leaves CR2 alone", () => {
    const env = systemEnv(`
  .text
go:
  movabs $0x0000800000000000, %rax
  mov (%rax), %rbx
`, "go");
    const r = env.pc.machine.run({ maxInsns: 1000 });
    expect(r.exitCode).toBe(status(13));
    const sp = Number(env.q(env.sym("rec_rsp")));
    expect(env.q(sp)).toBe(0n);
    expect(env.q(env.sym("rec_cr2"))).toBe(0n);
  });

  it("an undefined opcode (UD2, and a byte sequence we do not decode) is #UD", () => {
    for (const bytes of [".byte 0x0f, 0x0b", ".byte 0x0f, 0x0e", ".byte 0xd6"]) {
      const env = systemEnv(`\n  .text\ngo:\n  ${bytes}\n`, "go");
      expect(env.pc.machine.run({ maxInsns: 1000 }).exitCode).toBe(status(6));
    }
  });

  it("LOCK on a register destination or a non-lockable instruction is #UD; an instruction longer than 15 bytes is #GP(0)", () => {
    for (const bytes of [".byte 0xf0, 0x01, 0xc3 /* lock add %eax,%ebx */", ".byte 0xf0, 0x8b, 0x07 /* lock mov (%rdi),%eax */"]) {
      const env = systemEnv(`\n  .text\ngo:\n  ${bytes}\n`, "go");
      expect(env.pc.machine.run({ maxInsns: 1000 }).exitCode).toBe(status(6));
    }
    const env = systemEnv(`\n  .text\ngo:\n  .byte ${Array(14).fill("0x66").join(", ")}, 0x01, 0xc3\n`, "go");
    expect(env.pc.machine.run({ maxInsns: 1000 }).exitCode).toBe(status(13));
    expect(env.q(Number(env.q(env.sym("rec_rsp"))))).toBe(0n);
  });

  it("a gate with IST=1 switches to TSS.IST1 even without a privilege change", () => {
    const env = systemEnv(`\n  .text\ngo:\n  int3\n`, "go", { ist: { 3: 1 } });
    expect(env.pc.machine.run({ maxInsns: 1000 }).exitCode).toBe(status(3));
    const sp = Number(env.q(env.sym("rec_rsp")));
    expect(sp).toBe(env.sym("ist1_top") - 40);
    expect(env.q(sp + 24)).toBe(BigInt(env.sym("kstack_top")));
  });

  it("INT n from CPL 3 through a DPL-3 gate switches to TSS.RSP0 and pushes the user SS:RSP; the pushed RIP is the next instruction", () => {
    const env = systemEnv(`
  .text
go:
  pushq $${UDATA}
  pushq $user_stack_top
  pushq $0x202
  pushq $${UCODE}
  pushq $user
  iretq
  .section .user, "awx"
user:
  int $0x80
  .globl after_int
after_int:
  jmp user
  .skip 256
user_stack_top:
`, "go", { dpl: { 128: 3 } });
    expect(env.pc.machine.run({ maxInsns: 1000 }).exitCode).toBe(status(128));
    const sp = Number(env.q(env.sym("rec_rsp")));
    expect(sp).toBe(env.sym("kstack_top") - 40);
    expect(env.q(sp)).toBe(BigInt(env.sym("after_int")));
    expect(env.q(sp + 8)).toBe(BigInt(UCODE));
    expect(env.q(sp + 16)).toBe(0x202n);
    expect(env.q(sp + 24)).toBe(BigInt(env.sym("user_stack_top")));
    expect(env.q(sp + 32)).toBe(BigInt(UDATA));
    expect(env.sym("user")).toBeGreaterThanOrEqual(USER_BASE);
  });

  it("INT n from CPL 3 through a DPL-0 gate is #GP(vector*8+2)", () => {
    const env = systemEnv(`
  .text
go:
  pushq $${UDATA}
  pushq $0x500000
  pushq $0x2
  pushq $${UCODE}
  pushq $user
  iretq
  .section .user, "awx"
user:
  int $0x80
`, "go");
    expect(env.pc.machine.run({ maxInsns: 1000 }).exitCode).toBe(status(13));
    const sp = Number(env.q(env.sym("rec_rsp")));
    expect(env.q(sp)).toBe(BigInt(0x80 * 8 + 2));
  });

  it("a user-mode access to a supervisor page is #PF with U/S set (0x5 read, 0x7 write)", () => {
    const env = systemEnv(`
  .text
go:
  pushq $${UDATA}
  pushq $0x500000
  pushq $0x2
  pushq $${UCODE}
  pushq $user
  iretq
  .section .user, "awx"
user:
  mov $0x100000, %eax
  movl $1, (%rax)
`, "go");
    expect(env.pc.machine.run({ maxInsns: 1000 }).exitCode).toBe(status(14));
    const sp = Number(env.q(env.sym("rec_rsp")));
    expect(env.q(sp)).toBe(0x7n);
    expect(env.q(env.sym("rec_cr2"))).toBe(0x100000n);
  });

  it("IRETQ returns to the interrupted code with its RFLAGS, and HLT with IF=1 waits for the APIC timer", () => {
    const env = systemEnv(`
  .text
go:
  movabs $0xfee000f0, %rbx
  movl $0x1ff, (%rbx)          /* SVR: software enable, spurious vector 0xff */
  movl $0x20020, 0x320-0xf0(%rbx)  /* LVT timer: periodic, vector 0x20 */
  movl $0xb, 0x3e0-0xf0(%rbx)  /* divide by 1 */
  movl $1000, 0x380-0xf0(%rbx) /* initial count */
  lea tick(%rip), %rax
  mov %ax, idt+0x20*16(%rip)   /* gate 0x20's offset 15:0 and 31:16 */
  shr $16, %rax
  mov %ax, idt+0x20*16+6(%rip)
  xor %r12d, %r12d
  sti
1:
  hlt
  cmp $3, %r12
  jne 1b
  mov %r12d, %eax
  out %eax, $0xf4
tick:
  inc %r12
  movabs $0xfee000b0, %rax
  movl $0, (%rax)              /* EOI */
  iretq
`, "go");
    const r = env.pc.machine.run({ maxInsns: 10_000 });
    expect(r.exitCode).toBe(status(3));
    expect(env.pc.machine.now()).toBeGreaterThanOrEqual(3000);
  });

  it("SYSCALL saves RIP in RCX and RFLAGS (RF clear) in R11, masks RFLAGS with FMASK, loads CS/SS from STAR; SYSRETQ returns to CPL 3 with CS 0x23, SS 0x1b", () => {
    const env = systemEnv(`
  .text
go:
  mov $0xc0000080, %ecx
  rdmsr
  or $1, %eax                  /* EFER.SCE */
  wrmsr
  mov $0xc0000081, %ecx
  xor %eax, %eax
  mov $0x00100008, %edx        /* STAR: SYSRET base 0x10, SYSCALL CS 0x08 */
  wrmsr
  mov $0xc0000082, %ecx
  lea entry(%rip), %rax
  xor %edx, %edx
  wrmsr
  mov $0xc0000084, %ecx
  mov $0x700, %eax             /* FMASK: TF IF DF */
  wrmsr
  pushq $${UDATA}
  pushq $0x500000
  pushq $0x2
  pushq $${UCODE}
  pushq $user
  iretq
entry:
  mov %rcx, saved_rcx(%rip)
  mov %r11, saved_r11(%rip)
  pushfq
  pop %rax
  mov %rax, saved_flags(%rip)
  mov %cs, %eax
  mov %rax, saved_cs(%rip)
  mov %ss, %eax
  mov %rax, saved_ss(%rip)
  add $1, %rcx
  sysretq
  .data
  .globl saved_rcx, saved_r11, saved_flags, saved_cs, saved_ss, user_cs
saved_rcx: .quad 0
saved_r11: .quad 0
saved_flags: .quad 0
saved_cs: .quad 0
saved_ss: .quad 0
user_cs: .quad 0
  .section .user, "awx"
user:
  push $0x8c3                  /* OF SF PF CF ... */
  popfq
  syscall
  .globl after_syscall
after_syscall:
  hlt                          /* skipped: SYSRET returns to RCX + 1 */
  mov %cs, %ebx
  mov %ss, %ecx
  int3
`, "go", { dpl: { 3: 3 } });
    const r = env.pc.machine.run({ maxInsns: 1000 });
    expect(r.exitCode).toBe(status(3));
    expect(env.q(env.sym("saved_rcx"))).toBe(BigInt(env.sym("after_syscall")));
    expect(env.q(env.sym("saved_r11"))).toBe(0x8c3n);
    expect(env.q(env.sym("saved_flags"))).toBe(0x8c3n & ~0x700n);
    expect(env.q(env.sym("saved_cs"))).toBe(BigInt(KCODE));
    expect(env.q(env.sym("saved_ss"))).toBe(BigInt(KDATA));
    expect(env.pc.cpu.gl[3]).toBe(UCODE);
    expect(env.pc.cpu.gl[1]).toBe(UDATA);
  });

  it("a #PF while delivering a #PF (the kernel stack unmapped) becomes #DF; a fault delivering #DF shuts down (triple fault)", () => {
    const env = systemEnv(`
  .text
go:
  movabs $0x200000000, %rsp
  movl $1, (%rsp)
`, "go");
    const r = env.pc.machine.run({ maxInsns: 1000 });
    expect(r.reason).toBe("triple-fault");
    expect(r.exitCode).toBe(125);
    const env2 = systemEnv(`
  .text
go:
  movabs $0x200000000, %rsp
  movl $1, (%rsp)
`, "go", { ist: { 8: 1 } });
    expect(env2.pc.machine.run({ maxInsns: 1000 }).exitCode).toBe(status(8));
    const sp = Number(env2.q(env2.sym("rec_rsp")));
    expect(env2.q(sp)).toBe(0n);
  });

  it("a not-present gate is #NP(vector*8+2)", () => {
    const env = systemEnv(`\n  .text\ngo:\n  ud2\n`, "go", { absent: [6] });
    expect(env.pc.machine.run({ maxInsns: 1000 }).exitCode).toBe(status(11));
    expect(env.q(Number(env.q(env.sym("rec_rsp"))))).toBe(BigInt(6 * 8 + 2));
  });

  it("the machine stops with 125 on HLT with interrupts off and 124 at the instruction limit", () => {
    const env = systemEnv(`\n  .text\ngo:\n  cli\n  hlt\n`, "go");
    const r = env.pc.machine.run({ maxInsns: 1000 });
    expect([r.reason, r.exitCode]).toEqual(["hlt-hang", 125]);
    const env2 = systemEnv(`\n  .text\ngo:\n  jmp go\n`, "go");
    const r2 = env2.pc.machine.run({ maxInsns: 500 });
    expect([r2.reason, r2.exitCode, r2.icount]).toEqual(["max-insns", 124, 500]);
  });

  it("a native entry at an IDT vector runs after the hardware delivery and leaves with iretq(); one at LSTAR leaves with sysretq()", () => {
    const env = systemEnv(`
  .text
go:
  mov $0xc0000080, %ecx
  rdmsr
  or $1, %eax
  wrmsr
  mov $0xc0000081, %ecx
  xor %eax, %eax
  mov $0x00100008, %edx
  wrmsr
  pushq $${UDATA}
  pushq $0x500000
  pushq $0x2
  pushq $${UCODE}
  pushq $user
  iretq
  .globl native_int, native_sys
native_int: nop
native_sys: nop
  .section .user, "awx"
user:
  mov $41, %eax
  int $0x80
  syscall
  mov %rax, %rbx
  int3
`, "go", { dpl: { 3: 3, 128: 3 } });
    const c = env.pc.cpu;
    const frames: bigint[] = [];
    c.registerNative(env.sym("native_int"), (cpu) => {
      frames.push(env.q(Number(cpu.reg(4))), env.q(Number(cpu.reg(4)) + 8));
      cpu.setReg(0, cpu.reg(0) + 1n);
      cpu.iretq();
    });
    c.registerNative(env.sym("native_sys"), (cpu) => {
      cpu.setReg(0, cpu.reg(0) * 2n);
      cpu.sysretq();
    });
    // Gate 0x80 points at the native entry; LSTAR at the other one.
    const gate = env.sym("idt") + 16 * 0x80;
    const h = BigInt(env.sym("native_int"));
    env.pc.machine.bus.write64(gate, (env.q(gate) & 0x0000ffffffff0000n) | (h & 0xffffn) | (((h >> 16n) & 0xffffn) << 48n));
    c.lstar = BigInt(env.sym("native_sys"));
    expect(env.pc.machine.run({ maxInsns: 1000 }).exitCode).toBe(status(3));
    expect(c.reg(3)).toBe(84n);
    expect(frames[1]).toBe(BigInt(UCODE));
  });
});
