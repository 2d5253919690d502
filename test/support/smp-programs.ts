/**
 * Guest programs (riscv64 assembly) for the multi-processor kernel tests: several processes that
 * run at once and move between harts, with copy-on-write in flight.
 */
import { ASM_LIB, exit0, fork, SYSCALLS } from "./kernel-asm.js";

/**
 * The parent starts SPINNERS children that only yield (they keep the run queue moving, so every
 * process changes hart often), then, ROUNDS times: writes the round number to a byte (a writable
 * TLB entry on its hart), yields, forks a child, yields, and stores 0xEE to the byte at
 * `parent_store` (its copy-on-write copy). The child yields, then exits with the byte it sees,
 * which must be the round number. The parent counts wrong statuses and prints "ok" or "FAIL".
 *
 * A kernel that does not shoot down the write-protection of fork on the other harts lets the
 * parent's store at `parent_store` use a stale writable entry on a hart it ran on before the
 * fork: the store reaches the frame it shares with the child.
 */
export const MIGRATING_FORKS = (rounds = 24, spinners = 2, spins = 150, yieldsBefore = 1): string => `${SYSCALLS}
    .equ ROUNDS, ${rounds}
    .equ SPINNERS, ${spinners}
    .equ SPINS, ${spins}
    .data
byte:   .byte 0
    .balign 4
status: .word 0
    .text
    .globl _start
_start:
    li      s11, 0
    li      s2, SPINNERS
spawn:
    ${fork}
    beqz    a0, spinner
    addi    s2, s2, -1
    bnez    s2, spawn
    la      s0, byte
    li      s1, ROUNDS
round:
    sb      s1, 0(s0)
${"    li      a7, SYS_sched_yield\n    ecall\n".repeat(yieldsBefore)}    ${fork}
    beqz    a0, child
    mv      s3, a0
    li      a7, SYS_sched_yield
    ecall
    li      t0, 0xEE
parent_store:
    sb      t0, 0(s0)
    mv      a0, s3
    la      a1, status
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    la      t0, status
    lw      t1, 0(t0)
    srli    t1, t1, 8
    andi    t1, t1, 0xff
    beq     t1, s1, 1f
    addi    s11, s11, 1
1:  addi    s1, s1, -1
    bnez    s1, round
    li      s2, SPINNERS
reap:
    li      a0, -1
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    addi    s2, s2, -1
    bnez    s2, reap
    la      a0, m_ok
    beqz    s11, 2f
    la      a0, m_fail
2:  jal     puts
    j       finish
child:
    li      a7, SYS_sched_yield
    ecall
    lbu     a0, 0(s0)
    li      a7, SYS_exit
    ecall
spinner:
    li      s4, SPINS
3:  li      a7, SYS_sched_yield
    ecall
    addi    s4, s4, -1
    bnez    s4, 3b
    ${exit0}
    .section .rodata
m_ok:   .asciz "ok\\n"
m_fail: .asciz "FAIL\\n"
${ASM_LIB}
`;

/**
 * The parent forks a child that spins in user mode without ever trapping (`j .`), yields a few
 * times so that the child is running (on another hart when there is one), kills it with SIGKILL and
 * waits: the status word must be 9 (killed by signal 9). Prints "ok" or "FAIL".
 */
export const KILL_RUNNING = `${SYSCALLS}
    .equ SYS_kill, 129
    .equ SIGKILL, 9
    .data
    .balign 4
status: .word 0
    .text
    .globl _start
_start:
    li      s11, 0
    ${fork}
    beqz    a0, spin
    mv      s0, a0
    li      s1, 4
1:  li      a7, SYS_sched_yield
    ecall
    addi    s1, s1, -1
    bnez    s1, 1b
    mv      a0, s0
    li      a1, SIGKILL
    li      a7, SYS_kill
    ecall
    bnez    a0, bad
    mv      a0, s0
    la      a1, status
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    bne     a0, s0, bad
    la      t0, status
    lw      t1, 0(t0)
    li      t2, SIGKILL
    bne     t1, t2, bad
    la      a0, m_ok
    jal     puts
    j       finish
bad:
    addi    s11, s11, 1
    la      a0, m_fail
    jal     puts
    j       finish
spin:
    j       spin
    .section .rodata
m_ok:   .asciz "ok\\n"
m_fail: .asciz "FAIL\\n"
${ASM_LIB}
`;

/**
 * Three children sleep 3, 2 and 1 ms (nanosleep) and then each prints its line; the parent waits
 * for all three and prints "done". The lines come in wake-up order on any number of harts:
 * "child 3", "child 2", "child 1", "done".
 */
export const SLEEPERS = `${SYSCALLS}
    .equ SYS_nanosleep, 101
    .data
    .balign 8
ts:     .quad 0, 0
line:   .ascii "child 0\\n"
    .text
    .globl _start
_start:
    li      s1, 3
1:  ${fork}
    beqz    a0, child
    addi    s1, s1, -1
    bnez    s1, 1b
    li      s1, 3
2:  li      a0, -1
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    addi    s1, s1, -1
    bnez    s1, 2b
    la      a0, m_done
    jal     puts
    li      s11, 0
    j       finish
child:
    la      t0, ts
    li      t1, 1000000
    li      t2, 4
    sub     t2, t2, s1
    mul     t1, t1, t2
    sd      t1, 8(t0)
    mv      a0, t0
    li      a1, 0
    li      a7, SYS_nanosleep
    ecall
    la      a1, line
    addi    t0, s1, '0'
    sb      t0, 6(a1)
    li      a0, 1
    li      a2, 8
    li      a7, SYS_write
    ecall
    ${exit0}
    .section .rodata
m_done: .asciz "done\\n"
${ASM_LIB}
`;
