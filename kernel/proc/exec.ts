/**
 * Loading a static ELF program into a fresh process memory, as Linux `execve` does for a static
 * riscv64 executable (fs/binfmt_elf.c `load_elf_binary`, `create_elf_tables`; fs/exec.c
 * `setup_arg_pages`, `copy_strings`).
 *
 * - One area per PT_LOAD with the segment's permissions: the file part is copied into fresh frames
 *   (eager loading), the rest of its last page is zero; memory beyond that (bss) is a demand-zero
 *   area. Segments in kernel space, overlapping segments and W+X segments are refused; a segment
 *   that grants no access is PROT_NONE (its loaded frames parked, see loadPages).
 * - The heap (brk) starts at the first page boundary above the highest segment.
 * - The stack is an area `[pageDown(sp), stackTop)` that grows down to `stackTop - stackMax`, with a
 *   guard page below that. Its initial contents, from `stackTop` down:
 *
 * ```
 *  stackTop →  8 zero bytes                       (end marker)
 *              execfn string                       (AT_EXECFN points here)
 *              envp strings, envp[m-1] highest
 *              argv strings, argv[0] lowest
 *              (align 16)
 *              16 random bytes                     (AT_RANDOM points here)
 *              (padding to make sp 16-byte aligned)
 *              auxv: (type, value) pairs ending with (AT_NULL, 0)
 *              envp[0..m-1], NULL
 *              argv[0..n-1], NULL
 *  sp →        argc
 * ```
 * No vDSO (AT_SYSINFO_EHDR) and no cache-geometry entries are provided; AT_PHDR is 0 and AT_PHNUM
 * 0 unless the image says where its program headers are mapped (static libcs then find them
 * through __ehdr_start).
 *
 * `kernel/` may not import `boot/`, so the image is taken as an {@link ElfImageLike}, which boot's
 * parsed `ElfImage` satisfies structurally.
 */
import { MemoryFlags as F, type MemoryFlags } from "../mm/flags.js";
import { type ProcessMemory, pteFlags } from "../mm/process-memory.js";
import { hex } from "../mm/safety.js";
import { describeVma, PAGE, pageDown, pageUp, type Vma, type VmaKind } from "../mm/vma.js";
import type { ArchPaging } from "../mm/vm/arch.js";
import { copyToUser, utf8Encode } from "./user-memory.js";

/** The parts of a parsed ELF executable the loader needs (boot/elf.ts `ElfImage` fits). */
export interface ElfImageLike {
  readonly entry: bigint;
  /** PT_LOAD segments in program-header order. */
  readonly segments: readonly {
    readonly vaddr: bigint;
    readonly memsz: number;
    /** PF_X=1, PF_W=2, PF_R=4. */
    readonly flags: number;
    /** The file bytes (filesz = length). */
    readonly bytes: Uint8Array;
  }[];
  /** Where the program headers are mapped, if known (for AT_PHDR / AT_PHENT / AT_PHNUM). */
  readonly programHeaders?: { readonly vaddr: bigint; readonly count: number; readonly entrySize: number };
}

/** ELF program-header flag bits. */
export const PF_X = 1, PF_W = 2, PF_R = 4;

/** Auxiliary-vector types (include/uapi/linux/auxvec.h). */
export const AT = {
  NULL: 0, PHDR: 3, PHENT: 4, PHNUM: 5, PAGESZ: 6, BASE: 7, FLAGS: 8, ENTRY: 9,
  UID: 11, EUID: 12, GID: 13, EGID: 14, HWCAP: 16, CLKTCK: 17, SECURE: 23, RANDOM: 25, EXECFN: 31,
} as const;

export interface LoadOptions {
  readonly argv: readonly string[];
  readonly envp: readonly string[];
  /** One past the highest stack byte (page-aligned, in user space). */
  readonly stackTop: bigint;
  /** The most bytes the stack may occupy (a page multiple, like RLIMIT_STACK); a guard page lies below. */
  readonly stackMax: bigint;
  /** The 16 bytes AT_RANDOM points at (libc's stack-protector and pointer-guard seed). */
  readonly random16: Uint8Array;
  /** The name AT_EXECFN points at. Default argv[0], or "". */
  readonly execfn?: string;
  /** AT_HWCAP (RISC-V: one bit per single-letter extension). Default 0. */
  readonly hwcap?: bigint;
}

