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

/** Return codes. */
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
  /** CPU_OFF of the only CPU: nothing is left to run. */
  cpuOff(): void;
  /** MULTIOS_EXIT: end the run with `status` (X1); without it the call is NOT_SUPPORTED. */
  exit?(status: number): void;
}

/**
 * The HVC/SMC handler: every call is a PSCI call (function ID in W0, whatever the immediate), as
 * QEMU 7.2 treats HVC on `virt`, or {@link MULTIOS_EXIT} when the host supports it; unknown IDs
 * return NOT_SUPPORTED in X0.
 */
export function psciCall(host: PsciHost): (cpu: Arm64Cpu, imm16: number, smc: boolean) => boolean {
  return (cpu) => {
    const fn = cpu.xl[0]! >>> 0;
    const arg = (i: number): number => cpu.xl[i]! >>> 0;
    let ret: number;
    switch (fn) {
      case PSCI.VERSION: ret = PSCI_VERSION_1_1; break;
      case PSCI.CPU_SUSPEND: case PSCI.CPU_SUSPEND64: ret = PSCI_SUCCESS; break;
      case PSCI.CPU_OFF: host.cpuOff(); ret = PSCI_SUCCESS; break;
      case PSCI.CPU_ON: case PSCI.CPU_ON64:
        ret = (arg(1) & 0xffffff) === (cpu.mpidr & 0xffffff) ? PSCI_ALREADY_ON : PSCI_INVALID_PARAMETERS;
        break;
      case PSCI.AFFINITY_INFO: case PSCI.AFFINITY_INFO64:
        ret = (arg(1) & 0xffffff) === (cpu.mpidr & 0xffffff) ? 0 : PSCI_INVALID_PARAMETERS;
        break;
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
