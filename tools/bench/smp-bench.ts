/**
 * Benchmarks of several harts and of process switching (issue "many processes on many harts"):
 * - the aggregate MIPS of 4 harts running an M-mode loop, next to 1 hart (the cost of slicing);
 * - SBI remote fences per second at 4 harts: hart 0 asks the firmware for remote_sfence_vma of one
 *   page on harts 1-3, the shootdown path an SMP kernel uses;
 * - the kernel's context switches per second: two processes that sched_yield to each other;
 * - the kernel on 4 CPUs of each architecture: 8 processes that map a page, store to it, unmap it
 *   and yield, moving between CPUs all the time: context switches and TLB shootdown requests per
 *   second (riscv64 SBI remote fences, arm64 TLBI ...IS broadcasts, x86_64 IPIs).
 * Numbers from one run on a shared machine: compare ratios within a run, not across runs.
 */
import { bootKernel } from "../../boot/riscv64/kernel-boot.js";
import { bootKernelArm64 } from "../../boot/arm64/kernel-boot.js";
import { bootKernelX86 } from "../../boot/x86_64/kernel-boot.js";
import { assembleArm64 } from "../asm/arm64/index.js";
import { assembleX86_64 } from "../asm/x86_64/index.js";
import { bootSbi, SBI_PAYLOAD_BASE } from "../../boot/riscv64/sbi-boot.js";
import { bootBare, createRiscvVirt } from "../../boot/riscv64/virt.js";
import { assembleRiscv64 } from "../asm/riscv64/index.js";

/** Every hart counts down ITERS; hart 0 waits for the others and passes. 4 instructions per iteration. */
const SPIN = (harts: number, iters: number): string => `
    .text
    .globl _start
_start:
    li      t0, ${iters}
1:  addi    t0, t0, -1
    addi    t1, t1, 1
    xor     t2, t2, t1
    bnez    t0, 1b
    la      t3, done
    li      t4, 1
    amoadd.w zero, t4, (t3)
    csrr    t5, mhartid
    bnez    t5, 3f
2:  lw      t4, 0(t3)
    li      t6, ${harts}
    bne     t4, t6, 2b
    li      t0, 0x5555
    li      t1, 0x100000
    sw      t0, 0(t1)
3:  wfi
    j       3b
    .data
    .balign 8
done: .word 0
`;

/** Hart 0 starts harts 1-3 (they idle in wfi) and makes N remote_sfence_vma calls to all three. */
const RFENCES = (n: number): string => `
    .equ HSM, 0x48534D
    .equ RFENCE, 0x52464E43
    .text
    .globl _start
_start:
    li      s1, 1
1:  mv      a0, s1
    la      a1, idle
    li      a2, 0
    li      a6, 0
    li      a7, HSM
    ecall
    addi    s1, s1, 1
    li      t0, 4
    blt     s1, t0, 1b
    li      s2, ${n}
2:  li      a0, 0xe
    li      a1, 0
    li      a2, 0x40000000
    li      a3, 0x1000
    li      a6, 1
    li      a7, RFENCE
    ecall
    addi    s2, s2, -1
    bnez    s2, 2b
    li      a0, 0
    li      a1, 0
    li      a6, 0
    li      a7, 0x53525354
    ecall
idle:
    wfi
    j       idle
`;

/** Parent and child each call sched_yield N times; every call switches to the other process. */
const YIELDS = (n: number): string => `
    .text
    .globl _start
_start:
    li      a0, 17
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a4, 0
    li      a7, 220
    ecall
    mv      s0, a0
    li      s1, ${n}
1:  li      a7, 124
    ecall
    addi    s1, s1, -1
    bnez    s1, 1b
    beqz    s0, 2f
    mv      a0, s0
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, 260
    ecall
2:  li      a0, 0
    li      a7, 93
    ecall
`;

/**
 * Forks 7 children; all 8 processes loop N times: mmap one page, store, munmap, sched_yield; the
 * children exit, the parent (s2 = 0 after its forks) reaps them.
 */
