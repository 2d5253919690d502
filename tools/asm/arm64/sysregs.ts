/**
 * System register, PSTATE field, barrier and maintenance-operation names with their encodings.
 * Names are case-insensitive.
 * @spec Arm ARM (DDI 0487) "AArch64 System Register Descriptions" (op0, op1, CRn, CRm, op2 of each
 *   register); C5.3 "A64 System instructions for cache maintenance / address translation / TLB
 *   maintenance" (TLBI, DC, IC, AT); C6.2 "DMB", "DSB" (barrier options), "MSR (immediate)" 
 */

/** The (op0, op1, CRn, CRm, op2) of a system register. */
export type SysReg = readonly [op0: number, op1: number, crn: number, crm: number, op2: number];

/** System registers by lower-case name. */
export const SYSREGS: ReadonlyMap<string, SysReg> = new Map<string, SysReg>(Object.entries({
  // Identification.
  midr_el1: [3, 0, 0, 0, 0], mpidr_el1: [3, 0, 0, 0, 5], revidr_el1: [3, 0, 0, 0, 6],
  id_aa64pfr0_el1: [3, 0, 0, 4, 0], id_aa64pfr1_el1: [3, 0, 0, 4, 1], id_aa64dfr0_el1: [3, 0, 0, 5, 0],
  id_aa64dfr1_el1: [3, 0, 0, 5, 1], id_aa64afr0_el1: [3, 0, 0, 5, 4], id_aa64afr1_el1: [3, 0, 0, 5, 5],
  id_aa64isar0_el1: [3, 0, 0, 6, 0], id_aa64isar1_el1: [3, 0, 0, 6, 1],
  id_aa64mmfr0_el1: [3, 0, 0, 7, 0], id_aa64mmfr1_el1: [3, 0, 0, 7, 1], id_aa64mmfr2_el1: [3, 0, 0, 7, 2],
  ctr_el0: [3, 3, 0, 0, 1], dczid_el0: [3, 3, 0, 0, 7], clidr_el1: [3, 1, 0, 0, 1], ccsidr_el1: [3, 1, 0, 0, 0],
  csselr_el1: [3, 2, 0, 0, 0], aidr_el1: [3, 1, 0, 0, 7],
  // EL1 system control and translation.
  sctlr_el1: [3, 0, 1, 0, 0], actlr_el1: [3, 0, 1, 0, 1], cpacr_el1: [3, 0, 1, 0, 2],
  ttbr0_el1: [3, 0, 2, 0, 0], ttbr1_el1: [3, 0, 2, 0, 1], tcr_el1: [3, 0, 2, 0, 2],
  spsr_el1: [3, 0, 4, 0, 0], elr_el1: [3, 0, 4, 0, 1], sp_el0: [3, 0, 4, 1, 0],
  spsel: [3, 0, 4, 2, 0], currentel: [3, 0, 4, 2, 2], pan: [3, 0, 4, 2, 3], uao: [3, 0, 4, 2, 4],
  afsr0_el1: [3, 0, 5, 1, 0], afsr1_el1: [3, 0, 5, 1, 1], esr_el1: [3, 0, 5, 2, 0],
  far_el1: [3, 0, 6, 0, 0], par_el1: [3, 0, 7, 4, 0],
  mair_el1: [3, 0, 10, 2, 0], amair_el1: [3, 0, 10, 3, 0],
  vbar_el1: [3, 0, 12, 0, 0], rvbar_el1: [3, 0, 12, 0, 1], isr_el1: [3, 0, 12, 1, 0],
  contextidr_el1: [3, 0, 13, 0, 1], tpidr_el1: [3, 0, 13, 0, 4], cntkctl_el1: [3, 0, 14, 1, 0],
  // EL0-accessible.
  nzcv: [3, 3, 4, 2, 0], daif: [3, 3, 4, 2, 1], fpcr: [3, 3, 4, 4, 0], fpsr: [3, 3, 4, 4, 1],
  tpidr_el0: [3, 3, 13, 0, 2], tpidrro_el0: [3, 3, 13, 0, 3],
  cntfrq_el0: [3, 3, 14, 0, 0], cntpct_el0: [3, 3, 14, 0, 1], cntvct_el0: [3, 3, 14, 0, 2],
  cntp_tval_el0: [3, 3, 14, 2, 0], cntp_ctl_el0: [3, 3, 14, 2, 1], cntp_cval_el0: [3, 3, 14, 2, 2],
  cntv_tval_el0: [3, 3, 14, 3, 0], cntv_ctl_el0: [3, 3, 14, 3, 1], cntv_cval_el0: [3, 3, 14, 3, 2],
  // EL2 and EL3.
  sp_el1: [3, 4, 4, 1, 0], sp_el2: [3, 6, 4, 1, 0],
  vpidr_el2: [3, 4, 0, 0, 0], vmpidr_el2: [3, 4, 0, 0, 5], sctlr_el2: [3, 4, 1, 0, 0], hcr_el2: [3, 4, 1, 1, 0],
  cptr_el2: [3, 4, 1, 1, 2], hstr_el2: [3, 4, 1, 1, 3], ttbr0_el2: [3, 4, 2, 0, 0], tcr_el2: [3, 4, 2, 0, 2],
  vttbr_el2: [3, 4, 2, 1, 0], vtcr_el2: [3, 4, 2, 1, 2], spsr_el2: [3, 4, 4, 0, 0], elr_el2: [3, 4, 4, 0, 1],
  esr_el2: [3, 4, 5, 2, 0], far_el2: [3, 4, 6, 0, 0], hpfar_el2: [3, 4, 6, 0, 4], mair_el2: [3, 4, 10, 2, 0],
  vbar_el2: [3, 4, 12, 0, 0], tpidr_el2: [3, 4, 13, 0, 2], cnthctl_el2: [3, 4, 14, 1, 0], cntvoff_el2: [3, 4, 14, 0, 3],
  sctlr_el3: [3, 6, 1, 0, 0], scr_el3: [3, 6, 1, 1, 0], cptr_el3: [3, 6, 1, 1, 2], ttbr0_el3: [3, 6, 2, 0, 0],
  tcr_el3: [3, 6, 2, 0, 2], spsr_el3: [3, 6, 4, 0, 0], elr_el3: [3, 6, 4, 0, 1], esr_el3: [3, 6, 5, 2, 0],
  far_el3: [3, 6, 6, 0, 0], mair_el3: [3, 6, 10, 2, 0], vbar_el3: [3, 6, 12, 0, 0],
  // Debug.
  mdscr_el1: [2, 0, 0, 2, 2], oslar_el1: [2, 0, 1, 0, 4], oslsr_el1: [2, 0, 1, 1, 4], osdlr_el1: [2, 0, 1, 3, 4],
  // GICv3 CPU interface.
  icc_pmr_el1: [3, 0, 4, 6, 0], icc_iar1_el1: [3, 0, 12, 12, 0], icc_eoir1_el1: [3, 0, 12, 12, 1],
  icc_hppir1_el1: [3, 0, 12, 12, 2], icc_bpr1_el1: [3, 0, 12, 12, 3], icc_ctlr_el1: [3, 0, 12, 12, 4],
  icc_sre_el1: [3, 0, 12, 12, 5], icc_igrpen0_el1: [3, 0, 12, 12, 6], icc_igrpen1_el1: [3, 0, 12, 12, 7],
  icc_dir_el1: [3, 0, 12, 11, 1], icc_rpr_el1: [3, 0, 12, 11, 3], icc_sgi1r_el1: [3, 0, 12, 11, 5],
}) as [string, SysReg][]);

