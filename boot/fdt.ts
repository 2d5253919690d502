/**
 * Flattened device tree (DTB) blobs: building, parsing and small lookup helpers.
 *
 * Format: Devicetree Specification v0.4, chapter 5 "Flattened Devicetree (DTB) Format". A blob is,
 * all big-endian:
 *
 * ```
 *   0  header (40 bytes, 10 u32: magic .. size_dt_struct)
 *  40  memory reservation block: {address u64, size u64}..., ended by a {0, 0} entry (8-aligned)
 *      structure block: tokens (4-aligned)
 *        FDT_BEGIN_NODE name\0 (padded to 4)  FDT_PROP len nameoff value (padded to 4)
 *        FDT_END_NODE  FDT_NOP  FDT_END
 *      strings block: property names, NUL-terminated, referenced by nameoff
 * ```
 *
 * {@link buildFdt} writes version 17 (last compatible version 16). {@link parseFdt} accepts
 * versions 16 and 17 and is strict: every offset is bounds-checked, every token consumes at
 * least 4 bytes, and nesting is capped at {@link FDT_MAX_DEPTH}, so its work is bounded by the
 * blob size and it never recurses.
 */

/** The header's magic number. */
export const FDT_MAGIC = 0xd00dfeed;
/** The version {@link buildFdt} writes, and the oldest it claims compatibility with. */
export const FDT_VERSION = 17, FDT_LAST_COMP_VERSION = 16;
/** Structure block tokens. */
export const FDT_BEGIN_NODE = 1, FDT_END_NODE = 2, FDT_PROP = 3, FDT_NOP = 4, FDT_END = 9;
/** Deepest node nesting {@link parseFdt} accepts (the root is depth 1). */
export const FDT_MAX_DEPTH = 64;

const HEADER_SIZE = 40;
/** `n` rounded up to a multiple of 4 (exact for any blob offset, unlike `& ~3` past 2^31). */
const align4 = (n: number): number => n + ((4 - (n % 4)) % 4);

/**
 * A property value for {@link fdtNode} / {@link FdtBuilder.prop}:
 * `number` one u32 cell; `bigint` a u64 as two cells; `string` NUL-terminated UTF-8;
 * `string[]` a string list; `Uint8Array` raw bytes; `number[]` a list of u32 cells.
 * An empty property (e.g. `interrupt-controller`) is `[]` or `new Uint8Array(0)`.
 */
export type FdtValue = number | bigint | string | string[] | Uint8Array | number[];

/** A device tree node; property values are the raw big-endian bytes. The root's name is "". */
export interface FdtNode {
  name: string;
  props: Map<string, Uint8Array>;
  children: FdtNode[];
}

/** One memory reservation block entry. */
export interface FdtReservation {
  address: bigint;
  size: bigint;
}

/** Malformed DTB input or a property of the wrong shape; the one-line message names the value. */
export class FdtError extends Error {
  override name = "FdtError";
}

const hex = (v: number | bigint): string => "0x" + v.toString(16);

/** UTF-8 bytes of `s` (lone surrogates become U+FFFD). */
const utf8 = (s: string): number[] => [...new TextEncoder().encode(s)];

