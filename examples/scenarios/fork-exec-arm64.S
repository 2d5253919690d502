// fork-exec (arm64): the first process forks three children; each execs this same program
// (argv[0], from the initial ramdisk) with one argument, so it runs as a child: prints "child" and
// exits 1. The parent waits for all three and exits with the sum of their statuses (3).
        .equ    SYS_write, 64
        .equ    SYS_exit, 93
        .equ    SYS_clone, 220
        .equ    SYS_execve, 221
        .equ    SYS_wait4, 260
        .equ    SIGCHLD, 17
        .data
        .balign 8
argvv:  .dword  0, 0, 0         // the child's argv (argv[0], "child", NULL); envp = &argvv[2]
status: .word   0
msg:    .ascii  "child\n"
arg:    .asciz  "child"
        .text
        .globl  _start
_start: ldr     x9, [sp]        // argc
        cmp     x9, #2
        b.ge    child
        ldr     x19, [sp, #8]   // argv[0]
        mov     x20, #3
1:      mov     x0, #SIGCHLD
        mov     x1, #0
        mov     x2, #0
        mov     x3, #0
        mov     x4, #0
        mov     x8, #SYS_clone
        svc     #0
        cbz     x0, doexec
        subs    x20, x20, #1
        b.ne    1b
        mov     x21, #3
        mov     x22, #0
2:      mov     x0, #-1
        adr     x1, status
        mov     x2, #0
        mov     x3, #0
        mov     x8, #SYS_wait4
        svc     #0
        adr     x9, status
        ldr     w9, [x9]
        ubfx    x9, x9, #8, #8
        add     x22, x22, x9
        subs    x21, x21, #1
        b.ne    2b
        mov     x0, x22
        mov     x8, #SYS_exit
        svc     #0
doexec: adr     x1, argvv
        str     x19, [x1]
        adr     x9, arg
        str     x9, [x1, #8]
        mov     x0, x19
        add     x2, x1, #16
        mov     x8, #SYS_execve
        svc     #0
        mov     x0, #127        // execve returned: it failed
        mov     x8, #SYS_exit
        svc     #0
child:  mov     x0, #1
        adr     x1, msg
        mov     x2, #6
        mov     x8, #SYS_write
        svc     #0
        mov     x0, #1
        mov     x8, #SYS_exit
        svc     #0
