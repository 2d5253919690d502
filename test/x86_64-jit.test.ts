/**
 * The block translator (emulator/arch/x86_64/jit.ts) must be invisible to the guest. With blocks
 * built on the first visit (`hot = 1`), each program here ends in the same state as with the
 * translator off (`noJit`), and the architectural facts hold: a fault in the middle of a block is
 * delivered at that instruction with its CR2 and error code after exactly the instructions before
 * it; a store into the code of the block being run takes effect for the next fetch; an interrupt is
 * taken at the same instruction boundary; an instruction limit stops at the exact count.
 * @spec Intel SDM Vol. 3A §6.5 "Exception Classifications" (a fault reports the state before the
 *       faulting instruction), §6.9 "Priority Among Simultaneous Exceptions and Interrupts"
 *       (events are handled at instruction boundaries), §11.6 "Self-Modifying Code" (jit.ts
 *       documents the choice: the next fetch sees a store to code)
 */
import { describe, expect, it } from "vitest";
import { missingBinutils } from "./fixtures/x86_64/build.js";
import { systemEnv, type SystemEnv } from "./fixtures/x86_64/system-env.js";
import { bootBareX86, createX86Pc, type X86Pc } from "../boot/x86_64/pc.js";
import { assembleX86_64 } from "../tools/asm/x86_64/index.js";
import type { TrapEvent } from "../emulator/arch/x86_64/trap.js";
import { runSmp } from "./support/run-x86-smp.js";

if (missingBinutils) console.log(`skipping the x86_64 block translator tests that need GNU as/ld: ${missingBinutils}`);

/** Exit status of the recording handler of vector v (system-env.ts). */
const status = (v: number): number => ((v << 1) | 1) & 0xff;

interface Outcome { exitCode: number; icount: number; regs: bigint[]; rflags: number; traps: TrapEvent[]; built: number }

/** Runs a system-env scenario with the translator building every block at once, or with it off. */
function runEnv(source: string, jit: boolean, maxInsns = 100_000): { env: SystemEnv; out: Outcome } {
  const env = systemEnv(source, "go", {}, { noJit: !jit });
  const c = env.pc.cpu;
  if (jit) c.jit!.hot = 1;
  const traps: TrapEvent[] = [];
  c.onTrap = (e) => traps.push(e);
  const r = env.pc.machine.run({ maxInsns });
  const out = { exitCode: r.exitCode, icount: c.icount, regs: Array.from({ length: 16 }, (_, i) => c.reg(i)), rflags: c.rflags, traps, built: c.jit?.built ?? 0 };
  return { env, out };
}

describe.skipIf(missingBinutils !== undefined)("x86_64 block translator: faults, stores to code, interrupts", () => {
  it("a #PF in the middle of a block is delivered at that instruction (CR2, error code, pushed RIP) after exactly the instructions before it", () => {
    const src = `
  .text
go:
  lea ptrs(%rip), %rsi
  xor %ecx, %ecx
  xor %r10d, %r10d
  xor %r9d, %r9d
1:
  mov (%rsi,%rcx,8), %rdx
  add $1, %r10
  .globl fault_at
fault_at:
  mov (%rdx), %r8
  add %r8, %r9
  inc %rcx
  jmp 1b
  .data
  .align 8
ptrs: .quad val, val, val, val, 0x123456789
val: .quad 7
`;
    const { env, out } = runEnv(src, true);
    expect(out.built).toBeGreaterThan(0);
    expect(out.exitCode).toBe(status(14));
    expect(env.q(env.sym("rec_cr2"))).toBe(0x123456789n);
    const sp = Number(env.q(env.sym("rec_rsp")));
    expect(env.q(sp)).toBe(0n); // not present, read, supervisor
    expect(env.q(sp + 8)).toBe(BigInt(env.sym("fault_at")));
    // Four whole iterations, then the load of the fifth pointer and the ADD before the fault retired.
    const pf = out.traps.find((t) => t.vector === 14)!;
    expect(pf.rip).toBe(BigInt(env.sym("fault_at")));
    expect(out.regs[10]).toBe(5n);
    expect(out.regs[1]).toBe(4n);
    expect(out.regs[9]).toBe(28n);
    expect(out).toEqual({ ...runEnv(src, false).out, built: out.built });
  });

  it("a store into the block being run changes the instruction it patches on that same pass", () => {
    // Each pass writes the counter into the imm8 of the ADD two instructions on (83 /0 ib), so
    // EAX sums 10, 9, ..., 1 only if every patch is seen by the very next fetch of that ADD.
    const src = `
  .text
go:
  mov $10, %ecx
  xor %eax, %eax
1:
  inc %r11
  movb %cl, patch+2(%rip)
  nop
patch:
  add $0, %eax
  dec %ecx
  jnz 1b
  out %eax, $0xf4
`;
    const { out } = runEnv(src, true);
    expect(out.built).toBeGreaterThan(0);
    expect(out.regs[0]).toBe(55n);
    expect(out).toEqual({ ...runEnv(src, false).out, built: out.built });
  });

  it("a store to another block's code drops that block: the rewritten code runs", () => {
    // Each pass calls the callee (a block returning 1), rewrites its immediate to 2, calls it again
    // and puts the 1 back: 3 per pass only if each rewrite reaches the block built before it.
    const src = `
  .text
go:
  xor %ebx, %ebx
  mov $4, %r12d
1:
  call callee
  add %rax, %rbx
  movl $2, callee+1(%rip)
  call callee
  add %rax, %rbx
  movl $1, callee+1(%rip)
  dec %r12d
  jnz 1b
  mov %ebx, %eax
  out %eax, $0xf4
callee:
  mov $1, %eax
  ret
`;
    const { out } = runEnv(src, true);
    expect(out.regs[3]).toBe(4n * 3n);
    expect(out).toEqual({ ...runEnv(src, false).out, built: out.built });
  });

  it("the APIC timer interrupt is taken at the same instruction boundary as without blocks", () => {
    const src = `
  .text
go:
  movabs $0xfee000f0, %rbx
  movl $0x1ff, (%rbx)
  movl $0x20, 0x320-0xf0(%rbx)  /* LVT timer: one-shot, vector 0x20 */
  movl $0xb, 0x3e0-0xf0(%rbx)   /* divide by 1 */
  movl $12345, 0x380-0xf0(%rbx) /* initial count */
  xor %eax, %eax
  lea buf(%rip), %rsi
  sti
1:
  mov (%rsi), %rdx
  add $3, %rdx
  mov %rdx, 8(%rsi)
  inc %rax
  jmp 1b
  .data
buf: .quad 0, 0
`;
    const { out } = runEnv(src, true);
    expect(out.exitCode).toBe(status(32));
    expect(out.built).toBeGreaterThan(0);
    const irq = out.traps.find((t) => t.external)!;
    expect(irq.vector).toBe(32);
    expect(out).toEqual({ ...runEnv(src, false).out, built: out.built });
  });
});

