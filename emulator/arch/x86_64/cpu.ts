/**
 * An x86_64 logical processor in long mode (64-bit code only): register state, the fetch/decode
 * path through a per-physical-page decode cache, and the memory access paths (host fast path →
 * architectural TLB → page walk, all through {@link X86Mmu}).
 *
 * 64-bit values are int32 halves: general registers in `gl`/`gh`, RIP in `ripLo`/`ripHi`.
 * Faults are delivered, never thrown: a faulting access delivers the exception (trap.ts) and returns
 * false, and the executor abandons the instruction. The host fast path holds only pages the
 * architectural TLB translates in the current context (CPL, RFLAGS.AC, control registers); it is
 * dropped whenever the TLB drops an entry or that context changes, so it never changes what the
 * guest sees.
 */
import type { Bus } from "../../core/memory.js";
import { TlbSet, type TlbConfig } from "../../core/tlb.js";
import { AC, IMPLICIT, LOAD, STORE, USER, X86Mmu, x86PageShifts, type Access } from "./mmu.js";
import { RFLAGS, VEC } from "./defs.js";
import { CR4 } from "./paging-defs.js";
import { Insn, Op } from "./insn.js";
import { PortBus } from "./ports.js";
import { FP_SLOTS, loadSlow, storeSlow } from "./memory-access.js";
import { deliver, iret, type TrapEvent } from "./trap.js";
import { sysret } from "./system.js";
import { execute } from "./execute.js";
import { DecodedPage, decodeAt, fetchCross, fetchSlow, INVALID_TAG } from "./fetch.js";
import { X86Jit } from "./jit.js";

export { DecodedPage };
import type { X86StaleTlbDetector } from "./tlb-stale.js";

const TWO32 = 4294967296;

/** A decoded SYSRETQ (REX.W 0F 07), for {@link X86Cpu.sysretq}. */
const SYSRETQ = new Insn();
SYSRETQ.op = Op.SYSRET;
SYSRETQ.size = 8;

/** An interrupt controller as the CPU sees it (the local APIC). */
export interface InterruptSource {
  /** The vector of the highest-priority deliverable interrupt, or -1. */
  pendingVector(): number;
  /** The CPU accepted `vector` (moves it from IRR to ISR). */
  acknowledge(vector: number): void;
}

/**
 * A native entry: TypeScript standing at a physical address where kernel text would be. It runs
 * when the CPU fetches that address at CPL 0, after everything the hardware does for that fetch
 * (for an IDT vector, the whole event delivery). It must leave by changing RIP (`cpu.iretq()`, a
 * jump) unless the machine was halted.
 */
export type NativeEntry = (cpu: X86Cpu) => void;

/** Options of one CPU. */
export interface X86CpuOptions {
  tlb: TlbConfig;
  /** MAXPHYADDR (default: the MMU's). */
  maxPhysAddr?: number;
  /** Support 5-level paging (CR4.LA57). */
  la57?: boolean;
  /** Disables the host fast path (to check that it changes nothing). */
  noFastPath?: boolean;
  /** This CPU's number (default 0). */
  hartId?: number;
  /** The machine's I/O ports (default: a port bus of this CPU's own). */
  ports?: PortBus;
  /** Translate hot straight-line code into JavaScript functions (jit.ts; default on). */
  jit?: boolean;
  /** The decode cache and native entries, shared by the CPUs of one machine (default: this CPU's own). */
  code?: X86CodeCache;
}

/** What the CPUs of one machine share about physical memory: decoded pages and native entries. */
export interface X86CodeCache {
  readonly decoded: Map<number, DecodedPage>;
  readonly nativeAt: Map<number, number>;
  readonly nativeFns: NativeEntry[];
}

