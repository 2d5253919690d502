/**
 * The architecture-neutral assembler pieces (tools/asm/common) the x86-64 files use, gathered in
 * one module.
 */
export { fail, SourceError } from "../common/errors.js";
export type { Expr } from "../common/expr.js";
