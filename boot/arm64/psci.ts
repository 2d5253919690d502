/**
 * PSCI firmware for the `arm64-virt` machine, reached by HVC #0 or SMC #0 from EL1 with the
 * function ID in W0 (SMC Calling Convention). QEMU's `virt` board implements PSCI itself in the
 * same way (target/arm/psci.c) since there is no EL2/EL3 firmware.
 * @spec Arm Power State Coordination Interface (DEN0022D), §5 "PSCI functions" and §5.1 IDs
 */
import type { Arm64Cpu } from "../../emulator/arch/arm64/cpu.js";

/** Function IDs (SMC32 0x8400_00xx, SMC64 0xC400_00xx). */
export const PSCI = {
  VERSION: 0x84000000,
  CPU_SUSPEND: 0x84000001, CPU_SUSPEND64: 0xc4000001,
  CPU_OFF: 0x84000002,
  CPU_ON: 0x84000003, CPU_ON64: 0xc4000003,
  AFFINITY_INFO: 0x84000004, AFFINITY_INFO64: 0xc4000004,
  MIGRATE_INFO_TYPE: 0x84000006,
  SYSTEM_OFF: 0x84000008,
  SYSTEM_RESET: 0x84000009,
  FEATURES: 0x8400000a,
} as const;

/**
 * MultiOS's vendor call "power off with exit status X1" (SMC32 fast call, OEN 6: vendor-specific
 * hypervisor service), what the kernel uses to end a run with a non-zero status.
 * @spec Arm DEN0028 SMCCC §6.1 "Function Identifier" (bit 31 fast call, OEN 29:24, 0x06 vendor hypervisor)
 */
export const MULTIOS_EXIT = 0x86000001;

/** Return codes. @spec DEN0022D §5.2.2 "Return error codes" */
export const PSCI_SUCCESS = 0, PSCI_NOT_SUPPORTED = -1, PSCI_INVALID_PARAMETERS = -2, PSCI_ALREADY_ON = -4;
/** PSCI 1.1 (major 1, minor 1), what QEMU 7.2 reports. */
export const PSCI_VERSION_1_1 = 0x10001;
/** MIGRATE_INFO_TYPE: no Trusted OS needing migration. */
const TOS_NOT_PRESENT = 2;

const IMPLEMENTED = new Set<number>(Object.values(PSCI));

/** What the firmware asks of the machine. */
export interface PsciHost {
  /** SYSTEM_OFF: end the run with exit 0. */
  systemOff(): void;
  /** SYSTEM_RESET: restart the machine. */
  systemReset(): void;
  /** CPU_OFF of the last PE that was on: nothing is left to run. */
  cpuOff(cpu: Arm64Cpu): void;
  /** MULTIOS_EXIT: end the run with `status` (X1); without it the call is NOT_SUPPORTED. */
  exit?(status: number): void;
  /**
   * The PEs CPU_ON, CPU_OFF and AFFINITY_INFO act on, and which are powered off (by PE number):
   * the machine (Arm64Machine has both). Without it the calling PE is the only one.
   */
  power?: { readonly cpus: readonly Arm64Cpu[]; readonly off: Uint8Array };
}

/** AFFINITY_INFO results. */
export const AFFINITY_ON = 0, AFFINITY_OFF = 1;

/**
 * The HVC/SMC handler: every call is a PSCI call (function ID in W0, whatever the immediate), as
 * QEMU 7.2 treats HVC on `virt`, or {@link MULTIOS_EXIT} when the host supports it; unknown IDs
 * return NOT_SUPPORTED in X0.
 */
