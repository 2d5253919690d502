/**
 * Guest MIPS of the arm64 and x86_64 machines with translation on, on the same 7-instruction
 * load/add/store loop shape as the RV64 bench (tools/bench/bench.ts). x86_64 runs in long mode
 * with the firmware's identity map (2 MiB pages, paging on by definition); arm64 turns its MMU on
 * with one 1 GiB identity block per range before the loop. The x86_64 loop also runs on 4 CPUs
 * (every CPU runs it; APs woken through the wakeup mailbox), reported as total MIPS next to 1 CPU.
 */
import { bootBareArm64, createArm64Virt } from "../../boot/arm64/virt.js";
import { bootBareX86, createX86Pc } from "../../boot/x86_64/pc.js";
import { assembleArm64 } from "../asm/arm64/index.js";
import { assembleX86_64 } from "../asm/x86_64/index.js";

/** The 7-instruction loop, `iters` times, on `buf`. */
const X86_LOOP_BODY = (iters: number): string => `
    lea     buf(%rip), %rbx
    mov     $${iters}, %rcx
1:  mov     (%rbx), %rax
    add     $3, %rax
    mov     %rax, 8(%rbx)
    mov     8(%rbx), %rdx
    xor     %rdx, %rax
    dec     %rcx
    jnz     1b
`;

const X86_LOOP = (iters: number): string => `
    .text
    .globl _start
_start:
${X86_LOOP_BODY(iters)}
    mov     $0xf4, %dx
    mov     $0, %al
    out     %al, %dx
2:  hlt
    jmp     2b
    .data
    .balign 16
buf: .quad 1, 2
`;

/**
 * Every CPU runs the loop: CPU 0 wakes the others through the wakeup mailbox (boot-info SMP block),
 * each counts in `done` when finished, and CPU 0 exits once all have.
 */
const X86_SMP_LOOP = (iters: number): string => `
    .text
    .globl _start
_start:
    mov     0x400(%rdi), %r13d
    mov     0x408(%rdi), %r14
    mov     $1, %ebx
1:  cmp     %r13d, %ebx
    jae     3f
    lea     ap(%rip), %rcx
    mov     %rcx, 8(%r14)
    mov     0x410(%rdi,%rbx,4), %eax
    mov     %eax, 4(%r14)
    movw    $1, (%r14)
2:  pause
    cmpw    $0, (%r14)
    jne     2b
    inc     %ebx
    jmp     1b
3:  xor     %r12d, %r12d
    jmp     work
ap: mov     $1, %r12d
work:
${X86_LOOP_BODY(iters)}
    lock incl done(%rip)
    test    %r12d, %r12d
    jnz     5f
4:  pause
    cmp     done(%rip), %r13d
    jne     4b
    mov     $0xf4, %dx
    mov     $0, %al
    out     %al, %dx
5:  cli
    hlt
    jmp     5b
    .data
    .balign 16
buf: .quad 1, 2
done: .long 0
`;

/**
 * MMU on: TTBR0 -> a level-1 table whose entry 1 is a 1 GiB block over RAM (0x4000_0000), Normal WB.
 * With `cpus` > 1, CPU 0 builds the table and starts the others at _start (PSCI CPU_ON); every CPU
 * runs the loop on its own buffer, counts itself done with LDAXR/STLXR, and CPU 0 powers off once
 * all are done (the others sleep in WFI).
 */
const ARM64_LOOP = (iters: number, cpus = 1): string => `
    .text
    .globl _start
_start:
    mrs     x19, mpidr_el1
    and     x19, x19, #0xff
    adr     x0, l1
    cbnz    x19, 3f
    ldr     x1, =0x40000000 | 0x401 | (0 << 2) | (3 << 8)
    str     x1, [x0, #8]
    ldr     x1, =0x00000000 | 0x401 | (1 << 2)
    str     x1, [x0]
    mov     x21, #1
5:  cmp     x21, #${cpus}
    b.hs    3f
    ldr     x0, =0xc4000003
    mov     x1, x21
    adr     x2, _start
    mov     x3, #0
    hvc     #0
    add     x21, x21, #1
    b       5b
3:  adr     x0, l1
    msr     ttbr0_el1, x0
    ldr     x1, =0x04ff
    msr     mair_el1, x1
    ldr     x1, =(25) | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | (5 << 32)
    msr     tcr_el1, x1
    isb
    mrs     x1, sctlr_el1
    orr     x1, x1, #1
    msr     sctlr_el1, x1
    isb
    adr     x3, buf
    add     x3, x3, x19, lsl #4
    ldr     x4, =${iters}
1:  ldr     x5, [x3]
    add     x5, x5, #3
    str     x5, [x3, #8]
    ldr     x6, [x3, #8]
    eor     x5, x5, x6
    subs    x4, x4, #1
    b.ne    1b
    adr     x7, done
6:  ldaxr   w8, [x7]
    add     w8, w8, #1
    stlxr   w9, w8, [x7]
    cbnz    w9, 6b
    cbnz    x19, 2f
7:  ldar    w8, [x7]
    cmp     w8, #${cpus}
    b.ne    7b
    ldr     x0, =0x84000008
    hvc     #0
2:  wfi
    b       2b
    .data
    .balign 4096
l1: .fill 512, 8, 0
buf: .fill ${2 * cpus}, 8, 0
    .balign 4096
done: .word 0
`;

