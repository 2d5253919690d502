/**
 * Address-space layout randomisation under the TypeScript kernel: the stack top, the mmap base,
 * the brk start and a position-independent program's load address come from the run's seed — the
 * same seed gives the same layout, different seeds different ones — inside the documented ranges
 * and page-aligned; without a seed, or with aslr off, the layout is the fixed one. Fork keeps the
 * parent's layout; exec draws a new one.
 */
import { describe, expect, it } from "vitest";
import { ELF_ET_DYN_BASE, RANDOM_PAGE_BITS, STACK_MAX, STACK_TOP } from "../kernel/proc/aslr.js";
import { assembleRiscv64 } from "../tools/asm/riscv64/index.js";
import { ASM_LIB, fork, SYSCALLS } from "./support/kernel-asm.js";
import { runKernel, type RunKernelOptions } from "./support/run-kernel.js";

const PAGE = 4096n;
const SPAN = (1n << BigInt(RANDOM_PAGE_BITS)) * PAGE;

/** Prints "sp", "mmap" (a fresh one-page mapping), "brk" (brk(0)) and "start" (_start's run-time address), one per line. */
const PRINT_LAYOUT = `
print_layout:
    mv      s9, ra
    la      a0, m_sp
    jal     puts
    mv      a0, s0
    jal     puthex
    la      a0, m_mmap
    jal     puts
    li      a0, 0
    li      a1, 4096
    li      a2, PROT_RW
    li      a3, MAP_PRIVATE_ANON
    li      a4, -1
    li      a5, 0
    li      a7, SYS_mmap
    ecall
    jal     puthex
    la      a0, m_brk
    jal     puts
    li      a0, 0
    li      a7, SYS_brk
    ecall
    jal     puthex
    la      a0, m_start
    jal     puts
    la      a0, _start
    jal     puthex
    la      a0, m_nl
    jal     puts
    mv      ra, s9
    ret
    .section .rodata
m_sp:    .asciz "sp "
m_mmap:  .asciz "\\nmmap "
m_brk:   .asciz "\\nbrk "
m_start: .asciz "\\nstart "
m_nl:    .asciz "\\n"
`;

const LAYOUT = `${SYSCALLS}
    .text
    .globl _start
_start:
    mv      s0, sp
    jal     print_layout
    li      a0, 0
    li      a7, SYS_exit
    ecall
${PRINT_LAYOUT}
${ASM_LIB}`;

interface Layout {
  sp: bigint;
  mmap: bigint;
  brk: bigint;
  start: bigint;
}

/** The layouts a run printed, in order. */
function layouts(stdout: string): Layout[] {
  const values = stdout.trim().split("\n").map((l) => l.split(" ") as [string, string]);
  const out: Layout[] = [];
  for (let i = 0; i + 3 < values.length; i += 4) {
    const get = (k: number, name: string): bigint => {
      expect(values[i + k]![0]).toBe(name);
      return BigInt(values[i + k]![1]);
    };
    out.push({ sp: get(0, "sp"), mmap: get(1, "mmap"), brk: get(2, "brk"), start: get(3, "start") });
  }
  return out;
}

const layoutOf = (program: string | Uint8Array, opts: RunKernelOptions = {}): Layout => {
  const run = runKernel(program, opts);
  expect(run.exitCode).toBe(0);
  return layouts(run.stdout)[0]!;
};