/** Decodes UTF-8; a byte that does not start a valid sequence decodes as U+FFFD. */
function fromUtf8(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    const need = c < 0x80 ? 0 : c >= 0xc2 && c < 0xe0 ? 1 : c >= 0xe0 && c < 0xf0 ? 2 : c >= 0xf0 && c < 0xf5 ? 3 : -1;
    let cp = need === 0 ? c : need === 1 ? c & 0x1f : need === 2 ? c & 0x0f : c & 0x07;
    let ok = need >= 0 && i + need < b.length;
    for (let k = 1; ok && k <= need; k++) {
      const cc = b[i + k]!;
      if ((cc & 0xc0) !== 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    const min = [0, 0x80, 0x800, 0x10000][need] ?? 0;
    if (!ok || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      s += "\ufffd";
      i += 1;
    } else {
      s += String.fromCodePoint(cp);
      i += need + 1;
    }
  }
  return s;
}

/**
 * Encodes a property value as DTB bytes (see {@link FdtValue}).
 * @throws RangeError for a cell outside [0, 2^32) or a bigint outside [0, 2^64)
 */
export function encodeFdtValue(v: FdtValue): Uint8Array {
  if (v instanceof Uint8Array) return v.slice();
  if (typeof v === "string") return new Uint8Array([...utf8(v), 0]);
  const cells: number[] = [];
  if (typeof v === "number") cells.push(v);
  else if (typeof v === "bigint") {
    if (v < 0n || v >= 1n << 64n) throw new RangeError(`fdt: u64 value ${v} is out of range`);
    cells.push(Number(v >> 32n), Number(v & 0xffffffffn));
  } else if (v.every((x): x is string => typeof x === "string")) {
    return new Uint8Array((v as string[]).flatMap((s) => [...utf8(s), 0]));
  } else cells.push(...(v as number[]));
  const out = new Uint8Array(cells.length * 4);
  const dv = new DataView(out.buffer);
  cells.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c > 0xffffffff) throw new RangeError(`fdt: cell value ${c} is not a u32`);
    dv.setUint32(i * 4, c);
  });
  return out;
}

/**
 * Makes a node from plain values, in one expression.
 * @example
 * const root = fdtNode("", { "#address-cells": 2, "#size-cells": 2 }, [
 *   fdtNode("chosen", { bootargs: "console=ttyS0" }),
 * ]);
 */
export function fdtNode(name: string, props: Record<string, FdtValue> = {}, children: FdtNode[] = []): FdtNode {
  const map = new Map<string, Uint8Array>();
  for (const [k, v] of Object.entries(props)) map.set(k, encodeFdtValue(v));
  return { name, props: map, children };
}

/**
 * Builds a tree statement by statement: `begin(name)` opens a child of the current node (the
 * first `begin` opens the root, name ""), `prop` adds a property to the current node, `end`
 * closes it, and `finish` returns the root once every node is closed.
 * @example
 * const root = new FdtBuilder()
 *   .begin("").prop("#address-cells", 2)
 *   .begin("chosen").prop("bootargs", "console=ttyS0").end()
 *   .end()
 *   .finish();
 */
export class FdtBuilder {
  private stack: FdtNode[] = [];
  private root: FdtNode | undefined;

  /** Opens a node. @throws Error if the root was already closed. */
  begin(name: string): this {
    const node: FdtNode = { name, props: new Map(), children: [] };
    const parent = this.stack[this.stack.length - 1];
    if (parent) parent.children.push(node);
    else if (this.root) throw new Error(`FdtBuilder: begin("${name}") after the root was closed`);
    else this.root = node;
    this.stack.push(node);
    return this;
  }

  /** Sets a property on the open node. @throws Error if no node is open. */
  prop(name: string, value: FdtValue): this {
    const node = this.stack[this.stack.length - 1];
    if (!node) throw new Error(`FdtBuilder: prop("${name}") with no open node`);
    node.props.set(name, encodeFdtValue(value));
    return this;
  }

  /** Closes the open node. @throws Error if none is open. */
  end(): this {
    if (this.stack.pop() === undefined) throw new Error("FdtBuilder: end() with no open node");
    return this;
  }

  /** The finished root. @throws Error if nodes are still open or none was begun. */
  finish(): FdtNode {
    if (!this.root || this.stack.length > 0) throw new Error(`FdtBuilder: finish() with ${this.stack.length} open node(s)`);
    return this.root;
  }
}

/**
 * Serializes a tree as a version 17 DTB. Property names are deduplicated in the strings block.
 * @param options.bootCpuId boot_cpuid_phys (default 0); options.reservations the memory
 *   reservation block entries (default none)
 * @throws RangeError if a node name contains NUL or "/" (except the root, whose name must be "")
 */
