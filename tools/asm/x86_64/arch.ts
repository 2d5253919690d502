/**
 * The x86-64 architecture plugged into the common assembler driver (tools/asm/common): AT&T
 * syntax, `.code64`, byte-count `.align`, the instruction handlers, jump relaxation, fixups and
 * nop padding.
 */
import type { Architecture, EmitContext } from "../common/arch.js";
import { alignment, data, type DirectiveHandler, DIRECTIVES } from "../common/directives.js";
import { fail } from "../common/errors.js";
import { PLAIN_EXPRESSIONS } from "../common/expr.js";
import { splitArgs } from "../common/operands.js";
import type { Section } from "../common/sections.js";
import type { CommentSyntax } from "../common/source.js";
import { encode } from "./encode.js";
import type { X86Context } from "./forms.js";
import { assembleInstruction } from "./instructions.js";
import { type JumpSpec, jumpSizer, renderJump } from "./relax.js";
import { applyFixup, fixupKind, padCode } from "./render.js";

/** `.code64` is the only mode; `.code32`/`.code16` are refused. */
const codeMode = (bits: number): DirectiveHandler => () => {
  if (bits !== 64) fail(`only 64-bit code is supported (.code${bits})`);
};

/** The X86Context of one statement, on top of the driver's EmitContext. */
function x86Context(ctx: EmitContext): X86Context {
  return {
    constValue: (e) => ctx.constValue(e),
    emit: (spec) => {
      const { bytes, fixups } = encode(spec, (e) => ctx.constValue(e));
      let i = 0;
      for (const fx of fixups) {
        for (; i < fx.at; i++) ctx.emit(bytes[i]!, 1);
        ctx.emit(0, fx.size, { kind: fixupKind(fx, bytes.length), expr: fx.expr });
        i += fx.size;
      }
      for (; i < bytes.length; i++) ctx.emit(bytes[i]!, 1);
    },
    emitBytes: (bytes) => { for (const b of bytes) ctx.emit(b, 1); },
    // The target is forward when it cannot be evaluated yet (`t - t` is 0 for any defined symbol).
    branch: (spec) => {
      const forward = ctx.constValue({ k: "bin", op: "-", a: spec.target, b: spec.target }) === undefined;
      ctx.relax({ ...spec, forward } satisfies JumpSpec);
    },
  };
}

/** The NOP opcode: GNU as pads code with nop patterns when `.align` asks for this fill byte. */
const NOP_FILL = 0x90;

/**
 * Alignment in code with fill byte 0x90 (`.p2align 4, 0x90`, what compilers write) is padded
 * with the multi-byte nop patterns, as without a fill (tc-i386.h `md_do_align`). Applied once
 * layout is done (the padding size does not depend on the fill).
 */
function nopFillsToCodePadding(sections: readonly Section[]): void {
  for (const sec of sections) {
    if (!sec.code) continue;
    for (const f of sec.frags) if (f.kind === "align" && f.fill === NOP_FILL) f.fill = null;
  }
}

/** x86 comments: `#` anywhere, `/` at the start of a line (GNU `comment_chars`, `line_comment_chars`). */
const X86_COMMENTS: CommentSyntax = { lineComments: ["#"], lineStartComments: ["/"] };

/** A fresh x86-64 architecture for one assembly. */
export function createX86_64(): Architecture {
  const weak = new Set<string>();
  const jumpSize = jumpSizer(weak);
  return {
    syntax: { comments: X86_COMMENTS, modifiers: "none", expr: PLAIN_EXPRESSIONS },
    directives: new Map<string, DirectiveHandler>([
      [".align", alignment(false)],
      [".word", data(2)], [".int", data(4)],
      [".weak", (args, host) => {
        for (const name of splitArgs(args)) weak.add(name);
        DIRECTIVES.get(".weak")!(args, host);
      }],
      [".code64", codeMode(64)], [".code32", codeMode(32)], [".code16", codeMode(16)],
    ]),
    codeAlignGranule: () => 1,
    // GNU as for x86 leaves the end of a code section unpadded.
    padCodeSectionEnds: false,
    padCode,
    instruction: (mnemonic, args, ctx) => assembleInstruction(mnemonic, args, x86Context(ctx), (t) => ctx.parseExpr(t)),
    relaxSize: (spec, at, target, sec) => jumpSize(spec as JumpSpec, at, target, sec),
    relaxTarget: (spec) => (spec as JumpSpec).target,
    renderRelax: (spec, size, site) => renderJump(spec as JumpSpec, size, site),
    beforeRender: nopFillsToCodePadding,
    applyFixup,
  };
}
