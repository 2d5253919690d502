/**
 * Control and status registers of the RV64 hart: access checks and WARL behaviour.
 * Plain registers are stored as int32 halves in `csrLo`/`csrHi`; the ones with side effects
 * (mstatus, mip/mie views, satp, counters) are handled here.
 * @spec RV-M §"CSR Field Specifications", §"Machine-Level CSRs"; RV-S §"Supervisor CSRs"
 * @spec Zicsr: csr[11:10] = 3 is read-only, csr[9:8] is the lowest privilege that may access it
 */
import type { Hart } from "./hart.js";
import {
  CSR, IRQ, MEDELEG_WRITABLE, MENVCFG, MIDELEG_WRITABLE, MIE_WRITABLE, MIP_WRITABLE, MISA_HI, MISA_LO,
  MSTATUS, MSTATUS_HI, MSTATUS_WRITABLE, PRV_M, PRV_S, PRV_U, SATP_MODE_BARE, SATP_MODE_SV39,
  SATP_MODE_SV48, SSTATUS_HI, SSTATUS_MASK,
} from "./defs.js";

/** CSRs that are plain storage (with a write mask applied in {@link csrWrite}). */
const PLAIN = new Set<number>([
  CSR.stvec, CSR.scounteren, CSR.senvcfg, CSR.sscratch, CSR.sepc, CSR.scause, CSR.stval,
  CSR.medeleg, CSR.mideleg, CSR.mtvec, CSR.mcounteren, CSR.menvcfg,
  CSR.mscratch, CSR.mepc, CSR.mcause, CSR.mtval,
]);

const isPmp = (n: number): boolean => (n >= CSR.pmpcfg0 && n < CSR.pmpcfg0 + 16 && (n & 1) === 0) || (n >= CSR.pmpaddr0 && n < CSR.pmpaddr0 + 64);

/** Is `csr` implemented and accessible at the hart's privilege (ignoring read-only-ness)? */
export function csrAccessible(h: Hart, csr: number): boolean {
  if (((csr >>> 8) & 3) > h.priv) return false;
  if (csr === CSR.satp && h.priv === PRV_S && (h.mstatus & MSTATUS.TVM) !== 0) return false;
  if (csr >= CSR.cycle && csr <= CSR.instret) {
    // Counter access from below M is gated by mcounteren, and from U also by scounteren.
    const bit = 1 << (csr - CSR.cycle);
    if (h.priv < PRV_M && (h.csrLo[CSR.mcounteren]! & bit) === 0) return false;
    if (h.priv === PRV_U && (h.csrLo[CSR.scounteren]! & bit) === 0) return false;
    return true;
  }
  const kind = KIND[csr];
  return kind === STORAGE || kind === OTHER;
}

const SPECIAL = new Set<number>([
  CSR.sstatus, CSR.sie, CSR.sip, CSR.satp, CSR.mstatus, CSR.misa, CSR.mie, CSR.mip,
  CSR.mcycle, CSR.minstret, CSR.mcountinhibit, CSR.mvendorid, CSR.marchid, CSR.mimpid, CSR.mhartid, CSR.mconfigptr,
]);

/**
 * The three sets above as one table indexed by CSR number (a typed-array read on the trap path,
 * where a kernel reads scause, stval, sepc and sstatus on every trap).
 */
const NONE = 0, STORAGE = 1, OTHER = 2; // out-of-range numbers read undefined: neither
const KIND = new Uint8Array(4096);
for (let n = 0; n < 4096; n++) KIND[n] = PLAIN.has(n) || isPmp(n) ? STORAGE : SPECIAL.has(n) ? OTHER : NONE;

/** Reads `csr` into h.tmp (lo/hi). The caller has checked {@link csrAccessible}. */
export function csrRead(h: Hart, csr: number): void {
  const t = h.tmp;
  t.hi = 0;
  if (KIND[csr] === STORAGE) {
    t.lo = h.csrLo[csr]!;
    t.hi = h.csrHi[csr]!;
    return;
  }
  switch (csr) {
    case CSR.mstatus: t.lo = h.mstatus; t.hi = MSTATUS_HI; return;
    case CSR.sstatus: t.lo = h.mstatus & SSTATUS_MASK; t.hi = SSTATUS_HI; return;
    case CSR.misa: t.lo = MISA_LO; t.hi = MISA_HI; return;
    case CSR.mie: t.lo = h.mie; return;
    case CSR.sie: t.lo = h.mie & h.csrLo[CSR.mideleg]!; return;
    case CSR.mip: t.lo = h.mipValue(); return;
    case CSR.sip: t.lo = h.mipValue() & h.csrLo[CSR.mideleg]!; return;
    case CSR.satp: t.lo = h.csrLo[CSR.satp]!; t.hi = h.csrHi[CSR.satp]!; return;
    case CSR.mhartid: t.lo = h.hartId; return;
    case CSR.cycle: case CSR.mcycle: splitBig(BigInt(h.icount) + h.cycleOffset, t); return;
    case CSR.instret: case CSR.minstret: splitBig(BigInt(h.icount) + h.instretOffset, t); return;
    case CSR.time: splitNumber(h.time(), t); return;
    default: t.lo = 0; return; // mvendorid, marchid, mimpid, mconfigptr: 0 (not implemented / no config)
  }
}

