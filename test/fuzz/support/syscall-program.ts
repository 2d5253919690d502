/**
 * Random user programs for the system-call fuzz suite: a straight-line sequence of actions — system
 * calls with random numbers and arguments, forks and waits, and loads and stores through kernel
 * pointers — rendered as RV64 assembly. Arguments come from a pool that aims at the kernel's checks:
 * its direct map and image mapping (the planted secret among them), the user/kernel boundary,
 * unmapped and misaligned user addresses, buffers that cross into an unmapped page, huge lengths,
 * and plain random 64-bit values. An action list is plain data, kept verbatim by regression tests.
 *
 * One generator serves the three architectures: {@link syscallFuzz} takes the machine
 * (kernel-targets.ts: its kernel addresses) and the dialect (syscall-asm.ts: its numbers and
 * registers); the system-call numbers in an action are the architecture's own.
 */
import fc from "fast-check";
import { directMapOf, type FuzzArch, imageVaOf, KERNEL_TARGETS, type KernelTarget } from "./kernel-targets.js";
import { type SyscallDialect, SYSCALL_DIALECTS, type SysNumbers } from "./syscall-asm.js";

/**
 * A register value: a constant, a label of the program's data plus an offset, or the result of
 * the previous system call (kept in a callee-saved register: an mmap'd address to unmap, a child's pid, an error).
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

/** Lengths: small, page-sized, limits and huge. */
const length: fc.Arbitrary<bigint> = fc.oneof(
  fc.integer({ min: 0, max: 64 }).map(BigInt),
  fc.constantFrom(4095n, 4096n, 4097n, 8192n, 1n << 20n, (1n << 20n) + 1n, 0xffff_ffffn, 1n << 32n, 1n << 63n, (1n << 64n) - 1n),
);

const imm = (value: bigint): Arg => ({ kind: "imm", value });
const immArb = (values: bigint[]): fc.Arbitrary<Arg> => fc.constantFrom(...values).map(imm);
const lengthArg = length.map(imm);
const protArg = fc.nat(7).map((p) => imm(BigInt(p)));
/** mmap flags: MAP_PRIVATE|MAP_ANONYMOUS, with MAP_FIXED, or anything. */
const mmapFlags = fc.oneof(immArb([0x22n, 0x22n, 0x32n]), fc.nat({ max: 0xffff }).map((f) => imm(BigInt(f))));
const ZERO = imm(0n);

function call(nr: number, args: Arg[]): Action {
  return { kind: "syscall", nr: BigInt(nr), args: [...args, ...Array.from({ length: 6 - args.length }, () => ZERO)] };
}

/** The generators and the renderer of one architecture. */
export interface SyscallFuzz {
  target: KernelTarget;
  dialect: SyscallDialect;
  /** The argument pool. */
  argArb: fc.Arbitrary<Arg>;
  /** A program: up to `max` actions, at most two forks. */
  actionsArb(max?: number): fc.Arbitrary<Action[]>;
  /** The program for `actions` (see {@link programSource}). */
  programSource(actions: readonly Action[]): string;
  /** The ramdisk's exec target, assembled: writes "exec ok" and exits 0. */
  execTarget(): Uint8Array;
}

/** Values around the user/kernel boundary (Sv39, Sv48, 4- and 5-level x86 paging), non-canonical and all-ones. */
function boundaryValues(t: KernelTarget): bigint[] {
  const shared = [
    0x3f_ffff_f000n, 0x3f_ffff_fff8n, 0x40_0000_0000n, 0x7fff_ffff_f000n, 0x7fff_ffff_fff8n, 0x8000_0000_0000n,
    0x8000_0000_0000_0000n, 0xffff_ffff_ffff_f000n, 0xffff_ffff_ffff_ffffn, t.physicalOffset - 8n,
  ];
  return t.arch === "riscv64" ? shared : [...shared, 0x00ff_ffff_ffff_f000n, 0x0100_0000_0000_0000n, 0xffff_7fff_ffff_f000n];
}

