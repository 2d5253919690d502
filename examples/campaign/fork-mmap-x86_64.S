# fork-mmap (x86_64): the campaign example's program, as examples/campaign/fork-mmap.S does it on
# riscv64. Maps 8 anonymous pages and writes a distinct word to each, forks; the child overwrites
# every page of its copy and exits 0; the parent waits, then checks its own words (copy-on-write)
# and prints "ok" or "FAIL", exiting with the failure count. A failed mmap or fork (-ENOMEM) is a
# correct answer under fault injection: it prints "ok" too and exits 0.
        .equ    SYS_write, 1
        .equ    SYS_mmap, 9
        .equ    SYS_fork, 57
        .equ    SYS_exit, 60
        .equ    SYS_wait4, 61
        .equ    N, 8

        .text
        .globl  _start
_start: xor     %edi, %edi
        mov     $0x8000, %esi           # N pages
        mov     $3, %edx                # PROT_READ | PROT_WRITE
        mov     $0x22, %r10d            # MAP_PRIVATE | MAP_ANONYMOUS
        mov     $-1, %r8
        xor     %r9d, %r9d
        mov     $SYS_mmap, %eax
        syscall
        cmp     $-4096, %rax
        jae     enomem
        mov     %rax, %rbx
        xor     %ecx, %ecx
fill:   mov     %rcx, %rdx
        shl     $12, %rdx
        lea     0x55(%rcx), %rax
        mov     %rax, 8(%rbx,%rdx)
        inc     %rcx
        cmp     $N, %rcx
        jb      fill

        mov     $SYS_fork, %eax
        syscall
        test    %rax, %rax
        jz      child
        cmp     $-4096, %rax
        jae     enomem

        mov     $-1, %rdi
        xor     %esi, %esi
        xor     %edx, %edx
        xor     %r10d, %r10d
        mov     $SYS_wait4, %eax
        syscall
        xor     %r12d, %r12d            # failures
        xor     %ecx, %ecx
check:  mov     %rcx, %rdx
        shl     $12, %rdx
        lea     0x55(%rcx), %rax
        cmp     %rax, 8(%rbx,%rdx)
        je      next
        inc     %r12
next:   inc     %rcx
        cmp     $N, %rcx
        jb      check
        lea     m_ok(%rip), %rsi
        mov     $3, %edx
        test    %r12, %r12
        jz      print
        lea     m_fail(%rip), %rsi
        mov     $5, %edx
print:  mov     $1, %edi
        mov     $SYS_write, %eax
        syscall
        mov     %r12, %rdi
        mov     $SYS_exit, %eax
        syscall

child:  xor     %ecx, %ecx
zero:   mov     %rcx, %rdx
        shl     $12, %rdx
        movq    $0, 8(%rbx,%rdx)
        inc     %rcx
        cmp     $N, %rcx
        jb      zero
        xor     %edi, %edi
        mov     $SYS_exit, %eax
        syscall

enomem: mov     $1, %edi
        lea     m_ok(%rip), %rsi
        mov     $3, %edx
        mov     $SYS_write, %eax
        syscall
        xor     %edi, %edi
        mov     $SYS_exit, %eax
        syscall

m_ok:   .ascii  "ok\n"
m_fail: .ascii  "FAIL\n"