export function buildFdt(root: FdtNode, options: { bootCpuId?: number; reservations?: FdtReservation[] } = {}): Uint8Array {
  const struct: number[] = [];
  const strings: number[] = [];
  const nameOffsets = new Map<string, number>();
  const u32 = (v: number): void => void struct.push(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  const pad = (): void => { while (struct.length % 4 !== 0) struct.push(0); };
  const emit = (node: FdtNode, isRoot: boolean): void => {
    if (isRoot ? node.name !== "" : node.name === "" || /[\0/]/.test(node.name)) {
      throw new RangeError(`fdt: invalid node name "${node.name}"`);
    }
    u32(FDT_BEGIN_NODE);
    struct.push(...utf8(node.name), 0);
    pad();
    for (const [name, value] of node.props) {
      let off = nameOffsets.get(name);
      if (off === undefined) {
        off = strings.length;
        nameOffsets.set(name, off);
        strings.push(...utf8(name), 0);
      }
      u32(FDT_PROP);
      u32(value.length);
      u32(off);
      for (const b of value) struct.push(b);
      pad();
    }
    for (const child of node.children) emit(child, false);
    u32(FDT_END_NODE);
  };
  emit(root, true);
  u32(FDT_END);

  const reservations = options.reservations ?? [];
  const rsvOff = HEADER_SIZE;
  const structOff = rsvOff + (reservations.length + 1) * 16;
  const stringsOff = structOff + struct.length;
  const total = stringsOff + strings.length;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  const header = [FDT_MAGIC, total, structOff, stringsOff, rsvOff, FDT_VERSION, FDT_LAST_COMP_VERSION,
    options.bootCpuId ?? 0, strings.length, struct.length];
  header.forEach((v, i) => dv.setUint32(i * 4, v));
  reservations.forEach((r, i) => {
    dv.setBigUint64(rsvOff + i * 16, r.address);
    dv.setBigUint64(rsvOff + i * 16 + 8, r.size);
  });
  out.set(struct, structOff);
  out.set(strings, stringsOff);
  return out;
}

/**
 * Parses a DTB into a tree. Checks the header (magic, versions, block offsets and sizes inside
 * totalsize, alignment), that the reservation block is terminated, and the token stream: one
 * root node, properties only inside nodes, names NUL-terminated inside their blocks, no duplicate
 * property in a node, FDT_END after the root.
 * @throws FdtError for any malformed input, and never anything else
 */
export function parseFdt(bytes: Uint8Array): FdtNode {
  return parseFdtBlob(bytes).root;
}

/** Like {@link parseFdt}, also returning the reservation entries and boot_cpuid_phys. */
export function parseFdtBlob(bytes: Uint8Array): { root: FdtNode; reservations: FdtReservation[]; bootCpuId: number } {
  if (bytes.length < HEADER_SIZE) throw new FdtError(`DTB is ${bytes.length} bytes, shorter than the 40-byte header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const h = (i: number): number => dv.getUint32(i * 4);
  const [magic, totalsize, structOff, stringsOff, rsvOff, version, lastComp, bootCpuId, stringsSize] =
    [h(0), h(1), h(2), h(3), h(4), h(5), h(6), h(7), h(8)];
  if (magic !== FDT_MAGIC) throw new FdtError(`bad DTB magic ${hex(magic)}; expected 0xd00dfeed`);
  if (version < 16 || lastComp > FDT_VERSION) {
    throw new FdtError(`DTB version ${version} (last compatible ${lastComp}) is not supported; need version >= 16, last compatible <= 17`);
  }
  if (totalsize < HEADER_SIZE || totalsize > bytes.length) {
    throw new FdtError(`DTB totalsize ${hex(totalsize)} is outside [0x28, ${hex(bytes.length)}] (the input length)`);
  }
  const structSize = version >= 17 ? h(9) : totalsize - Math.min(structOff, totalsize);
  const checkBlock = (what: string, off: number, size: number, align: number): void => {
    if (off < HEADER_SIZE || off + size > totalsize || off % align !== 0) {
      throw new FdtError(`DTB ${what} block [${hex(off)}, +${hex(size)}) is misaligned or outside the blob (totalsize ${hex(totalsize)})`);
    }
  };
  checkBlock("structure", structOff, structSize, 4);
  checkBlock("strings", stringsOff, stringsSize, 1);
  checkBlock("memory reservation", rsvOff, 16, 8);

  const reservations: FdtReservation[] = [];
  for (let o = rsvOff; ; o += 16) {
    if (o + 16 > totalsize) throw new FdtError(`DTB memory reservation block at ${hex(rsvOff)} has no terminating entry`);
    const address = dv.getBigUint64(o);
    const size = dv.getBigUint64(o + 8);
    if (address === 0n && size === 0n) break;
    reservations.push({ address, size });
  }

  const root = parseStruct(bytes, dv, structOff, structOff + structSize, stringsOff, stringsOff + stringsSize);
  return { root, reservations, bootCpuId };
}

/** Walks the structure block [pos, end) with an explicit stack. */
function parseStruct(bytes: Uint8Array, dv: DataView, pos: number, end: number, strOff: number, strEnd: number): FdtNode {
  const cstring = (from: number, limit: number, what: string): { s: string; next: number } => {
    const nul = bytes.subarray(from, limit).indexOf(0);
    if (nul < 0) throw new FdtError(`DTB ${what} at ${hex(from)} is not NUL-terminated inside its block`);
    return { s: fromUtf8(bytes.subarray(from, from + nul)), next: from + nul + 1 };
  };
  const stack: FdtNode[] = [];
  let root: FdtNode | undefined;
  for (;;) {
    if (pos + 4 > end) throw new FdtError(`DTB structure block ends at ${hex(end)} without FDT_END`);
    const tokenAt = pos;
    const token = dv.getUint32(pos);
    pos += 4;
    const node = stack[stack.length - 1];
    switch (token) {
      case FDT_NOP:
        break;
      case FDT_BEGIN_NODE: {
        if (root && !node) throw new FdtError(`DTB has a second root node at ${hex(tokenAt)}`);
        if (stack.length >= FDT_MAX_DEPTH) throw new FdtError(`DTB nesting at ${hex(tokenAt)} exceeds ${FDT_MAX_DEPTH} levels`);
        const { s, next } = cstring(pos, end, "node name");
        pos = align4(next);
        const child: FdtNode = { name: s, props: new Map(), children: [] };
        if (node) node.children.push(child);
        else if (s !== "") throw new FdtError(`DTB root node is named "${s}"; expected ""`);
        else root = child;
        stack.push(child);
        break;
      }
      case FDT_PROP: {
        if (!node) throw new FdtError(`DTB property at ${hex(tokenAt)} is outside any node`);
        if (pos + 8 > end) throw new FdtError(`DTB property header at ${hex(tokenAt)} extends past the structure block`);
        const len = dv.getUint32(pos);
        const nameOff = dv.getUint32(pos + 4);
        pos += 8;
        if (len > end - pos) throw new FdtError(`DTB property at ${hex(tokenAt)} length ${hex(len)} extends past the structure block`);
        if (nameOff >= strEnd - strOff) throw new FdtError(`DTB property name offset ${hex(nameOff)} is outside the strings block`);
        const name = cstring(strOff + nameOff, strEnd, "property name").s;
        if (node.props.has(name)) throw new FdtError(`DTB node "${node.name}" has property "${name}" twice`);
        node.props.set(name, bytes.slice(pos, pos + len));
        pos = align4(pos + len);
        break;
      }
      case FDT_END_NODE:
        if (!node) throw new FdtError(`DTB FDT_END_NODE at ${hex(tokenAt)} has no open node`);
        stack.pop();
        break;
      case FDT_END:
        if (!root || node) throw new FdtError(`DTB FDT_END at ${hex(tokenAt)} before the root node was closed`);
        return root;
      default:
        throw new FdtError(`DTB unknown token ${hex(token)} at ${hex(tokenAt)}`);
    }
  }
}

/**
 * The node at `path` ("/", "/cpus/cpu@0"), or undefined. A path component without a unit
 * address ("memory") matches a node with one ("memory@80000000"), as in libfdt; the first match wins.
 */
export function findNode(root: FdtNode, path: string): FdtNode | undefined {
  let node: FdtNode | undefined = root;
  for (const part of path.split("/").filter((p) => p !== "")) {
    const kids: FdtNode[] = node.children;
    node = kids.find((c) => c.name === part) ?? (part.includes("@") ? undefined : kids.find((c) => c.name.split("@")[0] === part));
    if (!node) return undefined;
  }
  return node;
}

/**
 * A one-cell property's value, or undefined if absent.
 * @throws FdtError if the property is not exactly 4 bytes
 */
export function fdtGetU32(node: FdtNode, name: string): number | undefined {
  const v = node.props.get(name);
  if (v === undefined) return undefined;
  if (v.length !== 4) throw new FdtError(`property "${name}" of "${node.name}" is ${v.length} bytes; expected one 4-byte cell`);
  return new DataView(v.buffer, v.byteOffset, 4).getUint32(0);
}

/**
 * A string-list property's strings, or undefined if absent.
 * @throws FdtError if the value is empty or does not end with NUL
 */
export function fdtGetStrings(node: FdtNode, name: string): string[] | undefined {
  const v = node.props.get(name);
  if (v === undefined) return undefined;
  if (v.length === 0 || v[v.length - 1] !== 0) throw new FdtError(`property "${name}" of "${node.name}" is not a NUL-terminated string`);
  const out: string[] = [];
  for (let i = 0; i < v.length; ) {
    const nul = v.indexOf(0, i);
    out.push(fromUtf8(v.subarray(i, nul)));
    i = nul + 1;
  }
  return out;
}

/**
 * A string property's (first) string, or undefined if absent.
 * @throws FdtError as {@link fdtGetStrings}
 */
export function fdtGetString(node: FdtNode, name: string): string | undefined {
  return fdtGetStrings(node, name)?.[0];
}

/**
 * Decodes a `reg`-style property as (base, size) pairs, each address and size being big-endian
 * groups of `addressCells` and `sizeCells` u32 cells (the parent's #address-cells/#size-cells).
 * Returns [] if absent.
 * @throws RangeError if the cell counts are not integers in [0, 4] with a positive sum
 * @throws FdtError if the length is not a multiple of the entry size
 */
export function fdtGetRegs(node: FdtNode, name: string, addressCells: number, sizeCells: number): { base: bigint; size: bigint }[] {
  const ok = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 4;
  if (!ok(addressCells) || !ok(sizeCells) || addressCells + sizeCells === 0) {
    throw new RangeError(`fdtGetRegs: cell counts (${addressCells}, ${sizeCells}) must be integers in [0, 4], not both 0`);
  }
  const v = node.props.get(name);
  if (v === undefined) return [];
  const entry = (addressCells + sizeCells) * 4;
  if (v.length % entry !== 0) {
    throw new FdtError(`property "${name}" of "${node.name}" is ${v.length} bytes, not a multiple of ${entry} (${addressCells}+${sizeCells} cells)`);
  }
  const dv = new DataView(v.buffer, v.byteOffset, v.length);
  const cells = (at: number, n: number): bigint => {
    let x = 0n;
    for (let i = 0; i < n; i++) x = (x << 32n) | BigInt(dv.getUint32(at + i * 4));
    return x;
  };
  const out: { base: bigint; size: bigint }[] = [];
  for (let o = 0; o < v.length; o += entry) out.push({ base: cells(o, addressCells), size: cells(o + addressCells * 4, sizeCells) });
  return out;
}
