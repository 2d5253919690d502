/**
 * The RISC-V architecture plugged into the common assembler driver (tools/asm/common): syntax,
 * `.option`, instruction tables, branch relaxation, fixups and nop padding.
 */
import type { Architecture, EmitContext } from "../common/arch.js";
import type { DirectiveHandler } from "../common/directives.js";
import { fail, SourceError } from "../common/errors.js";
import { splitArgs } from "../common/operands.js";
import { HASH_COMMENTS } from "../common/source.js";
import type { BranchSpec, InsnContext, Operand } from "./forms.js";
import { assembleInstruction, describeInsn, InsnError } from "./instructions.js";
import { parseOperands } from "./operands.js";
import { branchLength, RISCV_EXPRESSIONS } from "./reloc.js";
import { applyFixup, codePadding, indexPcrelHi, type PcrelIndex, renderBranch } from "./render.js";

/** A fresh RISC-V architecture (it holds the `.option rvc` state of one assembly). */
export function createRiscv64(): Architecture {
  let rvc = true;
  const optionStack: boolean[] = [];
  let hiIndex: PcrelIndex | undefined;

  const option: DirectiveHandler = (args) => {
    const [opt] = splitArgs(args);
    switch (opt) {
      case "rvc": rvc = true; break;
      case "norvc": rvc = false; break;
      case "push": optionStack.push(rvc); break;
      case "pop": {
        const top = optionStack.pop();
        if (top === undefined) fail("pop without a matching push");
        rvc = top;
        break;
      }
      case "relax": case "norelax": case "pic": case "nopic": case "csr-check": case "no-csr-check": break;
      default:
        if (opt?.startsWith("arch")) break;
        fail(`unknown option \`${opt ?? ""}'`);
    }
  };

  const insnContext = (ctx: EmitContext): InsnContext => {
    const ic: InsnContext = {
      get rvc() { return rvc; },
      constValue: (e) => ctx.constValue(e),
      emit32: (word, fix) => ctx.emit(word, 4, fix),
      emit16: (half) => { ctx.emit(half, 2); },
      branch: (spec: BranchSpec) => ctx.relax(spec),
      insn: (mnemonic, ops) => assembleInstruction(mnemonic, ops, ic),
    };
    return ic;
  };

  return {
    syntax: { comments: HASH_COMMENTS, modifiers: "percent", expr: RISCV_EXPRESSIONS },
    directives: new Map([[".option", option]]),
    codeAlignGranule: () => (rvc ? 2 : 4),
    padCodeSectionEnds: true,
    padCode: codePadding,
    instruction(mnemonic, args, ctx) {
      let ops: Operand[];
      try {
        ops = parseOperands(args, ctx.nameHook);
      } catch (e) {
        if (e instanceof SourceError) throw new InsnError(`${describeInsn(mnemonic, args)}: ${e.message}`);
        throw e;
      }
      assembleInstruction(mnemonic, ops, insnContext(ctx));
    },
    relaxSize: (spec, at, target, sec) => branchLength(spec as BranchSpec, at, target, sec),
    relaxTarget: (spec) => (spec as BranchSpec).target,
    renderRelax: (spec, size, site) => renderBranch(spec as BranchSpec, size, site),
    beforeRender: (sections) => { hiIndex = indexPcrelHi(sections); },
    applyFixup: (fx, site) => {
      if (!hiIndex) throw new Error("fixups applied before layout");
      applyFixup(fx, site, hiIndex);
    },
  };
}
