/**
 * Fault injection (kernel/inject.ts, boot/riscv64/inject-hw.ts, boot/riscv64/inject-run.ts): the
 * injector's spec semantics, allocation failures the kernel must survive without leaking, hardware
 * faults classified against a golden run, and determinism of the whole thing under one seed.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runWithInjection, type InjectionPlan, type Outcome } from "../boot/inject-run.js";
import { bootKernel, type KernelMachine } from "../boot/riscv64/kernel-boot.js";
import { Injector, type KernelFaultPlan } from "../kernel/inject.js";
import { assembleRiscv64 } from "../tools/asm/riscv64/index.js";
import { ASM_LIB, fork, mmap, PAGE, SYSCALLS } from "./support/kernel-asm.js";

const OUTCOMES: readonly Outcome[] = ["handled", "killed", "oops", "hang", "leak", "corruption"];

/** Writes a distinct word to each of N mmap'd pages, reads them all back 4 times, prints "ok" or "FAIL data" and exits with the failure count. */
const touchPages = (n: number): string => `${SYSCALLS}
    .equ N, ${n}
    .text
    .globl _start
_start:
    ${mmap("0", `N * ${PAGE}`)}
    mv      s0, a0
    li      t0, 0
    li      t2, ${PAGE}
1:  mul     t3, t0, t2
    add     t3, s0, t3
    addi    t4, t0, 0x55
    sd      t4, 8(t3)
    addi    t0, t0, 1
    li      t5, N
    bltu    t0, t5, 1b
    li      s1, 4
    li      s2, 0
2:  li      t0, 0
3:  mul     t3, t0, t2
    add     t3, s0, t3
    ld      t4, 8(t3)
    addi    t5, t0, 0x55
    beq     t4, t5, 4f
    addi    s2, s2, 1
4:  addi    t0, t0, 1
    li      t5, N
    bltu    t0, t5, 3b
    addi    s1, s1, -1
    bnez    s1, 2b
    mv      a0, s2
    la      a1, m_data
    jal     check
    j       finish
    .data
m_data: .asciz "data"
${ASM_LIB}`;

/** fork; the child prints "child" and exits 0; the parent prints "clone ok" or "clone ENOMEM" (anything else fails) and waits. */
const forkOnce = `${SYSCALLS}
    .text
    .globl _start
_start:
    ${mmap("0", `4 * ${PAGE}`)}
    sd      a0, 0(a0)
    ${fork}
    beqz    a0, child
    mv      s0, a0
    li      t0, -12
    beq     s0, t0, enomem
    bltz    s0, bad
    li      a0, -1
    li      a1, 0
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    la      a0, m_ok
    jal     puts
    j       finish
enomem:
    la      a0, m_enomem
    jal     puts
    j       finish
bad:
    li      s11, 1
    j       finish
child:
    la      a0, m_child
    jal     puts
    j       finish
    .data
m_ok:     .asciz "clone ok\\n"
m_enomem: .asciz "clone ENOMEM\\n"
m_child:  .asciz "child\\n"
${ASM_LIB}`;

const elf = (src: string): Uint8Array => assembleRiscv64(src, { fileName: "prog.S" }).elf;

interface DirectRun { exitCode: number; reason: string; stdout: string; log: string[]; km: KernelMachine }

/** Boots `src` with an optional injector and runs it to power-off. */
function boot(src: string, injector?: Injector): DirectRun {
  let stdout = "";
  const log: string[] = [];
  const km = bootKernel({ program: elf(src), args: ["prog"], injector, log: (l) => log.push(l), console: (b) => { stdout += String.fromCharCode(b); } });
  const r = km.machine.run({ maxInsns: 20_000_000 });
  return { exitCode: r.exitCode, reason: r.reason, stdout, log, km };
}

/** Memory the kernel holds after the run: frames in use, process-owned frames and heap blocks, and the allocator's audit. */
function residue(run: DirectRun): { usedFrames: number; processFrames: string[]; processHeap: string[]; audit: string[] } {
  const frames = run.km.kernel.memory!.frames;
  const pidOwned = (o: string): boolean => /^pid \d+/.test(o);
  return {
    usedFrames: frames.getMemoryStats().usedFrames,
    processFrames: [...frames.allocationsByOwner().keys()].filter(pidOwned),
    processHeap: [...run.km.kernel.heap!.liveByOwner().keys()].filter(pidOwned),
    audit: frames.audit(),
  };
}