/** Writes the low 64 bits of `v` into t as int32 halves. */
function splitBig(v: bigint, t: { lo: number; hi: number }): void {
  t.lo = Number(BigInt.asIntN(32, v));
  t.hi = Number(BigInt.asIntN(32, v >> 32n));
}

function splitNumber(v: number, t: { lo: number; hi: number }): void {
  t.lo = v % 4294967296 | 0;
  t.hi = Math.floor(v / 4294967296) | 0;
}

/**
 * Writes (hi:lo) to `csr`. Returns false if the write is illegal (a read-only CSR).
 * Changes that affect translation or interrupts are propagated to the hart.
 */
export function csrWrite(h: Hart, csr: number, lo: number, hi: number): boolean {
  if (csr >>> 10 === 3) return false;
  switch (csr) {
    case CSR.mstatus: return setStatus(h, (h.mstatus & ~MSTATUS_WRITABLE) | (lo & MSTATUS_WRITABLE));
    case CSR.sstatus: return setStatus(h, (h.mstatus & ~SSTATUS_MASK) | (lo & SSTATUS_MASK));
    case CSR.misa: return true; // read-only in effect (WARL: the extensions cannot be turned off)
    case CSR.mie: h.mie = lo & MIE_WRITABLE; h.interruptsChanged(); return true;
    case CSR.sie: {
      const d = h.csrLo[CSR.mideleg]!;
      h.mie = (h.mie & ~d) | (lo & d);
      h.interruptsChanged();
      return true;
    }
    case CSR.mip: h.mipSoft = (h.mipSoft & ~MIP_WRITABLE) | (lo & MIP_WRITABLE); h.interruptsChanged(); return true;
    case CSR.sip: {
      // Only SSIP is writable through sip, and only when delegated.
      const m = h.csrLo[CSR.mideleg]! & (1 << IRQ.SSI);
      h.mipSoft = (h.mipSoft & ~m) | (lo & m);
      h.interruptsChanged();
      return true;
    }
    case CSR.satp: return writeSatp(h, lo, hi);
    // mcycle/minstret count retired instructions (one cycle per instruction); a write sets the
    // value the counter continues from. mcountinhibit is WARL read-only 0 (counters never stop).
    case CSR.mcycle: h.cycleOffset = pairToBig(lo, hi) - BigInt(h.icount + 1); return true;
    case CSR.minstret: h.instretOffset = pairToBig(lo, hi) - BigInt(h.icount + 1); return true;
    case CSR.mcountinhibit: return true;
  }
  if (isPmp(csr)) {
    h.csrLo[csr] = lo;
    h.csrHi[csr] = csr >= CSR.pmpaddr0 ? hi & 0x3fffff : hi;
    return true;
  }
  if (!PLAIN.has(csr)) return false;
  let l = lo, u = hi;
  switch (csr) {
    case CSR.medeleg: l &= MEDELEG_WRITABLE; u = 0; break;
    case CSR.mideleg: l &= MIDELEG_WRITABLE; u = 0; break;
    case CSR.mtvec: case CSR.stvec: l &= ~2; break; // MODE is Direct (0) or Vectored (1)
    case CSR.mepc: case CSR.sepc: l &= ~1; break; // IALIGN = 16
    case CSR.mcounteren: case CSR.scounteren: l &= 7; u = 0; break;
    case CSR.menvcfg:
      l &= MENVCFG.FIOM;
      u &= h.svadu ? MENVCFG.ADUE_HI : 0;
      break;
    case CSR.senvcfg: l &= MENVCFG.FIOM; u = 0; break;
  }
  h.csrLo[csr] = l;
  h.csrHi[csr] = u;
  if (csr === CSR.menvcfg) h.translationChanged();
  if (csr === CSR.mideleg) h.interruptsChanged();
  return true;
}

const pairToBig = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

function setStatus(h: Hart, v: number): boolean {
  // MPP is WARL: the reserved value 2 (H) reads back as U.
  if (((v & MSTATUS.MPP) >>> MSTATUS.MPP_SHIFT) === 2) v &= ~MSTATUS.MPP;
  const translation = MSTATUS.MPRV | MSTATUS.MPP | MSTATUS.SUM | MSTATUS.MXR;
  const changed = (h.mstatus ^ v) & translation;
  h.mstatus = v;
  if (changed !== 0) h.translationChanged();
  h.interruptsChanged();
  return true;
}

/**
 * @spec RV-S §satp: "writing an unsupported MODE leaves the whole write without effect"; the ASID
 * field is WARL with ASIDLEN implemented bits, the others read as zero ("The number of ASID bits
 * is UNSPECIFIED and may be zero ... may be determined by writing one to every bit position").
 */
function writeSatp(h: Hart, lo: number, hi: number): boolean {
  const mode = hi >>> 28;
  if (mode !== SATP_MODE_BARE && mode !== SATP_MODE_SV39 && mode !== SATP_MODE_SV48) return true;
  if (mode === SATP_MODE_SV48 && h.maxSatpMode < SATP_MODE_SV48) return true;
  h.csrLo[CSR.satp] = lo;
  h.csrHi[CSR.satp] = (hi & ~(0xffff << 12)) | (((hi >>> 12) & h.asidMask) << 12);
  h.translationChanged();
  return true;
}
