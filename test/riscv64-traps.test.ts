/**
 * Traps, privilege and CSR rules of the RV64 hart, checked end to end: bare-metal programs move
 * between M, S and U, and the tests read the trap trace and the hart's architectural state.
 * @spec RV-M = RISC-V Privileged ISA 20240411, Machine-Level ISA 1.13; RV-S = Supervisor-Level ISA 1.13
 * @spec ARCH-SPEC §4.1 (CSRs, delegation, MPRV, SRET), §4.4 (MPRV and SUM)
 */
import { describe, expect, it } from "vitest";
import { CSR, MSTATUS, PRV_M, PRV_S, PRV_U, PTE } from "../emulator/arch/riscv64/defs.js";
import type { RiscvVirtOptions } from "../boot/riscv64/virt.js";
import { assembleRiscv64 } from "../tools/asm/riscv64/index.js";
import { type BareRun, runBare } from "./support/run-riscv64.js";

const hex = (v: bigint): string => "0x" + v.toString(16);
const { SIE, MIE, SPIE, MPIE, SPP, MPP, MPRV, SUM, TVM, TSR } = MSTATUS;
const { V, R, W, X, U, A, D } = PTE;
const PRV_BITS = { U: PRV_U, S: PRV_S, M: PRV_M } as const;

/**
 * Common start: PMP (all of memory, for realism), mtvec = m_trap. m_trap jumps to the continuation
 * in s10 (clearing it) when there is one, else skips the trapping instruction and returns.
 * Every mode can reach `pass`/`fail`: with satp Bare the finisher is reachable from U too.
 */
const PRELUDE = `
.equ FINISHER, 0x100000
.equ CLINT_MTIMECMP, 0x2004000
.equ CLINT_MTIME, 0x200bff8
.text
.globl _start
_start:
    la      t0, m_trap; csrw mtvec, t0
    li      t0, -1; csrw pmpaddr0, t0
    li      t0, 0x1f; csrw pmpcfg0, t0
    la      sp, stack_top
    li      s10, 0
`;

const EPILOGUE = `
pass:
    li      t0, FINISHER; li t1, 0x5555; sw t1, 0(t0)
1:  j       1b
fail:
    li      t0, FINISHER; li t1, (99 << 16) | 0x3333; sw t1, 0(t0)
2:  j       2b
.align 2
m_trap:
    beqz    s10, 1f
    mv      t0, s10
    li      s10, 0
    jr      t0
1:  csrr    t0, mepc
    lhu     t1, 0(t0)
    andi    t1, t1, 3
    li      t2, 3
    addi    t0, t0, 2
    bne     t1, t2, 1f
    addi    t0, t0, 2
1:  csrw    mepc, t0
    mret
.data
.align 12
stack:  .zero 1024
stack_top:
`;

/** M-mode code that continues at `label` in privilege `mode` through MRET (MPP = mode). */
const enter = (mode: keyof typeof PRV_BITS, label: string): string => `
    li      t0, 3 << 11; csrc mstatus, t0
    li      t0, ${PRV_BITS[mode]} << 11; csrs mstatus, t0
    la      t0, ${label}; csrw mepc, t0
    mret
`;

interface Run extends BareRun {
  x(i: number): bigint;
  sym(name: string): bigint;
  csr(n: number): bigint;
  /** [cause, tval, epc, from, to] of every trap, interrupts marked with "irq". */
  trapList(): (string | number)[][];
}

/** Assembles PRELUDE + body + EPILOGUE (+ data) and runs it. */
function run(body: string, opts: RiscvVirtOptions & { maxInsns?: number; data?: string } = {}): Run {
  const asm = assembleRiscv64(PRELUDE + body + EPILOGUE + (opts.data ?? ""), { fileName: "traps.S" });
  const r = runBare({ elf: asm.elf }, { maxInsns: 1_000_000, ...opts });
  const h = r.v.machine.harts[0]!;
  return {
    ...r,
    x: (i) => h.x(i),
    sym: (name) => {
      const v = asm.symbols.get(name);
      if (v === undefined) throw new RangeError(`no symbol ${name}`);
      return v;
    },
    csr: (n) => BigInt.asUintN(64, (BigInt(h.csrHi[n]!) << 32n) | BigInt(h.csrLo[n]! >>> 0)),
    trapList: () => r.traps.map((t) => [t.interrupt ? `irq${t.cause}` : t.cause, t.tval, t.epc, t.from, t.to]),
  };
}

