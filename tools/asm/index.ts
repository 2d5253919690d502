/** The assemblers, one per architecture, behind one call. */
import { assembleArm64 } from "./arm64/index.js";
import type { AsmResult } from "./common/output.js";
import { assembleRiscv64 } from "./riscv64/index.js";
import { assembleX86_64 } from "./x86_64/index.js";

export const ASM_ARCHES = ["riscv64", "arm64", "x86_64"] as const;
export type AsmArch = (typeof ASM_ARCHES)[number];

/** Assembles GNU-syntax `source` for `arch` (AsmError on bad input). */
export function assemble(arch: AsmArch, source: string, opts: { fileName?: string; base?: bigint } = {}): AsmResult {
  switch (arch) {
    case "riscv64": return assembleRiscv64(source, opts);
    case "arm64": return assembleArm64(source, opts);
    case "x86_64": return assembleX86_64(source, opts);
  }
}
