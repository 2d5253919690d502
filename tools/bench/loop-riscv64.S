# Benchmark guest: an S-mode integer loop with loads and stores.
# MODE (defined by the harness) selects satp: 0 = Bare, 8 = Sv39 (1 GiB identity superpages),
# ITERS the number of iterations (7 instructions each).
.text
.globl _start
_start:
    la      t0, fail
    csrw    mtvec, t0
    li      t0, -1
    csrw    pmpaddr0, t0
    li      t0, 0x1f
    csrw    pmpcfg0, t0
    # root[0]: devices, root[2]: RAM; both 1 GiB kernel superpages with A and D set.
    la      t0, root
    li      t1, 0xc7
    sd      t1, 0(t0)
    li      t1, ((0x80000000 >> 12) << 10) | 0xcf
    sd      t1, 16(t0)
    li      t1, MODE
    beqz    t1, 1f
    srli    t0, t0, 12
    slli    t1, t1, 60
    or      t0, t0, t1
    csrw    satp, t0
    sfence.vma
1:  li      t0, 1 << 11
    csrs    mstatus, t0
    la      t0, loop_start
    csrw    mepc, t0
    mret
loop_start:
    la      s0, buf
    li      s1, ITERS
    li      s2, 0
2:  ld      t0, 0(s0)
    add     t0, t0, s1
    sd      t0, 8(s0)
    ld      t1, 16(s0)
    xor     s2, s2, t1
    addi    s1, s1, -1
    bnez    s1, 2b
    li      t0, 0x100000
    li      t1, 0x5555
    sw      t1, 0(t0)
3:  j       3b
.align 2
fail:
    li      t0, 0x100000
    li      t1, 0x13333
    sw      t1, 0(t0)
    j       fail

.data
.align 12
buf:    .zero 64
.align 12
root:   .zero 4096
