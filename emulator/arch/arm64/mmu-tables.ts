/**
 * Building VMSAv8-64 stage-1 translation tables in physical memory, and TCR_EL1 values from named
 * fields: for tests, tools and bare-metal fixtures (the kernel has its own encoder in
 * kernel/arch/arm64). Host-side code: BigInt is fine here.
 * @spec ARM-ARM D8.3 descriptor formats; D19 TCR_EL1; ARCH-SPEC §3.1-3.3
 */
import { Bus } from "../../core/memory.js";
import { DEFAULT_TLB, type TlbConfig, TlbSet } from "../../core/tlb.js";
import { arm64PageShifts, type Granule, GRANULE_4K, GRANULE_16K, GRANULE_64K, startLevel } from "./granules.js";
import { type Access, Arm64Mmu } from "./mmu.js";

/** Named TCR_EL1 fields (absent = 0). Granules are given by name; the encoders differ per range. */
export interface TcrFields {
  t0sz?: number;
  t1sz?: number;
  tg0?: Granule["name"];
  tg1?: Granule["name"];
  epd0?: boolean;
  epd1?: boolean;
  a1?: boolean;
  /** IPS encoding, 0..7 (5 = 48 bits). */
  ips?: number;
  as?: boolean;
  tbi0?: boolean;
  tbi1?: boolean;
  ha?: boolean;
  hd?: boolean;
  hpd0?: boolean;
  hpd1?: boolean;
}

/** TG0 encodings (bits 15:14): 4K = 00, 64K = 01, 16K = 10. */
export const TG0_ENCODING: Readonly<Record<Granule["name"], number>> = { "4K": 0, "64K": 1, "16K": 2 };
/** TG1 encodings (bits 31:30): 16K = 01, 4K = 10, 64K = 11. */
export const TG1_ENCODING: Readonly<Record<Granule["name"], number>> = { "16K": 1, "4K": 2, "64K": 3 };

/** The TCR_EL1 value with these fields. @spec ARM-ARM D19 TCR_EL1 */
export function encodeTcr(f: TcrFields): bigint {
  const b = (v: boolean | undefined, bit: number): bigint => (v ? 1n << BigInt(bit) : 0n);
  return BigInt(f.t0sz ?? 0) | b(f.epd0, 7) | (BigInt(TG0_ENCODING[f.tg0 ?? "4K"]) << 14n)
    | (BigInt(f.t1sz ?? 0) << 16n) | b(f.a1, 22) | b(f.epd1, 23) | (BigInt(TG1_ENCODING[f.tg1 ?? "4K"]) << 30n)
    | (BigInt(f.ips ?? 0) << 32n) | b(f.as, 36) | b(f.tbi0, 37) | b(f.tbi1, 38) | b(f.ha, 39) | b(f.hd, 40)
    | b(f.hpd0, 41) | b(f.hpd1, 42);
}

/** A granule by name. */
export function granuleNamed(name: Granule["name"]): Granule {
  return name === "4K" ? GRANULE_4K : name === "16K" ? GRANULE_16K : GRANULE_64K;
}

/** Descriptor type bits: a table or level-3 page is 0b11, a block 0b01. */
const TABLE_OR_PAGE = 3n, BLOCK = 1n;
const ADDR_MASK = ((1n << 48n) - 1n) & ~0xfffn;

/**
 * One translation regime's tables for one VA range (one TTBR), allocated granule-aligned from a
 * pool of RAM that must read as zero.
 */
export class TableBuilder {
  readonly start: number;
  /** The start-level table (the TTBR's BADDR). */
  readonly root: number;
  private next: number;

  /**
   * @param bus where the tables live
   * @param granule the range's granule
   * @param inputSize 64 - TxSZ
   * @param pool first byte of a zeroed RAM pool, granule aligned; tables are allocated upward
   */
  constructor(private readonly bus: Bus, readonly granule: Granule, readonly inputSize: number, pool: number) {
    if (pool % 2 ** granule.shift !== 0) throw new RangeError(`TableBuilder: pool 0x${pool.toString(16)} is not ${granule.name} aligned`);
    this.start = startLevel(granule, inputSize);
    this.next = pool;
    this.root = this.alloc();
  }

  /** First free byte of the pool. */
  get poolEnd(): number {
    return this.next;
  }

  /** A fresh granule-sized table. */
  alloc(): number {
    const t = this.next;
    this.next += 2 ** this.granule.shift;
    return t;
  }

  /** Index of `va` in a table at `level`. */
  index(va: bigint, level: number): number {
    const shift = this.granule.levelShift[level]!;
    const bits = level === this.start ? this.inputSize - shift : this.granule.stride;
    return Number((BigInt.asUintN(64, va) >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n));
  }

