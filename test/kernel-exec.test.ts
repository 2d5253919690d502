/**
 * exec: loading a static ELF (written by tools/asm's ELF writer, parsed by boot/elf.ts, whose
 * ElfImage the kernel takes structurally as an ElfImageLike), the Linux riscv64 initial stack read
 * back word by word, segment permissions in the page table, the refusals, and finally a process
 * run through the emulator's own MMU and TLB with page faults fed to the kernel's handler.
 */
import { describe, expect, it } from "vitest";
import { EM_RISCV, parseElf } from "../boot/elf.js";
import { CAUSE, PRV_U } from "../emulator/arch/riscv64/defs.js";
import { type Access, FETCH, LOAD, Mmu, RISCV_PAGE_SHIFTS, STORE, SV39 as EMU_SV39 } from "../emulator/arch/riscv64/mmu.js";
import { DEFAULT_TLB, TlbSet } from "../emulator/core/tlb.js";
import { PTE } from "../kernel/arch/riscv64/pte.js";
import type { TlbControl } from "../kernel/hal.js";
import { handlePageFault, isResolved } from "../kernel/mm/fault.js";
import { type FaultAccess, PageFaultError } from "../kernel/mm/fault-info.js";
import { forkMemory } from "../kernel/mm/fork.js";
import { ProcessMemory } from "../kernel/mm/process-memory.js";
import { describeVma, PAGE } from "../kernel/mm/vma.js";
import { AT, type ElfImageLike, type LoadOptions, loadProgram, PF_R, PF_W, PF_X } from "../kernel/proc/exec.js";
import { copyFromUser, readUserString, utf8Decode, utf8Encode } from "../kernel/proc/user-memory.js";
import { writeElf64 } from "../tools/asm/elf-writer.js";
import { fault, newSpace, peek, peek64, procEnv, type ProcEnv } from "./support/process-env.js";

const TEXT_BYTES = Uint8Array.from({ length: 0x180 }, (_, i) => (i * 7 + 1) & 0xff);
const DATA_BYTES = Uint8Array.from({ length: 0x20 }, (_, i) => 0xa0 + i);
const ENTRY = 0x10040n;
const STACK_TOP = 0x3f_ffff_f000n;
const STACK_MAX = 0x10_0000n;
const RANDOM = Uint8Array.from({ length: 16 }, (_, i) => 0xf0 ^ i);

/** Text at 0x10000 (r-x) and data at 0x12010 with 0x20 file bytes and 0x3000 in memory (rw-). */
function program(): ElfImageLike {
  return parseElf(writeElf64({
    machine: EM_RISCV, entry: ENTRY,
    segments: [
      { name: ".text", vaddr: 0x10000n, flags: "rx", bytes: TEXT_BYTES },
      { name: ".data", vaddr: 0x12010n, flags: "rw", bytes: DATA_BYTES, memsz: 0x3000 },
    ],
  }), EM_RISCV);
}

const OPTS: LoadOptions = { argv: ["prog", "-v", "h\u00e9llo"], envp: ["HOME=/", "TERM=vt100"], stackTop: STACK_TOP, stackMax: STACK_MAX, random16: RANDOM };

function loaded(opts: LoadOptions = OPTS): ProcEnv & { sp: bigint; brkStart: bigint } {
  const env = procEnv();
  const r = loadProgram(env.mm, program(), opts);
  if (!r.ok) throw new Error(r.error.message);
  expect(r.entry).toBe(ENTRY);
  return { ...env, sp: r.sp, brkStart: r.brkStart };
}

/** Reads the initial stack as Linux's _start does. */
function readStack(env: ProcEnv, sp: bigint): { argc: bigint; argv: bigint[]; envp: bigint[]; auxv: [bigint, bigint][]; end: bigint } {
  let at = sp;
  const next = (): bigint => { const v = peek64(env, env.mm, at); at += 8n; return v; };
  const argc = next();
  const argv: bigint[] = [];
  for (let p = next(); p !== 0n; p = next()) argv.push(p);
  const envp: bigint[] = [];
  for (let p = next(); p !== 0n; p = next()) envp.push(p);
  const auxv: [bigint, bigint][] = [];
  for (;;) {
    const type = next();
    const value = next();
    auxv.push([type, value]);
    if (type === 0n) break;
  }
  return { argc, argv, envp, auxv, end: at };
}

const str = (env: ProcEnv, va: bigint): string => {
  const r = readUserString(env.mm, va, 4096);
  if (!r.ok) throw new Error(`no string at 0x${va.toString(16)}`);
  return r.value;
};

