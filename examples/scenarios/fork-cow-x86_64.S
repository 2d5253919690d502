# fork-cow (x86_64): the parent writes a data page, forks, and the child writes the same page once:
# one COW copy. The parent waits for the child and exits with the child's exit code (0).
        .equ    SYS_fork, 57
        .equ    SYS_wait4, 61
        .equ    SYS_exit, 60
        .data
        .balign 4096
page:   .quad   1
        .balign 4
status: .long   0
        .text
        .globl  _start
_start: movq    $2, page(%rip)
        mov     $SYS_fork, %eax
        syscall
        test    %rax, %rax
        jnz     parent
        movq    $3, page(%rip)
        xor     %edi, %edi
        mov     $SYS_exit, %eax
        syscall
parent: mov     $-1, %rdi
        lea     status(%rip), %rsi
        xor     %edx, %edx
        xor     %r10d, %r10d
        mov     $SYS_wait4, %eax
        syscall
        movzbl  status+1(%rip), %edi
        mov     $SYS_exit, %eax
        syscall
