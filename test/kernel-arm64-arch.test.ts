/**
 * The kernel's AArch64 layer against a fake PE: ESR_EL1/FAR_EL1 decoding into the neutral trap
 * kinds, the user frame and the Linux arm64 syscall ABI, TTBR0 switching, the generic timer and
 * power-off through the firmware. (The end-to-end run on the emulated core comes with the arm64
 * kernel boot.)
 * @spec Arm ARM D19.2 ESR_EL1 (EC 31:26, ISS WnR bit 6, DFSC/IFSC 5:0), FAR_EL1, ELR_EL1 ("the
 *       preferred return address for SVC is the next instruction"); ARCH-SPEC §3.7
 */
import { describe, expect, it } from "vitest";
import { EC, SPSR, type Arm64Cpu, type Arm64SysReg } from "../kernel/arch/arm64/cpu.js";
import { arm64KernelArch, MULTIOS_EXIT, PSCI_SYSTEM_OFF } from "../kernel/arch/arm64/kernel-arch.js";
import { FakeHal } from "./support/fake-hal.js";

class FakeCpu implements Arm64Cpu {
  readonly x = new Array<bigint>(31).fill(0n);
  readonly sys = new Map<Arm64SysReg, bigint>([["CNTFRQ_EL0", 62_500_000n], ["CNTVCT_EL0", 1000n]]);
  readonly log: string[] = [];
  constructor(private readonly hal: FakeHal) {}
  reg(i: number): bigint { return this.x[i]!; }
  setReg(i: number, v: bigint): void { this.x[i] = v; }
  sysReg(n: Arm64SysReg): bigint { return this.sys.get(n) ?? 0n; }
  setSysReg(n: Arm64SysReg, v: bigint): void { this.sys.set(n, v); this.log.push(`msr ${n}, 0x${v.toString(16)}`); }
  storeRegisters(pa: number): void { this.x.forEach((v, i) => this.hal.write64(pa + 8 * i, v)); }
  loadRegisters(pa: number): void { for (let i = 0; i <= 30; i++) this.x[i] = this.hal.read64(pa + 8 * i); }
  eret(): void { this.log.push("eret"); }
  tlbi(op: string, xt: bigint): void { this.log.push(`tlbi ${op}, 0x${xt.toString(16)}`); }
  isb(): void { this.log.push("isb"); }
  translate(va: bigint): number | undefined { return va < 0x1000n ? undefined : Number(va & 0xfffn) + 0x8000_1000; }
  hvc(args: readonly bigint[]): bigint { this.log.push(`hvc ${args.map((a) => "0x" + a.toString(16)).join(" ")}`); return 0n; }
}

function setup(kind: "sync" | "irq" = "sync") {
  const hal = new FakeHal();
  const cpu = new FakeCpu(hal);
  let trap = kind;
  const out: string[] = [];
  const arch = arm64KernelArch(cpu, hal, (b) => out.push(new TextDecoder().decode(b)), () => trap);
  return { hal, cpu, arch, out, setKind: (k: "sync" | "irq") => { trap = k; } };
}

/** ESR_EL1 = EC << 26 | IL | ISS. */
const esr = (ec: number, iss = 0): bigint => (BigInt(ec) << 26n) | (1n << 25n) | BigInt(iss);

describe("trap decoding (ESR_EL1, FAR_EL1, SPSR_EL1)", () => {
  it("SVC from EL0 is a system call; ELR already points past it, so advancing is a no-op", () => {
    const { cpu, arch, hal } = setup();
    cpu.sys.set("ESR_EL1", esr(EC.SVC64)).set("SPSR_EL1", SPSR.EL0T).set("ELR_EL1", 0x40_1004n);
    expect(arch.trapInfo()).toMatchObject({ kind: "syscall", fromUser: true, pc: 0x40_1004n, cause: 0x15 });
    const frame = 0x8010_0000;
    arch.saveUserContext(frame);
    arch.advancePastSyscall(frame);
    expect(hal.read64(frame)).toBe(0x40_1004n);
  });

  it.each([
    ["data abort from EL0, translation fault level 3, WnR=1", esr(EC.DATA_ABORT_LOWER, 0x40 | 0x07), { kind: "page-fault", access: "write", fromUser: true }],
    ["data abort from EL0, permission fault level 2, WnR=0", esr(EC.DATA_ABORT_LOWER, 0x0e), { kind: "page-fault", access: "read", fromUser: true }],
    ["data abort from EL0, access flag fault", esr(EC.DATA_ABORT_LOWER, 0x0b), { kind: "page-fault", access: "read" }],
    ["instruction abort from EL0, permission fault", esr(EC.INSN_ABORT_LOWER, 0x0f), { kind: "page-fault", access: "execute" }],
    ["data abort from EL0, alignment fault (0x21)", esr(EC.DATA_ABORT_LOWER, 0x21), { kind: "exception", access: "read" }],
    ["data abort from EL0, external abort (0x10)", esr(EC.DATA_ABORT_LOWER, 0x10), { kind: "exception" }],
    ["undefined instruction (EC 0)", esr(EC.UNKNOWN), { kind: "exception", faultAddr: 0n, name: "undefined instruction", illegal: true }],
  ] as const)("%s", (_, value, want) => {
    const { cpu, arch } = setup();
    cpu.sys.set("ESR_EL1", value).set("SPSR_EL1", SPSR.EL0T).set("FAR_EL1", 0x40_2008n);
    const info = arch.trapInfo();
    expect(info).toMatchObject(want);
    if (info.kind === "page-fault") expect(info.faultAddr).toBe(0x40_2008n);
  });

  it("an abort taken from EL1 (SPSR.M = EL1h) is not from user mode", () => {
    const { cpu, arch } = setup();
    cpu.sys.set("ESR_EL1", esr(EC.DATA_ABORT_SAME, 0x07)).set("SPSR_EL1", SPSR.EL1H).set("FAR_EL1", 0x10n);
    expect(arch.trapInfo()).toMatchObject({ kind: "page-fault", fromUser: false, faultAddr: 0x10n });
    expect(arch.userPageFault!()).toBeUndefined();
  });

  it("the IRQ vector is the timer; the fast fault decoder ignores it", () => {
    const { cpu, arch } = setup("irq");
    cpu.sys.set("SPSR_EL1", SPSR.EL0T).set("ESR_EL1", esr(EC.DATA_ABORT_LOWER, 0x07));
    expect(arch.trapInfo()).toMatchObject({ kind: "timer", fromUser: true });
    expect(arch.userPageFault!()).toBeUndefined();
  });

  it("userPageFault gives FAR and the access of an EL0 abort", () => {
    const { cpu, arch } = setup();
    cpu.sys.set("ESR_EL1", esr(EC.DATA_ABORT_LOWER, 0x40 | 0x06)).set("FAR_EL1", 0x3f_ffff_f008n);
    expect(arch.userPageFault!()).toEqual({ va: 0x3f_ffff_f008, access: "write" });
  });
});

