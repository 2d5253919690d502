/**
 * What record and replay need of a machine, per architecture (docs/replay.md): run it to an
 * instruction count, see every trap as a row, hash its architectural state, name its registers,
 * and stop it from inside a trap hook. One {@link ReplayTarget} per machine; the observer
 * (observer.ts) and the record format (record.ts) are the same for all of them.
 *
 * | arch | trap row: cause | tval | epc |
 * |---|---|---|---|
 * | riscv64 | scause (interrupts with bit 31 set) | stval | sepc/mepc |
 * | arm64 | vector offset (0 sync, 0x80 IRQ, 0x180 SError) × 2^32 + ESR_EL1 | FAR_EL1 (0 when not written) | ELR_EL1 |
 * | x86_64 | vector + 256 if external + 512 × (error code + 1) when one was pushed | CR2 for #PF, else 0 | the pushed RIP |
 *
 * Every processor's traps are rows, and every processor's state is in the hash. The instruction
 * count of a trap row is the machine's (all processors together), as checkpoints count: a
 * processor's own count is not ordered with the other processors' traps.
 */
import { Digest } from "../../emulator/core/digest.js";
import type { Bus } from "../../emulator/core/memory.js";
import type { RunResult } from "../../emulator/core/run.js";
import { hex } from "../../emulator/core/trace.js";
import type { RiscvMachine } from "../../emulator/arch/riscv64/machine.js";
import { hartRegisters, hartsStateHash } from "../../emulator/arch/riscv64/state-hash.js";
import type { Arm64Machine } from "../../emulator/arch/arm64/machine.js";
import type { Arm64Cpu } from "../../emulator/arch/arm64/cpu.js";
import { readSysreg, REG } from "../../emulator/arch/arm64/sysregs.js";
import type { X86Machine } from "../../emulator/arch/x86_64/machine.js";
import type { X86Cpu } from "../../emulator/arch/x86_64/cpu.js";
import type { LocalApic } from "../../emulator/devices/lapic.js";
import type { TrapRow } from "./record.js";

/** A machine as record and replay drive it. */
export interface ReplayTarget {
  readonly arch: "riscv64" | "arm64" | "x86_64";
  readonly bus: Bus;
  /** Runs until the machine ends or `maxInsns` instructions have retired (all processors). */
  run(maxInsns: number): RunResult;
  /** Calls `fn` for every trap, after any hook already installed. */
  onTrap(fn: (row: TrapRow) => void): void;
  /** Digest of every processor's architectural state (registers, system registers, counts). */
  stateHash(): string;
  /** Processor 0's pc and general registers by name, as hex. */
  registers(): Record<string, string>;
  /** Ends the run after the current instruction (safe inside a trap hook). */
  stop(): void;
  /** A trap row in words. */
  showTrap(t: TrapRow): string;
}

const TWO32 = 2 ** 32;
const bigWords = (d: Digest, v: bigint): Digest => d.word(Number(v & 0xffffffffn)).word(Number((v >> 32n) & 0xffffffffn));

/** The trap event a processor's `onTrap` hook receives. */
type TrapOf<C extends { onTrap: ((e: never) => void) | undefined }> = Parameters<NonNullable<C["onTrap"]>>[0];

/** What {@link hookTraps} needs of a machine: its count of instructions (all processors). */
interface Counted {
  retired(): number;
  idleRetired: number;
}

/**
 * Hooks every processor of `cores` (after any hook already installed): each trap becomes a row,
 * with its instruction count on the machine's scale (the count of the trapping processor `e.icount`
 * plus everything the others retired).
 */
function hookTraps<C extends { icount: number; onTrap: ((e: never) => void) | undefined }>(
  m: Counted, cores: readonly C[], row: (e: TrapOf<C>, icount: number) => TrapRow, fn: (row: TrapRow) => void,
): void {
  for (const c of cores) {
    const prev = c.onTrap as ((e: TrapOf<C>) => void) | undefined;
    const hook = (e: TrapOf<C>): void => {
      prev?.(e);
      const at = (e as { icount: number }).icount;
      fn(row(e, cores.length === 1 ? at : m.retired() - m.idleRetired - c.icount + at));
    };
    c.onTrap = hook as C["onTrap"];
  }
}

/** riscv64-virt: every hart. */
export function riscvTarget(m: RiscvMachine): ReplayTarget {
  return {
    arch: "riscv64", bus: m.bus,
    run: (maxInsns) => m.run({ maxInsns }),
    onTrap: (fn) => hookTraps(m, m.harts, (e, icount) => [icount, (e.cause | (e.interrupt ? 0x8000_0000 : 0)) >>> 0, hex(e.tval), hex(e.epc)], fn),
    stateHash: () => hartsStateHash(m.harts),
    registers: () => hartRegisters(m.harts[0]!),
    stop: () => m.requestFinish("fail", 1),
    showTrap: (t) => `${t[1] >= 0x8000_0000 ? `interrupt ${t[1] - 0x8000_0000}` : `exception ${t[1]}`} at instruction ${t[0]}, epc ${t[3]}, tval ${t[2]}`,
  };
}

const ARM64_KINDS: Record<number, string> = { 0: "synchronous exception", 0x80: "IRQ", 0x100: "FIQ", 0x180: "SError" };

