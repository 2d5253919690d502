/**
 * The TypeScript kernel booted on the emulated AArch64 machine (boot/arm64/kernel-boot.ts): static
 * Linux-ABI programs (SVC #0, x8 = the generic syscall number) run as the first process at EL0
 * under the kernel's TTBR0_EL1 tables, with the kernel in TTBR1_EL1; the run's exit status is the
 * program's (PSCI SYSTEM_OFF for 0, MULTIOS_EXIT otherwise), 128 + signal when it is killed.
 * @spec Arm ARM D1.10 "Exception entry" (lower-EL AArch64 vectors at VBAR_EL1 + 0x400/+0x480,
 *       current-EL SPx at +0x200/+0x280); Linux arch/arm64 syscall ABI
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MULTIOS_EXIT, PSCI_NOT_SUPPORTED } from "../boot/arm64/psci.js";
import { createArm64Virt } from "../boot/arm64/virt.js";
import { bootKernelArm64, type KernelBootOptions, type KernelMachine } from "../boot/arm64/kernel-boot.js";
import type { FaultStats } from "../kernel/mm/process-memory.js";
import { SYS } from "../kernel/proc/syscalls.js";
import { readSysreg, REG } from "../emulator/arch/arm64/sysregs.js";
import { MAIR_VALUE } from "../kernel/arch/arm64/descriptors.js";
import { assembleArm64 } from "../tools/asm/arm64/index.js";
import { AS, haveGnu, LD } from "./fixtures/arm64/support.js";

/** User programs are linked where GNU ld puts a static program: 0x40_0000. */
const USER_BASE = 0x40_0000n;
/** ESR_EL1.EC of SVC from AArch64. */
const EC_SVC64 = 0x15;

interface Run {
  exitCode: number;
  reason: string;
  stdout: string;
  log: string[];
  /** The caller's fault statistics at each getpid. */
  checkpoints: FaultStats[];
  /** TTBR0_EL1 at each getpid. */
  ttbr0: bigint[];
  /** The exception level each IRQ was taken from ("EL0", "EL1"). */
  irqs: string[];
  km: KernelMachine;
}

function run(program: string | Uint8Array, args: string[] = ["prog"], maxInsns = 5_000_000, machine: Omit<KernelBootOptions, "program" | "args"> = {}, before?: (km: KernelMachine) => void): Run {
  const elf = typeof program === "string" ? assembleArm64(program, { base: USER_BASE, fileName: "prog.S" }).elf : program;
  let stdout = "";
  const log: string[] = [];
  const km = bootKernelArm64({ ...machine, program: elf, args, log: (l) => log.push(l), console: (b) => { stdout += String.fromCharCode(b); } });
  const checkpoints: FaultStats[] = [];
  const ttbr0: bigint[] = [];
  const irqs: string[] = [];
  km.machine.setTrace((e) => {
    if (e.type === "trap" && e.interrupt) irqs.push(e.from);
    if (e.type !== "trap" || e.from !== "EL0" || e.interrupt || e.cause !== EC_SVC64) return;
    if (km.cpu.x(8) !== BigInt(SYS.getpid)) return;
    checkpoints.push({ ...km.kernel.procs.current!.mm.stats });
    ttbr0.push(readSysreg(km.cpu, REG.TTBR0_EL1)!);
  });
  before?.(km);
  const r = km.machine.run({ maxInsns });
  return { exitCode: r.exitCode, reason: r.reason, stdout, log, checkpoints, ttbr0, irqs, km };
}

/** write(1, msg, len) from a label and a length. */
const write = (label: string, len: number): string => `
    mov     x0, #1
    adr     x1, ${label}
    mov     x2, #${len}
    mov     x8, #64
    svc     #0`;
const exit = (code: number | string): string => `
    mov     x0, ${typeof code === "number" ? `#${code}` : code}
    mov     x8, #93
    svc     #0`;

