/**
 * An AArch64 core with EL0 and EL1: register state, PSTATE, the EL1 system registers that are not
 * the MMU's, the generic timer, and the memory paths (host fast path → MMU/TLB → bus).
 *
 * 64-bit values are int32 halves: X registers in `xl`/`xh` (index 31 reads as XZR, 32 is the
 * current SP, 33 is the sink that XZR destinations write to), the pc in `pcLo`/`pcHi`.
 * Faults are returned as data: an instruction that faults calls {@link Arm64Cpu.exception} and the
 * loop continues at the vector. The host fast path caches only what the architectural TLB holds
 * for the current EL/PAN/translation context, and is dropped whenever a TLB entry is dropped or
 * that context changes, so it never changes what the guest sees.
 */
import type { Bus } from "../../core/memory.js";
import { TlbSet, type TlbConfig } from "../../core/tlb.js";
import { CodeCache } from "../../core/code-cache.js";
import { EC, ESR_IL, PSR, REG_SP, SCTLR, VECTOR, type Arm64Translator, type TranslatorFactory } from "./defs.js";
import { DecodedPage, decodeInto, markNative } from "./decode.js";
import { takeException, exceptionReturn, type ExceptionEvent } from "./exceptions.js";
import { execute } from "./execute.js";
import { FP_SLOTS, fetchPage } from "./memory-access.js";
import { Arm64Jit } from "./jit.js";
import { GenericTimer } from "./timer.js";
import type { TlbiCodes } from "./system.js";
import type { Pair } from "./alu.js";

const INVALID_TAG = 1;

/** SCTLR_EL1 at reset: QEMU's Cortex-A57 value (SA, SA0, nTWI, nTWE, SPAN, RES1 bits; M = 0). */
export const SCTLR_RESET = 0x00c50838;

/**
 * Handler of HVC and SMC from EL1 (the firmware: PSCI). Returns true if it handled the call
 * (it sets X0 and the core continues after the instruction), false to make the instruction
 * UNDEFINED (there is no EL2 or EL3 to take it).
 */
export type FirmwareCall = (cpu: Arm64Cpu, imm16: number, smc: boolean) => boolean;

/**
 * A native entry: TypeScript that stands at a physical address where kernel or firmware text would
 * be. It runs when the core fetches that address at EL1, after everything the hardware does for any
 * instruction fetch (translation, and for an exception vector the whole exception entry). It must
 * leave by changing the pc: `cpu.eret()` or a jump.
 */
export type NativeEntry = (cpu: Arm64Cpu) => void;

/** Options of one core. */
export interface Arm64CpuOptions {
  tlb: TlbConfig;
  /** TLB page sizes (log2), smallest first: `arm64PageShifts` of mmu.ts. */
  pageShifts: readonly number[];
  /** Builds the stage-1 MMU. */
  mmu: TranslatorFactory;
  /** TLBI operation codes of that MMU. */
  tlbiCodes: TlbiCodes;
  /** Disables the host fast path (for checking that it changes nothing, and for strict TLB mode). */
  noFastPath?: boolean;
  /** Value of MPIDR_EL1 (default 0x8000_0000: Aff0 = 0, uniprocessor bit clear like QEMU). */
  mpidr?: number;
  /** The decode cache and native entries shared with the machine's other PEs (default: its own). */
  code?: Arm64CodeCache;
  /** The PE's number in its machine (default 0). */
  index?: number;
  /** Translate hot straight-line code into JavaScript functions (jit.ts; default on). */
  jit?: boolean;
}

/** The decode cache, native entries and fast-store rules the PEs of one machine share. */
export type Arm64CodeCache = CodeCache<DecodedPage, NativeEntry, Arm64Cpu>;

/**
 * The granule an exclusive load marks in the global monitor: the Exclusives Reservation Granule of
 * CTR_EL0.ERG = 4 (2^4 words = 64 bytes, the Cortex-A57 value the core reports).
 * @spec ARM-ARM B2.9.2 "Exclusive access instructions and Shareable memory locations" (a store by
 *   another PE to the marked granule clears the global monitor's mark); D19 CTR_EL0.ERG
 */
export const EXCLUSIVE_GRANULE = 64;

