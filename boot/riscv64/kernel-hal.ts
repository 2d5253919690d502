/**
 * Binds the kernel's hardware interface (kernel/hal.ts, kernel/arch/riscv64/cpu.ts) to an emulated
 * riscv64-virt hart. Every operation is what the corresponding instruction would do: CSR accesses go
 * through the hart's CSR rules, sfence.vma through its TLB, and an SBI call is a real `ecall` from
 * S-mode that the M-mode firmware handles (visible in traces as a trap with cause 9).
 */
import { CAUSE, IRQ, PRV_S } from "../../emulator/arch/riscv64/defs.js";
import { csrAccessible, csrRead, csrWrite } from "../../emulator/arch/riscv64/csr.js";
import type { Hart } from "../../emulator/arch/riscv64/hart.js";
import { LOAD, STORE } from "../../emulator/arch/riscv64/mmu.js";
import { CHUNK_SIZE, type Bus, type SparseRam } from "../../emulator/core/memory.js";
import type { Hal, MemoryError, TlbControl } from "../../kernel/hal.js";
import type { RiscvCpu, SbiResult } from "../../kernel/arch/riscv64/cpu.js";

/**
 * The kernel's HAL on RISC-V: memory, TLB control and the hart, and the platform's memory-error
 * reporting: `reportMemoryError` (the platform side: fault injection, a memory scrubber) queues an
 * error record and raises the supervisor external interrupt; the kernel takes the records with
 * `takeMemoryErrors`, which lowers it.
 */
export type RiscvHal = Hal & { readonly cpu: RiscvCpu; reportMemoryError(e: MemoryError): void };

const lo32 = (v: bigint): number => Number(BigInt.asIntN(32, v));
const hi32 = (v: bigint): number => Number(BigInt.asIntN(32, v >> 32n));

/**
 * Builds the HAL for `hart`. `ecallPc` is the physical-or-virtual address of an `ecall` in kernel
 * text that SBI calls are made from (it becomes mepc; the firmware returns to the next instruction).
 */
