# demand-zero (x86_64): maps five anonymous pages, stores one byte into each, and exits 0. Each
# first store is a #PF (P=0, W=1, U=1) the kernel answers with a zeroed frame.
        .equ    SYS_mmap, 9
        .equ    SYS_exit, 60
        .equ    PAGE, 4096
        .equ    PAGES, 5
        .text
        .globl  _start
_start: xor     %edi, %edi
        mov     $(PAGES * PAGE), %esi
        mov     $3, %edx                # PROT_READ | PROT_WRITE
        mov     $0x22, %r10d            # MAP_PRIVATE | MAP_ANONYMOUS
        mov     $-1, %r8
        xor     %r9d, %r9d
        mov     $SYS_mmap, %eax
        syscall
        mov     $PAGES, %ecx
1:      movb    $1, (%rax)
        add     $PAGE, %rax
        dec     %ecx
        jnz     1b
        xor     %edi, %edi
        mov     $SYS_exit, %eax
        syscall
