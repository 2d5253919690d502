/**
 * Random user programs for the system-call fuzz suite: a straight-line sequence of actions — system
 * calls with random numbers and arguments, forks and waits, and loads and stores through kernel
 * pointers — rendered as RV64 assembly. Arguments come from a pool that aims at the kernel's checks:
 * its direct map and image mapping (the planted secret among them), the user/kernel boundary,
 * unmapped and misaligned user addresses, buffers that cross into an unmapped page, huge lengths,
 * and plain random 64-bit values. An action list is plain data, kept verbatim by regression tests.
 */
import fc from "fast-check";
import { FIRMWARE_BASE, KERNEL_BASE, MODULE_BASE } from "../../../boot/riscv64/kernel-boot.js";
import { SYS } from "../../../kernel/proc/syscalls.js";
import { directMap, imageVa, SECRET_PAS } from "./kernel-run.js";

/**
 * A register value: a constant, a label of the program's data plus an offset, or the result of
 * the previous system call (kept in s1: an mmap'd address to unmap, a child's pid, an error).
 */
export type Arg = { kind: "imm"; value: bigint } | { kind: "user"; label: Label; off: number } | { kind: "last" };
export type Action =
  | { kind: "syscall"; nr: bigint; args: Arg[] }
  | { kind: "fork" }
  | { kind: "wait"; status: Arg }
  /** A load from `addr` whose value is then written to stdout (a leak would show there). */
  | { kind: "load"; addr: Arg }
  | { kind: "store"; addr: Arg };

/** Labels of the data area (two pages, the last thing mapped: the page after `buf_end` is unmapped). */
export const LABELS = ["buf", "buf_end", "ts", "iov", "argv_kernel", "argv_ok", "path", "msg", "_start"] as const;
export type Label = (typeof LABELS)[number];

/** Physical addresses worth pointing at through the kernel's mappings. */
const KERNEL_PAS = [FIRMWARE_BASE, FIRMWARE_BASE + 0x1000, KERNEL_BASE, KERNEL_BASE + 0x1000, MODULE_BASE, 0x87e0_0000, ...SECRET_PAS];

/** Kernel addresses: direct map and image mapping of interesting and random RAM. */
const kernelAddress: fc.Arbitrary<bigint> = fc.oneof(
  fc.constantFrom(...KERNEL_PAS).map(directMap),
  fc.constantFrom(KERNEL_BASE, KERNEL_BASE + 0x100, ...SECRET_PAS.filter((pa) => pa >= KERNEL_BASE)).map(imageVa),
  fc.integer({ min: 0x8000_0000, max: 0x87ff_fff0 }).map(directMap),
  fc.integer({ min: 0, max: 0x1f_fff0 }).map((o) => imageVa(KERNEL_BASE + o)),
);

/** Values around the user/kernel boundary (Sv39 and Sv48), non-canonical and all-ones. */
const boundary: fc.Arbitrary<bigint> = fc.constantFrom(
  0x3f_ffff_f000n, 0x3f_ffff_fff8n, 0x40_0000_0000n, 0x7fff_ffff_f000n, 0x7fff_ffff_fff8n, 0x8000_0000_0000n,
  0x8000_0000_0000_0000n, 0xffff_ffff_ffff_f000n, 0xffff_ffff_ffff_ffffn, 0xffff_ffc0_0000_0000n - 8n,
);

/** Lengths: small, page-sized, limits and huge. */
const length: fc.Arbitrary<bigint> = fc.oneof(
  fc.integer({ min: 0, max: 64 }).map(BigInt),
  fc.constantFrom(4095n, 4096n, 4097n, 8192n, 1n << 20n, (1n << 20n) + 1n, 0xffff_ffffn, 1n << 32n, 1n << 63n, (1n << 64n) - 1n),
);

/** Argument pool. */
export const argArb: fc.Arbitrary<Arg> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("user" as const), label: fc.constantFrom(...LABELS), off: fc.integer({ min: -64, max: 64 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("user" as const), label: fc.constant("buf_end" as const), off: fc.integer({ min: -4100, max: 4 }) }) },
  { weight: 4, arbitrary: kernelAddress.map((value) => ({ kind: "imm" as const, value })) },
  { weight: 2, arbitrary: boundary.map((value) => ({ kind: "imm" as const, value })) },
  { weight: 3, arbitrary: length.map((value) => ({ kind: "imm" as const, value })) },
  { weight: 1, arbitrary: fc.constantFrom(0n, 1n, 2n, 3n, 0x22n, 0x32n, (1n << 64n) - 1n).map((value) => ({ kind: "imm" as const, value })) },
  { weight: 1, arbitrary: fc.constantFrom(0x1000n, 0x10_0000n, 0x7000_0000n).map((value) => ({ kind: "imm" as const, value })) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((value) => ({ kind: "imm" as const, value })) },
  { weight: 1, arbitrary: fc.constant({ kind: "last" as const }) },
);

