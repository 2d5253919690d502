# Sv39/Sv48 fault matrix: a bare-metal RV64 program for riscv64-virt that performs loads, stores
# and fetches from S- and U-mode through page tables it builds, and prints the trap each one takes
# (mcause and mtval; nothing is delegated). Every case fences with sfence.vma first, so the output
# is fixed by the privileged spec and is the same under QEMU and MultiOS (test/reference compares).
#
# Each case (see `cases`) sets:
#   L1[0]   pointer to L0 (plus extra bits), or a 2 MiB leaf (aligned or not)
#   L0[0]   leaf for the target page, with the case's flags (may include reserved bits)
#   mode    S or U for the probe; status bits (SUM, MXR) set in mstatus
#   access  load, store or fetch at VA = 0x4000_0000 + offset
# Pages: root[0] devices and root[2] RAM are global kernel superpages; root[1] -> L1 -> L0.
# The U-mode probe runs from VA 0x4020_0000 (L1[1] -> L0U[0], U R X).

.equ UART,      0x10000000
.equ FINISHER,  0x100000
.equ PTE_V, 1
.equ PTE_R, 2
.equ PTE_W, 4
.equ PTE_X, 8
.equ PTE_U, 16
.equ PTE_G, 32
.equ PTE_A, 64
.equ PTE_D, 128
.equ AD, PTE_A | PTE_D
.equ SUM, 1 << 18
.equ MXR, 1 << 19
.equ LD, 0
.equ ST, 1
.equ FX, 2
.equ L1_PTR, 0
.equ L1_LEAF, 1
.equ L1_LEAF_MISALIGNED, 2
.equ SUPER_PA, 0x80400000
.equ ECALL, 0x00000073

.text
.globl _start
_start:
    la      sp, stack_top
    la      t0, m_trap
    csrw    mtvec, t0
    li      t0, -1
    csrw    pmpaddr0, t0
    li      t0, 0x1f
    csrw    pmpcfg0, t0
    # root[0], root[2]: kernel superpages (global). root[1] -> l1. l1[1] -> l0u -> probe_u page.
    la      s0, root
    li      t0, PTE_V | PTE_R | PTE_W | PTE_G | AD
    sd      t0, 0(s0)
    li      t0, (0x80000000 >> 12) << 10
    ori     t0, t0, PTE_V | PTE_R | PTE_W | PTE_X | PTE_G | AD
    sd      t0, 16(s0)
    la      a0, l1
    call    ptr_pte
    sd      a0, 8(s0)
    la      a0, l0u
    call    ptr_pte
    la      t1, l1
    sd      a0, 8(t1)
    la      a0, probe_u
    srli    a0, a0, 12
    slli    a0, a0, 10
    ori     a0, a0, PTE_V | PTE_R | PTE_X | PTE_U | AD
    la      t1, l0u
    sd      a0, 0(t1)
    la      a0, msg_title
    call    puts

    # Run every case under Sv39, then under Sv48 (root[1] is the same entry at index 1 of the
    # Sv48 level-3 table `root48`, whose entry 0 points to `root`).
    li      s10, 8
    call    run_all
    la      t0, root48
    la      a0, root
    call    ptr_pte
    sd      a0, 0(t0)
    li      s10, 9
    call    run_all

    la      a0, msg_done
    call    puts
    li      t0, FINISHER
    li      t1, 0x5555
    sw      t1, 0(t0)
1:  j       1b

# run_all: s10 = satp mode (8 Sv39, 9 Sv48). Runs every case in `cases`.
run_all:
    addi    sp, sp, -16
    sd      ra, 0(sp)
    la      a0, msg_mode
    call    puts
    mv      a0, s10
    call    putdec
    li      a0, '\n'
    call    putc
    la      s1, cases
    li      s2, 0
1:  ld      t0, 0(s1)
    li      t1, -1
    beq     t0, t1, 2f
    call    run_case
    addi    s1, s1, 56
    addi    s2, s2, 1
    j       1b
