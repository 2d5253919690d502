/**
 * execve from the initial ramdisk under the TypeScript kernel: the new image gets the argv and envp
 * the caller passed and keeps the pid; every refusal returns its errno to the old image, which is
 * untouched and goes on running; the old image's frames all go back; fork + exec + wait trees run
 * in a fixed order; the first program is in the ramdisk under its argv[0].
 */
import { describe, expect, it } from "vitest";
import { ARG_MAX } from "../kernel/proc/execve.js";
import { processName } from "../kernel/proc/process-record.js";
import { assembleRiscv64 } from "../tools/asm/riscv64/index.js";
import { ASM_LIB, fork, SYSCALLS } from "./support/kernel-asm.js";
import { expectFullReclaim, runKernel } from "./support/run-kernel.js";

/** Prints "argv S" and "envp S" lines, "execfn S", "pid 0x…", then exits with argc. */
const SHOW = `
    .equ AT_EXECFN, 31
    .text
    .globl _start
_start:
    mv      s0, sp
    addi    s2, s0, 8
    la      s5, m_argv
    jal     strings
    la      s5, m_envp
    jal     strings
1:  ld      s3, 0(s2)
    ld      s4, 8(s2)
    addi    s2, s2, 16
    beqz    s3, 2f
    li      t0, AT_EXECFN
    bne     s3, t0, 1b
    la      a0, m_execfn
    jal     puts
    mv      a0, s4
    jal     puts
    la      a0, m_nl
    jal     puts
    j       1b
2:  la      a0, m_pid
    jal     puts
    li      a7, 172
    ecall
    jal     puthex
    la      a0, m_nl
    jal     puts
    ld      a0, 0(s0)
    li      a7, 93
    ecall

# strings: prints "<s5 label><string>\\n" for each entry of the NULL-terminated vector at s2.
strings:
    mv      s6, ra
1:  ld      s3, 0(s2)
    addi    s2, s2, 8
    beqz    s3, 2f
    mv      a0, s5
    jal     puts
    mv      a0, s3
    jal     puts
    la      a0, m_nl
    jal     puts
    j       1b
2:  mv      ra, s6
    ret

    .section .rodata
m_argv:   .asciz "argv "
m_envp:   .asciz "envp "
m_execfn: .asciz "execfn "
m_pid:    .asciz "pid "
m_nl:     .asciz "\\n"
${ASM_LIB}`;

/**
 * A first program that calls execve with a0..a2 set by `setup` (which may use labels from
 * `rodata`), then, if the call returns, prints whether its own data survived and exits with the
 * negated result (the errno).
 */
const EXEC_INIT = (setup: string, rodata = "", data = ""): string => `
    .section .rodata
${rodata}
m_intact: .asciz "old image intact\\n"
    .data
marker: .dword 0x1122334455667788
${data}
    .text
    .globl _start
_start:
    li      a7, 172
    ecall
${setup}
    li      a7, 221
    ecall
    mv      s1, a0
    ld      t0, marker
    li      t1, 0x1122334455667788
    bne     t0, t1, 1f
    la      a0, m_intact
    jal     puts
1:  neg     a0, s1
    li      a7, 93
    ecall
${ASM_LIB}`;

/** execve(path, argv, envp) with string-literal vectors. */
const execStrings = (path: string, argv: string[], envp: string[]): string => EXEC_INIT(`
    la      a0, path
    la      a1, argv
    la      a2, envp`,
`path: .asciz "${path}"
${argv.map((s, i) => `arg${i}: .asciz "${s}"`).join("\n")}
${envp.map((s, i) => `env${i}: .asciz "${s}"`).join("\n")}`,
`argv: .dword ${[...argv.map((_, i) => `arg${i}`), "0"].join(", ")}
envp: .dword ${[...envp.map((_, i) => `env${i}`), "0"].join(", ")}`);

const h = (n: number | bigint): string => "0x" + BigInt(n).toString(16).padStart(16, "0");

