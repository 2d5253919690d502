# MultiOS demo: a bare-metal RV64 program for the riscv64-virt machine.
#
# M-mode firmware builds Sv39 page tables, delegates U-mode traps to S-mode and drops to S-mode.
# The S-mode "kernel" enters U-mode; the user program touches an unmapped page (demand paging),
# reads kernel memory (killed), and exits through ecall. Every trap is logged on the UART.
#
# Virtual layout (Sv39):
#   0x0000_0000 .. 1 GiB   identity, kernel RW (devices: UART, test finisher)     root[0], global
#   0x8000_0000 .. 1 GiB   identity, kernel RWX (this image and its RAM)          root[2], global
#   0x4000_0000            user code page (U R X), a copy of user_code            root[1] -> l1 -> l0
#   0x4000_1000 ..         user data, mapped on demand by the page-fault handler

.equ UART,      0x10000000
.equ FINISHER,  0x100000
.equ USER_VA,   0x40000000
.equ PTE_V, 1
.equ PTE_R, 2
.equ PTE_W, 4
.equ PTE_X, 8
.equ PTE_U, 16
.equ PTE_G, 32
.equ PTE_A, 64
.equ PTE_D, 128

.text
.globl _start
_start:
    la      sp, stack_top
    la      t0, m_trap
    csrw    mtvec, t0
    # PMP: one NAPOT region covering all memory, RWX, so S- and U-mode may access it
    # (without any PMP entry, accesses from S and U fail on hardware that implements PMP).
    li      t0, -1
    csrw    pmpaddr0, t0
    li      t0, 0x1f
    csrw    pmpcfg0, t0
    # Delegate ecall-from-U and the page faults to S-mode.
    li      t0, (1 << 8) | (1 << 12) | (1 << 13) | (1 << 15)
    csrw    medeleg, t0

    # root[0]: 1 GiB kernel superpage at 0 (devices).  root[2]: 1 GiB kernel superpage at 0x8000_0000.
    la      s0, root
    li      t0, PTE_V | PTE_R | PTE_W | PTE_G | PTE_A | PTE_D
    sd      t0, 0(s0)
    li      t0, (0x80000000 >> 12) << 10
    ori     t0, t0, PTE_V | PTE_R | PTE_W | PTE_X | PTE_G | PTE_A | PTE_D
    sd      t0, 16(s0)
    # root[1] -> l1; l1[0] -> l0; l0[0] -> the user code page.
    la      t1, l1
    srli    t0, t1, 12
    slli    t0, t0, 10
    ori     t0, t0, PTE_V
    sd      t0, 8(s0)
    la      t2, l0
    srli    t0, t2, 12
    slli    t0, t0, 10
    ori     t0, t0, PTE_V
    sd      t0, 0(t1)
    la      t3, user_page
    srli    t0, t3, 12
    slli    t0, t0, 10
    ori     t0, t0, PTE_V | PTE_R | PTE_X | PTE_U | PTE_A
    sd      t0, 0(t2)

    # satp = Sv39 | root ppn; then enter S-mode at s_main.
    srli    t0, s0, 12
    li      t1, 8 << 60
    or      t0, t0, t1
    csrw    satp, t0
    sfence.vma
    li      t0, 3 << 11
    csrc    mstatus, t0
    li      t0, 1 << 11
    csrs    mstatus, t0
    la      t0, s_main
    csrw    mepc, t0
    mret

# M-mode traps are unexpected here: report and fail. (Trap vectors must be 4-byte aligned.)
.align 2
m_trap:
    la      a0, msg_mtrap
    call    puts
    csrr    a0, mcause
    call    puthex
    li      t0, FINISHER
    li      t1, 0x13333
    sw      t1, 0(t0)
1:  j       1b

# ---------------------------------------------------------------- S-mode kernel
s_main:
    la      t0, s_trap
    csrw    stvec, t0
    la      a0, msg_hello
    call    puts
    # sret to U-mode at USER_VA (SPP = 0).
    li      t0, 1 << 8
    csrc    sstatus, t0
    li      t0, USER_VA
    csrw    sepc, t0
    sret

.align 2
s_trap:
    # Save every register the handler uses on the kernel stack (the user has no stack here).
    csrw    sscratch, sp
    la      sp, stack_top
    addi    sp, sp, -96
    sd      ra, 0(sp)
    sd      a0, 8(sp)
    sd      a1, 16(sp)
    sd      a7, 24(sp)
    sd      t0, 32(sp)
    sd      t1, 40(sp)
    sd      t2, 48(sp)
    sd      t3, 56(sp)
    sd      t4, 64(sp)
    sd      t5, 72(sp)
    la      a0, msg_trap
    call    puts
    csrr    a0, scause
    call    putdec
    la      a0, msg_stval
    call    puts
    csrr    a0, stval
    call    puthex
    la      a0, msg_sepc
    call    puts
    csrr    a0, sepc
    call    puthex
    li      a0, '\n'
    call    putc
    csrr    t0, scause
    li      t1, 8
    beq     t0, t1, syscall
    li      t1, 15
    beq     t0, t1, page_fault
    li      t1, 13
    beq     t0, t1, page_fault
    j       kill

