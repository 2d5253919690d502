/**
 * QEMU's isa-debug-exit device (hw/misc/debugexit.c): a write of `value` to its port ends the run
 * with exit status `(value << 1) | 1`, as QEMU does; the status is truncated to 8 bits, as the shell
 * sees it. Reads return 0. On the `x86_64-pc` machine it sits at port 0xF4 (iosize 4, as
 * `-device isa-debug-exit,iobase=0xf4,iosize=0x04`).
 */
import type { PortDevice } from "../arch/x86_64/ports.js";

/** The debug-exit port on `x86_64-pc`, and how many ports it claims. */
export const DEBUG_EXIT_PORT = 0xf4, DEBUG_EXIT_PORTS = 4;

export class IsaDebugExit implements PortDevice {
  readonly name = "isa-debug-exit";

  /** @param onExit called with the exit status `((value << 1) | 1) & 0xff` */
  constructor(private readonly onExit: (status: number) => void) {}

  /** Reads return 0. */
  portIn(_offset: number, _size: 1 | 2 | 4): number {
    return 0;
  }

  /** Any write ends the run. */
  portOut(_offset: number, _size: 1 | 2 | 4, value: number): void {
    this.onExit(((value << 1) | 1) & 0xff);
  }
}