describe("execve: the new image", () => {
  it("starts with the argv and envp the caller passed, AT_EXECFN = the path, and the same pid", () => {
    const run = runKernel(execStrings("/show", ["show", "one", "two words"], ["A=1", "HOME=/x"]), { files: { show: SHOW } });
    expect(run.stdout).toBe("argv show\nargv one\nargv two words\nenvp A=1\nenvp HOME=/x\nexecfn /show\npid 0x0000000000000001\n");
    expect(run.exitCode).toBe(3);
    expect(run.exits.map((e) => [e.pid, e.status])).toEqual([[1, 3]]);
    expectFullReclaim(run);
  });

  it("finds the file without the leading slash too, and passes the paranoid checks after every trap", () => {
    const run = runKernel(execStrings("show", ["x"], []), { files: { show: SHOW }, debug: true });
    expect(run.stdout).toBe("argv x\nexecfn show\npid 0x0000000000000001\n");
    expect(run.log).toEqual([]);
    expect(run.exitCode).toBe(1);
  });

  it("NULL argv and envp give argc 1 with argv[0] = \"\" (Linux since 5.18)", () => {
    const run = runKernel(EXEC_INIT(`
    la      a0, path
    li      a1, 0
    li      a2, 0`, `path: .asciz "/show"`), { files: { show: SHOW } });
    expect(run.stdout).toBe("argv \nexecfn /show\npid 0x0000000000000001\n");
    expect(run.exitCode).toBe(1);
  });

  it("the first program is in the ramdisk under its argv[0], so a program can exec itself", () => {
    const again = `${SYSCALLS}
    .section .rodata
path:  .asciz "/bin/again"
arg0:  .asciz "again"
arg1:  .asciz "second"
m_one: .asciz "first\\n"
m_two: .asciz "second\\n"
    .data
argv: .dword arg0, arg1, 0
    .text
    .globl _start
_start:
    ld      t0, 0(sp)
    li      t1, 1
    bne     t0, t1, 1f
    la      a0, m_one
    jal     puts
    la      a0, path
    la      a1, argv
    li      a2, 0
    li      a7, 221
    ecall
    li      a7, 93
    ecall
1:  la      a0, m_two
    jal     puts
    li      a0, 0
    li      a7, 93
    ecall
${ASM_LIB}`;
    const run = runKernel(again, { args: ["/bin/again"] });
    expect(run.stdout).toBe("first\nsecond\n");
    expect(run.exitCode).toBe(0);
  });

  it("renames the process record after the new argv[0] and drops every area of the old image", () => {
    const spinner = `
    .text
    .globl _start
_start:
    j       _start
`;
    const run = runKernel(EXEC_INIT(`
    li      a0, 0x200000000
    li      a1, 0x4000
    li      a2, 3
    li      a3, 0x32
    li      a4, -1
    li      a5, 0
    li      a7, 222
    ecall
    li      t0, 0x200000000
    sd      t0, 0(t0)
    li      t1, 0x200003000
    sd      t0, 0(t1)
    la      a0, path
    la      a1, argv
    li      a2, 0`, `path: .asciz "spinner"
arg0: .asciz "/usr/bin/spinner"`, `argv: .dword arg0, 0`), { files: { spinner }, maxInsns: 100_000 });
    expect(run.reason).toBe("max-insns");
    const k = run.km.kernel;
    const p = k.procs.get(1)!;
    expect(processName(k, 1, p.record)).toBe("spinner");
    expect(p.mm.vmas.find(0x2_0000_0000n)).toBeUndefined();
    expect(p.mm.vmas.all().map((v) => v.name)).toEqual(["text", "stack"]);
    // The new image holds its text page and its stack page; nothing of the old one.
    expect(run.frames.allocationsByOwner().get("pid 1")).toBe(2);
  });
});

