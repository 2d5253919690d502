# An S-mode payload for the SBI firmware (MultiOS's, or OpenSBI under QEMU): hart 0 starts harts
# 1..3 with SBI HSM hart_start; each started hart prints its line in turn, checks in, sends hart 0
# an IPI and stops itself; hart 0 sleeps until all have checked in (an IPI is only a wake-up: two
# sent close together are one pending interrupt, so it counts check-ins, not interrupts), checks
# that harts 1..3 are stopped again, and shuts the machine down with SBI SRST.
#
#   multios run --arch riscv64 --sbi examples/sbi-smp-riscv64.S --harts 4
#   qemu-system-riscv64 -M virt -smp 4 -nographic -kernel sbi-smp-riscv64.elf   (OpenSBI prints its banner first)
#
# Link address: 0x8020_0000, where OpenSBI jumps (multios assembles .S payloads there with --sbi).

.equ SBI_PUTCHAR, 0x01
.equ SBI_IPI,     0x735049
.equ SBI_HSM,     0x48534D
.equ SBI_SRST,    0x53525354
.equ NHARTS,      4

.text
.globl _start
_start:
    la      t0, strap
    csrw    stvec, t0
    li      t0, 1 << 1                  # sie.SSIE
    csrs    sie, t0
    li      s1, 1
1:  mv      a0, s1                      # hart_start(hartid, secondary, opaque = hartid * 16)
    la      a1, secondary
    slli    a2, s1, 4
    li      a6, 0
    li      a7, SBI_HSM
    ecall
    bnez    a0, fail
    addi    s1, s1, 1
    li      t0, NHARTS
    blt     s1, t0, 1b
    # Sleep until every started hart has checked in, without losing a wake-up: wfi with
    # sstatus.SIE clear still wakes on a pending interrupt; then open SIE for one instruction to take it.
2:  lw      t1, turn
    li      t2, NHARTS - 1
    bge     t1, t2, 3f
    wfi
    csrsi   sstatus, 1 << 1
    csrci   sstatus, 1 << 1
    j       2b
3:  la      a0, got
    call    puts
    li      s1, 1                       # every secondary hart must be STOPPED (1) again
5:  mv      a0, s1
    li      a6, 2
    li      a7, SBI_HSM
    ecall
    bnez    a0, fail
    li      t0, 1
    bne     a1, t0, 5b                  # a hart may still be on its way to stopping
    addi    s1, s1, 1
    li      t0, NHARTS
    blt     s1, t0, 5b
    la      a0, stopped
    call    puts
    li      a0, 0                       # system_reset(shutdown, no reason)
    li      a1, 0
    li      a6, 0
    li      a7, SBI_SRST
    ecall
fail:
    la      a0, failed
    call    puts
    li      a0, 0
    li      a1, 1                       # system failure
    li      a6, 0
    li      a7, SBI_SRST
    ecall
6:  j       6b

# A started hart: a0 = hart id, a1 = opaque. Waits for its turn, prints, sends hart 0 an IPI, stops.
secondary:
    mv      s0, a0
    mv      s2, a1
    addi    s3, s0, -1
    la      s4, turn
7:  lw      t1, 0(s4)
    bne     t1, s3, 7b
    la      a0, hello
    call    puts
    addi    a0, s0, '0'
    call    putc
    la      a0, opaque
    call    puts
    srli    a0, s2, 4
    addi    a0, a0, '0'
    call    putc
    li      a0, '\n'
    call    putc
    fence   rw, rw
    li      t1, 1
    amoadd.w zero, t1, (s4)
    li      a0, 1                       # send_ipi(mask = hart 0, base 0)
    li      a1, 0
    li      a6, 0
    li      a7, SBI_IPI
    ecall
    li      a6, 1                       # hart_stop
    li      a7, SBI_HSM
    ecall
    j       fail

# Supervisor software interrupt (an IPI): count it and clear sip.SSIP.
    .balign 4
strap:
    csrci   sip, 1 << 1
    la      t5, ipis
    li      t6, 1
    amoadd.w zero, t6, (t5)
    sret

# putc: a0 = byte, through the legacy SBI console. puts: a0 = NUL-terminated string.
putc:
    li      a7, SBI_PUTCHAR
    ecall
    ret
puts:
    mv      t3, a0
    mv      t4, ra
8:  lbu     a0, 0(t3)
    beqz    a0, 9f
    call    putc
    addi    t3, t3, 1
    j       8b
9:  mv      ra, t4
    ret

.data
hello:   .asciz "hart "
opaque:  .asciz " started, opaque/16 = "
got:     .asciz "hart 0: every started hart checked in\n"
stopped: .asciz "harts 1-3 are stopped again\n"
failed:  .asciz "SBI call failed\n"
.balign 8
turn:    .word 0
ipis:    .word 0
