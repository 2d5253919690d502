/**
 * MultiOS's exit port: a byte written to it ends the run with that byte as the exit status. Unlike
 * QEMU's isa-debug-exit (isa-debug-exit.ts), which reports `(value << 1) | 1` and so only odd
 * statuses, it carries any status 0..255, so a kernel can end a run with its first process's exit
 * status. The x86_64 kernel boot puts it at port 0x501 (kernel/arch/x86_64/kernel-arch.ts EXIT_PORT).
 * Reads return 0.
 */
import type { PortDevice } from "../arch/x86_64/ports.js";

/** The port the x86_64 kernel boot places it at, and how many ports it claims. */
export const EXIT_PORT_BASE = 0x501, EXIT_PORT_COUNT = 1;

export class ExitPort implements PortDevice {
  readonly name = "exit-port";

  /** @param onExit called with the low byte of the value written */
  constructor(private readonly onExit: (status: number) => void) {}

  /** Reads return 0. */
  portIn(_offset: number, _size: 1 | 2 | 4): number {
    return 0;
  }

  /** Any write ends the run with its low byte as the status. */
  portOut(_offset: number, _size: 1 | 2 | 4, value: number): void {
    this.onExit(value & 0xff);
  }
}