describe("Injector: Linux fault-injection semantics", () => {
  const decide = (plan: KernelFaultPlan, calls: { owner?: string; pid?: number }[], seed = 1): boolean[] => {
    const inj = new Injector(seed, plan);
    return calls.map((c) => inj.shouldFail("frame-alloc", c));
  };
  const ten = Array.from({ length: 10 }, () => ({ owner: "pid 1", pid: 1 }));

  it("nth fails exactly the nth eligible call, once", () => {
    expect(decide({ "frame-alloc": { nth: 3 } }, ten)).toEqual([false, false, true, false, false, false, false, false, false, false]);
  });

  it("interval and times: every 3rd eligible call, at most twice", () => {
    expect(decide({ "frame-alloc": { interval: 3, times: 2 } }, ten).map((b, i) => (b ? i + 1 : 0)).filter(Boolean)).toEqual([3, 6]);
  });

  it("filters: only calls with a matching owner (exact or 'owner ...') and running pid are counted", () => {
    const calls = [{ owner: "pid 2", pid: 1 }, { owner: "page table", pid: 1 }, { owner: "pid 2 kernel stack", pid: 1 }, { owner: "pid 20", pid: 1 }, { owner: "pid 2", pid: 3 }];
    expect(decide({ "frame-alloc": { nth: 2, filter: { owner: "pid 2", pid: 1 } } }, calls)).toEqual([false, false, true, false, false]);
  });

  it("probability draws from the seed: the same seed makes the same choices, another seed others", () => {
    const many = Array.from({ length: 200 }, () => ({ owner: "x" }));
    const a = decide({ "frame-alloc": { probability: 0.25 } }, many, 5);
    expect(decide({ "frame-alloc": { probability: 0.25 } }, many, 5)).toEqual(a);
    expect(decide({ "frame-alloc": { probability: 0.25 } }, many, 6)).not.toEqual(a);
    const hits = a.filter(Boolean).length;
    expect(hits).toBeGreaterThan(25);
    expect(hits).toBeLessThan(80);
  });

  it("records every injection with its point, call number, pid and owner; points not in the plan never fail", () => {
    const inj = new Injector(0, { "heap-alloc": { nth: 2 } });
    expect(inj.shouldFail("frame-alloc", { owner: "a" })).toBe(false);
    inj.shouldFail("heap-alloc", { owner: "a", pid: 4 });
    inj.shouldFail("heap-alloc", { owner: "b", pid: 4 });
    expect(inj.injections).toEqual([{ point: "heap-alloc", call: 2, pid: 4, owner: "b" }]);
  });

  it("rejects specs out of range, naming the field", () => {
    expect(() => new Injector(0, { "frame-alloc": { probability: 1.5 } })).toThrow(/probability 1.5/);
    expect(() => new Injector(0, { "heap-alloc": { nth: 0 } })).toThrow(/nth 0/);
  });
});

describe("allocation failures in a running kernel", () => {
  it("a frame-allocation failure during demand paging kills the process (out of memory, SIGSEGV) and leaks nothing", () => {
    const golden = boot(touchPages(32));
    expect([golden.exitCode, golden.stdout]).toEqual([0, "ok data\n"]);
    const inj = new Injector(1, { "frame-alloc": { nth: 10, filter: { pid: 1, owner: "pid 1" } } });
    const run = boot(touchPages(32), inj);
    expect(inj.injections).toEqual([{ point: "frame-alloc", call: 10, pid: 1, owner: "pid 1" }]);
    expect(run.exitCode).toBe(139);
    expect(run.log.some((l) => /^\[pid 1\] killed by signal 11: out of memory: write to 0x[0-9a-f]+ in /.test(l))).toBe(true);
    expect(run.log.some((l) => l.startsWith("kernel oops"))).toBe(false);
    expect(run.stdout).toBe("");
    expect(residue(run)).toEqual({ ...residue(golden), processFrames: [], processHeap: [], audit: [] });
  });

  it("a failed heap allocation for the child's record at fork (nth=1, owner 'pid 2') makes clone return -ENOMEM, and leaks nothing", () => {
    const golden = boot(forkOnce);
    expect([golden.exitCode, golden.stdout]).toEqual([0, "child\nclone ok\n"]);
    const inj = new Injector(1, { "heap-alloc": { nth: 1, filter: { owner: "pid 2" } } });
    const run = boot(forkOnce, inj);
    expect(inj.injections).toEqual([{ point: "heap-alloc", call: 1, pid: 1, owner: "pid 2" }]);
    expect([run.exitCode, run.stdout]).toEqual([0, "clone ENOMEM\n"]);
    expect(run.log.filter((l) => !l.startsWith("inject:"))).toEqual([]);
    expect(residue(run)).toEqual({ ...residue(golden), processFrames: [], processHeap: [], audit: [] });
  });

  // The fork program's frame allocations while pid 1 runs: 1-2 fault in its first mmap page (a
  // frame, then a page table); 3-8 are the child's page tables; 9 is the child's kernel stack.
  it.each([
    [1, "killed"], [2, "killed"], [3, "ENOMEM"], [5, "ENOMEM"], [8, "ENOMEM"], [9, "ENOMEM"], [10, "unchanged"],
  ] as const)("failing the frame allocation number %i made while pid 1 runs: %s, never an oops or a leak", (nth, expected) => {
    const golden = boot(forkOnce);
    const inj = new Injector(1, { "frame-alloc": { nth, filter: { pid: 1 } } });
    const run = boot(forkOnce, inj);
    const verdict = run.stdout === "clone ENOMEM\n" ? "ENOMEM" : run.stdout === golden.stdout ? "unchanged"
      : run.exitCode === 139 && run.log.some((l) => l.includes("killed by signal 11: out of memory")) ? "killed" : `other: ${run.exitCode} ${run.stdout}`;
    expect(verdict).toBe(expected);
    expect(inj.injections).toHaveLength(expected === "unchanged" ? 0 : 1);
    expect(run.log.some((l) => l.startsWith("kernel oops"))).toBe(false);
    expect(residue(run)).toEqual({ ...residue(golden), processFrames: [], processHeap: [], audit: [] });
  });
});

