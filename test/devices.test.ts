import { describe, expect, it } from "vitest";
import { VIRT_MEMORY_MAP } from "../boot/riscv64/virt-dtb.js";
import { Bus } from "../emulator/core/memory.js";
import { Clint, CLINT_SIZE } from "../emulator/devices/clint.js";
import { type FinisherKind, SifiveTest } from "../emulator/devices/sifive-test.js";
import {
  IER_ERBFI, IER_ETBEI, IIR_NONE, IIR_RDA, IIR_THRE, LCR_DLAB, LSR_DR, LSR_TEMT, LSR_THRE, MCR_LOOP, Uart16550,
  UART_IER_DLM, UART_IIR_FCR, UART_LCR, UART_LSR, UART_MCR, UART_MSR, UART_RBR_THR_DLL, UART_SCR,
} from "../emulator/devices/uart16550.js";

const UART = VIRT_MEMORY_MAP.uart0.base;
const CLINT = VIRT_MEMORY_MAP.clint.base;
const TEST = VIRT_MEMORY_MAP.test.base;

function uartOnBus(): { bus: Bus; uart: Uart16550; out: number[]; reg: (r: number) => number } {
  const out: number[] = [];
  const uart = new Uart16550("uart0", (b) => out.push(b));
  const bus = new Bus();
  bus.addDevice(uart, UART, VIRT_MEMORY_MAP.uart0.size);
  const reg = (r: number): number => (bus.read(UART + r, 1), bus.lo);
  return { bus, uart, out, reg };
}

describe("NS16550A UART", () => {
  it("LSR always reports THRE|TEMT (0x60), and DR while input is queued", () => {
    const { uart, reg } = uartOnBus();
    expect(reg(UART_LSR)).toBe(LSR_THRE | LSR_TEMT);
    expect(LSR_THRE | LSR_TEMT).toBe(0x60);
    uart.pushInput(Uint8Array.from([0x41, 0x42]));
    expect(reg(UART_LSR)).toBe(0x61);
    expect(reg(UART_RBR_THR_DLL)).toBe(0x41);
    expect(reg(UART_LSR) & LSR_DR).toBe(LSR_DR);
    expect(reg(UART_RBR_THR_DLL)).toBe(0x42);
    expect(reg(UART_LSR)).toBe(0x60);
    expect(reg(UART_RBR_THR_DLL)).toBe(0);
  });

  it("a THR write transmits the byte", () => {
    const { bus, out } = uartOnBus();
    for (const c of "hi\n") bus.write(UART + UART_RBR_THR_DLL, 1, c.charCodeAt(0));
    expect(String.fromCharCode(...out)).toBe("hi\n");
  });

  it("LCR.DLAB maps offsets 0/1 to the divisor latch instead of THR/RBR and IER", () => {
    const { bus, uart, out, reg } = uartOnBus();
    bus.write(UART + UART_IER_DLM, 1, 0x05);
    bus.write(UART + UART_LCR, 1, LCR_DLAB | 0x03);
    bus.write(UART + UART_RBR_THR_DLL, 1, 0x01);
    bus.write(UART + UART_IER_DLM, 1, 0x02);
    expect(out).toEqual([]);
    expect(uart.divisor).toBe(0x0201);
    expect(reg(UART_RBR_THR_DLL)).toBe(0x01);
    expect(reg(UART_IER_DLM)).toBe(0x02);
    bus.write(UART + UART_LCR, 1, 0x03);
    expect(reg(UART_LCR)).toBe(0x03);
    expect(reg(UART_IER_DLM)).toBe(0x05);
    bus.write(UART + UART_RBR_THR_DLL, 1, 0x7a);
    expect(out).toEqual([0x7a]);
  });

  it("IIR reports no interrupt, FIFO-enabled bits after FCR, RDA and THRE by priority", () => {
    const { bus, uart, reg } = uartOnBus();
    expect(reg(UART_IIR_FCR)).toBe(IIR_NONE);
    bus.write(UART + UART_IIR_FCR, 1, 0x07);
    expect(reg(UART_IIR_FCR)).toBe(0xc0 | IIR_NONE);
    uart.pushInput([1]);
    bus.write(UART + UART_IER_DLM, 1, IER_ERBFI | IER_ETBEI);
    expect(uart.interruptPending()).toBe(true);
    expect(reg(UART_IIR_FCR) & 0x0f).toBe(IIR_RDA);
    reg(UART_RBR_THR_DLL);
    expect(reg(UART_IIR_FCR) & 0x0f).toBe(IIR_THRE);
    expect(reg(UART_IIR_FCR) & 0x0f).toBe(IIR_NONE);
    bus.write(UART + UART_RBR_THR_DLL, 1, 0x20);
    expect(reg(UART_IIR_FCR) & 0x0f).toBe(IIR_THRE);
    expect(uart.interruptPending()).toBe(false);
  });

  it("FCR bit 1 clears queued input", () => {
    const { bus, uart, reg } = uartOnBus();
    uart.pushInput([1, 2, 3]);
    bus.write(UART + UART_IIR_FCR, 1, 0x03);
    expect(reg(UART_LSR) & LSR_DR).toBe(0);
    expect(uart.inputPending).toBe(0);
  });

  it("MCR, MSR and SCR; loopback sends THR to RBR", () => {
    const { bus, out, reg } = uartOnBus();
    expect(reg(UART_MSR)).toBe(0xb0);
    bus.write(UART + UART_SCR, 1, 0xa5);
    expect(reg(UART_SCR)).toBe(0xa5);
    bus.write(UART + UART_MCR, 1, MCR_LOOP | 0x0b);
    expect(reg(UART_MCR)).toBe(0x1b);
    expect(reg(UART_MSR)).toBe(0xb0);
    bus.write(UART + UART_MCR, 1, MCR_LOOP);
    expect(reg(UART_MSR)).toBe(0);
    bus.write(UART + UART_RBR_THR_DLL, 1, 0x55);
    expect(out).toEqual([]);
    expect(reg(UART_RBR_THR_DLL)).toBe(0x55);
  });

  it("registers past offset 7 read 0; wider accesses use the low byte", () => {
    const { bus, out, reg } = uartOnBus();
    expect(reg(0x20)).toBe(0);
    bus.write(UART, 4, 0x12345678);
    expect(out).toEqual([0x78]);
    expect(bus.read(UART + UART_LSR, 4) && bus.lo).toBe(0x60);
  });
});

