/**
 * Assembly pieces for the kernel tests' guest programs: Linux riscv64 system-call numbers and
 * flags, common call sequences, and a few leaf routines.
 */

/** The page size. */
export const PAGE = 4096;

/** `.equ` definitions of the system calls and flags the programs use. */
export const SYSCALLS = `
    .equ SYS_write, 64
    .equ SYS_exit, 93
    .equ SYS_sched_yield, 124
    .equ SYS_getpid, 172
    .equ SYS_brk, 214
    .equ SYS_munmap, 215
    .equ SYS_clone, 220
    .equ SYS_mmap, 222
    .equ SYS_mprotect, 226
    .equ SYS_wait4, 260
    .equ PROT_NONE, 0
    .equ PROT_READ, 1
    .equ PROT_RW, 3
    .equ MAP_PRIVATE_ANON, 0x22
    .equ MAP_FIXED, 0x10
    .equ SIGCHLD, 17
`;

/**
 * mmap(addr, len, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|extra, -1, 0): `addr` is a
 * constant or a register, `len` a constant expression. Result in a0.
 */
export const mmap = (addr: string, len: string, extraFlags = "0"): string => `
    ${/^[ast]\d+$/.test(addr) ? "mv" : "li"}      a0, ${addr}
    li      a1, ${len}
    li      a2, PROT_RW
    li      a3, MAP_PRIVATE_ANON | ${extraFlags}
    li      a4, -1
    li      a5, 0
    li      a7, SYS_mmap
    ecall`;

/** fork: clone(SIGCHLD, 0); a0 = the child's pid in the parent, 0 in the child. */
export const fork = `
    li      a0, SIGCHLD
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a4, 0
    li      a7, SYS_clone
    ecall`;

/** A checkpoint for runKernel: getpid. */
export const checkpoint = `
    li      a7, SYS_getpid
    ecall`;

/** exit(0). */
export const exit0 = `
    li      a0, 0
    li      a7, SYS_exit
    ecall`;

/**
 * Leaf routines appended to test programs (no stack use, so they never fault on the stack):
 * - `puts`: writes the NUL-terminated string at a0 to stdout. Clobbers a0-a2, a7, t0, t1.
 * - `check`: prints "ok <name>" when a0 is 0, else "FAIL <name>" and counts the failure in s11;
 *   a1 = the name string. Clobbers a0-a2, a7, t0-t2, s9, s10.
 * - `finish`: exits with the failure count (s11) as the status.
 * - `puthex`: writes a0 as "0x" and 16 hex digits (no newline). Clobbers a0-a2, a7, t0-t3.
 */
export const ASM_LIB = `
    .text
puts:
    mv      t0, a0
1:  lbu     t1, 0(t0)
    beqz    t1, 2f
    addi    t0, t0, 1
    j       1b
2:  sub     a2, t0, a0
    mv      a1, a0
    li      a0, 1
    li      a7, 64
    ecall
    ret

check:
    mv      s10, ra
    mv      s9, a1
    la      t2, lib_ok
    beqz    a0, 1f
    la      t2, lib_fail
    addi    s11, s11, 1
1:  mv      a0, t2
    jal     puts
    mv      a0, s9
    jal     puts
    la      a0, lib_nl
    jal     puts
    mv      ra, s10
    ret

finish:
    mv      a0, s11
    li      a7, 93
    ecall

puthex:
    la      t0, lib_hex
    li      t2, 16
1:  andi    t1, a0, 15
    li      t3, 10
    blt     t1, t3, 2f
    addi    t1, t1, 39
2:  addi    t1, t1, 48
    add     t3, t0, t2
    sb      t1, 1(t3)
    srli    a0, a0, 4
    addi    t2, t2, -1
    bnez    t2, 1b
    mv      a1, t0
    li      a0, 1
    li      a2, 18
    li      a7, 64
    ecall
    ret

    .data
lib_hex:  .ascii "0x0123456789abcdef"

    .section .rodata
lib_ok:   .asciz "ok "
lib_fail: .asciz "FAIL "
lib_nl:   .asciz "\\n"
`;
