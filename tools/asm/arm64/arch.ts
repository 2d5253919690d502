/**
 * The AArch64 architecture plugged into the common assembler driver (tools/asm/common): GNU
 * syntax (`//` comments anywhere, `#` comments at the start of a line, `;` separates statements,
 * `:lo12:`-style relocation operators), the instruction tables, fixups and NOP padding.
 * A64 has no relaxable instructions: every instruction is 4 bytes.
 */
import type { Architecture, EmitContext, PatchSite } from "../common/arch.js";
import { data, type DirectiveHandler } from "../common/directives.js";
import { fail, SourceError } from "../common/errors.js";
import { splitArgs } from "../common/operands.js";
import { ARITH } from "./arith.js";
import { BITFIELD } from "./bitfield.js";
import { CONTROL } from "./control.js";
import { applyA64Fixup } from "./fixups.js";
import { type Asm, type Handler, makeAsm, NotYetKnown } from "./insn.js";
import { LiteralPools } from "./literals.js";
import { LOGICAL } from "./logical.js";
import { MEMORY } from "./memory.js";
import { MULTIPLY } from "./multiply.js";
import { type Operand, parseOperands } from "./operands.js";
import { SYSTEM } from "./system.js";

/** Every instruction handler by lower-case mnemonic. */
export const INSTRUCTIONS: ReadonlyMap<string, Handler> = new Map([
  ...ARITH, ...LOGICAL, ...BITFIELD, ...MULTIPLY, ...MEMORY, ...CONTROL, ...SYSTEM,
]);

/** NOP. @spec Arm ARM (DDI 0487) C6.2 "NOP" */
const NOP = 0xd503201f;

/** Relocation operators accepted in expressions (see fixups.ts for where each may appear). */
const RELOC_OPS = ["lo12", "abs_g0", "abs_g0_nc", "abs_g1", "abs_g1_nc", "abs_g2", "abs_g2_nc", "abs_g3"];

/**
 * Alignment padding in code, as GNU as `aarch64_handle_align`: zero bytes up to the next
 * 4-byte boundary, then NOPs.
 */
function padCode(out: Uint8Array, at: number, size: number): void {
  const view = new DataView(out.buffer, out.byteOffset);
  const zeros = size & 3;
  out.fill(0, at, at + zeros);
  for (let i = at + zeros; i < at + size; i += 4) view.setUint32(i, NOP, true);
}

/** `.inst expr, ...`: instruction words given as numbers. */
const inst: DirectiveHandler = (args, host) => {
  for (const a of splitArgs(args)) host.emitData(4, host.expr(a));
};

const ignore: DirectiveHandler = () => {};

/**
 * AArch64-specific directives of GNU as (`.xword` is 8 bytes; `.ltorg`/`.pool` place the current
 * section's literal pool; `.arch`/`.cpu` select nothing here).
 */
function directives(pools: LiteralPools): ReadonlyMap<string, DirectiveHandler> {
  const ltorg: DirectiveHandler = (_args, host) => pools.flush(host, host.currentSection());
  return new Map([
    [".xword", data(8)], [".dword", data(8)], [".inst", inst], [".ltorg", ltorg], [".pool", ltorg],
    [".arch", ignore], [".arch_extension", ignore], [".cpu", ignore], [".variant_pcs", ignore],
  ]);
}

/**
 * Encodes a deferred instruction at `site` once addresses are final: the handler runs again with
 * every expression evaluated to its final value (GNU re-encodes such instructions in its fixups,
 * so `mov x0, #(end - start)` may still become MOVN or ORR and `ldr` may still become LDUR).
 */
function encodeDeferred(site: PatchSite, ctx: EmitContext, pools: LiteralPools, handler: Handler, ops: Operand[], mnemonic: string): void {
  const view = new DataView(site.out.buffer, site.out.byteOffset);
  const final: EmitContext = { ...ctx, constValue: (e) => site.value(e) };
  const asm: Asm = {
    ctx: final,
    pools,
    emit: (word, fix) => {
      view.setUint32(site.at, word >>> 0, true);
      if (fix) applyA64Fixup({ fixupId: -1, kind: fix.kind, expr: fix.expr, frag: 0, off: 0, line: 0 }, site);
    },
  };
  handler(ops, asm, mnemonic);
}

const noRelax = (): never => { throw new Error("A64 has no relaxable instructions"); };

/** A fresh AArch64 architecture for one assembly. */
export function createArm64(): Architecture {
  const pools = new LiteralPools();
  const deferred = new Map<number, (site: PatchSite) => void>();
  return {
    syntax: {
      comments: { lineComments: ["//"], lineStartComments: ["#"] },
      modifiers: "colon",
      expr: { relocOps: RELOC_OPS },
    },
    directives: directives(pools),
    codeAlignGranule: () => 1,
    padCode,
    instruction(mnemonic, args, ctx) {
      const handler = INSTRUCTIONS.get(mnemonic);
      if (!handler) fail(`unknown instruction \`${mnemonic}'`);
      const where = args ? `${mnemonic} ${args}` : mnemonic;
      const prefixed = (f: () => void): void => {
        try {
          f();
        } catch (e) {
          if (e instanceof SourceError) throw new SourceError(`${where}: ${e.message}`);
          throw e;
        }
      };
      prefixed(() => {
        const ops = parseOperands(args, ctx);
        try {
          handler(ops, makeAsm(ctx, pools), mnemonic);
        } catch (e) {
          if (!(e instanceof NotYetKnown)) throw e;
          const ref = ctx.emit(0, 4, { kind: "deferred", expr: { k: "num", v: 0n } });
          deferred.set(ref.fixupId, (site) => prefixed(() => encodeDeferred(site, ctx, pools, handler, ops, mnemonic)));
        }
      });
    },
    relaxSize: noRelax,
    relaxTarget: noRelax,
    renderRelax: noRelax,
    endOfInput: (host) => pools.flush(host),
    applyFixup: (fx, site) => {
      if (fx.kind !== "deferred") return applyA64Fixup(fx, site);
      const encode = deferred.get(fx.fixupId);
      if (!encode) throw new Error("deferred instruction without an encoder");
      encode(site);
    },
  };
}
