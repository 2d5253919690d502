/**
 * Control transfer: JMP and Jcc (relaxable, short or near as GNU as chooses), CALL, RET, the
 * indirect forms (`jmp *%rax`, `call *8(%rbx)`), LOOP/JRCXZ, INT/INT3, IRET, SYSCALL/SYSRET.
 *
 * @spec Intel SDM Vol. 2A/2B: JMP (EB, E9, FF/4), Jcc (70+cc, 0F 80+cc), CALL (E8, FF/2),
 *   RET (C3, C2 iw), LOOP/LOOPcc (E0–E2), JRCXZ (E3), INT n / INT3 (CD ib, CC), IRET (CF),
 *   SYSCALL (0F 05), SYSRET (0F 07, REX.W for the 64-bit return).
 */
import { arity, emit, type Handler, type Insn, isGpr, isImm, isMem, mismatch, operandSize, type X86Context } from "./forms.js";

/** Condition codes by name (the low nibble of Jcc/SETcc/CMOVcc). @spec Intel SDM Vol. 1 Appendix B */
export const CONDITIONS: ReadonlyMap<string, number> = new Map([
  ["o", 0], ["no", 1], ["b", 2], ["c", 2], ["nae", 2], ["ae", 3], ["nb", 3], ["nc", 3], ["e", 4], ["z", 4],
  ["ne", 5], ["nz", 5], ["be", 6], ["na", 6], ["a", 7], ["nbe", 7], ["s", 8], ["ns", 9], ["p", 10], ["pe", 10],
  ["np", 11], ["po", 11], ["l", 12], ["nge", 12], ["ge", 13], ["nl", 13], ["le", 14], ["ng", 14], ["g", 15], ["nle", 15],
]);

/**
 * `jmp *%rax`, `call *8(%rbx)`: FF with extension `ext`, a 64-bit operand by default, 16-bit
 * with `%ax`-sized registers or the `w` suffix (0x66).
 */
function indirect(insn: Insn, ctx: X86Context, ext: number): boolean {
  const [op] = insn.ops;
  // Without `*', GNU still reads a register or a based memory operand as indirect (it warns).
  if (!isGpr(op) && !(isMem(op) && (op.star || op.base || op.index))) return false;
  const size = operandSize(insn, [op], 8);
  if (size !== 8 && size !== 2) mismatch(insn);
  emit(ctx, insn, { opcode: [0xff], size, noW: true, reg: ext, rm: op });
  return true;
}

/** The target of a direct branch: a memory-shaped operand that is only an expression. */
function target(insn: Insn): NonNullable<(Insn["ops"][number] & { k: "mem" })["disp"]> {
  const [op] = insn.ops;
  // A segment override on a direct target is ignored, as by GNU.
  if (!isMem(op) || op.star || op.base || op.index || op.disp === undefined) mismatch(insn);
  return op.disp;
}

const jmp: Handler = (insn, ctx) => {
  arity(insn, 1);
  if (indirect(insn, ctx, 4)) return;
  if (insn.prefixes.length > 0 || insn.suffix !== undefined) mismatch(insn);
  ctx.branch({ cond: null, target: target(insn) });
};

function jcc(cc: number): Handler {
  return (insn, ctx) => {
    arity(insn, 1);
    if (insn.prefixes.length > 0) mismatch(insn);
    ctx.branch({ cond: cc, target: target(insn) });
  };
}

const call: Handler = (insn, ctx) => {
  arity(insn, 1);
  if (indirect(insn, ctx, 2)) return;
  // GNU takes `callq label` (what clang -O0 writes) but not `jmpq label`; `callw` is not supported.
  if (insn.suffix !== undefined && insn.suffix !== 8) mismatch(insn);
  ctx.emit({ opcode: [0xe8], prefixes: insn.prefixes, pcrel: { expr: target(insn), size: 4 } });
};

/** LOOP, LOOPE, LOOPNE, JRCXZ: rel8 only (an out-of-reach target is an error, as in GNU as). */
function rel8(opcode: number): Handler {
  return (insn, ctx) => {
    arity(insn, 1);
    ctx.emit({ opcode: [opcode], prefixes: insn.prefixes, pcrel: { expr: target(insn), size: 1 } });
  };
}

/**
 * RET (near, 64-bit by default; `retw` pops a 16-bit address) and LRET (far, 32-bit by
 * default; `lretq` REX.W, `lretw` 16-bit): no operand, or `$imm16` bytes to pop.
 */
function ret(plain: number, far: boolean): Handler {
  return (insn, ctx) => {
    arity(insn, 0, 1);
    const s = insn.suffix ?? (far ? 4 : 8);
    if (s === 1 || (!far && s === 4)) mismatch(insn);
    const size = s === 2 ? 2 : far && s === 8 ? 8 : undefined;
    const [n] = insn.ops;
    if (n === undefined) return emit(ctx, insn, { opcode: [plain], size });
    if (!isImm(n)) mismatch(insn);
    emit(ctx, insn, { opcode: [plain - 1], size, imms: [{ expr: n.expr, size: 2, range: "any" }] });
  };
}

/** INT n: GNU writes `int $3` as INT3 (CC). */
const int: Handler = (insn, ctx) => {
  arity(insn, 1);
  const [n] = insn.ops;
  if (!isImm(n)) mismatch(insn);
  if (ctx.constValue(n.expr) === 3n) return emit(ctx, insn, { opcode: [0xcc] });
  emit(ctx, insn, { opcode: [0xcd], imms: [{ expr: n.expr, size: 1, range: "any" }] });
};

/** IRET (CF) and SYSRET (0F 07): the `q` suffix returns to 64-bit code (REX.W), `w` (IRET only) is 16-bit. */
function sizedReturn(opcode: number[], allowWord: boolean): Handler {
  return (insn, ctx) => {
    arity(insn, 0);
    const s = insn.suffix ?? 4;
    if (s === 1 || (s === 2 && !allowWord)) mismatch(insn);
    emit(ctx, insn, { opcode, size: s === 4 ? undefined : s });
  };
}

/** Handlers of this file by base mnemonic. */
export const CONTROL_HANDLERS: [string, Handler][] = [
  ["jmp", jmp], ["call", call], ["ret", ret(0xc3, false)], ["lret", ret(0xcb, true)],
  ...[...CONDITIONS].map(([c, n]): [string, Handler] => [`j${c}`, jcc(n)]),
  ["loop", rel8(0xe2)], ["loope", rel8(0xe1)], ["loopz", rel8(0xe1)], ["loopne", rel8(0xe0)], ["loopnz", rel8(0xe0)],
  ["jrcxz", rel8(0xe3)],
  ["int", int],
  ["iret", sizedReturn([0xcf], true)], ["sysret", sizedReturn([0x0f, 0x07], false)],
];