export class Arm64Cpu {
  /** X registers, low and high words (see the class comment for indexes 31..33). */
  readonly xl = new Int32Array(34);
  readonly xh = new Int32Array(34);
  pcLo = 0;
  pcHi = 0;
  /** PSTATE.EL (0 or 1). */
  el = 1;
  /** PSTATE.SP: 1 = SP_ELx at EL1. */
  spsel = 1;
  /** PSTATE.{N,Z,C,V} at bits 31..28. */
  nzcv = 0;
  /** PSTATE.{D,A,I,F} at bits 9..6. */
  daif: number = PSR.DAIF_MASK;
  /** PSTATE.PAN. */
  pan = false;
  /** PSTATE.IL (set by an illegal exception return). */
  il = false;
  /** PSTATE.SS as last restored (not otherwise modelled). */
  ss = false;
  /** The banked stack pointer not currently in register 32. */
  spEl0Lo = 0; spEl0Hi = 0;
  spEl1Lo = 0; spEl1Hi = 0;
  elrLo = 0; elrHi = 0;
  spsr = 0;
  esr = 0;
  farLo = 0; farHi = 0;
  vbarLo = 0; vbarHi = 0;
  /** SCTLR_EL1 low word as last written (the MMU holds the whole register). */
  sctlr = 0;
  /** Other system registers with plain storage, by 16-bit key (see system.ts). */
  readonly sysregs = new Map<number, bigint>();
  /** Instructions retired. */
  icount = 0;
  /** Exceptions taken. */
  traps = 0;
  /** icount when the last exception was taken. */
  lastTrapIcount = -1;
  /** The last exception's class, for messages (-1 for an IRQ). */
  lastEc = 0;
  /** The run loop stops before the instruction at this count. */
  stopAt = 0;
  /** The machine has been told to stop (power-off): the loop ends at the next check. */
  halted = false;
  /** Set by WFI: the machine should advance time to the next timer event. */
  waiting = false;
  /** Exclusive monitor: physical address of the last LDXR, or -1. */
  exclusivePa = -1;
  /** Size in bytes of the access that set the monitor. */
  exclusiveSize = 0;
  /** The PE's number in its machine. */
  readonly index: number;
  /**
   * The Inner Shareable domain the `TLBI ...IS` forms reach: every PE of the machine (this one
   * included); undefined for a lone PE, where they act locally.
   */
  shareable: readonly Arm64Cpu[] | undefined;
  /** Decode cache, native entries and fast-store rules, shared with the machine's other PEs. */
  readonly code: Arm64CodeCache;
  readonly timer: GenericTimer;
  readonly mmu: Arm64Translator;
  readonly tlbs: TlbSet;
  readonly tlbiCodes: TlbiCodes;
  readonly mpidr: number;
  /** Scratch pair for helper results. */
  readonly tmp: Pair = { lo: 0, hi: 0 };
  /** Value of the last slow-path load (zero-extended halves). */
  ldLo = 0;
  ldHi = 0;
  /** HVC/SMC handler (PSCI), set by the machine. */
  firmware: FirmwareCall | undefined;
  /** Trace hook for exceptions. */
  onTrap: ((e: ExceptionEvent) => void) | undefined;
  /** The clock (timer ticks); set by the machine. */
  time: () => number = () => this.icount;

  /** Native entries: physical address → index into {@link nativeFns} (shared, see {@link code}). */
  private readonly nativeAt: Map<number, number>;
  private readonly nativeFns: NativeEntry[];
  /** Decode cache: physical page number → decoded instructions (shared, see {@link code}). */
  readonly decoded: Map<number, DecodedPage>;
  /** Host fast path for loads (r) and stores (w): direct-mapped by VA page. */
  readonly rTagLo = new Int32Array(FP_SLOTS).fill(INVALID_TAG);
  readonly rTagHi = new Int32Array(FP_SLOTS);
  readonly rView: (DataView | null)[] = new Array(FP_SLOTS).fill(null);
  readonly rOff = new Int32Array(FP_SLOTS);
  readonly wTagLo = new Int32Array(FP_SLOTS).fill(INVALID_TAG);
  readonly wTagHi = new Int32Array(FP_SLOTS);
  readonly wView: (DataView | null)[] = new Array(FP_SLOTS).fill(null);
  readonly wOff = new Int32Array(FP_SLOTS);
  /** Fetch fast path: the VA page of the pc, and its decoded page. */
  fetchTagLo = INVALID_TAG;
  fetchTagHi = 0;
  fetchPage: DecodedPage = new DecodedPage();
  fetchPpn = -1;
  /** The host fast path is on. */
  fastPath: boolean;
  /** The block translator, or undefined when off (it runs only while the fast path is on). */
  readonly jit: Arm64Jit | undefined;
  /** Alignment mask for data accesses: 0xf when every access must be aligned (SCTLR.A, or MMU off), else 0. */
  alignMask = 0xf;
  /** SP alignment mask for SP-based accesses: 0xf when SCTLR.SA/SA0 applies at the current EL, else 0. */
  spAlignMask = 0;

