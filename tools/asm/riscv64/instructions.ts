/**
 * The instruction table (compressed candidates, then real instructions, then pseudo-instructions,
 * plus explicit c.* mnemonics) and the matcher that picks a form for a line.
 */
import { BASE_FORMS } from "./base-forms.js";
import { COMPRESSED_CANDIDATES, EXPLICIT_COMPRESSED } from "./compress.js";
import { fail, SourceError } from "../common/errors.js";
import { type Form, type InsnContext, type Operand, signature } from "./forms.js";
import { PSEUDO_FORMS } from "./pseudo.js";

function merge(...tables: ReadonlyMap<string, readonly Form[]>[]): Map<string, readonly Form[]> {
  const out = new Map<string, Form[]>();
  for (const t of tables) for (const [name, forms] of t) out.set(name, [...(out.get(name) ?? []), ...forms]);
  return out;
}

const TABLE = merge(COMPRESSED_CANDIDATES, BASE_FORMS, PSEUDO_FORMS, EXPLICIT_COMPRESSED);

/** All known mnemonics (for tests and documentation). */
export function mnemonics(): string[] {
  return [...TABLE.keys()].sort();
}

/** An error already prefixed with the instruction it belongs to. */
export class InsnError extends SourceError {}

/** `mnemonic op, op` as written, for messages. */
export const describeInsn = (mnemonic: string, operands: string): string => (operands ? `${mnemonic} ${operands}` : mnemonic);

const KIND_NAMES: Readonly<Record<string, string>> = { r: "register", i: "expression", m: "offset(register)" };
const describe = (sig: string): string => (sig === "" ? "no operands" : sig.split(",").map((k) => KIND_NAMES[k]).join(", "));

/**
 * Assembles one instruction: tries the forms of `mnemonic` in order.
 * @throws SourceError for an unknown mnemonic, operands no form accepts, or a form's own error
 *   (immediate out of range...), prefixed with the mnemonic.
 */
export function assembleInstruction(mnemonic: string, ops: Operand[], ctx: InsnContext): void {
  const forms = TABLE.get(mnemonic);
  if (!forms) fail(`unknown instruction \`${mnemonic}'`);
  const sig = signature(ops);
  try {
    for (const form of forms) {
      if ((form.rvc && !ctx.rvc) || form.sig !== sig) continue;
      if (form.emit(ops, ctx) !== false) return;
    }
  } catch (e) {
    if (e instanceof SourceError && !(e instanceof InsnError)) {
      throw new InsnError(`${describeInsn(mnemonic, ops.map((o) => o.text).join(", "))}: ${e.message}`);
    }
    throw e;
  }
  const accepted = [...new Set(forms.filter((f) => !f.rvc).map((f) => describe(f.sig)))];
  throw new InsnError(`${describeInsn(mnemonic, ops.map((o) => o.text).join(", "))}: bad operands (expected ${accepted.join(" | ")})`);
}
