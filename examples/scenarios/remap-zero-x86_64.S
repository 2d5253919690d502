# remap-zero (x86_64): map a page, write 0x55, munmap, MAP_FIXED the same address again, and exit
# with the byte now there: 0 (fresh demand-zero memory).
        .equ    SYS_mmap, 9
        .equ    SYS_munmap, 11
        .equ    SYS_exit, 60
        .text
        .globl  _start
_start: mov     $0x10000000, %ebx
        mov     %rbx, %rdi
        mov     $4096, %esi
        mov     $3, %edx
        mov     $0x32, %r10d            # MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
        mov     $-1, %r8
        xor     %r9d, %r9d
        mov     $SYS_mmap, %eax
        syscall
        movb    $0x55, (%rbx)
        mov     %rbx, %rdi
        mov     $4096, %esi
        mov     $SYS_munmap, %eax
        syscall
        mov     %rbx, %rdi
        mov     $4096, %esi
        mov     $3, %edx
        mov     $0x32, %r10d
        mov     $-1, %r8
        xor     %r9d, %r9d
        mov     $SYS_mmap, %eax
        syscall
        movzbl  (%rbx), %edi
        mov     $SYS_exit, %eax
        syscall