function clintOnBus(harts = 2): { bus: Bus; clint: Clint; time: { now: number }; changes: { n: number } } {
  const time = { now: 0 };
  const changes = { n: 0 };
  const clint = new Clint(harts, () => time.now);
  clint.onChange = () => changes.n++;
  const bus = new Bus();
  bus.addDevice(clint, CLINT, CLINT_SIZE);
  return { bus, clint, time, changes };
}

describe("SiFive CLINT", () => {
  it("mtime reads the machine's tick count as a 64-bit value", () => {
    const { bus, time } = clintOnBus();
    time.now = 2 ** 40 + 7;
    expect(bus.read64(CLINT + 0xbff8)).toBe(2n ** 40n + 7n);
    bus.read(CLINT + 0xbffc, 4);
    expect(bus.lo).toBe(0x100);
  });

  it("writing mtime sets an offset; time keeps counting from the written value", () => {
    const { bus, clint, time } = clintOnBus();
    time.now = 1000;
    bus.write64(CLINT + 0xbff8, 0xfffffffffffffff0n);
    expect(clint.mtime()).toBe(0xfffffffffffffff0n);
    time.now = 1000 + 0x20;
    expect(clint.mtime()).toBe(0x10n);
    bus.write(CLINT + 0xbffc, 4, 0x12345678);
    expect(clint.mtime()).toBe(0x1234567800000010n);
    bus.write(CLINT + 0xbff8, 4, 0x9abcdef0);
    time.now += 5;
    expect(clint.mtime()).toBe(0x123456789abcdef5n);
  });

  it("mtimecmp resets to 2^64-1 and is accessible as 32-bit halves", () => {
    const { bus, clint } = clintOnBus();
    expect(bus.read64(CLINT + 0x4008)).toBe(0xffffffffffffffffn);
    bus.write(CLINT + 0x4008, 4, 0x11223344);
    bus.write(CLINT + 0x400c, 4, 0x55667788);
    expect(clint.mtimecmp(1)).toBe(0x5566778811223344n);
    expect(clint.mtimecmp(0)).toBe(0xffffffffffffffffn);
    bus.read(CLINT + 0x400c, 4);
    expect(bus.lo >>> 0).toBe(0x55667788);
    bus.write(CLINT + 0x4009, 1, 0xaa);
    expect(clint.mtimecmp(1)).toBe(0x556677881122aa44n);
  });

  it("the timer is pending when mtime >= mtimecmp, compared as exact 64-bit values", () => {
    const { bus, clint, time } = clintOnBus();
    expect(clint.timerPending(0)).toBe(false);
    const big = (1n << 60n) + 1n;
    bus.write64(CLINT + 0xbff8, big);
    bus.write64(CLINT + 0x4000, big + 1n);
    expect(clint.timerPending(0)).toBe(false);
    expect(clint.nextTimerDeadline(0)).toBe(1);
    time.now += 1;
    expect(clint.timerPending(0)).toBe(true);
    expect(clint.nextTimerDeadline(0)).toBe(0);
    expect(clint.timerPending(1)).toBe(false);
    bus.write64(CLINT + 0x4000, 0xffffffffffffffffn);
    expect(clint.timerPending(0)).toBe(false);
  });

  it("nextTimerDeadline counts ticks until mtimecmp, Infinity when 2^53 or more away", () => {
    const { bus, clint, time } = clintOnBus();
    time.now = 500;
    expect(clint.nextTimerDeadline(0)).toBe(Infinity);
    bus.write64(CLINT + 0x4000, 0x1000001f4n);
    expect(clint.nextTimerDeadline(0)).toBe(0x100000000);
    bus.write64(CLINT + 0x4000, 500n + (1n << 53n) - 1n);
    expect(clint.nextTimerDeadline(0)).toBe(2 ** 53 - 1);
    bus.write64(CLINT + 0x4000, 500n + (1n << 53n));
    expect(clint.nextTimerDeadline(0)).toBe(Infinity);
  });

  it("msip bit 0 drives the software interrupt of its hart", () => {
    const { bus, clint } = clintOnBus();
    bus.write(CLINT + 4, 4, 0xffffffff);
    expect(clint.softwarePending(1)).toBe(true);
    expect(clint.softwarePending(0)).toBe(false);
    expect(bus.read(CLINT + 4, 4) && bus.lo).toBe(1);
    bus.write(CLINT + 4, 4, 0);
    expect(clint.softwarePending(1)).toBe(false);
  });

  it("every write calls onChange; registers of absent harts read 0", () => {
    const { bus, changes } = clintOnBus(1);
    bus.write(CLINT, 4, 1);
    bus.write64(CLINT + 0x4000, 5n);
    bus.write(CLINT + 0xbff8, 4, 0);
    expect(changes.n).toBe(4);
    expect(bus.read(CLINT + 4, 4) && bus.lo).toBe(0);
    expect(bus.read(CLINT + 0x4008, 4) && bus.lo).toBe(0);
  });

  it("hart numbers are range-checked", () => {
    expect(() => new Clint(0, () => 0)).toThrow(RangeError);
    expect(() => new Clint(4096, () => 0)).toThrow(RangeError);
    expect(() => new Clint(1, () => 0).timerPending(1)).toThrow(/hart 1/);
  });
});

