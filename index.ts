/**
 * MultiOS library API: build machines (riscv64-virt, arm64-virt, x86_64-pc), boot images, run them,
 * and read what happened.
 *
 * ```ts
 * const v = createRiscvVirt({ console: (b) => out.push(b) });
 * bootBare(v, assembleRiscv64(source).elf);
 * const result = v.machine.run({ maxInsns: 1e7 });
 * ```
 */
export { Bus, SparseRam, type MmioDevice, type BusRegion } from "./emulator/core/memory.js";
export { Tlb, TlbSet, DEFAULT_TLB, type TlbConfig, type TlbGeometry, type TlbEntry, type TlbScope } from "./emulator/core/tlb.js";
export type { TraceEvent, TraceSink, TrapTraceEvent, TlbFillTraceEvent, TlbInvalidateTraceEvent, WalkStepTrace } from "./emulator/core/trace.js";
export { Hart, type HartOptions } from "./emulator/arch/riscv64/hart.js";
export { Mmu, SV39, SV48, type PagingMode } from "./emulator/arch/riscv64/mmu.js";
export { RiscvMachine } from "./emulator/arch/riscv64/machine.js";
export type { RunResult, RunOptions, StopReason } from "./emulator/core/run.js";
export { Schedule, type ScheduleOptions } from "./emulator/core/schedule.js";
export { Digest, ramDigest } from "./emulator/core/digest.js";
export { formatStaleTlbReport, type StaleTlbReport } from "./emulator/arch/riscv64/stale-tlb.js";
export { CAUSE, CSR, PTE, MSTATUS, PRV_U, PRV_S, PRV_M } from "./emulator/arch/riscv64/defs.js";
export { causeName } from "./emulator/arch/riscv64/causes.js";
export { createRiscvVirt, bootBare, MAX_HARTS, type RiscvVirt, type RiscvVirtOptions } from "./boot/riscv64/virt.js";
export { bootSbi, SBI_PAYLOAD_BASE } from "./boot/riscv64/sbi-boot.js";
export { createArm64Virt, bootBareArm64, type Arm64Virt, type Arm64VirtOptions } from "./boot/arm64/virt.js";
export { Arm64Mmu } from "./emulator/arch/arm64/mmu.js";
export { createX86Pc, bootBareX86, type X86Pc, type X86PcOptions } from "./boot/x86_64/pc.js";
export { X86Mmu } from "./emulator/arch/x86_64/mmu.js";
export { parseElf, loadElfPhysical, ElfError, type ElfImage, type ElfSegment } from "./boot/elf.js";
export { buildFdt, parseFdt, type FdtNode } from "./boot/fdt.js";
export { assembleRiscv64, AsmError, type AsmResult, type AsmOptions } from "./tools/asm/riscv64/index.js";
export { assembleArm64 } from "./tools/asm/arm64/index.js";
export { assembleX86_64 } from "./tools/asm/x86_64/index.js";
export { bootKernel, type KernelBootOptions, type KernelMachine } from "./boot/riscv64/kernel-boot.js";
export { Kernel, type KernelOptions } from "./kernel/kernel.js";