export interface ExecError {
  readonly kind: "BadSegment" | "BadStack" | "BadArguments" | "NotEmpty" | "OutOfMemory";
  /** "exec: …", naming the offending segment, range or argument. */
  readonly message: string;
}

export type ExecResult =
  | { readonly ok: true; readonly entry: bigint; /** Points at argc. */ readonly sp: bigint; readonly brkStart: bigint }
  | { readonly ok: false; readonly error: ExecError };

const fail = (kind: ExecError["kind"], message: string): ExecResult => ({ ok: false, error: { kind, message } });
const range = (a: bigint, b: bigint): string => `[${hex(a)}, ${hex(b)})`;

/**
 * Loads `image` into the empty process memory `mm` and builds its initial stack. Everything is
 * checked before anything is mapped; only OutOfMemory can leave a partial image, which the caller
 * discards by destroying `mm` (exec is past the point of no return then).
 * Throws RangeError if `random16` is not 16 bytes.
 *
 * @example
 * ```ts
 * const r = loadProgram(mm, parseElf(bytes, EM_RISCV), { argv: ["hello"], envp: [], stackTop: 0x40_0000_0000n - 0x1000n,
 *   stackMax: 8n << 20n, random16 });
 * if (r.ok) { hart.pc = r.entry; hart.x[2] = r.sp; }
 * ```
 */
export function loadProgram(mm: ProcessMemory, image: ElfImageLike, opts: LoadOptions): ExecResult {
  if (opts.random16.length !== 16) throw new RangeError(`loadProgram: random16 has ${opts.random16.length} bytes, not 16`);
  if (mm.vmas.size !== 0) return fail("NotEmpty", `exec: the process memory already has ${mm.vmas.size} area(s)`);
  const planned = planSegments(mm, image);
  if (!Array.isArray(planned)) return planned;

  const { stackTop, stackMax } = opts;
  if (stackTop % PAGE !== 0n || stackTop > mm.userEnd || stackMax % PAGE !== 0n || stackMax <= 0n || stackTop - stackMax - PAGE < mm.minAddress) {
    return fail("BadStack", `exec: stack top ${hex(stackTop)} with limit ${hex(stackMax)} is not a page-aligned range inside user space [${hex(mm.minAddress)}, ${hex(mm.userEnd)})`);
  }
  const stackFloor = stackTop - stackMax;
  for (const p of planned) {
    if (p.vma.end > stackFloor - PAGE && p.vma.start < stackTop) {
      return fail("BadStack", `exec: stack ${range(stackFloor - PAGE, stackTop)} (guard included) overlaps ${p.label}`);
    }
  }
  const built = buildStack(image, opts);
  if ("kind" in built) return { ok: false, error: built };
  const sp = stackTop - BigInt(built.bytes.length);
  if (stackTop - pageDown(sp) > stackMax) {
    return fail("BadArguments", `exec: arguments and environment need ${hex(stackTop - sp)} bytes of stack, more than the limit ${hex(stackMax)}`);
  }

  let brkStart = 0n;
  for (const p of planned) {
    const r = mm.vmas.insert(p.vma);
    if (!r.ok) return fail("BadSegment", `exec: ${r.error.message}`);
    if (p.vma.end > brkStart) brkStart = p.vma.end;
  }
  for (const p of planned) {
    if (p.bytes === undefined) continue;
    const loaded = loadPages(mm, p.vma, p.vaddr, p.bytes);
    if (loaded !== undefined) return fail("OutOfMemory", `exec: out of memory loading ${loaded}`);
  }
  const stack: Vma = { start: pageDown(sp), end: stackTop, flags: F.userRw(), kind: "stack", name: "stack", grows: "down", limit: stackFloor, guard: PAGE };
  const r = mm.vmas.insert(stack);
  if (!r.ok) return fail("BadStack", `exec: ${r.error.message}`);
  for (let va = stack.start; va < stack.end; va += PAGE) {
    if (mm.allocatePage(va, pteFlags(stack.flags, false)) === undefined) return fail("OutOfMemory", `exec: out of memory building the stack at ${hex(va)}`);
  }
  if (!copyToUser(mm, sp, built.bytes)) throw new Error(`loadProgram: the new stack ${range(sp, stackTop)} is not writable`);
  mm.brkStart = brkStart;
  mm.brk = brkStart;
  return { ok: true, entry: image.entry, sp, brkStart };
}

