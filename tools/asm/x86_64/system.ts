/**
 * Instructions without a general operand pattern: fixed encodings (HLT, CPUID, SWAPGS...),
 * descriptor-table and TLB instructions (LGDT, LIDT, LTR, INVLPG, INVPCID), bit instructions
 * (BT*, BSF/BSR, TZCNT/LZCNT/POPCNT), NOP and the multi-byte NOPs, string instructions, and
 * IN/OUT.
 *
 * @spec Intel SDM Vol. 2A/2B: LGDT/LIDT/SGDT/SIDT/INVLPG (0F 01 /2 /3 /0 /1 /7), LLDT/LTR (0F 00
 *   /2 /3), INVPCID (66 0F 38 82), BT/BTS/BTR/BTC (0F A3/AB/B3/BB, 0F BA /4–/7), BSF/BSR
 *   (0F BC/BD), TZCNT/LZCNT/POPCNT (F3 0F BC/BD/B8), NOP (90, 0F 1F /0), MOVS/CMPS/STOS/LODS/SCAS
 *   (A4–AF), INS/OUTS (6C–6F), IN/OUT (E4–E7, EC–EF), SWAPGS (0F 01 F8), STAC/CLAC (0F 01 CB/CA).
 */
import {
  arity, emit, type Handler, type Insn, isGpr, isImm, isMem, isRm, mismatch, operandSize, type Size, w, type X86Context,
} from "./forms.js";
import { SEGMENT_PREFIX } from "./registers.js";
import { fail } from "./shared.js";

/** Instructions with no operands and a fixed encoding. */
const FIXED: [string, number[]][] = [
  ["hlt", [0xf4]], ["cli", [0xfa]], ["sti", [0xfb]], ["clc", [0xf8]], ["stc", [0xf9]], ["cld", [0xfc]], ["std", [0xfd]],
  ["cmc", [0xf5]], ["sahf", [0x9e]], ["lahf", [0x9f]], ["int3", [0xcc]], ["int1", [0xf1]],
  ["pause", [0xf3, 0x90]], ["ud2", [0x0f, 0x0b]], ["cpuid", [0x0f, 0xa2]], ["rdtsc", [0x0f, 0x31]],
  ["rdtscp", [0x0f, 0x01, 0xf9]], ["rdmsr", [0x0f, 0x32]], ["wrmsr", [0x0f, 0x30]], ["rdpmc", [0x0f, 0x33]],
  ["swapgs", [0x0f, 0x01, 0xf8]], ["stac", [0x0f, 0x01, 0xcb]], ["clac", [0x0f, 0x01, 0xca]],
  ["endbr64", [0xf3, 0x0f, 0x1e, 0xfa]], ["endbr32", [0xf3, 0x0f, 0x1e, 0xfb]],
  ["mfence", [0x0f, 0xae, 0xf0]], ["lfence", [0x0f, 0xae, 0xe8]], ["sfence", [0x0f, 0xae, 0xf8]],
  ["wbinvd", [0x0f, 0x09]], ["invd", [0x0f, 0x08]], ["clts", [0x0f, 0x06]], ["syscall", [0x0f, 0x05]],
  ["monitor", [0x0f, 0x01, 0xc8]], ["mwait", [0x0f, 0x01, 0xc9]], ["xgetbv", [0x0f, 0x01, 0xd0]], ["xsetbv", [0x0f, 0x01, 0xd1]],
];

function fixed(bytes: number[]): Handler {
  return (insn, ctx) => {
    arity(insn, 0);
    if (insn.suffix !== undefined) fail(`invalid instruction suffix for \`${insn.name}'`);
    ctx.emitBytes([...insn.prefixes, ...bytes]);
  };
}

/** LEAVE: 64-bit by default (`leaveq`), `leavew` for 16-bit. */
const leave: Handler = (insn, ctx) => {
  arity(insn, 0);
  const s = insn.suffix ?? 8;
  if (s !== 8 && s !== 2) fail(`invalid instruction suffix for \`${insn.name}'`);
  emit(ctx, insn, { opcode: [0xc9], size: s, noW: true });
};

/** PUSHF/POPF: 64-bit by default, `w` for 16-bit. */
function flags(opcode: number): Handler {
  return (insn, ctx) => {
    arity(insn, 0);
    const s = insn.suffix ?? 8;
    if (s !== 8 && s !== 2) mismatch(insn);
    emit(ctx, insn, { opcode: [opcode], size: s, noW: true });
  };
}