/** The bench loop's shape (tools/bench/arch-bench.ts), with CALL/RET and a PUSH/POP in it. */
const LOOP = `
  .text
  .globl _start
_start:
  lea buf(%rip), %rbx
  mov $1000, %rcx
1:
  mov (%rbx), %rax
  add $3, %rax
  mov %rax, 8(%rbx)
  call f
  mov 8(%rbx), %rdx
  xor %rdx, %rax
  dec %rcx
  jnz 1b
  hlt
f:
  push %rcx
  imul $7, %rax, %rcx
  shl $3, %rcx
  add %rcx, (%rbx)
  pop %rcx
  ret
  .data
  .balign 16
buf: .quad 1, 2
`;

function loopPc(jit: boolean): X86Pc {
  const pc = createX86Pc({ noJit: !jit });
  bootBareX86(pc, assembleX86_64(LOOP).elf);
  if (jit) pc.cpu.jit!.hot = 1;
  return pc;
}

/**
 * NEG, NOT, SETcc (AL and AH forms), CMOVcc and MOVZX/MOVSX from AH/BH over values that make every
 * flag and both CMOV outcomes show, 32 and 64 bits (a 32-bit CMOVcc clears the high half even when
 * it does not move), folded into R12, R13 and R15 (only added to, except R12 by CMOVS) so the final
 * state depends on each result.
 */
const REG_FORMS = `
  .text
  .globl _start
_start:
  lea vals(%rip), %rsi
  mov $8, %ecx
  xor %r12d, %r12d
  xor %r13d, %r13d
  xor %r14d, %r14d
  xor %r15d, %r15d
1:
  mov (%rsi), %rax
  mov %rax, %rdx
  neg %rdx
  setc %bl
  seto %bh
  sete %al
  cmovs %rdx, %r12
  add %rbx, %r13
  mov (%rsi), %rdx
  neg %edx
  setbe %ah
  setl %bl
  mov %rax, %r14
  cmovg %edx, %r14d
  add %r14, %r13
  movzbl %ah, %edi
  add %rdi, %r13
  movsbl %bh, %edi
  add %rdi, %r13
  not %rdx
  not %eax
  xor %rdx, %r15
  add %rax, %r15
  add %rbx, %r13
  add $8, %rsi
  dec %ecx
  jnz 1b
  pushfq
  pop %rbp
  hlt
  .data
  .balign 8
vals: .quad 0, 1, -1, 0x8000000000000000, 0x80000000, 0x7fffffff, 0xffffffff, 0x123456789abcdef0
`;