export class X86Cpu {
  /** This CPU's number (reports name it; its APIC ID on x86_64-pc). */
  readonly hartId: number;
  /** General registers, low and high words, in encoding order (RAX..R15). */
  readonly gl = new Int32Array(16);
  readonly gh = new Int32Array(16);
  ripLo = 0;
  ripHi = 0;
  /** RIP of the next instruction while one executes (control transfers overwrite it). */
  nLo = 0;
  nHi = 0;
  /** RFLAGS (bits 63:22 are reserved zero). */
  rflags = RFLAGS.FIXED;
  /** Current privilege level (CS.RPL): 0 or 3. */
  cpl = 0;
  /** Segment selectors ES, CS, SS, DS, FS, GS. Bases of ES/CS/SS/DS are 0 in 64-bit mode. */
  readonly sel = new Uint16Array(6);
  fsBaseLo = 0;
  fsBaseHi = 0;
  gsBaseLo = 0;
  gsBaseHi = 0;
  kernelGsBase = 0n;
  gdtrBase = 0n;
  gdtrLimit = 0;
  idtrBase = 0n;
  idtrLimit = 0;
  trSel = 0;
  trBase = 0n;
  trLimit = 0;
  star = 0n;
  lstar = 0n;
  cstar = 0n;
  fmask = 0n;
  tscAux = 0n;
  pat = 0x0007040600070406n;
  /** CR8 (task priority, 4 bits): stored and read back; the local APIC's TPR is separate. */
  cr8 = 0;
  /** IA32_TSC minus the instruction clock (set by WRMSR to the TSC). */
  tscOffset = 0n;
  /** Instructions retired. */
  icount = 0;
  /** Events delivered (exceptions and interrupts). */
  traps = 0;
  /** The last delivered vector (for messages). */
  lastVector = -1;
  /** The run loop stops before the instruction at this count. */
  stopAt = 0;
  /** HLT executed: waiting for an interrupt. */
  halted = false;
  /** The machine was told to stop (debug exit): natives may return without leaving. */
  stopped = false;
  /** A triple fault happened: the processor shut down. */
  shutdown = false;
  /** The vector being delivered (for the double-fault rules), or -1. */
  delivering = -1;
  /** Interrupts stay blocked until icount reaches this (the STI and MOV SS shadow). */
  shadowUntil = 0;
  /** MMU mode bits for explicit data accesses (USER at CPL 3, AC when RFLAGS.AC = 1). */
  dataMode = 0;
  /** Effective address of the last memory operand. */
  eaLo = 0;
  eaHi = 0;
  /** Value of the last load. */
  vLo = 0;
  vHi = 0;
  /** ALU result. */
  rLo = 0;
  rHi = 0;
  readonly mmu: X86Mmu;
  readonly tlbs: TlbSet;
  /** The I/O port space (one per machine, shared by its CPUs). */
  readonly ports: PortBus;
  /** Interrupt controller (the local APIC), set by the machine. */
  intr: InterruptSource | undefined;
  /** Trace hook for delivered events. */
  onTrap: ((e: TrapEvent) => void) | undefined;
  /** The time-stamp counter (the machine sets it to its clock). */
  time: () => number = () => this.icount;

  /** Decode cache: physical page number → decoded page (shared by the machine's CPUs). */
  readonly decoded: Map<number, DecodedPage>;
  /** Native entries: physical address → index into the registered functions (shared likewise). */
  readonly nativeAt: Map<number, number>;
  private readonly nativeFns: NativeEntry[];
  /** Host fast path for loads (r) and stores (w): direct-mapped by VA page. */
  readonly rTagLo = new Int32Array(FP_SLOTS).fill(INVALID_TAG);
  readonly rTagHi = new Int32Array(FP_SLOTS);
  readonly rView: (DataView | null)[] = new Array<DataView | null>(FP_SLOTS).fill(null);
  readonly rOff = new Int32Array(FP_SLOTS);
  readonly wTagLo = new Int32Array(FP_SLOTS).fill(INVALID_TAG);
  readonly wTagHi = new Int32Array(FP_SLOTS);
  readonly wView: (DataView | null)[] = new Array<DataView | null>(FP_SLOTS).fill(null);
  readonly wOff = new Int32Array(FP_SLOTS);
  /** Fetch fast path: the VA page of RIP and its decoded page. */
  fetchTagLo = INVALID_TAG;
  fetchTagHi = 0;
  fetchPage: DecodedPage = new DecodedPage(new Uint8Array(4096));
  fetchPpn = -1;
  /** Scratch for instructions that straddle two pages. */
  readonly crossBytes = new Uint8Array(32);
  readonly crossInsn = new Insn();
  /** The host fast path is on. */
  fastPath: boolean;
  /** The block translator, or undefined when off (it runs only while the fast path is on). */
  readonly jit: X86Jit | undefined;

