/**
 * Event delivery in IA-32e mode (exceptions, software interrupts, external interrupts) through the
 * IDT's 64-bit gates, with TSS.RSPn and IST stack switching; IRETQ; and the double-fault and
 * triple-fault rules for faults raised while delivering.
 *
 * Choices (docs/x86_64.md): descriptor checks are limited to what 64-bit kernels rely on (the gate's
 * type, P and DPL, the target code segment's P and DPL from the GDT); a non-canonical stack address
 * is #GP(0) (not #SS); a triple fault shuts the processor down (the machine stops with exit 125).
 * @spec Intel SDM Vol. 3A §6.14 (64-bit mode interrupt handling: gates, stack switch, IST, frame),
 * §6.15 (Interrupt 8 double fault, Table 6-5 contributory/benign classes), §6.12.1 (privilege checks)
 * @spec Intel SDM Vol. 2A "IRET/IRETD/IRETQ" (IA-32e mode return)
 */
import type { X86Cpu } from "./cpu.js";
import { HAS_ERROR_CODE, RFLAGS, RFLAGS_WRITABLE, VEC } from "./defs.js";

/** One delivered event, as reported to the trace. */
export interface TrapEvent {
  vector: number;
  /** The pushed error code, or undefined when none was pushed. */
  errorCode: number | undefined;
  /** External interrupt (as opposed to an exception or INT n). */
  external: boolean;
  /** RIP pushed (the faulting instruction, or the next one for traps and INT n). */
  rip: bigint;
  /** CR2 at delivery (meaningful for #PF). */
  cr2: bigint;
  fromCpl: number;
  toCpl: number;
  icount: number;
}

/** Exception classes for the double-fault rule. @spec SDM Vol. 3A §6.15 Table 6-4 */
const BENIGN = 0, CONTRIBUTORY = 1, PAGE_FAULT = 2, DOUBLE_FAULT = 3;
function classOf(vector: number): number {
  if (vector === VEC.PF) return PAGE_FAULT;
  if (vector === VEC.DF) return DOUBLE_FAULT;
  return vector === VEC.DE || (vector >= 10 && vector <= 13) ? CONTRIBUTORY : BENIGN;
}

/**
 * Delivers `vector`. `external` marks a hardware interrupt (EXT=1 in error codes about it; no error
 * code). `soft` events (INT n, INT3) are checked against the gate's DPL and push no error code. The
 * pushed RIP is (retHi:retLo). Returns true if a handler was entered (false after a shutdown).
 */
export function deliver(c: X86Cpu, vector: number, errorCode: number, external: boolean, retLo: number, retHi: number, soft = false): boolean {
  const outer = c.delivering;
  if (outer >= 0) return nested(c, outer, vector, errorCode, retLo, retHi);
  c.delivering = vector;
  try {
    return enter(c, vector, errorCode, external, soft, retLo, retHi);
  } finally {
    c.delivering = -1;
  }
}

/**
 * A fault (`vector`) raised while delivering `outer`: delivered serially, or as #DF (contributory
 * after contributory, or contributory/#PF after #PF), or a shutdown (any fault while delivering #DF).
 * The outer delivery sees its own access fail and stops.
 */
function nested(c: X86Cpu, outer: number, vector: number, errorCode: number, retLo: number, retHi: number): boolean {
  const a = classOf(outer), b = classOf(vector);
  if (a === DOUBLE_FAULT) {
    c.shutdown = true;
    c.stopAt = 0;
    return false;
  }
  const df = (a === CONTRIBUTORY && b === CONTRIBUTORY) || (a === PAGE_FAULT && (b === CONTRIBUTORY || b === PAGE_FAULT));
  c.delivering = df ? VEC.DF : vector;
  return df ? enter(c, VEC.DF, 0, false, false, retLo, retHi) : enter(c, vector, errorCode, false, false, retLo, retHi);
}

const u64 = (lo: number, hi: number): bigint => BigInt.asUintN(64, (BigInt(hi) << 32n) | BigInt(lo >>> 0));

/** Reads a 64-bit implicit value; undefined if the read faulted (a nested delivery happened). */
function read64(c: X86Cpu, addr: bigint): bigint | undefined {
  if (!c.ldImplicit(addr, 8)) return undefined;
  return u64(c.vLo, c.vHi);
}

