// demand-zero (arm64): maps five anonymous pages, stores one byte into each, and exits 0. Each
// first store is a data abort (translation fault, WnR=1) the kernel answers with a zeroed frame.
        .equ    SYS_exit, 93
        .equ    SYS_mmap, 222
        .equ    PAGE, 4096
        .equ    PAGES, 5
        .text
        .globl  _start
_start: mov     x0, #0
        mov     x1, #(PAGES * PAGE)
        mov     x2, #3                  // PROT_READ | PROT_WRITE
        mov     x3, #0x22               // MAP_PRIVATE | MAP_ANONYMOUS
        mov     x4, #-1
        mov     x5, #0
        mov     x8, #SYS_mmap
        svc     #0
        mov     x9, #PAGES
        mov     w10, #1
1:      strb    w10, [x0]
        add     x0, x0, #PAGE
        subs    x9, x9, #1
        b.ne    1b
        mov     x0, #0
        mov     x8, #SYS_exit
        svc     #0
