# demand-zero: maps five anonymous pages, stores one byte into each, and exits 0. Each first
# store is a store page fault that the kernel answers with a fresh zeroed frame.

    .equ SYS_exit, 93
    .equ SYS_mmap, 222
    .equ PROT_RW, 3
    .equ MAP_PRIVATE_ANON, 0x22
    .equ PAGE, 4096
    .equ PAGES, 5

    .text
    .globl _start
_start:
    li      a0, 0
    li      a1, PAGES * PAGE
    li      a2, PROT_RW
    li      a3, MAP_PRIVATE_ANON
    li      a4, -1
    li      a5, 0
    li      a7, SYS_mmap
    ecall
    li      t0, PAGES
    li      t1, PAGE
    li      t2, 1
1:  sb      t2, 0(a0)
    add     a0, a0, t1
    addi    t0, t0, -1
    bnez    t0, 1b
    li      a0, 0
    li      a7, SYS_exit
    ecall
