// MultiOS SMP demo: a bare-metal program for arm64-virt with 4 CPUs (run it with --harts 4).
//
// CPU 0 starts at _start (the others are powered off, as on QEMU virt with PSCI). It starts CPUs
// 1-3 with PSCI CPU_ON (entry `secondary`, context id = the CPU number, which arrives in x0) and
// checks two PSCI errors. CPUs then print a line each in turn (by ticket), and all four add 1 to a
// shared counter ROUNDS times under a spinlock taken with LDAXR/STXR (a plain load/add/store
// inside: a broken lock loses increments). Each secondary sends SGI 1 to CPU 0 through GICD_SGIR;
// CPU 0 takes them as IRQs while it sleeps in WFI, then wakes the secondaries (asleep in WFI) with
// SGI 2 to "all but self"; they print it, turn themselves off (CPU_OFF), and CPU 0 waits until
// AFFINITY_INFO says they are off and powers the machine off.
//
//   multios run --arch arm64 --bare examples/smp-arm64.S --harts 4
//   multios run --arch arm64 --bare examples/smp-arm64.S --harts 4 --schedule-seed 7 --quantum 3
//   qemu-system-aarch64 -M virt -cpu cortex-a57 -smp 4 -nographic -kernel smp-arm64.elf

        .equ    UART,   0x09000000
        .equ    GICD,   0x08000000
        .equ    GICC,   0x08010000
        .equ    NCPUS,  4
        .equ    ROUNDS, 200
        .equ    PSCI_CPU_ON, 0xc4000003
        .equ    PSCI_CPU_OFF, 0x84000002
        .equ    PSCI_AFFINITY_INFO, 0xc4000004
        .equ    PSCI_SYSTEM_OFF, 0x84000008

        .text
        .global _start
_start:
        mrs     x19, mpidr_el1
        and     x19, x19, #0xff
        ldr     x20, =GICD
        mov     w1, #1
        str     w1, [x20]                       // GICD_CTLR.Enable
        bl      gic_cpu_on
        adr     x0, s_up0
        bl      puts
        // Start CPUs 1..NCPUS-1 at `secondary` with their number as the context id.
        mov     x21, #1
1:      ldr     x0, =PSCI_CPU_ON
        mov     x1, x21
        adr     x2, secondary
        mov     x3, x21
        hvc     #0
        cbnz    x0, fail
        add     x21, x21, #1
        cmp     x21, #NCPUS
        b.lo    1b
        // PSCI errors: CPU 1 is already on; there is no CPU with affinity 8. (Under QEMU a CPU is
        // ON_PENDING for a while after CPU_ON: wait until AFFINITY_INFO says ON.)
5:      ldr     x0, =PSCI_AFFINITY_INFO
        mov     x1, #1
        mov     x2, #0
        hvc     #0
        cbnz    x0, 5b
        ldr     x0, =PSCI_CPU_ON
        mov     x1, #1
        adr     x2, secondary
        mov     x3, #1
        hvc     #0
        cmn     x0, #4                          // ALREADY_ON = -4
        b.ne    fail
        adr     x0, s_already
        bl      puts
        ldr     x0, =PSCI_CPU_ON
        mov     x1, #8
        adr     x2, secondary
        mov     x3, #8
        hvc     #0
        cmn     x0, #2                          // INVALID_PARAMETERS = -2
        b.ne    fail
        adr     x0, s_invalid
        bl      puts
        adr     x22, turn
        mov     w1, #1
        stlr    w1, [x22]                       // CPU 1's turn to print
        bl      count
        // Wait until every CPU has counted, then check the total.
        adr     x22, done
2:      ldar    w1, [x22]
        cmp     w1, #NCPUS
        b.ne    2b
        adr     x1, counter
        ldr     w1, [x1]
        ldr     w2, =NCPUS * ROUNDS
        cmp     w1, w2
        b.ne    lost
        adr     x0, s_counter
        bl      puts
        // Take SGI 1 from each secondary as an IRQ. IRQs stay masked between the check and WFI (which
        // wakes on a pending IRQ even so), and are unmasked only to take what is pending.
        adr     x1, vectors
        msr     vbar_el1, x1
        isb
        adr     x22, sgimask
3:      ldr     w1, [x22]
        cmp     w1, #0xe                        // CPUs 1, 2 and 3
        b.eq    5f
        wfi
        msr     daifclr, #2
        isb
        msr     daifset, #2
        b       3b