  constructor(readonly bus: Bus, opts: Arm64CpuOptions) {
    this.fastPath = !(opts.noFastPath ?? false) && !opts.tlb.flushOnPteWrite;
    this.jit = opts.jit === false ? undefined : new Arm64Jit();
    this.tlbs = new TlbSet(opts.tlb, opts.pageShifts);
    this.tlbs.onDrop = () => this.flushFast();
    this.mmu = opts.mmu(bus, this.tlbs);
    this.tlbiCodes = opts.tlbiCodes;
    this.mpidr = opts.mpidr ?? 0x80000000;
    this.index = opts.index ?? 0;
    this.code = opts.code ?? new CodeCache();
    this.code.harts.push(this);
    this.nativeAt = this.code.nativeAt;
    this.nativeFns = this.code.nativeFns;
    this.decoded = this.code.decoded;
    this.timer = new GenericTimer(() => this.time());
  }

  /**
   * Resets to EL1h with the MMU off, DAIF masked, at `pc` with X0 = `x0` (the DTB address), as
   * QEMU's direct kernel boot of an ELF enters a guest.
   */
  reset(pcLo: number, pcHi: number, x0: number): void {
    this.xl.fill(0);
    this.xh.fill(0);
    this.xl[0] = x0 % 4294967296 | 0;
    this.xh[0] = Math.floor(x0 / 4294967296) | 0;
    this.pcLo = pcLo;
    this.pcHi = pcHi;
    this.el = 1;
    this.spsel = 1;
    this.nzcv = PSR.Z; // UNKNOWN at reset; QEMU starts with Z set
    this.daif = PSR.DAIF_MASK;
    this.pan = false;
    this.il = false;
    this.ss = false;
    this.spEl0Lo = this.spEl0Hi = this.spEl1Lo = this.spEl1Hi = 0;
    this.elrLo = this.elrHi = this.spsr = this.esr = this.farLo = this.farHi = this.vbarLo = this.vbarHi = 0;
    this.sysregs.clear();
    this.exclusivePa = -1;
    this.serrorIss = -1;
    this.timer.reset();
    this.sctlr = SCTLR_RESET;
    this.mmu.writeSctlr(this.sctlr, 0);
    this.mmu.writeTcr(0, 0);
    this.mmu.writeTtbr0(0, 0);
    this.mmu.writeTtbr1(0, 0);
    this.mmu.writeMair(0, 0);
    this.tlbs.invalidate({ kind: "reset" });
    this.translationChanged();
  }

  /** The pc as an unsigned bigint. */
  get pc(): bigint {
    return BigInt.asUintN(64, (BigInt(this.pcHi) << 32n) | BigInt(this.pcLo >>> 0));
  }

  /** X register `i` (0..30; 31 = XZR, 32 = the current SP) as an unsigned bigint. */
  x(i: number): bigint {
    return BigInt.asUintN(64, (BigInt(this.xh[i]!) << 32n) | BigInt(this.xl[i]! >>> 0));
  }

  /** Sets X register `i` (0..30, or 32 for the current SP) from the host. */
  setX(i: number, v: bigint): void {
    if (i === 31 || i > 32) return;
    this.xl[i] = Number(BigInt.asUintN(32, v)) | 0;
    this.xh[i] = Number(BigInt.asUintN(32, v >> 32n)) | 0;
  }

  /** PSTATE as SPSR_EL1 would record it. @spec ARCH-SPEC §3.7 "SPSR_EL1 / PSTATE layout" */
  get pstate(): number {
    return (this.nzcv | (this.pan ? PSR.PAN : 0) | (this.ss ? PSR.SS : 0) | (this.il ? PSR.IL : 0) | this.daif | (this.el << 2) | (this.el === 1 ? this.spsel : 0)) >>> 0;
  }

