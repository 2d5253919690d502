/**
 * Several CPUs on one x86_64-pc machine: APs start through the ACPI multiprocessor wakeup mailbox,
 * each CPU has its own registers, TLB and local APIC; fixed IPIs reach the CPUs the ICR names and
 * are delivered through the IDT (waking HLT when IF=1), EOI is per APIC; INVLPG acts on the local
 * CPU only, so a missing shootdown leaves a stale entry the strict detector reports; LOCK-prefixed
 * read-modify-writes are atomic under any schedule; and the same schedule gives the same run.
 * @spec ACPI 6.4 §5.2.12.19 (Multiprocessor Wakeup Structure and mailbox); Intel SDM Vol. 3A
 * §11.4.6 (APIC ID), §11.6.1-11.6.2.3 (ICR, destinations, shorthands), §11.8.4-11.8.5 (IRR/ISR,
 * EOI), §4.10.4.1 (INVLPG, INVPCID and MOV to CR3 invalidate on the executing processor),
 * §4.10.5 (TLB shootdown with IPIs), §9.1.2.2 (locked operations), Vol. 2 HLT ("an enabled
 * interrupt resumes execution"), §7.7 (64-bit TSS, IST)
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bootBareX86, createX86Pc } from "../boot/x86_64/pc.js";
import { BOOT_INFO_APIC_IDS, BOOT_INFO_SMP, BOOT_INFO_VERSION } from "../boot/x86_64/firmware.js";
import { E820, FIRMWARE } from "../boot/x86_64/memory-map.js";
import { LocalApic, LAPIC_REG } from "../emulator/devices/lapic.js";
import { LapicWindow } from "../emulator/devices/apic-ipi.js";
import { RFLAGS } from "../emulator/arch/x86_64/defs.js";
import { assembleX86_64 } from "../tools/asm/x86_64/index.js";
import { runSmp, setGate } from "./support/run-x86-smp.js";

const SMP = readFileSync(new URL("../examples/smp-x86_64.S", import.meta.url), "utf8");
const EXPECTED = readFileSync(new URL("../examples/smp-x86_64.expected", import.meta.url), "utf8");

function runExample(harts: number, schedule = {}) {
  let out = "";
  const pc = createX86Pc({ harts, schedule, console: (b) => { out += String.fromCharCode(b); } });
  const asm = assembleX86_64(SMP, { fileName: "smp-x86_64.S" });
  bootBareX86(pc, asm.elf);
  const result = pc.machine.run({ maxInsns: 20_000_000 });
  return { out, result, pc, asm };
}

describe("examples/smp-x86_64.S", () => {
  it("prints the same lines under round robin and under random schedules (exit 1 = status 0 through isa-debug-exit)", () => {
    for (const schedule of [{}, { seed: 1 }, { seed: 7, quantum: 3 }, { seed: 99, quantum: 1 }]) {
      const r = runExample(4, schedule);
      expect({ schedule, out: r.out, exit: r.result.exitCode }).toEqual({ schedule, out: EXPECTED, exit: 1 });
    }
  });

  it("each CPU has its own GS base (its per-CPU block) and took its own IPIs", () => {
    const r = runExample(4);
    const percpu = r.asm.symbols.get("percpu")!;
    expect(r.pc.cpus.map((c) => c.gsBase)).toEqual([0, 1, 2, 3].map((i) => percpu + BigInt(16 * i)));
    // Per-CPU IPI counts at percpu[i] + 8: the APs took the physical and the broadcast IPI.
    const counts = [0, 1, 2, 3].map((i) => r.pc.machine.bus.read64(Number(percpu) + 16 * i + 8));
    expect(counts).toEqual([0n, 2n, 2n, 2n]);
  });

  it("the same seed gives the same run; different seeds interleave differently", () => {
    const split = (seed: number) => {
      const r = runExample(4, { seed, quantum: 7 });
      return { split: r.pc.cpus.map((c) => c.icount), total: r.result.icount, rips: r.pc.cpus.map((c) => c.rip) };
    };
    expect(split(5)).toEqual(split(5));
    expect(split(5).split).not.toEqual(split(6).split);
    const r = split(5);
    expect(r.total).toBe(r.split.reduce((a, b) => a + b, 0));
  });
});

describe("the boot-info record and the wakeup mailbox", () => {
  it("lists the CPUs' APIC IDs (BSP first) and the mailbox, which e820 reports as ACPI NVS", () => {
    const pc = createX86Pc({ harts: 3 });
    bootBareX86(pc, assembleX86_64("  .globl _start\n_start: hlt\n").elf);
    const bus = pc.machine.bus;
    const at = Number(pc.cpu.reg(7));
    const u32 = (a: number): number => (bus.read(a, 4), bus.lo >>> 0);
    expect(u32(at + 4)).toBe(BOOT_INFO_VERSION);
    expect([u32(at + BOOT_INFO_SMP), u32(at + BOOT_INFO_SMP + 4)]).toEqual([3, 0]);
    expect(bus.read64(at + BOOT_INFO_SMP + 8)).toBe(BigInt(FIRMWARE.MAILBOX));
    expect([0, 1, 2].map((i) => u32(at + BOOT_INFO_APIC_IDS + 4 * i))).toEqual([0, 1, 2]);
    expect(pc.e820).toContainEqual({ base: FIRMWARE.MAILBOX, size: 4096, type: E820.NVS });
    expect(Array.from(pc.machine.parked)).toEqual([0, 1, 1]);
  });

  it("an AP ignores a command for another APIC ID; the addressed one clears Command and starts at the vector with IF=0 on the firmware's map", () => {
    const asm = assembleX86_64(`
    .globl _start
_start:
    mov     0x408(%rdi), %r14
    lea     ap_entry(%rip), %rcx
    mov     %rcx, 8(%r14)
    movl    $7, 4(%r14)              # no CPU has APIC ID 7: nobody answers
    movw    $1, (%r14)
    mov     $20000, %ecx
1:  dec     %ecx
    jnz     1b
    movzwl  (%r14), %eax
    mov     %eax, cmd_after_wrong(%rip)
    movl    $2, 4(%r14)              # now CPU 2
2:  pause
    cmpw    $0, (%r14)
    jne     2b
    mov     $20000, %ecx
3:  dec     %ecx
    jnz     3b
    mov     $0, %al
    out     %al, $0xf4
ap_entry:
    jmp     ap_entry
    .data
cmd_after_wrong: .long 0
`);
    const pc = createX86Pc({ harts: 3 });
    bootBareX86(pc, asm.elf);
    const r = pc.machine.run({ maxInsns: 1_000_000 });
    expect(r.exitCode).toBe(1);
    pc.machine.bus.read(Number(asm.symbols.get("cmd_after_wrong")), 4);
    expect(pc.machine.bus.lo).toBe(1);
    expect(Array.from(pc.machine.parked)).toEqual([0, 1, 0]);
    expect(pc.cpus[1]!.icount).toBe(0);
    const ap = pc.cpus[2]!;
    expect(ap.icount).toBeGreaterThan(0);
    expect(ap.rip).toBe(asm.symbols.get("ap_entry"));
    expect(ap.reg(4)).toBe(0n);
    expect(ap.rflags & RFLAGS.IF).toBe(0);
    expect(ap.mmu.cr3).toBe(0x3000n);
    expect([ap.sel[1], ap.sel[2], ap.cpl]).toEqual([0x08, 0x10, 0]);
  });
});

describe("local APIC IPIs: destinations", () => {
  /** Four APICs on one window; `send` writes ICR from APIC `from`; returns which APICs got `vector` in IRR. */
  function apics() {
    const as = [0, 1, 2, 3].map((id) => new LocalApic(() => 0, id));
    const win = new LapicWindow(as);
    const got = (vector: number): number[] => as.filter((a) => (a.irr[vector >>> 5]! >>> (vector & 31)) & 1).map((a) => a.id);
    const send = (from: number, lo: number, hi = 0): void => {
      win.current = from;
      win.write(LAPIC_REG.ICR_HI, 4, hi);
      win.write(LAPIC_REG.ICR_LO, 4, lo);
    };
    return { as, win, got, send };
  }

  it("reads each APIC's own ID through the shared window", () => {
    const { win } = apics();
    expect([0, 1, 2, 3].map((i) => { win.current = i; return win.read(LAPIC_REG.ID, 4); })).toEqual([0, 1 << 24, 2 << 24, 3 << 24]);
  });

  it("shorthands: self, all including self, all excluding self", () => {
    const a = apics();
    a.send(2, (1 << 18) | 0x30);
    a.send(1, (2 << 18) | 0x31);
    a.send(1, (3 << 18) | 0x32);
    expect([a.got(0x30), a.got(0x31), a.got(0x32)]).toEqual([[2], [0, 1, 2, 3], [0, 2, 3]]);
  });

  it("physical destination: one APIC ID, 0xFF broadcasts, an absent ID reaches nobody; the ICR reads back idle", () => {
    const a = apics();
    a.send(0, 0x40, 3 << 24);
    a.send(0, 0x41, 0xff << 24);
    a.send(0, 0x42, 9 << 24);
    expect([a.got(0x40), a.got(0x41), a.got(0x42)]).toEqual([[3], [0, 1, 2, 3], []]);
    expect(a.win.read(LAPIC_REG.ICR_LO, 4) & (1 << 12)).toBe(0);
  });

  it("logical destination: flat model matches LDR bits; cluster model matches cluster and member", () => {
    const a = apics();
    a.as.forEach((x) => { x.write(LAPIC_REG.LDR, 4, (1 << x.id) << 24); });
    a.send(0, (1 << 11) | 0x50, 0b1010 << 24);
    expect(a.got(0x50)).toEqual([1, 3]);
    a.as.forEach((x) => { x.write(LAPIC_REG.DFR, 4, 0x0fffffff); x.write(LAPIC_REG.LDR, 4, (((x.id >> 1) << 4) | (1 << (x.id & 1))) << 24); });
    a.send(0, (1 << 11) | 0x51, 0x13 << 24);
    expect(a.got(0x51)).toEqual([2, 3]);
  });

  it("only fixed delivery with a legal vector sends anything; EOI clears only the receiving APIC's ISR", () => {
    const a = apics();
    a.send(0, (4 << 8) | 0x60, 1 << 24);
    a.send(0, (5 << 8) | 0x61, 1 << 24);
    a.send(0, 0x0f, 1 << 24);
    expect([a.got(0x60), a.got(0x61), Array.from(a.as[1]!.irr)]).toEqual([[], [], [0, 0, 0, 0, 0, 0, 0, 0]]);
    a.send(0, (2 << 18) | 0x70);
    for (const x of a.as) x.acknowledge(x.pendingVector());
    a.win.current = 1;
    a.win.write(LAPIC_REG.EOI, 4, 0);
    expect(a.as.map((x) => x.isr[3]! >>> 16 & 1)).toEqual([1, 0, 1, 1]);
  });
});

