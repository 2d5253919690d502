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
import { bootKernelX86, KERNEL_VA, STACK_TOP } from "../boot/x86_64/kernel-boot.js";
import { X86_PHYSICAL_OFFSET } from "../kernel/arch/x86_64/kernel-arch.js";
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
      if (frames.length === 0) frames.push([c.reg(4), ...[0, 24].map((o) => km.machine.bus.read64(STACK_TOP - 40 + o)!)]);
      trap();
    };
    const frames0 = km.kernel.memory!.frames;
    const free = frames0.allocateFrame()!;
    frames0.freeFrame(free);
    expect(frames0.refCount(free)).toBe(0);
    km.reportMemoryError({ pa: free, corrected: false });
    const r = km.machine.run({ maxInsns: 1_000_000 });
    expect(traps[0]).toEqual({ vector: 18, fromCpl: 0 });
    expect(frames[0]).toEqual([X86_PHYSICAL_OFFSET + BigInt(STACK_TOP) - 40n, lstar, userRsp]);
    expect(log).toContain(`kernel: memory error at 0x${free.toString(16)} (uncorrected): free frame withdrawn`);
    expect([r.reason, r.exitCode, String.fromCharCode(...out)]).toEqual(["exit", 0, "ok\n"]);
  });
});