/** fork, the child writes and exits 7, the parent waits and exits with the child's status. */
const FORK_WAIT = `
    .globl _start
_start:
    mov     x0, #17         // SIGCHLD
    mov     x1, #0
    mov     x2, #0
    mov     x3, #0
    mov     x4, #0
    mov     x8, #220        // clone
    svc     #0
    cbnz    x0, parent
    ${write("child", 6)}
    ${exit(7)}
parent:
    sub     sp, sp, #16
    mov     x0, #-1
    mov     x1, sp
    mov     x2, #0
    mov     x3, #0
    mov     x8, #260        // wait4
    svc     #0
    ${write("par", 7)}
    ldr     w0, [sp]
    ubfx    x0, x0, #8, #8  // WEXITSTATUS
    mov     x8, #93
    svc     #0
child: .ascii "child\\n"
par: .ascii "parent\\n"
`;

describe("the kernel on arm64-virt runs a user program at EL0", () => {
  it("write then exit(0): the bytes reach the PL011, and SYSTEM_OFF ends the run with status 0", () => {
    const r = run(`
    .globl _start
_start: ${write("msg", 13)} ${exit(0)}
msg: .ascii "hello, arm64\\n"
`);
    expect(r.stdout).toBe("hello, arm64\n");
    expect(r.reason).toBe("pass");
    expect(r.exitCode).toBe(0);
    expect(r.km.kernel.initExit).toBe(0);
  });

  it("exit(3): the kernel powers off through MULTIOS_EXIT and the run's status is 3", () => {
    const r = run(`
    .globl _start
_start: ${exit(3)}
`);
    expect(r.exitCode).toBe(3);
    expect(r.km.kernel.initExit).toBe(3);
  });

  it("the kernel runs with the MMU on: its space in TTBR1_EL1, the process's in TTBR0_EL1 with an ASID, VBAR_EL1 in the kernel image", () => {
    const r = run(`
    .globl _start
_start:
    mov     x8, #172        // getpid
    svc     #0
    ${exit(0)}
`);
    const c = r.km.cpu;
    const sysreg = (n: "SCTLR_EL1" | "TCR_EL1" | "TTBR1_EL1" | "TTBR0_EL1" | "VBAR_EL1"): bigint => readSysreg(c, REG[n])!;
    expect(sysreg("SCTLR_EL1") & 0x1005n).toBe(0x1005n); // M, C, I
    const tcr = sysreg("TCR_EL1");
    const field = (lsb: bigint, bits: bigint): bigint => (tcr >> lsb) & ((1n << bits) - 1n);
    expect([field(0n, 6n), field(16n, 6n), field(14n, 2n), field(30n, 2n), field(32n, 3n), field(36n, 1n), field(22n, 1n)])
      .toEqual([16n, 16n, 0n, 2n, 5n, 1n, 0n]); // T0SZ, T1SZ, TG0 = 4K, TG1 = 4K, IPS = 48 bits, AS, A1
    expect(readSysreg(c, REG.MAIR_EL1)).toBe(MAIR_VALUE);
    expect(sysreg("TCR_EL1") & (1n << 7n)).toBe(0n); // EPD0 cleared by the first user switch
    expect(sysreg("TTBR1_EL1") & 0xffff_ffff_f000n).toBe(r.km.kernel.memory!.space.rootPa);
    expect(r.ttbr0).toHaveLength(1);
    expect(r.ttbr0[0]! >> 48n).not.toBe(0n); // a non-zero ASID
    expect(r.ttbr0[0]! & 0xffff_ffff_f000n).not.toBe(sysreg("TTBR1_EL1") & 0xffff_ffff_f000n);
    expect(sysreg("VBAR_EL1")).toBe(0xffff_ffff_8000_0800n);
  });

  it("touching N pages of an anonymous mmap takes exactly N demand-zero faults", () => {
    const n = 5;
    const r = run(`
    .globl _start
_start:
    mov     x0, #0
    mov     x1, #${n * 4096}
    mov     x2, #3          // PROT_READ | PROT_WRITE
    mov     x3, #0x22       // MAP_PRIVATE | MAP_ANONYMOUS
    mov     x4, #-1
    mov     x5, #0
    mov     x8, #222        // mmap
    svc     #0
    mov     x19, x0
    mov     x8, #172        // getpid: checkpoint
    svc     #0
    mov     x20, #0
1:  mov     x1, #0x5a
    strb    w1, [x19, x20]
    add     x20, x20, #4096
    cmp     x20, #${n * 4096}
    b.lo    1b
    mov     x8, #172
    svc     #0
    add     x19, x19, #${(n - 1) * 4096}
    ldrb    w0, [x19]
    cmp     w0, #0x5a
    cset    x0, ne
    mov     x8, #93
    svc     #0
`);
    expect(r.exitCode).toBe(0);
    expect(r.checkpoints).toHaveLength(2);
    expect(r.checkpoints[1]!.demandZero - r.checkpoints[0]!.demandZero).toBe(n);
  });

  it("fork + wait4: the child runs, exits 7, and the parent reads 7 from the status word", () => {
    const r = run(FORK_WAIT);
    expect(r.stdout).toBe("child\nparent\n");
    expect(r.exitCode).toBe(7);
  });

  it("nanosleep: the kernel idles in `wfi; b .-4` and the timer IRQ (current-EL vector) wakes the process", () => {
    const r = run(`
    .globl _start
_start:
    adr     x0, ts
    mov     x1, #0
    mov     x8, #101        // nanosleep
    svc     #0
    ${write("done", 5)}
    ${exit(0)}
    .balign 8
ts: .quad 0, 1000000        // 1 ms
done: .ascii "done\\n"
`);
    expect(r.stdout).toBe("done\n");
    expect(r.exitCode).toBe(0);
    expect(r.irqs).toContain("EL1");
  });

  it("a load from an unmapped address kills the process with SIGSEGV: status 139", () => {
    const r = run(`
    .globl _start
_start:
    mov     x1, #0x10
    ldr     x0, [x1]
    ${exit(0)}
`);
    expect(r.exitCode).toBe(139);
    expect(r.log.join("\n")).toMatch(/SIGSEGV|segfault|signal 11/i);
  });
});

