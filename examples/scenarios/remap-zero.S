# remap-zero: map a page, write 0x55 into it, munmap it, map the same address again with
# MAP_FIXED, and exit with the byte now there: 0, since the new mapping is fresh demand-zero memory.
    .equ SYS_exit, 93
    .equ SYS_munmap, 215
    .equ SYS_mmap, 222
    .equ ADDR, 0x10000000
    .text
    .globl _start
_start:
    li      s0, ADDR
    li      s1, 0x32            # MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
    mv      a0, s0
    li      a1, 4096
    li      a2, 3
    mv      a3, s1
    li      a4, -1
    li      a5, 0
    li      a7, SYS_mmap
    ecall
    li      t0, 0x55
    sb      t0, 0(s0)
    mv      a0, s0
    li      a1, 4096
    li      a7, SYS_munmap
    ecall
    mv      a0, s0
    li      a1, 4096
    li      a2, 3
    mv      a3, s1
    li      a4, -1
    li      a5, 0
    li      a7, SYS_mmap
    ecall
    lbu     a0, 0(s0)
    li      a7, SYS_exit
    ecall