  constructor(readonly bus: Bus, opts: X86CpuOptions) {
    this.hartId = opts.hartId ?? 0;
    this.ports = opts.ports ?? new PortBus();
    this.decoded = opts.code?.decoded ?? new Map();
    this.nativeAt = opts.code?.nativeAt ?? new Map();
    this.nativeFns = opts.code?.nativeFns ?? [];
    this.fastPath = !(opts.noFastPath ?? false) && !opts.tlb.flushOnPteWrite;
    this.jit = opts.jit === false ? undefined : new X86Jit();
    this.tlbs = new TlbSet(opts.tlb, x86PageShifts);
    this.tlbs.onDrop = () => this.flushFast();
    this.mmu = new X86Mmu(bus, this.tlbs, { maxPhysAddr: opts.maxPhysAddr, la57: opts.la57 });
  }

  // ---- state helpers --------------------------------------------------------------------------

  /**
   * Strict TLB mode: the host fast path goes off for good, so every access is translated through
   * the TLB, and each TLB hit is checked by `detector` (reports only; the guest sees no change).
   */
  checkTlbHits(detector: X86StaleTlbDetector): void {
    this.fastPath = false;
    this.flushFast();
    this.mmu.strict = detector.hooksFor(this);
  }

  /** RIP (the name the stale-TLB reports use). */
  get pc(): bigint {
    return this.rip;
  }

  /** RIP as an unsigned bigint. */
  get rip(): bigint {
    return BigInt.asUintN(64, (BigInt(this.ripHi) << 32n) | BigInt(this.ripLo >>> 0));
  }

  /** Sets RIP (host-side). */
  setRip(v: bigint): void {
    this.ripLo = Number(BigInt.asUintN(32, v)) | 0;
    this.ripHi = Number(BigInt.asUintN(32, v >> 32n)) | 0;
  }

  /** General register `i` as an unsigned bigint. */
  reg(i: number): bigint {
    return BigInt.asUintN(64, (BigInt(this.gh[i]!) << 32n) | BigInt(this.gl[i]! >>> 0));
  }

  /** Sets general register `i` (host-side). */
  setReg(i: number, v: bigint): void {
    this.gl[i] = Number(BigInt.asUintN(32, v)) | 0;
    this.gh[i] = Number(BigInt.asUintN(32, v >> 32n)) | 0;
  }

  /** FS.base and GS.base as bigints. */
  get fsBase(): bigint {
    return BigInt.asUintN(64, (BigInt(this.fsBaseHi) << 32n) | BigInt(this.fsBaseLo >>> 0));
  }
  get gsBase(): bigint {
    return BigInt.asUintN(64, (BigInt(this.gsBaseHi) << 32n) | BigInt(this.gsBaseLo >>> 0));
  }
  setFsBase(v: bigint): void {
    this.fsBaseLo = Number(BigInt.asUintN(32, v)) | 0;
    this.fsBaseHi = Number(BigInt.asUintN(32, v >> 32n)) | 0;
  }
  setGsBase(v: bigint): void {
    this.gsBaseLo = Number(BigInt.asUintN(32, v)) | 0;
    this.gsBaseHi = Number(BigInt.asUintN(32, v >> 32n)) | 0;
  }

  /** Sets CS (and CPL = its RPL) and SS. */
  setCsSs(cs: number, ss: number): void {
    this.sel[1] = cs;
    this.sel[2] = ss;
    this.cpl = cs & 3;
    this.contextChanged();
  }

  /** Writes RFLAGS (bit 1 forced to 1); an AC or IF change is noticed. */
  setRflags(v: number): void {
    const old = this.rflags;
    this.rflags = (v | RFLAGS.FIXED) & 0x3fffff;
    if ((old ^ this.rflags) & RFLAGS.AC) this.contextChanged();
    if ((this.rflags & ~old) & RFLAGS.IF) this.interruptsChanged();
  }

