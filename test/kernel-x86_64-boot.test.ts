/**
 * The TypeScript kernel booted on the emulated x86_64 PC (boot/x86_64/kernel-boot.ts): static
 * Linux-ABI programs (SYSCALL, RAX = the x86_64 syscall number) run as the first process at CPL 3
 * under the kernel's page tables (PCIDs in CR3), entering the kernel through LSTAR and the IDT;
 * the run's exit status is the program's (a byte written to the exit port 0x501), 128 + signal
 * when it is killed.
 * @spec Intel SDM Vol. 2B "SYSCALL"; Vol. 3A §6.14 (64-bit interrupt delivery), §4.7 (#PF);
 *       Linux arch/x86/entry/syscalls/syscall_64.tbl
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bootKernelX86, KERNEL_VA, SEL, type KernelBootOptions, type KernelMachine } from "../boot/x86_64/kernel-boot.js";
import type { FaultStats } from "../kernel/mm/process-memory.js";
import { X86_SYS, X86_SYSCALL_TABLE } from "../kernel/arch/x86_64/syscalls.js";
import { SYS } from "../kernel/proc/syscalls.js";
import { assembleX86_64 } from "../tools/asm/x86_64/index.js";

/** User programs are linked where GNU ld puts a static program: 0x40_0000. */
const USER_BASE = 0x40_0000n;

interface Run {
  exitCode: number;
  reason: string;
  stdout: string;
  log: string[];
  /** The caller's fault statistics at each getpid. */
  checkpoints: FaultStats[];
  /** CR3 at each getpid. */
  cr3: bigint[];
  /** The CPL each interrupt was taken from ("cpl0", "cpl3"). */
  irqs: string[];
  km: KernelMachine;
}

function run(program: string | Uint8Array, args: string[] = ["prog"], maxInsns = 5_000_000, machine: Omit<KernelBootOptions, "program" | "args"> = {}): Run {
  const elf = typeof program === "string" ? assembleX86_64(program, { base: USER_BASE, fileName: "prog.s" }).elf : program;
  let stdout = "";
  const log: string[] = [];
  const km = bootKernelX86({ ...machine, program: elf, args, log: (l) => log.push(l), console: (b) => { stdout += String.fromCharCode(b); } });
  const checkpoints: FaultStats[] = [];
  const cr3: bigint[] = [];
  const irqs: string[] = [];
  km.machine.setTrace((e) => {
    if (e.type === "trap" && e.interrupt) irqs.push(e.from);
  });
  // getpid checkpoints, taken as the kernel is entered through SYSCALL (the trace has no SYSCALL event).
  const trap = km.kernel.trap.bind(km.kernel);
  km.kernel.trap = () => {
    if (km.kernel.arch.trapInfo().kind === "syscall" && km.cpu.reg(0) === BigInt(X86_SYS.getpid)) {
      checkpoints.push({ ...km.kernel.procs.current!.mm.stats });
      cr3.push(km.cpu.mmu.cr3);
    }
    trap();
  };
  const r = km.machine.run({ maxInsns });
  return { exitCode: r.exitCode, reason: r.reason, stdout, log, checkpoints, cr3, irqs, km };
}

/** write(1, label, len). */
const write = (label: string, len: number): string => `
    mov     $1, %edi
    lea     ${label}(%rip), %rsi
    mov     $${len}, %edx
    mov     $1, %eax
    syscall`;
const exit = (code: number | string): string => `
    mov     ${typeof code === "number" ? `$${code}` : code}, %edi
    mov     $60, %eax
    syscall`;

const FORK_WAIT = `
    .globl _start
_start:
    mov     $57, %eax       # fork
    syscall
    test    %rax, %rax
    jnz     parent
    ${write("child", 6)}
    ${exit(7)}
parent:
    sub     $16, %rsp
    mov     $-1, %rdi
    mov     %rsp, %rsi
    xor     %edx, %edx
    xor     %r10d, %r10d
    mov     $61, %eax       # wait4
    syscall
    ${write("par", 7)}
    movzbl  1(%rsp), %edi   # WEXITSTATUS
    mov     $231, %eax      # exit_group
    syscall
child: .ascii "child\\n"
par: .ascii "parent\\n"
`;