function mips(run: () => { icount: number; reason: string; message: string }, want: string): number {
  const t0 = performance.now();
  const r = run();
  const seconds = (performance.now() - t0) / 1000;
  if (r.reason !== want) throw new Error(`arch bench: ${r.message}`);
  return r.icount / seconds / 1e6;
}

function x86Mips(iters: number, noJit = false): number {
  const pc = createX86Pc({ noJit });
  bootBareX86(pc, assembleX86_64(X86_LOOP(iters)).elf);
  return mips(() => pc.machine.run({ maxInsns: iters * 8 + 1000 }), "exit");
}

/** The x86_64 loop with the block translator on and off (see {@link mipsAB}). */
export function x86MipsAB(iters: number, rounds: number): number {
  return mipsAB("x86_64", (n, noJit) => x86Mips(n, noJit), iters, rounds);
}

/** The arm64 loop with the block translator on and off (see {@link mipsAB}). */
export function arm64MipsAB(iters: number, rounds: number): number {
  return mipsAB("arm64", (n, noJit) => arm64Mips(n, 1, noJit), iters, rounds);
}

function x86SmpMips(cpus: number, iters: number): number {
  const pc = createX86Pc({ harts: cpus });
  bootBareX86(pc, assembleX86_64(X86_SMP_LOOP(iters)).elf);
  return mips(() => pc.machine.run({ maxInsns: cpus * iters * 8 + 100_000 }), "exit");
}

function arm64Mips(iters: number, cpus = 1, noJit = false): number {
  const v = createArm64Virt({ cpus, noJit });
  bootBareArm64(v, assembleArm64(ARM64_LOOP(iters, cpus)).elf);
  return mips(() => v.machine.run({ maxInsns: cpus * (iters * 8 + 1000) }), "pass");
}

/**
 * A loop run with the block translator on and off, alternated `rounds` times in this process (so
 * both see the same machine load); prints each pair and returns the median ratio.
 */
function mipsAB(name: string, run: (iters: number, noJit: boolean) => number, iters: number, rounds: number): number {
  run(100_000, false);
  run(100_000, true);
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const on = run(iters, false), off = run(iters, true);
    ratios.push(on / off);
    console.log(`  ${name} loop, block translator on ${on.toFixed(1)} / off ${off.toFixed(1)} MIPS = ${(on / off).toFixed(2)}x`);
  }
  return ratios.sort((a, b) => a - b)[Math.floor(rounds / 2)]!;
}

/** Prints MIPS for x86_64 (paging on), on 1 CPU (translator on and off) and in total on 4 CPUs. */
export function x86Bench(iters: number): void {
  x86Mips(100_000);
  const one = x86Mips(iters);
  console.log(`x86_64 loop, long mode, paging on: ${one.toFixed(1)} MIPS  [target >= 100]`);
  const ratio = x86MipsAB(Math.max(10_000, Math.floor(iters / 3)), 3);
  console.log(`x86_64 loop, block translator on/off (median of the 3 alternations above): ${ratio.toFixed(2)}x`);
  x86SmpMips(4, 100_000);
  const four = x86SmpMips(4, Math.max(10_000, Math.floor(iters / 4)));
  console.log(`x86_64 loop on 4 CPUs (round robin, 1000-instruction slices): ${four.toFixed(1)} MIPS in total (${(four / one).toFixed(2)}x the 1-CPU figure)`);
}

/** Prints MIPS for arm64 (MMU on), on 1 CPU (translator on and off) and in total on 4 CPUs. */
export function arm64Bench(iters: number): void {
  arm64Mips(100_000);
  const a1 = arm64Mips(iters);
  console.log(`arm64 loop, EL1, MMU on (TTBR0, 1 GiB block): ${a1.toFixed(1)} MIPS  [target >= 100]`);
  const ratio = arm64MipsAB(Math.max(10_000, Math.floor(iters / 3)), 3);
  console.log(`arm64 loop, block translator on/off (median of the 3 alternations above): ${ratio.toFixed(2)}x`);
  arm64Mips(100_000, 4);
  const a4 = arm64Mips(iters, 4);
  console.log(`arm64 loop on 4 CPUs (PSCI CPU_ON, round robin, 1000-instruction slices): ${a4.toFixed(1)} MIPS in total (${(a4 / a1).toFixed(2)}x 1 CPU)`);
}