const imm = (value: bigint): Arg => ({ kind: "imm", value });
const immArb = (values: bigint[]): fc.Arbitrary<Arg> => fc.constantFrom(...values).map(imm);
const lengthArg = length.map(imm);
/** A pointer: the pool, or the previous result. */
const pointer: fc.Arbitrary<Arg> = fc.oneof({ weight: 4, arbitrary: argArb }, { weight: 1, arbitrary: fc.constant({ kind: "last" as const }) });
const protArg = fc.nat(7).map((p) => imm(BigInt(p)));
/** mmap flags: MAP_PRIVATE|MAP_ANONYMOUS, with MAP_FIXED, or anything. */
const mmapFlags = fc.oneof(immArb([0x22n, 0x22n, 0x32n]), fc.nat({ max: 0xffff }).map((f) => imm(BigInt(f))));
const ZERO = imm(0n);

/**
 * Calls shaped like real ones (right flags, descriptors and NULLs where the kernel insists, one
 * argument from the pool), so the paths past the first check are exercised too.
 */
const shapedArb: fc.Arbitrary<Action> = fc.oneof(
  fc.tuple(immArb([1n, 2n]), pointer, lengthArg).map(([fd, buf, n]) => call(SYS.write, [fd, buf, n])),
  fc.tuple(immArb([1n, 2n]), fc.oneof(fc.constant<Arg>({ kind: "user", label: "iov", off: 0 }), pointer), immArb([1n, 2n, 3n, 4n, 1025n, 0x1_0000_0000n])).map(([fd, iov, n]) => call(SYS.writev, [fd, iov, n])),
  fc.tuple(fc.oneof(immArb([0n]), pointer), lengthArg, protArg, mmapFlags).map(([a, n, prot, f]) => call(SYS.mmap, [a, n, prot, f, imm((1n << 64n) - 1n), ZERO])),
  fc.tuple(pointer, lengthArg).map(([a, n]) => call(SYS.munmap, [a, n])),
  fc.tuple(pointer, lengthArg, protArg).map(([a, n, prot]) => call(SYS.mprotect, [a, n, prot])),
  fc.oneof(fc.constant<Arg>({ kind: "user", label: "buf_end", off: 0 }), pointer).map((a) => call(SYS.brk, [a])),
  fc.tuple(fc.oneof(fc.constant<Arg>({ kind: "user", label: "ts", off: 0 }), pointer), fc.oneof(immArb([0n]), pointer)).map(([req, rem]) => call(SYS.nanosleep, [req, rem])),
  fc.tuple(fc.oneof(fc.constant<Arg>({ kind: "user", label: "path", off: 0 }), pointer), fc.oneof(fc.constantFrom<Arg>({ kind: "user", label: "argv_ok", off: 0 }, { kind: "user", label: "argv_kernel", off: 0 }), immArb([0n]), pointer), fc.oneof(immArb([0n]), pointer))
    .map(([path, argv, envp]) => call(SYS.execve, [path, argv, envp])),
);

function call(nr: number, args: Arg[]): Action {
  return { kind: "syscall", nr: BigInt(nr), args: [...args, ...Array.from({ length: 6 - args.length }, () => ZERO)] };
}

/** The calls the kernel implements and that keep the program running (exit, clone and execve are rarer). */
const COMMON = [SYS.write, SYS.writev, SYS.nanosleep, SYS.sched_yield, SYS.getpid, SYS.getppid, SYS.brk, SYS.munmap, SYS.mmap, SYS.mprotect, SYS.wait4, SYS.execve];

const nrArb: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom(...COMMON).map(BigInt) },
  { weight: 4, arbitrary: fc.constant(BigInt(SYS.write)) },
  { weight: 1, arbitrary: fc.constantFrom(SYS.exit, SYS.exit_group, SYS.kill, SYS.clone).map(BigInt) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 1100 }).map(BigInt) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) },
);