describe("SiFive test finisher", () => {
  function finisher(): { bus: Bus; events: [FinisherKind, number][] } {
    const events: [FinisherKind, number][] = [];
    const bus = new Bus();
    bus.addDevice(new SifiveTest((k, c) => events.push([k, c])), TEST, VIRT_MEMORY_MAP.test.size);
    return { bus, events };
  }

  it("0x5555 passes, 0x3333 fails with code value >> 16, 0x7777 resets", () => {
    const { bus, events } = finisher();
    bus.write(TEST, 4, 0x5555);
    bus.write(TEST, 4, (42 << 16) | 0x3333);
    bus.write(TEST, 4, 0xffff3333 | 0);
    bus.write(TEST, 4, 0x7777);
    expect(events).toEqual([["pass", 0], ["fail", 42], ["fail", 0xffff], ["reset", 0]]);
  });

  it("other values, other offsets and byte writes are ignored; reads return 0", () => {
    const { bus, events } = finisher();
    bus.write(TEST, 4, 0x1234);
    bus.write(TEST + 4, 4, 0x5555);
    bus.write(TEST, 1, 0x55);
    expect(events).toEqual([]);
    bus.write64(TEST, 0x5555n);
    expect(events).toEqual([["pass", 0]]);
    expect(bus.read(TEST, 4) && bus.lo).toBe(0);
  });
});