5:
        adr     x0, s_sgis
        bl      puts
        // Wake the secondaries: SGI 2 to every CPU but this one (TargetListFilter 1).
        adr     x22, turn2
        mov     w1, #1
        stlr    w1, [x22]
        ldr     w1, =(1 << 24) | 2
        str     w1, [x20, #0xf00]               // GICD_SGIR
        // Wait until CPUs 1..NCPUS-1 are off.
        mov     x21, #1
4:      ldr     x0, =PSCI_AFFINITY_INFO
        mov     x1, x21
        mov     x2, #0
        hvc     #0
        cmp     x0, #1                          // OFF
        b.ne    4b
        add     x21, x21, #1
        cmp     x21, #NCPUS
        b.lo    4b
        ldr     x0, =PSCI_AFFINITY_INFO
        mov     x1, #0
        mov     x2, #0
        hvc     #0
        cbnz    x0, fail                        // CPU 0 is ON (0)
        adr     x0, s_off
        bl      puts
        ldr     x0, =PSCI_SYSTEM_OFF
        hvc     #0
        b       .

// A secondary CPU: x0 = the context id CPU 0 passed to CPU_ON.
secondary:
        mov     x23, x0
        mrs     x19, mpidr_el1
        and     x19, x19, #0xff
        ldr     x20, =GICD
        bl      gic_cpu_on
        adr     x22, turn
1:      ldar    w1, [x22]
        cmp     w1, w19
        b.ne    1b
        adr     x0, s_cpu
        bl      puts
        add     w0, w19, #48
        bl      putc
        adr     x0, s_upctx
        bl      puts
        add     w0, w23, #48
        bl      putc
        mov     w0, #10
        bl      putc
        add     w1, w19, #1
        stlr    w1, [x22]                       // next CPU's turn
        bl      count
        ldr     w1, =(1 << 16) | 1
        str     w1, [x20, #0xf00]               // GICD_SGIR: SGI 1 to CPU 0 (CPUTargetList 0b1)
        // Sleep until SGI 2 is pending (IRQs stay masked: WFI wakes on a pending IRQ anyway).
        ldr     x21, =GICC
2:      ldr     w1, [x21, #0xc]                 // GICC_IAR
        ldr     w2, =1023
        cmp     w1, w2
        b.ne    3f
        wfi
        b       2b
3:      str     w1, [x21, #0x10]                // GICC_EOIR
        cmp     w1, #2                          // SGI 2 from CPU 0 (bits 12:10)
        b.ne    fail
        adr     x22, turn2
4:      ldar    w1, [x22]
        cmp     w1, w19
        b.ne    4b
        adr     x0, s_cpu
        bl      puts
        add     w0, w19, #48
        bl      putc
        adr     x0, s_woken
        bl      puts
        add     w1, w19, #1
        stlr    w1, [x22]
        ldr     x0, =PSCI_CPU_OFF
        hvc     #0
        b       fail                            // CPU_OFF does not return

// count: ROUNDS increments of `counter` under `lock`, then done += 1. Clobbers x1-x5.
count:
        mov     x5, #ROUNDS
        adr     x3, lock
        adr     x4, counter
1:      mov     w2, #1
2:      ldaxr   w1, [x3]                        // spin until the lock is free, then claim it
        cbnz    w1, 2b
        stxr    w1, w2, [x3]
        cbnz    w1, 2b
        ldr     w1, [x4]
        add     w1, w1, #1
        str     w1, [x4]
        stlr    wzr, [x3]                       // release
        subs    x5, x5, #1
        b.ne    1b
        adr     x3, done
3:      ldaxr   w1, [x3]
        add     w1, w1, #1
        stlxr   w2, w1, [x3]
        cbnz    w2, 3b
        ret

// gic_cpu_on: this CPU's GIC CPU interface on, every priority let through. Clobbers x1, x2.
gic_cpu_on:
        ldr     x1, =GICC
        mov     w2, #0xff
        str     w2, [x1, #4]                    // GICC_PMR
        mov     w2, #1
        str     w2, [x1]                        // GICC_CTLR.Enable
        ret

// putc: writes the byte in w0. puts: writes the NUL-terminated string at x0. Clobber x0-x2.
putc:
        ldr     x1, =UART
        strb    w0, [x1]
        ret
puts:
        ldr     x1, =UART
1:      ldrb    w2, [x0], #1
        cbz     w2, 2f
        strb    w2, [x1]
        b       1b
2:      ret

lost:
        adr     x0, s_lost
        bl      puts
fail:
        adr     x0, s_fail
        bl      puts
        ldr     x0, =PSCI_SYSTEM_OFF
        hvc     #0
        b       .

// CPU 0's IRQ handler: acknowledge, note SGI 1's source CPU in `sgimask`, end the interrupt.
irq:
        ldr     x9, =GICC
        ldr     w10, [x9, #0xc]                 // GICC_IAR
        and     w11, w10, #0x3ff
        cmp     w11, #1
        b.ne    1f
        lsr     w11, w10, #10
        and     w11, w11, #7
        mov     w12, #1
        lsl     w12, w12, w11
        adr     x11, sgimask
        ldr     w13, [x11]
        orr     w13, w13, w12
        str     w13, [x11]
1:      str     w10, [x9, #0x10]                // GICC_EOIR
        eret

        .ltorg

        .balign 2048
vectors:                                        // only IRQ from EL1 with SP_EL1 is expected
        b       fail
        .balign 128
        b       fail
        .balign 128
        b       fail
        .balign 128
        b       fail
        .balign 128
        b       fail                            // 0x200: synchronous, current EL, SP_ELx
        .balign 128
        b       irq                             // 0x280: IRQ, current EL, SP_ELx
        .balign 128
        b       fail

s_up0:      .asciz  "cpu 0 is up\n"
s_already:  .asciz  "CPU_ON of cpu 1 again: ALREADY_ON\n"
s_invalid:  .asciz  "CPU_ON of cpu 8: INVALID_PARAMETERS\n"
s_cpu:      .asciz  "cpu "
s_upctx:    .asciz  " is up, context id "
s_counter:  .asciz  "all cpus done: counter = NCPUS * ROUNDS\n"
s_sgis:     .asciz  "cpu 0 took SGI 1 from cpus 1, 2 and 3\n"
s_woken:    .asciz  " woke on SGI 2 from cpu 0, turning off\n"
s_off:      .asciz  "cpus 1-3 are off (AFFINITY_INFO)\n"
s_lost:     .asciz  "lost increments!\n"
s_fail:     .asciz  "FAIL\n"

        .data
        .balign 64
lock:       .word   0
        .balign 64
counter:    .word   0
turn:       .word   0
turn2:      .word   0
done:       .word   0
sgimask:    .word   0
