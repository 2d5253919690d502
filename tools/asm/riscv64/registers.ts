/** Register and CSR names of RV64 (unprivileged spec ch. 25 "RISC-V Assembly Programmer's Handbook", privileged spec §2.2). */

/** ABI names of x0..x31, in register order. */
export const GPR_ABI_NAMES: readonly string[] = [
  "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2",
  "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
  "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7",
  "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
];

/** Register numbers with a name the assembler relies on. */
export const X0 = 0, RA = 1, SP = 2, T0 = 5, T1 = 6, T2 = 7;

const GPRS = new Map<string, number>();
GPR_ABI_NAMES.forEach((name, i) => { GPRS.set(name, i); GPRS.set(`x${i}`, i); });
GPRS.set("fp", 8);

/** The number of general-purpose register `name` (`x0`..`x31`, ABI names, `fp`), or undefined. */
export function gprNumber(name: string): number | undefined {
  return GPRS.get(name);
}

/** True for x8..x15, the registers reachable from the 3-bit fields of compressed instructions. */
export function isCompressedReg(r: number): boolean {
  return r >= 8 && r <= 15;
}

/** CSR numbers by name. */
export const CSR_NUMBERS: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>(Object.entries({
    // Unprivileged (N extension user trap CSRs kept for older code; F CSRs; counters).
    ustatus: 0x000, fflags: 0x001, frm: 0x002, fcsr: 0x003, uie: 0x004, utvec: 0x005,
    uscratch: 0x040, uepc: 0x041, ucause: 0x042, utval: 0x043, uip: 0x044,
    cycle: 0xc00, time: 0xc01, instret: 0xc02,
    cycleh: 0xc80, timeh: 0xc81, instreth: 0xc82,
    // Supervisor.
    sstatus: 0x100, sedeleg: 0x102, sideleg: 0x103, sie: 0x104, stvec: 0x105, scounteren: 0x106,
    senvcfg: 0x10a, sscratch: 0x140, sepc: 0x141, scause: 0x142, stval: 0x143, sip: 0x144,
    stimecmp: 0x14d, satp: 0x180,
    // Machine.
    mvendorid: 0xf11, marchid: 0xf12, mimpid: 0xf13, mhartid: 0xf14, mconfigptr: 0xf15,
    mstatus: 0x300, misa: 0x301, medeleg: 0x302, mideleg: 0x303, mie: 0x304, mtvec: 0x305,
    mcounteren: 0x306, menvcfg: 0x30a, mstatush: 0x310, menvcfgh: 0x31a, mcountinhibit: 0x320,
    mscratch: 0x340, mepc: 0x341, mcause: 0x342, mtval: 0x343, mip: 0x344, mtinst: 0x34a, mtval2: 0x34b,
    mseccfg: 0x747, mcycle: 0xb00, minstret: 0xb02, mcycleh: 0xb80, minstreth: 0xb82,
    // Debug and trigger.
    tselect: 0x7a0, tdata1: 0x7a1, tdata2: 0x7a2, tdata3: 0x7a3,
    dcsr: 0x7b0, dpc: 0x7b1, dscratch0: 0x7b2, dscratch1: 0x7b3,
  }));
  for (let i = 0; i < 16; i++) m.set(`pmpcfg${i}`, 0x3a0 + i);
  for (let i = 0; i < 64; i++) m.set(`pmpaddr${i}`, 0x3b0 + i);
  for (let i = 3; i < 32; i++) {
    m.set(`hpmcounter${i}`, 0xc00 + i);
    m.set(`hpmcounter${i}h`, 0xc80 + i);
    m.set(`mhpmcounter${i}`, 0xb00 + i);
    m.set(`mhpmcounter${i}h`, 0xb80 + i);
    m.set(`mhpmevent${i}`, 0x320 + i);
  }
  // Old names still accepted by GNU as.
  m.set("sbadaddr", 0x143).set("mbadaddr", 0x343).set("sptbr", 0x180);
  return m;
})();