/**
 * A memory-only operand under `0F op /ext`, or with `reg` also a register: "load" takes any
 * width without a size prefix (LTR, LLDT), "store" writes the register's width (STR, SLDT).
 */
function system(opcode: number[], ext: number, reg?: "load" | "store", suffixes: readonly Size[] = []): Handler {
  return (insn, ctx) => {
    arity(insn, 1);
    const [op] = insn.ops;
    // A memory operand of the LDT/TR instructions is a 16-bit selector: only `w` names its size.
    const allowed = isMem(op) && reg !== undefined ? [2] : suffixes;
    if (insn.suffix !== undefined && !allowed.includes(insn.suffix)) fail(`invalid instruction suffix for \`${insn.name}'`);
    if (isMem(op)) return emit(ctx, insn, { opcode, reg: ext, rm: op });
    if (!reg || !isGpr(op) || op.reg.size === 1 || (reg === "load" && op.reg.size !== 2)) mismatch(insn);
    const size = operandSize(insn, [op]);
    emit(ctx, insn, { opcode, reg: ext, rm: op, size: reg === "store" && size === 2 ? 2 : undefined });
  };
}

const invpcid: Handler = (insn, ctx) => {
  arity(insn, 2);
  const [m, r] = insn.ops;
  if (!isMem(m) || !isGpr(r) || r.reg.size !== 8) mismatch(insn);
  emit(ctx, insn, { opcode: [0x0f, 0x38, 0x82], mandatory: 0x66, reg: r.reg, rm: m });
};

/** BT/BTS/BTR/BTC: `reg, rm` (0F op) or `$imm8, rm` (0F BA /ext). */
function bitTest(op: number, ext: number): Handler {
  return (insn, ctx) => {
    arity(insn, 2);
    const [src, dst] = insn.ops;
    if (!isRm(dst)) mismatch(insn);
    if (isImm(src)) {
      const size = operandSize(insn, [dst], 4);
      if (size === 1) mismatch(insn);
      return emit(ctx, insn, { opcode: [0x0f, 0xba], size, reg: ext, rm: dst, imms: [{ expr: src.expr, size: 1, range: "any" }] });
    }
    if (!isGpr(src)) mismatch(insn);
    const size = operandSize(insn, [src, dst]);
    if (size === 1) mismatch(insn);
    emit(ctx, insn, { opcode: [0x0f, op], size, reg: src.reg, rm: dst });
  };
}

/** BSF/BSR/TZCNT/LZCNT/POPCNT: `rm, reg`, 16/32/64-bit. */
function bitScan(op: number, mandatory?: number): Handler {
  return (insn, ctx) => {
    arity(insn, 2);
    const [src, dst] = insn.ops;
    if (!isRm(src) || !isGpr(dst)) mismatch(insn);
    const size = operandSize(insn, [src, dst]);
    if (size === 1) mismatch(insn);
    emit(ctx, insn, { opcode: [0x0f, op], size, mandatory, reg: dst.reg, rm: src });
  };
}

/** NOP: 90 without operands, 0F 1F /0 with one (`nopw`, `nopl 0(%rax)`). */
const nop: Handler = (insn, ctx) => {
  arity(insn, 0, 1);
  const [op] = insn.ops;
  if (op === undefined) {
    if (insn.suffix !== undefined) mismatch(insn);
    return emit(ctx, insn, { opcode: [0x90] });
  }
  if (!isRm(op)) mismatch(insn);
  const size = operandSize(insn, [op], 4);
  if (size === 1) mismatch(insn);
  emit(ctx, insn, { opcode: [0x0f, 0x1f], size, reg: 0, rm: op });
};

/**
 * String instructions (`stosb`, `rep movsq`, `stos %al, (%rdi)`): the size comes from the
 * suffix or the accumulator operand; explicit memory operands only document the implicit
 * `(%rsi)`/`(%rdi)` ones, but give the source a segment override and 32-bit registers the 0x67
 * prefix. (The destination `%es:(%rdi)` cannot be overridden: GNU refuses a segment on a
 * `%rdi`-based operand.)
 */
