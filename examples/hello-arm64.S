// Bare-metal hello for arm64-virt (QEMU virt's map): print through the PL011 at 0x0900_0000, then
// PSCI SYSTEM_OFF over HVC. Runs the same under
//   multios run --arch arm64 --bare examples/hello-arm64.S
//   qemu-system-aarch64 -M virt -cpu cortex-a57 -nographic -kernel hello-arm64.elf
        .text
        .global _start
_start: ldr     x1, =0x09000000
        adr     x2, msg
1:      ldrb    w3, [x2], #1
        cbz     w3, 2f
        strb    w3, [x1]
        b       1b
2:      ldr     x0, =0x84000008
        hvc     #0
3:      b       3b
msg:    .asciz  "hello from arm64\n"