  /**
   * Maps `va` to `pa` with a leaf at `level` (3 = page, else a block) carrying `leafBits` (attribute
   * bits, e.g. AF | AP; the type bits are added), creating missing tables whose descriptors carry
   * `tableBits` (e.g. APTable). Returns the descriptor address used at each level (index = level).
   */
  map(va: bigint, pa: number, level: number, leafBits: bigint, tableBits = 0n): number[] {
    const path: number[] = [];
    let table = this.root;
    for (let l = this.start; l < level; l++) {
      const addr = table + this.index(va, l) * 8;
      path[l] = addr;
      const cur = this.bus.read64(addr)!;
      if ((cur & 3n) !== TABLE_OR_PAGE) {
        table = this.alloc();
        this.bus.write64(addr, BigInt(table) | TABLE_OR_PAGE | tableBits);
      } else {
        table = Number(cur & ADDR_MASK);
      }
    }
    path[level] = table + this.index(va, level) * 8;
    this.bus.write64(path[level]!, BigInt(pa) | (level === 3 ? TABLE_OR_PAGE : BLOCK) | leafBits);
    return path;
  }
}

/** A bus with RAM, a TLB set, an MMU and table builders for both VA ranges (tests and tools). */
export interface MmuRig {
  bus: Bus;
  tlbs: TlbSet;
  mmu: Arm64Mmu;
  /** Tables of the TTBR0 and TTBR1 ranges. */
  t0: TableBuilder;
  t1: TableBuilder;
}

/** Options of {@link mmuRig}. */
export interface MmuRigOptions {
  tcr?: TcrFields;
  /** SCTLR_EL1 (default: M = 1). */
  sctlr?: bigint;
  mair?: bigint;
  asid0?: number;
  asid1?: number;
  tlb?: TlbConfig;
}

/** RAM of the rig: 256 MiB at 1 GiB; the TTBR0 tables grow from +16 MiB, the TTBR1 ones from +80 MiB. */
export const RIG_RAM_BASE = 0x4000_0000;
export const RIG_RAM_SIZE = 0x1000_0000;

/** The TCR_EL1 fields a rig starts from: 48-bit VAs and 4K granules in both ranges, IPS 48 bits. */
export const RIG_TCR: TcrFields = { t0sz: 16, t1sz: 16, tg0: "4K", tg1: "4K", ips: 5 };

/**
 * Builds a rig with the MMU on: TCR_EL1 = {@link RIG_TCR} overridden by `opts.tcr`, TTBRn = the
 * builders' roots with the given ASIDs, MAIR_EL1 = opts.mair (default Attr0 = Device-nGnRE 0x04,
 * Attr1 = Normal WB 0xff, Attr2 = Normal NC 0x44).
 */
export function mmuRig(opts: MmuRigOptions = {}): MmuRig {
  const tcr = { ...RIG_TCR, ...opts.tcr };
  const bus = new Bus();
  bus.addRam("ram", RIG_RAM_BASE, RIG_RAM_SIZE);
  const tlbs = new TlbSet(opts.tlb ?? DEFAULT_TLB, arm64PageShifts);
  const mmu = new Arm64Mmu(bus, tlbs);
  const t0 = new TableBuilder(bus, granuleNamed(tcr.tg0 ?? "4K"), 64 - (tcr.t0sz ?? 16), RIG_RAM_BASE + 0x100_0000);
  const t1 = new TableBuilder(bus, granuleNamed(tcr.tg1 ?? "4K"), 64 - (tcr.t1sz ?? 16), RIG_RAM_BASE + 0x500_0000);
  const rig = { bus, tlbs, mmu, t0, t1 };
  setReg(mmu, "tcr", encodeTcr(tcr));
  setReg(mmu, "ttbr0", BigInt(t0.root) | (BigInt(opts.asid0 ?? 0) << 48n));
  setReg(mmu, "ttbr1", BigInt(t1.root) | (BigInt(opts.asid1 ?? 0) << 48n));
  setReg(mmu, "mair", opts.mair ?? 0x44ff04n);
  setReg(mmu, "sctlr", opts.sctlr ?? 1n);
  return rig;
}

/** The system registers an {@link Arm64Mmu} holds. */
export type MmuReg = "sctlr" | "tcr" | "ttbr0" | "ttbr1" | "mair";

/** MSR `reg` of `mmu` with a 64-bit value. */
export function setReg(mmu: Arm64Mmu, reg: MmuReg, v: bigint): void {
  const lo = Number(BigInt.asUintN(64, v) & 0xffffffffn) | 0;
  const hi = Number(BigInt.asUintN(64, v) >> 32n) | 0;
  switch (reg) {
    case "sctlr": mmu.writeSctlr(lo, hi); break;
    case "tcr": mmu.writeTcr(lo, hi); break;
    case "ttbr0": mmu.writeTtbr0(lo, hi); break;
    case "ttbr1": mmu.writeTtbr1(lo, hi); break;
    case "mair": mmu.writeMair(lo, hi); break;
  }
}

/** Translates a bigint VA (either sign) with `mmu`; the PA or -1. */
export function translateVa(mmu: Arm64Mmu, va: bigint, access: Access, el: number): number {
  const v = BigInt.asUintN(64, va);
  return mmu.translate(Number(v & 0xffffffffn) | 0, Number(v >> 32n) | 0, access, el);
}

/** The Xt operand of a TLBI by VA: VA[55:12] in bits 43:0 and the ASID in bits 63:48. */
export function tlbiOperand(va: bigint, asid = 0): { lo: number; hi: number } {
  const x = ((BigInt.asUintN(64, va) >> 12n) & ((1n << 44n) - 1n)) | (BigInt(asid) << 48n);
  return { lo: Number(x & 0xffffffffn) | 0, hi: Number(x >> 32n) | 0 };
}
