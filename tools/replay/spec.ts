/**
 * A run as data: everything `multios run` needs to build the same machine again. A record
 * (docs/replay.md) stores one, so `multios replay` rebuilds the machine without the original files.
 */
import { bootBare, createRiscvVirt, type RiscvVirt } from "../../boot/riscv64/virt.js";
import { bootKernel } from "../../boot/riscv64/kernel-boot.js";
import { bootSbi } from "../../boot/riscv64/sbi-boot.js";
import { bootBareArm64, createArm64Virt, type Arm64Virt } from "../../boot/arm64/virt.js";
import { bootKernelArm64 } from "../../boot/arm64/kernel-boot.js";
import { bootBareX86, createX86Pc, type X86Pc } from "../../boot/x86_64/pc.js";
import { bootKernelX86 } from "../../boot/x86_64/kernel-boot.js";
import { parseTlbSpec } from "../options.js";
import { arm64Target, riscvTarget, x86Target, type ReplayTarget } from "./target.js";

/** A named file's bytes (the program, or a ramdisk file). */
export interface NamedBytes {
  name: string;
  bytes: Uint8Array;
}

/** The configuration of one run; the same spec gives the same run, instruction for instruction. */
export interface RunSpec {
  arch: "riscv64" | "arm64" | "x86_64";
  /** Bare machine (no TypeScript kernel): `image` is the ELF the hart starts in. */
  bare: boolean;
  /** With `bare`: boot `image` as an S-mode payload of the SBI firmware (boot/riscv64/sbi-boot.ts). */
  sbi?: boolean;
  /** The ELF image (bare) or the first user program (kernel). */
  image: NamedBytes;
  /** argv of the first process, argv[0] first (kernel runs). */
  args: string[];
  /** Initial ramdisk files (kernel runs). */
  files: NamedBytes[];
  /** Kernel randomness (ASLR, AT_RANDOM). */
  seed: number;
  aslr: boolean;
  /** Kernel paranoid mode. */
  debug: boolean;
  ramSize?: number;
  /** The --tlb geometry text, as given. */
  tlb?: string;
  /** riscv64 only (false elsewhere): flush on PTE writes, Svadu, Sv39 as the widest mode. */
  tlbFlushOnPteWrite: boolean;
  svadu: boolean;
  sv39: boolean;
  /** x86_64: 5-level paging from the firmware's hand-off on. */
  la57?: boolean;
  noFastPath: boolean;
  /** arm64, x86_64: run every instruction in the interpreter (no translated blocks). */
  noJit?: boolean;
  strictTlb: boolean;
  /** Instruction bound of the run (all harts together). */
  maxInsns?: number;
  /** Harts (default 1; riscv64 only, as the two below). */
  harts?: number;
  /** Seed of the random interleaving of harts; round robin when absent. */
  scheduleSeed?: number;
  /** Instructions per slice when harts interleave. */
  quantum?: number;
  /**
   * riscv64: implemented satp.ASID bits of the harts (ASIDLEN; default 16). arm64 and x86_64 (kernel
   * runs): the ASID/PCID bits the kernel uses at most (their hardware widths are fixed).
   */
  asidLen?: number;
}

/** Where a run's console bytes and kernel log lines go. */
export interface RunIo {
  console: (byte: number) => void;
  log: (line: string) => void;
}

/** A booted machine of `spec.arch`, and its record-and-replay view. */
export type Started =
  | { arch: "riscv64"; v: RiscvVirt; target: ReplayTarget }
  | { arch: "arm64"; v: Arm64Virt; target: ReplayTarget }
  | { arch: "x86_64"; v: X86Pc; target: ReplayTarget };

