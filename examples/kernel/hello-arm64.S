// A static AArch64 Linux program for the TypeScript kernel on arm64-virt: write(1, msg, len), then
// exit(7). The system-call numbers are the generic ones riscv64 uses too (64 write, 93 exit).
//   multios run --arch arm64 examples/kernel/hello-arm64.S      (prints the line, exits 7)
//   qemu-aarch64 hello-arm64.elf                                 (the same, under Linux emulation)
        .text
        .globl _start
_start: mov     x0, #1
        adr     x1, msg
        mov     x2, #len
        mov     x8, #64
        svc     #0
        mov     x0, #7
        mov     x8, #93
        svc     #0
msg:    .ascii  "hello from the kernel on arm64\n"
        .equ    len, . - msg
