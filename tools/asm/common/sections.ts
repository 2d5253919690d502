/**
 * Sections under construction: a list of fragments (fixed bytes, relaxable instructions,
 * alignment padding, fills), the fixups that patch them, and where labels point.
 *
 * A label is (section, fragment index, offset in fragment). Two labels in the same fragment are
 * a known distance apart while assembling; anything across a variable-size fragment is only
 * known after layout.
 */
import type { Expr } from "./expr.js";

/** Growable little-endian byte buffer. */
export class ByteBuf {
  private buf = new Uint8Array(64);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  /** Appends the low `size` bytes of v, little-endian. */
  push(v: bigint | number, size: number): void {
    this.reserve(size);
    let x = BigInt.asUintN(64, BigInt(v));
    for (let i = 0; i < size; i++) {
      this.buf[this.length++] = Number(x & 0xffn);
      x >>= 8n;
    }
  }

  pushBytes(bytes: ArrayLike<number>): void {
    this.reserve(bytes.length);
    for (let i = 0; i < bytes.length; i++) this.buf[this.length++] = bytes[i]! & 0xff;
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** A fragment of a section; variable ones get their `size` during layout. */
export type Frag =
  | { kind: "data"; buf: ByteBuf; start: number }
  /** `size` bytes of `byte` (.space, .zero, .fill with a one-byte value). */
  | { kind: "fill"; size: number; byte: number; start: number }
  /**
   * An instruction whose size depends on layout (a RISC-V branch that may need a jump): the
   * architecture sizes it (Architecture.relaxSize) and renders it (Architecture.renderRelax);
   * `spec` is the architecture's own description of it.
   */
  | { kind: "relax"; spec: unknown; size: number; start: number; line: number }
  /** Pad to a multiple of `align`; fill null means nops in code sections and zeros elsewhere. */
  | { kind: "align"; align: number; fill: number | null; max: number; size: number; start: number }
  /**
   * `.org`: pad up to section offset `target`; when `expr` is set (`.org label + 0x80`) the target
   * is recomputed from it during layout.
   */
  | { kind: "org"; target: number; expr?: Expr; fill: number; size: number; start: number; line: number };

/** Data directive sizes (d1 = .byte ... d8 = .quad), patched by the common renderer. */
export type DataKind = "d1" | "d2" | "d4" | "d8";

/** Data directive fixup kinds, or an architecture's instruction fixup kind (e.g. "i12"). */
export type FixupKind = DataKind | string;

/** A value to patch in once addresses are final. */
export interface Fixup {
  readonly fixupId: number;
  kind: FixupKind;
  expr: Expr;
  /** Another fixup this one depends on (RISC-V: the auipc of a %pcrel_lo a pseudo emitted). */
  pair?: Fixup;
  frag: number;
  off: number;
  line: number;
}

/**
 * A location inside a section: fragment and offset (for layout), and anchor and offset from it
 * (while assembling: two labels with the same anchor are a known distance apart, since only
 * fixed-size fragments lie between them).
 */
export interface Label {
  sec: Section;
  frag: number;
  off: number;
  anchor: number;
  anchorOff: number;
}

/** Segment permission string of a section ("rx", "r", "rw", "rwx"). */
export type SectionFlags = string;

/** A section being assembled: fragments, fixups, and (after layout) address and size. */
export class Section {
  readonly frags: Frag[] = [];
  readonly fixups: Fixup[] = [];
  /** Largest alignment requested inside the section, in bytes. */
  align = 1;
  /** Number of variable-size fragments so far: the anchor of new labels. */
  private anchor = 0;
  /** Index of the first fragment after the latest variable-size one. */
  private anchorFrag = 0;
  /** Start address, set by layout. */
  addr = 0n;
  /** Size in bytes, set by layout. */
  size = 0;

  constructor(
    readonly name: string,
    public flags: SectionFlags,
    /** .bss-like: occupies memory but no file bytes. */
    readonly nobits: boolean,
  ) {
    this.openData();
  }

  get code(): boolean {
    return this.flags.includes("x");
  }

  /** Starts a new fixed-bytes fragment (after a variable one). */
  private openData(): void {
    this.frags.push({ kind: "data", buf: new ByteBuf(), start: 0 });
  }

  /** The fixed-bytes fragment being filled. */
  data(): ByteBuf {
    const last = this.frags[this.frags.length - 1]!;
    if (last.kind !== "data") throw new Error("section has no open data fragment");
    return last.buf;
  }

  /** Where the next byte goes. */
  here(): Label {
    let anchorOff = 0;
    for (let i = this.anchorFrag; i < this.frags.length; i++) {
      const f = this.frags[i]!;
      anchorOff += f.kind === "data" ? f.buf.length : f.kind === "fill" ? f.size : 0;
    }
    return { sec: this, frag: this.frags.length - 1, off: this.data().length, anchor: this.anchor, anchorOff };
  }

  /**
   * Appends a fragment other than fixed bytes and opens a new fixed one after it. Fills keep
   * the anchor (their size is known); the others start a new one.
   */
  pushVariable(frag: Exclude<Frag, { kind: "data" }>): void {
    this.frags.push(frag);
    if (frag.kind !== "fill") {
      this.anchor++;
      this.anchorFrag = this.frags.length;
    }
    this.openData();
  }
}
