# fork-exec: the first process forks three children; each execs this same program (argv[0], from
# the initial ramdisk) with one argument, so it runs as a child: prints "child" and exits 1. The
# parent waits for all three and exits with the sum of their statuses (3).

    .equ SYS_write, 64
    .equ SYS_exit, 93
    .equ SYS_clone, 220
    .equ SYS_execve, 221
    .equ SYS_wait4, 260
    .equ SIGCHLD, 17

    .data
    .balign 8
argvv:  .dword 0, 0, 0          # the child's argv (argv[0], "child", NULL); envp = &argvv[2]
status: .word 0
msg:    .ascii "child\n"
arg:    .asciz "child"

    .text
    .globl _start
_start:
    ld      t0, 0(sp)           # argc
    li      t1, 2
    bge     t0, t1, child
    ld      s1, 8(sp)           # argv[0]
    li      s2, 3
1:  li      a0, SIGCHLD
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a4, 0
    li      a7, SYS_clone
    ecall
    beqz    a0, doexec
    addi    s2, s2, -1
    bnez    s2, 1b
    li      s3, 3
    li      s4, 0
2:  li      a0, -1
    la      a1, status
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    lw      t0, status
    srli    t0, t0, 8
    andi    t0, t0, 0xff
    add     s4, s4, t0
    addi    s3, s3, -1
    bnez    s3, 2b
    mv      a0, s4
    li      a7, SYS_exit
    ecall
doexec:
    la      a1, argvv
    sd      s1, 0(a1)
    la      t0, arg
    sd      t0, 8(a1)
    mv      a0, s1
    addi    a2, a1, 16
    li      a7, SYS_execve
    ecall
    li      a0, 127             # execve returned: it failed
    li      a7, SYS_exit
    ecall
child:
    li      a0, 1
    la      a1, msg
    li      a2, 6
    li      a7, SYS_write
    ecall
    li      a0, 1
    li      a7, SYS_exit
    ecall
