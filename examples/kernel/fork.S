# fork: clone(SIGCHLD) and wait4. The child checks getppid, overwrites a byte it shares with its
# parent and exits with status 5; the parent waits for it, checks the status word, checks that its
# own byte is untouched (copy-on-write), writes it, and finds no child left to wait for.
# Prints one "ok"/"FAIL" line per check; exits with the number of failures.
# Runs unchanged under `multios run --arch riscv64` and under `qemu-riscv64`.

    .equ SYS_write, 64
    .equ SYS_exit, 93
    .equ SYS_getpid, 172
    .equ SYS_getppid, 173
    .equ SYS_clone, 220
    .equ SYS_wait4, 260
    .equ SIGCHLD, 17
    .equ ECHILD, 10

    .data
byte:   .byte 'A'
    .balign 4
status: .word 0

    .section .rodata
m_ppid:    .asciz "child: getppid is the parent's pid"
m_cwrite:  .asciz "child: its copy of the byte takes the write"
m_fork:    .asciz "parent: fork returned a pid"
m_wait:    .asciz "parent: wait4 returns the child's pid"
m_status:  .asciz "parent: the status word is exit code 5 << 8"
m_intact:  .asciz "parent: its byte is untouched by the child's write"
m_pwrite:  .asciz "parent: its byte takes its own write"
m_echild:  .asciz "parent: wait4 with no child left returns -ECHILD"

    .text
    .globl _start
_start:
    li      s11, 0
    li      a7, SYS_getpid
    ecall
    mv      s0, a0                  # the parent's pid
    la      s1, byte
    li      a0, SIGCHLD
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a4, 0
    li      a7, SYS_clone
    ecall
    bnez    a0, parent

    li      a7, SYS_getppid
    ecall
    sub     a0, a0, s0
    la      a1, m_ppid
    jal     check
    li      t0, 'B'
    sb      t0, 0(s1)
    lbu     a0, 0(s1)
    addi    a0, a0, -'B'
    la      a1, m_cwrite
    jal     check
    addi    a0, s11, 5
    li      a7, SYS_exit
    ecall

parent:
    mv      s2, a0                  # the child's pid; print nothing until it has exited
    la      a1, status
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    mv      s3, a0
    slt     a0, zero, s2
    xori    a0, a0, 1
    la      a1, m_fork
    jal     check
    sub     a0, s3, s2
    la      a1, m_wait
    jal     check
    lw      a0, status
    addi    a0, a0, -(5 << 8)
    la      a1, m_status
    jal     check
    lbu     a0, 0(s1)
    addi    a0, a0, -'A'
    la      a1, m_intact
    jal     check
    li      t0, 'C'
    sb      t0, 0(s1)
    lbu     a0, 0(s1)
    addi    a0, a0, -'C'
    la      a1, m_pwrite
    jal     check
    li      a0, -1
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    addi    a0, a0, ECHILD
    la      a1, m_echild
    jal     check
    mv      a0, s11
    li      a7, SYS_exit
    ecall

# check: a0 = 0 when the check passed, a1 = its name. Prints "ok NAME" or "FAIL NAME" and counts
# failures in s11. Clobbers a0-a2, a7, t0-t2, s9, s10.
check:
    mv      s10, ra
    mv      s9, a1
    la      t2, s_ok
    beqz    a0, 1f
    la      t2, s_fail
    addi    s11, s11, 1
1:  mv      a0, t2
    jal     puts
    mv      a0, s9
    jal     puts
    la      a0, s_nl
    jal     puts
    mv      ra, s10
    ret

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

    .section .rodata
s_ok:   .asciz "ok "
s_fail: .asciz "FAIL "
s_nl:   .asciz "\n"
