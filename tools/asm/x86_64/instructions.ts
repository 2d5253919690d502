/**
 * The mnemonic table and the resolution of a statement to a handler: prefixes written before
 * the mnemonic (`lock`, `rep`...), exact mnemonics first (`cltq`, `movzbl`, `setb`), then the
 * base name plus an AT&T size suffix b/w/l/q (`addq`, `movsl`, `pushw`), as GNU as does.
 */
import { ALU_HANDLERS } from "./alu.js";
import { CONDITIONS, CONTROL_HANDLERS } from "./control.js";
import { type Handler, type Insn, SUFFIX_SIZE, type X86Context } from "./forms.js";
import { cmov, MOV_HANDLERS, setcc } from "./mov.js";
import { type Operand, parseOperand, splitOperands } from "./operands.js";
import { type Expr, fail, SourceError } from "./shared.js";
import { SYSTEM_HANDLERS } from "./system.js";

const TABLE = new Map<string, Handler>([
  ...ALU_HANDLERS, ...MOV_HANDLERS, ...CONTROL_HANDLERS, ...SYSTEM_HANDLERS,
  ...[...CONDITIONS].flatMap(([c, n]): [string, Handler][] => [[`set${c}`, setcc(n)], [`cmov${c}`, cmov(n)]]),
]);

/** LOCK: the instruction's memory access is atomic. */
const LOCK = 0xf0;
/** CET: an indirect jmp/call that need not land on ENDBR64 (the DS override byte). */
const NOTRACK = 0x3e;

/** Prefix mnemonics and their bytes. @spec Intel SDM Vol. 2A §2.1.1 (groups 1 and 3, 4) */
export const PREFIXES: ReadonlyMap<string, number> = new Map([
  ["lock", 0xf0], ["rep", 0xf3], ["repe", 0xf3], ["repz", 0xf3], ["repne", 0xf2], ["repnz", 0xf2],
  ["data16", 0x66], ["notrack", NOTRACK],
]);

/** Instructions LOCK may precede. @spec Intel SDM Vol. 2A LOCK ("the LOCK prefix can be prepended only to...") */
const LOCKABLE = new Set(["add", "adc", "and", "btc", "btr", "bts", "cmpxchg", "cmpxchg8b", "cmpxchg16b", "dec", "inc", "neg", "not",
  "or", "sbb", "sub", "xadd", "xchg", "xor"]);

/** LOCK needs a lockable instruction whose destination (for XCHG: either operand) is memory, as GNU checks. */
function lockable(insn: Insn): boolean {
  if (!LOCKABLE.has(insn.name)) return false;
  const last = insn.ops[insn.ops.length - 1];
  return insn.name === "xchg" ? insn.ops.some((o) => o.k === "mem") : last?.k === "mem";
}

/** Every mnemonic the assembler accepts without a suffix, sorted (suffixed forms are base + b/w/l/q). */
export function mnemonics(): string[] {
  return [...TABLE.keys(), ...PREFIXES.keys()].sort();
}

/** Mnemonics GNU as takes only as written: no size suffix may be added to them. */
const NO_SUFFIX = new Set([
  "movzbw", "movzbl", "movzbq", "movzwl", "movzwq", "movsbw", "movsbl", "movsbq", "movswl", "movswq", "movslq", "movsxd",
  "invpcid", "cmpxchg16b", "int", "loop", "loope", "loopz", "loopne", "loopnz", "jrcxz",
  ...[...CONDITIONS.keys()].map((c) => `j${c}`),
]);

/** The handler and suffix size for `mnemonic`, or undefined when it is unknown. */
export function resolve(mnemonic: string): { handler: Handler; name: string; suffix?: 1 | 2 | 4 | 8 } | undefined {
  const exact = TABLE.get(mnemonic);
  if (exact) return { handler: exact, name: mnemonic };
  const suffix = SUFFIX_SIZE[mnemonic.slice(-1)];
  const name = mnemonic.slice(0, -1);
  const base = TABLE.get(name);
  if (suffix !== undefined && base && !NO_SUFFIX.has(name)) return { handler: base, name, suffix };
  return undefined;
}

/** True for `jmp`/`call` through a register or memory (GNU reads a based operand as indirect even without `*`). */
function isIndirectBranch(insn: Insn): boolean {
  const [op] = insn.ops;
  return (insn.name === "jmp" || insn.name === "call") && insn.ops.length === 1 &&
    (op?.k === "reg" || (op?.k === "mem" && (op.star || op.base !== undefined || op.index !== undefined)));
}

/** GNU's checks of `lock`, `notrack` and `*` against the instruction they apply to. */
function checkPrefixesAndIndirection(insn: Insn): void {
  if (insn.prefixes.includes(LOCK) && !lockable(insn)) fail("expecting lockable instruction after `lock'");
  const indirect = isIndirectBranch(insn);
  if (insn.ops.some((o) => o.k !== "imm" && o.star) && !indirect) fail(`indirect operand (\`*') for \`${insn.name}'`);
  if (insn.prefixes.includes(NOTRACK) && !indirect) fail("expecting indirect branch instruction after `notrack'");
}

/**
 * Assembles one statement `mnemonic args` (mnemonic lower case). A prefix alone on a statement
 * (`rep; stosb`) emits just its byte, as in GNU as.
 * @throws SourceError for unknown mnemonics, operands no form accepts and out-of-range values,
 *   prefixed with the instruction text.
 */
export function assembleInstruction(mnemonic: string, args: string, ctx: X86Context, parseExpr: (text: string) => Expr): void {
  const prefixes: number[] = [];
  let name = mnemonic;
  let rest = args.trim();
  while (PREFIXES.has(name)) {
    prefixes.push(PREFIXES.get(name)!);
    const m = /^([A-Za-z][A-Za-z0-9]*)\s*(.*)$/.exec(rest);
    if (!m || rest === "") {
      if (rest !== "") fail(`expecting an instruction after \`${name}'`);
      ctx.emitBytes(prefixes);
      return;
    }
    name = m[1]!.toLowerCase();
    rest = m[2]!;
  }
  const text = rest ? `${name} ${rest}` : name;
  try {
    const found = resolve(name);
    if (!found) fail(`unknown instruction \`${name}'`);
    const ops: Operand[] = splitOperands(rest).map((o) => parseOperand(o, parseExpr));
    const insn: Insn = { name: found.name, ops, suffix: found.suffix, prefixes };
    checkPrefixesAndIndirection(insn);
    found.handler(insn, ctx);
  } catch (e) {
    if (e instanceof SourceError) throw new SourceError(`${text}: ${e.message}`);
    throw e;
  }
}
