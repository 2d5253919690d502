// fork-cow (arm64): the parent writes a data page, forks, and the child writes the same page once:
// one COW copy. The parent waits for the child and exits with the child's exit code (0).
        .equ    SYS_exit, 93
        .equ    SYS_clone, 220
        .equ    SYS_wait4, 260
        .equ    SIGCHLD, 17
        .data
        .balign 4096
page:   .dword  1
        .balign 4
status: .word   0
        .text
        .globl  _start
_start: adr     x19, page
        mov     x9, #2
        str     x9, [x19]
        mov     x0, #SIGCHLD
        mov     x1, #0
        mov     x2, #0
        mov     x3, #0
        mov     x4, #0
        mov     x8, #SYS_clone
        svc     #0
        cbnz    x0, parent
        mov     x9, #3
        str     x9, [x19]
        mov     x0, #0
        mov     x8, #SYS_exit
        svc     #0
parent: mov     x0, #-1
        adr     x1, status
        mov     x2, #0
        mov     x3, #0
        mov     x8, #SYS_wait4
        svc     #0
        adr     x1, status
        ldr     w0, [x1]
        ubfx    w0, w0, #8, #8
        mov     x8, #SYS_exit
        svc     #0
