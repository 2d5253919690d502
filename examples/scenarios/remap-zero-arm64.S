// remap-zero (arm64): map a page, write 0x55, munmap, MAP_FIXED the same address again, and exit
// with the byte now there: 0 (fresh demand-zero memory).
        .equ    SYS_exit, 93
        .equ    SYS_munmap, 215
        .equ    SYS_mmap, 222
        .text
        .globl  _start
_start: mov     x19, #0x10000000
        mov     x0, x19
        mov     x1, #4096
        mov     x2, #3
        mov     x3, #0x32               // MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
        mov     x4, #-1
        mov     x5, #0
        mov     x8, #SYS_mmap
        svc     #0
        mov     w9, #0x55
        strb    w9, [x19]
        mov     x0, x19
        mov     x1, #4096
        mov     x8, #SYS_munmap
        svc     #0
        mov     x0, x19
        mov     x1, #4096
        mov     x2, #3
        mov     x3, #0x32
        mov     x4, #-1
        mov     x5, #0
        mov     x8, #SYS_mmap
        svc     #0
        ldrb    w0, [x19]
        mov     x8, #SYS_exit
        svc     #0
