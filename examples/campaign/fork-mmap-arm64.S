// fork-mmap (arm64): the campaign example's program, as examples/campaign/fork-mmap.S does it on
// riscv64. Maps 8 anonymous pages and writes a distinct word to each, forks; the child overwrites
// every page of its copy and exits 0; the parent waits, then checks its own words (copy-on-write)
// and prints "ok" or "FAIL", exiting with the failure count. A failed mmap or fork (-ENOMEM) is a
// correct answer under fault injection: it prints "ok" too and exits 0.
        .equ    SYS_write, 64
        .equ    SYS_exit, 93
        .equ    SYS_clone, 220
        .equ    SYS_mmap, 222
        .equ    SYS_wait4, 260
        .equ    SIGCHLD, 17
        .equ    N, 8

        .text
        .globl  _start
_start: mov     x0, #0
        mov     x1, #0x8000             // N pages
        mov     x2, #3                  // PROT_READ | PROT_WRITE
        mov     x3, #0x22               // MAP_PRIVATE | MAP_ANONYMOUS
        mov     x4, #-1
        mov     x5, #0
        mov     x8, #SYS_mmap
        svc     #0
        mov     x9, #-4096
        cmp     x0, x9
        b.hs    enomem
        mov     x19, x0
        mov     x10, #0
fill:   lsl     x11, x10, #12
        add     x11, x19, x11
        add     x12, x10, #0x55
        str     x12, [x11, #8]
        add     x10, x10, #1
        cmp     x10, #N
        b.lo    fill

        mov     x0, #SIGCHLD
        mov     x1, #0
        mov     x2, #0
        mov     x3, #0
        mov     x4, #0
        mov     x8, #SYS_clone
        svc     #0
        cbz     x0, child
        mov     x9, #-4096
        cmp     x0, x9
        b.hs    enomem

        mov     x0, #-1
        mov     x1, #0
        mov     x2, #0
        mov     x3, #0
        mov     x8, #SYS_wait4
        svc     #0
        mov     x20, #0                 // failures
        mov     x10, #0
check:  lsl     x11, x10, #12
        add     x11, x19, x11
        ldr     x12, [x11, #8]
        add     x13, x10, #0x55
        cmp     x12, x13
        b.eq    next
        add     x20, x20, #1
next:   add     x10, x10, #1
        cmp     x10, #N
        b.lo    check
        adr     x1, m_ok
        mov     x2, #3
        cbz     x20, print
        adr     x1, m_fail
        mov     x2, #5
print:  mov     x0, #1
        mov     x8, #SYS_write
        svc     #0
        mov     x0, x20
        mov     x8, #SYS_exit
        svc     #0

child:  mov     x10, #0
zero:   lsl     x11, x10, #12
        add     x11, x19, x11
        str     xzr, [x11, #8]
        add     x10, x10, #1
        cmp     x10, #N
        b.lo    zero
        mov     x0, #0
        mov     x8, #SYS_exit
        svc     #0

enomem: mov     x0, #1
        adr     x1, m_ok
        mov     x2, #3
        mov     x8, #SYS_write
        svc     #0
        mov     x0, #0
        mov     x8, #SYS_exit
        svc     #0

m_ok:   .ascii  "ok\n"
m_fail: .ascii  "FAIL\n"
