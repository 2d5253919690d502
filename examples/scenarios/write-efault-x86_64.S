# write-efault (x86_64): write(1, buf, 8) with a buffer in the kernel half. -EFAULT (-14), nothing
# printed; the program exits with the negated result, 14.
        .text
        .globl  _start
_start: mov     $1, %edi
        movabs  $0xffff800000000000, %rsi
        mov     $8, %edx
        mov     $1, %eax
        syscall
        neg     %rax
        mov     %eax, %edi
        mov     $60, %eax
        syscall