/** The system-call fuzz generators for `arch`. */
export function syscallFuzz(arch: FuzzArch): SyscallFuzz {
  const t = KERNEL_TARGETS[arch], d = SYSCALL_DIALECTS[arch], sys: SysNumbers = d.sys;
  const directMap = (pa: number): bigint => directMapOf(t, pa);
  const imageVa = (pa: number): bigint => imageVaOf(t, pa);
  const inImage = (pa: number): boolean => pa >= t.kernelBase && pa < t.kernelBase + 0x20_0000;

  /** Kernel addresses: direct map and image mapping of interesting and random RAM. */
  const kernelAddress: fc.Arbitrary<bigint> = fc.oneof(
    fc.constantFrom(...t.kernelPas, ...t.secretPas).map(directMap),
    fc.constantFrom(t.kernelBase, t.kernelBase + 0x100, ...t.secretPas.filter(inImage)).map(imageVa),
    fc.integer({ min: t.ramBase, max: t.ramBase + 0x7ff_fff0 }).map(directMap),
    fc.integer({ min: 0, max: 0x1f_fff0 }).map((o) => imageVa(t.kernelBase + o)),
  );
  const boundary: fc.Arbitrary<bigint> = fc.constantFrom(...boundaryValues(t));

  const argArb: fc.Arbitrary<Arg> = fc.oneof(
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

  /** A pointer: the pool, or the previous result. */
  const pointer: fc.Arbitrary<Arg> = fc.oneof({ weight: 4, arbitrary: argArb }, { weight: 1, arbitrary: fc.constant({ kind: "last" as const }) });

  /**
   * Calls shaped like real ones (right flags, descriptors and NULLs where the kernel insists, one
   * argument from the pool), so the paths past the first check are exercised too.
   */
  const shapedArb: fc.Arbitrary<Action> = fc.oneof(
    fc.tuple(immArb([1n, 2n]), pointer, lengthArg).map(([fd, buf, n]) => call(sys.write, [fd, buf, n])),
    fc.tuple(immArb([1n, 2n]), fc.oneof(fc.constant<Arg>({ kind: "user", label: "iov", off: 0 }), pointer), immArb([1n, 2n, 3n, 4n, 1025n, 0x1_0000_0000n])).map(([fd, iov, n]) => call(sys.writev, [fd, iov, n])),
    fc.tuple(fc.oneof(immArb([0n]), pointer), lengthArg, protArg, mmapFlags).map(([a, n, prot, f]) => call(sys.mmap, [a, n, prot, f, imm((1n << 64n) - 1n), ZERO])),
    fc.tuple(pointer, lengthArg).map(([a, n]) => call(sys.munmap, [a, n])),
    fc.tuple(pointer, lengthArg, protArg).map(([a, n, prot]) => call(sys.mprotect, [a, n, prot])),
    fc.oneof(fc.constant<Arg>({ kind: "user", label: "buf_end", off: 0 }), pointer).map((a) => call(sys.brk, [a])),
    fc.tuple(fc.oneof(fc.constant<Arg>({ kind: "user", label: "ts", off: 0 }), pointer), fc.oneof(immArb([0n]), pointer)).map(([req, rem]) => call(sys.nanosleep, [req, rem])),
    fc.tuple(fc.oneof(fc.constant<Arg>({ kind: "user", label: "path", off: 0 }), pointer), fc.oneof(fc.constantFrom<Arg>({ kind: "user", label: "argv_ok", off: 0 }, { kind: "user", label: "argv_kernel", off: 0 }), immArb([0n]), pointer), fc.oneof(immArb([0n]), pointer))
      .map(([path, argv, envp]) => call(sys.execve, [path, argv, envp])),
  );

  /** The calls the kernel implements and that keep the program running (exit, clone and execve are rarer). */
  const common = [sys.write, sys.writev, sys.nanosleep, sys.sched_yield, sys.getpid, sys.getppid, sys.brk, sys.munmap, sys.mmap, sys.mprotect, sys.wait4, sys.execve];
  const nrArb: fc.Arbitrary<bigint> = fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(...common).map(BigInt) },
    { weight: 4, arbitrary: fc.constant(BigInt(sys.write)) },
    { weight: 1, arbitrary: fc.constantFrom(sys.exit, sys.exit_group, sys.kill, sys.clone).map(BigInt) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 1100 }).map(BigInt) },
    { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) },
  );

  /** write/writev favour fd 1 and a buffer argument, so output paths are exercised. */
  const syscallArb: fc.Arbitrary<Action> = fc.tuple(nrArb, fc.array(argArb, { minLength: 6, maxLength: 6 }), fc.constantFrom(1n, 2n, 1n, 0n, 3n))
    .map(([nr, args, fd]) => ({ kind: "syscall" as const, nr, args: nr === BigInt(sys.write) || nr === BigInt(sys.writev) ? [{ kind: "imm" as const, value: fd }, ...args.slice(1)] : args }));

  const probeAddress: fc.Arbitrary<Arg> = fc.oneof(kernelAddress, boundary).map((value) => ({ kind: "imm" as const, value }));

  function actionsArb(max = 24): fc.Arbitrary<Action[]> {
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

  const load = (reg: string, a: Arg): string => (a.kind === "imm" ? d.imm(reg, a.value) : a.kind === "last" ? d.last(reg) : d.addr(reg, a.label, a.off));
  const callWith = (nr: number, args: Arg[]): string => args.map((arg, i) => load(d.args[i]!, arg)).join("") + d.call(BigInt(nr));

  /** The action as assembly. */
  function render(a: Action): string {
    switch (a.kind) {
      case "syscall":
        return a.args.map((arg, i) => load(d.args[i]!, arg)).join("") + d.call(a.nr);
      case "fork":
        return callWith(sys.clone, [imm(17n), ZERO]);
      case "wait":
        return callWith(sys.wait4, [imm(-1n), a.status, ZERO]);
      case "load":
        return load(d.ptr, a.addr) + d.load();
      case "store":
        return load(d.ptr, a.addr) + d.store();
    }
  }

  /**
   * The program for `actions`: the actions in order, then exit(0). Its data is two pages (the last
   * area mapped): a 20 µs timespec at `ts`, iovecs that mix user and kernel buffers at `iov`, argv
   * arrays for execve (one with a kernel pointer), the path "/t" of the ramdisk's exec target.
   */
  function programSource(actions: readonly Action[]): string {
    const secret = directMap(t.secretPas[0]!), q = d.quad;
    return `
    .text
    .globl _start
_start:
${actions.map(render).join("")}${callWith(sys.exit, [ZERO])}
    .data
    .balign 4096
buf:
ts:     ${q} 0, 20000
iov:    ${q} msg, 4, ${hex(secret)}, 16, ${hex(imageVa(t.kernelBase))}, 32, msg, 4
argv_kernel: ${q} path, ${hex(secret)}, 0
argv_ok: ${q} path, 0
path:   .asciz "/t"
msg:    .ascii "msg\\n"
    .balign 4096, 0x42
    .skip   4096, 0x42
buf_end:
`;
  }

  function execTarget(): Uint8Array {
    const source = `
    .text
    .globl _start
_start:
${d.imm(d.args[0]!, 1n)}${d.addr(d.args[1]!, "m", 0)}${d.imm(d.args[2]!, 8n)}${d.call(BigInt(sys.write))}${callWith(sys.exit, [ZERO])}
    .data
m:  .ascii "exec ok\\n"
`;
    return d.assemble(source, "t.S");
  }

  return { target: t, dialect: d, argArb, actionsArb, programSource, execTarget };
}

const hex = (v: bigint): string => "0x" + BigInt.asUintN(64, v).toString(16);
