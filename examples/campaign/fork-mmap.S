# fork-mmap: the campaign example's program. Maps 8 anonymous pages and writes a distinct word to
# each, forks; the child overwrites every page of its copy and exits 0; the parent waits, then
# checks its own words (copy-on-write) and prints "ok" or "FAIL", exiting with the failure count.
# A failed mmap or fork (-ENOMEM) is a correct answer under fault injection: it prints "ok" too and
# exits 0, so the campaign counts it as handled; only wrong data changes the output.

    .equ SYS_write, 64
    .equ SYS_exit, 93
    .equ SYS_clone, 220
    .equ SYS_mmap, 222
    .equ SYS_wait4, 260
    .equ SIGCHLD, 17
    .equ PAGE, 4096
    .equ N, 8

    .text
    .globl _start
_start:
    li      a0, 0
    li      a1, N * PAGE
    li      a2, 3                   # PROT_READ | PROT_WRITE
    li      a3, 0x22                # MAP_PRIVATE | MAP_ANONYMOUS
    li      a4, -1
    li      a5, 0
    li      a7, SYS_mmap
    ecall
    li      t0, -4096
    bgeu    a0, t0, enomem
    mv      s0, a0
    li      t0, 0
    li      t2, PAGE
1:  mul     t3, t0, t2
    add     t3, s0, t3
    addi    t4, t0, 0x55
    sd      t4, 8(t3)
    addi    t0, t0, 1
    li      t5, N
    bltu    t0, t5, 1b

    li      a0, SIGCHLD
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a4, 0
    li      a7, SYS_clone
    ecall
    beqz    a0, child
    li      t0, -4096
    bgeu    a0, t0, enomem

    li      a0, -1
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    li      s2, 0                   # failures
    li      t0, 0
    li      t2, PAGE
2:  mul     t3, t0, t2
    add     t3, s0, t3
    ld      t4, 8(t3)
    addi    t5, t0, 0x55
    beq     t4, t5, 3f
    addi    s2, s2, 1
3:  addi    t0, t0, 1
    li      t5, N
    bltu    t0, t5, 2b
    la      a1, m_ok
    li      a2, 3
    beqz    s2, 4f
    la      a1, m_fail
    li      a2, 5
4:  li      a0, 1
    li      a7, SYS_write
    ecall
    mv      a0, s2
    li      a7, SYS_exit
    ecall

child:
    li      t0, 0
    li      t2, PAGE
1:  mul     t3, t0, t2
    add     t3, s0, t3
    sd      zero, 8(t3)
    addi    t0, t0, 1
    li      t5, N
    bltu    t0, t5, 1b
    li      a0, 0
    li      a7, SYS_exit
    ecall

enomem:
    li      a0, 1
    la      a1, m_ok
    li      a2, 3
    li      a7, SYS_write
    ecall
    li      a0, 0
    li      a7, SYS_exit
    ecall

    .section .rodata
m_ok:     .ascii "ok\n"
m_fail:   .ascii "FAIL\n"
