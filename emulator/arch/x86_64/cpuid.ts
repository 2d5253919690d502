/**
 * CPUID: reports exactly what this CPU implements. Vendor "GenuineIntel" because where Intel and AMD
 * differ (SYSRET with a non-canonical RCX, SYSCALL from compatibility mode) this CPU does what Intel
 * does. No x87, SSE or AVX (the integer core only: code built with -mgeneral-regs-only runs), so the
 * FPU/SSE/SSE2 bits are clear. TZCNT is executed as TZCNT but BMI1 is not reported (ANDN, BEXTR and
 * the other VEX-encoded BMI1 instructions are not implemented).
 * @spec Intel SDM Vol. 2A "CPUID" (Table 3-8: leaf 01H ECX/EDX, leaf 07H EBX/ECX, 80000001H, 80000008H)
 */
import type { X86Cpu } from "./cpu.js";

/** "GenuineIntel" as EBX, EDX, ECX. */
const VENDOR = [0x756e6547, 0x49656e69, 0x6c65746e];

/** Leaf 1 EDX: TSC(4) MSR(5) PAE(6) APIC(9) PGE(13) CMOV(15) PAT(16) CLFSH(19). */
const L1_EDX = (1 << 4) | (1 << 5) | (1 << 6) | (1 << 9) | (1 << 13) | (1 << 15) | (1 << 16) | (1 << 19);
/** Leaf 1 ECX: CX16 no; PCID(17), POPCNT(23). Bit 31 (hypervisor) clear. */
const L1_ECX = (1 << 17) | (1 << 23);
/** Leaf 7 EBX: SMEP(7), INVPCID(10), SMAP(20). */
const L7_EBX = (1 << 7) | (1 << 10) | (1 << 20);
/** Leaf 7 ECX: LA57(16) when 5-level paging is supported. */
const L7_ECX_LA57 = 1 << 16;
/** 80000001H EDX: SYSCALL(11), NX(20), Page1GB(26), RDTSCP(27), LM(29). */
const E1_EDX = (1 << 11) | (1 << 20) | (1 << 26) | (1 << 27) | (1 << 29);
/** 80000001H ECX: LAHF/SAHF in 64-bit mode(0), LZCNT(5). */
const E1_ECX = (1 << 0) | (1 << 5);

/** Returns [EAX, EBX, ECX, EDX] for `leaf` / `subleaf`. Unknown leaves return zeros. */
export function cpuid(c: X86Cpu, leaf: number, subleaf: number): number[] {
  switch (leaf) {
    case 0: return [7, VENDOR[0]!, VENDOR[2]!, VENDOR[1]!];
    // Family 6, model 0x55 (a Skylake-SP-like signature), stepping 0; CLFLUSH line 8 quadwords, 1 logical CPU, APIC ID 0.
    case 1: return [0x00050650, (8 << 8) | (1 << 16), L1_ECX, L1_EDX];
    case 7: return subleaf === 0 ? [0, L7_EBX, c.mmu.la57Supported ? L7_ECX_LA57 : 0, 0] : [0, 0, 0, 0];
    case 0x80000000: return [0x80000008, 0, 0, 0];
    case 0x80000001: return [0, 0, E1_ECX, E1_EDX];
    case 0x80000008: return [c.mmu.maxPhysAddr | ((c.mmu.la57Supported ? 57 : 48) << 8), 0, 0, 0];
    default: return [0, 0, 0, 0];
  }
}