  /** CPL, RFLAGS.AC or a control register changed: recompute the access mode, drop the fast path. */
  contextChanged(): void {
    this.dataMode = (this.cpl === 3 ? USER : 0) | ((this.rflags & RFLAGS.AC) !== 0 ? AC : 0);
    this.flushFast();
  }

  /** Something may have made an interrupt deliverable: stop after this instruction to check. */
  interruptsChanged(): void {
    this.stopAt = 0;
  }

  /** Drops every host fast-path entry. */
  flushFast(): void {
    this.rTagLo.fill(INVALID_TAG);
    this.wTagLo.fill(INVALID_TAG);
    this.fetchTagLo = INVALID_TAG;
  }

  /**
   * Called for every bus write to RAM page `ppn` that did not go through the fast path. With a
   * shared decode cache another CPU may have dropped the page already: the fetch page goes anyway.
   */
  ramWritten(ppn: number): void {
    this.decoded.delete(ppn);
    if (this.fetchPpn === ppn) this.fetchTagLo = INVALID_TAG;
    const pages = this.mmu.ptePages;
    if (pages && pages.has(ppn)) {
      pages.clear();
      this.tlbs.invalidate({ kind: "pte-write" });
    }
  }

  /** Runs until `icount` reaches `limit` or something stops the loop (see {@link stopAt}). */
  run(limit: number): void {
    this.stopAt = limit;
    execute(this);
  }

  // ---- exceptions ---------------------------------------------------------------------------------

  /**
   * Delivers exception `vector` for the current instruction (RIP = the faulting instruction).
   * Always returns false, so an access path can `return this.fault(...)`.
   */
  fault(vector: number, errorCode = 0): false {
    deliver(this, vector, errorCode, false, this.ripLo, this.ripHi);
    return false;
  }

  /** Delivers the MMU's fault of the last failed translation (#PF with its error code, or #GP(0)). */
  mmuFault(): false {
    return this.fault(this.mmu.vector, this.mmu.errorCode);
  }

  /**
   * The platform signals a machine check at this instruction boundary: #MC (vector 18, abort
   * class, no error code, not masked by RFLAGS.IF; it ends a HLT) with the next instruction as
   * the pushed RIP, as MCG_STATUS.RIPV = 1 (restartable) reports it. With CR4.MCE clear the
   * processor enters the shutdown state instead.
   * @spec Intel SDM Vol. 3A §6.15 "Interrupt 18—Machine-Check Exception (#MC)", §2.5 CR4.MCE;
   *       Vol. 3B "Machine-Check Architecture", IA32_MCG_STATUS (RIPV, EIPV)
   */
  machineCheck(): void {
    if ((this.mmu.cr4Lo & CR4.MCE) === 0) {
      this.shutdown = true;
      this.stopAt = 0;
      return;
    }
    this.halted = false;
    deliver(this, VEC.MC, 0, false, this.ripLo, this.ripHi);
  }

  /** Takes a deliverable interrupt if IF=1 and no shadow blocks it. Returns true if it did. */
  checkInterrupts(): boolean {
    if ((this.rflags & RFLAGS.IF) === 0 || this.icount < this.shadowUntil || this.intr === undefined) return false;
    const v = this.intr.pendingVector();
    if (v < 0) return false;
    this.intr.acknowledge(v);
    this.halted = false;
    deliver(this, v, 0, true, this.ripLo, this.ripHi);
    return true;
  }

  // ---- instruction fetch ------------------------------------------------------------------------

  /** Translates RIP and makes its page current. Returns false if a fault was delivered. */
  fetchSlow(): boolean {
    return fetchSlow(this);
  }

  /** Decodes the instruction at byte `off` of the current fetch page (and caches it there). */
  decodeAt(page: DecodedPage, off: number): Insn {
    return decodeAt(this, page, off);
  }

