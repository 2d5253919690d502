# fork-exec (x86_64): the first process forks three children; each execs this same program
# (argv[0], from the initial ramdisk) with one argument, so it runs as a child: prints "child" and
# exits 1. The parent waits for all three and exits with the sum of their statuses (3).
        .equ    SYS_write, 1
        .equ    SYS_fork, 57
        .equ    SYS_execve, 59
        .equ    SYS_exit, 60
        .equ    SYS_wait4, 61
        .data
        .balign 8
argvv:  .quad   0, 0, 0         # the child's argv (argv[0], "child", NULL); envp = &argvv[2]
status: .long   0
msg:    .ascii  "child\n"
arg:    .asciz  "child"
        .text
        .globl  _start
_start: cmpq    $2, (%rsp)      # argc
        jge     child
        mov     8(%rsp), %rbx   # argv[0]
        mov     $3, %r12d
1:      mov     $SYS_fork, %eax
        syscall
        test    %rax, %rax
        jz      doexec
        dec     %r12d
        jnz     1b
        mov     $3, %r13d
        xor     %r14d, %r14d
2:      mov     $-1, %rdi
        lea     status(%rip), %rsi
        xor     %edx, %edx
        xor     %r10d, %r10d
        mov     $SYS_wait4, %eax
        syscall
        movzbl  status+1(%rip), %eax
        add     %eax, %r14d
        dec     %r13d
        jnz     2b
        mov     %r14d, %edi
        mov     $SYS_exit, %eax
        syscall
doexec: lea     argvv(%rip), %rsi
        mov     %rbx, (%rsi)
        lea     arg(%rip), %rax
        mov     %rax, 8(%rsi)
        mov     %rbx, %rdi
        lea     16(%rsi), %rdx
        mov     $SYS_execve, %eax
        syscall
        mov     $127, %edi      # execve returned: it failed
        mov     $SYS_exit, %eax
        syscall
child:  mov     $1, %edi
        lea     msg(%rip), %rsi
        mov     $6, %edx
        mov     $SYS_write, %eax
        syscall
        mov     $1, %edi
        mov     $SYS_exit, %eax
        syscall