describe("execve: refusals return to the old image, which is intact", () => {
  const notElf = new TextEncoder().encode("just data\n");
  const show = assembleRiscv64(SHOW, { fileName: "show.S" }).elf;
  const patched = (edit: (dv: DataView) => void): Uint8Array => {
    const b = show.slice();
    edit(new DataView(b.buffer));
    return b;
  };
  const wx = patched((dv) => {
    const phoff = Number(dv.getBigUint64(32, true));
    dv.setUint32(phoff + 4, 7, true);
  });
  const x86 = patched((dv) => dv.setUint16(18, 62, true));
  const files = { show, "data.bin": notElf, "wx.elf": wx, "x86.elf": x86 };
  const longName = (n: number): string => `path: .space ${n}, 0x61\n    .byte 0`;
  const cases: [string, string, number][] = [
    ["a missing file: ENOENT", EXEC_INIT("la a0, path\nli a1, 0\nli a2, 0", `path: .asciz "/missing"`), 2],
    ["an empty path: ENOENT", EXEC_INIT("la a0, path\nli a1, 0\nli a2, 0", `path: .asciz ""`), 2],
    ["a file that is not an ELF: ENOEXEC", EXEC_INIT("la a0, path\nli a1, 0\nli a2, 0", `path: .asciz "/data.bin"`), 8],
    ["an ELF for another machine: ENOEXEC", EXEC_INIT("la a0, path\nli a1, 0\nli a2, 0", `path: .asciz "x86.elf"`), 8],
    ["a writable and executable segment: EACCES", EXEC_INIT("la a0, path\nli a1, 0\nli a2, 0", `path: .asciz "wx.elf"`), 13],
    ["a NULL path: EFAULT", EXEC_INIT("li a0, 0\nli a1, 0\nli a2, 0"), 14],
    ["a path in kernel space: EFAULT", EXEC_INIT("li a0, 0xffffffc080000000\nli a1, 0\nli a2, 0"), 14],
    ["an unmapped argv array: EFAULT", EXEC_INIT("la a0, path\nli a1, 0x1000\nli a2, 0", `path: .asciz "/show"`), 14],
    ["a bad argv string pointer: EFAULT", EXEC_INIT("la a0, path\nla a1, argv\nli a2, 0", `path: .asciz "/show"\narg0: .asciz "show"`, "argv: .dword arg0, 0x5000, 0"), 14],
    ["a bad envp string pointer: EFAULT", EXEC_INIT("la a0, path\nli a1, 0\nla a2, envp", `path: .asciz "/show"`, "envp: .dword 0xffffffc080000000, 0"), 14],
    ["a path of PATH_MAX bytes without its NUL: ENAMETOOLONG", EXEC_INIT("la a0, path\nli a1, 0\nli a2, 0", longName(4096)), 36],
    ["a path of PATH_MAX - 1 bytes is looked up: ENOENT", EXEC_INIT("la a0, path\nli a1, 0\nli a2, 0", longName(4095)), 2],
    ["arguments over ARG_MAX: E2BIG", EXEC_INIT("la a0, path\nla a1, argv\nli a2, 0", `path: .asciz "/show"\nbig: .space 1023, 0x62\n    .byte 0`,
      `argv: .dword ${Array.from({ length: Math.ceil(ARG_MAX / 1024) + 1 }, () => "big").join(", ")}, 0`), 7],
  ];
  it.each(cases)("%s", (_, program, errno) => {
    const run = runKernel(program, { files });
    expect(run.stdout).toBe("old image intact\n");
    expect(run.exitCode).toBe(errno);
    expect(run.log).toEqual([]);
    expectFullReclaim(run);
  });

  it("arguments just within ARG_MAX are accepted", () => {
    // Each argument costs its 8-byte pointer and 1024 bytes of string (NUL included).
    const n = Math.floor((ARG_MAX - 64) / 1032);
    const run = runKernel(EXEC_INIT("la a0, path\nla a1, argv\nli a2, 0", `path: .asciz "/show"\nbig: .space 1023, 0x62\n    .byte 0`,
      `argv: .dword ${Array.from({ length: n }, () => "big").join(", ")}, 0`), { files: { show } });
    expect(run.exitCode).toBe(n);
  });
});

describe("execve: reclaim", () => {
  /** Touches 32 pages of an anonymous mapping and checkpoints, then execs `show`. */
  const heavy = EXEC_INIT(`
    li      a0, 0
    li      a1, 0x20000
    li      a2, 3
    li      a3, 0x22
    li      a4, -1
    li      a5, 0
    li      a7, 222
    ecall
    li      t0, 32
1:  sd      t0, 0(a0)
    li      t1, 4096
    add     a0, a0, t1
    addi    t0, t0, -1
    bnez    t0, 1b
    li      a7, 172
    ecall
    la      a0, path
    la      a1, argv
    li      a2, 0`, `path: .asciz "/show"\narg0: .asciz "show"`, "argv: .dword arg0, 0");

  it("frees every frame of the old image: the new one holds what a fresh start of it holds", () => {
    const run = runKernel(heavy, { files: { show: SHOW } });
    const fresh = runKernel(SHOW, { args: ["show"], files: {} });
    expect(run.exitCode).toBe(1);
    const [, beforeExec, inShow] = run.checkpoints;
    expect(beforeExec!.ownedFrames).toBeGreaterThanOrEqual(32);
    expect(inShow!.ownedFrames).toBe(fresh.checkpoints[0]!.ownedFrames);
    expect(inShow!.usedFrames - run.bootUsedFrames).toBe(fresh.checkpoints[0]!.usedFrames - fresh.bootUsedFrames);
    expectFullReclaim(run);
  });

  it("frees the old image of a forked child that shares its pages copy-on-write with its parent", () => {
    const run = runKernel(`${SYSCALLS}
    .section .rodata
path: .asciz "/show"
arg0: .asciz "show"
    .data
argv: .dword arg0, 0
buf:  .space 8192
    .text
    .globl _start
_start:
    la      t0, buf
    sd      t0, 0(t0)
    li      t1, 4096
    add     t1, t0, t1
    sd      t0, 0(t1)
    ${fork}
    bnez    a0, 1f
    la      a0, path
    la      a1, argv
    li      a2, 0
    li      a7, 221
    ecall
    li      a7, 93
    ecall
1:  li      a0, -1
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, 260
    ecall
    la      t0, buf
    li      t1, 4096
    add     t1, t0, t1
    ld      a0, 0(t1)
    sub     a0, a0, t0
    li      a7, 93
    ecall
${ASM_LIB}`, { files: { show: SHOW } });
    expect(run.stdout).toBe("argv show\nexecfn /show\npid 0x0000000000000002\n");
    expect(run.exits.map((e) => [e.pid, e.status])).toEqual([[2, 1], [1, 0]]);
    expectFullReclaim(run);
  });
});