2:  ld      ra, 0(sp)
    addi    sp, sp, 16
    ret

# run_case: s1 = case record {l1 kind, l1 extra flags, l0 flags, mode, access, status, va offset}
run_case:
    addi    sp, sp, -16
    sd      ra, 0(sp)
    # Restore the target page's first word (an ecall, for fetch probes).
    la      t0, target
    li      t1, ECALL
    sw      t1, 0(t0)
    # L1[0]
    ld      t2, 0(s1)
    ld      t3, 8(s1)
    la      t4, l1
    li      t5, L1_PTR
    bne     t2, t5, 3f
    la      a0, l0
    call    ptr_pte
    or      a0, a0, t3
    j       5f
3:  li      a0, SUPER_PA
    li      t5, L1_LEAF
    beq     t2, t5, 4f
    li      t5, 0x1000
    add     a0, a0, t5
4:  srli    a0, a0, 12
    slli    a0, a0, 10
    or      a0, a0, t3
5:  la      t4, l1
    sd      a0, 0(t4)
    # L0[0] = target | flags
    la      a0, target
    srli    a0, a0, 12
    slli    a0, a0, 10
    ld      t3, 16(s1)
    or      a0, a0, t3
    la      t4, l0
    sd      a0, 0(t4)
    # satp = mode | root (Sv39) or root48 (Sv48); fence everything.
    la      t0, root
    li      t1, 9
    bne     s10, t1, 6f
    la      t0, root48
6:  srli    t0, t0, 12
    slli    t1, s10, 60
    or      t0, t0, t1
    csrw    satp, t0
    sfence.vma
    # Print "NN " then perform the probe; m_trap prints the outcome and returns to probe_done.
    mv      a0, s2
    call    putdec2
    # mstatus: clear MPP, SUM, MXR; set MPP = mode, plus the case's status bits.
    li      t0, (3 << 11) | SUM | MXR
    csrc    mstatus, t0
    ld      t0, 24(s1)
    slli    t0, t0, 11
    csrs    mstatus, t0
    ld      t0, 40(s1)
    csrs    mstatus, t0
    # a0 = VA = 0x40000000 + offset
    ld      t0, 48(s1)
    li      a0, 0x40000000
    add     a0, a0, t0
    ld      a1, 32(s1)
    # Probe code: S-mode probes run from the identity map, U-mode ones from 0x40200000.
    la      t0, probe_u
    ld      t1, 24(s1)
    beqz    t1, 7f
    la      t0, probe_s
    j       8f
7:  li      t0, 0x40200000
8:  csrw    mepc, t0
    la      t0, probe_done
    la      t1, resume
    sd      t0, 0(t1)
    sd      sp, 8(t1)
    mret
probe_done:
    ld      ra, 0(sp)
    addi    sp, sp, 16
    ret

# ptr_pte(a0 = table address) -> a0 = non-leaf PTE pointing to it
ptr_pte:
    srli    a0, a0, 12
    slli    a0, a0, 10
    ori     a0, a0, PTE_V
    ret

# probe_s: a0 = VA, a1 = access kind. Ends with ecall (cause 9) when the access succeeds.
probe_s:
    li      t0, FX
    beq     a1, t0, 2f
    li      t0, ST
    beq     a1, t0, 1f
    ld      t1, 0(a0)
    ecall
1:  sd      zero, 0(a0)
    ecall
2:  jr      a0

# Every trap comes here (M-mode): print the outcome, then resume the harness.
.align 2
m_trap:
    la      sp, trap_stack_top
    csrr    s3, mcause
    csrr    s4, mtval
    li      t0, 8
    beq     s3, t0, 1f
    li      t0, 9
    beq     s3, t0, 1f
    la      a0, msg_cause
    call    puts
    mv      a0, s3
    call    putdec
    la      a0, msg_tval
    call    puts
    mv      a0, s4
    call    puthex
    j       2f