/** Every SHL/SHR/SAR count class (1, 2..31, 32, 33..63) at 32 and 64 bits, each result and RFLAGS folded in. */
const SHIFTS = (() => {
  const lines: string[] = [];
  for (const op of ["shl", "shr", "sar"]) {
    for (const n of [0, 1, 2, 7, 31, 32, 33, 63]) {
      lines.push(`  mov (%rsi), %rax`, `  ${op}q $${n}, %rax`, "  pushfq", "  pop %rdx", "  add %rdx, %r13", "  xor %rax, %r15");
      lines.push(`  mov (%rsi), %rax`, `  ${op}l $${n}, %eax`, "  pushfq", "  pop %rdx", "  add %rdx, %r13", "  add %rax, %r15");
    }
  }
  return REG_FORMS.replace("1:\n", `1:\n${lines.join("\n")}\n`);
})();

describe("x86_64 block translator: register forms", () => {
  it.each([["NEG, NOT, SETcc, CMOVcc and MOVZX/MOVSX from high-byte registers", REG_FORMS], ["shifts by every count class", SHIFTS]])("%s end as in the interpreter", (_, src) => {
    const run = (jit: boolean): unknown => {
      const pc = createX86Pc({ noJit: !jit });
      bootBareX86(pc, assembleX86_64(src).elf);
      if (jit) pc.cpu.jit!.hot = 1;
      expect(pc.machine.run({ maxInsns: 100_000 }).reason).toBe("hlt-hang");
      return { rflags: pc.cpu.rflags, icount: pc.cpu.icount, regs: Array.from({ length: 16 }, (_, i) => pc.cpu.reg(i)), built: jit ? pc.cpu.jit!.built > 0 : true };
    };
    expect(run(true)).toEqual(run(false));
  });
});

describe("x86_64 block translator: instruction budgets", () => {
  it("an instruction limit stops at exactly that count, in the state the interpreter reaches", () => {
    for (const n of [1, 2, 3, 7, 8, 13, 64, 65, 100, 1001, 4097, 9999]) {
      const on = loopPc(true), off = loopPc(false);
      expect(on.machine.run({ maxInsns: n }).icount).toBe(n);
      off.machine.run({ maxInsns: n });
      const state = (pc: X86Pc): unknown => ({ rip: pc.cpu.rip, rflags: pc.cpu.rflags, regs: Array.from({ length: 16 }, (_, i) => pc.cpu.reg(i)) });
      expect({ n, ...(state(on) as object) }).toEqual({ n, ...(state(off) as object) });
    }
  });

  it("slices of any length retire exactly their budget, and the run ends as the interpreter's", () => {
    const on = loopPc(true), off = loopPc(false);
    let k = 1;
    while (!on.cpu.halted) {
      const before = on.cpu.icount;
      on.cpu.run(before + k);
      if (!on.cpu.halted) expect(on.cpu.icount).toBe(before + k);
      k = (k * 5 + 3) % 37 + 1;
    }
    expect(off.machine.run({ maxInsns: 1_000_000 }).reason).toBe("hlt-hang");
    expect(on.cpu.jit!.built).toBeGreaterThan(0);
    expect(on.cpu.icount).toBe(off.cpu.icount);
    expect(Array.from({ length: 16 }, (_, i) => on.cpu.reg(i))).toEqual(Array.from({ length: 16 }, (_, i) => off.cpu.reg(i)));
    expect(on.cpu.rflags).toBe(off.cpu.rflags);
  });
});

describe("x86_64 block translator: several CPUs", () => {
  it("code one CPU rewrites while another runs it translated is seen at the same instruction as without blocks", () => {
    // CPU 1 calls f (mov $imm, %eax; ret) in a loop until it returns 40; CPU 0 increments that
    // immediate 40 times. Round robin is deterministic, so the sums and counts must match exactly.
    const body = `
ap_main:
    xor     %ebx, %ebx
    xor     %ecx, %ecx
2:  call    f
    add     %rax, %rbx
    inc     %rcx
    cmp     $40, %eax
    jne     2b
    mov     %rbx, result(%rip)
    mov     %rcx, calls(%rip)
    lock incl done(%rip)
3:  hlt
    jmp     3b
f:  mov     $0, %eax
    ret
bsp_main:
    mov     $40, %ecx
1:  incl    f+1(%rip)
    mov     $37, %edx
4:  dec     %edx
    jnz     4b
    dec     %ecx
    jnz     1b
5:  pause
    cmpl    $1, done(%rip)
    jne     5b
    mov     $0, %al
    jmp     exit
    .data
    .balign 8
result: .quad 0
calls:  .quad 0
done:   .long 0
`;
    const run = (jit: boolean): unknown => {
      const r = runSmp(body, { harts: 2, noJit: !jit, setup: (pc) => { for (const c of pc.cpus) if (jit) c.jit!.hot = 1; } });
      expect(r.result.exitCode).toBe(1);
      if (jit) expect(r.pc.cpus[1]!.jit!.built).toBeGreaterThan(0);
      return { result: r.word("result"), calls: r.word("calls"), icounts: r.pc.cpus.map((c) => c.icount), rips: r.pc.cpus.map((c) => c.rip) };
    };
    const on = run(true) as { result: number; calls: number };
    expect(on.calls).toBeGreaterThan(40);
    expect(on).toEqual(run(false));
  });
});
