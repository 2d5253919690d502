/**
 * The kernel's x86_64 layer against a fake processor: SYSCALL and IDT entries decoded into the
 * neutral trap kinds (#PF: CR2 and the error code's P, W/R, U/S, RSVD, I/D), the user frame and the
 * Linux x86_64 syscall ABI, CR3 with PCIDs, the APIC timer and the console.
 * @spec Intel SDM Vol. 3A §4.7 (#PF error code), §6.14.2 (64-bit interrupt stack frame); Vol. 2B
 *       SYSCALL ("RCX ← RIP of the next instruction; R11 ← RFLAGS"); Linux syscall_64.tbl ABI
 */
import { describe, expect, it } from "vitest";
import { GPR, PF_ERR, type X86Cpu, type X86Entry } from "../kernel/arch/x86_64/cpu.js";
import { COM1, EXIT_PORT, TIMER_VECTOR, x86KernelArch } from "../kernel/arch/x86_64/kernel-arch.js";
import { IA32_TSC_AUX, IPI_VECTOR } from "../kernel/arch/x86_64/smp.js";
import { FakeHal } from "./support/fake-hal.js";

class FakeCpu implements X86Cpu {
  readonly r = new Array<bigint>(16).fill(0n);
  cr2 = 0n;
  cr3 = 0x1000n;
  current: X86Entry = { kind: "syscall" };
  readonly log: string[] = [];
  constructor(private readonly hal: FakeHal) {}
  reg(i: number): bigint { return this.r[i]!; }
  setReg(i: number, v: bigint): void { this.r[i] = v; }
  entry(): X86Entry { return this.current; }
  readCr(n: 2 | 3 | 4): bigint { return n === 2 ? this.cr2 : n === 3 ? this.cr3 : 0n; }
  writeCr3(v: bigint): void {
    this.cr3 = v & ~(1n << 63n);
    this.log.push(`mov cr3, 0x${v.toString(16)}`);
  }
  readonly msrs = new Map<number, bigint>();
  rdmsr(n: number): bigint { return this.msrs.get(n) ?? 0n; }
  wrmsr(n: number, v: bigint): void { this.msrs.set(n, v); }
  storeRegisters(pa: number): void { this.r.forEach((v, i) => this.hal.write64(pa + 8 * i, v)); }
  loadRegisters(pa: number): void { for (let i = 0; i < 16; i++) this.r[i] = this.hal.read64(pa + 8 * i); }
  iretToUser(rip: bigint, rflags: bigint, rsp: bigint): void { this.log.push(`iretq rip=0x${rip.toString(16)} rflags=0x${rflags.toString(16)} rsp=0x${rsp.toString(16)}`); }
  iretToKernel(rip: bigint): void { this.log.push(`iretq kernel 0x${rip.toString(16)}`); }
  iretToInterrupted(): void { this.log.push("iretq interrupted"); }
  invlpg(): void {}
  invpcid(): void {}
  outb(port: number, v: number): void { this.log.push(`out 0x${port.toString(16)}, 0x${v.toString(16)}`); }
  translate(va: bigint): number | undefined { return Number(va); }
  apicTimer(ticks: number | undefined, vector: number): void { this.log.push(`apic ${ticks} ${vector}`); }
  rdtsc(): bigint { return 42n; }
  lapicRead(reg: number): number { return reg === 0x20 ? 3 << 24 : 0; }
  lapicWrite(reg: number, v: number): void { this.log.push(`apic[0x${reg.toString(16)}] = 0x${(v >>> 0).toString(16)}`); }
  /** The firmware's look at the mailbox during a PAUSE (set by a test). */
  onRelax: () => void = () => {};
  relax(): void {
    this.log.push("pause");
    this.onRelax();
  }
}

function setup() {
  const hal = new FakeHal();
  const cpu = new FakeCpu(hal);
  return { hal, cpu, arch: x86KernelArch(cpu, hal) };
}

type VectorEntry = Extract<X86Entry, { kind: "vector" }>;
const pf = (errorCode: number, cs = 0x23): VectorEntry => ({ kind: "vector", vector: 14, errorCode, rip: 0x40_1000n, cs, rflags: 0x202n, rsp: 0x3f_ffff_e000n, ss: 0x1b });