describe("exec: the initial stack, as Linux lays it out for a static riscv64 ELF", () => {
  it("argc, argv, NULL, envp, NULL, auxv pairs up to AT_NULL; sp 16-byte aligned", () => {
    const env = loaded();
    expect(env.sp % 16n).toBe(0n);
    const s = readStack(env, env.sp);
    expect(s.argc).toBe(3n);
    expect(s.argv.map((p) => str(env, p))).toEqual(OPTS.argv);
    expect(s.envp.map((p) => str(env, p))).toEqual(OPTS.envp);
    const aux = new Map(s.auxv);
    expect(aux.get(BigInt(AT.PAGESZ))).toBe(4096n);
    expect(aux.get(BigInt(AT.ENTRY))).toBe(ENTRY);
    expect(aux.get(BigInt(AT.PHDR))).toBe(0n);
    expect(aux.get(BigInt(AT.SECURE))).toBe(0n);
    expect(copyFromUser(env.mm, aux.get(BigInt(AT.RANDOM))!, 16)).toEqual(RANDOM);
    expect(str(env, aux.get(BigInt(AT.EXECFN))!)).toBe("prog");
    expect(s.auxv.at(-1)).toEqual([0n, 0n]);
    expect(s.auxv.map(([t]) => Number(t))).toEqual([
      AT.HWCAP, AT.PAGESZ, AT.CLKTCK, AT.PHDR, AT.PHENT, AT.PHNUM, AT.BASE, AT.FLAGS, AT.ENTRY,
      AT.UID, AT.EUID, AT.GID, AT.EGID, AT.SECURE, AT.RANDOM, AT.EXECFN, AT.NULL,
    ]);
  });

  it("strings sit at the top in order (argv lowest, then envp, execfn, an 8-byte NULL marker); random bytes below", () => {
    const env = loaded();
    const s = readStack(env, env.sp);
    const strings = [...OPTS.argv, ...OPTS.envp, "prog"];
    const sizes = strings.map((x) => BigInt(utf8Encode(x).length + 1));
    const total = sizes.reduce((a, b) => a + b, 0n);
    expect(s.argv[0]).toBe(STACK_TOP - 8n - total);
    let at = s.argv[0]!;
    const pointers = [...s.argv, ...s.envp, new Map(s.auxv).get(BigInt(AT.EXECFN))!];
    for (const [i, p] of pointers.entries()) {
      expect(p).toBe(at);
      at += sizes[i]!;
    }
    expect(peek64(env, env.mm, STACK_TOP - 8n)).toBe(0n);
    const random = new Map(s.auxv).get(BigInt(AT.RANDOM))!;
    expect(random).toBe((s.argv[0]! & ~15n) - 16n);
    expect(s.end).toBeLessThanOrEqual(random);
    expect(random - s.end).toBeLessThan(16n);
    expect(env.sp).toBe((random - (s.end - env.sp)) & ~15n);
  });

  it("an empty argv and envp still get both NULL terminators", () => {
    const env = loaded({ ...OPTS, argv: [], envp: [] });
    const s = readStack(env, env.sp);
    expect([s.argc, s.argv, s.envp]).toEqual([0n, [], []]);
    expect(str(env, new Map(s.auxv).get(BigInt(AT.EXECFN))!)).toBe("");
  });
});

