/**
 * The kernel on several CPUs of x86_64-pc, what is x86_64's own (the shared checks are in
 * kernel-smp-all.test.ts): application processors started through the ACPI
 * multiprocessor wakeup mailbox at the kernel's secondary entry, one run queue served by every CPU,
 * idle CPUs woken by fixed IPIs, TLB shootdown by IPI (each target invalidates with INVLPG/INVPCID
 * on its own TLB; the frames a change frees wait for every target's acknowledgement), PCID
 * rollover with CPUs running, and a process ended on another CPU.
 * @spec ACPI 6.4 §5.2.12.19 (Multiprocessor Wakeup Structure and mailbox)
 * @spec Intel SDM Vol. 3A §4.10.4.1 (INVLPG, INVPCID, MOV to CR3 act on the executing processor
 *       only), §4.10.5 ("propagation of paging-structure changes to multiple processors": an IPI
 *       whose handler invalidates), §11.6.1 (ICR fixed IPIs)
 */
import { describe, expect, it } from "vitest";
import { MIGRATING_FORKS_X86 } from "./support/smp-programs-x86_64.js";
import { runKernelX86, type X86KernelRun, type X86KernelRunOptions } from "./support/run-kernel-x86.js";
import { expectFullReclaim } from "./support/run-kernel.js";
import { formatX86StaleTlbReport } from "../emulator/arch/x86_64/tlb-stale.js";
import { X86_SYS } from "../kernel/arch/x86_64/syscalls.js";
import { GPR } from "../kernel/arch/x86_64/cpu.js";
import { IA32_TSC_AUX } from "../kernel/arch/x86_64/smp.js";
import { rdmsr } from "../emulator/arch/x86_64/msr.js";
import { LAPIC_REG } from "../emulator/devices/lapic.js";
import { mcStackTop, SEL, stackTop } from "../boot/x86_64/kernel-boot.js";
import { X86_PHYSICAL_OFFSET } from "../kernel/arch/x86_64/kernel-arch.js";

function run(program: string, opts: X86KernelRunOptions): X86KernelRun & { stale: string[] } {
  const stale: string[] = [];
  const r = runKernelX86(program, { ...opts, onStaleTlb: (rep) => { if (stale.length < 20) stale.push(formatX86StaleTlbReport(rep)); } });
  return { ...r, stale };
}

describe("the kernel on several CPUs of x86_64-pc", () => {
  const program = MIGRATING_FORKS_X86();

  it("each CPU runs with its own TSS, TR, kernel stack, SYSCALL MSRs and CR4, and its index in IA32_TSC_AUX", () => {
    const r = run(program, { harts: 4 });
    expect(r.stdout).toBe("ok\n");
    for (const c of r.km.cpus) {
      const id = c.hartId;
      expect(c.trSel).toBe(SEL.tss + 16 * id);
      expect(c.trBase).toBe(X86_PHYSICAL_OFFSET + BigInt(0x10_0100 + 0x80 * id));
      // TSS.RSP0: this CPU's kernel stack; IST1: its #MC stack, below.
      const rsp0 = r.km.machine.bus.read64(0x10_0100 + 0x80 * id + 4);
      expect(rsp0).toBe(X86_PHYSICAL_OFFSET + BigInt(stackTop(id)));
      expect(r.km.machine.bus.read64(0x10_0100 + 0x80 * id + 0x24)).toBe(X86_PHYSICAL_OFFSET + BigInt(mcStackTop(id)));
      expect(rdmsr(c, IA32_TSC_AUX)).toBe(BigInt(id));
      expect(rdmsr(c, 0xc000_0082)).toBe(0xffff_ffff_8000_0200n); // LSTAR
      // CR4: MCE | PGE | PCIDE | SMEP | SMAP.
      expect(c.mmu.cr4 & 0x32_00c0n).toBe(0x32_00c0n);
      // The APIC is software-enabled with the spurious vector 0xFF.
      expect(r.km.machine.lapics[id]!.read(LAPIC_REG.SVR, 4) & 0x1ff).toBe(0x1ff);
    }
  });

  it("2 CPUs with the missing-shootdown test's schedule (seed 1, quantum 300): the real kernel uses no stale entry", () => {
    const r = run(program, { harts: 2, strictTlb: true, schedule: { seed: 1, quantum: 300 } });
    expect([r.stdout, r.exitCode, r.stale]).toEqual(["ok\n", 0, []]);
    expectFullReclaim(r);
  });
});

/**
 * mmap a page, write it, move between CPUs (yields while two spinners run), munmap it: ROUNDS times;
 * then kill the spinners and reap them.
 * The munmap's shootdown reaches the CPUs that may cache the page; its frame is freed only when
 * every one of them has invalidated.
 */