/** Parent (P) and child (C) each write their letter `count` times, spinning `delay` iterations between; the parent waits. */
const SPIN = (count: number, delay: number): string => `
    .globl _start
_start:
    mov     x0, #17         // SIGCHLD
    mov     x1, #0
    mov     x2, #0
    mov     x3, #0
    mov     x4, #0
    mov     x8, #220        // clone
    svc     #0
    mov     x19, x0         // 0 in the child
    adr     x20, letters
    cbz     x19, 1f
    add     x20, x20, #1
1:  mov     x21, #${count}
2:  mov     x0, #1
    mov     x1, x20
    mov     x2, #1
    mov     x8, #64
    svc     #0
    ldr     x9, =${delay}
3:  subs    x9, x9, #1
    b.ne    3b
    subs    x21, x21, #1
    b.ne    2b
    cbz     x19, 4f
    mov     x0, #-1
    mov     x1, #0
    mov     x2, #0
    mov     x3, #0
    mov     x8, #260        // wait4
    svc     #0
4:  mov     x0, #0
    mov     x8, #93
    svc     #0
letters: .ascii "CP"
`;

describe("MULTIOS_EXIT (HVC, W0 = 0x8600_0001, X1 = status)", () => {
  it("is NOT_SUPPORTED on the bare machine's PSCI firmware, which has no exit-status hook", () => {
    const v = createArm64Virt();
    v.cpu.setX(0, BigInt(MULTIOS_EXIT));
    v.cpu.setX(1, 3n);
    expect(v.cpu.firmware!(v.cpu, 0, false)).toBe(true);
    expect(BigInt.asIntN(64, v.cpu.x(0))).toBe(BigInt(PSCI_NOT_SUPPORTED));
  });
});