function enter(c: X86Cpu, vector: number, errorCode: number, external: boolean, soft: boolean, retLo: number, retHi: number): boolean {
  const ext = external ? 1 : 0;
  const gateErr = vector * 8 + 2 + ext;
  const fromCpl = c.cpl;
  // A fault while delivering INT n / INT3 is a fault of that instruction: its RIP is pushed, not
  // the next one's (which `retLo:retHi` is for a software interrupt). Found by test/fuzz/decode-x86.test.ts
  // (INT3 at CPL 3 through a DPL 0 gate pushed the next RIP with its #GP).
  // @spec SDM Vol. 3A §6.5 (a fault's return address is the faulting instruction), §6.12.1.1 (INT n through a gate of lower DPL is #GP)
  const faultLo = soft ? c.ripLo : retLo, faultHi = soft ? c.ripHi : retHi;
  // Gate. @spec SDM Vol. 3A §6.14.1 Figure 6-8 (64-bit IDT gate descriptor)
  if (vector * 16 + 15 > c.idtrLimit) return subFault(c, VEC.GP, gateErr, faultLo, faultHi);
  const g0 = read64(c, c.idtrBase + BigInt(vector * 16));
  if (g0 === undefined) return !c.shutdown;
  const g1 = read64(c, c.idtrBase + BigInt(vector * 16 + 8));
  if (g1 === undefined) return !c.shutdown;
  const type = Number((g0 >> 40n) & 0xfn);
  const dpl = Number((g0 >> 45n) & 3n);
  const present = ((g0 >> 47n) & 1n) === 1n;
  if (type !== 0xe && type !== 0xf) return subFault(c, VEC.GP, gateErr, faultLo, faultHi);
  if (soft && dpl < fromCpl) return subFault(c, VEC.GP, gateErr, faultLo, faultHi);
  if (!present) return subFault(c, VEC.NP, gateErr, faultLo, faultHi);
  const cs = Number((g0 >> 16n) & 0xffffn);
  const ist = Number((g0 >> 32n) & 7n);
  const target = BigInt.asUintN(64, (g0 & 0xffffn) | (((g0 >> 48n) & 0xffffn) << 16n) | ((g1 & 0xffffffffn) << 32n));
  // Target code segment: its DPL becomes the CPL. @spec SDM Vol. 3A §6.12.1.1
  if ((cs & ~3) === 0 || (cs | 7) > c.gdtrLimit) return subFault(c, VEC.GP, (cs & ~3) + ext, faultLo, faultHi);
  const desc = read64(c, c.gdtrBase + BigInt(cs & ~7));
  if (desc === undefined) return !c.shutdown;
  if (((desc >> 47n) & 1n) === 0n) return subFault(c, VEC.NP, (cs & ~3) + ext, faultLo, faultHi);
  const newCpl = Number((desc >> 45n) & 3n);
  if (newCpl > fromCpl) return subFault(c, VEC.GP, (cs & ~3) + ext, faultLo, faultHi);
  // Stack. @spec SDM Vol. 3A §6.14.4 (stack switching in IA-32e mode), §6.14.5 (IST)
  let rsp: bigint;
  let ss = c.sel[2]!;
  if (ist !== 0 || newCpl < fromCpl) {
    const off = ist !== 0 ? 0x24 + 8 * (ist - 1) : 4 + 8 * newCpl;
    if (off + 7 > c.trLimit) return subFault(c, VEC.TS, (c.trSel & ~3) + ext, faultLo, faultHi);
    const v = read64(c, c.trBase + BigInt(off));
    if (v === undefined) return !c.shutdown;
    rsp = v;
    if (newCpl < fromCpl) ss = newCpl;
  } else {
    rsp = c.reg(4);
  }
  rsp &= ~0xfn;
  const oldRsp = c.reg(4);
  const hasErr = !external && !soft && HAS_ERROR_CODE.has(vector);
  const frame = [BigInt(c.sel[2]!), oldRsp, BigInt(c.rflags), BigInt(c.sel[1]!), u64(retLo, retHi)];
  if (hasErr) frame.push(BigInt(errorCode >>> 0));
  let at = rsp;
  for (const v of frame) {
    at = BigInt.asUintN(64, at - 8n);
    const lo = Number(at & 0xffffffffn) | 0, hi = Number(at >> 32n) | 0;
    if (!c.stImplicit(lo, hi, 8, Number(v & 0xffffffffn) | 0, Number(v >> 32n) | 0)) return !c.shutdown;
  }
  // Commit.
  c.traps++;
  c.lastVector = vector;
  c.onTrap?.({
    vector, errorCode: hasErr ? errorCode >>> 0 : undefined, external, rip: u64(retLo, retHi), cr2: c.mmu.cr2,
    fromCpl, toCpl: newCpl, icount: c.icount,
  });
  c.setReg(4, at);
  let f = c.rflags & ~(RFLAGS.TF | RFLAGS.NT | RFLAGS.RF | RFLAGS.VM);
  if (type === 0xe) f &= ~RFLAGS.IF;
  c.rflags = f | RFLAGS.FIXED;
  c.setCsSs(cs, ss);
  c.setRip(target);
  c.halted = false;
  // Leave the run loop so the machine sees every delivery (trap-loop detection, interrupt checks).
  c.stopAt = 0;
  return true;
}