export function psciCall(host: PsciHost): (cpu: Arm64Cpu, imm16: number, smc: boolean) => boolean {
  return (cpu) => {
    const fn = cpu.xl[0]! >>> 0;
    const arg = (i: number): number => cpu.xl[i]! >>> 0;
    /** Argument `i` as an SMC64 (bits 63:0) or SMC32 (bits 31:0) value, by the function ID's bit 30. */
    const argHi = (i: number): number => (fn & 0x40000000) !== 0 ? cpu.xh[i]! >>> 0 : 0;
    const cpus = host.power?.cpus ?? [cpu];
    const off = host.power?.off ?? new Uint8Array(cpus.length);
    const target = (i: number): Arm64Cpu | undefined => findCpu(cpus, arg(i), argHi(i));
    let ret: number;
    switch (fn) {
      case PSCI.VERSION: ret = PSCI_VERSION_1_1; break;
      case PSCI.CPU_SUSPEND: case PSCI.CPU_SUSPEND64: ret = PSCI_SUCCESS; break;
      case PSCI.CPU_OFF:
        if (cpus.every((c) => c === cpu || off[c.index])) host.cpuOff(cpu);
        else {
          off[cpu.index] = 1;
          cpu.stopAt = 0;
        }
        ret = PSCI_SUCCESS;
        break;
      case PSCI.CPU_ON: case PSCI.CPU_ON64: {
        const t = target(1);
        if (t === undefined) ret = PSCI_INVALID_PARAMETERS;
        else if (!off[t.index]) ret = PSCI_ALREADY_ON;
        else {
          powerOn(t, arg(2), argHi(2), arg(3), argHi(3));
          off[t.index] = 0;
          ret = PSCI_SUCCESS;
        }
        break;
      }
      case PSCI.AFFINITY_INFO: case PSCI.AFFINITY_INFO64: {
        // Only affinity level 0 (one PE) is supported, as QEMU does.
        const t = target(1);
        ret = t === undefined || arg(2) !== 0 || argHi(2) !== 0 ? PSCI_INVALID_PARAMETERS : off[t.index] ? AFFINITY_OFF : AFFINITY_ON;
        break;
      }
      case PSCI.MIGRATE_INFO_TYPE: ret = TOS_NOT_PRESENT; break;
      case PSCI.SYSTEM_OFF: host.systemOff(); ret = PSCI_SUCCESS; break;
      case PSCI.SYSTEM_RESET: host.systemReset(); ret = PSCI_SUCCESS; break;
      case MULTIOS_EXIT:
        if (!host.exit) { ret = PSCI_NOT_SUPPORTED; break; }
        host.exit(arg(1));
        ret = PSCI_SUCCESS;
        break;
      case PSCI.FEATURES: ret = IMPLEMENTED.has(arg(1)) ? PSCI_SUCCESS : PSCI_NOT_SUPPORTED; break;
      default: ret = PSCI_NOT_SUPPORTED; break;
    }
    cpu.xl[0] = ret;
    cpu.xh[0] = ret >> 31;
    return true;
  };
}

/**
 * The PE whose affinity is `target_cpu` (hi:lo): Aff3 in bits 39:32, Aff2..Aff0 in bits 23:0, every
 * other bit zero — compared exactly with MPIDR_EL1's affinity fields, as QEMU's arm_get_cpu_by_id.
 * @spec DEN0022D §5.1.4 "CPU_ON" target_cpu, §5.1.5 "AFFINITY_INFO" target_affinity
 */
function findCpu(cpus: readonly Arm64Cpu[], lo: number, hi: number): Arm64Cpu | undefined {
  if (hi !== 0 || (lo & 0xff000000) !== 0) return undefined;
  return cpus.find((c) => (c.mpidr & 0xffffff) === lo);
}

/**
 * CPU_ON's entry state: the PE resets (registers zero, SCTLR_EL1 at its reset value: MMU and caches
 * off, DAIF masked, its TLB and exclusive monitor empty) and starts at `entry` in EL1h with X0 =
 * `context_id`, like QEMU's arm_set_cpu_on (which resets the CPU, then sets PC and X0).
 * @spec DEN0022D §5.1.4 "CPU_ON" and §6.4 "Caller responsibilities" (on power-up the core starts
 *   at entry_point_address with context_id in X0, MMU and caches off, interrupts masked)
 */
function powerOn(c: Arm64Cpu, entryLo: number, entryHi: number, ctxLo: number, ctxHi: number): void {
  c.reset(entryLo | 0, entryHi | 0, 0);
  c.xl[0] = ctxLo | 0;
  c.xh[0] = ctxHi | 0;
  c.waiting = false;
  c.halted = false;
}
