/**
 * A one-instruction harness for the decoder fuzz suites: a riscv64-virt hart that executes the
 * instruction bits placed at {@link CODE} at a chosen privilege (bare translation, every trap to
 * M-mode), and reports the first trap it took, if any.
 */
import { createRiscvVirt } from "../../../boot/riscv64/virt.js";
import { CSR, PRV_M } from "../../../emulator/arch/riscv64/defs.js";
import type { Hart } from "../../../emulator/arch/riscv64/hart.js";
import type { TrapEvent } from "../../../emulator/arch/riscv64/trap.js";

/** Where the instruction under test is placed, and the M-mode trap vector (a `nop`). */
export const CODE = 0x8000_0000, VECTOR = 0x8000_1000;
/** The last halfword of the page after CODE's: a 32-bit instruction there straddles two pages. */
export const CROSSING = 0x8000_2ffe;
const NOP = 0x00000013;

/** One machine reused for every step. */
export class Stepper {
  private readonly v = createRiscvVirt({ ramSize: 1 << 20 });
  readonly hart: Hart = this.v.machine.harts[0]!;
  private first: TrapEvent | undefined;

  constructor() {
    this.v.machine.bus.write(VECTOR, 4, NOP);
    this.hart.onTrap = (e) => { this.first ??= e; };
  }

  /**
   * Executes the `len`-byte instruction `bits` once at physical address `at` (default {@link CODE};
   * {@link CROSSING} puts a 32-bit one across a page boundary) at privilege `priv` from a reset
   * hart (x registers 0), and returns the first trap it caused, or undefined if it retired without one.
   */
  step(bits: number, len: 2 | 4, priv: number = PRV_M, at: number = CODE): TrapEvent | undefined {
    const h = this.hart, bus = this.v.machine.bus;
    bus.write(at, 2, bits & 0xffff);
    bus.write(at + 2, 2, len === 4 ? bits >>> 16 : NOP & 0xffff);
    h.reset(at, 0, 0);
    h.csrLo[CSR.mtvec] = VECTOR | 0;
    h.priv = priv;
    h.translationChanged();
    this.first = undefined;
    h.run(h.icount + 1);
    return this.first;
  }
}

/** U, S and M. */
export const PRIVILEGES = [0, 1, 3] as const;