describe("the x86_64 system-call numbers", () => {
  it("map to the generic numbers; a number with no entry (e.g. 64 = generic write) stays unknown", () => {
    expect(X86_SYSCALL_TABLE.get(X86_SYS.write)).toBe(SYS.write);
    expect(X86_SYSCALL_TABLE.get(X86_SYS.exit)).toBe(SYS.exit);
    expect(X86_SYSCALL_TABLE.get(X86_SYS.fork)).toBe(SYS.clone);
    expect(X86_SYSCALL_TABLE.has(SYS.write)).toBe(false);
  });

  it("the generic write number (64) is -ENOSYS on x86_64, not write", () => {
    const r = run(`
    .globl _start
_start:
    mov     $1, %edi
    lea     msg(%rip), %rsi
    mov     $3, %edx
    mov     $64, %eax
    syscall
    neg     %eax
    mov     %eax, %edi
    mov     $60, %eax
    syscall
msg: .ascii "no\\n"
`);
    expect(r.stdout).toBe("");
    expect(r.exitCode).toBe(38);
  });
});

describe("the kernel on x86_64-pc runs a user program at CPL 3", () => {
  it("write then exit(0): the bytes reach COM1, and the exit port ends the run with status 0", () => {
    const r = run(`
    .globl _start
_start:
    ${write("msg", 6)}
    ${exit(0)}
msg: .ascii "hello\\n"
`);
    expect(r.log).toEqual([]);
    expect(r.stdout).toBe("hello\n");
    expect(r.reason).toBe("exit");
    expect(r.exitCode).toBe(0);
  });

  it("exit(3): the run's status is 3", () => {
    const r = run(`
    .globl _start
_start:
    ${exit(3)}
`);
    expect(r.exitCode).toBe(3);
  });

  it("the kernel runs with paging through its own tables: CR4.PCIDE, CR3 with a non-zero PCID for the process, the program at CPL 3", () => {
    const r = run(`
    .globl _start
_start:
    mov     $39, %eax       # getpid
    syscall
    mov     %cs, %eax
    and     $3, %eax
    cmp     $3, %eax
    jne     1f
    ${exit(0)}
1:  ${exit(1)}
`);
    expect(r.exitCode).toBe(0);
    expect(r.cr3).toHaveLength(1);
    expect(r.cr3[0]! & 0xfffn).not.toBe(0n);
    expect(r.km.cpu.mmu.pcidEnabled).toBe(true);
    expect(r.km.cpu.star >> 48n).toBe(BigInt(SEL.userCs - 16 - 3));
    expect(r.km.cpu.lstar >= KERNEL_VA).toBe(true);
  });

  it("touching N pages of an anonymous mmap takes exactly N demand-zero faults", () => {
    const n = 5;
    const r = run(`
    .globl _start
_start:
    xor     %edi, %edi
    mov     $${n * 4096}, %esi
    mov     $3, %edx        # PROT_READ | PROT_WRITE
    mov     $0x22, %r10d    # MAP_PRIVATE | MAP_ANONYMOUS
    mov     $-1, %r8
    xor     %r9d, %r9d
    mov     $9, %eax        # mmap
    syscall
    mov     %rax, %rbx
    mov     $39, %eax       # getpid: checkpoint
    syscall
    xor     %ecx, %ecx
1:  movb    $0x5a, (%rbx,%rcx)
    add     $4096, %rcx
    cmp     $${n * 4096}, %rcx
    jb      1b
    mov     $39, %eax
    syscall
    xor     %edi, %edi
    cmpb    $0x5a, ${(n - 1) * 4096}(%rbx)
    setne   %dil
    mov     $60, %eax
    syscall
`);
    expect(r.log).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.checkpoints).toHaveLength(2);
    expect(r.checkpoints[1]!.demandZero - r.checkpoints[0]!.demandZero).toBe(n);
  });

  it("fork + wait4: the child runs, exits 7, and the parent reads 7 from the status word", () => {
    const r = run(FORK_WAIT);
    expect(r.log).toEqual([]);
    expect(r.stdout).toBe("child\nparent\n");
    expect(r.exitCode).toBe(7);
  });

  it("nanosleep: the kernel idles in `sti; hlt` and the APIC timer (taken at CPL 0) wakes the process", () => {
    const r = run(`
    .globl _start
_start:
    lea     ts(%rip), %rdi
    xor     %esi, %esi
    mov     $35, %eax       # nanosleep
    syscall
    ${write("done", 5)}
    ${exit(0)}
    .balign 8
ts: .quad 0, 1000000        # 1 ms
done: .ascii "done\\n"
`);
    expect(r.stdout).toBe("done\n");
    expect(r.exitCode).toBe(0);
    expect(r.irqs).toContain("cpl0");
  });

  it("a load from an unmapped address (#PF) kills the process with SIGSEGV: status 139", () => {
    const r = run(`
    .globl _start
_start:
    mov     $0x10, %ebx
    mov     (%rbx), %rax
    ${exit(0)}
`);
    expect(r.exitCode).toBe(139);
    expect(r.log.join("\n")).toMatch(/SIGSEGV|segfault|signal 11/i);
  });

  it("ud2 (#UD) kills the process with SIGILL: status 132, and the kernel log names the exception", () => {
    const r = run(`
    .globl _start
_start:
    ud2
`);
    expect(r.exitCode).toBe(132);
    expect(r.log.join("\n")).toMatch(/#UD/);
  });
});

