# exec: runs another program in its place, like `exec` in a shell: execve(argv[1], &argv[1], envp).
# With `multios run`, the program comes from the initial ramdisk (--file); under Linux, from the
# file system. If execve returns, prints "exec: PATH: error N" (N = errno) and exits with N;
# without an argument, exits 127.
#   multios run --arch riscv64 exec.S --file argv.S /argv one two

    .equ SYS_write, 64
    .equ SYS_exit, 93
    .equ SYS_execve, 221

    .section .rodata
s_exec:  .asciz "exec: "
s_error: .asciz ": error "
s_nl:    .asciz "\n"

    .bss
digits: .zero 24

    .text
    .globl _start
_start:
    ld      t0, 0(sp)               # argc
    li      t1, 2
    blt     t0, t1, usage
    ld      s0, 16(sp)              # argv[1]: the path
    addi    a1, sp, 16              # &argv[1]: the new argv
    slli    t0, t0, 3
    add     a2, sp, t0
    addi    a2, a2, 16              # envp: after argv's NULL
    mv      a0, s0
    li      a7, SYS_execve
    ecall
    neg     s1, a0                  # execve returned: the errno
    la      a0, s_exec
    jal     puts
    mv      a0, s0
    jal     puts
    la      a0, s_error
    jal     puts
    mv      a0, s1
    jal     putdec
    la      a0, s_nl
    jal     puts
    mv      a0, s1
    li      a7, SYS_exit
    ecall
usage:
    li      a0, 127
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