describe("IPI delivery through the IDT", () => {
  const WAKE = `
bsp_main:
    pause
    cmpl    $1, ap_ready(%rip)
    jne     bsp_main
    mov     $APIC, %ebx
    movl    $1 << 24, 0x310(%rbx)
    movl    $0x4041, 0x300(%rbx)
    mov     $50000, %ecx
1:  cmpl    $1, taken(%rip)
    je      2f
    dec     %ecx
    jnz     1b
2:  mov     $0, %al
    jmp     exit
ap_main:
    cmp     $1, %r12d
    jne     park
    movl    $1, ap_ready(%rip)
    IRQS
halt:
    hlt
after_hlt:
    jmp     halt
park:
    cli
    hlt
    jmp     park
on_ipi:
    mov     $APIC, %ebx
    mov     0x120(%rbx), %eax          # ISR bits 64..95: vector 0x41 is bit 1
    mov     %eax, isr_in(%rip)
    movl    $0, 0xb0(%rbx)             # EOI
    mov     0x120(%rbx), %eax
    mov     %eax, isr_after(%rip)
    movl    $1, taken(%rip)
    iretq
    .data
ap_ready:  .long 0
taken:     .long 0
isr_in:    .long 0
isr_after: .long 0
`;

  it("wakes a CPU halted with IF=1: the handler runs with the vector in service, EOI clears it, and the frame's RIP is after the HLT", () => {
    const r = runSmp(WAKE.replace("IRQS", "sti"), { harts: 2, gates: { 0x41: "on_ipi" } });
    expect(r.result.exitCode).toBe(1);
    expect([r.word("taken"), r.word("isr_in"), r.word("isr_after")]).toEqual([1, 1 << 1, 0]);
    const t = r.traps.filter((e) => e.hart === 1);
    expect(t).toHaveLength(1);
    expect(t[0]).toMatchObject({ cause: 0x41, interrupt: true, epc: `0x${r.symbol("after_hlt").toString(16)}` });
    expect(r.traps.filter((e) => e.hart === 0)).toHaveLength(0);
  });

  it("does not wake a CPU halted with IF=0: the IPI stays pending in its IRR", () => {
    const r = runSmp(WAKE.replace("IRQS", "cli"), { harts: 2, gates: { 0x41: "on_ipi" } });
    expect(r.result.exitCode).toBe(1);
    expect(r.word("taken")).toBe(0);
    expect(r.traps).toHaveLength(0);
    expect(r.pc.machine.lapics[1]!.irr[2]! & (1 << 1)).toBe(1 << 1);
    expect(r.pc.cpus[1]!.halted).toBe(true);
  });

  it("ends as a hang, not a host loop, when every CPU halts with nothing to wake it", () => {
    const r = runSmp(`
bsp_main:
    cli
    hlt
ap_main:
    sti
    hlt
`, { harts: 3 });
    expect(r.result.reason).toBe("hlt-hang");
    expect(r.result.message).toMatch(/cpu 0 halted with interrupts disabled.*cpu 1 halted at/);
  });
});

