// smp-arm64: the several-CPUs campaign example's program on arm64 (run it with --harts 4), as
// examples/campaign/smp-riscv64.S does it on riscv64.
//
// The parent maps 4 pages and writes a distinct word to each, then forks a child that spins in
// user mode without ever trapping and 3 workers. Worker k (1..3) overwrites page k of its
// copy-on-write copy, works through all 4 pages for a while, sleeps k ms (nanosleep), checks that it
// sees its own word in page k and the parent's original words elsewhere, and exits 0 (1 if not).
// Meanwhile the parent overwrites page 0 of its copy, yields so that the spinner runs (on another
// CPU when there are several), kills the spinner with SIGKILL (an SGI to the CPU that runs it),
// reaps every child (the spinner must end by signal 9, the workers with status 0), checks its own
// words and prints "ok" (exit 0) or "FAIL" (exit 1).
//
// With 4 CPUs the spinner, the workers and the parent run at once and move between CPUs, so fork's
// write-protection, the copies and the frees all need broadcast TLB invalidations. A failed mmap or
// fork (-ENOMEM) under fault injection is a correct answer: the program goes on without that child
// (or prints "ok" at once without the mapping), so the campaign counts it as handled; only wrong
// data or a wrong status changes the output.
        .equ    SYS_write, 64
        .equ    SYS_exit, 93
        .equ    SYS_nanosleep, 101
        .equ    SYS_sched_yield, 124
        .equ    SYS_kill, 129
        .equ    SYS_clone, 220
        .equ    SYS_mmap, 222
        .equ    SYS_wait4, 260
        .equ    SIGCHLD, 17
        .equ    SIGKILL, 9
        .equ    N, 4
        .equ    WORKERS, 3
        .equ    WORK, 300

        .text
        .globl  _start
_start: mov     x22, #0                 // failures
        mov     x21, #0                 // the spinner's pid (0: none)
        mov     x0, #0
        mov     x1, #0x4000             // N pages
        mov     x2, #3                  // PROT_READ | PROT_WRITE
        mov     x3, #0x22               // MAP_PRIVATE | MAP_ANONYMOUS
        mov     x4, #-1
        mov     x5, #0
        mov     x8, #SYS_mmap
        svc     #0
        mov     x9, #-4096
        cmp     x0, x9
        b.hs    report
        mov     x19, x0
        mov     x10, #0
fill:   lsl     x11, x10, #12
        add     x11, x19, x11
        add     x12, x10, #0x55
        str     x12, [x11, #8]
        add     x10, x10, #1
        cmp     x10, #N
        b.lo    fill

        // The spinner.
        bl      do_fork
        cbz     x0, spinner
        tbnz    x0, #63, workers
        mov     x21, x0
workers:
        mov     x23, #1
spawn:  bl      do_fork
        cbz     x0, worker
        add     x23, x23, #1
        cmp     x23, #WORKERS
        b.ls    spawn

        // The parent's own copy-on-write copy of page 0, then a few yields so the spinner runs.
        mov     x9, #0x1234
        str     x9, [x19, #8]
        mov     x24, #6
yields: mov     x8, #SYS_sched_yield
        svc     #0
        subs    x24, x24, #1
        b.ne    yields
        cbz     x21, reap
        mov     x0, x21
        mov     x1, #SIGKILL
        mov     x8, #SYS_kill
        svc     #0
        cbz     x0, reap
        add     x22, x22, #1

reap:   mov     x0, #-1
        adr     x1, status
        mov     x2, #0
        mov     x3, #0
        mov     x8, #SYS_wait4
        svc     #0
        tbnz    x0, #63, checked        // -ECHILD: every child is reaped
        adr     x9, status
        ldr     w10, [x9]
        mov     x11, #0                 // a worker: exited 0
        cmp     x0, x21
        b.ne    1f
        mov     x11, #SIGKILL           // the spinner: killed by signal 9
1:      cmp     x10, x11
        b.eq    reap
        add     x22, x22, #1
        b       reap

checked:
        ldr     x12, [x19, #8]
        mov     x13, #0x1234
        cmp     x12, x13
        b.eq    2f
        add     x22, x22, #1
2:      mov     x10, #1
3:      lsl     x11, x10, #12
        add     x11, x19, x11
        ldr     x12, [x11, #8]
        add     x13, x10, #0x55
        cmp     x12, x13
        b.eq    4f
        add     x22, x22, #1
4:      add     x10, x10, #1
        cmp     x10, #N
        b.lo    3b

report: adr     x1, m_ok
        mov     x2, #3
        cbz     x22, 5f
        adr     x1, m_fail
        mov     x2, #5
        mov     x22, #1
5:      mov     x0, #1
        mov     x8, #SYS_write
        svc     #0
        mov     x0, x22
        mov     x8, #SYS_exit
        svc     #0

// Worker x23: its own word in page x23, some work over every page, a sleep of x23 ms, then the check.
worker: lsl     x25, x23, #12
        add     x25, x19, x25           // page x23
        add     x9, x23, #0x700
        str     x9, [x25, #8]
        mov     x24, #WORK
        mov     x26, #0
6:      and     x9, x24, #3             // N - 1
        lsl     x9, x9, #12
        add     x9, x19, x9
        ldr     x10, [x9, #8]
        add     x26, x26, x10
        subs    x24, x24, #1
        b.ne    6b
        adr     x0, ts
        mov     x10, #0x4240
        movk    x10, #0xf, lsl #16      // 1000000 ns
        mul     x10, x10, x23
        str     x10, [x0, #8]
        mov     x1, #0
        mov     x8, #SYS_nanosleep
        svc     #0
        mov     x27, #0                 // wrong words
        mov     x10, #0
7:      lsl     x11, x10, #12
        add     x11, x19, x11
        ldr     x12, [x11, #8]
        add     x13, x10, #0x55
        cmp     x10, x23
        b.ne    8f
        add     x13, x23, #0x700
8:      cmp     x12, x13
        b.eq    9f
        add     x27, x27, #1
9:      add     x10, x10, #1
        cmp     x10, #N
        b.lo    7b
        cmp     x27, #0
        cset    x0, ne
        mov     x8, #SYS_exit
        svc     #0

spinner:
        b       spinner

// fork: x0 = 0 in the child, the child's pid in the parent, or -errno (the parent goes on alone).
do_fork:
        mov     x0, #SIGCHLD
        mov     x1, #0
        mov     x2, #0
        mov     x3, #0
        mov     x4, #0
        mov     x8, #SYS_clone
        svc     #0
        ret

        .data
        .balign 8
ts:     .quad   0, 0
status: .word   0
m_ok:   .ascii  "ok\n"
m_fail: .ascii  "FAIL\n"
