# hello: the smallest Linux program. Writes a line with write(2), another from two pieces with
# writev(2), and exits with status 42.
# Runs unchanged under `multios run --arch riscv64` and under `qemu-riscv64`.

    .equ SYS_write, 64
    .equ SYS_writev, 66
    .equ SYS_exit, 93

    .section .rodata
msg:    .ascii  "hello, world\n"
msg_end:
part1:  .ascii  "hello again, "
part2:  .ascii  "in two pieces\n"
part2_end:

    .data
iov:    .dword  part1, part2 - part1
        .dword  part2, part2_end - part2

    .text
    .globl _start
_start:
    li      a0, 1
    la      a1, msg
    li      a2, msg_end - msg
    li      a7, SYS_write
    ecall
    li      a0, 1
    la      a1, iov
    li      a2, 2
    li      a7, SYS_writev
    ecall
    li      a0, 42
    li      a7, SYS_exit
    ecall