# A page fault on user data: map a fresh zeroed page, or kill the process.
page_fault:
    csrr    t0, stval
    li      t1, USER_VA + 0x1000
    bltu    t0, t1, kill
    li      t1, USER_VA + 0x200000
    bgeu    t0, t1, kill
    # l0 index = (stval >> 12) & 511; PTE = next free page | U R W A D V.
    srli    t1, t0, 12
    andi    t1, t1, 511
    slli    t1, t1, 3
    la      t2, l0
    add     t2, t2, t1
    la      t3, next_free
    ld      t4, 0(t3)
    li      t5, 4096
    add     t5, t4, t5
    sd      t5, 0(t3)
    srli    t5, t4, 12
    slli    t5, t5, 10
    ori     t5, t5, PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D
    sd      t5, 0(t2)
    # The new PTE was invalid before: fence that address so the walk sees it.
    sfence.vma t0, zero
    la      a0, msg_mapped
    call    puts
    mv      a0, t4
    call    puthex
    li      a0, '\n'
    call    putc
    j       s_return

syscall:
    ld      a7, 24(sp)
    ld      a0, 8(sp)
    li      t0, 1
    beq     a7, t0, sys_print
    li      t0, 93
    beq     a7, t0, sys_exit
    j       kill
sys_print:
    la      a0, msg_value
    call    puts
    ld      a0, 8(sp)
    call    putdec
    li      a0, '\n'
    call    putc
    csrr    t0, sepc
    addi    t0, t0, 4
    csrw    sepc, t0
    j       s_return
sys_exit:
    la      a0, msg_exit
    call    puts
    ld      a0, 8(sp)
    call    putdec
    li      a0, '\n'
    call    putc
    li      t0, FINISHER
    li      t1, 0x5555
    sw      t1, 0(t0)
1:  j       1b

# The user touched memory it does not own: skip the instruction, as if a signal handler had run.
kill:
    la      a0, msg_kill
    call    puts
    csrr    t0, sepc
    addi    t0, t0, 4
    csrw    sepc, t0
s_return:
    ld      ra, 0(sp)
    ld      a0, 8(sp)
    ld      a1, 16(sp)
    ld      a7, 24(sp)
    ld      t0, 32(sp)
    ld      t1, 40(sp)
    ld      t2, 48(sp)
    ld      t3, 56(sp)
    ld      t4, 64(sp)
    ld      t5, 72(sp)
    csrr    sp, sscratch
    sret

# ---------------------------------------------------------------- console helpers (S-mode)
# putc(a0): write one byte to the UART.
putc:
    li      t0, UART
    sb      a0, 0(t0)
    ret
# puts(a0): write a NUL-terminated string.
puts:
    li      t0, UART
1:  lbu     t1, 0(a0)
    beqz    t1, 2f
    sb      t1, 0(t0)
    addi    a0, a0, 1
    j       1b
2:  ret
# puthex(a0): write 0x followed by the value in hex, without leading zeros.
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
# putdec(a0): write an unsigned value in decimal.
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

# ---------------------------------------------------------------- the user program (U-mode)
# Linked into the image, mapped at USER_VA; position-independent.
.align 12
user_page:
    li      t0, USER_VA + 0x1000
    li      t1, 42
    sd      t1, 0(t0)            # store page fault -> demand-zero page, then the store retries
    ld      a0, 0(t0)
    li      a7, 1
    ecall                        # print(42)
    li      t0, USER_VA + 0x2008
    ld      a0, 0(t0)            # load page fault -> another fresh page, reads 0
    li      a7, 1
    ecall                        # print(0)
    li      t0, 0x80000000
    ld      a0, 0(t0)            # kernel memory: U=0 -> load page fault -> "killed"
    li      a0, 0
    li      a7, 93
    ecall                        # exit(0)
1:  j       1b

.section .rodata
msg_hello:  .asciz "[S] Sv39 paging on; entering U-mode at 0x40000000\n"
msg_trap:   .asciz "[S] trap: scause="
msg_stval:  .asciz " stval="
msg_sepc:   .asciz " sepc="
msg_mapped: .asciz "[S]   demand-zero page mapped, frame "
msg_value:  .asciz "[U] print: "
msg_exit:   .asciz "[S] user exited with status "
msg_kill:   .asciz "[S]   user access to memory it does not own: skipped\n"
msg_mtrap:  .asciz "[M] unexpected trap, mcause="

.data
.align 3
next_free:  .dword free_pages

.bss
.align 12
root:       .zero 4096
l1:         .zero 4096
l0:         .zero 4096
stack:      .zero 8192
stack_top:
free_pages: .zero 4096 * 8
