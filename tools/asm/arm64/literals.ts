/**
 * Literal pools for `ldr Rt, =value`, as GNU as builds them (tc-aarch64.c): one pool per section
 * and entry size (4 bytes for W, 8 for X), equal entries shared, emitted at `.ltorg`/`.pool` or
 * at the end of input: the 4-byte pool first, then the 8-byte one, each aligned to its entry size
 * with zero bytes.
 */
import { internalSymbol } from "../common/assembler.js";
import type { DirectiveHost } from "../common/directives.js";
import type { Expr } from "../common/expr.js";

interface Entry {
  /** Internal symbol naming the entry's address. */
  label: string;
  expr: Expr;
  /** What makes two entries equal: the constant value or the expression's shape. */
  key: string;
}

/** The pending literal pools of one assembly. */
export class LiteralPools {
  /** Pending entries by section name, then by entry size. */
  private readonly pending = new Map<string, Map<4 | 8, Entry[]>>();
  private count = 0;

  /**
   * The address of a pool entry holding `expr` (`value` if it is a known constant) in section
   * `section`, as an expression to branch-fix against.
   */
  entry(section: string, size: 4 | 8, expr: Expr, value: bigint | undefined): Expr {
    let bySize = this.pending.get(section);
    if (!bySize) this.pending.set(section, (bySize = new Map()));
    let list = bySize.get(size);
    if (!list) bySize.set(size, (list = []));
    const key = value !== undefined ? `#${BigInt.asUintN(size * 8, value)}` : JSON.stringify(expr, (_k, v) => (typeof v === "bigint" ? `${v}n` : v));
    let e = list.find((x) => x.key === key);
    if (!e) list.push((e = { label: internalSymbol(`lit${this.count++}`), expr, key }));
    return { k: "sym", name: e.label };
  }

  /** Emits the pools of the current section (`.ltorg`), or of every section when `section` is undefined. */
  flush(host: DirectiveHost, section?: string): void {
    for (const [name, bySize] of this.pending) {
      if (section !== undefined && name !== section) continue;
      if (section === undefined) {
        host.pushSection();
        host.switchSection(name);
      }
      for (const size of [4, 8] as const) {
        const list = bySize.get(size) ?? [];
        if (list.length === 0) continue;
        host.align(size, 0, size);
        for (const e of list) {
          host.defineSymbol(e.label, host.expr("."), true);
          host.emitData(size, e.expr);
        }
      }
      if (section === undefined) host.popSection();
      this.pending.delete(name);
    }
  }
}
