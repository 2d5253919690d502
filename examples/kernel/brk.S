# brk: the program break. Grows the heap by three pages and a bit, writes its first and last
# bytes, shrinks it back, grows it again and checks that the whole pages it gave back read zeros.
# Prints one "ok"/"FAIL" line per check; exits with the number of failures.
# Runs unchanged under `multios run --arch riscv64` and under `qemu-riscv64`.

    .equ SYS_write, 64
    .equ SYS_exit, 93
    .equ SYS_brk, 214
    .equ PAGE, 4096
    .equ GROW, 3 * PAGE + 100

    .section .rodata
m_grow:   .asciz "brk grows the break to the address asked for"
m_query:  .asciz "brk(0) returns the current break"
m_use:    .asciz "the new heap holds what was written"
m_shrink: .asciz "brk shrinks the break back"
m_below:  .asciz "brk below the heap start is refused (returns the current break)"
m_zeros:  .asciz "pages given back and grown again read zeros"

    .text
    .globl _start
_start:
    li      s11, 0
    li      a0, 0
    li      a7, SYS_brk
    ecall
    mv      s0, a0                  # the initial break
    li      t0, GROW
    add     s1, s0, t0              # the break asked for
    mv      a0, s1
    li      a7, SYS_brk
    ecall
    sub     a0, a0, s1
    la      a1, m_grow
    jal     check
    li      a0, 0
    li      a7, SYS_brk
    ecall
    sub     a0, a0, s1
    la      a1, m_query
    jal     check

    # s2 = the first page boundary at or above the initial break; write it, the page after, and the last byte.
    li      t0, PAGE - 1
    add     s2, s0, t0
    srli    s2, s2, 12
    slli    s2, s2, 12
    li      t0, -1
    sd      t0, 0(s2)
    li      t1, PAGE
    add     t1, t1, s2
    sd      t0, 0(t1)
    sb      t0, -1(s1)
    ld      t2, 0(s2)
    lbu     t3, -1(s1)
    addi    t2, t2, 1
    addi    t3, t3, -255
    or      a0, t2, t3
    la      a1, m_use
    jal     check

    mv      a0, s0
    li      a7, SYS_brk
    ecall
    sub     a0, a0, s0
    la      a1, m_shrink
    jal     check

    li      a0, 0x10000
    li      a7, SYS_brk
    ecall
    sub     a0, a0, s0
    la      a1, m_below
    jal     check

    mv      a0, s1
    li      a7, SYS_brk
    ecall
    ld      t2, 0(s2)
    li      t1, PAGE
    add     t1, t1, s2
    ld      t3, 0(t1)
    or      a0, t2, t3
    la      a1, m_zeros
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