/** A fault detected by the delivery itself (bad gate, TSS limit, ...): deliver it by the nesting rules. */
function subFault(c: X86Cpu, vector: number, errorCode: number, retLo: number, retHi: number): boolean {
  deliver(c, vector, errorCode, false, retLo, retHi);
  return !c.shutdown;
}

/**
 * IRETQ (size 8) or IRETD (size 4) in 64-bit mode: pops RIP, CS, RFLAGS, RSP, SS. Returns false if a
 * fault was delivered. Returning to an outer level loads CPL from CS.RPL; IOPL changes only at CPL 0
 * and IF only when CPL <= IOPL. A non-canonical return RIP is #GP(0).
 * @spec SDM Vol. 2A "IRET/IRETD/IRETQ" (IA-32e mode)
 */
export function iret(c: X86Cpu, size: number): boolean {
  const sl = c.gl[4]!, sh = c.gh[4]!;
  const vals: number[] = [];
  for (let k = 0; k < 5; k++) {
    const off = k * size;
    const lo = (sl + off) | 0;
    const hi = (sh + ((lo >>> 0) < (sl >>> 0) ? 1 : 0)) | 0;
    if (!c.ld(lo, hi, size)) return false;
    vals.push(c.vLo, size === 8 ? c.vHi : 0);
  }
  const [ripLo, ripHi, csLo, , flLo, , rspLo, rspHi, ssLo] = vals as [number, number, number, number, number, number, number, number, number];
  const cs = csLo & 0xffff, ss = ssLo & 0xffff;
  const newCpl = cs & 3;
  if (newCpl < c.cpl || (cs & ~3) === 0) return c.fault(VEC.GP, cs & ~3);
  const vaBits = (c.mmu.cr4Lo & (1 << 12)) !== 0 ? 57 : 48;
  const top = ripHi >> (vaBits - 33);
  if (size === 8 && top !== 0 && top !== -1) return c.fault(VEC.GP, 0);
  let mask = RFLAGS_WRITABLE;
  const iopl = (c.rflags & RFLAGS.IOPL) >>> 12;
  if (c.cpl !== 0) mask &= ~RFLAGS.IOPL;
  if (c.cpl > iopl) mask &= ~RFLAGS.IF;
  const flags = (c.rflags & ~mask) | (flLo & mask);
  c.ripLo = ripLo;
  c.ripHi = ripHi;
  c.gl[4] = rspLo;
  c.gh[4] = rspHi;
  c.rflags = (flags | RFLAGS.FIXED) & 0x3fffff;
  if (newCpl > c.cpl) {
    // Data segment registers whose DPL the new CPL cannot use become null. @spec SDM IRET "RETURN-TO-OUTER-PRIVILEGE-LEVEL"
    for (const r of [0, 3, 4, 5]) if ((c.sel[r]! & ~3) !== 0 && (c.sel[r]! & 3) < newCpl) c.sel[r] = 0;
  }
  c.setCsSs(cs, ss);
  c.interruptsChanged();
  return true;
}