  /**
   * Switches PSTATE.EL/SP to `el`/`spsel`, banking the stack pointer, and recomputes the
   * translation context.
   */
  setElSp(el: number, spsel: number): void {
    const oldBank = this.el === 1 && this.spsel === 1 ? 1 : 0;
    const newBank = el === 1 && spsel === 1 ? 1 : 0;
    if (oldBank !== newBank) {
      if (oldBank === 1) { this.spEl1Lo = this.xl[REG_SP]!; this.spEl1Hi = this.xh[REG_SP]!; }
      else { this.spEl0Lo = this.xl[REG_SP]!; this.spEl0Hi = this.xh[REG_SP]!; }
      this.xl[REG_SP] = newBank === 1 ? this.spEl1Lo : this.spEl0Lo;
      this.xh[REG_SP] = newBank === 1 ? this.spEl1Hi : this.spEl0Hi;
    }
    const elChanged = el !== this.el;
    this.el = el;
    this.spsel = spsel;
    if (elChanged) this.translationChanged();
  }

  /** SP_EL0 / SP_EL1 as bigint, whichever is banked or current. */
  spOf(el: 0 | 1): bigint {
    const current = this.el === 1 && this.spsel === 1 ? 1 : 0;
    const lo = el === current ? this.xl[REG_SP]! : el === 1 ? this.spEl1Lo : this.spEl0Lo;
    const hi = el === current ? this.xh[REG_SP]! : el === 1 ? this.spEl1Hi : this.spEl0Hi;
    return BigInt.asUintN(64, (BigInt(hi) << 32n) | BigInt(lo >>> 0));
  }

  /** Something that may raise or unmask an interrupt changed: stop after this instruction to check. */
  interruptsChanged(): void {
    this.stopAt = 0;
  }

  /** EL, PAN, SCTLR or a translation register changed: recompute derived state and drop the fast path. */
  translationChanged(): void {
    this.mmu.pan = this.pan;
    const s = this.sctlr;
    this.alignMask = (s & SCTLR.M) === 0 || (s & SCTLR.A) !== 0 ? 0xf : 0;
    this.spAlignMask = (s & (this.el === 1 ? SCTLR.SA : SCTLR.SA0)) !== 0 ? 0xf : 0;
    this.flushFast();
  }

  /** Drops every host fast-path entry. */
  flushFast(): void {
    this.rTagLo.fill(INVALID_TAG);
    this.wTagLo.fill(INVALID_TAG);
    this.fetchTagLo = INVALID_TAG;
  }

  /** Drops the host fast-path store entries (a page became decoded or guarded, see CodeCache). */
  dropFastStores(): void {
    this.wTagLo.fill(INVALID_TAG);
  }

  /** Called for every bus write to RAM page `ppn` that did not go through the fast path. */
  ramWritten(ppn: number): void {
    if (!this.decoded.delete(ppn)) return;
    for (const c of this.code.harts) if (c.fetchPpn === ppn) c.fetchTagLo = INVALID_TAG;
  }

  /**
   * TLBI with operation code `op` (a value of {@link tlbiCodes}) and operand (hi:lo): the Inner
   * Shareable forms (`broadcast`) act on every PE of {@link shareable}, the others on this PE only.
   * @spec ARM-ARM D8.17 "TLB maintenance instructions" (shareability: an IS instruction affects
   *   the TLBs of every PE in the Inner Shareable domain of the PE that executes it, a non-IS one
   *   only the executing PE's TLBs); ARCH-SPEC §3.8 table "EL1 TLBI operations"
   */
  tlbi(op: number, lo: number, hi: number, broadcast: boolean): void {
    const domain = broadcast ? this.shareable : undefined;
    if (domain === undefined) this.mmu.tlbi(op, lo, hi);
    else for (const c of domain) c.mmu.tlbi(op, lo, hi);
  }

  /**
   * Takes a synchronous exception to EL1 at the current pc (the preferred return address for
   * aborts, UNDEFINED and BRK). `far` is written when given.
   */
  exception(ec: number, iss: number, farLo?: number, farHi?: number): void {
    takeException(this, VECTOR.SYNC, (ec << 26) | ESR_IL | iss, this.pcLo, this.pcHi, farLo, farHi);
  }

  /** An exception whose preferred return address is the next instruction (SVC, HVC, SMC). */
  exceptionAfter(ec: number, iss: number): void {
    const lo = (this.pcLo + 4) | 0;
    const hi = (this.pcHi + ((lo >>> 0) < 4 ? 1 : 0)) | 0;
    takeException(this, VECTOR.SYNC, (ec << 26) | ESR_IL | iss, lo, hi, undefined, undefined);
  }

  /** The UNDEFINED instruction exception (EC 0, Unknown reason). */
  undefined(): void {
    this.exception(EC.UNKNOWN, 0);
  }