/** An area to create, with the file bytes to load at `vaddr` for file-backed ones. */
interface PlannedArea {
  readonly vma: Vma;
  readonly vaddr: bigint;
  readonly bytes: Uint8Array | undefined;
  /** "segment 1 [0x…, 0x…)" for messages. */
  readonly label: string;
}

/** Checks every segment and turns it into one or two areas (file part, bss), or the refusal. */
function planSegments(mm: ProcessMemory, image: ElfImageLike): PlannedArea[] | ExecResult {
  const out: PlannedArea[] = [];
  const spans: { start: bigint; end: bigint; label: string }[] = [];
  for (const [i, s] of image.segments.entries()) {
    const filesz = s.bytes.length;
    if (s.memsz === 0) continue;
    const end = s.vaddr + BigInt(s.memsz);
    const label = `segment ${i} ${range(s.vaddr, end)}`;
    if (filesz > s.memsz) return fail("BadSegment", `exec: ${label} has ${hex(filesz)} file bytes, more than its size`);
    if (s.vaddr < 0n || end > mm.userEnd) return fail("BadSegment", `exec: ${label} reaches into kernel space (user space ends at ${hex(mm.userEnd)})`);
    if (s.vaddr < mm.minAddress) return fail("BadSegment", `exec: ${label} lies below the lowest user address ${hex(mm.minAddress)}`);
    if ((s.flags & PF_W) !== 0 && (s.flags & PF_X) !== 0) return fail("BadSegment", `exec: ${label} is writable and executable`);
    const start = pageDown(s.vaddr);
    const top = pageUp(end);
    for (const o of spans) {
      if (start < o.end && o.start < top) return fail("BadSegment", `exec: ${label} overlaps ${o.label} (segments may not share a page)`);
    }
    spans.push({ start, end: top, label });

    const flags = segmentFlags(mm, s.flags);
    const kind: VmaKind = (s.flags & PF_X) !== 0 ? "text" : "data";
    const name = kind === "text" ? "text" : (s.flags & PF_W) !== 0 ? "data" : "rodata";
    const fileTop = pageUp(s.vaddr + BigInt(filesz));
    if (filesz > 0) out.push({ vma: { start, end: fileTop, flags, kind, name }, vaddr: s.vaddr, bytes: s.bytes, label });
    const bssStart = filesz > 0 ? fileTop : start;
    if (top > bssStart) out.push({ vma: { start: bssStart, end: top, flags, kind: "bss", name: "bss" }, vaddr: bssStart, bytes: undefined, label });
  }
  return out;
}

/** MemoryFlags of an area for ELF p_flags. */
function segmentFlags(mm: ProcessMemory, pf: number): MemoryFlags {
  return userFlags(mm.space.arch, F.USER | (pf & PF_R ? F.READ : 0) | (pf & PF_W ? F.WRITE : 0) | (pf & PF_X ? F.EXECUTE : 0));
}

/**
 * The flags a user mapping asking for `flags` gets: READ is added to an execute-only request where
 * the page-table format cannot express one (x86_64, where a present page is always readable), as
 * Linux's x86 protection_map maps PROT_EXEC alone to PAGE_READONLY_EXEC. Found by the x86_64 syscall
 * fuzz suite: mprotect(addr, 1, PROT_EXEC) made the page-table code refuse the leaf (a kernel oops).
 * @spec Linux arch/x86/mm/pgprot.c protection_map ([VM_EXEC] = PAGE_READONLY_EXEC); SDM Vol. 3A §4.6
 */
export function userFlags(arch: ArchPaging, flags: MemoryFlags): MemoryFlags {
  return arch.execOnly === false && (flags & F.EXECUTE) !== 0 ? flags | F.READ : flags;
}

/**
 * Fills the pages of `vma` with `bytes` placed at `vaddr`; the description of the failing page on OOM.
 * A segment whose p_flags grant no access (no R, W or X) is PROT_NONE, as Linux maps it: its pages
 * are filled through a readable mapping and then parked, as mprotect(PROT_NONE) leaves pages
 * (kernel/mm/process-memory.ts: XWR=000 cannot be a leaf), so a later mprotect finds the file's bytes.
 */