/** Absorbs everything software can observe of an AArch64 core except memory. */
function arm64Digest(c: Arm64Cpu, d: Digest): void {
  d.word(c.index).word(c.pcLo).word(c.pcHi).word(c.pstate).words(c.xl).words(c.xh);
  d.word(c.spEl0Lo).word(c.spEl0Hi).word(c.spEl1Lo).word(c.spEl1Hi).word(c.elrLo).word(c.elrHi).word(c.spsr).word(c.esr);
  d.word(c.farLo).word(c.farHi).word(c.vbarLo).word(c.vbarHi).number(c.icount).number(c.traps);
  d.number(c.exclusivePa + 1).word(c.serrorIss).word(c.waiting ? 1 : 0);
  for (const key of Object.values(REG)) bigWords(d, readSysreg(c, key) ?? 0n);
}

/** Every PE's state, which PEs are off, and the machine's time (skipped ticks, idle turns). */
function arm64StateHash(m: Arm64Machine): string {
  const d = new Digest();
  for (const c of m.cpus) arm64Digest(c, d.word(m.off[c.index]!));
  return d.number(m.skipped).number(m.idleRetired).hex();
}

/** arm64-virt: every PE. */
export function arm64Target(m: Arm64Machine): ReplayTarget {
  const c = m.cpu;
  return {
    arch: "arm64", bus: m.bus,
    run: (maxInsns) => m.run({ maxInsns }),
    onTrap: (fn) => hookTraps(m, m.cpus, (e, icount) => [icount, e.kind * TWO32 + (e.esr >>> 0), hex(e.far ?? 0n), hex(e.elr)], fn),
    stateHash: () => arm64StateHash(m),
    registers() {
      const r: Record<string, string> = { pc: hex(c.pc), pstate: hex(BigInt(c.pstate)) };
      for (let i = 0; i <= 30; i++) r[`x${i}`] = hex(c.x(i));
      r.sp = hex(c.x(32));
      return r;
    },
    stop: () => m.requestFinish("fail", 1, "replay: stopped at the first divergence"),
    showTrap(t) {
      const kind = Math.floor(t[1] / TWO32), esr = t[1] % TWO32;
      const what = kind === 0 || kind === 0x180 ? `${ARM64_KINDS[kind]} EC 0x${(esr >>> 26).toString(16)} (ESR_EL1 0x${esr.toString(16)})` : ARM64_KINDS[kind] ?? `vector offset 0x${kind.toString(16)}`;
      return `${what} at instruction ${t[0]}, ELR ${t[3]}, FAR ${t[2]}`;
    },
  };
}

const X86_GPR = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];

/** Absorbs everything software can observe of an x86_64 CPU except memory, and its local APIC's interrupt state. */
function x86Digest(c: X86Cpu, apic: LocalApic, d: Digest): void {
  d.word(c.hartId).word(c.ripLo).word(c.ripHi).word(c.rflags).word(c.cpl).words(c.gl).words(c.gh);
  for (const s of c.sel) d.word(s);
  d.word(c.fsBaseLo).word(c.fsBaseHi).word(c.gsBaseLo).word(c.gsBaseHi).word(c.gdtrLimit).word(c.idtrLimit).word(c.trSel).word(c.trLimit).word(c.cr8);
  for (const v of [c.kernelGsBase, c.gdtrBase, c.idtrBase, c.trBase, c.star, c.lstar, c.cstar, c.fmask, c.tscAux, c.pat, c.tscOffset]) bigWords(d, v);
  for (const v of [c.mmu.cr0, c.mmu.cr2, c.mmu.cr3, c.mmu.cr4, c.mmu.efer]) bigWords(d, v);
  d.number(c.icount).number(c.traps).word(c.halted ? 1 : 0).number(c.shadowUntil);
  d.words(apic.irr).words(apic.isr).word(apic.tpr);
}

/** Every CPU's state, which CPUs the firmware holds, and the machine's time (skipped ticks, idle turns). */
function x86StateHash(m: X86Machine): string {
  const d = new Digest();
  for (const c of m.cpus) x86Digest(c, m.lapics[c.hartId]!, d.word(m.parked[c.hartId]!));
  return d.number(m.skipped).number(m.idleRetired).hex();
}

/** x86_64-pc: every CPU. */
export function x86Target(m: X86Machine): ReplayTarget {
  const c = m.cpu;
  return {
    arch: "x86_64", bus: m.bus,
    run: (maxInsns) => m.run({ maxInsns }),
    onTrap: (fn) => hookTraps(m, m.cpus, (e, icount) => {
      const cause = e.vector + (e.external ? 256 : 0) + (e.errorCode === undefined ? 0 : 512 * ((e.errorCode >>> 0) + 1));
      return [icount, cause, hex(e.vector === 14 ? e.cr2 : 0n), hex(e.rip)];
    }, fn),
    stateHash: () => x86StateHash(m),
    registers() {
      const r: Record<string, string> = { rip: hex(c.rip), rflags: hex(BigInt(c.rflags)), cpl: String(c.cpl) };
      X86_GPR.forEach((name, i) => { r[name] = hex(c.reg(i)); });
      return r;
    },
    stop: () => m.requestExit(1, "replay (stopped at the first divergence)"),
    showTrap(t) {
      const vector = t[1] % 256, external = Math.floor(t[1] / 256) % 2 === 1, err = Math.floor(t[1] / 512);
      return `${external ? "interrupt" : "exception"} vector ${vector}${err > 0 ? ` error code 0x${(err - 1).toString(16)}` : ""} at instruction ${t[0]}, rip ${t[3]}${vector === 14 ? `, cr2 ${t[2]}` : ""}`;
    },
  };
}