describe("entries", () => {
  it("SYSCALL: a system call from user mode; RCX is already past the instruction", () => {
    const { cpu, arch } = setup();
    cpu.r[GPR.RCX] = 0x40_1006n;
    expect(arch.trapInfo()).toMatchObject({ kind: "syscall", fromUser: true, pc: 0x40_1004n });
  });

  it.each([
    ["user read of a not-present page", PF_ERR.U, { kind: "page-fault", access: "read", fromUser: true }],
    ["user write to a read-only page", PF_ERR.P | PF_ERR.W | PF_ERR.U, { kind: "page-fault", access: "write" }],
    ["user fetch from an XD page", PF_ERR.P | PF_ERR.U | PF_ERR.ID, { kind: "page-fault", access: "execute" }],
    ["a reserved bit in an entry", PF_ERR.P | PF_ERR.U | PF_ERR.RSVD, { kind: "exception", cause: 14 }],
  ] as const)("#PF: %s", (_, ec, want) => {
    const { cpu, arch } = setup();
    cpu.current = pf(ec);
    cpu.cr2 = 0x40_2008n;
    const info = arch.trapInfo();
    expect(info).toMatchObject(want);
    expect(info.faultAddr).toBe(0x40_2008n);
    expect(arch.userPageFault!() === undefined).toBe((ec & PF_ERR.RSVD) !== 0);
  });

  it("a #PF taken at CPL 0 (CS RPL 0) is not from user mode; the APIC timer vector is the timer; #GP is an exception", () => {
    const { cpu, arch } = setup();
    cpu.current = pf(PF_ERR.P | PF_ERR.W, 0x08);
    expect(arch.trapInfo()).toMatchObject({ kind: "page-fault", fromUser: false });
    expect(arch.userPageFault!()).toBeUndefined();
    cpu.current = { ...pf(0), vector: TIMER_VECTOR };
    expect(arch.trapInfo()).toMatchObject({ kind: "timer", fromUser: true });
    cpu.current = { ...pf(0), vector: 13 };
    expect(arch.trapInfo()).toMatchObject({ kind: "exception", cause: 13, name: "general protection (#GP)" });
  });
});

describe("frames and the system-call ABI", () => {
  it("RAX = number; RDI, RSI, RDX, R10, R8, R9 = arguments; RAX = result; SYSCALL's RCX/R11 become RIP/RFLAGS", () => {
    const { cpu, arch } = setup();
    const frame = 0x8010_0000;
    [GPR.RDI, GPR.RSI, GPR.RDX, GPR.R10, GPR.R8, GPR.R9].forEach((r, i) => { cpu.r[r] = BigInt(i + 1); });
    cpu.r[GPR.RAX] = 60n;
    cpu.r[GPR.RCX] = 0x40_1006n;
    cpu.r[GPR.R11] = 0x246n;
    arch.saveUserContext(frame);
    expect(arch.syscallNumber(frame)).toBe(60);
    expect([0, 1, 2, 3, 4, 5].map((i) => arch.syscallArg(frame, i))).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
    arch.setSyscallReturn(frame, -38n);
    arch.returnToUser(frame);
    expect(cpu.r[GPR.RAX]).toBe(0xffff_ffff_ffff_ffdan);
    expect(cpu.log.at(-1)).toBe("iretq rip=0x401006 rflags=0x246 rsp=0x0");
  });

  it("an interrupted user context comes back from the pushed frame (RIP, RFLAGS, RSP), with IF forced on", () => {
    const { cpu, arch } = setup();
    const frame = 0x8010_0000;
    cpu.current = { ...pf(0), rflags: 0x2n };
    arch.saveUserContext(frame);
    arch.returnToUser(frame);
    expect(cpu.log.at(-1)).toBe("iretq rip=0x401000 rflags=0x202 rsp=0x3fffffe000");
  });

  it("a fresh frame starts at the entry with IF set and the given stack", () => {
    const { cpu, arch } = setup();
    arch.initUserFrame(0x8010_0000, 0x40_0000n, 0x3f_ffff_f000n);
    arch.returnToUser(0x8010_0000);
    expect(cpu.log.at(-1)).toBe("iretq rip=0x400000 rflags=0x202 rsp=0x3ffffff000");
  });
});