/** Builds and boots the machine of `spec` (throws ElfError, BootError, RangeError on bad input). */
export function startRun(spec: RunSpec, io: RunIo): Started {
  if (spec.arch === "arm64" || spec.arch === "x86_64") return startOther(spec, spec.arch, io);
  const machineOpts = {
    ...(spec.ramSize !== undefined ? { ramSize: spec.ramSize } : {}),
    tlb: parseTlbSpec(spec.tlb, spec.tlbFlushOnPteWrite),
    svadu: spec.svadu, maxPaging: spec.sv39 ? ("sv39" as const) : ("sv48" as const),
    noFastPath: spec.noFastPath, strictTlb: spec.strictTlb, console: io.console,
    ...(spec.harts !== undefined ? { harts: spec.harts } : {}),
    ...(spec.asidLen !== undefined ? { asidLen: spec.asidLen } : {}),
    schedule: {
      ...(spec.scheduleSeed !== undefined ? { seed: spec.scheduleSeed } : {}),
      ...(spec.quantum !== undefined ? { quantum: spec.quantum } : {}),
    },
  };
  let v: RiscvVirt;
  if (spec.bare) {
    v = createRiscvVirt(machineOpts);
    if (spec.sbi) bootSbi(v, spec.image.bytes, io.log);
    else bootBare(v, spec.image.bytes);
  } else {
    v = bootKernel({
      ...machineOpts, program: spec.image.bytes, args: spec.args, files: spec.files,
      seed: spec.seed, aslr: spec.aslr, debug: spec.debug, log: io.log,
    });
  }
  return { arch: "riscv64", v, target: riscvTarget(v.machine) };
}

/** The machine options for several CPUs of `spec`: how many, and how they interleave. */
function smpOptions(spec: RunSpec): { harts?: number; schedule: { seed?: number; quantum?: number } } {
  return {
    ...(spec.harts !== undefined ? { harts: spec.harts } : {}),
    schedule: {
      ...(spec.scheduleSeed !== undefined ? { seed: spec.scheduleSeed } : {}),
      ...(spec.quantum !== undefined ? { quantum: spec.quantum } : {}),
    },
  };
}

/** arm64-virt and x86_64-pc: bare, or the kernel running the program, on one CPU or several. */
function startOther(spec: RunSpec, arch: "arm64" | "x86_64", io: RunIo): Started {
  const machineOpts = {
    ...(spec.ramSize !== undefined ? { ramSize: spec.ramSize } : {}),
    ...(spec.tlb !== undefined ? { tlb: parseTlbSpec(spec.tlb) } : {}),
    noFastPath: spec.noFastPath, strictTlb: spec.strictTlb, console: io.console,
  };
  // The ASID width of these machines is fixed (arm64 16 bits, x86_64 12-bit PCIDs): `asidLen` caps
  // what the kernel uses instead (KernelOptions.asidBits), to force rollovers.
  const kernelOpts = {
    program: spec.image.bytes, args: spec.args, files: spec.files, seed: spec.seed, aslr: spec.aslr, debug: spec.debug, log: io.log,
    ...(spec.asidLen !== undefined ? { asidBits: spec.asidLen } : {}),
  };
  const { harts, schedule } = smpOptions(spec);
  if (arch === "arm64") {
    const smp = { ...(harts !== undefined ? { cpus: harts } : {}), schedule, noJit: spec.noJit ?? false };
    let v: Arm64Virt;
    if (spec.bare) {
      v = createArm64Virt({ ...machineOpts, ...smp });
      bootBareArm64(v, spec.image.bytes);
    } else v = bootKernelArm64({ ...machineOpts, ...smp, ...kernelOpts });
    return { arch, v, target: arm64Target(v.machine) };
  }
  const la57 = spec.la57 ?? false;
  const smp = { ...(harts !== undefined ? { harts } : {}), schedule, noJit: spec.noJit ?? false };
  let pc: X86Pc;
  if (spec.bare) {
    pc = createX86Pc({ ...machineOpts, la57, ...smp });
    bootBareX86(pc, spec.image.bytes);
  } else pc = bootKernelX86({ ...machineOpts, ...smp, ...kernelOpts, la57 });
  return { arch, v: pc, target: x86Target(pc.machine) };
}