describe("ASLR", () => {
  const fixed = layoutOf(LAYOUT);

  it("without a seed the layout is the fixed one: stack at STACK_TOP, mmap right below its guard, brk after the program", () => {
    expect(fixed.sp < STACK_TOP && fixed.sp > STACK_TOP - PAGE).toBe(true);
    expect(fixed.mmap).toBe(STACK_TOP - STACK_MAX - 2n * PAGE);
    expect(fixed.brk % PAGE).toBe(0n);
    expect(fixed.brk > fixed.start && fixed.brk - fixed.start < 0x10_0000n).toBe(true);
  });

  it("the same seed gives the same layout twice", () => {
    const a = runKernel(LAYOUT, { seed: 42 });
    const b = runKernel(LAYOUT, { seed: 42 });
    expect(b.stdout).toBe(a.stdout);
    expect(layouts(a.stdout)[0]).not.toEqual(fixed);
  });

  it("different seeds give different stack tops, mmap bases and brk starts, inside the documented ranges", () => {
    const seen = Array.from({ length: 12 }, (_, seed) => layoutOf(LAYOUT, { seed }));
    for (const key of ["sp", "mmap", "brk"] as const) expect(new Set(seen.map((l) => l[key])).size).toBe(seen.length);
    const gap = (STACK_MAX > 128n << 20n ? STACK_MAX : 128n << 20n) + PAGE;
    for (const l of seen) {
      expect(l.sp > STACK_TOP - SPAN - PAGE && l.sp < STACK_TOP).toBe(true);
      expect(l.sp % 16n).toBe(fixed.sp % 16n);
      const mmapTop = STACK_TOP - SPAN - gap;
      expect(l.mmap % PAGE).toBe(0n);
      expect(l.mmap < mmapTop && l.mmap >= mmapTop - SPAN - PAGE).toBe(true);
      expect(l.mmap + PAGE < l.sp - STACK_MAX).toBe(true);
      expect(l.brk % PAGE).toBe(0n);
      expect(l.brk >= fixed.brk && l.brk < fixed.brk + SPAN).toBe(true);
      // An ET_EXEC program is not moved.
      expect(l.start).toBe(fixed.start);
    }
  });

  it("aslr off with a seed is the fixed layout", () => {
    expect(layoutOf(LAYOUT, { seed: 42, aslr: false })).toEqual(fixed);
  });

  it("a forked child keeps its parent's layout: same stack, and its next mmap lands where the parent's does", () => {
    const run = runKernel(`${SYSCALLS}
    .bss
status: .word 0
    .text
    .globl _start
_start:
    mv      s0, sp
    ${fork}
    mv      s1, a0
    bnez    s1, 1f
    jal     print_layout
    li      a0, 0
    li      a7, SYS_exit
    ecall
1:  li      a0, -1
    la      a1, status
    li      a2, 0
    li      a3, 0
    li      a7, SYS_wait4
    ecall
    jal     print_layout
    li      a0, 0
    li      a7, SYS_exit
    ecall
${PRINT_LAYOUT}
${ASM_LIB}`, { seed: 7 });
    const [child, parent] = layouts(run.stdout);
    expect(child).toEqual(parent);
    expect(parent!.mmap).not.toBe(fixed.mmap);
  });

  it("exec draws a new layout; without ASLR it is the same one again", () => {
    const self = `${SYSCALLS}
    .section .rodata
path: .asciz "/layout"
arg0: .asciz "layout"
arg1: .asciz "x"
    .data
argv: .dword arg0, arg1, 0
    .text
    .globl _start
_start:
    mv      s0, sp
    jal     print_layout
    ld      t0, 0(s0)
    li      t1, 1
    bne     t0, t1, 1f
    la      a0, path
    la      a1, argv
    li      a2, 0
    li      a7, 221
    ecall
1:  li      a0, 0
    li      a7, SYS_exit
    ecall
${PRINT_LAYOUT}
${ASM_LIB}`;
    const [first, second] = layouts(runKernel(self, { args: ["layout"], seed: 3 }).stdout);
    expect(second!.sp >> 12n).not.toBe(first!.sp >> 12n);
    expect(second!.mmap).not.toBe(first!.mmap);
    expect(second!.brk).not.toBe(first!.brk);
    const [a, b] = layouts(runKernel(self, { args: ["layout"] }).stdout);
    expect([b!.mmap, b!.brk, b!.sp >> 12n]).toEqual([a!.mmap, a!.brk, a!.sp >> 12n]);
  });

  describe("a position-independent (ET_DYN) program", () => {
    const asm = assembleRiscv64(LAYOUT, { fileName: "pie.S" });
    const pie = asm.elf.slice();
    new DataView(pie.buffer).setUint16(16, 3, true);
    const linked = asm.symbols.get("_start")!;
    const lowest = (() => {
      const dv = new DataView(pie.buffer);
      const phoff = Number(dv.getBigUint64(32, true)), n = dv.getUint16(56, true);
      let low = 1n << 64n;
      for (let i = 0; i < n; i++) {
        const at = phoff + 56 * i;
        if (dv.getUint32(at, true) === 1 && dv.getBigUint64(at + 16, true) < low) low = dv.getBigUint64(at + 16, true);
      }
      return low - (low % PAGE);
    })();

    it("is loaded with its first segment at ELF_ET_DYN_BASE without ASLR", () => {
      expect(layoutOf(pie).start).toBe(ELF_ET_DYN_BASE + (linked - lowest));
    });

    it("gets a random, page-granular load bias from the seed, the same for the same seed", () => {
      const starts = [1, 2, 3, 1].map((seed) => layoutOf(pie, { seed }).start);
      expect(starts[3]).toBe(starts[0]);
      expect(new Set(starts).size).toBe(3);
      for (const s of starts) {
        expect((s - linked) % PAGE).toBe(0n);
        expect(s >= ELF_ET_DYN_BASE && s < ELF_ET_DYN_BASE + SPAN + (linked - lowest)).toBe(true);
      }
    });
  });
});