describe("user pointers and fatal exceptions", () => {
  it("write from an unmapped buffer returns -EFAULT (the kernel's EL1 translation with PAN clear fails)", () => {
    const r = run(`
    .globl _start
_start:
    mov     x0, #1
    mov     x1, #0x10
    mov     x2, #4
    mov     x8, #64
    svc     #0
    neg     x0, x0
    mov     x8, #93
    svc     #0
`);
    expect(r.exitCode).toBe(14);
  });

  it("an undefined instruction at EL0 (EC 0) kills the process with SIGILL (132), and the kernel log names the exception", () => {
    const r = run(`
    .globl _start
_start:
    .word   0
    ${exit(0)}
`);
    expect(r.exitCode).toBe(132);
    expect(r.log.join("\n")).toMatch(/killed by signal 4: undefined instruction at pc 0x400000/);
  });
});

describe("execve and ASIDs", () => {
  it("execve of a ramdisk program replaces the image; its exit status is the run's", () => {
    const other = assembleArm64(`
    .globl _start
_start: ${write("msg", 6)} ${exit(5)}
msg: .ascii "other\\n"
`, { base: USER_BASE, fileName: "other.S" }).elf;
    const r = run(`
    .globl _start
_start:
    adr     x0, path
    sub     sp, sp, #32
    stp     x0, xzr, [sp]
    mov     x1, sp
    add     x2, sp, #8
    mov     x8, #221        // execve
    svc     #0
    ${exit(99)}
path: .asciz "/other"
`, ["prog"], 5_000_000, { files: [{ name: "/other", bytes: other }] });
    expect(r.stdout).toBe("other\n");
    expect(r.exitCode).toBe(5);
  });

  it("with 2 ASID bits, a chain of forks rolls the ASID generation over (TLBI VMALLE1IS) and still runs correctly", () => {
    const r = run(`
    .globl _start
_start:
    mov     x22, #6
1:  mov     x0, #17
    mov     x1, #0
    mov     x2, #0
    mov     x3, #0
    mov     x4, #0
    mov     x8, #220        // clone
    svc     #0
    cbnz    x0, 2f
    subs    x22, x22, #1    // the child continues the chain
    b.ne    1b
    ${exit(0)}
2:  mov     x0, #-1
    sub     sp, sp, #16
    mov     x1, sp
    mov     x2, #0
    mov     x3, #0
    mov     x8, #260        // wait4
    svc     #0
    ldr     w0, [sp]
    ubfx    x0, x0, #8, #8
    add     x0, x0, #1
    mov     x8, #93
    svc     #0
`, ["prog"], 5_000_000, { asidBits: 2 });
    expect(r.exitCode).toBe(6);
    expect(r.km.kernel.asids!.stats.rollovers).toBeGreaterThan(0);
  });
});