export function riscvHal(bus: Bus, hart: Hart, ram: SparseRam, ecallPc: () => bigint): RiscvHal {
  const end = ram.base + ram.size;
  const check = (pa: number, len: number): number => {
    if (!(pa >= ram.base && pa + len <= end)) throw new RangeError(`kernel: physical access [0x${pa.toString(16)}, +${len}) is outside RAM`);
    return pa;
  };
  const word = (pa: number, size: 1 | 4 | 8): void => {
    if (!bus.read(check(pa, size), size)) throw new RangeError(`kernel: physical read at 0x${pa.toString(16)} failed`);
  };
  // Word accesses go straight to the RAM chunk (what the bus does for RAM), and every write is
  // reported through bus.onRamWrite exactly as a bus write is (decode caches, stale-TLB tracking).
  // An access that would cross a 64 KiB chunk takes the bus path.
  const chunkOf = (pa: number): number => (pa - ram.base) / CHUNK_SIZE;
  /**
   * Offset of `pa` inside its chunk. A bit mask, not `%`: offsets are integers below 2^53, whose low
   * 16 bits survive ToInt32, and `%` on such doubles is a slow floating-point remainder.
   */
  const inChunkOffset = (pa: number): number => (pa - ram.base) & (CHUNK_SIZE - 1);
  const inChunk = (pa: number, len: number): boolean => inChunkOffset(pa) + len <= CHUNK_SIZE;
  /** The chunk holding `pa` for reading, or undefined when it was never touched (reads 0). */
  const peek = (pa: number): DataView | undefined => ram.chunks[Math.floor(chunkOf(pa))];
  const written = (pa: number, len: number): void => {
    const notify = bus.onRamWrite;
    if (notify === undefined) return;
    for (let at = pa; at < pa + len; ) {
      const ppn = Math.floor(at / 4096);
      const next = Math.min(pa + len, (ppn + 1) * 4096);
      notify(ppn, at, next - at);
      at = next;
    }
  };
  const read32 = (pa: number): number => {
    check(pa, 4);
    if (!inChunk(pa, 4)) { word(pa, 4); return bus.lo >>> 0; }
    const c = peek(pa);
    return c === undefined ? 0 : c.getUint32(inChunkOffset(pa), true);
  };
  const write32 = (pa: number, v: number): void => {
    check(pa, 4);
    if (!inChunk(pa, 4)) { bus.write(pa, 4, v | 0); return; }
    ram.chunk(pa - ram.base).setInt32(inChunkOffset(pa), v | 0, true);
    written(pa, 4);
  };
  /** The high half of the last read64Low (a typed array: storing a large number in it allocates nothing). */
  const high = new Float64Array(1);
  const read64Low = (pa: number): number => {
    check(pa, 8);
    if (!inChunk(pa, 8)) { word(pa, 8); high[0] = bus.hi >>> 0; return bus.lo >>> 0; }
    const c = peek(pa);
    if (c === undefined) { high[0] = 0; return 0; }
    const o = inChunkOffset(pa);
    high[0] = c.getUint32(o + 4, true);
    return c.getUint32(o, true);
  };
  const write64Halves = (pa: number, lo: number, hi: number): void => {
    check(pa, 8);
    if (!inChunk(pa, 8)) { bus.write(pa, 8, lo | 0, hi | 0); return; }
    const c = ram.chunk(pa - ram.base);
    const o = inChunkOffset(pa);
    c.setInt32(o, lo | 0, true);
    c.setInt32(o + 4, hi | 0, true);
    written(pa, 8);
  };
  /** A byte view of each RAM chunk the kernel has filled, made once per chunk (same buffer as the chunk). */
  const byteViews: (Uint8Array | undefined)[] = [];
  /**
   * Fills [pa, pa + len) with `byte`: within one chunk, straight into the chunk's bytes (a chunk
   * never touched already reads as 0, so a zero fill leaves it untouched, as SparseRam.fill does),
   * reported through bus.onRamWrite like a bus fill; across chunks, through the bus.
   */
  const fill = (pa: number, len: number, byte: number): void => {
    if (len <= 0) return;
    check(pa, len);
    if (!inChunk(pa, len)) { bus.fill(pa, len, byte); return; }
    const i = Math.floor(chunkOf(pa));
    let bytes = byteViews[i];
    if (bytes === undefined) {
      if (byte === 0 && ram.chunks[i] === undefined) { written(pa, len); return; }
      bytes = new Uint8Array(ram.chunk(pa - ram.base).buffer);
      byteViews[i] = bytes;
    }
    const o = inChunkOffset(pa);
    bytes.fill(byte, o, o + len);
    written(pa, len);
  };
  /** sfence.vma's rs1 operand, reused (the hart reads it during the call). */
  const fenceVa = { lo: 0, hi: 0 };
  const cpu: RiscvCpu = {
    reg: (i) => hart.x(i),
    setReg: (i, v) => hart.setX(i, v),
    csr: (n) => {
      if (!csrAccessible(hart, n)) throw new RangeError(`kernel: CSR 0x${n.toString(16)} is not accessible in S-mode`);
      csrRead(hart, n);
      return BigInt.asUintN(64, (BigInt(hart.tmp.hi) << 32n) | BigInt(hart.tmp.lo >>> 0));
    },
    csrLo: (n) => {
      if (!csrAccessible(hart, n)) throw new RangeError(`kernel: CSR 0x${n.toString(16)} is not accessible in S-mode`);
      csrRead(hart, n);
      return hart.tmp.lo >>> 0;
    },
    lastCsrHigh: () => hart.tmp.hi >>> 0,
    setCsrHalves: (n, lo, hi) => {
      if (!csrAccessible(hart, n) || !csrWrite(hart, n, lo | 0, hi | 0)) throw new RangeError(`kernel: CSR 0x${n.toString(16)} is not writable in S-mode`);
    },
    setCsr: (n, v) => {
      if (!csrAccessible(hart, n) || !csrWrite(hart, n, lo32(v), hi32(v))) throw new RangeError(`kernel: CSR 0x${n.toString(16)} is not writable in S-mode`);
    },
    storeRegisters: (pa) => {
      check(pa, 256);
      if (!inChunk(pa, 256)) {
        for (let i = 1; i < 32; i++) bus.write(pa + 8 * i, 8, hart.xl[i]!, hart.xh[i]!);
        return;
      }
      const c = ram.chunk(pa - ram.base);
      const o = inChunkOffset(pa);
      for (let i = 1; i < 32; i++) {
        c.setInt32(o + 8 * i, hart.xl[i]!, true);
        c.setInt32(o + 8 * i + 4, hart.xh[i]!, true);
      }
      written(pa + 8, 248);
    },
    loadRegisters: (pa) => {
      check(pa, 256);
      if (!inChunk(pa, 256)) {
        for (let i = 1; i < 32; i++) {
          bus.read(pa + 8 * i, 8);
          hart.xl[i] = bus.lo;
          hart.xh[i] = bus.hi;
        }
        return;
      }
      const c = peek(pa);
      const o = inChunkOffset(pa);
      for (let i = 1; i < 32; i++) {
        hart.xl[i] = c === undefined ? 0 : c.getInt32(o + 8 * i, true);
        hart.xh[i] = c === undefined ? 0 : c.getInt32(o + 8 * i + 4, true);
      }
    },
    sret: () => hart.sret(),
    sfenceVma: (va, asid) => hart.sfenceVma(va === undefined ? undefined : { lo: lo32(va), hi: hi32(va) }, asid),
    sfenceVmaPage: (va, asid) => {
      fenceVa.lo = va | 0;
      fenceVa.hi = Math.floor(va / 4294967296) | 0;
      hart.sfenceVma(fenceVa, asid);
    },
    sbi: (eid, fid, args) => sbiCall(hart, ecallPc(), eid, fid, args),
    translate: (va, write) => {
      const pa = hart.mmu.translate(lo32(va), hi32(va), write ? STORE : LOAD, hart.dataPriv);
      return pa < 0 || bus.find(pa)?.ram === undefined ? undefined : pa;
    },
  };
  const tlb: TlbControl = {
    flushPage: (va, asid) => cpu.sfenceVma(va, asid),
    flushPageNumber: (va, asid) => cpu.sfenceVmaPage(va, asid),
    flushAsid: (asid) => cpu.sfenceVma(undefined, asid),
    flushAll: () => cpu.sfenceVma(undefined, undefined),
  };
  const memoryErrors: MemoryError[] = [];
  return {
    cpu,
    tlb,
    reportMemoryError(e) {
      memoryErrors.push(e);
      hart.mipSoft |= 1 << IRQ.SEI;
      hart.interruptsChanged();
    },
    takeMemoryErrors() {
      hart.mipSoft &= ~(1 << IRQ.SEI);
      return memoryErrors.splice(0);
    },
    read8: (pa) => { word(pa, 1); return bus.lo & 0xff; },
    write8: (pa, v) => { bus.write(check(pa, 1), 1, v); },
    read32,
    write32,
    read64: (pa) => { word(pa, 8); return (BigInt(bus.hi >>> 0) << 32n) | BigInt(bus.lo >>> 0); },
    write64: (pa, v) => { bus.write(check(pa, 8), 8, lo32(v), hi32(v)); },
    write64Halves,
    read64Low,
    get lastHigh() { return high[0]!; },
    fill,
    copy: (dst, src, len) => { if (len > 0) bus.load(check(dst, len), ram.readBytes(check(src, len) - ram.base, len)); },
    readBytes: (pa, len) => ram.readBytes(check(pa, len) - ram.base, len),
    writeBytes: (pa, bytes) => { if (bytes.length > 0) bus.load(check(pa, bytes.length), bytes); },
    console: () => { throw new RangeError("kernel: console goes through the SBI debug console"); },
  };
}

