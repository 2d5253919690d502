# MultiOS SMP demo for x86_64-pc: a bare-metal program for several CPUs (run it with --harts 4).
#
# CPU 0 (the bootstrap processor) reads the CPU list from the boot-info record (RDI) and wakes
# every other CPU through the ACPI multiprocessor wakeup mailbox: it writes the wakeup vector and
# the APIC ID, then the Wakeup command, and waits until the AP clears the command. Each AP gets a
# stack, loads the shared IDT, enables its local APIC, points its GS base at its per-CPU block,
# prints "cpu N is up" when its ticket comes (in APIC ID order), and then every CPU adds 1 to a
# shared counter ROUNDS times with a plain load/add/store inside a spinlock taken with LOCK
# CMPXCHG. CPU 0 checks the total (no increment may be lost), sends each AP a fixed IPI by physical
# destination (the AP's handler prints a line and sends EOI), a broadcast IPI to all but itself, and
# a self IPI, then writes 0 to isa-debug-exit (exit status 1, as QEMU reports it; 3 on a failure).
#
#   multios run --arch x86_64 --bare examples/smp-x86_64.S --harts 4
#   multios run --arch x86_64 --bare examples/smp-x86_64.S --harts 4 --schedule-seed 7 --quantum 3

.equ COM1,        0x3f8
.equ DEBUG_EXIT,  0xf4
.equ APIC,        0xfee00000
.equ APIC_ID,     0x20
.equ APIC_EOI,    0xb0
.equ APIC_SVR,    0xf0
.equ APIC_ICR_LO, 0x300
.equ APIC_ICR_HI, 0x310
.equ IA32_GS_BASE, 0xc0000101
.equ BI_NCPUS,    0x400
.equ BI_MAILBOX,  0x408
.equ BI_APIC_IDS, 0x410
.equ ROUNDS,      500
.equ VEC_ALL,     0x40
.equ VEC_ONE,     0x41
.equ VEC_SELF,    0x42

.text
.globl _start
_start:
    mov     %rdi, %r15                  # the boot-info record
    xor     %eax, %eax
    lea     0f(%rip), %rsi
    jmp     cpu_setup                   # stack, IDT, APIC, GS for APIC ID 0
0:
    lea     idt(%rip), %rdi             # gates for the three IPI vectors
    mov     $VEC_ALL, %esi
    lea     on_all(%rip), %rdx
    call    set_gate
    mov     $VEC_ONE, %esi
    lea     on_one(%rip), %rdx
    call    set_gate
    mov     $VEC_SELF, %esi
    lea     on_self(%rip), %rdx
    call    set_gate
    # Wake every AP through the mailbox, one at a time.
    mov     BI_NCPUS(%r15), %r13d
    mov     BI_MAILBOX(%r15), %r14
    mov     $1, %ebx
1:  cmp     %r13d, %ebx
    jae     3f
    lea     ap_entry(%rip), %rcx
    mov     %rcx, 8(%r14)               # WakeupVector
    mov     BI_APIC_IDS(%r15,%rbx,4), %eax
    mov     %eax, 4(%r14)               # ApicId
    movw    $1, (%r14)                  # Command = Wakeup
2:  pause
    cmpw    $0, (%r14)                  # the AP acknowledges by clearing it
    jne     2b
    inc     %ebx
    jmp     1b
3:  lea     s_woke1(%rip), %rsi
    call    puts
    lea     -1(%r13), %eax
    call    putdec
    lea     s_woke2(%rip), %rsi
    call    puts
    movl    $1, turn(%rip)              # the APs print in APIC ID order
    call    count
    # Wait for every CPU to finish counting, then check the total.
4:  pause
    cmp     done(%rip), %r13d
    jne     4b
    lea     s_count1(%rip), %rsi
    call    puts
    mov     counter(%rip), %rax
    call    putdec
    lea     s_count2(%rip), %rsi
    call    puts
    mov     %r13d, %eax
    call    putdec
    lea     s_count3(%rip), %rsi
    call    puts
    mov     %r13, %rax
    imul    $ROUNDS, %rax
    cmp     counter(%rip), %rax
    jne     fail
    # A fixed IPI to each AP by physical destination; each handler prints before the next is sent.
    mov     $APIC, %r12d
    mov     $1, %ebx
