/**
 * The I/O port address space (IN/OUT): 65536 byte-addressed ports routed to devices by range.
 * An unclaimed port reads all ones and ignores writes, as on a PC's ISA bus.
 * @spec Intel SDM Vol. 1 §19.2 (I/O port address space)
 */

/** A device on the port bus. Offsets are relative to the device's first port. */
export interface PortDevice {
  readonly name: string;
  /** Reads `size` bytes at port `base + offset`; the unsigned result. */
  portIn(offset: number, size: 1 | 2 | 4): number;
  /** Writes the low `size` bytes of `value` at port `base + offset`. */
  portOut(offset: number, size: 1 | 2 | 4, value: number): void;
}

interface PortRange {
  base: number;
  count: number;
  device: PortDevice;
}

/** Routes port numbers to devices. */
export class PortBus {
  private readonly ranges: PortRange[] = [];

  /** Claims ports [base, base + count); throws RangeError on overlap or outside 0..0xFFFF. */
  add(device: PortDevice, base: number, count: number): void {
    if (base < 0 || count <= 0 || base + count > 0x10000) throw new RangeError(`ports: ${device.name} [0x${base.toString(16)}, +${count}) is outside the port space`);
    for (const r of this.ranges) {
      if (base < r.base + r.count && r.base < base + count) throw new RangeError(`ports: ${device.name} at 0x${base.toString(16)} overlaps ${r.device.name} at 0x${r.base.toString(16)}`);
    }
    this.ranges.push({ base, count, device });
  }

  private find(port: number): PortRange | undefined {
    for (const r of this.ranges) if (port >= r.base && port < r.base + r.count) return r;
    return undefined;
  }

  /** IN: the device's value, or all ones for an unclaimed port. */
  read(port: number, size: 1 | 2 | 4): number {
    const r = this.find(port);
    if (r === undefined) return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    return r.device.portIn(port - r.base, size);
  }

  /** OUT: to the device, or nowhere for an unclaimed port. */
  write(port: number, size: 1 | 2 | 4, value: number): void {
    const r = this.find(port);
    if (r !== undefined) r.device.portOut(port - r.base, size, value);
  }
}