describe("user pointers", () => {
  it("write from an unmapped buffer returns -EFAULT (the kernel's CPL 0 translation with AC set fails); brk grows the heap", () => {
    const r = run(`
    .globl _start
_start:
    mov     $1, %edi
    mov     $0x1000, %esi
    mov     $4, %edx
    mov     $1, %eax        # write(1, 0x1000, 4)
    syscall
    cmp     $-14, %rax
    jne     1f
    xor     %edi, %edi
    mov     $12, %eax       # brk(0): the current break
    syscall
    mov     %rax, %rbx
    lea     4096(%rax), %rdi
    mov     $12, %eax
    syscall
    movb    $'k', (%rbx)    # the new heap page is writable
    mov     $1, %edi
    mov     %rbx, %rsi
    mov     $1, %edx
    mov     $1, %eax
    syscall
    ${exit(0)}
1:  ${exit(1)}
`);
    expect(r.log).toEqual([]);
    expect(r.stdout).toBe("k");
    expect(r.exitCode).toBe(0);
  });
});

describe("execve and PCIDs", () => {
  it("execve of a ramdisk program replaces the image; its exit status is the run's", () => {
    const other = assembleX86_64(`
    .globl _start
_start: ${write("msg", 6)} ${exit(5)}
msg: .ascii "other\\n"
`, { base: USER_BASE, fileName: "other.s" }).elf;
    const r = run(`
    .globl _start
_start:
    lea     path(%rip), %rdi
    sub     $32, %rsp
    mov     %rdi, (%rsp)
    movq    $0, 8(%rsp)
    mov     %rsp, %rsi
    lea     8(%rsp), %rdx
    mov     $59, %eax       # execve
    syscall
    ${exit(99)}
path: .asciz "/other"
`, ["prog"], 5_000_000, { files: [{ name: "/other", bytes: other }] });
    expect(r.log).toEqual([]);
    expect(r.stdout).toBe("other\n");
    expect(r.exitCode).toBe(5);
  });

  it("with 2 PCID bits, a chain of forks rolls the generation over (INVPCID type 2) and still runs correctly", () => {
    const r = run(`
    .globl _start
_start:
    mov     $6, %r12d
1:  mov     $56, %eax       # clone(SIGCHLD, 0)
    mov     $17, %edi
    xor     %esi, %esi
    xor     %edx, %edx
    xor     %r10d, %r10d
    xor     %r8d, %r8d
    syscall
    test    %rax, %rax
    jnz     2f
    dec     %r12d           # the child continues the chain
    jnz     1b
    ${exit(0)}
2:  sub     $16, %rsp
    mov     $-1, %rdi
    mov     %rsp, %rsi
    xor     %edx, %edx
    xor     %r10d, %r10d
    mov     $61, %eax       # wait4
    syscall
    movzbl  1(%rsp), %edi
    inc     %edi
    mov     $60, %eax
    syscall
`, ["prog"], 5_000_000, { asidBits: 2 });
    expect(r.log).toEqual([]);
    expect(r.exitCode).toBe(6);
    expect(r.km.kernel.asids!.stats.rollovers).toBeGreaterThan(0);
  });
});

/** Parent (P) and child (C) each write their letter `count` times, spinning `delay` iterations between; the parent waits. */
const SPIN = (count: number, delay: number): string => `
    .globl _start
_start:
    mov     $57, %eax       # fork
    syscall
    mov     %rax, %r12      # 0 in the child
    lea     letters(%rip), %r13
    test    %r12, %r12
    jz      1f
    inc     %r13
1:  mov     $${count}, %r14d
2:  mov     $1, %edi
    mov     %r13, %rsi
    mov     $1, %edx
    mov     $1, %eax
    syscall
    mov     $${delay}, %ecx
3:  dec     %ecx
    jnz     3b
    dec     %r14d
    jnz     2b
    test    %r12, %r12
    jz      4f
    mov     $-1, %rdi
    xor     %esi, %esi
    xor     %edx, %edx
    xor     %r10d, %r10d
    mov     $61, %eax       # wait4
    syscall
4:  ${exit(0)}
letters: .ascii "CP"
`;