/** Runs and expects the guest to reach `pass`. */
function passing(body: string, opts: Parameters<typeof run>[1] = {}): Run {
  const r = run(body, opts);
  expect(r.result.reason, r.result.message).toBe("pass");
  return r;
}

/** Encoding of a SYSTEM-opcode CSR instruction, as mtval reports it. @spec Zicsr encoding table */
const csrInsn = (funct3: number, rd: number, rs1: number, csr: number): string =>
  hex(BigInt(((csr << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | 0x73) >>> 0));
const SRET = "0x10200073", MRET = "0x30200073", SFENCE_VMA = "0x12000073";
const A0 = 10, A1 = 11, A2 = 12, A3 = 13, A4 = 14, A5 = 15, S2 = 18, S3 = 19, S4 = 20, S5 = 21;

describe("ECALL and EBREAK", () => {
  it("ecall from M, S, U raises cause 11, 9, 8 with mtval 0 and mepc = the ecall", () => {
    const r = passing(`
    li      t0, -1; csrw mtval, t0
    la      s10, 1f
e_m: ecall
1:  la      s10, 2f
    ${enter("S", "e_s")}
e_s: ecall
2:  la      s10, 3f
    ${enter("U", "e_u")}
e_u: ecall
3:  csrr    a0, mtval
    j       pass`);
    const s = (n: string): string => hex(r.sym(n));
    expect(r.trapList()).toEqual([[11, "0x0", s("e_m"), "M", "M"], [9, "0x0", s("e_s"), "S", "M"], [8, "0x0", s("e_u"), "U", "M"]]);
    expect(r.x(A0)).toBe(0n);
  });

  it("ebreak and c.ebreak raise cause 3 with mtval = the pc; the handler skips 4 and 2 bytes", () => {
    const r = passing(".option norvc\nb4: ebreak\n.option rvc\nb2: c.ebreak\n j pass");
    expect(r.trapList()).toEqual([[3, hex(r.sym("b4")), hex(r.sym("b4")), "M", "M"], [3, hex(r.sym("b2")), hex(r.sym("b2")), "M", "M"]]);
  });
});

describe("medeleg: delegated exceptions from S/U go to S; M-mode exceptions always stay in M", () => {
  /** Delegates illegal instruction, sets sentinels in mcause/scause, enters `mode` with SIE as given. */
  const delegated = (mode: "U" | "S", sie: boolean): string => `
    li      t0, 1 << 2; csrw medeleg, t0
    la      t0, s_trap; csrw stvec, t0
    li      t0, 0x1234; csrw mcause, t0
    ${sie ? "csrsi mstatus, 2" : "csrci mstatus, 2"}
    ${enter(mode, "lower")}
lower:
site: .word 0xfe000033
    j       fail
.align 2
s_trap:
    csrr a0, scause; csrr a1, stval; csrr a2, sepc; csrr a3, sstatus
    j       pass`;

  it("an illegal instruction in U (delegated) traps to S: scause/stval/sepc, SPP=U, SPIE=SIE(1), SIE=0; mcause untouched", () => {
    const r = passing(delegated("U", true));
    const h = r.v.machine.harts[0]!;
    expect(r.trapList()).toEqual([[2, "0xfe000033", hex(r.sym("site")), "U", "S"]]);
    expect([r.x(A0), hex(r.x(A1)), r.x(A2)]).toEqual([2n, "0xfe000033", r.sym("site")]);
    expect(r.x(A3) & BigInt(SPP | SPIE | SIE)).toBe(BigInt(SPIE));
    expect(h.priv).toBe(PRV_S);
    expect(r.csr(CSR.mcause)).toBe(0x1234n);
    expect(r.csr(CSR.mepc)).toBe(r.sym("lower"));
  });

  it("the same exception from S (SIE=0) traps to S with SPP=S, SPIE=0", () => {
    const r = passing(delegated("S", false));
    expect(r.trapList()).toEqual([[2, "0xfe000033", hex(r.sym("site")), "S", "S"]]);
    expect(r.x(A3) & BigInt(SPP | SPIE | SIE)).toBe(BigInt(SPP));
    expect(r.csr(CSR.mcause)).toBe(0x1234n);
  });

  it("the same exception in M stays in M although medeleg delegates it; scause untouched", () => {
    const r = passing(`
    li      t0, 1 << 2; csrw medeleg, t0
    li      t0, 0x1234; csrw scause, t0
site: .word 0xfe000033
    j       pass`);
    expect(r.trapList()).toEqual([[2, "0xfe000033", hex(r.sym("site")), "M", "M"]]);
    expect(r.csr(CSR.scause)).toBe(0x1234n);
    expect(r.csr(CSR.mcause)).toBe(2n);
  });
});

describe("MRET and SRET: privilege <- xPP, xIE <- xPIE, xPIE <- 1, xPP <- U, MPRV <- 0 below M", () => {
  const STATE = SIE | MIE | SPIE | MPIE | SPP | MPP | MPRV;
  const final = (r: Run): [number, number] => {
    const h = r.v.machine.harts[0]!;
    return [h.priv, h.mstatus & STATE];
  };

  it("MRET to S: MIE <- MPIE(1), MPIE <- 1, MPP <- U, MPRV cleared", () => {
    const r = passing(`
    li      t0, ${MPIE | MPRV | (PRV_S << 11)}; csrw mstatus, t0
    la      t0, lower; csrw mepc, t0
    mret
lower: j pass`);
    expect(final(r)).toEqual([PRV_S, MIE | MPIE]);
  });

  it("MRET to M keeps MPRV; MIE <- MPIE(0)", () => {
    const r = passing(`
    li      t0, ${MIE | MPRV | (PRV_M << 11)}; csrw mstatus, t0
    la      t0, 1f; csrw mepc, t0
    mret
1:  j pass`);
    expect(final(r)).toEqual([PRV_M, MPIE | MPRV]);
  });

  it("SRET from S to U: SIE <- SPIE(0), SPIE <- 1, SPP <- U", () => {
    const r = passing(`
    li      t0, ${SIE}; csrw mstatus, t0
    la      t0, user; csrw sepc, t0
    ${enter("S", "sup")}
sup: sret
user: j pass`);
    // MPIE = 1 is left by the MRET that entered S.
    expect(final(r)).toEqual([PRV_U, SPIE | MPIE]);
  });

  it("SRET from M to S clears MPRV and sets SIE <- SPIE(1)", () => {
    const r = passing(`
    li      t0, ${SPIE | SPP | MPRV}; csrw mstatus, t0
    la      t0, sup; csrw sepc, t0
    sret
sup: j pass`);
    expect(final(r)).toEqual([PRV_S, SIE | SPIE]);
  });

  // A one-hart machine does not end its run slice at every sret (trap.ts, "Slices"): the interrupt
  // the sret enables must still be taken before the first instruction after it.
  it("SRET to U with a delegated supervisor timer interrupt pending (SIE=0 in S): the interrupt is taken before the first U instruction", () => {
    const r = passing(`
    li      t0, 1 << 5; csrw mideleg, t0; csrw mie, t0; csrs mip, t0
    la      t0, s_trap; csrw stvec, t0
    la      t0, user; csrw sepc, t0
    li      t0, ${SPIE}; csrw mstatus, t0
    ${enter("S", "sup")}
sup: sret
user: li a0, 1
    j       fail
.align 2
s_trap:
    csrr    s2, scause; csrr s3, sepc
    j       pass`);
    expect(r.trapList()).toEqual([["irq5", "0x0", hex(r.sym("user")), "U", "S"]]);
    expect([hex(r.x(S2)), r.x(S3), r.x(A0)]).toEqual(["0x8000000000000005", r.sym("user"), 0n]);
  });
});

describe("MRET and SRET retire: instret counts them like any other jump (only excepting instructions do not retire)", () => {
  /** a1 - a0 = instructions retired from the first counter read up to the second, across `ret`. */
  const mretDelta = (ret: string): bigint => {
    const r = passing(`
    li      t0, 3 << 11; csrs mstatus, t0
    csrr    a0, minstret
    la      t0, 1f; csrw mepc, t0
    ${ret}
1:  csrr    a1, minstret
    j       pass`);
    return r.x(A1) - r.x(A0);
  };
  const sretDelta = (ret: string): bigint => {
    const r = passing(`
    li      t0, 7; csrw mcounteren, t0
    ${enter("S", "sup")}
sup: csrr   a0, instret
    la      t0, 1f; csrw sepc, t0
    li      t0, ${SPP}; csrs sstatus, t0
    ${ret}
1:  csrr    a1, instret
    j       pass`);
    return r.x(A1) - r.x(A0);
  };

  it("MRET counts as one retired instruction, as a JAL in its place does", () => {
    expect(mretDelta("mret")).toBe(mretDelta(".option push; .option norvc; jal zero, 1f; .option pop"));
  });

  it("SRET counts as one retired instruction, as a JAL in its place does", () => {
    expect(sretDelta("sret")).toBe(sretDelta(".option push; .option norvc; jal zero, 1f; .option pop"));
  });
});

describe("mcycle and minstret are writable; mcountinhibit is read-only 0 (WARL)", () => {
  it("a write to minstret sets the value the next instruction reads (the writing instruction's own count is not added)", () => {
    const r = passing(`
    li      t0, 1000
    csrw    minstret, t0
    csrr    a0, minstret
    csrw    mcycle, t0
    nop
    csrr    a1, mcycle
    li      t0, -1
    csrw    mcountinhibit, t0
    csrr    a2, mcountinhibit
    j       pass`);
    expect(r.x(A0)).toBe(1000n);
    expect(r.x(A1)).toBe(1001n);
    expect(r.x(A2)).toBe(0n);
  });
});

describe("privileged instructions and CSRs below M: illegal ones trap (cause 2, mtval = the bits), legal ones complete", () => {
  /** Runs `insn` at label `site` in `mode` with mstatus bits `status`, then returns to M. */
  const attempt = (mode: "U" | "S", insn: string, status = 0): Run => passing(`
    li      t0, ${status}; csrs mstatus, t0
    la      s10, back
    ${enter(mode, "site")}
site: ${insn}
    ecall
back: j pass`);

  const cases: [string, "U" | "S", string, number, string | undefined][] = [
    ["SRET in U is illegal", "U", "sret", 0, SRET],
    ["SRET in S with TSR=1 is illegal", "S", "sret", TSR, SRET],
    ["MRET in S is illegal", "S", "mret", 0, MRET],
    ["SFENCE.VMA in U is illegal", "U", "sfence.vma", 0, SFENCE_VMA],
    ["SFENCE.VMA in S with TVM=1 is illegal", "S", "sfence.vma", TVM, SFENCE_VMA],
    ["SFENCE.VMA in S with TVM=0 is legal", "S", "sfence.vma", 0, undefined],
    ["reading satp in S with TVM=1 is illegal", "S", "csrr a0, satp", TVM, csrInsn(2, 10, 0, CSR.satp)],
    ["writing satp in S with TVM=1 is illegal", "S", "csrw satp, zero", TVM, csrInsn(1, 0, 0, CSR.satp)],
    ["reading satp in S with TVM=0 is legal", "S", "csrr a0, satp", 0, undefined],
    ["reading mstatus in S is illegal (CSR privilege 3 > 1)", "S", "csrr a0, mstatus", 0, csrInsn(2, 10, 0, CSR.mstatus)],
    ["reading sstatus in U is illegal", "U", "csrr a0, sstatus", 0, csrInsn(2, 10, 0, CSR.sstatus)],
  ];
  for (const [rule, mode, insn, status, tval] of cases) {
    it(rule, () => {
      const r = attempt(mode, insn, status);
      const site = r.sym("site");
      // Legal: the instruction completes and the ecall after it (cause 8 or 9) returns to M.
      expect(r.trapList()).toEqual(tval === undefined
        ? [[mode === "U" ? 8 : 9, "0x0", hex(site + 4n), mode, "M"]]
        : [[2, tval, hex(site), mode, "M"]]);
    });
  }
});

describe("CSR access rules: read-only CSRs, CSRRS/CSRRC with x0 do not write (Zicsr)", () => {
  const hartid = CSR.mhartid;
  const cases: [string, string, string | undefined][] = [
    ["csrr of mhartid (csrrs rd, mhartid, x0) is legal", "csrr a0, mhartid", undefined],
    ["csrw mhartid is illegal (read-only CSR, bits 11:10 = 3)", "csrw mhartid, a1", csrInsn(1, 0, 11, hartid)],
    ["csrrs with rs1 = a register holding 0 still writes, so it is illegal", "csrrs a0, mhartid, a1", csrInsn(2, 10, 11, hartid)],
    ["csrrc with rs1 = x0 does not write: legal", "csrrc a0, mhartid, zero", undefined],
    ["csrrsi with uimm = 0 does not write: legal", "csrrsi a0, mhartid, 0", undefined],
    ["csrrwi with uimm = 0 writes: illegal", "csrrwi a0, mhartid, 0", csrInsn(5, 10, 0, hartid)],
  ];
  for (const [rule, insn, tval] of cases) {
    it(rule, () => {
      const r = passing(`li a0, 77\n li a1, 0\nsite: ${insn}\n j pass`);
      expect(r.trapList()).toEqual(tval ? [[2, tval, hex(r.sym("site")), "M", "M"]] : []);
      expect(r.x(A0)).toBe(tval ? 77n : 0n);
    });
  }

  it("misa reads RV64 (MXL=2) with A, C, I, M, S, U; a write is ignored (WARL)", () => {
    const r = passing("csrr a0, misa\n li t0, -1\n csrw misa, t0\n csrr a1, misa\n j pass");
    expect(hex(r.x(A0))).toBe("0x8000000000141105");
    expect(r.x(A1)).toBe(r.x(A0));
  });

  it("medeleg/mideleg are WARL: all ones reads back the delegable bits (not 11 ecall-from-M, not 16)", () => {
    const r = passing("li t0, -1\n csrw medeleg, t0\n csrw mideleg, t0\n csrr a0, medeleg\n csrr a1, mideleg\n j pass");
    expect(hex(r.x(A0))).toBe("0xb3ff");
    expect(hex(r.x(A1))).toBe("0x222");
  });

  it("satp: a write with an unsupported MODE (Sv57, reserved 1) has no effect; ASIDLEN is 16", () => {
    const r = passing(`
    li      t0, (8 << 60) | (0xffff << 44) | 0x80123; csrw satp, t0
    csrr    a0, satp
    li      t0, (10 << 60) | 0x80456; csrw satp, t0
    csrr    a1, satp
    li      t0, (1 << 60); csrw satp, t0
    csrr    a2, satp
    csrw    satp, zero
    j       pass`);
    expect(hex(r.x(A0))).toBe("0x8ffff00000080123");
    expect(r.x(A1)).toBe(r.x(A0));
    expect(r.x(A2)).toBe(r.x(A0));
  });

  it("satp: Sv48 (MODE 9) is ignored on a machine limited to Sv39", () => {
    const r = passing("li t0, (9 << 60) | 0x80000\n csrw satp, t0\n csrr a0, satp\n j pass", { maxPaging: "sv39" });
    expect(r.x(A0)).toBe(0n);
  });

  it("sstatus is a view of mstatus: M-only fields are invisible and unwritable; UXL reads 2", () => {
    const r = passing(`
    li      t0, ${MIE | MPIE | MPP | SUM}; csrw mstatus, t0
    csrr    a0, sstatus
    li      t0, -1; csrw sstatus, t0
    csrr    a1, mstatus
    csrw    sstatus, zero
    csrr    a2, mstatus
    j       pass`);
    expect(hex(r.x(A0))).toBe(hex((2n << 32n) | BigInt(SUM)));
    // SIE, SPIE, SPP, SUM, MXR set through sstatus; MIE, MPIE, MPP kept; UXL = SXL = 2.
    expect(hex(r.x(A1))).toBe(hex((0xan << 32n) | BigInt(MIE | MPIE | MPP | SIE | SPIE | SPP | SUM | (1 << 19))));
    expect(hex(r.x(A2))).toBe(hex((0xan << 32n) | BigInt(MIE | MPIE | MPP)));
  });
});

describe("interrupts", () => {
  it("stvec Vectored: a delegated exception lands at BASE, a supervisor timer interrupt at BASE + 4*5", () => {
    const r = passing(`
    li      t0, 1 << 8; csrw medeleg, t0
    li      t0, 1 << 5; csrw mideleg, t0; csrw mie, t0
    la      t0, svec; ori t0, t0, 1; csrw stvec, t0
    la      s10, m_back
    ${enter("U", "u1")}
u1: ecall
m_back:
    li      t0, 1 << 5; csrs mip, t0
    ${enter("U", "u2")}
u2: j       u2
s_exc:
    csrr s2, scause; csrr s3, sepc
    ecall
s_sti:
    csrr s4, scause; csrr s5, sepc
    j       pass
.align 8
svec:
    .option push; .option norvc
    j s_exc; j fail; j fail; j fail; j fail; j s_sti
    .option pop`);
    expect(r.trapList()).toEqual([
      [8, "0x0", hex(r.sym("u1")), "U", "S"], [9, "0x0", hex(r.sym("s_exc") + 8n), "S", "M"], ["irq5", "0x0", hex(r.sym("u2")), "U", "S"],
    ]);
    expect([r.x(S2), r.x(S3), hex(r.x(S4)), r.x(S5)]).toEqual([8n, r.sym("u1"), "0x8000000000000005", r.sym("u2")]);
  });

  /** Arms the CLINT timer 100 ticks ahead, enables MTIE and MIE, then runs `wait`. */
  const timer = (wait: string): Run => passing(`
    li      t0, CLINT_MTIME; ld s2, 0(t0); addi s2, s2, 100
    li      t0, CLINT_MTIMECMP; sd s2, 0(t0)
    la      s10, handler
    li      t0, 1 << 7; csrs mie, t0
    csrsi   mstatus, 8
    ${wait}
handler:
    csrr a0, mcause; csrr a1, mepc; csrr a2, mtval
    li      t0, CLINT_MTIME; ld a3, 0(t0)
    j       pass`);

  it("a CLINT machine timer interrupt while spinning: mcause = 2^63 | 7, mepc = the next instruction, mtval 0", () => {
    const r = timer("spin: j spin");
    expect([hex(r.x(A0)), r.x(A1), r.x(A2)]).toEqual(["0x8000000000000007", r.sym("spin"), 0n]);
    expect(r.x(A3)).toBeGreaterThanOrEqual(r.x(S2));
    expect(r.trapList()).toEqual([["irq7", "0x0", hex(r.sym("spin")), "M", "M"]]);
  });

  it("WFI waits for the timer; mepc = the instruction after the WFI; mtime >= mtimecmp", () => {
    const r = timer("wfi\nafter: j after");
    expect([hex(r.x(A0)), r.x(A1)]).toEqual(["0x8000000000000007", r.sym("after")]);
    expect(r.x(A3)).toBeGreaterThanOrEqual(r.x(S2));
  });

  it("WFI resumes without a trap when an interrupt is pending in mie but mstatus.MIE=0", () => {
    const r = passing(`
    li      t0, CLINT_MTIMECMP; sd zero, 0(t0)
    li      t0, 1 << 7; csrs mie, t0
    wfi
    csrr    a0, mip
    j       pass`);
    expect(r.traps).toEqual([]);
    expect(r.x(A0) & 0x80n).toBe(0x80n);
  });
});

describe("how runs end", () => {
  it("WFI with no interrupt that can ever arrive stops the run: reason wfi-hang, exit 125", () => {
    const r = run("wfi\n j pass");
    expect([r.result.reason, r.result.exitCode]).toEqual(["wfi-hang", 125]);
  });

  it("an M-mode trap vector that itself faults is a trap loop: reason trap-loop, exit 125", () => {
    const r = run("li t0, 0x1000\n csrw mtvec, t0\nsite: ecall\n j pass");
    expect([r.result.reason, r.result.exitCode]).toEqual(["trap-loop", 125]);
    expect(r.trapList().slice(0, 2)).toEqual([[11, "0x0", hex(r.sym("site")), "M", "M"], [1, "0x1000", "0x1000", "M", "M"]]);
  });

  it("--max-insns stops the run: reason max-insns, exit 124, exactly that many instructions", () => {
    const r = run("1: j 1b", { maxInsns: 1000 });
    expect([r.result.reason, r.result.exitCode, r.result.icount]).toEqual(["max-insns", 124, 1000]);
  });

  it("the finisher's fail status (code << 16) | 0x3333 ends the run with that exit code", () => {
    const r = run("li t0, FINISHER\n li t1, (42 << 16) | 0x3333\n sw t1, 0(t0)\n j pass");
    expect([r.result.reason, r.result.exitCode]).toEqual(["fail", 42]);
  });
});

describe("MPRV: M-mode loads and stores are translated and checked as privilege MPP; fetches are not", () => {
  /** Sv39 tables: root[2] = 1 GiB identity supervisor page at 0x8000_0000 (code and data, U=0);
   *  VA 0x4000_0000 -> upage (U R W), VA 0x4000_1000 -> spage (R W, U=0). */
  const DATA = ".align 12\nroot: .zero 4096\nl1: .zero 4096\nl0: .zero 4096\nupage: .dword 0x1111\n.align 12\nspage: .dword 0x2222\n.align 12\n";
  /** `table[index]` = a PTE for `target` with `flags` (a pointer when flags = V). */
  const pte = (table: string, index: number, target: string, flags: number): string =>
    `\n la t1, ${table}; la t0, ${target}; srli t0, t0, 2; ori t0, t0, ${flags}; sd t0, ${index * 8}(t1)`;
  const SETUP = `
    la t1, root; li t0, (0x80000000 >> 12 << 10) | ${V | R | W | X | A | D}; sd t0, 16(t1)` +
    pte("root", 1, "l1", V) + pte("l1", 0, "l0", V) + pte("l0", 0, "upage", V | R | W | U | A | D) +
    pte("l0", 1, "spage", V | R | W | A | D) + `
    la t0, root; srli t0, t0, 12; li t1, 8 << 60; or t0, t0, t1; csrw satp, t0
    sfence.vma
    li a1, 0x40000000; li a2, 0x40001000; li a0, 0; li a3, 0; li a4, 0; li a5, 0
`;
  const mpp = (m: number, extra = 0): string => `
    li      t0, ${MPP | SUM}; csrc mstatus, t0
    li      t0, ${MPRV | (m << 11) | extra}; csrs mstatus, t0`;
  const END = `
    li      t0, ${MPRV}; csrc mstatus, t0
    j       pass`;

  it("MPP=U: a load and a store to a U page succeed; to an S page fault (13, 15) with tval = VA; code keeps running", () => {
    const r = passing(SETUP + mpp(PRV_U) + `
    ld      a0, 0(a1)
    li      t2, 0x3333
    sd      t2, 8(a1)
ld_s: ld    a3, 0(a2)
sd_s: sd    t2, 0(a2)
    ld      a4, 8(a1)` + END, { data: DATA });
    expect(r.trapList()).toEqual([
      [13, "0x40001000", hex(r.sym("ld_s")), "M", "M"], [15, "0x40001000", hex(r.sym("sd_s")), "M", "M"],
    ]);
    expect([r.x(A0), r.x(A3), r.x(A4)]).toEqual([0x1111n, 0n, 0x3333n]);
    expect(r.v.machine.bus.read64(Number(r.sym("spage")))).toBe(0x2222n);
  });

  it("MPP=S with SUM=0: a load from a U page faults (13); with SUM=1 it succeeds; S pages are fine", () => {
    const r = passing(SETUP + mpp(PRV_S) + `
ld_u: ld    a3, 0(a1)` + mpp(PRV_S) /* the handler's MRET left MPP = U */ + `
    ld      a4, 0(a2)` + mpp(PRV_S, SUM) + `
    ld      a5, 0(a1)` + END, { data: DATA });
    expect(r.trapList()).toEqual([[13, "0x40000000", hex(r.sym("ld_u")), "M", "M"]]);
    expect([r.x(A3), r.x(A4), r.x(A5)]).toEqual([0n, 0x2222n, 0x1111n]);
  });

  it("MPRV with MPP=M leaves loads untranslated", () => {
    const r = passing(SETUP + mpp(PRV_M) + `
    la      t0, spage
    ld      a0, 0(t0)` + END, { data: DATA });
    expect(r.traps).toEqual([]);
    expect(r.x(A0)).toBe(0x2222n);
  });
});