5:  cmp     %r13d, %ebx
    jae     7f
    mov     BI_APIC_IDS(%r15,%rbx,4), %eax
    shl     $24, %eax
    mov     %eax, APIC_ICR_HI(%r12)
    movl    $0x4000 | VEC_ONE, APIC_ICR_LO(%r12)   # fixed, physical, assert
6:  pause
    cmp     acked_one(%rip), %ebx
    jne     6b
    inc     %ebx
    jmp     5b
    # A broadcast to all but self.
7:  movl    $(3 << 18) | 0x4000 | VEC_ALL, APIC_ICR_LO(%r12)
    lea     -1(%r13), %ecx
8:  pause
    cmp     acked_all(%rip), %ecx
    jne     8b
    lea     s_all1(%rip), %rsi
    call    puts
    mov     acked_all(%rip), %eax
    call    putdec
    lea     s_all2(%rip), %rsi
    call    puts
    # A self IPI, taken once interrupts are enabled.
    sti
    movl    $(1 << 18) | 0x4000 | VEC_SELF, APIC_ICR_LO(%r12)
    nop
    cli
    cmpl    $1, got_self(%rip)
    jne     fail
    lea     s_self(%rip), %rsi
    call    puts
    mov     $0, %al
    jmp     exit
fail:
    lea     s_fail(%rip), %rsi
    call    puts
    mov     $1, %al
exit:
    mov     $DEBUG_EXIT, %dx
    out     %al, %dx
9:  hlt
    jmp     9b

# An AP starts here from the mailbox: 64-bit mode, IF=0, identity map, no stack yet.
ap_entry:
    mov     $APIC, %ebx
    mov     APIC_ID(%rbx), %eax
    shr     $24, %eax
    lea     1f(%rip), %rsi
    jmp     cpu_setup
1:  mov     %gs:0, %rbx                 # my APIC ID, from my per-CPU block
2:  pause
    cmp     turn(%rip), %ebx
    jne     2b
    lea     s_up1(%rip), %rsi
    call    puts
    mov     %rbx, %rax
    call    putdec
    lea     s_up2(%rip), %rsi
    call    puts
    lock incl turn(%rip)
    call    count
    sti                                 # then sleep, woken by IPIs
3:  hlt
    jmp     3b

# cpu_setup: EAX = APIC ID, RSI = where to continue (an AP has no stack yet). Gives the CPU its
# stack, its per-CPU block in GS, the shared IDT, and enables its APIC. Clobbers RAX, RCX, RDX.
cpu_setup:
    mov     %eax, %ecx
    inc     %ecx
    shl     $12, %ecx
    lea     stacks(%rip), %rsp
    add     %rcx, %rsp
    lea     percpu(%rip), %rdx
    shl     $4, %eax
    add     %rax, %rdx
    shr     $4, %eax
    mov     %rax, (%rdx)                # percpu[id].id
    mov     %rdx, %rax
    shr     $32, %rdx
    mov     $IA32_GS_BASE, %ecx
    wrmsr
    lidt    idtr(%rip)
    mov     $APIC, %ecx
    movl    $0x1ff, APIC_SVR(%rcx)      # software enable, spurious vector 0xFF
    jmp     *%rsi

# set_gate: RDI = IDT, ESI = vector, RDX = handler. A 64-bit interrupt gate, CS 0x08, DPL 0.
set_gate:
    shl     $4, %esi
    add     %rsi, %rdi
    mov     %dx, (%rdi)
    movw    $0x08, 2(%rdi)
    movw    $0x8e00, 4(%rdi)
    shr     $16, %rdx
    mov     %dx, 6(%rdi)
    shr     $16, %rdx
    mov     %edx, 8(%rdi)
    movl    $0, 12(%rdi)
    lea     idt(%rip), %rdi
    ret