describe("per-CPU TSS", () => {
  it("each AP loads its own TSS (LTR) and an IST interrupt lands on that TSS's stack", () => {
    const r = runSmp(`
bsp_main:
1:  pause
    cmpl    $2, done(%rip)
    jne     1b
    mov     $0, %al
    jmp     exit
ap_main:
    lgdt    gdtr(%rip)
    mov     %r12d, %eax
    shl     $4, %eax
    add     $8, %eax                 # selector 0x18 for APIC ID 1, 0x28 for 2
    ltr     %ax
    sti
    mov     $APIC, %ebx
    movl    $(1 << 18) | 0x45, 0x300(%rbx)
    nop
    cli
    lock incl done(%rip)
2:  hlt
    jmp     2b
on_ist:
    lea     rsps(%rip), %rbx
    mov     %rsp, (%rbx,%r12,8)
    mov     $APIC, %ebx
    movl    $0, 0xb0(%rbx)
    iretq
    .data
    .balign 16
gdtr:   .word 8 * 8 - 1
        .quad gdt
    .balign 16
gdt:    .fill 8 * 8, 1, 0
tss:    .fill 2 * 0x68, 1, 0
rsps:   .fill 3 * 8, 1, 0
done:   .long 0
    .balign 16
        .fill 256, 1, 0
ist_a:  .fill 256, 1, 0
ist_b:
`, {
      harts: 3,
      setup: (pc, symbol) => {
        const bus = pc.machine.bus;
        const gdt = Number(symbol("gdt"));
        bus.write64(gdt + 8, 0x00af9a000000ffffn);
        bus.write64(gdt + 16, 0x00cf92000000ffffn);
        [symbol("ist_a"), symbol("ist_b")].forEach((ist, k) => {
          const tss = symbol("tss") + BigInt(0x68 * k);
          bus.write64(Number(tss) + 0x24, ist);
          const d0 = 0x67n | ((tss & 0xffffffn) << 16n) | (0x89n << 40n) | (((tss >> 24n) & 0xffn) << 56n);
          bus.write64(gdt + 0x18 + 16 * k, d0);
          bus.write64(gdt + 0x20 + 16 * k, tss >> 32n);
        });
        setGate(pc, Number(symbol("idt")), 0x45, symbol("on_ist"), 1);
      },
    });
    expect(r.result.exitCode).toBe(1);
    const rsp = (i: number): bigint => r.pc.machine.bus.read64(Number(r.symbol("rsps")) + 8 * i)!;
    // The frame is SS, RSP, RFLAGS, CS, RIP: 40 bytes below the IST top.
    expect([rsp(1), rsp(2)]).toEqual([r.symbol("ist_a") - 40n, r.symbol("ist_b") - 40n]);
    expect(r.pc.cpus.map((c) => c.trSel)).toEqual([0, 0x18, 0x28]);
    expect(r.pc.cpus[1]!.trBase).toBe(r.symbol("tss"));
    expect(r.pc.cpus[2]!.trBase).toBe(r.symbol("tss") + 0x68n);
  });
});

