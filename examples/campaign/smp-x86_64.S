# smp-x86_64: the several-CPUs campaign example's program on x86_64 (run it with --harts 4), as
# examples/campaign/smp-riscv64.S does it on riscv64.
#
# The parent maps 4 pages and writes a distinct word to each, then forks a child that spins in
# user mode without ever trapping and 3 workers. Worker k (1..3) overwrites page k of its
# copy-on-write copy, works through all 4 pages for a while, sleeps k ms (nanosleep), checks that it
# sees its own word in page k and the parent's original words elsewhere, and exits 0 (1 if not).
# Meanwhile the parent overwrites page 0 of its copy, yields so that the spinner runs (on another
# CPU when there are several), kills the spinner with SIGKILL (a fixed IPI to the CPU that runs it),
# reaps every child (the spinner must end by signal 9, the workers with status 0), checks its own
# words and prints "ok" (exit 0) or "FAIL" (exit 1).
#
# With 4 CPUs the spinner, the workers and the parent run at once and move between CPUs, so fork's
# write-protection, the copies and the frees all need TLB shootdowns (IPIs, INVLPG on the targets).
# A failed mmap or fork (-ENOMEM) under fault injection is a correct answer: the program goes on
# without that child (or prints "ok" at once without the mapping), so the campaign counts it as
# handled; only wrong data or a wrong status changes the output.
        .equ    SYS_write, 1
        .equ    SYS_mmap, 9
        .equ    SYS_sched_yield, 24
        .equ    SYS_nanosleep, 35
        .equ    SYS_fork, 57
        .equ    SYS_exit, 60
        .equ    SYS_wait4, 61
        .equ    SYS_kill, 62
        .equ    SIGKILL, 9
        .equ    N, 4
        .equ    WORKERS, 3
        .equ    WORK, 300

        .text
        .globl  _start
_start: xor     %r14d, %r14d            # failures
        xor     %r13d, %r13d            # the spinner's pid (0: none)
        xor     %edi, %edi
        mov     $0x4000, %esi           # N pages
        mov     $3, %edx                # PROT_READ | PROT_WRITE
        mov     $0x22, %r10d            # MAP_PRIVATE | MAP_ANONYMOUS
        mov     $-1, %r8
        xor     %r9d, %r9d
        mov     $SYS_mmap, %eax
        syscall
        cmp     $-4096, %rax
        jae     report
        mov     %rax, %rbx
        xor     %ecx, %ecx
fill:   mov     %rcx, %rdx
        shl     $12, %rdx
        lea     0x55(%rcx), %rax
        mov     %rax, 8(%rbx,%rdx)
        inc     %rcx
        cmp     $N, %rcx
        jb      fill

        # The spinner.
        mov     $SYS_fork, %eax
        syscall
        test    %rax, %rax
        jz      spinner
        js      workers
        mov     %rax, %r13
workers:
        mov     $1, %r12d
spawn:  mov     $SYS_fork, %eax
        syscall
        test    %rax, %rax
        jz      worker
        inc     %r12
        cmp     $WORKERS, %r12
        jbe     spawn

        # The parent's own copy-on-write copy of page 0, then a few yields so the spinner runs.
        movq    $0x1234, 8(%rbx)
        mov     $6, %r15d
yields: mov     $SYS_sched_yield, %eax
        syscall
        dec     %r15
        jnz     yields
        test    %r13, %r13
        jz      reap
        mov     %r13, %rdi
        mov     $SIGKILL, %esi
        mov     $SYS_kill, %eax
        syscall
        test    %rax, %rax
        jz      reap
        inc     %r14

reap:   mov     $-1, %rdi
        lea     status(%rip), %rsi
        xor     %edx, %edx
        xor     %r10d, %r10d
        mov     $SYS_wait4, %eax
        syscall
        test    %rax, %rax
        js      checked                 # -ECHILD: every child is reaped
        mov     status(%rip), %ecx
        xor     %edx, %edx              # a worker: exited 0
        cmp     %r13, %rax
        jne     1f
        mov     $SIGKILL, %edx          # the spinner: killed by signal 9
1:      cmp     %edx, %ecx
        je      reap
        inc     %r14
        jmp     reap

checked:
        cmpq    $0x1234, 8(%rbx)
        je      2f
        inc     %r14
2:      mov     $1, %ecx
3:      mov     %rcx, %rdx
        shl     $12, %rdx
        lea     0x55(%rcx), %rax
        cmp     %rax, 8(%rbx,%rdx)
        je      4f
        inc     %r14
4:      inc     %rcx
        cmp     $N, %rcx
        jb      3b

report: lea     m_ok(%rip), %rsi
        mov     $3, %edx
        test    %r14, %r14
        jz      5f
        lea     m_fail(%rip), %rsi
        mov     $5, %edx
        mov     $1, %r14d
5:      mov     $1, %edi
        mov     $SYS_write, %eax
        syscall
        mov     %r14, %rdi
        mov     $SYS_exit, %eax
        syscall

# Worker r12: its own word in page r12, some work over every page, a sleep of r12 ms, then the check.
worker: mov     %r12, %rdx
        shl     $12, %rdx
        lea     0x700(%r12), %rax
        mov     %rax, 8(%rbx,%rdx)
        mov     $WORK, %r15d
        xor     %r8d, %r8d
6:      mov     %r15, %rdx
        and     $3, %rdx                # N - 1
        shl     $12, %rdx
        add     8(%rbx,%rdx), %r8
        dec     %r15
        jnz     6b
        imul    $1000000, %r12, %rax
        mov     %rax, ts+8(%rip)
        lea     ts(%rip), %rdi
        xor     %esi, %esi
        mov     $SYS_nanosleep, %eax
        syscall
        xor     %r9d, %r9d              # wrong words
        xor     %ecx, %ecx
7:      mov     %rcx, %rdx
        shl     $12, %rdx
        lea     0x55(%rcx), %rax
        cmp     %r12, %rcx
        jne     8f
        lea     0x700(%r12), %rax
8:      cmp     %rax, 8(%rbx,%rdx)
        je      9f
        inc     %r9
9:      inc     %rcx
        cmp     $N, %rcx
        jb      7b
        xor     %edi, %edi
        test    %r9, %r9
        setnz   %dil
        mov     $SYS_exit, %eax
        syscall

spinner:
        jmp     spinner

        .data
        .balign 8
ts:     .quad   0, 0
status: .long   0
m_ok:   .ascii  "ok\n"
m_fail: .ascii  "FAIL\n"