# count: ROUNDS increments of `counter` with a plain load/add/store, each under the spinlock.
count:
    mov     $ROUNDS, %r8d
1:  call    lock
    mov     counter(%rip), %rax
    inc     %rax
    mov     %rax, counter(%rip)
    movl    $0, spin(%rip)              # release: a plain store (x86 stores are not reordered with older ones)
    dec     %r8d
    jnz     1b
    lock incl done(%rip)
    ret

# lock: takes `spin` with LOCK CMPXCHG (0 -> 1), spinning on plain loads while it is held.
lock:
1:  xor     %eax, %eax
    mov     $1, %ecx
    lock cmpxchg %ecx, spin(%rip)
    je      3f
2:  pause
    cmpl    $0, spin(%rip)
    jne     2b
    jmp     1b
3:  ret

# IPI handlers. on_one prints "cpu N took IPI 0x41"; each writes EOI before IRETQ.
on_one:
    push    %rax
    push    %rdx
    push    %rsi
    push    %rcx
    lea     s_ipi1(%rip), %rsi
    call    puts
    mov     %gs:0, %rax
    call    putdec
    lea     s_ipi2(%rip), %rsi
    call    puts
    incq    %gs:8                       # per-CPU count of IPIs taken
    lock incl acked_one(%rip)
    jmp     eoi
on_all:
    push    %rax
    push    %rdx
    push    %rsi
    push    %rcx
    incq    %gs:8
    lock incl acked_all(%rip)
    jmp     eoi
on_self:
    push    %rax
    push    %rdx
    push    %rsi
    push    %rcx
    movl    $1, got_self(%rip)
eoi:
    mov     $APIC, %eax
    movl    $0, APIC_EOI(%rax)
    pop     %rcx
    pop     %rsi
    pop     %rdx
    pop     %rax
    iretq

# putc: AL to COM1 (clobbers DX). puts: the NUL-terminated string at RSI (clobbers AL, DX, RSI).
putc:
    mov     $COM1, %dx
    out     %al, %dx
    ret
puts:
1:  mov     (%rsi), %al
    test    %al, %al
    jz      2f
    call    putc
    inc     %rsi
    jmp     1b
2:  ret

# putdec: RAX in decimal (clobbers RAX, RCX, RDX, RSI).
putdec:
    push    %rbp
    mov     %rsp, %rbp
    sub     $32, %rsp
    mov     %rbp, %rsi
    mov     $10, %ecx
1:  xor     %edx, %edx
    div     %rcx
    add     $'0', %dl
    dec     %rsi
    mov     %dl, (%rsi)
    test    %rax, %rax
    jnz     1b
2:  mov     (%rsi), %al
    call    putc
    inc     %rsi
    cmp     %rbp, %rsi
    jne     2b
    mov     %rbp, %rsp
    pop     %rbp
    ret

.data
s_woke1:  .asciz "cpu 0 woke "
s_woke2:  .asciz " APs through the ACPI wakeup mailbox\n"
s_up1:    .asciz "cpu "
s_up2:    .asciz " is up\n"
s_count1: .asciz "counter "
s_count2: .asciz " ("
s_count3: .asciz " CPUs x 500 under a LOCK CMPXCHG spinlock)\n"
s_ipi1:   .asciz "cpu "
s_ipi2:   .asciz " took IPI 0x41 (physical destination)\n"
s_all1:   .asciz "IPI 0x40 to all but self taken by "
s_all2:   .asciz " CPUs\n"
s_self:   .asciz "self IPI 0x42 taken\n"
s_fail:   .asciz "FAILED\n"
.balign 8
idtr:     .word 16 * (VEC_SELF + 1) - 1
          .quad idt
.balign 8
turn:      .long 0
done:      .long 0
spin:      .long 0
acked_one: .long 0
acked_all: .long 0
got_self:  .long 0
counter:   .quad 0
.balign 16
percpu:   .fill 8 * 16, 1, 0
.balign 4096
idt:      .fill 16 * 256, 1, 0
stacks:   .fill 9 * 4096, 1, 0
