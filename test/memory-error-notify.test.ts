/**
 * The platforms' memory-error notifications at the processor (boot/memory-errors.ts): an arm64
 * SError interrupt (pending while PSTATE.A masks it, visible in ISR_EL1.A, taken at VBAR + 0x380
 * from EL1 with SP_ELx, ESR_EL1 EC 0x2F with the syndrome the platform gave, ELR = the next
 * instruction), and an x86_64 machine check (#MC through IDT vector 18 with no error code; with
 * CR4.MCE clear the processor shuts down).
 * @spec Arm ARM (DDI 0487) D1.3.3 "SError exceptions", D19.2 ESR_EL1 "ISS encoding for an SError
 *       interrupt", ISR_EL1; Intel SDM Vol. 3A §6.15 "Interrupt 18—Machine-Check Exception (#MC)", §2.5 CR4.MCE
 */
import { describe, expect, it } from "vitest";
import { A64, CODE, machineWith, msr, put } from "./fixtures/arm64/harness.js";
import { readSysreg, REG } from "../emulator/arch/arm64/sysregs.js";
import { serrorSyndrome } from "../boot/arm64/kernel-boot.js";
import { bootBareX86, createX86Pc } from "../boot/x86_64/pc.js";
import { bootKernelX86, KERNEL_VA, mcStackTop, STACK_TOP } from "../boot/x86_64/kernel-boot.js";
import { x86InjectTarget } from "../boot/x86_64/inject-hw.js";
import { applyHwFault } from "../boot/inject-hw.js";
import { SplitMix64 } from "../kernel/random.js";
import { TIMER_VECTOR, X86_PHYSICAL_OFFSET } from "../kernel/arch/x86_64/kernel-arch.js";
import { readFileSync } from "node:fs";
import { assemble } from "../tools/asm/index.js";

const VBAR = 0x40090000;

describe("arm64: the SError interrupt", () => {
  it("stays pending while PSTATE.A is set (ISR_EL1.A = 1), and is taken at VBAR + 0x380 once DAIFClr clears A", () => {
    const { v, c } = machineWith([A64.NOP, A64.DAIFCLR(4), A64.NOP, A64.SELF]);
    for (let off = 0; off < 0x800; off += 0x80) put(v, VBAR + off, [A64.SELF]);
    msr(c, REG.VBAR_EL1, BigInt(VBAR));
    const iss = serrorSyndrome({ pa: 0x4000_0000, corrected: false });
    expect(iss).toBe((0b010 << 10) | 0x11); // AET = UEO, DFSC = asynchronous SError
    c.raiseSError(iss);
    v.machine.run({ maxInsns: 1 }); // NOP with A masked (reset state): nothing taken
    expect(c.pc).toBe(BigInt(CODE + 4));
    expect(readSysreg(c, REG.ISR_EL1)).toBe(0x100n);
    v.machine.run({ maxInsns: 3 }); // DAIFClr #4; the SError is taken before the next instruction (the vector branches to itself)
    expect(c.pc).toBe(BigInt(VBAR + 0x380));
    expect(c.esr >>> 0).toBe(((0x2f << 26) | (1 << 25) | iss) >>> 0);
    expect(BigInt(c.elrLo >>> 0)).toBe(BigInt(CODE + 8));
    expect(readSysreg(c, REG.ISR_EL1)).toBe(0n);
    expect(c.pstate & 0x3c0).toBe(0x3c0); // D, A, I, F masked on entry
  });

  it("a corrected error's syndrome has AET = CE", () => {
    expect(serrorSyndrome({ pa: 0, corrected: true })).toBe((0b110 << 10) | 0x11);
  });
});

describe("x86_64: the machine check", () => {
  const loop = assemble("x86_64", ".text\n.globl _start\n_start: jmp _start\n").elf;

  it("with CR4.MCE clear (the bare entry state) a machine check shuts the processor down", () => {
    const pc = createX86Pc();
    bootBareX86(pc, loop);
    expect(pc.machine.run({ maxInsns: 10 }).reason).toBe("max-insns");
    pc.cpu.machineCheck();
    expect(pc.machine.run({ maxInsns: 20 }).reason).toBe("triple-fault");
  });
});

