/**
 * Test helpers for bare x86_64-pc programs on several CPUs: a prelude in which CPU 0 wakes every AP
 * through the ACPI wakeup mailbox, each CPU gets a stack (by APIC ID), the shared IDT and an enabled
 * local APIC, then CPU 0 continues at `bsp_main` and each AP at `ap_main` with R12 = its APIC ID.
 * The test fills IDT gates host-side ({@link setGate}) and reads results from labels.
 */
import { bootBareX86, createX86Pc, type X86PcOptions } from "../../boot/x86_64/pc.js";
import type { X86RunResult } from "../../emulator/arch/x86_64/machine.js";
import type { StaleTlbReport } from "../../emulator/arch/x86_64/tlb-stale.js";
import type { TraceEvent, TrapTraceEvent } from "../../emulator/core/trace.js";
import { assembleX86_64 } from "../../tools/asm/x86_64/index.js";

export const SMP_PRELUDE = `
    .equ APIC, 0xfee00000
    .text
    .globl _start
_start:
    mov     %rdi, %r15
    xor     %eax, %eax
    lea     0f(%rip), %rsi
    jmp     setup
0:  mov     0x400(%r15), %r13d
    mov     0x408(%r15), %r14
    mov     $1, %ebx
1:  cmp     %r13d, %ebx
    jae     3f
    lea     ap_start(%rip), %rcx
    mov     %rcx, 8(%r14)
    mov     0x410(%r15,%rbx,4), %eax
    mov     %eax, 4(%r14)
    movw    $1, (%r14)
2:  pause
    cmpw    $0, (%r14)
    jne     2b
    inc     %ebx
    jmp     1b
3:  jmp     bsp_main
ap_start:
    mov     $APIC, %ebx
    mov     0x20(%rbx), %eax
    shr     $24, %eax
    lea     ap_main(%rip), %rsi
    jmp     setup
setup:
    mov     %eax, %r12d
    mov     %eax, %ecx
    inc     %ecx
    shl     $12, %ecx
    lea     stacks(%rip), %rsp
    add     %rcx, %rsp
    lidt    idtr(%rip)
    mov     $APIC, %ecx
    movl    $0x1ff, 0xf0(%rcx)
    jmp     *%rsi
exit:
    mov     $0xf4, %dx
    out     %al, %dx
9:  hlt
    jmp     9b
`;

export const SMP_DATA = `
    .data
    .balign 8
idtr:   .word 4095
        .quad idt
    .balign 4096
idt:    .fill 4096, 1, 0
stacks: .fill 9 * 4096, 1, 0
`;

/** What a run produced. */
export interface SmpRun {
  result: X86RunResult;
  console: string;
  traps: TrapTraceEvent[];
  stale: StaleTlbReport[];
  pc: ReturnType<typeof createX86Pc>;
  /** The 32-bit word at a label. */
  word(label: string): number;
  symbol(label: string): bigint;
}

/**
 * Assembles SMP_PRELUDE + `body` + SMP_DATA, boots it on `opts.harts` CPUs, installs interrupt
 * gates (vector → handler label), and runs it to the end or `maxInsns`.
 */
export function runSmp(body: string, opts: X86PcOptions & { maxInsns?: number; gates?: Record<number, string>; setup?: (pc: ReturnType<typeof createX86Pc>, symbol: (label: string) => bigint) => void } = {}): SmpRun {
  const asm = assembleX86_64(SMP_PRELUDE + body + SMP_DATA, { fileName: "smp.S" });
  let out = "";
  const pc = createX86Pc({ ...opts, console: (b) => { out += String.fromCharCode(b); } });
  bootBareX86(pc, asm.elf);
  const symbol = (label: string): bigint => {
    const v = asm.symbols.get(label);
    if (v === undefined) throw new Error(`no label ${label}`);
    return v;
  };
  for (const [vector, label] of Object.entries(opts.gates ?? {})) setGate(pc, Number(symbol("idt")), Number(vector), symbol(label));
  opts.setup?.(pc, symbol);
  const events: TraceEvent[] = [];
  pc.machine.setTrace((e) => events.push(e));
  const stale: StaleTlbReport[] = [];
  pc.machine.onStaleTlb = (r) => stale.push(r);
  const result = pc.machine.run({ maxInsns: opts.maxInsns ?? 5_000_000 });
  const word = (label: string): number => {
    pc.machine.bus.read(Number(symbol(label)), 4);
    return pc.machine.bus.lo >>> 0;
  };
  return { result, console: out, traps: events.filter((e): e is TrapTraceEvent => e.type === "trap"), stale, pc, word, symbol };
}

/** Writes a 64-bit interrupt gate (type 0xE, DPL 0, CS 0x08, stack `ist`) for `vector` to `handler` into the IDT at `idt`. */
export function setGate(pc: ReturnType<typeof createX86Pc>, idt: number, vector: number, handler: bigint, ist = 0): void {
  const lo = (handler & 0xffffn) | (0x08n << 16n) | (BigInt(0x8e00 | ist) << 32n) | (((handler >> 16n) & 0xffffn) << 48n);
  pc.machine.bus.write64(idt + 16 * vector, lo);
  pc.machine.bus.write64(idt + 16 * vector + 8, handler >> 32n);
}
