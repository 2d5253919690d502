/** SBI extension ids and error codes. @spec RISC-V SBI specification v2.0 §3 "Binary Encoding", table "Standard SBI Errors" */

/** SBI extension ids. */
export const SBI_EXT = {
  LEGACY_PUTCHAR: 0x01,
  BASE: 0x10,
  TIME: 0x54494d45,
  IPI: 0x735049,
  RFENCE: 0x52464e43,
  HSM: 0x48534d,
  SRST: 0x53525354,
  DBCN: 0x4442434e,
} as const;

/** SBI error codes (returned in a0). */
export const SBI_SUCCESS = 0n;
export const SBI_ERR_FAILED = -1n;
export const SBI_ERR_NOT_SUPPORTED = -2n;
export const SBI_ERR_INVALID_PARAM = -3n;
export const SBI_ERR_ALREADY_AVAILABLE = -6n;

/** An SBI call's result: a0 (error) and, when the call defines one, a1 (value). */
export type SbiReturn = [bigint, bigint | undefined];
