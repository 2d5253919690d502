# smp-riscv64: the several-harts campaign example's program (riscv64; run it with --harts 4).
#
# The parent maps 4 pages and writes a distinct word to each, then forks a child that spins in
# user mode without ever trapping and 3 workers. Worker k (1..3) overwrites page k of its
# copy-on-write copy, works through all 4 pages for a while, sleeps k ms (nanosleep), checks that it
# sees its own word in page k and the parent's original words elsewhere, and exits 0 (1 if not).
# Meanwhile the parent overwrites page 0 of its copy, yields so that the spinner runs (on another
# hart when there are several), kills the spinner with SIGKILL (an IPI to the hart that runs it),
# reaps every child (the spinner must end by signal 9, the workers with status 0), checks its own
# words and prints "ok" (exit 0) or "FAIL" (exit 1).
#
# With 4 harts the spinner, the workers and the parent run at once and move between harts, so
# fork's write-protection, the copies and the frees all need TLB shootdowns. A failed mmap or fork
# (-ENOMEM) under fault injection is a correct answer: the program goes on without that child (or
# prints "ok" at once without the mapping), so the campaign counts it as handled; only wrong data
# or a wrong status changes the output.

    .equ SYS_write, 64
    .equ SYS_exit, 93
    .equ SYS_nanosleep, 101
    .equ SYS_sched_yield, 124
    .equ SYS_kill, 129
    .equ SYS_clone, 220
    .equ SYS_mmap, 222
    .equ SYS_wait4, 260
    .equ SIGCHLD, 17
    .equ SIGKILL, 9
    .equ PAGE, 4096
    .equ N, 4
    .equ WORKERS, 3
    .equ WORK, 300

    .text
    .globl _start
_start:
    li      s2, 0                   # failures
    li      s1, 0                   # the spinner's pid (0: none)
    li      a0, 0
    li      a1, N * PAGE
    li      a2, 3                   # PROT_READ | PROT_WRITE
    li      a3, 0x22                # MAP_PRIVATE | MAP_ANONYMOUS
    li      a4, -1
    li      a5, 0
    li      a7, SYS_mmap
    ecall
    li      t0, -4096
    bgeu    a0, t0, report
    mv      s0, a0
    li      t0, 0
1:  slli    t3, t0, 12
    add     t3, s0, t3
    addi    t4, t0, 0x55
    sd      t4, 8(t3)
    addi    t0, t0, 1
    li      t5, N
    bltu    t0, t5, 1b

    # The spinner.
    jal     do_fork
    beqz    a0, spinner
    bltz    a0, 2f
    mv      s1, a0
2:  # The workers.
    li      s3, 1
3:  jal     do_fork
    beqz    a0, worker
    addi    s3, s3, 1
    li      t0, WORKERS
    bleu    s3, t0, 3b

    # The parent's own copy-on-write copy of page 0, then a few yields so the spinner runs.
    li      t0, 0x1234
    sd      t0, 8(s0)
    li      s4, 6
4:  li      a7, SYS_sched_yield
    ecall
    addi    s4, s4, -1
    bnez    s4, 4b
    beqz    s1, reap
    mv      a0, s1
    li      a1, SIGKILL
    li      a7, SYS_kill
    ecall
    beqz    a0, reap
    addi    s2, s2, 1

reap:
    li      a0, -1
    la      a1, status
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    bltz    a0, checked             # -ECHILD: every child is reaped
    la      t0, status
    lw      t1, 0(t0)
    li      t2, 0                   # a worker: exited 0
    bne     a0, s1, 5f
    li      t2, SIGKILL             # the spinner: killed by signal 9
5:  beq     t1, t2, reap
    addi    s2, s2, 1
    j       reap

checked:
    ld      t4, 8(s0)
    li      t5, 0x1234
    beq     t4, t5, 6f
    addi    s2, s2, 1
6:  li      t0, 1
7:  slli    t3, t0, 12
    add     t3, s0, t3
    ld      t4, 8(t3)
    addi    t5, t0, 0x55
    beq     t4, t5, 8f
    addi    s2, s2, 1
8:  addi    t0, t0, 1
    li      t5, N
    bltu    t0, t5, 7b

report:
    la      a1, m_ok
    li      a2, 3
    beqz    s2, 9f
    la      a1, m_fail
    li      a2, 5
    li      s2, 1
9:  li      a0, 1
    li      a7, SYS_write
    ecall
    mv      a0, s2
    li      a7, SYS_exit
    ecall

# Worker s3: its own word in page s3, some work over every page, a sleep of s3 ms, then the check.
worker:
    slli    s5, s3, 12
    add     s5, s0, s5              # page s3
    addi    t0, s3, 0x700
    sd      t0, 8(s5)
    li      s4, WORK
10: andi    t0, s4, N - 1
    slli    t0, t0, 12
    add     t0, s0, t0
    ld      t1, 8(t0)
    add     s6, s6, t1
    addi    s4, s4, -1
    bnez    s4, 10b
    la      a0, ts
    li      t1, 1000000
    mul     t1, t1, s3
    sd      t1, 8(a0)
    li      a1, 0
    li      a7, SYS_nanosleep
    ecall
    li      s7, 0                   # wrong words
    li      t0, 0
11: slli    t3, t0, 12
    add     t3, s0, t3
    ld      t4, 8(t3)
    addi    t5, t0, 0x55
    bne     t0, s3, 12f
    addi    t5, s3, 0x700
12: beq     t4, t5, 13f
    addi    s7, s7, 1
13: addi    t0, t0, 1
    li      t5, N
    bltu    t0, t5, 11b
    snez    a0, s7
    li      a7, SYS_exit
    ecall

spinner:
    j       spinner

# fork: a0 = 0 in the child, the child's pid in the parent, or -errno (the parent goes on alone).
do_fork:
    li      a0, SIGCHLD
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a4, 0
    li      a7, SYS_clone
    ecall
    ret

    .data
    .balign 8
ts:     .quad 0, 0
status: .word 0
    .section .rodata
m_ok:   .asciz "ok\n"
m_fail: .asciz "FAIL\n"