describe("exec: segments and areas", () => {
  it("one area per segment part, with its permissions in the page table; bss is demand-zero", () => {
    const env = loaded();
    expect(env.mm.vmas.all().map(describeVma)).toEqual([
      "text [0x10000, 0x11000) r-x",
      "data [0x12000, 0x13000) rw-",
      "bss [0x13000, 0x16000) rw-",
      `stack [0x${(env.sp - (env.sp % PAGE)).toString(16)}, 0x3ffffff000) rw-`,
    ]);
    const leaf = (va: bigint): bigint => env.mm.space.walkPageTable(va).at(-1)!.pte;
    const perms = (va: bigint): bigint => leaf(va) & (PTE.V | PTE.R | PTE.W | PTE.X | PTE.U);
    expect(perms(0x10000n)).toBe(PTE.V | PTE.R | PTE.X | PTE.U);
    expect(perms(0x12000n)).toBe(PTE.V | PTE.R | PTE.W | PTE.U);
    expect(perms(STACK_TOP - 8n)).toBe(PTE.V | PTE.R | PTE.W | PTE.U);
    expect(leaf(0x13000n) & PTE.V).toBe(0n);
    expect(peek(env, env.mm, 0x10000n, TEXT_BYTES.length)).toEqual(TEXT_BYTES);
    expect(peek(env, env.mm, 0x12000n, 0x10)).toEqual(new Uint8Array(0x10));
    expect(peek(env, env.mm, 0x12010n, DATA_BYTES.length)).toEqual(DATA_BYTES);
    expect(peek(env, env.mm, 0x12030n, 0xfd0)).toEqual(new Uint8Array(0xfd0));
    expect(fault(env.mm, 0x15008n, "write").kind).toBe("demand-zero");
    expect(peek(env, env.mm, 0x15000n, 16)).toEqual(new Uint8Array(16));
    expect(env.mm.stats.demandZero).toBe(1);
  });

  it("brk starts on the page after the highest segment", () => {
    const env = loaded();
    expect(env.brkStart).toBe(0x16000n);
    expect([env.mm.brkStart, env.mm.brk]).toEqual([0x16000n, 0x16000n]);
    expect(env.mm.setBrk(0x17000n)).toBe(0x17000n);
    expect(fault(env.mm, 0x16000n, "write").kind).toBe("demand-zero");
  });

  it("the stack grows down to its maximum; the page below that is a guard", () => {
    const env = loaded();
    const floor = STACK_TOP - STACK_MAX;
    expect(fault(env.mm, floor, "write").kind).toBe("stack-growth");
    expect(fault(env.mm, floor - 8n, "write")).toMatchObject({ kind: "kill", reason: "guard-page" });
  });

  it("a write to text kills with a report naming the address, the access and the mapping", () => {
    const env = loaded();
    expect(fault(env.mm, 0x10008n, "write")).toMatchObject({ kind: "kill", report: "segfault: write to 0x10008 in text [0x10000, 0x11000) r-x, pc 0x100b0" });
  });
});

describe("exec: refusals", () => {
  const seg = (vaddr: bigint, memsz: number, flags: number, bytes = new Uint8Array(0)): ElfImageLike["segments"][number] => ({ vaddr, memsz, flags, bytes });
  const refused = (segments: ElfImageLike["segments"], opts: Partial<LoadOptions> = {}): string => {
    const env = procEnv();
    const live = env.frames.live;
    const r = loadProgram(env.mm, { entry: ENTRY, segments }, { ...OPTS, ...opts });
    if (r.ok) throw new Error("expected a refusal");
    expect(env.frames.live).toBe(live);
    expect(env.mm.vmas.size).toBe(0);
    return r.error.message;
  };

  it("a writable and executable segment", () => {
    expect(refused([seg(0x10000n, 0x100, PF_R | PF_X), seg(0x12010n, 0x3000, PF_R | PF_W | PF_X)]))
      .toBe("exec: segment 1 [0x12010, 0x15010) is writable and executable");
  });

  it("a segment in kernel space, below the lowest user address, or overlapping another", () => {
    expect(refused([seg(0xffff_ffc0_0000_0000n, 0x100, PF_R)])).toBe("exec: segment 0 [0xffffffc000000000, 0xffffffc000000100) reaches into kernel space (user space ends at 0x4000000000)");
    expect(refused([seg(0x3f_ffff_ff00n, 0x200, PF_R)])).toMatch(/reaches into kernel space/);
    expect(refused([seg(0x1000n, 0x100, PF_R)])).toBe("exec: segment 0 [0x1000, 0x1100) lies below the lowest user address 0x10000");
    expect(refused([seg(0x10000n, 0x1100, PF_R | PF_X), seg(0x11080n, 0x10, PF_R | PF_W)]))
      .toBe("exec: segment 1 [0x11080, 0x11090) overlaps segment 0 [0x10000, 0x11100) (segments may not share a page)");
  });

  it("a stack overlapping a segment, or arguments larger than the stack", () => {
    expect(refused([seg(0x3f_fff0_0000n, 0x100, PF_R)])).toMatch(/^exec: stack \[0x3fffefe000, 0x3ffffff000\) \(guard included\) overlaps segment 0/);
    expect(refused([seg(0x10000n, 0x100, PF_R | PF_X)], { stackMax: PAGE, argv: ["x".repeat(5000)] })).toBe("exec: arguments and environment need 0x2880 bytes of stack, more than the limit 0x1000");
    expect(refused([seg(0x10000n, 0x100, PF_R | PF_X)], { argv: ["a\u0000b"] })).toBe("exec: argv[0] contains a NUL byte");
  });

  it("a process memory that is not empty, and a random seed that is not 16 bytes", () => {
    const env = loaded();
    const r = loadProgram(env.mm, program(), OPTS);
    expect(r.ok || r.error.kind).toBe("NotEmpty");
    expect(() => loadProgram(procEnv().mm, program(), { ...OPTS, random16: new Uint8Array(8) })).toThrow(RangeError);
  });

  it("everything comes back after the process is destroyed", () => {
    const env = loaded();
    fault(env.mm, 0x14000n, "write");
    env.mm.destroy();
    expect(env.frames.live).toBe(0);
  });
});

