/**
 * Source text to statements: strips comments (`#` and `//` to end of line, C-style block
 * comments) and splits lines at `;`, leaving string and character literals intact.
 */

/** One statement of source text, comments removed, trimmed, never empty. */
export interface Statement {
  /** 1-based line where the statement starts. */
  line: number;
  text: string;
}

/**
 * Splits assembly source into statements.
 * @throws SourceError-free: an unterminated string simply runs to the end of its line, where the
 *   lexer reports it; an unterminated block comment swallows the rest of the file like GNU as.
 */
export function splitStatements(source: string): Statement[] {
  const out: Statement[] = [];
  let line = 1;
  let cur = "";
  let curLine = 1;
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
      i++;
    } else if (c === "/" && source[i + 1] === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end < 0 ? n : end + 2;
      for (let j = i; j < stop; j++) if (source[j] === "\n") line++;
      cur += " ";
      i = stop;
    } else if (c === "#" || (c === "/" && source[i + 1] === "/")) {
      while (i < n && source[i] !== "\n") i++;
    } else if (c === ";") {
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
