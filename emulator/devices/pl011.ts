/**
 * ARM PrimeCell PL011 UART, as QEMU's `virt` board has it at 0x0900_0000. Transmission is
 * instant: a write to UARTDR goes straight to `onOutput` (whatever UARTCR says, as QEMU 7.2
 * does), so the transmit FIFO is always empty (UARTFR.TXFE = 1, TXFF = 0, BUSY = 0). Received
 * bytes wait in an unbounded host-side queue. The interrupt line is not wired (no GIC).
 *
 * Reference: ARM PrimeCell UART (PL011) Technical Reference Manual r1p5 (DDI 0183), §3.2
 * "Summary of registers" and §3.3 "Register descriptions".
 */
import type { MmioDevice } from "../core/memory.js";

/** Register offsets. */
export const UARTDR = 0x000, UARTRSR = 0x004, UARTFR = 0x018, UARTILPR = 0x020, UARTIBRD = 0x024, UARTFBRD = 0x028,
  UARTLCR_H = 0x02c, UARTCR = 0x030, UARTIFLS = 0x034, UARTIMSC = 0x038, UARTRIS = 0x03c, UARTMIS = 0x040,
  UARTICR = 0x044, UARTDMACR = 0x048;

/** UARTFR bits: receive FIFO empty, transmit FIFO full, receive FIFO full, transmit FIFO empty. */
export const FR_RXFE = 0x10, FR_TXFF = 0x20, FR_RXFF = 0x40, FR_TXFE = 0x80;
/** UARTRIS/UARTIMSC bits: receive, transmit. */
export const INT_RX = 0x10, INT_TX = 0x20;

/** UARTPeriphID0-3 and UARTPCellID0-3 at 0xFE0..0xFFC (TRM §3.3.14-15). */
const ID_BYTES = [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

/** Size of the register window. */
export const PL011_SIZE = 0x1000;

/** A PL011; `onOutput` receives each byte the guest writes to UARTDR. */
export class Pl011 implements MmioDevice {
  private input: number[] = [];
  private head = 0;
  ibrd = 0;
  fbrd = 0;
  lcrH = 0;
  /** UARTCR reset value: TXE and RXE set, UARTEN clear (TRM §3.3.8). */
  cr = 0x300;
  ifls = 0x12;
  imsc = 0;
  /** Raw interrupt status (TX is set: the FIFO is always empty). */
  private ris = INT_TX;
  dmacr = 0;

  /**
   * @param name the bus region name
   * @param onOutput called with each byte written to UARTDR
   */
  constructor(readonly name: string, private readonly onOutput: (byte: number) => void) {}

  /** Queues bytes for the guest to read from UARTDR. Each value is truncated to 8 bits. */
  pushInput(bytes: Uint8Array | readonly number[]): void {
    for (const b of bytes) this.input.push(b & 0xff);
    if (this.head < this.input.length) this.ris |= INT_RX;
  }

  /** The interrupt output (UARTMIS != 0), for when an interrupt controller exists. */
  interruptPending(): boolean {
    return (this.ris & this.imsc) !== 0;
  }

  read(offset: number, _size: 1 | 2 | 4): number {
    if (offset >= 0xfe0 && offset < 0x1000) return ID_BYTES[(offset - 0xfe0) >> 2]!;
    switch (offset) {
      case UARTDR: {
        if (this.head >= this.input.length) return 0;
        const b = this.input[this.head++]!;
        if (this.head >= this.input.length) {
          this.input = [];
          this.head = 0;
          this.ris &= ~INT_RX;
        }
        return b;
      }
      case UARTFR: return FR_TXFE | (this.head >= this.input.length ? FR_RXFE : 0);
      case UARTIBRD: return this.ibrd;
      case UARTFBRD: return this.fbrd;
      case UARTLCR_H: return this.lcrH;
      case UARTCR: return this.cr;
      case UARTIFLS: return this.ifls;
      case UARTIMSC: return this.imsc;
      case UARTRIS: return this.ris;
      case UARTMIS: return this.ris & this.imsc;
      case UARTDMACR: return this.dmacr;
      default: return 0;
    }
  }

  write(offset: number, _size: 1 | 2 | 4, value: number): void {
    switch (offset) {
      case UARTDR: this.onOutput(value & 0xff); break;
      case UARTIBRD: this.ibrd = value & 0xffff; break;
      case UARTFBRD: this.fbrd = value & 0x3f; break;
      case UARTLCR_H: this.lcrH = value & 0xff; break;
      case UARTCR: this.cr = value & 0xffff; break;
      case UARTIFLS: this.ifls = value & 0x3f; break;
      case UARTIMSC: this.imsc = value & 0x7ff; break;
      case UARTICR: this.ris &= ~value | INT_TX; break;
      case UARTDMACR: this.dmacr = value & 7; break;
      default: break;
    }
  }
}
