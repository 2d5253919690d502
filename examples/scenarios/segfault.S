# segfault: a store to an address nothing maps. The kernel kills the process with SIGSEGV and the
# run exits with 128 + 11 = 139.

    .equ BAD, 0x1000

    .text
    .globl _start
_start:
    li      t0, BAD
    li      t1, 42
    sd      t1, 0(t0)
    li      a0, 0
    li      a7, 93
    ecall