describe("user frame and system-call ABI", () => {
  it("x8 is the number, x0..x5 the arguments, x0 the result; returnToUser restores x0..x30, SP_EL0, ELR and EL0t, then ERETs", () => {
    const { cpu, arch, hal } = setup();
    const frame = 0x8010_0000;
    arch.initUserFrame(frame, 0x40_0000n, 0x3f_ffff_f000n);
    cpu.x.fill(0n);
    arch.returnToUser(frame);
    expect(cpu.log.slice(-4)).toEqual(["msr SP_EL0, 0x3ffffff000", "msr ELR_EL1, 0x400000", "msr SPSR_EL1, 0x0", "eret"]);
    cpu.x[8] = 64n; cpu.x[0] = 1n; cpu.x[1] = 0x40_3000n; cpu.x[2] = 5n;
    cpu.sys.set("ELR_EL1", 0x40_0010n).set("SPSR_EL1", SPSR.EL0T).set("SP_EL0", 0x3f_ffff_e000n);
    arch.saveUserContext(frame);
    expect([arch.syscallNumber(frame), arch.syscallArg(frame, 0), arch.syscallArg(frame, 1), arch.syscallArg(frame, 2)]).toEqual([64, 1n, 0x40_3000n, 5n]);
    arch.setSyscallReturn(frame, -14n);
    arch.returnToUser(frame);
    expect(cpu.x[0]).toBe(0xffff_ffff_ffff_fff2n);
    expect(cpu.sys.get("SP_EL0")).toBe(0x3f_ffff_e000n);
    expect(hal.read64(frame + 8 * 1)).toBe(0n);
  });
});

describe("address spaces, time and the firmware", () => {
  it("switching writes TTBR0_EL1 (ASID in 63:48) and an ISB, once per change", () => {
    const { cpu, arch } = setup();
    arch.switchAddressSpace(0x0005_0000_8020_0000n);
    arch.switchAddressSpace(0x0005_0000_8020_0000n);
    expect(cpu.log).toEqual(["msr TTBR0_EL1, 0x5000080200000", "isb"]);
  });

  it("ASID width: 16 bits when ID_AA64MMFR0_EL1.ASIDBits = 0b0010 and TCR_EL1.AS = 1, else 8", () => {
    const { cpu, arch } = setup();
    expect(arch.asidBits()).toBe(8);
    cpu.sys.set("ID_AA64MMFR0_EL1", 0x20n);
    expect(arch.asidBits()).toBe(8);
    cpu.sys.set("TCR_EL1", 1n << 36n);
    expect(arch.asidBits()).toBe(16);
  });

  it("the timer: CNTV_CVAL = CNTVCT + ticks and CNTV_CTL.ENABLE; cancel clears CNTV_CTL; EL0 may read CNTVCT", () => {
    const { cpu, arch } = setup();
    expect(arch.timebaseHz).toBe(62_500_000);
    arch.armTimer(500);
    expect([cpu.sys.get("CNTV_CVAL_EL0"), cpu.sys.get("CNTV_CTL_EL0")]).toEqual([1500n, 1n]);
    arch.armTimer(undefined);
    expect(cpu.sys.get("CNTV_CTL_EL0")).toBe(0n);
    arch.allowUserTimeRead();
    expect(cpu.sys.get("CNTKCTL_EL1")).toBe(2n);
  });

  it("power-off: PSCI SYSTEM_OFF for status 0, MultiOS's vendor call with the status otherwise; the idle loop runs at EL1h", () => {
    const { cpu, arch } = setup();
    arch.powerOff(0);
    arch.powerOff(139);
    expect(cpu.log).toEqual([`hvc 0x${PSCI_SYSTEM_OFF.toString(16)}`, `hvc 0x${MULTIOS_EXIT.toString(16)} 0x8b`]);
    arch.idle(0xffff_ffff_8000_0300n);
    expect(cpu.sys.get("SPSR_EL1")).toBe(SPSR.EL1H);
    expect(cpu.log.at(-1)).toBe("eret");
  });
});
