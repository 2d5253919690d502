/**
 * NS16550A UART (register stride 1 byte, as on QEMU `virt`: reg-shift 0, reg-io-width 1).
 *
 * Reference: TI PC16550D datasheet, "Register Description" (Table 2). Transmission is instant:
 * a THR write goes straight to `onOutput`, so THR/TSR are always empty (LSR.THRE and LSR.TEMT
 * read 1). Received bytes wait in an unbounded host-side queue (the FIFO never overruns).
 * The interrupt line is not wired yet (no PLIC); {@link Uart16550.interruptPending} computes it
 * from IER and the identification logic for when it is.
 *
 * Accesses of 2 or 4 bytes act on the register at `offset` using the low byte; offsets 8 and
 * above read 0 and ignore writes.
 */
import type { MmioDevice } from "../core/memory.js";

/** Register offsets (DLAB = LCR bit 7 selects DLL/DLM at 0/1). */
export const UART_RBR_THR_DLL = 0, UART_IER_DLM = 1, UART_IIR_FCR = 2, UART_LCR = 3, UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7;

/** LSR.DR: a received byte is waiting in RBR. */
export const LSR_DR = 0x01;
/** LSR.THRE: the transmit holding register is empty. */
export const LSR_THRE = 0x20;
/** LSR.TEMT: the transmitter (THR and shift register) is empty. */
export const LSR_TEMT = 0x40;
/** LCR.DLAB: offsets 0/1 address the divisor latch (DLL/DLM) instead of RBR/THR and IER. */
export const LCR_DLAB = 0x80;
/** IER.ERBFI: interrupt when received data is available. */
export const IER_ERBFI = 0x01;
/** IER.ETBEI: interrupt when THR is empty. */
export const IER_ETBEI = 0x02;
/** IIR values: no interrupt pending; THR empty; received data available. Bits 7:6 set when FIFOs are on. */
export const IIR_NONE = 0x01, IIR_THRE = 0x02, IIR_RDA = 0x04, IIR_FIFO_ENABLED = 0xc0;
/** FCR bits: enable FIFOs; clear the receive FIFO; clear the transmit FIFO. */
export const FCR_ENABLE = 0x01, FCR_CLEAR_RX = 0x02, FCR_CLEAR_TX = 0x04;
/** MCR.LOOP: loopback mode, THR feeds RBR and MCR outputs feed MSR inputs. */
export const MCR_LOOP = 0x10;
/** MSR inputs: CTS, DSR, RI, DCD (bits 4-7). */
export const MSR_CTS = 0x10, MSR_DSR = 0x20, MSR_RI = 0x40, MSR_DCD = 0x80;

/** An NS16550A UART; `onOutput` receives each transmitted byte. */
export class Uart16550 implements MmioDevice {
  private input: number[] = [];
  private inputHead = 0;
  ier = 0;
  lcr = 0x03;
  mcr = 0;
  fcr = 0;
  scr = 0;
  /** Divisor latch (DLM:DLL); it only matters to the guest, transmission is instant. */
  divisor = 12;
  /** THR-empty interrupt condition: set when THR empties or ETBEI is enabled, cleared by reading IIR. */
  private threPending = false;

  /**
   * @param name the bus region name
   * @param onOutput called with each byte the guest writes to THR (not in loopback mode)
   */
  constructor(readonly name: string, private readonly onOutput: (byte: number) => void) {}

  /** Queues bytes for the guest to read from RBR. Each value is truncated to 8 bits. */
  pushInput(bytes: Uint8Array | readonly number[]): void {
    for (const b of bytes) this.input.push(b & 0xff);
  }

  /** Bytes queued for the guest and not yet read. */
  get inputPending(): number {
    return this.input.length - this.inputHead;
  }

  /** Whether the (unwired) interrupt output would be asserted now. */
  interruptPending(): boolean {
    return this.identify() !== IIR_NONE;
  }

  /** Reads a register (see the class comment for sizes and offsets). */
  read(offset: number, _size: 1 | 2 | 4): number {
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case UART_RBR_THR_DLL:
        return dlab ? this.divisor & 0xff : this.popInput();
      case UART_IER_DLM:
        return dlab ? this.divisor >>> 8 : this.ier;
      case UART_IIR_FCR: {
        const id = this.identify();
        if (id === IIR_THRE) this.threPending = false;
        return id | (this.fcr & FCR_ENABLE ? IIR_FIFO_ENABLED : 0);
      }
      case UART_LCR: return this.lcr;
      case UART_MCR: return this.mcr;
      case UART_LSR: return LSR_THRE | LSR_TEMT | (this.inputPending > 0 ? LSR_DR : 0);
      case UART_MSR: return this.msr();
      case UART_SCR: return this.scr;
      default: return 0;
    }
  }

  /** Writes a register (see the class comment for sizes and offsets). */
  write(offset: number, _size: 1 | 2 | 4, value: number): void {
    const v = value & 0xff;
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case UART_RBR_THR_DLL:
        if (dlab) this.divisor = (this.divisor & 0xff00) | v;
        else this.transmit(v);
        break;
      case UART_IER_DLM:
        if (dlab) this.divisor = (this.divisor & 0xff) | (v << 8);
        else {
          if (v & IER_ETBEI && !(this.ier & IER_ETBEI)) this.threPending = true;
          this.ier = v & 0x0f;
        }
        break;
      case UART_IIR_FCR:
        if (v & FCR_CLEAR_RX) this.clearInput();
        this.fcr = v & 0xc9;
        break;
      case UART_LCR: this.lcr = v; break;
      case UART_MCR: this.mcr = v & 0x1f; break;
      case UART_SCR: this.scr = v; break;
      default: break;
    }
  }

  private transmit(byte: number): void {
    if (this.mcr & MCR_LOOP) this.input.push(byte);
    else this.onOutput(byte);
    this.threPending = true;
  }

  private popInput(): number {
    if (this.inputHead >= this.input.length) return 0;
    const b = this.input[this.inputHead++]!;
    if (this.inputHead === this.input.length) this.clearInput();
    else if (this.inputHead >= 4096) {
      this.input = this.input.slice(this.inputHead);
      this.inputHead = 0;
    }
    return b;
  }

  private clearInput(): void {
    this.input = [];
    this.inputHead = 0;
  }

  /** The highest-priority pending interrupt source among those implemented (IIR bits 3:0). */
  private identify(): number {
    if (this.ier & IER_ERBFI && this.inputPending > 0) return IIR_RDA;
    if (this.ier & IER_ETBEI && this.threPending) return IIR_THRE;
    return IIR_NONE;
  }

  /** MSR: CTS, DSR and DCD asserted; in loopback, RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD. */
  private msr(): number {
    if (!(this.mcr & MCR_LOOP)) return MSR_DCD | MSR_DSR | MSR_CTS;
    const m = this.mcr;
    return (m & 0x02 ? MSR_CTS : 0) | (m & 0x01 ? MSR_DSR : 0) | (m & 0x04 ? MSR_RI : 0) | (m & 0x08 ? MSR_DCD : 0);
  }
}