describe("a process run through the emulator's MMU and TLB", () => {
  const FAULT_ACCESS: Record<number, FaultAccess> = { [CAUSE.INSN_PAGE]: "execute", [CAUSE.LOAD_PAGE]: "read", [CAUSE.STORE_PAGE]: "write" };

  /** ProcessMemory whose TLB maintenance reaches the emulator's TLB, as SFENCE.VMA would. */
  function machine(): ProcEnv & { mmu: Mmu; use: (mm: ProcessMemory) => void } {
    const env = procEnv();
    const tlbs = new TlbSet(DEFAULT_TLB, RISCV_PAGE_SHIFTS);
    const mmu = new Mmu(env.hal.bus, tlbs);
    mmu.mode = EMU_SV39;
    const vpn = (va: bigint): number => Number(BigInt.asUintN(39, va) >> 12n);
    const tlb: TlbControl = {
      flushPage: (va, asid) => { tlbs.invalidate({ kind: "sfence.vma va+asid", vpn: vpn(va), asid, keepGlobal: true }); },
      flushAsid: (asid) => { tlbs.invalidate({ kind: "sfence.vma asid", asid, keepGlobal: true }); },
      flushAll: () => { tlbs.invalidate({ kind: "sfence.vma all" }); },
    };
    const mm = new ProcessMemory({ space: env.mm.space, frames: env.frames, mem: env.hal, tlb, owner: "proc 1" });
    const use = (m: ProcessMemory): void => { mmu.rootPpn = Number(m.space.rootPa >> 12n); mmu.asid = m.space.asid; };
    use(mm);
    return { ...env, mm, mmu, use };
  }

  /** A user access: translate, and on a page fault run the kernel's handler and retry. */
  function access(env: { mmu: Mmu }, mm: ProcessMemory, va: bigint, a: Access, log: string[]): bigint | string {
    for (let attempt = 0; attempt < 3; attempt++) {
      const pa = env.mmu.translate(Number(va & 0xffff_ffffn) | 0, Number(va >> 32n) | 0, a, PRV_U);
      if (pa >= 0) return BigInt(pa);
      const o = handlePageFault(mm, { faultAddr: va, instructionPtr: ENTRY, error: new PageFaultError({ access: FAULT_ACCESS[env.mmu.cause]!, user: true }) });
      log.push(o.kind);
      if (!isResolved(o)) return o.kind === "kill" ? o.report : o.kind;
    }
    throw new Error(`access to 0x${va.toString(16)} still faults after handling`);
  }

  it("fetch, stack and bss accesses, then a fork whose COW protects the child from the parent's stale writable TLB entry", () => {
    const env = machine();
    const r = loadProgram(env.mm, program(), OPTS);
    if (!r.ok) throw new Error(r.error.message);
    const log: string[] = [];
    expect(access(env, env.mm, ENTRY, FETCH, log)).toBe(env.mm.space.translate(ENTRY)!.pa);
    expect(typeof access(env, env.mm, r.sp, LOAD, log)).toBe("bigint");
    const bss = access(env, env.mm, 0x14000n, STORE, log);
    env.hal.writeBytes(Number(bss), utf8Encode("before"));
    expect(access(env, env.mm, 0x10010n, STORE, log)).toBe("segfault: write to 0x10010 in text [0x10000, 0x11000) r-x, pc 0x10040");
    expect(log).toEqual(["demand-zero", "kill"]);

    const f = forkMemory(env.mm, newSpace(env.hal, env.frames, 2), { owner: "proc 2" });
    if (!f.ok) throw new Error(f.error.message);
    const parentPa = access(env, env.mm, 0x14000n, STORE, log);
    expect(log.slice(2)).toEqual(["cow-copy"]);
    env.hal.writeBytes(Number(parentPa), utf8Encode("parent"));
    env.use(f.child);
    const childPa = access(env, f.child, 0x14000n, LOAD, log);
    expect(childPa).toBe(bss);
    expect(utf8Decode(env.hal.readBytes(Number(childPa), 6))).toBe("before");
    expect(access(env, f.child, 0x14000n, STORE, log)).toBe(bss);
    expect(log.slice(3)).toEqual(["cow-reuse"]);
    env.mm.destroy();
    f.child.destroy();
    expect(env.frames.live).toBe(0);
  });
});