/** write/writev favour fd 1 and a buffer argument, so output paths are exercised. */
const syscallArb: fc.Arbitrary<Action> = fc.tuple(nrArb, fc.array(argArb, { minLength: 6, maxLength: 6 }), fc.constantFrom(1n, 2n, 1n, 0n, 3n))
  .map(([nr, args, fd]) => ({ kind: "syscall" as const, nr, args: nr === BigInt(SYS.write) || nr === BigInt(SYS.writev) ? [{ kind: "imm" as const, value: fd }, ...args.slice(1)] : args }));

const probeAddress: fc.Arbitrary<Arg> = fc.oneof(kernelAddress, boundary).map((value) => ({ kind: "imm" as const, value }));

/** A program: up to `max` actions, at most two forks. */
export function actionsArb(max = 24): fc.Arbitrary<Action[]> {
  const action: fc.Arbitrary<Action> = fc.oneof(
    { weight: 15, arbitrary: syscallArb },
    { weight: 30, arbitrary: shapedArb },
    { weight: 2, arbitrary: fc.constant({ kind: "fork" as const }) },
    { weight: 4, arbitrary: argArb.map((status) => ({ kind: "wait" as const, status })) },
    { weight: 1, arbitrary: probeAddress.map((addr) => ({ kind: "load" as const, addr })) },
    { weight: 1, arbitrary: probeAddress.map((addr) => ({ kind: "store" as const, addr })) },
  );
  return fc.array(action, { minLength: 1, maxLength: max }).map((as) => {
    let forks = 0;
    return as.filter((a) => a.kind !== "fork" || ++forks <= 2);
  });
}

const hex = (v: bigint): string => "0x" + BigInt.asUintN(64, v).toString(16);

function load(reg: string, a: Arg): string {
  if (a.kind === "imm") return `    li      ${reg}, ${hex(a.value)}\n`;
  if (a.kind === "last") return `    mv      ${reg}, s1\n`;
  return `    la      ${reg}, ${a.label}\n    li      t6, ${a.off}\n    add     ${reg}, ${reg}, t6\n`;
}

/** The action as assembly. */
function render(a: Action): string {
  switch (a.kind) {
    case "syscall":
      return a.args.map((arg, i) => load(`a${i}`, arg)).join("") + `    li      a7, ${hex(a.nr)}\n    ecall\n    mv      s1, a0\n`;
    case "fork":
      return `    li      a0, 17\n    li      a1, 0\n    li      a7, ${SYS.clone}\n    ecall\n    mv      s1, a0\n`;
    case "wait":
      return `    li      a0, -1\n${load("a1", a.status)}    li      a2, 0\n    li      a7, ${SYS.wait4}\n    ecall\n    mv      s1, a0\n`;
    case "load":
      return `${load("t0", a.addr)}    ld      t1, 0(t0)\n    la      a1, buf\n    sd      t1, 0(a1)\n    li      a0, 1\n    li      a2, 8\n    li      a7, ${SYS.write}\n    ecall\n`;
    case "store":
      return `${load("t0", a.addr)}    li      t1, 0x5a5a5a5a5a5a5a5a\n    sd      t1, 0(t0)\n`;
  }
}

/**
 * The program for `actions`: the actions in order, then exit(0). Its data is two pages (the last
 * area mapped): a 20 µs timespec at `ts`, iovecs that mix user and kernel buffers at `iov`, argv
 * arrays for execve (one with a kernel pointer), the path "/t" of the ramdisk's exec target.
 */
export function programSource(actions: readonly Action[]): string {
  const secret = directMap(SECRET_PAS[0]);
  return `
    .text
    .globl _start
_start:
${actions.map(render).join("")}
    li      a0, 0
    li      a7, ${SYS.exit}
    ecall

    .data
    .balign 4096
buf:
ts:     .dword 0, 20000
iov:    .dword msg, 4, ${hex(secret)}, 16, ${hex(imageVa(KERNEL_BASE))}, 32, msg, 4
argv_kernel: .dword path, ${hex(secret)}, 0
argv_ok: .dword path, 0
path:   .asciz "/t"
msg:    .ascii "msg\\n"
    .balign 4096, 0x42
    .skip   4096, 0x42
buf_end:
`;
}

/** The ramdisk's exec target: writes "exec ok" and exits 0. */
export const EXEC_TARGET = `
    .text
    .globl _start
_start:
    li      a0, 1
    la      a1, m
    li      a2, 8
    li      a7, ${SYS.write}
    ecall
    li      a0, 0
    li      a7, ${SYS.exit}
    ecall
    .data
m:  .ascii "exec ok\\n"
`;