export const MAP_UNMAP_YIELD = (n: number): string => `
    .text
    .globl _start
_start:
    li      s2, 7
1:  li      a0, 17
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a4, 0
    li      a7, 220
    ecall
    beqz    a0, 2f
    addi    s2, s2, -1
    bnez    s2, 1b
2:  li      s1, ${n}
3:  li      a0, 0
    li      a1, 4096
    li      a2, 3
    li      a3, 0x22
    li      a4, -1
    li      a5, 0
    li      a7, 222
    ecall
    sd      s1, 0(a0)
    li      a1, 4096
    li      a7, 215
    ecall
    li      a7, 124
    ecall
    addi    s1, s1, -1
    bnez    s1, 3b
    bnez    s2, 5f
4:  li      a0, -1
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, 260
    ecall
    bgez    a0, 4b
5:  li      a0, 0
    li      a7, 93
    ecall
`;

/** MAP_UNMAP_YIELD for arm64 (Linux arm64 numbers, svc #0 with x8). */
export const MAP_UNMAP_YIELD_ARM64 = (n: number): string => `
        .text
        .globl  _start
_start: mov     x20, #7
1:      mov     x0, #17
        mov     x1, #0
        mov     x2, #0
        mov     x3, #0
        mov     x4, #0
        mov     x8, #220
        svc     #0
        cbz     x0, 2f
        subs    x20, x20, #1
        b.ne    1b
2:      ldr     x19, =${n}
3:      mov     x0, #0
        mov     x1, #4096
        mov     x2, #3
        mov     x3, #0x22
        mov     x4, #-1
        mov     x5, #0
        mov     x8, #222
        svc     #0
        str     x19, [x0]
        mov     x1, #4096
        mov     x8, #215
        svc     #0
        mov     x8, #124
        svc     #0
        subs    x19, x19, #1
        b.ne    3b
        cbnz    x20, 5f
4:      mov     x0, #-1
        mov     x1, #0
        mov     x2, #0
        mov     x3, #0
        mov     x8, #260
        svc     #0
        tbz     x0, #63, 4b
5:      mov     x0, #0
        mov     x8, #93
        svc     #0
`;

/** MAP_UNMAP_YIELD for x86_64 (Linux x86_64 numbers: fork 57, mmap 9, munmap 11, sched_yield 24, wait4 61, exit 60). */
export const MAP_UNMAP_YIELD_X86 = (n: number): string => `
        .text
        .globl  _start
_start: mov     $7, %r12d
1:      mov     $57, %eax
        syscall
        test    %rax, %rax
        jz      2f
        dec     %r12d
        jnz     1b
2:      mov     $${n}, %r13d
3:      xor     %edi, %edi
        mov     $4096, %esi
        mov     $3, %edx
        mov     $0x22, %r10d
        mov     $-1, %r8
        xor     %r9d, %r9d
        mov     $9, %eax
        syscall
        mov     %r13, (%rax)
        mov     %rax, %rdi
        mov     $4096, %esi
        mov     $11, %eax
        syscall
        mov     $24, %eax
        syscall
        dec     %r13d
        jnz     3b
        test    %r12d, %r12d
        jnz     5f
4:      mov     $-1, %rdi
        xor     %esi, %esi
        xor     %edx, %edx
        xor     %r10d, %r10d
        mov     $61, %eax
        syscall
        test    %rax, %rax
        jns     4b
5:      xor     %edi, %edi
        mov     $60, %eax
        syscall
`;

function timed<T>(f: () => T): { value: T; seconds: number } {
  const t0 = performance.now();
  const value = f();
  return { value, seconds: (performance.now() - t0) / 1000 };
}

function spinMips(harts: number, iters: number): number {
  const v = createRiscvVirt({ harts });
  bootBare(v, assembleRiscv64(SPIN(harts, iters)).elf);
  const { value: r, seconds } = timed(() => v.machine.run({ maxInsns: harts * iters * 5 + 100_000 }));
  if (r.reason !== "pass") throw new Error(`smp bench: ${r.message}`);
  return r.icount / seconds / 1e6;
}

