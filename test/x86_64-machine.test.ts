/**
 * The `x86_64-pc` machine and its bare boot: the e820 map with the legacy holes, the boot-info
 * record, the 64-bit entry state, COM1 and isa-debug-exit; and the CPU's caches: an instruction
 * that straddles two pages, self-modifying code, and the host fast path changing nothing.
 */
import { describe, expect, it } from "vitest";
import { bootBareX86, createX86Pc, ENTRY_CR0 } from "../boot/x86_64/pc.js";
import { E820, e820Map } from "../boot/x86_64/memory-map.js";
import { BOOT_INFO_MAGIC } from "../boot/x86_64/firmware.js";
import { ElfError } from "../boot/elf.js";
import { buildAsm, missingBinutils, missingGcc, runIn, cleanup } from "./fixtures/x86_64/build.js";

describe("x86_64-pc memory map", () => {
  it("reports RAM below the EBDA, the EBDA, BIOS area and APIC as reserved, the wakeup mailbox as ACPI NVS, RAM from 1 MiB usable", () => {
    expect(e820Map(128 << 20)).toEqual([
      { base: 0, size: 0x1000, type: E820.USABLE },
      { base: 0x1000, size: 0x9000, type: E820.RESERVED },
      { base: 0xa000, size: 0x1000, type: E820.NVS },
      { base: 0xb000, size: 0x15000, type: E820.RESERVED },
      { base: 0x20000, size: 0x7fc00, type: E820.USABLE },
      { base: 0x9fc00, size: 0x400, type: E820.RESERVED },
      { base: 0xf0000, size: 0x10000, type: E820.RESERVED },
      { base: 0x100000, size: (128 << 20) - 0x100000, type: E820.USABLE },
      { base: 0xfee00000, size: 0x1000, type: E820.RESERVED },
    ]);
  });

  it("puts RAM beyond 3 GiB above 4 GiB", () => {
    const m = e820Map(4 * 1024 ** 3);
    expect(m.at(-1)).toEqual({ base: 0x1_0000_0000, size: 1024 ** 3, type: E820.USABLE });
    expect(m.find((e) => e.base === 0x100000)!.size).toBe(3 * 1024 ** 3 - 0x100000);
  });

  it("has no RAM in the legacy hole: reads there return all ones", () => {
    const pc = createX86Pc();
    expect(pc.machine.bus.find(0xb8000)).toBeUndefined();
    expect(pc.machine.bus.find(0x9ffff)?.ram).toBeDefined();
  });
});

describe.skipIf(missingBinutils !== undefined)("x86_64-pc bare boot", () => {
  it("enters in 64-bit mode at CPL 0 with IF=0, the firmware GDT and identity map, RDI = boot info", () => {
    const { elf, symbols } = buildAsm(`
  .globl _start
_start:
  mov %cr0, %rbp
  mov %cr3, %rbx
  mov %cr4, %rcx
  mov %cs, %edx
  mov %ss, %esi
  pushfq
  pop %r8
  mov (%rdi), %r9d          /* boot-info magic */
  mov 8(%rdi), %r10d        /* e820 entries */
  mov 16(%rdi), %r11        /* table address */
  mov 16(%r11), %r12d       /* first entry's type */
  mov %rsp, %r13
  movabs $0xffff0000, %r14  /* the identity map reaches 4 GiB: this is a hole, reads all ones */
  mov (%r14), %r15d
  mov $0, %al
  out %al, $0xf4
`);
    const pc = createX86Pc();
    bootBareX86(pc, elf);
    expect(pc.cpu.rip).toBe(symbols.get("_start"));
    const r = pc.machine.run({ maxInsns: 100 });
    expect([r.reason, r.exitCode]).toEqual(["exit", 1]);
    const c = pc.cpu;
    expect(c.reg(5)).toBe(BigInt(ENTRY_CR0));
    expect(c.reg(3)).toBe(0x3000n);
    expect(c.reg(1)).toBe(0x20n);
    expect([c.reg(2), c.reg(6)]).toEqual([0x08n, 0x10n]);
    expect(c.reg(8)).toBe(0x2n);
    expect(c.reg(9)).toBe(BigInt(BOOT_INFO_MAGIC));
    expect(c.reg(10)).toBe(BigInt(pc.e820.length));
    expect(c.reg(12)).toBe(1n);
    expect(c.reg(13)).toBe(0x1fff8n);
    expect(c.reg(15)).toBe(0xffffffffn);
    expect(c.mmu.efer & 0x500n).toBe(0x500n);
  });

  it("with la57 the hand-off is in 5-level paging (CR4.LA57, CR3 = the PML5) and the identity map still works", () => {
    const { elf } = buildAsm(`
  .globl _start
_start:
  mov %cr4, %rbx
  mov %cr3, %rcx
  mov 0x100000, %rdx
  mov $0, %al
  out %al, $0xf4
`);
    const pc = createX86Pc({ la57: true });
    bootBareX86(pc, elf);
    expect(pc.machine.run({ maxInsns: 100 }).reason).toBe("exit");
    expect([pc.cpu.reg(3), pc.cpu.reg(1)]).toEqual([0x1020n, 0x9000n]);
    expect(pc.cpu.reg(2)).toBe(pc.machine.bus.read64(0x100000));
  });

  it("writes COM1 output and exits with (value << 1) | 1 through isa-debug-exit", () => {
    const { elf } = buildAsm(`
  .globl _start
_start:
  lea msg(%rip), %rsi
  mov $0x3f8, %dx
1: lodsb
  test %al, %al
  jz 2f
  out %al, %dx
  jmp 1b
2: mov $0x21, %eax
  out %eax, $0xf4
msg: .asciz "hello, x86\\n"
`);
    let out = "";
    const pc = createX86Pc({ console: (b) => { out += String.fromCharCode(b); } });
    bootBareX86(pc, elf);
    const r = pc.machine.run({ maxInsns: 1000 });
    expect(out).toBe("hello, x86\n");
    expect([r.reason, r.exitCode]).toEqual(["exit", 0x43]);
  });

  it("refuses an image that overlaps the firmware area", () => {
    const { elf } = buildAsm("  .globl _start\n_start:\n  hlt\n", 0x10000);
    expect(() => bootBareX86(createX86Pc(), elf)).toThrow(ElfError);
  });

  it("executes an instruction that straddles a page boundary (decoded from both pages)", () => {
    // movabs $imm64, %rax placed so that its immediate continues on the next page.
    const { elf, symbols } = buildAsm(`
  .globl _start
_start:
  jmp insn
  .org 0x1000 - 5
insn:
  movabs $0x1122334455667788, %rax
  mov $0, %al
  out %al, $0xf4
`);
    const pc = createX86Pc();
    bootBareX86(pc, elf);
    expect(Number(symbols.get("insn")!) % 4096).toBe(4096 - 5);
    pc.machine.run({ maxInsns: 100 });
    expect(pc.cpu.reg(0)).toBe(0x1122334455667700n);
  });

  it("sees its own stores to code (self-modifying code)", () => {
    const { elf } = buildAsm(`
  .globl _start
_start:
  lea patch(%rip), %rdi
  mov $3, %ecx
1: movl $7, 1(%rdi)          /* rewrite the immediate of the mov below */
patch:
  mov $1, %ebx
  dec %ecx
  jnz 1b
  mov %bl, %al
  out %al, $0xf4
`);
    const pc = createX86Pc();
    bootBareX86(pc, elf);
    expect(pc.machine.run({ maxInsns: 100 }).exitCode).toBe(15);
  });
});