/**
 * The encoding of system register `name`: a known name or the generic `s<op0>_<op1>_c<n>_c<m>_<op2>`
 * form (any op0, as GNU accepts; op0 0 and 1 encode SYS-space instructions). Undefined otherwise.
 */
export function sysReg(name: string): SysReg | undefined {
  const lower = name.toLowerCase();
  const known = SYSREGS.get(lower);
  if (known) return known;
  const m = /^s([0-3])_([0-7])_c([0-9]|1[0-5])_c([0-9]|1[0-5])_([0-7])$/.exec(lower);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])] : undefined;
}

/**
 * PSTATE fields of `msr <field>, #imm` as [op1, op2, largest immediate] ("MSR (immediate)":
 * DAIFSet/DAIFClr take a 4-bit mask, the others a single bit).
 */
export const PSTATE_FIELDS: ReadonlyMap<string, readonly [number, number, number]> = new Map(Object.entries({
  spsel: [0, 5, 1], daifset: [3, 6, 15], daifclr: [3, 7, 15], pan: [0, 4, 1], uao: [0, 3, 1],
}) as [string, readonly [number, number, number]][]);

/** DMB/DSB options (CRm values). */
export const BARRIER_OPTIONS: ReadonlyMap<string, number> = new Map(Object.entries({
  oshld: 1, oshst: 2, osh: 3, nshld: 5, nshst: 6, nsh: 7, ishld: 9, ishst: 10, ish: 11, ld: 13, st: 14, sy: 15,
}));

