# A static x86_64 Linux program for the TypeScript kernel on x86_64-pc: write(1, msg, len), then
# exit(7), with the x86_64 system-call numbers (1 write, 60 exit).
#   multios run --arch x86_64 examples/kernel/hello-x86_64.S      (prints the line, exits 7)
#   qemu-x86_64 hello-x86_64.elf                                  (the same, under Linux emulation)
        .text
        .globl _start
_start: mov     $1, %edi
        lea     msg(%rip), %rsi
        mov     $len, %edx
        mov     $1, %eax
        syscall
        mov     $7, %edi
        mov     $60, %eax
        syscall
msg:    .ascii  "hello from the kernel on x86_64\n"
        .equ    len, . - msg