1:  la      a0, msg_ok
    call    puts
2:  li      a0, '\n'
    call    putc
    la      t1, resume
    ld      t0, 0(t1)
    ld      sp, 8(t1)
    jr      t0

# ---------------------------------------------------------------- console (M-mode)
putc:
    li      t0, UART
    sb      a0, 0(t0)
    ret
puts:
    li      t0, UART
1:  lbu     t1, 0(a0)
    beqz    t1, 2f
    sb      t1, 0(t0)
    addi    a0, a0, 1
    j       1b
2:  ret
puthex:
    li      t0, UART
    li      t1, '0'
    sb      t1, 0(t0)
    li      t1, 'x'
    sb      t1, 0(t0)
    li      t2, 60
    li      t3, 0
1:  srl     t1, a0, t2
    andi    t1, t1, 15
    or      t3, t3, t1
    bnez    t3, 2f
    beqz    t2, 2f
    j       3f
2:  li      t4, 10
    blt     t1, t4, 4f
    addi    t1, t1, 'a' - 10 - '0'
4:  addi    t1, t1, '0'
    sb      t1, 0(t0)
3:  addi    t2, t2, -4
    bgez    t2, 1b
    ret
putdec:
    li      t0, UART
    addi    sp, sp, -32
    mv      t1, sp
    li      t2, 10
1:  remu    t3, a0, t2
    addi    t3, t3, '0'
    sb      t3, 0(t1)
    addi    t1, t1, 1
    divu    a0, a0, t2
    bnez    a0, 1b
2:  addi    t1, t1, -1
    lbu     t3, 0(t1)
    sb      t3, 0(t0)
    bne     t1, sp, 2b
    addi    sp, sp, 32
    ret
# putdec2(a0): two digits and a colon, "07: "
putdec2:
    li      t0, UART
    li      t2, 10
    divu    t1, a0, t2
    addi    t1, t1, '0'
    sb      t1, 0(t0)
    remu    t1, a0, t2
    addi    t1, t1, '0'
    sb      t1, 0(t0)
    li      t1, ':'
    sb      t1, 0(t0)
    li      t1, ' '
    sb      t1, 0(t0)
    ret

# ---------------------------------------------------------------- U-mode probe page
.align 12
probe_u:
    li      t0, FX
    beq     a1, t0, 2f
    li      t0, ST
    beq     a1, t0, 1f
    ld      t1, 0(a0)
    ecall
1:  sd      zero, 0(a0)
    ecall
2:  jr      a0

.section .rodata
msg_title:  .asciz "MMU fault matrix (mcause/mtval per case; ok = no fault)\n"
msg_mode:   .asciz "satp.MODE = "
msg_ok:     .asciz "ok"
msg_cause:  .asciz "mcause="
msg_tval:   .asciz " mtval="
msg_done:   .asciz "done\n"