describe("x86_64: a machine check between SYSCALL and its entry point", () => {
  it("is delivered on the IST1 stack (not the user's), handled, and the system call then proceeds", () => {
    const out: number[] = [];
    const log: string[] = [];
    const source = readFileSync(new URL("../examples/campaign/fork-mmap-x86_64.S", import.meta.url), "utf8");
    const km = bootKernelX86({ program: assemble("x86_64", source).elf, args: ["fork-mmap"], seed: 0, console: (b) => out.push(b), log: (l) => log.push(l) });
    const c = km.cpu;
    const lstar = KERNEL_VA + 0x200n;
    let n = 0;
    while (!(c.cpl === 0 && c.rip === lstar) && n < 10_000) km.machine.run({ maxInsns: ++n });
    expect(c.rip).toBe(lstar); // SYSCALL retired; its entry has not run: CPL 0 on the user's RSP
    const userRsp = c.reg(4);
    expect(userRsp < 0x8000_0000_0000n).toBe(true);
    const traps: { vector: number; fromCpl: number }[] = [];
    c.onTrap = (e) => traps.push({ vector: e.vector, fromCpl: e.fromCpl });
    // What the #MC handler finds on entry: RSP at the frame on the kernel stack (the direct map), holding the interrupted RIP and RSP.
    const frames: bigint[][] = [];
    const trap = km.kernel.trap.bind(km.kernel);
    km.kernel.trap = () => {
      if (frames.length === 0) frames.push([c.reg(4), ...[0, 24].map((o) => km.machine.bus.read64(mcStackTop(0) - 40 + o)!)]);
      trap();
    };
    const frames0 = km.kernel.memory!.frames;
    const free = frames0.allocateFrame()!;
    frames0.freeFrame(free);
    expect(frames0.refCount(free)).toBe(0);
    km.reportMemoryError({ pa: free, corrected: false });
    const r = km.machine.run({ maxInsns: 1_000_000 });
    expect(traps[0]).toEqual({ vector: 18, fromCpl: 0 });
    expect(frames[0]).toEqual([X86_PHYSICAL_OFFSET + BigInt(mcStackTop(0)) - 40n, lstar, userRsp]);
    expect(log).toContain(`kernel: memory error at 0x${free.toString(16)} (uncorrected): free frame withdrawn`);
    expect([r.reason, r.exitCode, String.fromCharCode(...out)]).toEqual(["exit", 0, "ok\n"]);
  });
});

