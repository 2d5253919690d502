# MultiOS SMP demo: a bare-metal program for riscv64-virt with 4 harts (run it with --harts 4).
#
# Every hart starts here in M-mode with a0 = its hart id (QEMU's -bios none reset does the same).
# Harts take turns by ticket, in hart-id order, to print a line; then all of them increment one
# shared counter ROUNDS times with lr.w/sc.w. Hart 0 waits until every hart is done, checks the
# total (NHARTS * ROUNDS: no increment may be lost) and powers off. Harts beyond NHARTS park.
#
#   multios run --arch riscv64 --bare examples/smp-riscv64.S --harts 4
#   multios run --arch riscv64 --bare examples/smp-riscv64.S --harts 4 --schedule-seed 7 --quantum 3
#   qemu-system-riscv64 -M virt -smp 4 -bios none -nographic -kernel smp-riscv64.elf

.equ UART,      0x10000000
.equ FINISHER,  0x100000
.equ NHARTS,    4
.equ ROUNDS,    500

.text
.globl _start
_start:
    csrr    s0, mhartid
    li      t0, NHARTS
    bgeu    s0, t0, park
    # Wait for my ticket, print "hart N is up", pass the ticket on.
    la      s2, turn
1:  lw      t2, 0(s2)
    bne     t2, s0, 1b
    la      a0, up1
    call    puts
    addi    a0, s0, '0'
    call    putc
    la      a0, up2
    call    puts
    fence   rw, rw
    li      t3, 1
    amoadd.w zero, t3, (s2)
    # ROUNDS atomic increments of the shared counter.
    li      s1, ROUNDS
    la      s3, counter
2:  lr.w    t2, (s3)
    addi    t2, t2, 1
    sc.w    t4, t2, (s3)
    bnez    t4, 2b
    addi    s1, s1, -1
    bnez    s1, 2b
    la      s4, done
    li      t3, 1
    amoadd.w zero, t3, (s4)
    bnez    s0, park
    # Hart 0: wait for everyone, then check the total.
3:  lw      t2, 0(s4)
    li      t3, NHARTS
    bne     t2, t3, 3b
    lw      t2, 0(s3)
    li      t3, NHARTS * ROUNDS
    bne     t2, t3, fail
    la      a0, good
    call    puts
    li      t0, 0x5555
    li      t1, FINISHER
    sw      t0, 0(t1)
fail:
    la      a0, bad
    call    puts
    li      t0, (1 << 16) | 0x3333
    li      t1, FINISHER
    sw      t0, 0(t1)
park:
    wfi
    j       park

# putc: writes the byte in a0 to the UART. puts: writes the NUL-terminated string at a0.
# Both clobber t5 and t6 only (a0 too for puts).
putc:
    li      t5, UART
    sb      a0, 0(t5)
    ret
puts:
    li      t5, UART
4:  lbu     t6, 0(a0)
    beqz    t6, 5f
    sb      t6, 0(t5)
    addi    a0, a0, 1
    j       4b
5:  ret

.data
up1:    .asciz "hart "
up2:    .asciz " is up\n"
good:   .asciz "all harts done: counter = NHARTS * ROUNDS\n"
bad:    .asciz "lost increments!\n"
.balign 8
turn:    .word 0
counter: .word 0
done:    .word 0
