/**
 * MultiOS library API: build machines, boot images, run them, and read what happened.
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
export { RiscvMachine, type RunResult, type RunOptions, type StopReason } from "./emulator/arch/riscv64/machine.js";
export { formatStaleTlbReport, type StaleTlbReport } from "./emulator/arch/riscv64/stale-tlb.js";
export { CAUSE, CSR, PTE, MSTATUS, PRV_U, PRV_S, PRV_M } from "./emulator/arch/riscv64/defs.js";
export { causeName } from "./emulator/arch/riscv64/causes.js";
export { createRiscvVirt, bootBare, type RiscvVirt, type RiscvVirtOptions } from "./boot/riscv64/virt.js";
export { parseElf, loadElfPhysical, ElfError, type ElfImage, type ElfSegment } from "./boot/elf.js";
export { buildFdt, parseFdt, type FdtNode } from "./boot/fdt.js";
export { assembleRiscv64, AsmError, type AsmResult, type AsmOptions } from "./tools/asm/riscv64/index.js";
export { bootKernel, type KernelBootOptions, type KernelMachine } from "./boot/riscv64/kernel-boot.js";
export { Kernel, type KernelOptions } from "./kernel/kernel.js";