function loadPages(mm: ProcessMemory, vma: Vma, vaddr: bigint, bytes: Uint8Array): string | undefined {
  const fileEnd = vaddr + BigInt(bytes.length);
  const none = (vma.flags & (F.READ | F.WRITE | F.EXECUTE)) === 0;
  const flags = pteFlags(none ? F.USER | F.READ : vma.flags, false);
  for (let page = vma.start; page < vma.end; page += PAGE) {
    const pa = mm.allocatePage(page, flags);
    if (pa === undefined) return `${hex(page)} of ${describeVma(vma)}`;
    const from = page > vaddr ? page : vaddr;
    const to = page + PAGE < fileEnd ? page + PAGE : fileEnd;
    if (to > from) mm.mem.writeBytes(pa + Number(from - page), bytes.subarray(Number(from - vaddr), Number(to - vaddr)));
    if (none) mm.parked.set(page, mm.takePage(page)!);
  }
  return undefined;
}

/** The initial stack image (its last byte just below stackTop), or the refusal. */
function buildStack(image: ElfImageLike, opts: LoadOptions): { bytes: Uint8Array } | ExecError {
  const enc = (list: readonly string[], what: string): Uint8Array[] | ExecError => {
    const out: Uint8Array[] = [];
    for (const [i, s] of list.entries()) {
      const b = utf8Encode(s);
      if (b.includes(0)) return { kind: "BadArguments", message: `exec: ${what}[${i}] contains a NUL byte` };
      out.push(b);
    }
    return out;
  };
  const argv = enc(opts.argv, "argv");
  if (!Array.isArray(argv)) return argv;
  const envp = enc(opts.envp, "envp");
  if (!Array.isArray(envp)) return envp;
  const execfn = utf8Encode(opts.execfn ?? opts.argv[0] ?? "");
  if (execfn.includes(0)) return { kind: "BadArguments", message: "exec: execfn contains a NUL byte" };

  // Offsets are measured downwards from stackTop ("depth"), then turned into addresses.
  const top = opts.stackTop;
  let depth = 8n + BigInt(execfn.length + 1);
  const execfnAt = top - depth;
  const strings = [...argv, ...envp];
  const stringBytes = strings.reduce((n, b) => n + BigInt(b.length + 1), 0n);
  depth += stringBytes;
  const stringsAt = top - depth;
  const randomAt = (stringsAt & ~15n) - 16n;
  const ph = image.programHeaders;
  const auxv: [number, bigint][] = [
    [AT.HWCAP, opts.hwcap ?? 0n], [AT.PAGESZ, PAGE], [AT.CLKTCK, 100n],
    [AT.PHDR, ph?.vaddr ?? 0n], [AT.PHENT, BigInt(ph?.entrySize ?? 56)], [AT.PHNUM, BigInt(ph?.count ?? 0)],
    [AT.BASE, 0n], [AT.FLAGS, 0n], [AT.ENTRY, image.entry],
    [AT.UID, 0n], [AT.EUID, 0n], [AT.GID, 0n], [AT.EGID, 0n], [AT.SECURE, 0n],
    [AT.RANDOM, randomAt], [AT.EXECFN, execfnAt], [AT.NULL, 0n],
  ];
  const words = 1 + (argv.length + 1) + (envp.length + 1) + 2 * auxv.length;
  const sp = (randomAt - 8n * BigInt(words)) & ~15n;

  const bytes = new Uint8Array(Number(top - sp));
  const view = new DataView(bytes.buffer);
  const at = (va: bigint): number => Number(va - sp);
  let w = sp;
  const word = (v: bigint): void => { view.setBigUint64(at(w), v, true); w += 8n; };
  word(BigInt(argv.length));
  let s = stringsAt;
  for (const [i, b] of strings.entries()) {
    if (i === argv.length) word(0n);
    word(s);
    bytes.set(b, at(s));
    s += BigInt(b.length + 1);
  }
  if (argv.length === strings.length) word(0n);
  word(0n);
  for (const [type, value] of auxv) { word(BigInt(type)); word(value); }
  bytes.set(opts.random16, at(randomAt));
  bytes.set(execfn, at(execfnAt));
  return { bytes };
}
