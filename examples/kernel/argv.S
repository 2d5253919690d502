# argv: prints argc and every argument, one per line, from the stack Linux builds at exec:
# argc at 0(sp), then argv[0..argc-1], then a NULL. Exits with argc as the status.
# Runs unchanged under `multios run --arch riscv64` and under `qemu-riscv64`.

    .equ SYS_write, 64
    .equ SYS_exit, 93

    .section .rodata
s_argc: .asciz "argc "
s_argv: .asciz "argv: "
s_nl:   .asciz "\n"

    .bss
digits: .zero 24

    .text
    .globl _start
_start:
    ld      s0, 0(sp)               # argc
    addi    s1, sp, 8               # &argv[0]
    la      a0, s_argc
    jal     puts
    mv      a0, s0
    jal     putdec
    la      a0, s_nl
    jal     puts
1:  ld      s2, 0(s1)
    beqz    s2, 2f
    la      a0, s_argv
    jal     puts
    mv      a0, s2
    jal     puts
    la      a0, s_nl
    jal     puts
    addi    s1, s1, 8
    j       1b
2:  mv      a0, s0
    li      a7, SYS_exit
    ecall

# puts: writes the NUL-terminated string at a0 to stdout. Clobbers a0-a2, a7, t0, t1.
puts:
    mv      t0, a0
1:  lbu     t1, 0(t0)
    beqz    t1, 2f
    addi    t0, t0, 1
    j       1b
2:  sub     a2, t0, a0
    mv      a1, a0
    li      a0, 1
    li      a7, SYS_write
    ecall
    ret

# putdec: writes a0 (unsigned) in decimal to stdout. Clobbers a0-a2, a7, t0-t2.
putdec:
    la      t0, digits + 24
    mv      a1, t0
    li      t2, 10
1:  remu    t1, a0, t2
    addi    t1, t1, '0'
    addi    a1, a1, -1
    sb      t1, 0(a1)
    divu    a0, a0, t2
    bnez    a0, 1b
    sub     a2, t0, a1
    li      a0, 1
    li      a7, SYS_write
    ecall
    ret