/** A SYS alias operation: [op1, CRn, CRm, op2, takes a register operand]. */
export type SysOp = readonly [op1: number, crn: number, crm: number, op2: number, reg: boolean];

/** TLBI operations. */
export const TLBI_OPS: ReadonlyMap<string, SysOp> = new Map<string, SysOp>(Object.entries({
  vmalle1is: [0, 8, 3, 0, false], vae1is: [0, 8, 3, 1, true], aside1is: [0, 8, 3, 2, true],
  vaae1is: [0, 8, 3, 3, true], vale1is: [0, 8, 3, 5, true], vaale1is: [0, 8, 3, 7, true],
  vmalle1: [0, 8, 7, 0, false], vae1: [0, 8, 7, 1, true], aside1: [0, 8, 7, 2, true],
  vaae1: [0, 8, 7, 3, true], vale1: [0, 8, 7, 5, true], vaale1: [0, 8, 7, 7, true],
  alle2is: [4, 8, 3, 0, false], alle1is: [4, 8, 3, 4, false], vmalls12e1is: [4, 8, 3, 6, false],
  alle2: [4, 8, 7, 0, false], alle1: [4, 8, 7, 4, false], vmalls12e1: [4, 8, 7, 6, false],
  vae2: [4, 8, 7, 1, true], vae2is: [4, 8, 3, 1, true], alle3: [6, 8, 7, 0, false], alle3is: [6, 8, 3, 0, false],
}) as [string, SysOp][]);

/** DC operations. */
export const DC_OPS: ReadonlyMap<string, SysOp> = new Map<string, SysOp>(Object.entries({
  ivac: [0, 7, 6, 1, true], isw: [0, 7, 6, 2, true], csw: [0, 7, 10, 2, true], cisw: [0, 7, 14, 2, true],
  zva: [3, 7, 4, 1, true], cvac: [3, 7, 10, 1, true], cvau: [3, 7, 11, 1, true], civac: [3, 7, 14, 1, true],
}) as [string, SysOp][]);

/** IC operations. */
export const IC_OPS: ReadonlyMap<string, SysOp> = new Map<string, SysOp>(Object.entries({
  ialluis: [0, 7, 1, 0, false], iallu: [0, 7, 5, 0, false], ivau: [3, 7, 5, 1, true],
}) as [string, SysOp][]);

/** AT operations. */
export const AT_OPS: ReadonlyMap<string, SysOp> = new Map<string, SysOp>(Object.entries({
  s1e1r: [0, 7, 8, 0, true], s1e1w: [0, 7, 8, 1, true], s1e0r: [0, 7, 8, 2, true], s1e0w: [0, 7, 8, 3, true],
}) as [string, SysOp][]);
