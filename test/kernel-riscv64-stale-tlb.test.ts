/**
 * The TypeScript kernel under strict TLB mode (riscv64-stale-tlb.test.ts has the detector itself):
 * fork and copy-on-write, with and without ASID rollovers and preemption, never use a stale TLB
 * entry; and a kernel that forgets the page flushes of fork (its fences dropped while it handles
 * clone) is caught, with the PTE store the kernel made.
 * @spec RV-S §"Supervisor Memory-Management Fence Instruction"
 */
import { describe, expect, it } from "vitest";
import { bootKernel, KERNEL_VA } from "../boot/riscv64/kernel-boot.js";
import { PTE } from "../emulator/arch/riscv64/defs.js";
import { formatStaleTlbReport, type StaleTlbReport } from "../emulator/arch/riscv64/stale-tlb.js";
import { SYS } from "../kernel/proc/syscalls.js";
import { assembleRiscv64 } from "../tools/asm/riscv64/index.js";
import { ASM_LIB, exit0, fork, mmap, PAGE, SYSCALLS } from "./support/kernel-asm.js";

const { W } = PTE;
/** scause of an environment call from U-mode, and the register holding the system call number. */
const ECALL_FROM_U = 8, A7 = 17;

/**
 * A fork + copy-on-write workout: the parent dirties 8 mmap pages, forks 5 children (one after the
 * other), each child writes every page (8 COW copies) and the global, then exits; the parent writes
 * every page again (COW reuse after the last child), checks its bytes, and exits with the number of
 * wrong bytes seen.
 */
const FORK_COW = `${SYSCALLS}
    .equ N, 8
    .equ CHILDREN, 5
    .data
glob: .byte 'A'
    .text
    .globl _start
_start:
    li      s11, 0
    ${mmap("0", `N * ${PAGE}`)}
    mv      s0, a0
    li      t0, N
    mv      t1, s0
    li      t2, ${PAGE}
1:  sb      t0, 0(t1)
    add     t1, t1, t2
    addi    t0, t0, -1
    bnez    t0, 1b
    li      s1, CHILDREN
next_child:
    ${fork}
    beqz    a0, child
    li      a0, -1
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    addi    s1, s1, -1
    bnez    s1, next_child
    li      t0, N
    mv      t1, s0
    li      t2, ${PAGE}
2:  lbu     t3, 0(t1)
    beq     t3, t0, 3f
    addi    s11, s11, 1
3:  addi    t3, t3, 0x40
    sb      t3, 0(t1)
    add     t1, t1, t2
    addi    t0, t0, -1
    bnez    t0, 2b
    la      t1, glob
    lbu     t3, 0(t1)
    addi    t3, t3, -'A'
    add     s11, s11, t3
    la      a0, m_done
    jal     puts
    mv      a0, s11
    li      a7, SYS_exit
    ecall
child:
    li      t0, N
    mv      t1, s0
    li      t2, ${PAGE}
4:  sb      s1, 0(t1)
    add     t1, t1, t2
    addi    t0, t0, -1
    bnez    t0, 4b
    la      t1, glob
    sb      s1, 0(t1)
    ${exit0}
    .section .rodata
m_done: .asciz "done\\n"
${ASM_LIB}
`;

/**
 * fork, then the parent stores to a byte it wrote before the fork (its TLB holds a writable entry
 * for it) and waits; the child prints the byte it sees. Correct: "AP" (the child sees 'A').
 */
const PARENT_WRITES_AFTER_FORK = `${SYSCALLS}
    .data
byte: .byte 0
    .text
    .globl _start
_start:
    la      s0, byte
    li      t0, 'A'
    sb      t0, 0(s0)
    ${fork}
    bnez    a0, parent
    li      a0, 1
    mv      a1, s0
    li      a2, 1
    li      a7, SYS_write
    ecall
    ${exit0}
parent:
    li      t0, 'P'
parent_store:
    sb      t0, 0(s0)
    li      a0, -1
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    li      a0, 1
    mv      a1, s0
    li      a2, 1
    li      a7, SYS_write
    ecall
    ${exit0}
`;

