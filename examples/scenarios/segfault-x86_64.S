# segfault (x86_64): a store to an address nothing maps. The kernel kills the process with SIGSEGV
# and the run exits with 128 + 11 = 139.
        .text
        .globl  _start
_start: movq    $42, 0x1000
        xor     %edi, %edi
        mov     $60, %eax
        syscall