  /**
   * The physical IRQ input: by default the generic timer's outputs directly (no interrupt
   * controller); a machine with a GIC sets its output here.
   */
  irqLine: () => boolean = () => this.timer.irq();

  /** The IRQ input is high (whether or not PSTATE.I masks it). */
  irqPending(): boolean {
    return this.irqLine();
  }

  /**
   * A pending physical SError interrupt's ISS (the platform raised it with {@link raiseSError}),
   * or -1. It stays pending while PSTATE.A masks it.
   */
  serrorIss = -1;

  /**
   * The platform signals an asynchronous SError interrupt with syndrome `iss` (ESR_EL1.ISS: IDS,
   * AET, DFSC). Taken at the next instruction boundary where PSTATE.A is clear; it ends a WFI.
   * @spec Arm ARM (DDI 0487) D1.3.3 "SError exceptions", D19.2 ESR_EL1 "ISS encoding for an SError interrupt"
   */
  raiseSError(iss: number): void {
    this.serrorIss = iss & 0x1ffffff;
    this.interruptsChanged();
  }

  /**
   * Takes a pending SError (PSTATE.A clear) or else a pending IRQ (PSTATE.I clear). Returns true if
   * it took one. SError goes first: both are asynchronous and their order is not architected.
   */
  checkInterrupts(): boolean {
    if (this.serrorIss >= 0 && (this.daif & PSR.A) === 0) {
      const iss = this.serrorIss;
      this.serrorIss = -1;
      this.waiting = false;
      takeException(this, VECTOR.SERROR, (EC.SERROR << 26) | ESR_IL | iss, this.pcLo, this.pcHi, undefined, undefined);
      return true;
    }
    if ((this.daif & PSR.I) !== 0 || !this.irqPending()) return false;
    takeException(this, VECTOR.IRQ, 0, this.pcLo, this.pcHi, undefined, undefined);
    return true;
  }

  /** ERET, as the instruction does it. */
  eret(): void {
    exceptionReturn(this);
  }

  /** Runs until `icount` reaches `limit` or something stops the loop (see {@link stopAt}). */
  run(limit: number): void {
    this.stopAt = limit;
    execute(this);
  }

  /** Translates the pc and makes its page current. Returns null if an exception was taken. */
  fetchSlow(): DecodedPage | null {
    return fetchPage(this);
  }

  /** Decodes slot `i` of `p` (the current fetch page) from RAM. */
  decodeSlot(p: DecodedPage, i: number): void {
    const pa = this.fetchPpn * 4096 + i * 4;
    const native = this.nativeAt.size === 0 ? undefined : this.nativeAt.get(pa);
    if (native !== undefined) {
      markNative(p, i, native);
      return;
    }
    this.bus.read(pa, 4);
    decodeInto(p, i, this.bus.lo);
  }

  /**
   * Places a native entry at physical address `pa` (4-byte aligned, in RAM). Throws RangeError for
   * a misaligned or already used address.
   */
  registerNative(pa: number, fn: NativeEntry): void {
    if (pa % 4 !== 0 || this.bus.find(pa, 4)?.ram === undefined) throw new RangeError(`registerNative: 0x${pa.toString(16)} is not a 4-byte aligned RAM address`);
    if (this.nativeAt.has(pa)) throw new RangeError(`registerNative: 0x${pa.toString(16)} already holds a native entry`);
    this.nativeAt.set(pa, this.nativeFns.length);
    this.nativeFns.push(fn);
    this.ramWritten(Math.floor(pa / 4096));
  }

  /**
   * Runs native entry `index` as one retired instruction. At EL0 it is UNDEFINED (kernel text is
   * never EL0-executable; this only happens with broken tables). Returns false if an exception was
   * taken instead. Throws Error if the entry returns without changing the pc (a host bug).
   */
  runNative(index: number): boolean {
    if (this.el === 0) {
      this.undefined();
      return false;
    }
    const lo = this.pcLo, hi = this.pcHi;
    this.nativeFns[index]!(this);
    if (this.pcLo === lo && this.pcHi === hi && !this.halted) {
      throw new Error(`native entry at pc 0x${this.pc.toString(16)} returned without leaving (it must eret or jump)`);
    }
    this.dropFetch();
    return true;
  }

  /** Invalidates the fetch fast path (after a branch to a misaligned target, ERET, ...). */
  dropFetch(): void {
    this.fetchTagLo = INVALID_TAG;
  }
}
