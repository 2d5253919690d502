/**
 * A broken kernel invariant: a double free, a free of memory the kernel never handed out, a
 * corrupted allocator structure. Thrown, never caught on the normal path (STYLE.md: `throw` is for
 * broken invariants), and its message always names the offending value, e.g.
 * `double free of frame 0x80123000 (owner: proc 3)`.
 *
 * @example
 * ```ts
 * throw new KernelPanic(`mapPages: remap at 0x${va.toString(16)}`);
 * ```
 */
export class KernelPanic extends Error {
  override readonly name = "KernelPanic";
}