interface KernelStrictRun {
  stdout: string;
  exitCode: number;
  icount: number;
  reports: StaleTlbReport[];
  symbols: Map<string, bigint>;
}

/**
 * Boots the kernel with `program`. `dropCloneFences` makes it a kernel that forgets its page
 * flushes in fork: every sfence.vma with an address made while it handles clone is discarded.
 */
function runKernelStrict(program: string, opts: { strictTlb: boolean; asidBits?: number; timeslice?: number; dropCloneFences?: boolean }): KernelStrictRun {
  let stdout = "";
  const asm = assembleRiscv64(program, { fileName: "prog.S" });
  const km = bootKernel({
    program: asm.elf, args: ["prog"], strictTlb: opts.strictTlb, asidBits: opts.asidBits, timeslice: opts.timeslice,
    console: (b) => { stdout += String.fromCharCode(b); },
  });
  const hart = km.machine.harts[0]!;
  if (opts.dropCloneFences) {
    let inClone = false;
    hart.onTrap = (e) => { if (e.cause === ECALL_FROM_U && !e.interrupt && hart.x(A7) === BigInt(SYS.clone)) inClone = true; };
    const sret = hart.sret.bind(hart);
    hart.sret = () => { inClone = false; sret(); };
    const fence = hart.sfenceVma.bind(hart);
    hart.sfenceVma = (va, asid) => { if (va === undefined || !inClone) fence(va, asid); };
  }
  const reports: StaleTlbReport[] = [];
  km.machine.onStaleTlb = (r) => { if (reports.length < 100) reports.push(r); };
  const result = km.machine.run({ maxInsns: 1_000_000 });
  return { stdout, exitCode: result.exitCode, icount: result.icount, reports, symbols: asm.symbols };
}

describe("the kernel under strict TLB mode", () => {
  it.each([
    ["default ASIDs", {}],
    ["2 ASID bits (rollovers) and 200-instruction time slices", { asidBits: 2, timeslice: 200 }],
  ])("fork + copy-on-write with %s: no stale entry is ever used, and the run is the same as without strict mode", (_name, extra) => {
    const strict = runKernelStrict(FORK_COW, { strictTlb: true, ...extra });
    expect(strict.stdout).toBe("done\n");
    expect(strict.exitCode).toBe(0);
    expect(strict.reports.map(formatStaleTlbReport)).toEqual([]);
    const normal = runKernelStrict(FORK_COW, { strictTlb: false, ...extra });
    expect([normal.stdout, normal.exitCode, normal.icount]).toEqual([strict.stdout, strict.exitCode, strict.icount]);
  });

  it("the parent's store right after fork goes through a fresh, write-protected translation: no report, the child sees its own byte", () => {
    const r = runKernelStrict(PARENT_WRITES_AFTER_FORK, { strictTlb: true });
    expect([r.stdout, r.exitCode]).toEqual(["AP", 0]);
    expect(r.reports).toEqual([]);
  });

  it("a kernel that forgets its page flushes in fork is caught: the parent's store uses its stale writable entry and reaches the child's byte", () => {
    const r = runKernelStrict(PARENT_WRITES_AFTER_FORK, { strictTlb: true, dropCloneFences: true });
    expect(r.stdout).toBe("PP");
    expect(r.reports.length).toBeGreaterThan(0);
    const first = r.reports[0]!;
    expect(first).toMatchObject({ pc: r.symbols.get("parent_store"), va: r.symbols.get("byte"), access: "store", changes: ["perm"] });
    expect(first.entry.pte & BigInt(W)).toBe(BigInt(W));
    expect(first.fresh.pte & BigInt(W)).toBe(0n);
    expect(first.fresh.pteAddr).toBe(first.entry.pteAddr);
    // The kernel (native code in S-mode at its trap vector) wrote the PTE while handling clone.
    expect(first.writer).toMatchObject({ pteAddr: first.entry.pteAddr, priv: "S", pc: KERNEL_VA + 0x100n });
  });
});
