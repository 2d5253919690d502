/**
 * The guest programs of test/support/smp-programs.ts (MIGRATING_FORKS, KILL_RUNNING, SLEEPERS) in
 * x86_64 AT&T assembly with the Linux x86_64 system-call numbers, for the kernel on several CPUs
 * of x86_64-pc. Each does what its riscv64 counterpart does and prints the same.
 */

const SYSCALLS = `
    .equ SYS_write, 1
    .equ SYS_sched_yield, 24
    .equ SYS_nanosleep, 35
    .equ SYS_fork, 57
    .equ SYS_exit, 60
    .equ SYS_wait4, 61
    .equ SYS_kill, 62
    .equ SYS_exit_group, 231
`;

const sys = (name: string): string => `mov     $SYS_${name}, %eax
    syscall`;

/** puts (RDI = a NUL-terminated string) and finish (exit_group(R15): R15 counts failures). */
const LIB = `
    .text
puts:
    mov     %rdi, %rsi
    xor     %edx, %edx
1:  cmpb    $0, (%rsi,%rdx)
    je      2f
    inc     %rdx
    jmp     1b
2:  mov     $1, %edi
    ${sys("write")}
    ret
finish:
    mov     %r15, %rdi
    ${sys("exit_group")}
`;

/** wait4(RDI, status, 0, 0). */
const WAIT4 = `lea     status(%rip), %rsi
    xor     %edx, %edx
    xor     %r10d, %r10d
    ${sys("wait4")}`;

/**
 * The parent starts SPINNERS children that only yield, then, ROUNDS times: writes the round number
 * to `byte` (a writable TLB entry on its CPU), yields, forks, yields, and stores 0xEE to the byte at
 * `parent_store` (its copy-on-write copy). The child yields, then exits with the byte it sees,
 * which must be the round number. The parent counts wrong statuses and prints "ok" or "FAIL".
 * A kernel that does not shoot down fork's write-protection on the other CPUs lets the store at
 * `parent_store` use a stale writable entry on a CPU the parent ran on before the fork.
 */
export const MIGRATING_FORKS_X86 = (rounds = 24, spinners = 2, spins = 150): string => `${SYSCALLS}
    .equ ROUNDS, ${rounds}
    .equ SPINNERS, ${spinners}
    .equ SPINS, ${spins}
    .data
byte:   .byte 0
    .balign 4
status: .long 0
    .text
    .globl _start
_start:
    xor     %r15d, %r15d
    mov     $SPINNERS, %r12d
spawn:
    ${sys("fork")}
    test    %rax, %rax
    jz      spinner
    dec     %r12d
    jnz     spawn
    lea     byte(%rip), %rbx
    mov     $ROUNDS, %r13d
round:
    mov     %r13b, (%rbx)
    ${sys("sched_yield")}
    ${sys("fork")}
    test    %rax, %rax
    jz      child
    mov     %rax, %r14
    ${sys("sched_yield")}
parent_store:
    movb    $0xEE, (%rbx)
    mov     %r14, %rdi
    ${WAIT4}
    movzbl  status+1(%rip), %eax
    cmp     %r13d, %eax
    je      1f
    inc     %r15d
1:  dec     %r13d
    jnz     round
    mov     $SPINNERS, %r12d
reap:
    mov     $-1, %rdi
    ${WAIT4}
    dec     %r12d
    jnz     reap
    lea     m_ok(%rip), %rdi
    test    %r15d, %r15d
    jz      2f
    lea     m_fail(%rip), %rdi
2:  call    puts
    jmp     finish
child:
    ${sys("sched_yield")}
    movzbl  (%rbx), %edi
    ${sys("exit")}
spinner:
    mov     $SPINS, %r12d
3:  ${sys("sched_yield")}
    dec     %r12d
    jnz     3b
    xor     %edi, %edi
    ${sys("exit")}
    .section .rodata
m_ok:   .asciz "ok\\n"
m_fail: .asciz "FAIL\\n"
${LIB}
`;

/**
 * The parent forks a child that spins at CPL 3 without ever entering the kernel (`jmp .`), yields
 * a few times so that the child runs (on another CPU when there is one), kills it with SIGKILL and
 * waits: the status word must be 9. Prints "ok" or "FAIL".
 */
export const KILL_RUNNING_X86 = `${SYSCALLS}
    .equ SIGKILL, 9
    .data
    .balign 4
status: .long 0
    .text
    .globl _start
_start:
    xor     %r15d, %r15d
    ${sys("fork")}
    test    %rax, %rax
    jz      spin
    mov     %rax, %r12
    mov     $4, %r13d
1:  ${sys("sched_yield")}
    dec     %r13d
    jnz     1b
    mov     %r12, %rdi
    mov     $SIGKILL, %esi
    ${sys("kill")}
    test    %rax, %rax
    jnz     bad
    mov     %r12, %rdi
    ${WAIT4}
    cmp     %r12, %rax
    jne     bad
    cmpl    $SIGKILL, status(%rip)
    jne     bad
    lea     m_ok(%rip), %rdi
    call    puts
    jmp     finish
bad:
    inc     %r15d
    lea     m_fail(%rip), %rdi
    call    puts
    jmp     finish
spin:
    jmp     spin
    .section .rodata
m_ok:   .asciz "ok\\n"
m_fail: .asciz "FAIL\\n"
${LIB}
`;

/**
 * Three children sleep 3, 2 and 1 ms (nanosleep) and each then prints its line; the parent waits
 * for all three and prints "done": "child 3", "child 2", "child 1", "done" on any number of CPUs.
 */
export const SLEEPERS_X86 = `${SYSCALLS}
    .data
    .balign 8
ts:     .quad 0, 0
line:   .ascii "child 0\\n"
    .balign 4
status: .long 0
    .text
    .globl _start
_start:
    mov     $3, %r12d
1:  ${sys("fork")}
    test    %rax, %rax
    jz      child
    dec     %r12d
    jnz     1b
    mov     $3, %r12d
2:  mov     $-1, %rdi
    ${WAIT4}
    dec     %r12d
    jnz     2b
    lea     m_done(%rip), %rdi
    call    puts
    xor     %r15d, %r15d
    jmp     finish
child:
    mov     $4, %eax
    sub     %r12d, %eax
    imul    $1000000, %eax, %eax
    mov     %rax, ts+8(%rip)
    lea     ts(%rip), %rdi
    xor     %esi, %esi
    ${sys("nanosleep")}
    lea     line(%rip), %rsi
    lea     48(%r12), %eax
    mov     %al, 6(%rsi)
    mov     $1, %edi
    mov     $8, %edx
    ${sys("write")}
    xor     %edi, %edi
    ${sys("exit")}
    .section .rodata
m_done: .asciz "done\\n"
${LIB}
`;