describe("hardware faults, classified against a golden run", () => {
  const program = elf(touchPages(48));
  const run = (plan: InjectionPlan) => runWithInjection({ program, args: ["prog"], plan });

  it("dropping a TLB entry is legal behaviour: always handled (20 seeds)", () => {
    for (let seed = 0; seed < 20; seed++) {
      const r = run({ seed, hardware: [{ kind: "tlb-drop" }] });
      expect({ seed, outcome: r.outcome }).toEqual({ seed, outcome: "handled" });
      expect(r.injections).toHaveLength(1);
      expect(r.injections[0]!.point).toBe("tlb-drop");
    }
  });

  // 1024 pages outrun the TLB (512 L2 entries), so the cleared PTE is walked again before the check.
  it("clearing the V bit of a user data PTE orphans its frame (and may lose the page's data): never silent, the kernel's exit check reports the frame, so the verdict is leak", () => {
    const big = elf(touchPages(1024));
    const outputs = new Set<string>();
    for (let seed = 0; seed < 8; seed++) {
      const r = runWithInjection({ program: big, args: ["prog"], plan: { seed, hardware: [{ kind: "pte-flip", bit: 0, mode: "clear", target: "data" }] } });
      expect(r.outcome).toBe("leak");
      expect(["ok data\n", "FAIL data\n"]).toContain(r.faulty.stdout);
      expect(r.log.filter((l) => l.startsWith("kernel: leak: pid 1 exited holding 1 frame"))).toHaveLength(1);
      outputs.add(r.faulty.stdout);
    }
    expect(outputs).toContain("FAIL data\n");
  });

  it("flipping a bit of a live kernel heap block's header is never silent: the heap's seal check oopses the kernel", () => {
    const fork = elf(readFileSync(new URL("../examples/campaign/fork-mmap.S", import.meta.url), "utf8"));
    let injected = 0;
    for (let seed = 0; seed < 12; seed++) {
      const r = runWithInjection({ program: fork, args: ["prog"], plan: { seed, hardware: [{ kind: "heap-corrupt" }] } });
      if (r.injections.length === 0) continue;
      injected++;
      expect({ seed, outcome: r.outcome }).toEqual({ seed, outcome: "oops" });
      expect(r.log.some((l) => /^kernel oops: heap: .*corrupted/.test(l))).toBe(true);
    }
    expect(injected).toBeGreaterThan(8);
  });

  it("flipping U of a mapped user data PTE: the next walk contradicts the area, and the kernel oopses (it does not kill the process)", () => {
    const r = runWithInjection({ program: elf(touchPages(1024)), args: ["prog"], plan: { seed: 0, hardware: [{ kind: "pte-flip", bit: 4, target: "data" }] } });
    expect(r.outcome).toBe("oops");
    expect(r.faulty.exitCode).toBe(134);
    expect(r.log.some((l) => /^kernel oops: page fault at 0x[0-9a-f]+: read allowed by .* but not by its entry/.test(l))).toBe(true);
  });

  it.each([
    [{ kind: "tlb-corrupt" }], [{ kind: "spurious-irq", irq: "software" }], [{ kind: "spurious-irq", irq: "timer" }], [{ kind: "pte-flip", target: "any" }],
  ] as const)("%o: every seed gets a verdict and the host never throws", (fault) => {
    for (let seed = 0; seed < 6; seed++) {
      const r = run({ seed, hardware: [fault] });
      expect(OUTCOMES).toContain(r.outcome);
      expect(r.injections.length + r.skipped.length).toBe(1);
    }
  });

  it.each([
    { seed: 42, kernel: { "frame-alloc": { probability: 0.05, filter: { pid: 1 } } }, hardware: [{ kind: "tlb-corrupt" }, { kind: "pte-flip" }] },
    { seed: 7, hardware: [{ kind: "tlb-corrupt" }, { kind: "pte-flip" }, { kind: "tlb-drop" }, { kind: "spurious-irq" }] },
  ] as InjectionPlan[])("the same seed gives the same injections and the same outcome (seed $seed)", (plan) => {
    const a = run(plan), b = run(plan);
    expect(b.outcome).toBe(a.outcome);
    expect(b.injections).toEqual(a.injections);
    expect(b.faulty).toEqual(a.faulty);
    expect(a.injections.length).toBeGreaterThan(0);
  });
});