  /**
   * The instruction at RIP continues on the next page: decoded from both pages, uncached, in its
   * general form. Returns null if a fault was delivered (a #PF on the second page has CR2 = its first byte).
   */
  fetchCross(): Insn | null {
    return fetchCross(this);
  }

  /** Places a native entry at physical address `pa` (in RAM). Throws RangeError if taken or not RAM. */
  registerNative(pa: number, fn: NativeEntry): void {
    if (this.bus.find(pa, 1)?.ram === undefined) throw new RangeError(`registerNative: 0x${pa.toString(16)} is not a RAM address`);
    if (this.nativeAt.has(pa)) throw new RangeError(`registerNative: 0x${pa.toString(16)} already holds a native entry`);
    this.nativeAt.set(pa, this.nativeFns.length);
    this.nativeFns.push(fn);
    this.ramWritten(Math.floor(pa / 4096));
  }

  /** Runs native entry `index`; at CPL 3 it is #UD. Returns false if a fault was delivered instead. */
  runNative(index: number): boolean {
    if (this.cpl === 3) return this.fault(VEC.UD);
    const lo = this.ripLo, hi = this.ripHi;
    this.nativeFns[index]!(this);
    if (this.ripLo === lo && this.ripHi === hi && !this.stopped && !this.shutdown) {
      throw new Error(`native entry at rip 0x${this.rip.toString(16)} returned without leaving (it must iretq, sysret or jump)`);
    }
    return true;
  }

  /**
   * IRETQ as the instruction does it, for native entries (which stand where a handler would be).
   * Returns false if it faulted (the fault was delivered).
   */
  iretq(): boolean {
    return iret(this, 8);
  }

  /**
   * SYSRETQ as the instruction does it, for native entries: RIP = RCX, RFLAGS from R11, CS/SS from
   * STAR, CPL 3. Returns false if it faulted (#UD with EFER.SCE=0, #GP for a non-canonical RCX).
   */
  sysretq(): boolean {
    this.nLo = this.ripLo;
    this.nHi = this.ripHi;
    if (!sysret(this, SYSRETQ)) return false;
    this.ripLo = this.nLo;
    this.ripHi = this.nHi;
    return true;
  }

  // ---- memory ---------------------------------------------------------------------------------------

  /** Computes the effective (linear) address of memory operand `i` into eaLo/eaHi. */
  ea(i: Insn): void {
    let lo = i.disp, hi = lo >> 31;
    const gl = this.gl, gh = this.gh;
    if (i.base >= 0) {
      const s = (lo >>> 0) + (gl[i.base]! >>> 0);
      hi = (hi + gh[i.base]! + (s > 0xffffffff ? 1 : 0)) | 0;
      lo = s | 0;
    } else if (i.ripRel) {
      const s = (lo >>> 0) + (this.nLo >>> 0);
      hi = (hi + this.nHi + (s > 0xffffffff ? 1 : 0)) | 0;
      lo = s | 0;
    }
    if (i.index >= 0) {
      let il = gl[i.index]!, ih = gh[i.index]!;
      const sc = i.scale;
      if (sc !== 0) {
        ih = (ih << sc) | (il >>> (32 - sc));
        il <<= sc;
      }
      const s = (lo >>> 0) + (il >>> 0);
      hi = (hi + ih + (s > 0xffffffff ? 1 : 0)) | 0;
      lo = s | 0;
    }
    if (i.addr32) hi = 0;
    if (i.seg !== 0) {
      const bl = i.seg === 4 ? this.fsBaseLo : this.gsBaseLo;
      const bh = i.seg === 4 ? this.fsBaseHi : this.gsBaseHi;
      const s = (lo >>> 0) + (bl >>> 0);
      hi = (hi + bh + (s > 0xffffffff ? 1 : 0)) | 0;
      lo = s | 0;
    }
    this.eaLo = lo;
    this.eaHi = hi;
  }

