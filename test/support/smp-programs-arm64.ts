/**
 * Guest programs (arm64 assembly, Linux arm64 ABI: x8 = number, SVC #0) for the multi-processor
 * kernel tests on arm64-virt: the same three scenarios as test/support/smp-programs.ts (riscv64).
 */

const SYSCALLS = `
    .equ SYS_write, 64
    .equ SYS_exit, 93
    .equ SYS_nanosleep, 101
    .equ SYS_sched_yield, 124
    .equ SYS_kill, 129
    .equ SYS_clone, 220
    .equ SYS_wait4, 260
    .equ SIGCHLD, 17
    .equ SIGKILL, 9`;

/** fork() as clone(SIGCHLD, 0, 0, 0, 0): x0 = 0 in the child, the child's pid in the parent. */
const fork = `mov     x0, #SIGCHLD
    mov     x1, #0
    mov     x2, #0
    mov     x3, #0
    mov     x4, #0
    mov     x8, #SYS_clone
    svc     #0`;
const yieldCall = `mov     x8, #SYS_sched_yield
    svc     #0`;
/** wait4(x0, x1, 0, 0). */
const wait4 = `mov     x2, #0
    mov     x3, #0
    mov     x8, #SYS_wait4
    svc     #0`;

/** puts(x0): writes the NUL-terminated string; `finish`: exit(x28). */
const LIB = `
    .text
puts:
    mov     x1, x0
    mov     x2, #0
puts_len:
    ldrb    w9, [x1, x2]
    cbz     w9, puts_write
    add     x2, x2, #1
    b       puts_len
puts_write:
    mov     x0, #1
    mov     x8, #SYS_write
    svc     #0
    ret
finish:
    mov     x0, x28
    mov     x8, #SYS_exit
    svc     #0
`;

/**
 * The parent starts SPINNERS children that only yield (they keep the run queue moving, so every
 * process changes CPU often), then, ROUNDS times: writes the round number to a byte (a writable
 * TLB entry on its CPU), yields, forks a child, yields, and stores 0xEE to the byte at
 * `parent_store` (its copy-on-write copy). The child yields, then exits with the byte it sees,
 * which must be the round number. The parent counts wrong statuses and prints "ok" or "FAIL".
 *
 * A kernel whose fork write-protection does not reach the other CPUs' TLBs lets the parent's store
 * at `parent_store` (or at `round`) use a stale writable entry on a CPU it ran on before the fork.
 */
export const MIGRATING_FORKS_ARM64 = (rounds = 24, spinners = 2, spins = 150, yieldsBefore = 1): string => `${SYSCALLS}
    .equ ROUNDS, ${rounds}
    .equ SPINNERS, ${spinners}
    .equ SPINS, ${spins}
    .data
byte:   .byte 0
    .balign 4
status: .word 0
    .text
    .globl _start
_start:
    mov     x28, #0
    mov     x20, #SPINNERS
spawn:
    ${fork}
    cbz     x0, spinner
    subs    x20, x20, #1
    b.ne    spawn
    adr     x19, byte
    mov     x21, #ROUNDS
round:
    strb    w21, [x19]
${`    ${yieldCall}\n`.repeat(yieldsBefore)}    ${fork}
    cbz     x0, child
    mov     x22, x0
    ${yieldCall}
    mov     w9, #0xEE
parent_store:
    strb    w9, [x19]
    mov     x0, x22
    adr     x1, status
    ${wait4}
    adr     x9, status
    ldr     w10, [x9]
    ubfx    w10, w10, #8, #8
    cmp     w10, w21
    b.eq    round_ok
    add     x28, x28, #1
round_ok:
    subs    x21, x21, #1
    b.ne    round
    mov     x20, #SPINNERS
reap:
    mov     x0, #-1
    mov     x1, #0
    ${wait4}
    subs    x20, x20, #1
    b.ne    reap
    adr     x0, m_ok
    cbz     x28, report
    adr     x0, m_fail
report:
    bl      puts
    b       finish
child:
    ${yieldCall}
    ldrb    w0, [x19]
    mov     x8, #SYS_exit
    svc     #0
spinner:
    mov     x23, #SPINS
spin_more:
    ${yieldCall}
    subs    x23, x23, #1
    b.ne    spin_more
    mov     x0, #0
    mov     x8, #SYS_exit
    svc     #0
m_ok:   .asciz "ok\\n"
m_fail: .asciz "FAIL\\n"
    .balign 4
${LIB}`;

/**
 * The parent forks a child that spins in user mode without ever trapping (`b .`), yields a few
 * times so that the child is running (on another CPU when there is one), kills it with SIGKILL and
 * waits: the status word must be 9 (killed by signal 9). Prints "ok" or "FAIL".
 */
export const KILL_RUNNING_ARM64 = `${SYSCALLS}
    .data
    .balign 4
status: .word 0
    .text
    .globl _start
_start:
    mov     x28, #0
    ${fork}
    cbz     x0, spin
    mov     x19, x0
    mov     x20, #4
yield_more:
    ${yieldCall}
    subs    x20, x20, #1
    b.ne    yield_more
    mov     x0, x19
    mov     x1, #SIGKILL
    mov     x8, #SYS_kill
    svc     #0
    cbnz    x0, bad
    mov     x0, x19
    adr     x1, status
    ${wait4}
    cmp     x0, x19
    b.ne    bad
    adr     x9, status
    ldr     w10, [x9]
    cmp     w10, #SIGKILL
    b.ne    bad
    adr     x0, m_ok
    bl      puts
    b       finish
bad:
    add     x28, x28, #1
    adr     x0, m_fail
    bl      puts
    b       finish
spin:
    b       spin
m_ok:   .asciz "ok\\n"
m_fail: .asciz "FAIL\\n"
    .balign 4
${LIB}`;

/**
 * Three children sleep 3, 2 and 1 ms (nanosleep) and then each prints its line; the parent waits
 * for all three and prints "done". The lines come in wake-up order on any number of CPUs:
 * "child 3", "child 2", "child 1", "done".
 */
export const SLEEPERS_ARM64 = `${SYSCALLS}
    .data
    .balign 8
ts:     .quad 0, 0
line:   .ascii "child 0\\n"
    .text
    .globl _start
_start:
    mov     x20, #3
fork_more:
    ${fork}
    cbz     x0, child
    subs    x20, x20, #1
    b.ne    fork_more
    mov     x20, #3
wait_more:
    mov     x0, #-1
    mov     x1, #0
    ${wait4}
    subs    x20, x20, #1
    b.ne    wait_more
    adr     x0, m_done
    bl      puts
    mov     x28, #0
    b       finish
child:
    adr     x9, ts
    movz    x10, #0x4240
    movk    x10, #0xf, lsl #16
    mov     x11, #4
    sub     x11, x11, x20
    mul     x10, x10, x11
    str     x10, [x9, #8]
    mov     x0, x9
    mov     x1, #0
    mov     x8, #SYS_nanosleep
    svc     #0
    adr     x1, line
    add     w9, w20, #48
    strb    w9, [x1, #6]
    mov     x0, #1
    mov     x2, #8
    mov     x8, #SYS_write
    svc     #0
    mov     x0, #0
    mov     x8, #SYS_exit
    svc     #0
m_done: .asciz "done\\n"
    .balign 4
${LIB}`;