/**
 * An SBI call as the hardware does it: the hart takes an environment-call exception from S-mode at
 * `ecallPc` (into the M-mode firmware, whose trap vector is a native entry), runs the firmware for
 * that one step, and comes back to S-mode; the kernel's own pc is then restored.
 */
function sbiCall(hart: Hart, ecallPc: bigint, eid: number, fid: number, args: readonly bigint[]): SbiResult {
  if (hart.priv !== PRV_S) throw new RangeError(`kernel: SBI call from privilege ${hart.priv}, expected S`);
  const savedLo = hart.pcLo, savedHi = hart.pcHi;
  for (let i = 0; i < 6; i++) hart.setX(10 + i, args[i] ?? 0n);
  hart.setX(16, BigInt(fid));
  hart.setX(17, BigInt(eid));
  hart.pcLo = lo32(ecallPc);
  hart.pcHi = hi32(ecallPc);
  hart.exception(CAUSE.ECALL_S, 0, 0);
  hart.run(hart.icount + 1);
  if (hart.priv !== PRV_S) throw new RangeError("kernel: the SBI firmware did not return to S-mode");
  const result = { error: BigInt.asIntN(64, hart.x(10)), value: hart.x(11) };
  hart.pcLo = savedLo;
  hart.pcHi = savedHi;
  return result;
}