describe("TLBs are per CPU", () => {
  /**
   * VA 0x4000_0000 is mapped by PDE 0 of the firmware's second PD (0x6000), a 2 MiB page: first to
   * PA 0x20_0000 (holding 0xAAAA), then CPU 0 points it at 0x40_0000 (0xBBBB) and INVLPGs. CPU 1
   * read the VA before and reads it again after; SHOOTDOWN decides whether CPU 0 first sends it an
   * IPI whose handler INVLPGs.
   */
  const FLUSH = {
    invlpg: "invlpg  (%rbx)",
    "mov to cr3": "mov     %cr3, %rax\n    mov     %rax, %cr3",
    "invpcid type 2": "lea     desc(%rip), %rax\n    mov     $2, %ecx\n    invpcid (%rax), %rcx",
  };
  const TLB = (shootdown: boolean, flush = FLUSH.invlpg) => `
bsp_main:
    movl    $0xaaaa, 0x200000
    movl    $0xbbbb, 0x400000
    movq    $0x200083, 0x6000
1:  pause
    cmpl    $1, ap_ready(%rip)
    jne     1b
    movq    $0x400083, 0x6000
    mov     $0x40000000, %rbx
    ${flush}
    mov     (%rbx), %eax
    mov     %eax, bsp_after(%rip)
    ${shootdown ? `mov $APIC, %ebx
    movl    $1 << 24, 0x310(%rbx)
    movl    $0x4050, 0x300(%rbx)
2:  pause
    cmpl    $1, flushed(%rip)
    jne     2b` : ""}
    movl    $1, go(%rip)
3:  pause
    cmpl    $1, ap_done(%rip)
    jne     3b
    mov     $0, %al
    jmp     exit
ap_main:
    cmp     $1, %r12d
    jne     park
    sti
    mov     $0x40000000, %rbx
    mov     (%rbx), %eax
    mov     %eax, ap_before(%rip)
    movl    $1, ap_ready(%rip)
1:  pause
    cmpl    $1, go(%rip)
    jne     1b
    mov     (%rbx), %eax
    mov     %eax, ap_after(%rip)
    movl    $1, ap_done(%rip)
park:
    cli
    hlt
    jmp     park
on_flush:
    push    %rax
    mov     $0x40000000, %rax
    invlpg  (%rax)
    mov     $APIC, %eax
    movl    $0, 0xb0(%rax)
    movl    $1, flushed(%rip)
    pop     %rax
    iretq
    .data
ap_ready:  .long 0
go:        .long 0
ap_done:   .long 0
flushed:   .long 0
ap_before: .long 0
ap_after:  .long 0
bsp_after: .long 0
    .balign 16
desc:      .quad 0, 0
`;

  it.each(Object.keys(FLUSH) as (keyof typeof FLUSH)[])("%s acts on the executing CPU only: without a shootdown the other CPU keeps using its stale entry, which strict mode reports", (how) => {
    const r = runSmp(TLB(false, FLUSH[how]), { harts: 2, strictTlb: true });
    expect(r.result.exitCode).toBe(1);
    expect([r.word("ap_before"), r.word("bsp_after"), r.word("ap_after")]).toEqual([0xaaaa, 0xbbbb, 0xaaaa]);
    expect(r.stale.length).toBeGreaterThan(0);
    expect(r.stale[0]).toMatchObject({ hart: 1, va: 0x40000000n, changes: ["pa"], entry: { pteAddr: 0x6000 }, writer: { hart: 0, pteAddr: 0x6000 } });
  });

  it("a shootdown IPI whose handler INVLPGs makes the other CPU see the new mapping, and strict mode reports nothing", () => {
    const r = runSmp(TLB(true), { harts: 2, strictTlb: true, gates: { 0x50: "on_flush" } });
    expect(r.result.exitCode).toBe(1);
    expect([r.word("ap_before"), r.word("bsp_after"), r.word("ap_after")]).toEqual([0xaaaa, 0xbbbb, 0xbbbb]);
    expect(r.stale).toEqual([]);
  });
});

