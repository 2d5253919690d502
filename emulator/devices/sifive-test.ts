/**
 * SiFive test finisher ("sifive,test0"/"sifive,test1", QEMU hw/misc/sifive_test.c): the guest
 * ends the run by writing a status word at offset 0.
 *
 * ```
 *   bits 15:0   0x5555 pass (exit code 0) | 0x3333 fail | 0x7777 reset; other values are ignored
 *   bits 31:16  exit code for fail
 * ```
 * Writes of 2 or 4 bytes at offset 0 act (a 2-byte write has code 0); everything else is ignored.
 * Reads return 0.
 */
import type { MmioDevice } from "../core/memory.js";

/** Status values (bits 15:0 of the word written at offset 0). */
export const FINISHER_FAIL = 0x3333, FINISHER_PASS = 0x5555, FINISHER_RESET = 0x7777;

/** What the guest asked for. */
export type FinisherKind = "pass" | "fail" | "reset";

/** The test finisher; `onFinish` receives each recognised request. */
export class SifiveTest implements MmioDevice {
  readonly name = "sifive-test";

  /** @param onFinish called with the request and its exit code (0 for pass and reset) */
  constructor(private readonly onFinish: (kind: FinisherKind, code: number) => void) {}

  /** Reads return 0. */
  read(_offset: number, _size: 1 | 2 | 4): number {
    return 0;
  }

  /** Acts on a 2- or 4-byte write at offset 0 (see the file comment). */
  write(offset: number, size: 1 | 2 | 4, value: number): void {
    if (offset !== 0 || size === 1) return;
    const status = value & 0xffff;
    const code = size === 4 ? value >>> 16 : 0;
    if (status === FINISHER_PASS) this.onFinish("pass", 0);
    else if (status === FINISHER_FAIL) this.onFinish("fail", code);
    else if (status === FINISHER_RESET) this.onFinish("reset", 0);
  }
}
