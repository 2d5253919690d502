/**
 * The 16550 UART on the PC's I/O ports (COM1 at 0x3F8..0x3FF): the same register file as the
 * memory-mapped {@link Uart16550}, reached with IN/OUT. Accesses of 2 or 4 bytes act on the register
 * at the port using the low byte (as the MMIO device does).
 */
import type { PortDevice } from "../arch/x86_64/ports.js";
import { Uart16550 } from "./uart16550.js";

/** COM1's first port and the number of ports (THR/RBR .. SCR). */
export const COM1_PORT = 0x3f8, UART_PORTS = 8;

export class UartPort implements PortDevice {
  readonly name: string;

  constructor(readonly uart: Uart16550) {
    this.name = uart.name;
  }

  /** Reads the register at `offset` (0..7). */
  portIn(offset: number, _size: 1 | 2 | 4): number {
    return this.uart.read(offset, 1);
  }

  /** Writes the low byte of `value` to the register at `offset`. */
  portOut(offset: number, _size: 1 | 2 | 4, value: number): void {
    this.uart.write(offset, 1, value & 0xff);
  }
}
