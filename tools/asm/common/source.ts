/**
 * Source text to statements: strips comments and splits lines at the statement separator,
 * leaving string and character literals intact. What starts a comment is the architecture's
 * (GNU as `comment_chars` / `line_comment_chars`): RISC-V `#` and `//` anywhere; AArch64 `//`
 * anywhere and `#` only as the first non-blank character of a line (elsewhere it marks an
 * immediate). C-style block comments are always comments.
 */

/** One statement of source text, comments removed, trimmed, never empty. */
export interface Statement {
  /** 1-based line where the statement starts. */
  line: number;
  text: string;
}

/** Comment and separator conventions of an architecture's assembly language. */
export interface CommentSyntax {
  /** Strings that start a comment running to the end of the line, anywhere on it. */
  lineComments: readonly string[];
  /** Strings that start a comment only as the first non-blank text of a line. */
  lineStartComments?: readonly string[];
  /** Statement separator (GNU `line_separator_chars`), default `;`. */
  separator?: string;
}

/** RISC-V (and default) conventions: `#` and `//` comments, `;` separates statements. */
export const HASH_COMMENTS: CommentSyntax = { lineComments: ["#", "//"] };

/**
 * Splits assembly source into statements.
 * Never throws: an unterminated string simply runs to the end of its line, where the lexer
 * reports it; an unterminated block comment swallows the rest of the file like GNU as.
 */
export function splitStatements(source: string, syntax: CommentSyntax = HASH_COMMENTS): Statement[] {
  const out: Statement[] = [];
  const separator = syntax.separator ?? ";";
  const startsWithAny = (list: readonly string[] | undefined, at: number): boolean =>
    list !== undefined && list.some((s) => source.startsWith(s, at));
  let line = 1;
  let cur = "";
  let curLine = 1;
  let lineStart = true;
  const flush = (): void => {
    const text = cur.trim();
    if (text !== "") out.push({ line: curLine, text });
    cur = "";
    curLine = line;
  };

  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i]!;
    if (c === "\n") {
      line++;
      flush();
      lineStart = true;
      i++;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      cur += c;
      i++;
      continue;
    }
    const atLineStart = lineStart;
    lineStart = false;
    if (c === "/" && source[i + 1] === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end < 0 ? n : end + 2;
      for (let j = i; j < stop; j++) if (source[j] === "\n") line++;
      cur += " ";
      i = stop;
    } else if (startsWithAny(syntax.lineComments, i) || (atLineStart && startsWithAny(syntax.lineStartComments, i))) {
      while (i < n && source[i] !== "\n") i++;
    } else if (c === separator) {
      flush();
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < n && source[j] !== '"' && source[j] !== "\n") j += source[j] === "\\" ? 2 : 1;
      if (source[j] === '"') j++;
      cur += source.slice(i, j);
      i = j;
    } else if (c === "'") {
      // Character literal: 'c  or 'c'  or '\n'  (GNU accepts the closing quote as optional).
      let j = i + 1;
      if (source[j] === "\\") j += 2;
      else if (j < n && source[j] !== "\n") j++;
      if (source[j] === "'") j++;
      cur += source.slice(i, j);
      i = j;
    } else {
      cur += c;
      i++;
    }
  }
  flush();
  return out;
}