const UNMAP_ROUNDS = `
    .equ ROUNDS, 12
    .text
    .globl _start
_start:
    mov     $57, %eax               # fork two spinners: three processes on two CPUs keep moving
    syscall
    test    %rax, %rax
    jz      spinner
    mov     %rax, %r14
    mov     $57, %eax
    syscall
    test    %rax, %rax
    jz      spinner
    mov     %rax, %r13
    mov     $ROUNDS, %r12d
round:
    xor     %edi, %edi              # mmap(0, 4096, RW, PRIVATE|ANONYMOUS, -1, 0)
    mov     $4096, %esi
    mov     $3, %edx
    mov     $0x22, %r10d
    mov     $-1, %r8
    xor     %r9d, %r9d
    mov     $9, %eax
    syscall
    mov     %rax, %rbx
    movq    $1, (%rbx)
    mov     $24, %eax
    syscall
    mov     $24, %eax
    syscall
    mov     %rbx, %rdi              # munmap
    mov     $4096, %esi
    mov     $11, %eax
    syscall
    mov     $24, %eax
    syscall
    dec     %r12d
    jnz     round
    mov     $62, %eax               # kill(spinner, SIGKILL); wait4
    mov     %r14, %rdi
    mov     $9, %esi
    syscall
    mov     %r14, %rdi
    xor     %esi, %esi
    xor     %edx, %edx
    xor     %r10d, %r10d
    mov     $61, %eax
    syscall
    mov     $62, %eax               # the other one
    mov     %r13, %rdi
    mov     $9, %esi
    syscall
    mov     %r13, %rdi
    xor     %esi, %esi
    xor     %edx, %edx
    xor     %r10d, %r10d
    mov     $61, %eax
    syscall
    xor     %edi, %edi
    mov     $231, %eax
    syscall
spinner:
    mov     $24, %eax
    syscall
    jmp     spinner
`;

interface UnmapRecord {
  /** The CPU that ran munmap, the page's frame, whether its release waited for acknowledgements. */
  cpu: number;
  frame: number;
  deferred: boolean;
  /** The frame was still allocated when munmap returned to the process. */
  heldAtReturn: boolean;
  /** The CPU whose queue processing (its acknowledgement) freed the frame. */
  freedOn?: number;
}

describe("the frames of an unmap wait for every target CPU's acknowledgement", () => {
  it("a deferred munmap keeps the page's frame until the target CPU invalidates; it is freed then, by that CPU's acknowledgement", () => {
    const seen: UnmapRecord[] = [];
    const r = run(UNMAP_ROUNDS, { harts: 2, strictTlb: true, schedule: { seed: 11, quantum: 200 }, onBoot: (km) => watchUnmaps(km, seen) });
    expect([r.exitCode, r.stale]).toEqual([0, []]);
    expect(seen).toHaveLength(12);
    const deferred = seen.filter((s) => s.deferred);
    expect(deferred.length).toBeGreaterThan(0);
    expect(r.km.kernel.shootdown!.stats.deferred).toBeGreaterThanOrEqual(deferred.length);
    for (const s of deferred) {
      expect(s.heldAtReturn).toBe(true);
      expect(s.freedOn).toBe(1 - s.cpu);
    }
    // An munmap no other CPU could cache frees its frame at once.
    for (const s of seen.filter((x) => !x.deferred)) expect(s.heldAtReturn).toBe(false);
    expectFullReclaim(r);
  });
});

/** Records every munmap of the run (see {@link UnmapRecord}), wrapping this kernel instance's trap and, once it exists, its shootdown's queue processing. */
function watchUnmaps(km: X86KernelRun["km"], seen: UnmapRecord[]): void {
  const k = km.kernel;
  const trap = k.trap.bind(k);
  let wrapped = false;
  k.trap = () => {
    const sd = k.shootdown!;
    if (!wrapped) {
      wrapped = true;
      const processQueue = sd.processQueue.bind(sd);
      sd.processQueue = (cpu) => {
        const frames = k.memory!.frames;
        const held = seen.filter((s) => s.freedOn === undefined && frames.ownerOf(s.frame) !== undefined);
        processQueue(cpu);
        for (const s of held) if (frames.ownerOf(s.frame) === undefined) s.freedOn = cpu;
      };
    }
    const c = km.machine.current!;
    if (k.arch.trapInfo().kind !== "syscall" || Number(c.reg(GPR.RAX)) !== X86_SYS.munmap) {
      trap();
      return;
    }
    const frame = k.arch.userAccess(c.reg(GPR.RDI), "read")! & ~0xfff;
    const before = sd.stats.deferred;
    trap();
    seen.push({ cpu: k.cpus.self, frame, deferred: sd.stats.deferred > before, heldAtReturn: k.memory!.frames.ownerOf(frame) !== undefined });
  };
}