function rfencesPerSecond(n: number): number {
  const v = createRiscvVirt({ harts: 4 });
  bootSbi(v, assembleRiscv64(RFENCES(n), { base: SBI_PAYLOAD_BASE }).elf);
  const { value: r, seconds } = timed(() => v.machine.run({ maxInsns: n * 200 + 1_000_000 }));
  if (r.reason !== "pass") throw new Error(`rfence bench: ${r.message}`);
  return n / seconds;
}

function switchesPerSecond(n: number): number {
  const km = bootKernel({ program: assembleRiscv64(YIELDS(n)).elf, args: ["yield"] });
  const { value: r, seconds } = timed(() => km.machine.run({ maxInsns: n * 400 + 1_000_000 }));
  if (r.reason !== "pass") throw new Error(`context-switch bench: ${r.message}`);
  return (2 * n) / seconds;
}

/** Context switches and shootdown requests per second of the kernel on 4 CPUs of `arch` (MAP_UNMAP_YIELD). */
function kernelSmpRates(arch: "riscv64" | "arm64" | "x86_64", n: number): { switches: number; shootdowns: number; targets: number } {
  const km = arch === "riscv64" ? bootKernel({ program: assembleRiscv64(MAP_UNMAP_YIELD(n)).elf, args: ["smp"], harts: 4 })
    : arch === "arm64" ? bootKernelArm64({ program: assembleArm64(MAP_UNMAP_YIELD_ARM64(n)).elf, args: ["smp"], cpus: 4 })
      : bootKernelX86({ program: assembleX86_64(MAP_UNMAP_YIELD_X86(n)).elf, args: ["smp"], harts: 4 });
  const { value: r, seconds } = timed(() => km.machine.run({ maxInsns: n * 8 * 400 + 2_000_000 }));
  if (r.exitCode !== 0) throw new Error(`kernel SMP bench (${arch}): ${r.message ?? r.reason}`);
  const switches = km.kernel.cpus.list.reduce((t, c) => t + c.stats.switches, 0);
  const d = km.kernel.shootdown?.stats;
  if (d === undefined || km.kernel.cpus.count !== 4) throw new Error(`kernel SMP bench (${arch}): the kernel did not run on 4 CPUs`);
  return { switches: switches / seconds, shootdowns: d.requests / seconds, targets: d.targets / Math.max(1, d.requests) };
}

/** Prints the SMP and process-switching numbers. `scale` shrinks the work (BENCH_ITERS). */
export function smpBench(scale = 1): void {
  const iters = Math.max(10_000, Math.floor(5_000_000 * scale));
  spinMips(4, 100_000);
  const one = spinMips(1, iters), four = spinMips(4, iters);
  console.log(`\nSMP: M-mode loop on 1 hart ${one.toFixed(1)} MIPS; on 4 harts (round robin, 1000-instruction slices) ${four.toFixed(1)} MIPS in total (${(four / one).toFixed(2)}x)`);
  const fences = Math.max(1000, Math.floor(200_000 * scale));
  rfencesPerSecond(1000);
  console.log(`SBI remote_sfence_vma of one page on 3 other harts, 4-hart machine: ${(rfencesPerSecond(fences) / 1e3).toFixed(1)} thousand shootdowns/s`);
  const yields = Math.max(1000, Math.floor(100_000 * scale));
  switchesPerSecond(1000);
  console.log(`Kernel context switches (sched_yield between two processes, 1 hart): ${(switchesPerSecond(yields) / 1e3).toFixed(1)} thousand/s`);
  const how = { riscv64: "SBI remote fences", arm64: "TLBI ...IS broadcasts", x86_64: "IPIs" } as const;
  for (const arch of ["riscv64", "arm64", "x86_64"] as const) {
    kernelSmpRates(arch, 200);
    const k = kernelSmpRates(arch, Math.max(500, Math.floor(20_000 * scale)));
    console.log(`Kernel on 4 ${arch} CPUs, 8 processes mapping, storing, unmapping and yielding: ${(k.switches / 1e3).toFixed(1)} thousand context switches/s, ${(k.shootdowns / 1e3).toFixed(1)} thousand TLB shootdowns/s (${how[arch]} to ${k.targets.toFixed(2)} CPUs each on average)`);
  }
}
