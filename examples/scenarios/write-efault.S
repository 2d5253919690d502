# write-efault: write(1, buf, 8) with a buffer in kernel space (the direct map). The kernel refuses
# it with -EFAULT (-14) and prints nothing; the program exits with the negated result, 14.
    .text
    .globl _start
_start:
    li      a0, 1
    li      a1, 0xffffffc000000000
    li      a2, 8
    li      a7, 64
    ecall
    neg     a0, a0
    li      a7, 93
    ecall
