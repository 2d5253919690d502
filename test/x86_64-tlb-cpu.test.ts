/**
 * The CPU keeps the MMU's architectural TLB visible: a translation cached before a paging entry is
 * rewritten is still used until INVLPG or a MOV to CR3 removes it, with the host fast path on or
 * off (it must not change what the guest sees), and strict TLB mode reports the stale use.
 * SMAP from the CPU side: STAC/CLAC toggle RFLAGS.AC, which the fast path must respect.
 * @spec Intel SDM Vol. 3A §4.10.2.3 (stale translations may be used), §4.10.4.1 (INVLPG, MOV to CR3)
 */
import { describe, expect, it } from "vitest";
import { bootBareX86, createX86Pc } from "../boot/x86_64/pc.js";
import { FIRMWARE } from "../boot/x86_64/memory-map.js";
import { buildAsm, missingBinutils } from "./fixtures/x86_64/build.js";
import { systemEnv } from "./fixtures/x86_64/system-env.js";

if (missingBinutils) console.log(`skipping the x86_64 CPU TLB tests: ${missingBinutils}`);

/** The PDE that maps VA 0x40000000 (GiB 1, entry 0) in the firmware's identity map. */
const PDE = FIRMWARE.PD + 0x1000;

const PROGRAM = `
  .globl _start
_start:
  mov $0x40000000, %edi
  mov (%rdi), %r8            /* fills the TLB: page -> 0x200000 */
  movq $0x400083, ${PDE}     /* the PDE now says 0x400000, no INVLPG */
  mov (%rdi), %r9            /* stale: still 0x200000 */
  invlpg (%rdi)
  mov (%rdi), %r10           /* 0x400000 */
  movq $0x200083, ${PDE}
  mov %cr3, %rax
  mov %rax, %cr3             /* flushes non-global entries */
  mov (%rdi), %r11           /* 0x200000 */
  mov $0, %al
  out %al, $0xf4
`;

function run(opts: { noFastPath?: boolean; strictTlb?: boolean }): { regs: bigint[]; stale: number } {
  const { elf } = buildAsm(PROGRAM);
  const pc = createX86Pc(opts);
  bootBareX86(pc, elf);
  const bus = pc.machine.bus;
  bus.write64(PDE, 0x200083n);
  bus.write64(0x200000, 0xaaaan);
  bus.write64(0x400000, 0xbbbbn);
  const r = pc.machine.run({ maxInsns: 1000 });
  expect(r.reason).toBe("exit");
  return { regs: [8, 9, 10, 11].map((i) => pc.cpu.reg(i)), stale: pc.machine.staleTlbReports };
}

describe.skipIf(missingBinutils !== undefined)("x86_64 CPU and the architectural TLB", () => {
  it("a rewritten PDE is not seen until INVLPG; MOV to CR3 flushes it too", () => {
    expect(run({}).regs).toEqual([0xaaaan, 0xaaaan, 0xbbbbn, 0xaaaan]);
  });

  it("the host fast path changes nothing: the same values with it off", () => {
    expect(run({ noFastPath: true }).regs).toEqual(run({}).regs);
  });

  it("strict TLB mode reports the stale use and changes nothing else", () => {
    const s = run({ strictTlb: true });
    expect(s.regs).toEqual([0xaaaan, 0xaaaan, 0xbbbbn, 0xaaaan]);
    expect(s.stale).toBe(1);
  });

  it("INVPCID type 2 (all contexts) removes the stale entry; with CR4.PCIDE a MOV to CR3 with bit 63 set keeps it", () => {
    const { elf } = buildAsm(`
  .globl _start
_start:
  mov %cr4, %rax
  or $0x20000, %rax          /* CR4.PCIDE (CR3[11:0] is 0) */
  mov %rax, %cr4
  mov $0x40000000, %edi
  mov (%rdi), %r8
  movq $0x400083, ${PDE}
  mov %cr3, %rax
  bts $63, %rax
  mov %rax, %cr3             /* no-flush: the entry survives */
  mov (%rdi), %r9
  mov $2, %eax
  invpcid desc(%rip), %rax
  mov (%rdi), %r10
  mov $0, %al
  out %al, $0xf4
  .align 16
desc: .quad 0, 0
`);
    const pc = createX86Pc();
    bootBareX86(pc, elf);
    const bus = pc.machine.bus;
    bus.write64(PDE, 0x200083n);
    bus.write64(0x200000, 0xaaaan);
    bus.write64(0x400000, 0xbbbbn);
    expect(pc.machine.run({ maxInsns: 1000 }).reason).toBe("exit");
    expect([8, 9, 10].map((i) => pc.cpu.reg(i))).toEqual([0xaaaan, 0xaaaan, 0xbbbbn]);
  });

  it("with CR4.SMAP a supervisor read of a user page is #PF(P) unless STAC set RFLAGS.AC", () => {
    const source = (stac: boolean): string => `
  .text
go:
  mov %cr4, %rax
  or $0x200000, %rax
  mov %rax, %cr4
  mov $0x400000, %edi
  ${stac ? "stac" : "clac"}
  mov (%rdi), %rax
  clac
  mov $0x21, %eax
  out %eax, $0xf4
`;
    const blocked = systemEnv(source(false), "go");
    expect(blocked.pc.machine.run({ maxInsns: 1000 }).exitCode).toBe(29);
    expect(blocked.q(Number(blocked.q(blocked.sym("rec_rsp"))))).toBe(0x1n);
    const allowed = systemEnv(source(true), "go");
    expect(allowed.pc.machine.run({ maxInsns: 1000 }).exitCode).toBe(0x43);
  });
});
