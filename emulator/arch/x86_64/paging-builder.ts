/**
 * Builds IA-32e paging structures in physical memory from the host side: firmware identity maps,
 * test fixtures, debuggers. Not a hot path (bigint throughout). It writes entries exactly as given,
 * so a caller can also build malformed tables (reserved bits, PS in a PML4E) on purpose.
 * @spec Intel SDM Vol. 3A §4.5 (Figure 4-8/4-9: the linear-address split, Tables 4-14..4-20)
 */
import type { Bus } from "../../core/memory.js";
import { PTE } from "./paging-defs.js";

/** Address bits 51:12 of an entry. */
const ADDR_MASK = 0x000f_ffff_ffff_f000n;

/** The index into the table at `level` (0 = PT ... 4 = PML5) for linear address `va`. */
export function tableIndex(va: bigint, level: number): number {
  return Number((BigInt.asUintN(64, va) >> BigInt(12 + 9 * level)) & 511n);
}

/** A page-table builder over `bus` for 4- or 5-level paging. */
export class X86PageTableBuilder {
  /** Physical address of the root table (PML4, or PML5 with 5 levels): what CR3 holds. */
  readonly root: number;

  /**
   * @param bus where the tables live (RAM; fresh pages must read as zero)
   * @param alloc returns the physical address of a zeroed, 4 KiB-aligned page for a new table
   * @param levels 4 or 5
   * @param tableFlags flags of the non-leaf entries it creates (default P | R/W | U/S: leaf rights decide)
   */
  constructor(private readonly bus: Bus, private readonly alloc: () => number, readonly levels: 4 | 5 = 4, private readonly tableFlags: bigint = BigInt(PTE.P | PTE.RW | PTE.US)) {
    this.root = alloc();
  }

  /**
   * Maps the page containing `va` at `level` (0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB) to `pa`, writing the
   * leaf `pa | flags` (the caller includes P, PS for a large page, PAT, XD, ...). Creates missing
   * tables with the builder's table flags. Returns the entry addresses used, indexed by level.
   */
  map(va: bigint, pa: number | bigint, flags: bigint, level = 0): number[] {
    const path: number[] = [];
    let table = this.root;
    for (let i = this.levels - 1; i > level; i--) {
      const addr = table + tableIndex(va, i) * 8;
      path[i] = addr;
      const cur = this.bus.read64(addr) ?? 0n;
      if ((cur & BigInt(PTE.P)) === 0n) {
        const next = this.alloc();
        this.bus.write64(addr, BigInt(next) | this.tableFlags);
        table = next;
      } else {
        table = Number(cur & ADDR_MASK);
      }
    }
    path[level] = table + tableIndex(va, level) * 8;
    this.bus.write64(path[level]!, BigInt(pa) | flags);
    return path;
  }

  /**
   * The address of the entry at `level` on the walk for `va`, following present entries, or
   * undefined when a higher entry is not present.
   */
  entryAddr(va: bigint, level: number): number | undefined {
    let table = this.root;
    for (let i = this.levels - 1; i >= level; i--) {
      const addr = table + tableIndex(va, i) * 8;
      if (i === level) return addr;
      const cur = this.bus.read64(addr) ?? 0n;
      if ((cur & BigInt(PTE.P)) === 0n) return undefined;
      table = Number(cur & ADDR_MASK);
    }
    return undefined;
  }

  /** Reads the entry at physical address `addr`. */
  read(addr: number): bigint {
    return this.bus.read64(addr) ?? 0n;
  }

  /** Writes the entry at physical address `addr`. */
  write(addr: number, entry: bigint): void {
    this.bus.write64(addr, entry);
  }
}