  /**
   * Loads `size` bytes at linear (hi:lo) into vLo/vHi (zero-extended). `access` STORE checks write
   * permission too (the read half of a read-modify-write). Returns false if a fault was delivered.
   */
  ld(lo: number, hi: number, size: number, access: Access = LOAD): boolean {
    const off = lo & 0xfff;
    const s = (lo >>> 12) & (FP_SLOTS - 1);
    if (access === LOAD) {
      if (this.rTagLo[s] === (lo & ~0xfff) && this.rTagHi[s] === hi && off + size <= 4096) {
        readView(this, this.rView[s]!, this.rOff[s]! + off, size);
        return true;
      }
    } else if (this.wTagLo[s] === (lo & ~0xfff) && this.wTagHi[s] === hi && off + size <= 4096) {
      readView(this, this.wView[s]!, this.wOff[s]! + off, size);
      return true;
    }
    return loadSlow(this, lo, hi, size, access, this.dataMode);
  }

  /** Stores the low `size` bytes of (vhi:vlo) at linear (hi:lo). Returns false if a fault was delivered. */
  st(lo: number, hi: number, size: number, vlo: number, vhi: number): boolean {
    const off = lo & 0xfff;
    const s = (lo >>> 12) & (FP_SLOTS - 1);
    if (this.wTagLo[s] === (lo & ~0xfff) && this.wTagHi[s] === hi && off + size <= 4096) {
      const v = this.wView[s]!, o = this.wOff[s]! + off;
      switch (size) {
        case 1: v.setUint8(o, vlo & 0xff); break;
        case 2: v.setUint16(o, vlo & 0xffff, true); break;
        case 4: v.setInt32(o, vlo, true); break;
        default: v.setInt32(o, vlo, true); v.setInt32(o + 4, vhi, true);
      }
      return true;
    }
    return storeSlow(this, lo, hi, size, vlo, vhi, this.dataMode);
  }

  /** A supervisor implicit load (IDT, GDT, TSS) of `size` bytes at a bigint linear address. */
  ldImplicit(addr: bigint, size: number): boolean {
    const lo = Number(addr & 0xffffffffn) | 0, hi = Number((addr >> 32n) & 0xffffffffn) | 0;
    return loadSlow(this, lo, hi, size, LOAD, IMPLICIT);
  }

  /** A supervisor implicit store (the delivery stack). */
  stImplicit(lo: number, hi: number, size: number, vlo: number, vhi: number): boolean {
    return storeSlow(this, lo, hi, size, vlo, vhi, IMPLICIT);
  }

  /** Pushes the low `size` bytes of (vhi:vlo) (size 8 or 2). Returns false if a fault was delivered. */
  push(size: number, vlo: number, vhi: number): boolean {
    const sl = this.gl[4]!, sh = this.gh[4]!;
    const lo = (sl - size) | 0;
    const hi = (sh - ((sl >>> 0) < size ? 1 : 0)) | 0;
    if (!this.st(lo, hi, size, vlo, vhi)) return false;
    this.gl[4] = lo;
    this.gh[4] = hi;
    return true;
  }

  /** Pops `size` bytes into vLo/vHi. Returns false if a fault was delivered. */
  pop(size: number): boolean {
    const sl = this.gl[4]!, sh = this.gh[4]!;
    if (!this.ld(sl, sh, size)) return false;
    const lo = (sl + size) | 0;
    this.gh[4] = (sh + ((lo >>> 0) < (sl >>> 0) ? 1 : 0)) | 0;
    this.gl[4] = lo;
    return true;
  }

  /** Physical address as a number from halves (host helper). */
  static pa(lo: number, hi: number): number {
    return (hi >>> 0) * TWO32 + (lo >>> 0);
  }

  /** STORE, re-exported for executors that name the access kind. */
  static readonly STORE = STORE;
}

/** Reads `size` bytes little-endian from `v` at `o` into c.vLo/c.vHi. */
function readView(c: X86Cpu, v: DataView, o: number, size: number): void {
  switch (size) {
    case 1: c.vLo = v.getUint8(o); c.vHi = 0; return;
    case 2: c.vLo = v.getUint16(o, true); c.vHi = 0; return;
    case 4: c.vLo = v.getInt32(o, true); c.vHi = 0; return;
    default: c.vLo = v.getInt32(o, true); c.vHi = v.getInt32(o + 4, true);
  }
}
