/**
 * A fake hardware interface for kernel unit tests: RAM from the emulator's sparse memory, a console
 * that collects text, and TLB control that records every flush the kernel asks for.
 */
import { Bus } from "../../emulator/core/memory.js";
import type { Hal, TlbControl } from "../../kernel/hal.js";

/** A recorded TLB maintenance request. */
export type FlushRecord = { kind: "page"; va: bigint; asid: number } | { kind: "asid"; asid: number } | { kind: "all" };

export class FakeHal implements Hal {
  readonly bus = new Bus();
  readonly flushes: FlushRecord[] = [];
  out = "";
  readonly tlb: TlbControl = {
    flushPage: (va, asid) => { this.flushes.push({ kind: "page", va, asid }); },
    flushAsid: (asid) => { this.flushes.push({ kind: "asid", asid }); },
    flushAll: () => { this.flushes.push({ kind: "all" }); },
  };

  /** RAM of `size` bytes at `base` (defaults: 128 MiB at 0x8000_0000). */
  constructor(readonly base = 0x80000000, readonly size = 128 * 1024 * 1024) {
    this.bus.addRam("ram", base, size);
  }

  private check(pa: number, len: number): void {
    if (!(pa >= this.base && pa + len <= this.base + this.size)) {
      throw new RangeError(`FakeHal: access [0x${pa.toString(16)}, +${len}) is outside RAM`);
    }
  }

  read8(pa: number): number { this.check(pa, 1); this.bus.read(pa, 1); return this.bus.lo & 0xff; }
  write8(pa: number, v: number): void { this.check(pa, 1); this.bus.write(pa, 1, v); }
  read32(pa: number): number { this.check(pa, 4); this.bus.read(pa, 4); return this.bus.lo >>> 0; }
  write32(pa: number, v: number): void { this.check(pa, 4); this.bus.write(pa, 4, v | 0); }
  read64(pa: number): bigint { this.check(pa, 8); return this.bus.read64(pa)!; }
  write64(pa: number, v: bigint): void { this.check(pa, 8); this.bus.write64(pa, v); }
  fill(pa: number, len: number, byte: number): void { this.check(pa, len); this.bus.load(pa, new Uint8Array(len).fill(byte)); }
  copy(dst: number, src: number, len: number): void { this.check(src, len); this.check(dst, len); this.bus.load(dst, this.readBytes(src, len)); }
  readBytes(pa: number, len: number): Uint8Array { this.check(pa, len); return this.bus.ramAt(pa)!.readBytes(pa - this.base, len); }
  writeBytes(pa: number, bytes: Uint8Array): void { this.check(pa, bytes.length); this.bus.load(pa, bytes); }
  console(bytes: Uint8Array): void { this.out += new TextDecoder().decode(bytes); }
}