describe("code is coherent across CPUs", () => {
  it("code a CPU rewrites is what another CPU then executes, even after the writer had a fast store entry for that page", () => {
    const r = runSmp(`
bsp_main:
1:  pause
    cmpl    $1, ap_step(%rip)
    jne     1b
    call    patch
    mov     %eax, first(%rip)
    movl    $1, bsp_step(%rip)
2:  pause
    cmpl    $2, ap_step(%rip)
    jne     2b
    call    patch
    mov     %eax, second(%rip)
    mov     $0, %al
    jmp     exit
ap_main:
    cmp     $1, %r12d
    jne     3f
    movl    $5, scratch(%rip)          # stores to the page before anyone decodes it: fast store entries
    movl    $6, scratch(%rip)
    movl    $1, ap_step(%rip)
4:  pause
    cmpl    $1, bsp_step(%rip)
    jne     4b
    movb    $2, patch + 1(%rip)        # mov $1, %eax becomes mov $2, %eax
    movl    $2, ap_step(%rip)
3:  cli
    hlt
    jmp     3b
    .balign 4096
patch:
    mov     $1, %eax
    ret
scratch: .long 0
    .data
ap_step:  .long 0
bsp_step: .long 0
first:    .long 0
second:   .long 0
`, { harts: 2 });
    expect(r.result.exitCode).toBe(1);
    expect([r.word("first"), r.word("second")]).toEqual([1, 2]);
  });
});

