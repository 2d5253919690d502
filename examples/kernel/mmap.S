# mmap: anonymous private mappings. Maps four pages, fills and checks them, unmaps them, maps the
# same range again with MAP_FIXED and checks it reads zeros, then tries mprotect, a free hint, and
# an unmapped hole, unmapping what is not mapped, and running code written into a
# PROT_READ|PROT_WRITE|PROT_EXEC mapping. Prints one "ok"/"FAIL" line per check; exits with the number of failures.
# Runs unchanged under `multios run --arch riscv64` and under `qemu-riscv64`.

    .equ SYS_write, 64
    .equ SYS_exit, 93
    .equ SYS_munmap, 215
    .equ SYS_mmap, 222
    .equ SYS_mprotect, 226
    .equ PROT_READ, 1
    .equ PROT_RW, 3
    .equ PROT_RWX, 7
    .equ MAP_PRIVATE_ANON, 0x22
    .equ MAP_FIXED, 0x10
    .equ PAGE, 4096
    .equ LEN, 4 * PAGE
    .equ HINT, 0x50000000

    .section .rodata
m_map:     .asciz "mmap returns a page-aligned address"
m_fill:    .asciz "each page holds what was written"
m_unmap:   .asciz "munmap returns 0"
m_fixed:   .asciz "MAP_FIXED maps exactly the address asked for"
m_zeros:   .asciz "the remapped range reads zeros"
m_protect: .asciz "mprotect(PROT_READ) returns 0 and the page stays readable"
m_hint:    .asciz "a free hint is used as given"
m_hole:    .asciz "munmap of one page in the middle returns 0"
m_nothing: .asciz "munmap of a range with nothing mapped returns 0"
m_code:    .asciz "code written into a PROT_EXEC mapping runs"

    .text
    .globl _start
_start:
    li      s11, 0
    li      a0, 0
    li      a1, LEN
    li      a2, PROT_RW
    li      a3, MAP_PRIVATE_ANON
    li      a4, -1
    li      a5, 0
    li      a7, SYS_mmap
    ecall
    mv      s0, a0
    slli    a0, s0, 52
    la      a1, m_map
    jal     check

    # Page i gets the value s0 + i in its first and last doublewords.
    li      t0, 0
    li      t2, PAGE
1:  add     t3, s0, t0
    add     t4, s0, t0
    sd      t4, 0(t3)
    add     t3, t3, t2
    sd      t4, -8(t3)
    add     t0, t0, t2
    li      t3, LEN
    bltu    t0, t3, 1b
    li      s1, 0
    li      t0, 0
2:  add     t3, s0, t0
    ld      t4, 0(t3)
    sub     t4, t4, t3
    or      s1, s1, t4
    add     t5, t3, t2
    ld      t4, -8(t5)
    sub     t4, t4, t3
    or      s1, s1, t4
    add     t0, t0, t2
    li      t3, LEN
    bltu    t0, t3, 2b
    mv      a0, s1
    la      a1, m_fill
    jal     check

    mv      a0, s0
    li      a1, LEN
    li      a7, SYS_munmap
    ecall
    la      a1, m_unmap
    jal     check

    mv      a0, s0
    li      a1, LEN
    li      a2, PROT_RW
    li      a3, MAP_PRIVATE_ANON | MAP_FIXED
    li      a4, -1
    li      a5, 0
    li      a7, SYS_mmap
    ecall
    sub     a0, a0, s0
    la      a1, m_fixed
    jal     check

    li      s1, 0
    li      t0, 0
    li      t2, PAGE
3:  add     t3, s0, t0
    ld      t4, 0(t3)
    or      s1, s1, t4
    add     t3, t3, t2
    ld      t4, -8(t3)
    or      s1, s1, t4
    add     t0, t0, t2
    li      t3, LEN
    bltu    t0, t3, 3b
    mv      a0, s1
    la      a1, m_zeros
    jal     check

    mv      a0, s0
    li      a1, PAGE
    li      a2, PROT_READ
    li      a7, SYS_mprotect
    ecall
    ld      t0, 0(s0)
    or      a0, a0, t0
    la      a1, m_protect
    jal     check

    li      a0, PAGE
    add     a0, a0, s0
    li      a1, PAGE
    li      a7, SYS_munmap
    ecall
    la      a1, m_hole
    jal     check

    li      a0, HINT
    li      a1, PAGE
    li      a2, PROT_RW
    li      a3, MAP_PRIVATE_ANON
    li      a4, -1
    li      a5, 0
    li      a7, SYS_mmap
    ecall
    li      t0, HINT
    sub     a0, a0, t0
    la      a1, m_hint
    jal     check

    li      a0, 0x60000000
    li      a1, LEN
    li      a7, SYS_munmap
    ecall
    la      a1, m_nothing
    jal     check

    # "li a0, 123; ret", stored as instruction words, made visible to fetch, and called.
    li      a0, 0
    li      a1, PAGE
    li      a2, PROT_RWX
    li      a3, MAP_PRIVATE_ANON
    li      a4, -1
    li      a5, 0
    li      a7, SYS_mmap
    ecall
    mv      s1, a0
    li      t0, 0x07b00513
    sw      t0, 0(s1)
    li      t0, 0x00008067
    sw      t0, 4(s1)
    fence.i
    jalr    s1
    addi    a0, a0, -123
    la      a1, m_code
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
