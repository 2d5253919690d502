/**
 * The TLB is architectural, seen from guest code: bare-metal programs build Sv39 tables, run in S or
 * U, rewrite PTEs with and without SFENCE.VMA, and the tests check which translation each access
 * used. The policies checked here are the ones docs/riscv64.md documents (sticky entries until a
 * fence or a capacity eviction, round-robin replacement, Svade by default, Svadu on request).
 * @spec RV-S §"Supervisor Memory-Management Fence Instruction", §"Virtual Address Translation Process"
 * @spec ARCH-SPEC §4.5 (Svade/Svadu), §4.7 (SFENCE.VMA scopes and caching rules), §6.1 (sticky TLB)
 */
import { describe, expect, it } from "vitest";
import type { RiscvVirtOptions } from "../boot/riscv64/virt.js";
import { PTE } from "../emulator/arch/riscv64/defs.js";
import { DEFAULT_TLB } from "../emulator/core/tlb.js";
import type { TlbFillTraceEvent, TlbInvalidateTraceEvent } from "../emulator/core/trace.js";
import { assembleRiscv64 } from "../tools/asm/riscv64/index.js";
import { type BareRun, runBare } from "./support/run-riscv64.js";

const { V, R, W, X, U, G, A, D } = PTE;
const hex = (v: bigint | number): string => "0x" + v.toString(16);
/** The test VA: root[1] -> l1[0] -> l0[0]. */
const VA = 0x4000_0000;
const S2 = 18, S3 = 19, S4 = 20, S5 = 21, S6 = 22, S7 = 23, S8 = 24, S9 = 25;

/** Stores a PTE for `target` (a label, or a physical address as a number) with `flags` in table[index]. */
function setPte(table: string, index: number, target: string | number, flags: number): string {
  if (index * 8 > 2040) throw new RangeError(`setPte: index ${index} is out of sd's reach`);
  const value = typeof target === "number"
    ? `li t0, ${hex(((BigInt(target) >> 12n) << 10n) | BigInt(flags))}`
    : `la t0, ${target}\n srli t0, t0, 2\n ori t0, t0, ${flags}`;
  return `\n la t1, ${table}\n ${value}\n sd t0, ${index * 8}(t1)\n`;
}

/** root[0] = devices (1 GiB, RW) and root[2] = RAM (1 GiB, RWX): global supervisor identity maps. */
const kernelMap = (root: string): string =>
  setPte(root, 0, 0, V | R | W | G | A | D) + setPte(root, 2, 0x8000_0000, V | R | W | X | G | A | D);

/** `reg` = an Sv39 satp value for `root` and `asid`. */
const satpOf = (reg: string, root: string, asid: number): string =>
  `\n la ${reg}, ${root}\n srli ${reg}, ${reg}, 12\n li t0, ${hex((8n << 60n) | (BigInt(asid) << 44n))}\n or ${reg}, ${reg}, t0\n`;

/** A page-aligned page whose first doubleword is `marker`. */
const page = (label: string, marker: number): string => `.align 12\n${label}: .dword ${hex(marker)}\n`;

interface Program {
  /** M-mode code run before entering S (tables, satp). */
  setup: string;
  /** S-mode code (VA = PA through the identity map); ends by falling into `pass`. */
  body: string;
  /** Extra .data contents (tables are 4 KiB pages). */
  data: string;
}

/**
 * mtvec = m_trap: jumps to the continuation in s10 if set, else ends the run with fail code 99.
 * The M-mode setup ends with `sfence.vma` and MRET to `s_main` in S.
 */
