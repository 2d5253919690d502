# Bare-metal hello for x86_64-pc: print through COM1 (port 0x3F8), then write 0 to QEMU's
# isa-debug-exit port 0xF4, which ends the run with status (0 << 1) | 1 = 1, as QEMU does.
#   multios run --arch x86_64 --bare examples/hello-x86_64.S
        .text
        .globl _start
_start: lea     msg(%rip), %rsi
1:      movb    (%rsi), %al
        testb   %al, %al
        jz      2f
        movw    $0x3f8, %dx
        outb    %al, %dx
        incq    %rsi
        jmp     1b
2:      movw    $0xf4, %dx
        movb    $0, %al
        outb    %al, %dx
3:      hlt
        jmp     3b
msg:    .asciz  "hello from x86_64\n"
