# fork-cow: the parent writes a data page, forks, and the child writes the same page once: the
# page is shared copy-on-write, so the child's store takes exactly one COW copy. The parent waits
# for the child and exits with the child's exit code (0).

    .equ SYS_exit, 93
    .equ SYS_clone, 220
    .equ SYS_wait4, 260
    .equ SIGCHLD, 17

    .data
    .balign 4096
page:   .dword 1
    .balign 4
status: .word 0

    .text
    .globl _start
_start:
    la      s0, page
    li      t0, 2
    sd      t0, 0(s0)
    li      a0, SIGCHLD
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a4, 0
    li      a7, SYS_clone
    ecall
    bnez    a0, parent
    li      t0, 3
    sd      t0, 0(s0)
    li      a0, 0
    li      a7, SYS_exit
    ecall
parent:
    li      a0, -1
    la      a1, status
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    lw      a0, status
    srli    a0, a0, 8
    andi    a0, a0, 0xff
    li      a7, SYS_exit
    ecall
