/**
 * A run as data: everything `multios run` needs to build the same machine again. A record
 * (docs/replay.md) stores one, so `multios replay` rebuilds the machine without the original files.
 */
import { bootBare, createRiscvVirt, type RiscvVirt } from "../../boot/riscv64/virt.js";
import { bootKernel } from "../../boot/riscv64/kernel-boot.js";
import { bootSbi } from "../../boot/riscv64/sbi-boot.js";
import { parseTlbSpec } from "../options.js";

/** A named file's bytes (the program, or a ramdisk file). */
export interface NamedBytes {
  name: string;
  bytes: Uint8Array;
}

/** The configuration of one run; the same spec gives the same run, instruction for instruction. */
export interface RunSpec {
  arch: "riscv64";
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
  tlbFlushOnPteWrite: boolean;
  svadu: boolean;
  sv39: boolean;
  noFastPath: boolean;
  strictTlb: boolean;
  /** Instruction bound of the run (all harts together). */
  maxInsns?: number;
  /** Harts (default 1). */
  harts?: number;
  /** Seed of the random interleaving of harts; round robin when absent. */
  scheduleSeed?: number;
  /** Instructions per slice when harts interleave. */
  quantum?: number;
  /** Implemented satp.ASID bits of the harts (ASIDLEN; default 16). */
  asidLen?: number;
}

/** Where a run's console bytes and kernel log lines go. */
export interface RunIo {
  console: (byte: number) => void;
  log: (line: string) => void;
}

/** Builds and boots the machine of `spec` (throws ElfError, BootError, RangeError on bad input). */
export function startRun(spec: RunSpec, io: RunIo): RiscvVirt {
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
  if (spec.bare) {
    const v = createRiscvVirt(machineOpts);
    if (spec.sbi) bootSbi(v, spec.image.bytes, io.log);
    else bootBare(v, spec.image.bytes);
    return v;
  }
  return bootKernel({
    ...machineOpts, program: spec.image.bytes, args: spec.args, files: spec.files,
    seed: spec.seed, aslr: spec.aslr, debug: spec.debug, log: io.log,
  });
}