describe("atomicity", () => {
  /** Every CPU adds 1 to three counters 300 times: LOCK ADD, XCHG-lock-protected load/add/store, and a plain load/add/store. */
  const RACE = `
bsp_main:
ap_main:
    mov     $300, %ecx
1:  lock addl $1, locked(%rip)
2:  mov     $1, %eax
    xchg    %eax, spin(%rip)
    test    %eax, %eax
    jnz     2b
    mov     guarded(%rip), %eax
    inc     %eax
    mov     %eax, guarded(%rip)
    movl    $0, spin(%rip)
    mov     plain(%rip), %eax
    inc     %eax
    mov     %eax, plain(%rip)
    dec     %ecx
    jnz     1b
    lock incl done(%rip)
    test    %r12d, %r12d
    jnz     4f
3:  pause
    cmp     done(%rip), %r13d
    jne     3b
    mov     $0, %al
    jmp     exit
4:  cli
    hlt
    .data
locked:  .long 0
guarded: .long 0
plain:   .long 0
spin:    .long 0
done:    .long 0
`;

  it("LOCK ADD and an XCHG spinlock never lose an update under random one-instruction schedules; a plain load/add/store does", () => {
    let lost = 0;
    for (const seed of [1, 2, 3, 4]) {
      const r = runSmp(RACE, { harts: 4, schedule: { seed, quantum: 1 } });
      expect(r.result.exitCode).toBe(1);
      expect([r.word("locked"), r.word("guarded")]).toEqual([1200, 1200]);
      expect(r.word("plain")).toBeLessThanOrEqual(1200);
      lost += 1200 - r.word("plain");
    }
    expect(lost).toBeGreaterThan(0);
  });
});