describe("scheduling", () => {
  it("the timer (IRQ taken from EL0 at VBAR_EL1 + 0x480) interleaves two processes spinning between system calls", () => {
    const count = 10;
    const r = run(SPIN(count, 6000), ["prog"], 5_000_000, { timeslice: 10_000 });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^[PC]{${2 * count}}$`));
    expect(r.stdout.indexOf("C")).toBeLessThan(r.stdout.lastIndexOf("P"));
    expect(r.stdout.indexOf("P")).toBeLessThan(r.stdout.lastIndexOf("C"));
    expect(r.irqs).toContain("EL0");
  });
});

describe("the kernel's TLB maintenance and the host fast path", () => {
  it("strict TLB mode: fork, copy-on-write, wait and exit break no break-before-make rule and every TLBI has its DSB", () => {
    const reports: string[] = [];
    const r = run(FORK_WAIT, ["prog"], 5_000_000, { strictTlb: true }, (km) => { km.strict!.onReport = (rep) => reports.push(JSON.stringify(rep)); });
    expect(r.exitCode).toBe(7);
    expect(reports).toEqual([]);
    expect(r.km.strict!.count).toBe(0);
  });

  it("the fast path changes nothing: same output, status and instruction count without it", () => {
    const fast = run(FORK_WAIT);
    const slow = run(FORK_WAIT, ["prog"], 5_000_000, { noFastPath: true });
    expect([slow.stdout, slow.exitCode, slow.km.cpu.icount]).toEqual([fast.stdout, fast.exitCode, fast.km.cpu.icount]);
  });
});

const QEMU_USER = "qemu-aarch64";
const haveUser = spawnSync(QEMU_USER, ["--version"]).status === 0;
if (!haveUser || !haveGnu) console.log("skipping the qemu-aarch64 comparison: qemu-aarch64 or aarch64-linux-gnu-as/ld is not installed");

/** A static program with a loop, a call, .data and .bss, stack use and exit_group. */
const COMPARE = `
    .globl _start
_start:
    adr     x19, buf
    mov     x20, #0         // index
    mov     x21, #0         // a
    mov     x22, #1         // b
1:  add     x23, x21, x22
    mov     x21, x22
    mov     x22, x23
    and     x0, x23, #0xf
    bl      hexdigit
    strb    w0, [x19, x20]
    add     x20, x20, #1
    cmp     x20, #24
    b.lo    1b
    mov     w0, #'\\n'
    strb    w0, [x19, x20]
    mov     x0, #1
    mov     x1, x19
    add     x2, x20, #1
    mov     x8, #64
    svc     #0
    adr     x1, msg
    ldr     x0, [sp]        // argc
    add     x0, x0, #'0'
    strb    w0, [x1, #6]
    mov     x0, #1
    mov     x2, #8
    mov     x8, #64
    svc     #0
    and     x0, x23, #0x3f
    mov     x8, #94         // exit_group
    svc     #0
hexdigit:
    cmp     x0, #10
    add     x1, x0, #'0'
    add     x2, x0, #('a' - 10)
    csel    x0, x1, x2, lo
    ret
    .data
msg: .ascii "argc: ?\\n"
    .bss
buf: .zero 64
`;

describe.skipIf(!haveUser || !haveGnu)("the same program under the kernel and under qemu-aarch64", () => {
  const dir = haveUser ? mkdtempSync(join(tmpdir(), "multios-arm64-kernel-")) : "";
  const qemu = (path: string, args: string[]): { stdout: string; status: number | null } => {
    const q = spawnSync(QEMU_USER, [path, ...args.slice(1)], { encoding: "latin1", timeout: 60_000 });
    return { stdout: q.stdout, status: q.status };
  };

  it("our assembler's ELF: same output and exit status", () => {
    const elf = assembleArm64(COMPARE, { base: USER_BASE, fileName: "compare.S" }).elf;
    const path = join(dir, "compare.elf");
    writeFileSync(path, elf, { mode: 0o755 });
    const want = qemu(path, ["compare", "a", "b"]);
    const got = run(elf, ["compare", "a", "b"]);
    expect(got.stdout).toBe(want.stdout);
    expect(got.exitCode).toBe(want.status);
  });

  it("GNU as + ld -static (test/fixtures/arm64/user.S): same output and exit status", () => {
    const src = new URL("./fixtures/arm64/user.S", import.meta.url).pathname;
    expect(spawnSync(AS, ["-o", `${dir}/user.o`, src]).status).toBe(0);
    expect(spawnSync(LD, ["-static", "-o", `${dir}/user.elf`, `${dir}/user.o`]).status).toBe(0);
    const want = qemu(`${dir}/user.elf`, ["user"]);
    const got = run(new Uint8Array(readFileSync(`${dir}/user.elf`)), ["user"]);
    expect(got.stdout).toBe(want.stdout);
    expect(got.exitCode).toBe(want.status);
  });
});
