/**
 * A one-instruction harness for the arm64 decoder fuzz suite: an arm64-virt core (MMU off) that
 * executes one instruction word at {@link ARM64_CODE} at EL1 or EL0 from a reset core, with every
 * general register pointing into RAM, and reports the first exception it took, if any.
 */
import { createArm64Virt } from "../../../boot/arm64/virt.js";
import type { Arm64Cpu } from "../../../emulator/arch/arm64/cpu.js";
import type { ExceptionEvent } from "../../../emulator/arch/arm64/exceptions.js";
import { REG, writeSysreg } from "../../../emulator/arch/arm64/sysregs.js";

/** Where the word under test is placed, the vector table (all NOPs), and the RAM the registers point into. */
export const ARM64_CODE = 0x4008_0000, ARM64_VBAR = 0x4009_0000, ARM64_DATA = 0x4010_0000;
const NOP = 0xd503201f;

export class Arm64Stepper {
  private readonly v = createArm64Virt({ ramSize: 4 << 20 });
  readonly cpu: Arm64Cpu = this.v.cpu;
  private first: ExceptionEvent | undefined;

  constructor() {
    const bus = this.v.machine.bus;
    for (let off = 0; off < 0x800; off += 4) bus.write(ARM64_VBAR + off, 4, NOP);
    this.cpu.onTrap = (e) => { this.first ??= e; };
  }

  /** Executes `word` once at EL `el` (0 or 1) and returns the first exception it caused, or undefined if it retired without one. */
  step(word: number, el: 0 | 1): ExceptionEvent | undefined {
    const c = this.cpu;
    this.v.machine.bus.write(ARM64_CODE, 4, word | 0);
    c.reset(ARM64_CODE, 0, 0);
    const sys = (key: number, v: bigint): void => {
      if (!writeSysreg(c, key, v)) throw new Error(`arm64 stepper: system register ${key} not writable`);
    };
    sys(REG.VBAR_EL1, BigInt(ARM64_VBAR));
    // Every register (and both stack pointers) a valid, 16-aligned RAM address a little apart.
    for (let i = 0; i < 31; i++) c.setX(i, BigInt(ARM64_DATA + 0x100 * i));
    sys(REG.SP_EL0, BigInt(ARM64_DATA + 0x4000));
    c.setX(32, BigInt(ARM64_DATA + 0x8000));
    if (el === 0) {
      sys(REG.SPSR_EL1, 0n);
      sys(REG.ELR_EL1, BigInt(ARM64_CODE));
      c.eret();
    }
    this.first = undefined;
    c.run(c.icount + 1);
    return this.first;
  }
}