describe("address spaces, time, console, power", () => {
  it("CR3 is written once per change, with bit 63 set (keep the PCID's entries)", () => {
    const { cpu, arch } = setup();
    arch.switchAddressSpace(0x20_0005n);
    arch.switchAddressSpace(0x20_0005n);
    expect(cpu.log).toEqual(["mov cr3, 0x8000000000200005"]);
    expect(arch.asidBits()).toBe(12);
  });

  it("the APIC timer on vector 32; console bytes to COM1; power-off writes the status to the exit port", () => {
    const { cpu, arch } = setup();
    arch.armTimer(1000);
    arch.armTimer(undefined);
    arch.consoleWrite(new TextEncoder().encode("ok"));
    arch.powerOff(3);
    expect(cpu.log).toEqual(["apic 1000 32", "apic undefined 32", `out 0x${COM1.toString(16)}, 0x6f`, `out 0x${COM1.toString(16)}, 0x6b`, `out 0x${EXIT_PORT.toString(16)}, 0x3`]);
  });
});

describe("several CPUs (kernel/arch/x86_64/smp.ts)", () => {
  const MAILBOX = 0x8012_1000;
  const smpSetup = () => {
    const hal = new FakeHal();
    const cpu = new FakeCpu(hal);
    return { hal, cpu, arch: x86KernelArch(cpu, hal, undefined, undefined, MAILBOX) };
  };

  it("the IPI vector 0xFC is the neutral kind \"ipi\", from the CPL the frame's CS names", () => {
    const { cpu, arch } = smpSetup();
    cpu.current = { kind: "vector", vector: IPI_VECTOR, errorCode: 0, rip: 0xffff_ffff_8000_0102n, cs: 0x08, rflags: 0x202n, rsp: 0n, ss: 0 };
    expect(arch.trapInfo()).toMatchObject({ kind: "ipi", fromUser: false, cause: 0xfc });
  });

  it("the CPU index is IA32_TSC_AUX (as Linux's RDTSCP/RDPID getcpu)", () => {
    const { cpu, arch } = smpSetup();
    arch.smp!.setCpuIndex(5);
    expect(cpu.msrs.get(IA32_TSC_AUX)).toBe(5n);
    expect(arch.smp!.cpuIndex()).toBe(5);
  });

  it("an IPI is a fixed, physical, asserted ICR write per target (ICR high first: the low write sends); its acknowledgement is EOI; enabling sets SVR", () => {
    const { cpu, arch } = smpSetup();
    const smp = arch.smp!;
    smp.sendIpi([1, 3]);
    smp.ackIpi();
    smp.enableIpi();
    expect(cpu.log).toEqual([
      "apic[0x310] = 0x1000000", "apic[0x300] = 0x40fc", "apic[0x310] = 0x3000000", "apic[0x300] = 0x40fc",
      "apic[0xb0] = 0x0", "apic[0xf0] = 0x1ff",
    ]);
    expect(smp.remoteTlb.kind).toBe("ipi");
  });

  it("startCpu writes the argument, WakeupVector and ApicId, then Command = 1, and waits (PAUSE) for the AP to clear Command", () => {
    const { hal, cpu, arch } = smpSetup();
    let pauses = 0;
    cpu.onRelax = () => { if (++pauses === 2) hal.write32(MAILBOX, 0); };
    expect(arch.smp!.startCpu(2, 0x30_0300, 7)).toBe(true);
    expect([hal.read32(MAILBOX + 4), hal.read64(MAILBOX + 8), hal.read64(MAILBOX + 16 + 8 * 2), pauses]).toEqual([2, 0x30_0300n, 7n, 2]);
    // An AP that never acknowledges: refused after a bounded wait, the command left in place (ACPI has no cancel).
    cpu.onRelax = () => {};
    expect(arch.smp!.startCpu(1, 0x30_0300, 1)).toBe(false);
    expect(hal.read32(MAILBOX) & 0xffff).toBe(1);
  });

  it("CR3 is compared with the executing CPU's own register, not a copy: another CPU's switch does not hide this one's", () => {
    const { cpu, arch } = smpSetup();
    arch.switchAddressSpace(0x20_0005n);
    cpu.cr3 = 0x1000n; // as if this CPU had switched elsewhere meanwhile
    arch.switchAddressSpace(0x20_0005n);
    expect(cpu.log).toEqual(["mov cr3, 0x8000000000200005", "mov cr3, 0x8000000000200005"]);
  });
});