function stringOp(byteOp: number): Handler {
  return (insn, ctx) => {
    arity(insn, 0, 1, 2);
    const prefixes: number[] = [];
    const accs: Insn["ops"] = [];
    for (const o of insn.ops) {
      if (isGpr(o) && !o.star && (o.reg.num === 0 || o.reg.name === "dx")) {
        if (o.reg.name !== "dx") accs.push(o);
        continue;
      }
      // GNU takes any based memory operand here (index and displacement are ignored).
      if (!isMem(o) || o.star || !o.base || o.base.kind !== "gpr") mismatch(insn);
      if (o.base.size === 4 && !prefixes.includes(0x67)) prefixes.push(0x67);
      if (o.base.num === 7 && o.seg && o.seg.name !== "es") fail(`\`%${o.seg.name}' cannot override the destination segment of \`${insn.name}'`);
      if (o.base.num !== 7 && o.seg && o.seg.name !== "ds") prefixes.push(SEGMENT_PREFIX[o.seg.num]!);
    }
    const size: Size = operandSize(insn, accs, 4);
    const port = byteOp === 0x6c || byteOp === 0x6e;
    // INS/OUTS written with operands need both the memory operand and the port `(%dx)`.
    if (port && (size === 8 || (insn.ops.length > 0 && (insn.ops.length !== 2 || !insn.ops.some(isDx))))) mismatch(insn);
    emit(ctx, insn, { opcode: [w(byteOp, size)], size, prefixes });
  };
}

/** The accumulator operand of IN/OUT: %al, %ax or %eax. */
function accumulator(insn: Insn, o: Insn["ops"][number] | undefined): Size {
  if (o === undefined) {
    const s = insn.suffix ?? 4;
    if (s === 8) mismatch(insn);
    return s;
  }
  if (!isGpr(o) || o.reg.num !== 0 || o.reg.size === 8) mismatch(insn);
  return operandSize(insn, [o]);
}

const isDx = (o: Insn["ops"][number] | undefined): boolean => isGpr(o) && o.reg.name === "dx";

/** IN port, acc (`in $0x60, %al`, `in %dx, %eax`, `inb %dx`). */
const inPort: Handler = (insn, ctx) => portIo(insn, ctx, insn.ops[0], insn.ops[1], 0xe4, 0xec);
/** OUT acc, port. */
const outPort: Handler = (insn, ctx) => portIo(insn, ctx, insn.ops[1] ?? insn.ops[0], insn.ops.length === 2 ? insn.ops[0] : undefined, 0xe6, 0xee);

function portIo(insn: Insn, ctx: X86Context, port: Insn["ops"][number] | undefined, acc: Insn["ops"][number] | undefined, immOp: number, dxOp: number): void {
  arity(insn, 1, 2);
  const size = accumulator(insn, acc);
  if (isImm(port)) return emit(ctx, insn, { opcode: [w(immOp, size)], size, imms: [{ expr: port.expr, size: 1, range: "u" }] });
  if (!isDx(port)) mismatch(insn);
  emit(ctx, insn, { opcode: [w(dxOp, size)], size });
}

/** Handlers of this file by base mnemonic. */
export const SYSTEM_HANDLERS: [string, Handler][] = [
  ...FIXED.map(([n, bytes]): [string, Handler] => [n, fixed(bytes)]),
  ["pushf", flags(0x9c)], ["popf", flags(0x9d)], ["leave", leave],
  ["sgdt", system([0x0f, 0x01], 0, undefined, [8])], ["sidt", system([0x0f, 0x01], 1, undefined, [8])],
  ["lgdt", system([0x0f, 0x01], 2, undefined, [8])], ["lidt", system([0x0f, 0x01], 3, undefined, [8])],
  ["invlpg", system([0x0f, 0x01], 7)], ["clflush", system([0x0f, 0xae], 7)],
  ["sldt", system([0x0f, 0x00], 0, "store", [2, 4, 8])], ["str", system([0x0f, 0x00], 1, "store", [2, 4, 8])],
  ["lldt", system([0x0f, 0x00], 2, "load", [2])], ["ltr", system([0x0f, 0x00], 3, "load", [2])],
  ["invpcid", invpcid],
  ["bt", bitTest(0xa3, 4)], ["bts", bitTest(0xab, 5)], ["btr", bitTest(0xb3, 6)], ["btc", bitTest(0xbb, 7)],
  ["bsf", bitScan(0xbc)], ["bsr", bitScan(0xbd)],
  ["tzcnt", bitScan(0xbc, 0xf3)], ["lzcnt", bitScan(0xbd, 0xf3)], ["popcnt", bitScan(0xb8, 0xf3)],
  ["nop", nop],
  ["movs", stringOp(0xa4)], ["cmps", stringOp(0xa6)], ["stos", stringOp(0xaa)], ["lods", stringOp(0xac)], ["scas", stringOp(0xae)],
  ["ins", stringOp(0x6c)], ["outs", stringOp(0x6e)],
  ["in", inPort], ["out", outPort],
];
