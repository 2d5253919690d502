# errors: system calls that must fail, and the negative errno Linux returns for each: a write from
# an unmapped buffer and from a kernel address (-EFAULT), a file descriptor that is not open
# (-EBADF), an unknown system call number (-ENOSYS), mmap of length 0 and munmap of a misaligned
# address (-EINVAL), mmap of more than the address space and mprotect of an unmapped range
# (-ENOMEM), wait4 without children (-ECHILD), and wait4 storing the status into a read-only page
# (-EFAULT, the child reaped all the same). A write of 0 bytes from a bad pointer is no error.
# Prints one "ok"/"FAIL" line per check; exits with the number of failures.
# Runs unchanged under `multios run --arch riscv64` and under `qemu-riscv64`.

    .equ SYS_write, 64
    .equ SYS_exit, 93
    .equ SYS_munmap, 215
    .equ SYS_clone, 220
    .equ SYS_mmap, 222
    .equ SYS_mprotect, 226
    .equ SYS_wait4, 260
    .equ SIGCHLD, 17
    .equ EBADF, 9
    .equ ECHILD, 10
    .equ ENOMEM, 12
    .equ EFAULT, 14
    .equ EINVAL, 22
    .equ ENOSYS, 38

    .section .rodata
m_unmapped: .asciz "write from an unmapped buffer: -EFAULT"
m_kernel:   .asciz "write from a kernel address: -EFAULT"
m_badfd:    .asciz "write to a file descriptor that is not open: -EBADF"
m_nosys:    .asciz "an unknown system call: -ENOSYS"
m_len0:     .asciz "mmap of length 0: -EINVAL"
m_misalign: .asciz "munmap of a misaligned address: -EINVAL"
m_child:    .asciz "wait4 without children: -ECHILD"
m_zero:     .asciz "write of 0 bytes from an unmapped buffer: 0"
m_huge:     .asciz "mmap of more than the address space: -ENOMEM"
m_protect:  .asciz "mprotect of an unmapped range: -ENOMEM"
m_status:   .asciz "wait4 storing the status into a read-only page: -EFAULT"
m_reaped:   .asciz "the child is reaped all the same: wait4 then returns -ECHILD"

    .text
    .globl _start
_start:
    li      s11, 0
    li      a0, 1
    li      a1, 0x1000
    li      a2, 8
    li      a7, SYS_write
    ecall
    addi    a0, a0, EFAULT
    la      a1, m_unmapped
    jal     check

    li      a0, 1
    li      a1, 0xffffffc080000000
    li      a2, 8
    li      a7, SYS_write
    ecall
    addi    a0, a0, EFAULT
    la      a1, m_kernel
    jal     check

    li      a0, 1000
    la      a1, m_badfd
    li      a2, 1
    li      a7, SYS_write
    ecall
    addi    a0, a0, EBADF
    la      a1, m_badfd
    jal     check

    li      a7, 999
    ecall
    addi    a0, a0, ENOSYS
    la      a1, m_nosys
    jal     check

    li      a0, 0
    li      a1, 0
    li      a2, 3
    li      a3, 0x22
    li      a4, -1
    li      a5, 0
    li      a7, SYS_mmap
    ecall
    addi    a0, a0, EINVAL
    la      a1, m_len0
    jal     check

    li      a0, 0x40000800
    li      a1, 4096
    li      a7, SYS_munmap
    ecall
    addi    a0, a0, EINVAL
    la      a1, m_misalign
    jal     check

    li      a0, -1
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    addi    a0, a0, ECHILD
    la      a1, m_child
    jal     check

    li      a0, 1
    li      a1, 0x1000
    li      a2, 0
    li      a7, SYS_write
    ecall
    la      a1, m_zero
    jal     check

    li      a0, 0
    li      a1, 0x4000000000000000
    li      a2, 3
    li      a3, 0x22
    li      a4, -1
    li      a5, 0
    li      a7, SYS_mmap
    ecall
    addi    a0, a0, ENOMEM
    la      a1, m_huge
    jal     check

    li      a0, 0x40000000
    li      a1, 4096
    li      a2, 1
    li      a7, SYS_mprotect
    ecall
    addi    a0, a0, ENOMEM
    la      a1, m_protect
    jal     check

    li      a0, SIGCHLD
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a4, 0
    li      a7, SYS_clone
    ecall
    bnez    a0, 1f
    li      a0, 0
    li      a7, SYS_exit
    ecall
1:  li      a0, -1
    la      a1, m_status
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    addi    a0, a0, EFAULT
    la      a1, m_status
    jal     check
    li      a0, -1
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    addi    a0, a0, ECHILD
    la      a1, m_reaped
    jal     check

    mv      a0, s11
    li      a7, SYS_exit
    ecall

# check: a0 = 0 when the check passed, a1 = its name. Prints "ok NAME" or "FAIL NAME" and counts
# failures in s11. Clobbers a0-a2, a7, t0-t2, s9, s10.
check:
    mv      s10, ra
    mv      s9, a1
    la      t2, s_ok
    beqz    a0, 1f
    la      t2, s_fail
    addi    s11, s11, 1
1:  mv      a0, t2
    jal     puts
    mv      a0, s9
    jal     puts
    la      a0, s_nl
    jal     puts
    mv      ra, s10
    ret

# puts: writes the NUL-terminated string at a0 to stdout. Clobbers a0-a2, a7, t0, t1.
puts:
    mv      t0, a0
1:  lbu     t1, 0(t0)
    beqz    t1, 2f
    addi    t0, t0, 1
    j       1b
2:  sub     a2, t0, a0
    mv      a1, a0
    li      a0, 1
    li      a7, SYS_write
    ecall
    ret

    .section .rodata
s_ok:   .asciz "ok "
s_fail: .asciz "FAIL "
s_nl:   .asciz "\n"