function source(p: Program): string {
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
${p.setup}
    sfence.vma
    li      t0, 3 << 11
    csrc    mstatus, t0
    li      t0, 1 << 11
    csrs    mstatus, t0
    la      t0, s_main
    csrw    mepc, t0
    mret
s_main:
${p.body}
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
${page("pageA", 0xaaaa)}${page("pageB", 0xbbbb)}${page("pageC", 0xcccc)}${p.data}
.align 12
`;
}

interface Run extends BareRun {
  x(i: number): bigint;
  sym(name: string): bigint;
  ram64(addr: bigint): bigint;
  fills(): TlbFillTraceEvent[];
  invalidations(): TlbInvalidateTraceEvent[];
}

/** Assembles and runs `p`; expects it to pass (an unexpected trap fails with code 99). */
function run(p: Program, opts: RiscvVirtOptions = {}): Run {
  const asm = assembleRiscv64(source(p), { fileName: "tlb.S" });
  const r = runBare({ elf: asm.elf }, { maxInsns: 1_000_000, ...opts });
  expect(r.result.reason, `${r.result.message}; traps ${JSON.stringify(r.traps)}`).toBe("pass");
  const h = r.v.machine.harts[0]!;
  return {
    ...r,
    x: (i) => h.x(i),
    sym: (name) => {
      const v = asm.symbols.get(name);
      if (v === undefined) throw new RangeError(`no symbol ${name}`);
      return v;
    },
    ram64: (addr) => r.v.machine.bus.read64(Number(addr))!,
    fills: () => r.events.filter((e): e is TlbFillTraceEvent => e.type === "tlb-fill"),
    invalidations: () => r.events.filter((e): e is TlbInvalidateTraceEvent => e.type === "tlb-invalidate"),
  };
}

/** Sv39, ASID 0: the kernel map plus VA 0x4000_0000 -> pageA (supervisor RW). */
const MAP_A = kernelMap("root") + setPte("root", 1, "l1", V) + setPte("l1", 0, "l0", V) +
  setPte("l0", 0, "pageA", V | R | W | A | D) + satpOf("t2", "root", 0) + "\n csrw satp, t2\n";

/** S-mode: read VA into s2, point l0[0] at pageB without a fence, read into s3, fence VA, read into s4. */
const STALE_THEN_FENCE = `
    li      a1, ${hex(VA)}
    ld      s2, 0(a1)
${setPte("l0", 0, "pageB", V | R | W | A | D)}
    ld      s3, 0(a1)
    sfence.vma a1, zero
    ld      s4, 0(a1)
`;

describe("(a) a PTE rewritten without SFENCE.VMA: the TLB keeps the old translation until fenced", () => {
  it("the second read still sees page A; after sfence.vma va, zero the read sees page B", () => {
    const r = run({ setup: MAP_A, body: STALE_THEN_FENCE, data: "" });
    expect([r.x(S2), r.x(S3), r.x(S4)]).toEqual([0xaaaan, 0xaaaan, 0xbbbbn]);
    const fills = r.fills().filter((f) => f.va === hex(VA));
    expect(fills.map((f) => f.pa)).toEqual([hex(r.sym("pageA")), hex(r.sym("pageB"))]);
    const fence = r.invalidations().find((e) => e.kind === "sfence.vma va");
    // The entry lives in the dTLB and in the unified L2 (DEFAULT_TLB).
    expect(fence).toMatchObject({ va: hex(VA), removed: 2 });
  });

  it("the same program without the host fast path sees the same values and fills", () => {
    const a = run({ setup: MAP_A, body: STALE_THEN_FENCE, data: "" });
    const b = run({ setup: MAP_A, body: STALE_THEN_FENCE, data: "" }, { noFastPath: true });
    expect([b.x(S2), b.x(S3), b.x(S4)]).toEqual([a.x(S2), a.x(S3), a.x(S4)]);
    expect(b.events).toEqual(a.events);
  });
});

describe("(b) --tlb-flush-on-pte-write (QEMU-like): a store to a walked table page flushes the TLB", () => {
  it("the read after the PTE store sees page B without any fence", () => {
    const r = run({ setup: MAP_A, body: STALE_THEN_FENCE, data: "" }, { tlb: { ...DEFAULT_TLB, flushOnPteWrite: true } });
    expect([r.x(S2), r.x(S3), r.x(S4)]).toEqual([0xaaaan, 0xbbbbn, 0xbbbbn]);
    expect(r.invalidations().some((e) => e.kind === "pte-write" && e.removed > 0)).toBe(true);
  });
});

describe("(c) ASIDs tag TLB entries; sfence.vma x0, rASID flushes only that address space", () => {
  /** root (ASID 1): VA -> pageA. root2 (ASID 2): VA -> pageB. s6/s7 = the two satp values. */
  const setup = MAP_A + kernelMap("root2") + setPte("root2", 1, "l1b", V) + setPte("l1b", 0, "l0b", V) +
    setPte("l0b", 0, "pageB", V | R | W | A | D) + satpOf("s6", "root", 1) + satpOf("s7", "root2", 2);
  const data = ".align 12\nroot2: .zero 4096\nl1b: .zero 4096\nl0b: .zero 4096\n";
  const body = `
    li      a1, ${hex(VA)}
    csrw    satp, s6
    ld      s2, 0(a1)
    csrw    satp, s7
    ld      s3, 0(a1)
    csrw    satp, s6
    ld      s4, 0(a1)
    csrw    satp, s7
    ld      s5, 0(a1)
${setPte("l0", 0, "pageC", V | R | W | A | D)}${setPte("l0b", 0, "pageC", V | R | W | A | D)}
    li      t2, 1
    sfence.vma zero, t2
    ld      s8, 0(a1)
    csrw    satp, s6
    ld      s9, 0(a1)
`;

  it("switching satp between ASIDs without a fence reads each address space's own page", () => {
    const r = run({ setup, body, data });
    expect([r.x(S2), r.x(S3), r.x(S4), r.x(S5)]).toEqual([0xaaaan, 0xbbbbn, 0xaaaan, 0xbbbbn]);
    // Two walks fill both entries; the later reads hit (the third fill is after the ASID-1 flush).
    expect(r.fills().filter((f) => f.va === hex(VA)).map((f) => f.asid)).toEqual([1, 2, 1]);
  });

  it("after both PTEs change, sfence.vma x0, 1 drops ASID 1's entry only: ASID 2 still reads B, ASID 1 reads C", () => {
    const r = run({ setup, body, data });
    expect([r.x(S8), r.x(S9)]).toEqual([0xbbbbn, 0xccccn]);
    const flush = r.invalidations().find((e) => e.kind === "sfence.vma asid");
    // ASID 1's entry in the dTLB and its L2 copy; the global kernel entries and ASID 2 stay.
    expect(flush).toMatchObject({ asid: 1, removed: 2 });
    expect(r.v.machine.harts[0]!.tlbs.stats().invalidations["sfence.vma asid"]).toBe(1);
  });
});

describe("(d) a global mapping (G=1) survives ASID-scoped fences but not sfence.vma x0, x0", () => {
  it("stale after sfence.vma x0, asid and sfence.vma va, asid; fresh after sfence.vma x0, x0 and sfence.vma va, x0", () => {
    const setup = kernelMap("root") + setPte("root", 1, "l1", V) + setPte("l1", 0, "l0", V) +
      setPte("l0", 0, "pageA", V | R | W | G | A | D) + satpOf("t2", "root", 1) + "\n csrw satp, t2\n";
    const body = `
    li      a1, ${hex(VA)}
    li      a2, 1
    ld      s2, 0(a1)
${setPte("l0", 0, "pageB", V | R | W | G | A | D)}
    sfence.vma zero, a2
    ld      s3, 0(a1)
    sfence.vma a1, a2
    ld      s4, 0(a1)
    sfence.vma zero, zero
    ld      s5, 0(a1)
${setPte("l0", 0, "pageC", V | R | W | G | A | D)}
    ld      s6, 0(a1)
    sfence.vma a1, zero
    ld      s7, 0(a1)
`;
    const r = run({ setup, body, data: "" });
    expect([r.x(S2), r.x(S3), r.x(S4), r.x(S5), r.x(S6), r.x(S7)]).toEqual([0xaaaan, 0xaaaan, 0xaaaan, 0xbbbbn, 0xbbbbn, 0xccccn]);
    const inv = r.invalidations().filter((e) => e.kind.startsWith("sfence"));
    // The first fence is the M-mode setup's (nothing cached yet); the ASID-scoped ones find nothing.
    expect(inv.map((e) => [e.kind, e.removed > 0])).toEqual([
      ["sfence.vma all", false], ["sfence.vma asid", false], ["sfence.vma va+asid", false],
      ["sfence.vma all", true], ["sfence.vma va", true],
    ]);
    expect(r.fills().filter((f) => f.va === hex(VA)).every((f) => f.global)).toBe(true);
  });
});

describe("(d') G=1 in a non-leaf PTE makes every mapping below it global", () => {
  it("a leaf with G=0 under a global pointer fills a global entry that survives sfence.vma x0, asid", () => {
    const setup = kernelMap("root") + setPte("root", 1, "l1", V | G) + setPte("l1", 0, "l0", V) +
      setPte("l0", 0, "pageA", V | R | W | A | D) + satpOf("t2", "root", 1) + "\n csrw satp, t2\n";
    const body = `\n li a1, ${hex(VA)}\n li a2, 1\n ld s2, 0(a1)\n${setPte("l0", 0, "pageB", V | R | W | A | D)}
    sfence.vma zero, a2
    ld      s3, 0(a1)`;
    const r = run({ setup, body, data: "" });
    expect([r.x(S2), r.x(S3)]).toEqual([0xaaaan, 0xaaaan]);
    expect(r.fills().find((f) => f.va === hex(VA))).toMatchObject({ global: true, asid: 1 });
  });
});

describe("(e) capacity: a 4-entry unified TLB evicts round-robin, and an evicted stale entry is re-walked", () => {
  const N = 5;
  const PAGE = 0x1000;
  let setup = kernelMap("root") + setPte("root", 1, "l1", V) + setPte("l1", 0, "l0", V);
  let data = "";
  let touch = "";
  let rewrite = "";
  for (let i = 0; i < N; i++) {
    setup += setPte("l0", i, `old${i}`, V | R | W | A | D);
    data += page(`old${i}`, 0x100 + i) + page(`new${i}`, 0x200 + i);
    touch += `\n li a1, ${hex(VA + i * PAGE)}\n ld a0, 0(a1)\n`;
    rewrite += setPte("l0", i, `new${i}`, V | R | W | A | D);
  }
  setup += satpOf("t2", "root", 0) + "\n csrw satp, t2\n";
  // Reverse order: s6 = P4, s5 = P3, s4 = P2, s3 = P1, s2 = P0; then P2 again into s7.
  let reread = "";
  for (let i = N - 1; i >= 0; i--) reread += `\n li a1, ${hex(VA + i * PAGE)}\n ld s${2 + i}, 0(a1)\n`;
  reread += `\n li a1, ${hex(VA + 2 * PAGE)}\n ld s7, 0(a1)\n`;
  const body = `\n sfence.vma\n${touch}${rewrite}${reread}`;
  const tiny = { tlb: { l1: { entries: 4, ways: 4 }, split: false } };

  /*
   * One set of 4 ways, shared by fetches and data. After the fence the code's 1 GiB page K is
   * filled first; then P0, P1, P2 fill the other ways; P3 evicts K, whose refill (the next fetch)
   * evicts P0; P4 evicts P1. Resident: P3, K, P4, P2. Re-reading P4, P3, P2 hits the stale
   * entries (old pages); P1 and P0 miss and walk (new pages), evicting P2 and P3; P2 then walks.
   */
  it("P4, P3, P2 (still resident) read the old pages; P0 and P1 (evicted) read the new ones", () => {
    const r = run({ setup, body, data }, tiny);
    expect([r.x(S6), r.x(S5), r.x(S4), r.x(S3), r.x(S2)]).toEqual([0x104n, 0x103n, 0x102n, 0x201n, 0x200n]);
  });

  it("P2's stale entry, evicted by P1's refill, is re-walked and reads the new page", () => {
    const r = run({ setup, body, data }, tiny);
    expect(r.x(S7)).toBe(0x202n);
  });

  it("the fill sequence after the fence is K, P0, P1, P2, P3, K, P4, P1, P0, P2 (round-robin, independent of hits)", () => {
    const r = run({ setup, body, data }, tiny);
    const fence = r.invalidations().filter((e) => e.kind === "sfence.vma all").at(-1)!;
    const names = r.fills()
      .filter((f) => f.icount > fence.icount) // the fence's own fetch filled K before it retired
      .map((f) => (BigInt(f.va) >= 0x8000_0000n ? "K" : `P${(Number(BigInt(f.va)) - VA) / PAGE}`));
    expect(names.slice(0, 10)).toEqual(["K", "P0", "P1", "P2", "P3", "K", "P4", "P1", "P0", "P2"]);
    expect(r.v.machine.harts[0]!.tlbs.stats().evictions).toBeGreaterThanOrEqual(5);
  });

  it("without the host fast path the values, fills and evictions are identical (replacement ignores hits)", () => {
    const a = run({ setup, body, data }, tiny);
    const b = run({ setup, body, data }, { ...tiny, noFastPath: true });
    expect(b.events).toEqual(a.events);
    expect([S2, S3, S4, S5, S6, S7].map(b.x)).toEqual([S2, S3, S4, S5, S6, S7].map(a.x));
    expect(b.v.machine.harts[0]!.tlbs.stats().evictions).toBe(a.v.machine.harts[0]!.tlbs.stats().evictions);
  });
});

describe("(f) A/D bits: Svade faults, Svadu (menvcfg.ADUE) updates the PTE in RAM", () => {
  /** U code at VA 0x4020_0000 (l1[1] -> l0u[0]) loads VA (data flags `dataFlags`), stores to it, ecalls. */
  const program = (dataFlags: number, adue: boolean, store = true): Program => ({
    setup: kernelMap("root") + setPte("root", 1, "l1", V) + setPte("l1", 0, "l0", V) + setPte("l1", 1, "l0u", V) +
      setPte("l0", 0, "pageA", dataFlags) + setPte("l0u", 0, "ucode", V | R | X | U | A) +
      satpOf("t2", "root", 0) + `\n csrw satp, t2\n` +
      (adue ? "\n li t0, 1\n slli t0, t0, 61\n csrs menvcfg, t0\n" : "") + `
    la      s10, m_done
    sfence.vma
    li      t0, 3 << 11
    csrc    mstatus, t0
    li      t0, 0x40200000
    csrw    mepc, t0
    mret
m_done:
    csrr    s2, mcause
    csrr    s3, mtval
    csrr    s4, mepc
    j       pass
.align 12
ucode:
    li      a1, ${hex(VA)}
    ld      a3, 0(a1)
    li      a2, 0x5a
u_sd: ${store ? "sd a2, 0(a1)" : "nop"}
u_ecall: ecall
.align 12
`,
    body: "",
    data: ".align 12\nl0u: .zero 4096\n",
  });
  const uva = (r: Run, label: string): bigint => 0x4020_0000n + r.sym(label) - r.sym("ucode");
  const dataPte = (r: Run): bigint => r.ram64(r.sym("l0"));
  const expectedPte = (r: Run, flags: number): bigint => ((r.sym("pageA") >> 12n) << 10n) | BigInt(flags);

  it("Svade: a U store to a page with D=0 is a store/AMO page fault (15), tval = VA; the PTE is unchanged", () => {
    const r = run(program(V | R | W | U | A, false));
    expect(r.traps.map((t) => [t.cause, t.tval, t.epc, t.from])).toEqual([[15, hex(VA), hex(uva(r, "u_sd")), "U"]]);
    expect(dataPte(r)).toBe(expectedPte(r, V | R | W | U | A));
  });

  it("Svadu present but menvcfg.ADUE=0: still Svade (page fault 15)", () => {
    const r = run(program(V | R | W | U | A, false), { svadu: true });
    expect(r.traps.map((t) => t.cause)).toEqual([15]);
  });

  it("Svadu with menvcfg.ADUE=1: a load then a store to an A=0, D=0 page succeed; the store re-walks and the PTE gains A and D", () => {
    const r = run(program(V | R | W | U, true), { svadu: true });
    expect(r.traps.map((t) => [t.cause, t.epc, t.from])).toEqual([[8, hex(uva(r, "u_ecall")), "U"]]);
    expect(dataPte(r)).toBe(expectedPte(r, V | R | W | U | A | D));
    expect(r.ram64(r.sym("pageA"))).toBe(0x5an);
  });

  it("Svadu with menvcfg.ADUE=1: a load from an A=0 page sets A only", () => {
    const r = run(program(V | R | W | U, true, false), { svadu: true });
    expect(r.traps.map((t) => t.cause)).toEqual([8]);
    expect(dataPte(r)).toBe(expectedPte(r, V | R | W | U | A));
  });

  it("Svade: a U load from a page with A=0 is a load page fault (13)", () => {
    const r = run(program(V | R | W | U | D, false, false));
    expect(r.traps.map((t) => [t.cause, t.tval])).toEqual([[13, hex(VA)]]);
  });

  it("without Svadu, setting menvcfg.ADUE has no effect (the bit is read-only 0)", () => {
    const r = run(program(V | R | W | U | A, true));
    expect(r.traps.map((t) => t.cause)).toEqual([15]);
  });
});

describe("(g) the trace's tlb-fill event shows the Sv39 walk the guest's tables define", () => {
  it("a 4 KiB access at VA 0x4060_3008 reads root[1], l1[3], l0[3]; each step's pte is the value in RAM", () => {
    const va = 0x4060_3008;
    const setup = kernelMap("root") + setPte("root", 1, "l1", V) + setPte("l1", 3, "l0", V) +
      setPte("l0", 3, "pageA", V | R | W | A | D) + satpOf("t2", "root", 0) + "\n csrw satp, t2\n";
    const r = run({ setup, body: `\n li a1, ${hex(va)}\n ld s2, 0(a1)\n ld s3, -8(a1)\n`, data: "" });
    const fill = r.fills().find((f) => f.va === hex(va))!;
    const step = (level: number, table: string, index: number): { level: number; pteAddr: string; pte: string } => {
      const addr = r.sym(table) + BigInt(index * 8);
      return { level, pteAddr: hex(addr), pte: hex(r.ram64(addr)) };
    };
    expect(fill.steps).toEqual([step(2, "root", 1), step(1, "l1", 3), step(0, "l0", 3)]);
    expect(fill.steps.map((s) => BigInt(s.pte))).toEqual([
      ((r.sym("l1") >> 12n) << 10n) | BigInt(V), ((r.sym("l0") >> 12n) << 10n) | BigInt(V),
      ((r.sym("pageA") >> 12n) << 10n) | BigInt(V | R | W | A | D),
    ]);
    expect(fill).toMatchObject({ level: 0, pageSize: 4096, pa: hex(r.sym("pageA")), global: false, asid: 0, perm: "DA---WRV" });
    expect([r.x(S2), r.x(S3)]).toEqual([0n, 0xaaaan]);
  });
});

describe("(h) page-crossing accesses translate both pages before anything happens", () => {
  /** VA page 0 -> pageA (or `xpage` when `code`), VA page 1 unmapped (or the reverse); S runs `body`. */
  const crossing = (firstMapped: boolean, body: string, code = false): Run => run({
    setup: kernelMap("root") + setPte("root", 1, "l1", V) + setPte("l1", 0, "l0", V) +
      setPte("l0", firstMapped ? 0 : 1, code ? "xpage" : "pageA", V | R | W | X | A | D) +
      satpOf("t2", "root", 0) + "\n csrw satp, t2\n",
    body: `
    la      s10, m_done
    li      a2, -1
${body}
    j       fail_s
m_done:
    csrr    s2, mcause
    csrr    s3, mtval
    csrr    s4, mepc
    j       pass
fail_s:
    ecall
`,
    data: ".align 12\nxpage: .zero 4094\n .half 0x0513, 0x07b0\n",
  });
  const regs = (r: Run): string[] => [r.x(S2), r.x(S3), r.x(S4)].map(hex);

  it("a load whose second page is unmapped faults (13) with tval = the second page's first byte", () => {
    const r = crossing(true, `\n li a1, ${hex(VA + 0xffc)}\nsite: ld a0, 0(a1)`);
    expect(regs(r)).toEqual(["0xd", hex(VA + 0x1000), hex(r.sym("site"))]);
    expect(r.traps.map((t) => [t.cause, t.from])).toEqual([[13, "S"]]);
  });

  it("a store whose second page is unmapped faults (15) and writes no byte of the first page", () => {
    const r = crossing(true, `\n li a1, ${hex(VA + 0xffc)}\n sd a2, 0(a1)`);
    expect(regs(r).slice(0, 2)).toEqual(["0xf", hex(VA + 0x1000)]);
    expect(r.ram64(r.sym("pageA") + 0xff8n)).toBe(0n);
  });

  it("a load whose first page is unmapped faults (13) with tval = the access's own VA", () => {
    const r = crossing(false, `\n li a1, ${hex(VA + 0xffc)}\n ld a0, 0(a1)`);
    expect(regs(r).slice(0, 2)).toEqual(["0xd", hex(VA + 0xffc)]);
  });

  it("a 32-bit instruction at page end - 2 whose second half is unmapped: fault 12, tval = page end, epc = the instruction", () => {
    const r = crossing(true, `\n li t0, ${hex(VA + 0xffe)}\n jr t0`, true);
    expect(regs(r)).toEqual(["0xc", hex(VA + 0x1000), hex(VA + 0xffe)]);
  });
});