describe("scheduling", () => {
  it("the APIC timer (vector 32, taken from CPL 3) interleaves two processes spinning between system calls", () => {
    const count = 10;
    const r = run(SPIN(count, 6000), ["prog"], 5_000_000, { timeslice: 10_000 });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^[PC]{${2 * count}}$`));
    expect(r.stdout.indexOf("C")).toBeLessThan(r.stdout.lastIndexOf("P"));
    expect(r.stdout.indexOf("P")).toBeLessThan(r.stdout.lastIndexOf("C"));
    expect(r.irqs).toContain("cpl3");
  });
});

describe("the kernel's TLB maintenance and the host fast path", () => {
  it("strict TLB mode: fork, copy-on-write, wait and exit use no stale TLB entry", () => {
    const r = run(FORK_WAIT, ["prog"], 5_000_000, { strictTlb: true });
    expect(r.exitCode).toBe(7);
    expect(r.km.machine.staleTlbReports).toBe(0);
  });

  it("with ASLR (seed 1) and the kernel's debug checks, fork + wait4 still runs and exits 7", () => {
    const r = run(FORK_WAIT, ["prog"], 5_000_000, { seed: 1, aslr: true, debug: true });
    expect(r.log).toEqual([]);
    expect(r.stdout).toBe("child\nparent\n");
    expect(r.exitCode).toBe(7);
  });

  it("the fast path changes nothing: same output, status and instruction count without it", () => {
    const fast = run(FORK_WAIT);
    const slow = run(FORK_WAIT, ["prog"], 5_000_000, { noFastPath: true });
    expect([slow.stdout, slow.exitCode, slow.km.cpu.icount]).toEqual([fast.stdout, fast.exitCode, fast.km.cpu.icount]);
  });
});

const QEMU_USER = "qemu-x86_64";
const haveUser = spawnSync(QEMU_USER, ["--version"]).status === 0;
const haveGnu = spawnSync("as", ["--version"]).status === 0 && spawnSync("ld", ["--version"]).status === 0;
const haveGcc = spawnSync("gcc", ["--version"]).status === 0;
if (!haveUser || !haveGnu) console.log("skipping the qemu-x86_64 comparison: qemu-x86_64 or the host as/ld is not installed");
if (!haveUser || !haveGcc) console.log("skipping the qemu-x86_64 comparison of a C program: qemu-x86_64 or gcc is not installed");

/** A freestanding C program (no SSE: the CPU has none): recursion, .bss, fork, wait4, exit_group. */
const C_PROGRAM = `
static long sys(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}
static char buf[128];
static unsigned long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
void _start(void) {
  int n = 0;
  for (int i = 0; i < 20; i++) buf[n++] = "0123456789abcdef"[fib(i) & 15];
  buf[n++] = '\\n';
  if (sys(57, 0, 0, 0) == 0) { sys(1, 1, (long)"kid\\n", 4); sys(60, 4, 0, 0); }
  int st = 0;
  sys(61, -1, (long)&st, 0);
  sys(1, 1, (long)buf, n);
  sys(231, (st >> 8) & 0xff, 0, 0);
}
`;

/** A static program with a loop, a call, .data and .bss, stack use (argc) and exit_group. */
const COMPARE = `
    .globl _start
_start:
    lea     buf(%rip), %rbx
    xor     %r12d, %r12d    # index
    xor     %r13d, %r13d    # a
    mov     $1, %r14d       # b
1:  lea     (%r13,%r14), %r15
    mov     %r14, %r13
    mov     %r15, %r14
    mov     %r15, %rax
    and     $0xf, %eax
    call    hexdigit
    mov     %al, (%rbx,%r12)
    inc     %r12
    cmp     $24, %r12
    jb      1b
    movb    $'\\n', (%rbx,%r12)
    mov     $1, %edi
    mov     %rbx, %rsi
    lea     1(%r12), %rdx
    mov     $1, %eax
    syscall
    lea     msg(%rip), %rsi
    mov     (%rsp), %rax    # argc
    add     $'0', %al
    mov     %al, 6(%rsi)
    mov     $1, %edi
    mov     $8, %edx
    mov     $1, %eax
    syscall
    mov     %r15, %rdi
    and     $0x3f, %edi
    mov     $231, %eax      # exit_group
    syscall
hexdigit:
    cmp     $10, %al
    jb      2f
    add     $('a' - 10 - '0'), %al
2:  add     $'0', %al
    ret
    .data
msg: .ascii "argc: ?\\n"
    .bss
buf: .zero 64
`;

describe.skipIf(!haveUser || !haveGnu)("the same program under the kernel and under qemu-x86_64", () => {
  const dir = haveUser ? mkdtempSync(join(tmpdir(), "multios-x86_64-kernel-")) : "";
  const qemu = (path: string, args: string[]): { stdout: string; status: number | null } => {
    const q = spawnSync(QEMU_USER, [path, ...args.slice(1)], { encoding: "latin1", timeout: 60_000 });
    return { stdout: q.stdout, status: q.status };
  };

  it("our assembler's ELF: same output and exit status", () => {
    const elf = assembleX86_64(COMPARE, { base: USER_BASE, fileName: "compare.s" }).elf;
    const path = join(dir, "compare.elf");
    writeFileSync(path, elf, { mode: 0o755 });
    const want = qemu(path, ["compare", "a", "b"]);
    const got = run(elf, ["compare", "a", "b"]);
    expect(want.stdout).toMatch(/argc: 3\n$/);
    expect(got.stdout).toBe(want.stdout);
    expect(got.exitCode).toBe(want.status);
  });

  it("GNU as + ld -static: same output and exit status", () => {
    writeFileSync(join(dir, "gnu.s"), COMPARE);
    expect(spawnSync("as", ["--64", "-o", join(dir, "gnu.o"), join(dir, "gnu.s")]).status).toBe(0);
    expect(spawnSync("ld", ["-static", "-o", join(dir, "gnu.elf"), join(dir, "gnu.o")]).status).toBe(0);
    const want = qemu(join(dir, "gnu.elf"), ["gnu"]);
    const got = run(new Uint8Array(readFileSync(join(dir, "gnu.elf"))), ["gnu"]);
    expect(want.stdout).toMatch(/argc: 1\n$/);
    expect(got.stdout).toBe(want.stdout);
    expect(got.exitCode).toBe(want.status);
  });
});

describe.skipIf(!haveUser || !haveGcc)("a C program under the kernel and under qemu-x86_64", () => {
  it("gcc -static -nostdlib -mgeneral-regs-only: same output and exit status", () => {
    const dir = mkdtempSync(join(tmpdir(), "multios-x86_64-kernel-c-"));
    writeFileSync(join(dir, "prog.c"), C_PROGRAM);
    const cc = spawnSync("gcc", ["-static", "-nostdlib", "-O2", "-mgeneral-regs-only", "-fno-stack-protector", "-fno-pie", "-no-pie", "-o", join(dir, "prog.elf"), join(dir, "prog.c")], { encoding: "utf8" });
    expect(cc.stderr).toBe("");
    const q = spawnSync(QEMU_USER, [join(dir, "prog.elf")], { encoding: "latin1", timeout: 60_000 });
    const got = run(new Uint8Array(readFileSync(join(dir, "prog.elf"))), ["prog"], 50_000_000);
    expect(q.stdout).toBe("kid\n0112358d52790992bd85\n");
    expect(got.stdout).toBe(q.stdout);
    expect(got.exitCode).toBe(q.status);
  });
});

describe("5-level paging (LA57)", () => {
  it("with la57 the firmware hands off in 5-level paging and the kernel builds 5-level tables: the program runs, forks and faults as with 4 levels", () => {
    const prog = `
    .globl _start
_start:
    xor     %edi, %edi
    mov     $${3 * 4096}, %esi
    mov     $3, %edx
    mov     $0x22, %r10d
    mov     $-1, %r8
    xor     %r9d, %r9d
    mov     $9, %eax
    syscall
    movb    $7, (%rax)
    movb    $7, 8192(%rax)
    mov     $57, %eax       # fork
    syscall
    test    %rax, %rax
    jz      1f
    mov     %rax, %rdi
    xor     %esi, %esi
    xor     %edx, %edx
    xor     %r10d, %r10d
    mov     $61, %eax       # wait4
    syscall
    mov     $5, %edi
    mov     $60, %eax
    syscall
1:  xor     %edi, %edi
    mov     $60, %eax
    syscall
`;
    const four = run(prog);
    const five = run(prog, ["prog"], 5_000_000, { la57: true });
    expect([five.exitCode, five.reason]).toEqual([5, "exit"]);
    expect(five.km.cpu.mmu.cr4 & (1n << 12n)).toBe(1n << 12n);
    expect(five.km.kernel.arch.paging.levels).toBe(5);
    expect(five.km.kernel.perf.faultsByClass()).toEqual(four.km.kernel.perf.faultsByClass());
  });
});