/** Prints "worker ARG pid P ppid Q"; unless ARG is "leaf", fork + exec a leaf worker, wait, print it; exit with argc. */
const WORKER = `${SYSCALLS}
    .section .rodata
path:     .asciz "/worker"
leaf:     .asciz "leaf"
m_worker: .asciz "worker "
m_pid:    .asciz " pid "
m_ppid:   .asciz " ppid "
m_reaped: .asciz "reaped "
m_status: .asciz " status "
m_nl:     .asciz "\\n"
    .data
leafargv: .dword path, leaf, 0
status:   .word 0
    .text
    .globl _start
_start:
    ld      s1, 0(sp)
    ld      s2, 16(sp)
    la      a0, m_worker
    jal     puts
    mv      a0, s2
    jal     puts
    la      a0, m_pid
    jal     puts
    li      a7, SYS_getpid
    ecall
    jal     puthex
    la      a0, m_ppid
    jal     puts
    li      a7, 173
    ecall
    jal     puthex
    la      a0, m_nl
    jal     puts
    lbu     t0, 0(s2)
    li      t1, 108
    beq     t0, t1, done
    ${fork}
    bnez    a0, 1f
    la      a0, path
    la      a1, leafargv
    li      a2, 0
    li      a7, 221
    ecall
    li      a7, SYS_exit
    ecall
1:  mv      s3, a0
    la      a1, status
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    la      a0, m_reaped
    jal     puts
    mv      a0, s3
    jal     puthex
    la      a0, m_status
    jal     puts
    lw      a0, status
    jal     puthex
    la      a0, m_nl
    jal     puts
done:
    mv      a0, s1
    li      a7, SYS_exit
    ecall
${ASM_LIB}`;

/** Forks, execs "/worker NAME" in the child, waits for it and prints "init reaped P status S", for each name. */
const TREE_INIT = (names: string[]): string => `${SYSCALLS}
    .section .rodata
path:     .asciz "/worker"
${names.map((n, i) => `name${i}: .asciz "${n}"`).join("\n")}
m_reaped: .asciz "init reaped "
m_status: .asciz " status "
m_nl:     .asciz "\\n"
    .data
${names.map((_, i) => `argv${i}: .dword path, name${i}, 0`).join("\n")}
status:   .word 0
    .text
    .globl _start
_start:
${names.map((_, i) => `
    ${fork}
    bnez    a0, 1f
    la      a0, path
    la      a1, argv${i}
    li      a2, 0
    li      a7, 221
    ecall
    li      a7, SYS_exit
    ecall
1:  mv      s3, a0
    la      a1, status
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    la      a0, m_reaped
    jal     puts
    mv      a0, s3
    jal     puthex
    la      a0, m_status
    jal     puts
    lw      a0, status
    jal     puthex
    la      a0, m_nl
    jal     puts`).join("\n")}
    li      a0, 0
    li      a7, SYS_exit
    ecall
${ASM_LIB}`;

describe("fork + exec + wait", () => {
  const expected = [
    `worker a pid ${h(2)} ppid ${h(1)}`, `worker leaf pid ${h(3)} ppid ${h(2)}`, `reaped ${h(3)} status ${h(0x200)}`, `init reaped ${h(2)} status ${h(0x200)}`,
    `worker b pid ${h(4)} ppid ${h(1)}`, `worker leaf pid ${h(5)} ppid ${h(4)}`, `reaped ${h(5)} status ${h(0x200)}`, `init reaped ${h(4)} status ${h(0x200)}`,
  ].join("\n") + "\n";

  it("a tree of exec'd workers prints in a fixed order and every frame comes back", () => {
    const run = runKernel(TREE_INIT(["a", "b"]), { files: { worker: WORKER } });
    expect(run.stdout).toBe(expected);
    expect(run.exitCode).toBe(0);
    expect(run.exits.map((e) => e.pid)).toEqual([3, 2, 5, 4, 1]);
    expectFullReclaim(run);
  });

  it("prints the same with short time slices, 2 ASID bits (rollovers) and paranoid checks", () => {
    const run = runKernel(TREE_INIT(["a", "b"]), { files: { worker: WORKER }, timeslice: 500, asidBits: 2, debug: true });
    expect(run.stdout).toBe(expected);
    expect(run.log).toEqual([]);
    expect(run.km.kernel.asids!.stats.rollovers).toBeGreaterThan(0);
    expectFullReclaim(run);
  });
});