.data
.align 3
resume:     .dword 0, 0
# {l1 kind, l1 extra flags, l0 flags, mode (1 S, 0 U), access, mstatus bits, VA offset}
cases:
    # Leaf permissions, U page, from U and S (SUM off/on), and MXR.
    .dword L1_PTR, 0, PTE_V|PTE_R|PTE_U|AD,        0, LD, 0, 0
    .dword L1_PTR, 0, PTE_V|PTE_R|PTE_U|AD,        0, ST, 0, 0
    .dword L1_PTR, 0, PTE_V|PTE_R|PTE_U|AD,        0, FX, 0, 0
    .dword L1_PTR, 0, PTE_V|PTE_R|PTE_W|PTE_U|AD,  0, ST, 0, 8
    .dword L1_PTR, 0, PTE_V|PTE_X|PTE_U|AD,        0, FX, 0, 0
    .dword L1_PTR, 0, PTE_V|PTE_X|PTE_U|AD,        0, LD, 0, 0
    .dword L1_PTR, 0, PTE_V|PTE_X|PTE_U|AD,        0, LD, MXR, 0
    .dword L1_PTR, 0, PTE_V|PTE_R|PTE_W|PTE_U|AD,  1, LD, 0, 0
    .dword L1_PTR, 0, PTE_V|PTE_R|PTE_W|PTE_U|AD,  1, LD, SUM, 0
    .dword L1_PTR, 0, PTE_V|PTE_R|PTE_W|PTE_U|AD,  1, ST, SUM, 0
    .dword L1_PTR, 0, PTE_V|PTE_R|PTE_X|PTE_U|AD,  1, FX, SUM, 0
    # Supervisor pages from U and S.
    .dword L1_PTR, 0, PTE_V|PTE_R|PTE_W|AD,        0, LD, 0, 0
    .dword L1_PTR, 0, PTE_V|PTE_R|PTE_W|AD,        1, ST, 0, 0
    .dword L1_PTR, 0, PTE_V|PTE_R|AD,              1, ST, 0, 0
    .dword L1_PTR, 0, PTE_V|PTE_R|PTE_X|AD,        1, FX, 0, 0
    .dword L1_PTR, 0, PTE_V|PTE_R|AD,              1, FX, 0, 0
    # Invalid and reserved encodings (step 3), non-leaf reserved bits, running off level 0.
    .dword L1_PTR, 0, PTE_R|PTE_W|AD,              1, LD, 0, 0
    .dword L1_PTR, 0, PTE_V|PTE_W|AD,              1, LD, 0, 0
    .dword L1_PTR, 0, PTE_V|PTE_W|PTE_X|AD,        1, ST, 0, 0
    .dword L1_PTR, PTE_A, PTE_V|PTE_R|AD,          1, LD, 0, 0
    .dword L1_PTR, PTE_U, PTE_V|PTE_R|AD,          0, LD, 0, 0
    .dword L1_PTR, PTE_D, PTE_V|PTE_R|AD,          1, ST, 0, 0
    .dword L1_PTR, 0, PTE_V,                       1, LD, 0, 0
    # 2 MiB superpages: aligned (offset inside), misaligned (ppn[0] != 0).
    .dword L1_LEAF, PTE_V|PTE_R|PTE_W|AD, 0,       1, LD, 0, 0x12340
    .dword L1_LEAF, PTE_V|PTE_R|AD, 0,             1, ST, 0, 0x1ff000
    .dword L1_LEAF_MISALIGNED, PTE_V|PTE_R|PTE_W|AD, 0, 1, LD, 0, 0x5000
    .dword L1_LEAF_MISALIGNED, PTE_V|PTE_R|PTE_X|AD, 0, 1, FX, 0, 0
    # Not mapped (L0 index 1 is empty) and non-canonical addresses (bits above the VA width).
    .dword L1_PTR, 0, PTE_V|PTE_R|PTE_W|AD,        1, ST, 0, 0x1008
    .dword L1_PTR, 0, PTE_V|PTE_R|PTE_W|AD,        1, LD, 0, 0x4000000000
    .dword L1_PTR, 0, PTE_V|PTE_R|PTE_W|AD,        0, FX, 0, 0x800000000000
    # Reserved PTE bits: 54 (reserved), 61 (PBMT without Svpbmt), 63 (N without Svnapot).
    .dword L1_PTR, 0, PTE_V|PTE_R|AD|(1 << 54),    1, LD, 0, 0
    .dword L1_PTR, 0, PTE_V|PTE_R|AD|(1 << 61),    1, LD, 0, 0
    .dword L1_PTR, 0, PTE_V|PTE_R|AD|(1 << 63),    1, LD, 0, 0
    .dword -1

.bss
.align 12
root:       .zero 4096
root48:     .zero 4096
l1:         .zero 4096
l0:         .zero 4096
l0u:        .zero 4096
target:     .zero 4096
stack:      .zero 8192
stack_top:
trap_stack: .zero 4096
trap_stack_top:
