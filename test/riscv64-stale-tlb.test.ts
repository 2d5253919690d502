/**
 * Strict TLB mode (`strictTlb: true`, `multios run --strict-tlb`): every translation served by a
 * TLB hit is compared with a fresh, side-effect-free walk, and a stale entry is reported with the
 * old and new PTE and the store that changed it. Stale entries are legal, so the mode only reports:
 * results, instruction counts, traps, fills and invalidations are those of a normal run.
 * Guest programs in the style of riscv64-tlb-behavior.test.ts: Sv39 tables built in M-mode, an
 * S-mode body that rewrites PTEs with or without SFENCE.VMA. The kernel under strict mode is in
 * kernel-riscv64-stale-tlb.test.ts.
 * @spec RV-S §"Supervisor Memory-Management Fence Instruction" (a stale translation may be used
 * until the fence)
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bootBare, createRiscvVirt, type RiscvVirt, type RiscvVirtOptions } from "../boot/riscv64/virt.js";
import type { RunResult } from "../emulator/arch/riscv64/machine.js";
import { PTE } from "../emulator/arch/riscv64/defs.js";
import { formatStaleTlbReport, type StaleTlbReport } from "../emulator/arch/riscv64/stale-tlb.js";
import type { StaleTlbTraceEvent, TraceEvent } from "../emulator/core/trace.js";
import { assembleRiscv64 } from "../tools/asm/riscv64/index.js";

const { V, R, W, X, G, A, D } = PTE;
const hex = (v: bigint | number): string => "0x" + v.toString(16);
/** The test VA: root[1] -> l1[0] -> l0[0]. */
const VA = 0x4000_0000;
const S2 = 18, S3 = 19, S4 = 20, S5 = 21;

/** Stores a PTE for `target` (a label, or a physical address as a number) with `flags` in table[index]; `label` names the store. */
function setPte(table: string, index: number, target: string | number, flags: number, label = ""): string {
  const value = typeof target === "number"
    ? `li t0, ${hex(((BigInt(target) >> 12n) << 10n) | BigInt(flags))}`
    : `la t0, ${target}\n srli t0, t0, 2\n ori t0, t0, ${flags}`;
  return `\n la t1, ${table}\n ${value}\n${label ? `${label}:` : ""} sd t0, ${index * 8}(t1)\n`;
}

/** root[0] = devices (1 GiB, RW) and root[2] = RAM (1 GiB, RWX): global supervisor identity maps. */
const kernelMap = setPte("root", 0, 0, V | R | W | G | A | D) + setPte("root", 2, 0x8000_0000, V | R | W | X | G | A | D);

/** Sv39, ASID 0: the kernel map plus VA -> pageA (supervisor RW), satp written. */
const MAP_A = kernelMap + setPte("root", 1, "l1", V) + setPte("l1", 0, "l0", V) + setPte("l0", 0, "pageA", V | R | W | A | D) + `
    la      t2, root
    srli    t2, t2, 12
    li      t0, 8 << 60
    or      t2, t2, t0
    csrw    satp, t2
`;

/**
 * M-mode setup (MAP_A), then `body` in S-mode, falling into `pass`. mtvec jumps to s10 when set
 * (still in M-mode), else fails with code 99.
 */
function source(body: string, data = ""): string {
  return `
.equ FINISHER, 0x100000
.text
.globl _start
_start:
    la      t0, m_trap
    csrw    mtvec, t0
    li      t0, -1
    csrw    pmpaddr0, t0
    li      t0, 0x1f
    csrw    pmpcfg0, t0
    li      s10, 0
${MAP_A}
    sfence.vma
    li      t0, 3 << 11
    csrc    mstatus, t0
    li      t0, 1 << 11
    csrs    mstatus, t0
    la      t0, s_main
    csrw    mepc, t0
    mret
s_main:
    li      a1, ${hex(VA)}
${body}
pass:
    li      t0, FINISHER
    li      t1, 0x5555
    sw      t1, 0(t0)
1:  j       1b
.align 2
m_trap:
    beqz    s10, 2f
    jr      s10
2:  li      t0, FINISHER
    li      t1, (99 << 16) | 0x3333
    sw      t1, 0(t0)
3:  j       3b
.data
.align 12
root:   .zero 4096
l1:     .zero 4096
l0:     .zero 4096
.align 12
pageA:  .dword 0xaaaa
.align 12
pageB:  .dword 0xbbbb
${data}
.align 12
`;
}

interface Run {
  result: RunResult;
  events: TraceEvent[];
  reports: StaleTlbReport[];
  v: RiscvVirt;
  x(i: number): bigint;
  sym(name: string): bigint;
  ram64(addr: bigint): bigint;
}

/** Runs `body` (strict TLB mode unless `opts` says otherwise); expects it to pass. */
function run(body: string, opts: RiscvVirtOptions = { strictTlb: true }, data = ""): Run {
  const asm = assembleRiscv64(source(body, data), { fileName: "stale.S" });
  const v = createRiscvVirt(opts);
  bootBare(v, asm.elf);
  const events: TraceEvent[] = [];
  const reports: StaleTlbReport[] = [];
  v.machine.setTrace((e) => events.push(e));
  v.machine.onStaleTlb = (rep) => reports.push(rep);
  const result = v.machine.run({ maxInsns: 1_000_000 });
  expect(result.reason, `${result.message}; events ${JSON.stringify(events.filter((e) => e.type === "trap"))}`).toBe("pass");
  const h = v.machine.harts[0]!;
  return {
    result, events, reports, v,
    x: (i) => h.x(i),
    sym: (name) => {
      const v = asm.symbols.get(name);
      if (v === undefined) throw new RangeError(`no symbol ${name}`);
      return v;
    },
    ram64: (addr) => v.machine.bus.read64(Number(addr))!,
  };
}

const leaf = (r: Run, page: string, flags: number): bigint => ((r.sym(page) >> 12n) << 10n) | BigInt(flags);

/** Read VA into s2, point l0[0] at pageB without a fence, read into s3, fence, read into s4. */
const REMAP_NO_FENCE = `
    ld      s2, 0(a1)
${setPte("l0", 0, "pageB", V | R | W | A | D, "remap")}
stale:
    ld      s3, 0(a1)
    sfence.vma a1, zero
    ld      s4, 0(a1)
`;

/** The same with the fence between the PTE store and the read. */
const REMAP_FENCED = `
    ld      s2, 0(a1)
${setPte("l0", 0, "pageB", V | R | W | A | D)}
    sfence.vma a1, zero
    ld      s3, 0(a1)
`;

/** Store to VA (fills a writable entry), clear W without a fence, store again (s2 = mcause of the fenced third store). */
const DOWNGRADE_NO_FENCE = `
    li      a2, 0x77
    sd      a2, 0(a1)
${setPte("l0", 0, "pageA", V | R | A | D, "downgrade")}
stale:
    sd      a2, 8(a1)
    sfence.vma a1, zero
    la      s10, m_fault
    sd      a2, 16(a1)
    j       fail_s
m_fault:
    csrr    s2, mcause
    csrr    s3, mtval
    j       pass
fail_s:
    ecall
`;

/** VA + 4 KiB (l0[1]) is invalid: the load faults; then l0[1] is made valid without a fence and the load succeeds. */
const INVALID_TO_VALID = `
    li      a3, ${hex(VA + 0x1000)}
    la      s10, m_fault
first:
    ld      s2, 0(a3)
    j       fail_s
m_fault:
    csrr    s5, mcause
    la      t0, s_again
    csrw    mepc, t0
    mret
s_again:
${setPte("l0", 1, "pageB", V | R | W | A | D)}
    ld      s3, 0(a3)
    j       pass
fail_s:
    ecall
`;

/** Read VA (a 4 KiB entry), then replace the l1[0] pointer by a 2 MiB leaf at RAM base without a fence, read again. */
const SUPERPAGE_NO_FENCE = `
    ld      s2, 0(a1)
${setPte("l1", 0, 0x8000_0000, V | R | W | A | D, "bigleaf")}
stale:
    ld      s3, 0(a1)
    sfence.vma a1, zero
    ld      s4, 0(a1)
`;

describe("strict TLB mode reports each use of a stale entry", () => {
  it("a PTE remapped without sfence.vma: exactly one report, with the VA, the old and new PTE, and the store that wrote it", () => {
    const r = run(REMAP_NO_FENCE);
    expect([r.x(S2), r.x(S3), r.x(S4)]).toEqual([0xaaaan, 0xaaaan, 0xbbbbn]);
    expect(r.reports).toHaveLength(1);
    const rep = r.reports[0]!;
    expect(rep).toMatchObject({
      hart: 0, pc: r.sym("stale"), va: BigInt(VA), access: "load", asid: 0, changes: ["pa"],
      entry: { pte: leaf(r, "pageA", V | R | W | A | D), pteAddr: Number(r.sym("l0")), level: 0, global: false },
      fresh: { outcome: "leaf", pte: leaf(r, "pageB", V | R | W | A | D), pteAddr: Number(r.sym("l0")), level: 0 },
      writer: { pteAddr: Number(r.sym("l0")), hart: 0, pc: r.sym("remap"), priv: "S" },
    });
    // The store is the instruction right before the stale load.
    expect(rep.writer!.icount).toBe(rep.icount - 1);
    expect(r.v.machine.staleTlbReports).toBe(1);
  });

  it("with sfence.vma between the PTE store and the access there is no report", () => {
    const r = run(REMAP_FENCED);
    expect([r.x(S2), r.x(S3)]).toEqual([0xaaaan, 0xbbbbn]);
    expect(r.reports).toEqual([]);
  });

  it("W removed without a fence: the store through the stale entry proceeds (legal) and is reported as a permission change; after the fence the store faults", () => {
    const r = run(DOWNGRADE_NO_FENCE);
    expect(r.ram64(r.sym("pageA") + 8n)).toBe(0x77n);
    expect([r.x(S2), r.x(S3)]).toEqual([15n, BigInt(VA + 16)]);
    expect(r.reports).toHaveLength(1);
    expect(r.reports[0]).toMatchObject({
      pc: r.sym("stale"), va: BigInt(VA + 8), access: "store", changes: ["perm"],
      entry: { pte: leaf(r, "pageA", V | R | W | A | D) },
      fresh: { outcome: "leaf", pte: leaf(r, "pageA", V | R | A | D) },
      writer: { pc: r.sym("downgrade") },
    });
  });

  it("an invalid PTE made valid without a fence is never reported: the fault cached nothing, so the access walks", () => {
    const r = run(INVALID_TO_VALID);
    expect([r.x(S5), r.x(S3)]).toEqual([13n, 0xbbbbn]);
    expect(r.reports).toEqual([]);
  });

  it("a 4 KiB entry whose table pointer became a 2 MiB leaf is reported as a size and address change, blamed on the l1 store", () => {
    const r = run(SUPERPAGE_NO_FENCE);
    expect([r.x(S2), r.x(S3)]).toEqual([0xaaaan, 0xaaaan]);
    expect(r.reports).toHaveLength(1);
    expect(r.reports[0]).toMatchObject({
      changes: ["size", "pa"],
      entry: { pteAddr: Number(r.sym("l0")), level: 0 },
      fresh: { outcome: "leaf", pteAddr: Number(r.sym("l1")), level: 1, pte: ((0x8000_0000n >> 12n) << 10n) | BigInt(V | R | W | A | D) },
      writer: { pteAddr: Number(r.sym("l1")), pc: r.sym("bigleaf") },
    });
  });

  it("a table pointer cleared without a fence: the fresh walk stops at l1[0], reported as invalid", () => {
    const r = run(`
    ld      s2, 0(a1)
${setPte("l1", 0, 0, 0, "unlink")}
    ld      s3, 0(a1)
`);
    expect(r.reports).toHaveLength(1);
    expect(r.reports[0]).toMatchObject({
      changes: ["invalid"], fresh: { outcome: "page-fault", pte: 0n, pteAddr: Number(r.sym("l1")), level: 1 },
      writer: { pteAddr: Number(r.sym("l1")), pc: r.sym("unlink") },
    });
    expect(formatStaleTlbReport(r.reports[0]!)).toContain(`but the walk now stops at level 1 on 0x0 at ${hex(r.sym("l1"))} (invalid)`);
  });

  it("an instruction fetch through a stale entry is reported as a fetch, once per instruction fetched", () => {
    const code = ".align 12\ncodeA: li s6, 1\n ret\n.align 12\ncodeB: li s6, 2\n ret\n";
    const r = run(`
    li      a4, ${hex(VA + 0x2000)}
${setPte("l0", 2, "codeA", V | R | X | A)}
    jalr    a4
    mv      s2, s6
${setPte("l0", 2, "codeB", V | R | X | A)}
    jalr    a4
    mv      s3, s6
`, { strictTlb: true }, code);
    expect([r.x(S2), r.x(S3)]).toEqual([1n, 1n]);
    expect(r.reports.map((x) => [x.access, x.pc, x.va])).toEqual([
      ["fetch", BigInt(VA + 0x2000), BigInt(VA + 0x2000)],
      ["fetch", BigInt(VA + 0x2002), BigInt(VA + 0x2002)],
    ]);
  });

  it("an ASID reused for another address space without a flush is reported; no PTE store explains it", () => {
    const data = ".align 12\nroot2: .zero 4096\nl1b: .zero 4096\nl0b: .zero 4096\n";
    const r = run(`
    ld      s2, 0(a1)
${setPte("root2", 0, 0, V | R | W | G | A | D)}${setPte("root2", 2, 0x8000_0000, V | R | W | X | G | A | D)}
${setPte("root2", 1, "l1b", V)}${setPte("l1b", 0, "l0b", V)}${setPte("l0b", 0, "pageB", V | R | W | A | D)}
    la      t2, root2
    srli    t2, t2, 12
    li      t0, 8 << 60
    or      t2, t2, t0
    csrw    satp, t2
    ld      s3, 0(a1)
`, { strictTlb: true }, data);
    expect([r.x(S2), r.x(S3)]).toEqual([0xaaaan, 0xaaaan]);
    expect(r.reports).toHaveLength(1);
    expect(r.reports[0]).toMatchObject({
      asid: 0, changes: ["pa"], entry: { pteAddr: Number(r.sym("l0")) },
      fresh: { outcome: "leaf", pteAddr: Number(r.sym("l0b")), pte: leaf(r, "pageB", V | R | W | A | D) }, writer: undefined,
    });
    expect(formatStaleTlbReport(r.reports[0]!)).toContain(`but the walk now finds ${hex(leaf(r, "pageB", V | R | W | A | D))} at ${hex(r.sym("l0b"))} (level 0) (no store to it by a hart was seen)`);
  });

  it("a table pointer moved into a hole is reported as invalid (the walk would access-fault); one moved into device memory is not checked", () => {
    const hole = run(`
    ld      s2, 0(a1)
${setPte("l1", 0, 0x2000_0000, V)}
    ld      s3, 0(a1)
`);
    expect(hole.reports.map((x) => [x.changes, x.fresh.outcome, x.fresh.pteAddr, x.fresh.level])).toEqual([[["invalid"], "access-fault", 0x2000_0000, 0]]);
    const device = run(`
    ld      s2, 0(a1)
${setPte("l1", 0, 0x1000_0000, V)}
    ld      s3, 0(a1)
`);
    expect(device.reports).toEqual([]);
    expect([device.x(S2), device.x(S3)]).toEqual([0xaaaan, 0xaaaan]);
  });

  it("each report is also a stale-tlb trace event", () => {
    const r = run(REMAP_NO_FENCE);
    const events = r.events.filter((e): e is StaleTlbTraceEvent => e.type === "stale-tlb");
    expect(events).toEqual([{
      type: "stale-tlb", arch: "riscv64", hart: 0, icount: r.reports[0]!.icount, pc: hex(r.sym("stale")), va: hex(VA), access: "load", asid: 0,
      changes: ["pa"],
      entry: { pte: hex(leaf(r, "pageA", V | R | W | A | D)), pteAddr: hex(r.sym("l0")), level: 0, global: false },
      fresh: { outcome: "leaf", pte: hex(leaf(r, "pageB", V | R | W | A | D)), pteAddr: hex(r.sym("l0")), level: 0, global: false },
      writer: { pteAddr: hex(r.sym("l0")), hart: 0, pc: hex(r.sym("remap")), icount: r.reports[0]!.icount - 1, priv: "S" },
    }]);
  });

  it("the one-line message names the old PTE, the new one and the writer", () => {
    const r = run(REMAP_NO_FENCE);
    expect(formatStaleTlbReport(r.reports[0]!)).toBe(
      `stale TLB: hart 0 pc ${hex(r.sym("stale"))} va ${hex(VA)} (load) uses PTE ${hex(leaf(r, "pageA", V | R | W | A | D))} from ${hex(r.sym("l0"))} ` +
      `but the table now holds ${hex(leaf(r, "pageB", V | R | W | A | D))} (written by pc ${hex(r.sym("remap"))} at instruction ${r.reports[0]!.icount - 1}) — missing sfence.vma?`);
  });
});

