/**
 * `.comm` and `.lcomm`: zero-initialised storage that GNU as puts in `.bss` *after* everything
 * else written there (its subsection 1, read.c `bss_alloc`), in directive order. gcc declares
 * every static zero-initialised variable this way (`.local out` / `.comm out,512,32`).
 *
 * The common driver has no "after the last statement" hook, so the storage is declared by
 * statements appended to the source: `.bss`, `.balign`, `name:`, `.zero size`; the directives
 * themselves then do nothing. Alignment, as GNU for ELF x86: `.comm`'s third argument in bytes
 * (none: 1); `.lcomm` takes no alignment argument and aligns by size (8 from 8 bytes, 4 from 4,
 * 2 from 2, else 1: `TC_IMPLICIT_LCOMM_ALIGNMENT`).
 *
 * A `.comm` symbol not declared `.local` would be a common symbol that `ld` allocates after
 * all `.bss` input; here it is allocated like a local one (there is no link step).
 */
import { splitArgs } from "../common/operands.js";
import { type CommentSyntax, splitStatements } from "../common/source.js";

const COMM = /^\.(l?comm)\s+(.*)$/i;

/** Alignment `.lcomm` gives `size` bytes (an expression: true is -1 in GNU comparisons). */
const implicitAlignment = (size: string): string => `(1 - ((${size}) >= 2) - 2 * ((${size}) >= 4) - 4 * ((${size}) >= 8))`;

/**
 * The statements that allocate the `.comm`/`.lcomm` symbols of `source`, to append to it
 * (empty when there are none).
 */
export function commonStorage(source: string, comments: CommentSyntax): string {
  const out: string[] = [];
  for (const st of splitStatements(source, comments)) {
    const m = COMM.exec(st.text);
    if (!m) continue;
    const [name, size, align] = splitArgs(m[2]!);
    if (!name || !size) continue;
    const alignment = m[1]!.toLowerCase() === "lcomm" ? implicitAlignment(size) : align ?? "1";
    out.push(".bss", `.balign ${alignment}`, `${name}:`, `.zero ${size}`);
  }
  return out.length === 0 ? "" : `\n${out.join("\n")}\n`;
}