describe("x86_64: a machine check at the entry of another vector's handler", () => {
  // A #PF from CPL 3 was delivered (its frame, with error code, at the top of the kernel stack) and
  // its handler has not run when the #MC arrives: nothing masks #MC, so it is taken there, at CPL 0.
  // Regression: IST1 was the top of the same kernel stack, so the #MC frame overwrote the #PF's and
  // the #PF handler, run after the #MC returned, saw a kernel RIP: an oops (found by a 4-CPU campaign).
  const PF_ENTRY = KERNEL_VA + 0x400n + 16n * 14n;
  const source = readFileSync(new URL("../examples/campaign/fork-mmap-x86_64.S", import.meta.url), "utf8");

  /** Boots fork-mmap and runs it until the first #PF from CPL 3 has been delivered (its handler not yet run). */
  function atPageFaultEntry() {
    const out: number[] = [];
    const log: string[] = [];
    const km = bootKernelX86({ program: assemble("x86_64", source).elf, args: ["fork-mmap"], seed: 0, console: (b) => out.push(b), log: (l) => log.push(l) });
    const c = km.cpu;
    let pf: { rip: bigint; errorCode: number | undefined } | undefined;
    c.onTrap = (e) => {
      if (pf === undefined && e.vector === 14 && e.fromCpl === 3) {
        pf = { rip: e.rip, errorCode: e.errorCode };
        km.machine.requestExit(0, "the test, at the #PF entry");
      }
    };
    km.machine.run({ maxInsns: 1_000_000 });
    c.onTrap = undefined;
    expect([c.rip, c.cpl]).toEqual([PF_ENTRY, 0]);
    return { km, out, log, pf: pf! };
  }

  it("takes its frame on the #MC stack, below the pending #PF frame, which the #PF handler then finds intact", () => {
    const { km, out, log, pf } = atPageFaultEntry();
    const stack = STACK_TOP - 48; // error code, RIP, CS, RFLAGS, RSP, SS of the #PF
    const before = [0, 8, 16, 24, 32, 40].map((o) => km.machine.bus.read64(stack + o));
    expect(before.slice(0, 2)).toEqual([BigInt(pf.errorCode!), pf.rip]);
    const frames0 = km.kernel.memory!.frames;
    const free = frames0.allocateFrame()!;
    frames0.freeFrame(free);
    km.reportMemoryError({ pa: free, corrected: false });
    expect(km.cpu.reg(4)).toBe(X86_PHYSICAL_OFFSET + BigInt(mcStackTop(0)) - 40n);
    expect([0, 8, 16, 24, 32, 40].map((o) => km.machine.bus.read64(stack + o))).toEqual(before);
    const r = km.machine.run({ maxInsns: 1_000_000 });
    expect(log.filter((l) => l.startsWith("kernel oops"))).toEqual([]);
    expect(log).toContain(`kernel: memory error at 0x${free.toString(16)} (uncorrected): free frame withdrawn`);
    expect([r.reason, r.exitCode, String.fromCharCode(...out)]).toEqual(["exit", 0, "ok\n"]);
  });

  it("kills the faulting process when the error is in its memory; its pending #PF is dropped, not handled", () => {
    const { km, log } = atPageFaultEntry();
    const made = applyHwFault(x86InjectTarget(km), { kind: "bad-frame", target: "user" }, new SplitMix64(1));
    expect(made?.detail).toMatch(/by a machine check \(#MC\)$/);
    const r = km.machine.run({ maxInsns: 1_000_000 });
    expect(log.filter((l) => l.startsWith("kernel oops"))).toEqual([]);
    expect(log.some((l) => /^\[pid 1\] killed by signal 7: memory error at /.test(l))).toBe(true);
    expect(r.reason).toBe("exit");
  });

  it("from the idle loop's pending timer interrupt, returns to its entry: the timer's handler runs (its EOI, the wake-up)", () => {
    // Regression: the kernel resumed a process instead, so the timer's handler never ran: its vector
    // stayed in service (no EOI) and masked every later timer interrupt of that CPU.
    const smp = assemble("x86_64", readFileSync(new URL("../examples/campaign/smp-x86_64.S", import.meta.url), "utf8")).elf;
    const boot = (out: number[], log: string[]) => bootKernelX86({ program: smp, args: ["smp"], seed: 0, console: (b) => out.push(b), log: (l) => log.push(l) });
    // A first run finds the instruction count at which the idle loop's HLT waits for the timer.
    const probe = boot([], []);
    let idleAt: number | undefined;
    probe.cpu.onTrap = (e) => { if (idleAt === undefined && e.vector === TIMER_VECTOR && e.fromCpl === 0) idleAt = probe.cpu.icount; };
    probe.machine.run({ maxInsns: 10_000_000 });
    // The same run again, stopped at that HLT; the timer is delivered as the machine would deliver it.
    const out: number[] = [];
    const log: string[] = [];
    const km = boot(out, log);
    const c = km.cpu;
    km.machine.run({ maxInsns: idleAt! });
    expect([c.halted, km.kernel.cpus.current.idling]).toEqual([true, true]);
    km.machine.skipped += km.machine.lapic.nextDeadline();
    expect(c.checkInterrupts()).toBe(true);
    expect(c.rip).toBe(KERNEL_VA + 0x400n + 16n * BigInt(TIMER_VECTOR));
    const frames0 = km.kernel.memory!.frames;
    const free = frames0.allocateFrame()!;
    frames0.freeFrame(free);
    km.reportMemoryError({ pa: free, corrected: false });
    const r = km.machine.run({ maxInsns: 10_000_000 });
    expect(log.filter((l) => l.startsWith("kernel oops"))).toEqual([]);
    expect([...km.machine.lapic.isr].every((w) => w === 0)).toBe(true);
    expect([r.reason, r.exitCode, String.fromCharCode(...out)]).toEqual(["exit", 0, "ok\n"]);
  });

  it("two errors reported before the first #MC is handled raise one #MC, whose handler takes both records", () => {
    // Regression (a host crash in a 4-CPU campaign with two bad-frame faults): the second #MC was
    // taken at the first one's entry, its IST frame over the first's, and the handler's return to
    // the interrupted code came back to its own entry.
    const log: string[] = [];
    const out: number[] = [];
    const km = bootKernelX86({ program: assemble("x86_64", source).elf, args: ["fork-mmap"], seed: 0, console: (b) => out.push(b), log: (l) => log.push(l) });
    expect(km.machine.run({ maxInsns: 100 }).reason).toBe("max-insns");
    const mcs: number[] = [];
    km.cpu.onTrap = (e) => { if (e.vector === 18) mcs.push(e.vector); };
    const frames0 = km.kernel.memory!.frames;
    const [a, b] = [frames0.allocateFrame()!, frames0.allocateFrame()!];
    frames0.freeFrame(a);
    frames0.freeFrame(b);
    km.reportMemoryError({ pa: a, corrected: false });
    km.reportMemoryError({ pa: b, corrected: true });
    const r = km.machine.run({ maxInsns: 1_000_000 });
    expect(mcs).toHaveLength(1);
    expect(log).toContain(`kernel: memory error at 0x${a.toString(16)} (uncorrected): free frame withdrawn`);
    expect(log.filter((l) => l.startsWith(`kernel: memory error at 0x${b.toString(16)} (corrected)`))).toHaveLength(1);
    expect([r.reason, r.exitCode, String.fromCharCode(...out)]).toEqual(["exit", 0, "ok\n"]);
  });
});
