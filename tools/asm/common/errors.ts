/** Errors of the guest assemblers (shared by every architecture). */

/**
 * An assembly error, always tied to one source line.
 * The message is one line: `file:line: what is wrong`.
 */
export class AsmError extends Error {
  override name = "AsmError";
  constructor(
    /** Source file name, as given in AsmOptions.fileName. */
    readonly file: string,
    /** 1-based source line. */
    readonly line: number,
    /** The bare description, without the `file:line: ` prefix. */
    readonly detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
  }
}

/**
 * Thrown by the parts of the assembler that do not know the current line (expression evaluation,
 * operand parsing); the driver catches it and rethrows an AsmError with file and line.
 */
export class SourceError extends Error {
  override name = "SourceError";
}

/** Throws a SourceError: a helper for expression-style code. */
export function fail(message: string): never {
  throw new SourceError(message);
}

/** A SourceError that already knows its line (found after parsing, e.g. during layout). */
export class LineError extends SourceError {
  override name = "LineError";
  constructor(readonly line: number, message: string) {
    super(message);
  }
}