describe("strict TLB mode changes nothing the guest sees", () => {
  const withoutStale = (events: TraceEvent[]): TraceEvent[] => events.filter((e) => e.type !== "stale-tlb");
  it.each([
    ["remap without a fence", REMAP_NO_FENCE],
    ["remap with a fence", REMAP_FENCED],
    ["W removed without a fence", DOWNGRADE_NO_FENCE],
    ["invalid to valid", INVALID_TO_VALID],
    ["pointer replaced by a superpage", SUPERPAGE_NO_FENCE],
  ])("%s: the same registers, instruction count, traps, fills and invalidations as a normal run", (_name, body) => {
    const normal = run(body, {});
    const strict = run(body, { strictTlb: true });
    expect(strict.result).toEqual(normal.result);
    expect([S2, S3, S4, S5].map(strict.x)).toEqual([S2, S3, S4, S5].map(normal.x));
    expect(withoutStale(strict.events)).toEqual(normal.events);
    expect(normal.reports).toEqual([]);
    expect(normal.v.machine.staleTlbReports).toBe(0);
  });
});

describe("multios run --strict-tlb", () => {
  const BIN = new URL("../bin/multios.js", import.meta.url).pathname;
  const dir = mkdtempSync(join(tmpdir(), "multios-stale-"));

  it("prints one line per stale (VA page, PTE) pair to stderr and a count at exit; stdout and the exit status are unchanged", () => {
    const path = join(dir, "stale.S");
    writeFileSync(path, source(`
    li      a3, ${hex(VA + 0x1000)}
    ld      s2, 0(a1)
${setPte("l0", 1, "pageA", V | R | W | A | D)}
    ld      s3, 0(a3)
${setPte("l0", 0, "pageB", V | R | W | A | D)}
    ld      s4, 0(a1)
    ld      s4, 8(a1)
${setPte("l0", 1, "pageB", V | R | W | A | D)}
    ld      s5, 0(a3)
    ld      s5, 8(a3)
`));
    const r = spawnSync(process.execPath, [BIN, "run", "--arch", "riscv64", "--bare", "--strict-tlb", path], { encoding: "utf8", timeout: 60_000 });
    expect(r.status).toBe(0);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^multios: stale TLB: hart 0 pc 0x[0-9a-f]+ va 0x40000000 \(load\) uses PTE 0x[0-9a-f]+ from 0x[0-9a-f]+ but the table now holds 0x[0-9a-f]+ \(written by pc 0x[0-9a-f]+ at instruction \d+\) — missing sfence\.vma\?$/);
    expect(lines[1]).toMatch(/^multios: stale TLB: hart 0 pc 0x[0-9a-f]+ va 0x40001000 \(load\) uses PTE /);
    expect(lines[2]).toBe("multios: stale TLB: 4 uses of stale entries, 2 distinct (VA page, PTE address)");
  });
});
