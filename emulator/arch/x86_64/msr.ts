/**
 * RDMSR/WRMSR: the MSRs a 64-bit kernel needs. An unknown MSR, a reserved bit, or a non-canonical
 * base or entry point is #GP(0) (the caller raises it when these return undefined/false).
 * IA32_APIC_BASE reads 0xFEE00900 (base 0xFEE00000, enabled, BSP) and ignores writes: the local APIC
 * cannot be moved or disabled here (docs/x86_64.md).
 * @spec Intel SDM Vol. 4 (Table 2-2 IA-32 architectural MSRs); Vol. 3A §5.8.8 (SYSCALL MSRs)
 */
import type { X86Cpu } from "./cpu.js";
import { MSR } from "./defs.js";
import { eferWriteFaults } from "./mmu-regs.js";

const lo32 = (v: bigint): number => Number(v & 0xffffffffn) | 0;
const hi32 = (v: bigint): number => Number((v >> 32n) & 0xffffffffn) | 0;

/** Whether `v` is canonical for the current linear-address width. */
function canonical(c: X86Cpu, v: bigint): boolean {
  const bits = (c.mmu.cr4Lo & (1 << 12)) !== 0 ? 57n : 48n;
  const top = BigInt.asIntN(64, v) >> (bits - 1n);
  return top === 0n || top === -1n;
}

/** The value of MSR `n`, or undefined (#GP) for an MSR this CPU does not have. */
export function rdmsr(c: X86Cpu, n: number): bigint | undefined {
  switch (n) {
    case MSR.TSC: return BigInt.asUintN(64, BigInt(c.time()) + c.tscOffset);
    case MSR.APIC_BASE: return 0xfee00900n;
    case MSR.PAT: return c.pat;
    case MSR.EFER: return c.mmu.efer;
    case MSR.STAR: return c.star;
    case MSR.LSTAR: return c.lstar;
    case MSR.CSTAR: return c.cstar;
    case MSR.FMASK: return c.fmask;
    case MSR.FS_BASE: return c.fsBase;
    case MSR.GS_BASE: return c.gsBase;
    case MSR.KERNEL_GS_BASE: return c.kernelGsBase;
    case MSR.TSC_AUX: return c.tscAux;
    default: return undefined;
  }
}

/** Writes MSR `n`; false means #GP(0). */
export function wrmsr(c: X86Cpu, n: number, v: bigint): boolean {
  switch (n) {
    case MSR.TSC: c.tscOffset = v - BigInt(c.time()); return true;
    case MSR.APIC_BASE: return true;
    case MSR.PAT: c.pat = v; return true;
    case MSR.EFER:
      if (eferWriteFaults(c.mmu, lo32(v), hi32(v))) return false;
      c.mmu.writeEfer(lo32(v), hi32(v));
      c.contextChanged();
      return true;
    case MSR.STAR: c.star = v; return true;
    case MSR.LSTAR: if (!canonical(c, v)) return false; c.lstar = v; return true;
    case MSR.CSTAR: if (!canonical(c, v)) return false; c.cstar = v; return true;
    case MSR.FMASK: if (v >> 32n !== 0n) return false; c.fmask = v; return true;
    case MSR.FS_BASE: if (!canonical(c, v)) return false; c.setFsBase(v); return true;
    case MSR.GS_BASE: if (!canonical(c, v)) return false; c.setGsBase(v); return true;
    case MSR.KERNEL_GS_BASE: if (!canonical(c, v)) return false; c.kernelGsBase = v; return true;
    case MSR.TSC_AUX: if (v >> 32n !== 0n) return false; c.tscAux = v; return true;
    default: return false;
  }
}
