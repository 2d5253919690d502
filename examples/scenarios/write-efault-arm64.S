// write-efault (arm64): write(1, buf, 8) with a buffer in the kernel half. -EFAULT (-14), nothing
// printed; the program exits with the negated result, 14.
        .text
        .globl  _start
_start: mov     x0, #1
        mov     x1, #0xffff800000000000
        mov     x2, #8
        mov     x8, #64
        svc     #0
        neg     x0, x0
        mov     x8, #93
        svc     #0