/** A freestanding C program: sieve, FNV hash with 64-bit IMUL, sort, division, printed on COM1. */
const C_PROGRAM = `
typedef unsigned long u64; typedef unsigned int u32; typedef unsigned char u8;
static u8 sieve[20000];
static u32 arr[500];
static inline void outb(unsigned short p, u8 v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(p)); }
static void puts_(const char *s) { while (*s) outb(0x3f8, *s++); }
static void putn(u64 v) { char b[24]; int i = 23; b[i] = 0; do { b[--i] = '0' + v % 10; v /= 10; } while (v); puts_(b + i); }
static long sdiv(long a, long b) { return a / b; }
void _start(void) {
  long count = 0;
  for (long i = 2; i < 20000; i++) if (!sieve[i]) { count++; for (long j = i * 2; j < 20000; j += i) sieve[j] = 1; }
  u64 h = 1469598103934665603ul;
  for (long i = 0; i < 10000; i++) { h ^= (u8)i; h *= 1099511628211ul; }
  u32 x = 12345; for (int i = 0; i < 500; i++) { x = x * 1103515245 + 12345; arr[i] = x >> 8; }
  for (int i = 1; i < 500; i++) { u32 v = arr[i]; int j = i - 1; while (j >= 0 && arr[j] > v) { arr[j + 1] = arr[j]; j--; } arr[j + 1] = v; }
  puts_("primes "); putn(count); puts_(" hash "); putn(h); puts_(" min "); putn(arr[0]); puts_(" max "); putn(arr[499]);
  puts_(" div "); putn((u64)sdiv(-1000000007L, 13)); puts_("\\n");
  outb(0xf4, 0);
  for (;;) ;
}
`;

describe.skipIf(missingBinutils !== undefined || missingGcc !== undefined)("x86_64 compiled C", () => {
  it("runs a gcc -O2 -mgeneral-regs-only program with the same output with and without the host fast path", () => {
    const built = runIn({ "p.c": C_PROGRAM }, [
      ["gcc", ["-O2", "-ffreestanding", "-fno-pic", "-fno-stack-protector", "-mgeneral-regs-only", "-mno-red-zone", "-nostdlib", "-static", "-Wl,-Ttext-segment=0x100000", "-o", "p.elf", "p.c"]],
    ]);
    try {
      expect(built.status).toBe(0);
      const elf = built.read("p.elf");
      const results = [false, true].map((noFastPath) => {
        let out = "";
        const pc = createX86Pc({ noFastPath, console: (b) => { out += String.fromCharCode(b); } });
        bootBareX86(pc, elf);
        const r = pc.machine.run({ maxInsns: 50_000_000 });
        return { out, r, tlb: pc.cpu.tlbs.stats().fills };
      });
      const expected = "primes 2262 hash " + fnv() + " min " + minMax()[0] + " max " + minMax()[1] + " div " + BigInt.asUintN(64, -1000000007n / 13n) + "\n";
      expect(results[0]!.out).toBe(expected);
      expect(results[1]!.out).toBe(expected);
      expect(results[0]!.r.icount).toBe(results[1]!.r.icount);
      expect(results[0]!.r.exitCode).toBe(1);
    } finally {
      cleanup(built.dir);
    }
  });
});

function fnv(): bigint {
  let h = 1469598103934665603n;
  for (let i = 0n; i < 10000n; i++) h = BigInt.asUintN(64, (h ^ (i & 0xffn)) * 1099511628211n);
  return h;
}

function minMax(): [number, number] {
  let x = 12345;
  const a: number[] = [];
  for (let i = 0; i < 500; i++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; a.push(x >>> 8); }
  return [Math.min(...a), Math.max(...a)];
}
