/**
 * Who allocated each frame, for leak detection and for naming the owner in panic messages.
 *
 * Owner names are interned to 16-bit ids in first-use order (deterministic); the id is stored in
 * the frame's record in RAM (see FrameRecords). The host index of live frames per owner is derived
 * state (it could be rebuilt by scanning the bitmap and records) kept so that leak queries cost
 * O(frames of that owner), not O(RAM).
 */
import { MAX_OWNER_ID } from "./frame-records.js";

/** Owner name of frames allocated without one (id 0). */
export const ANONYMOUS_OWNER = "(anonymous)";
/** Owner name every owner gets once 65535 distinct names have been seen (id 0xFFFF). */
export const OVERFLOW_OWNER = "(owner table full)";

/** End of a frame list. */
const NONE = -1;

/**
 * Interned owner names and the live frames (indices) of each owner: one doubly linked list per
 * owner threaded through host arrays indexed by frame, so adding and removing a frame is O(1) and
 * allocates nothing (the arrays grow, by doubling, only up to the highest frame index seen).
 */
export class OwnerTable {
  private readonly ids = new Map<string, number>([[ANONYMOUS_OWNER, 0], [OVERFLOW_OWNER, MAX_OWNER_ID]]);
  private readonly names: string[] = [ANONYMOUS_OWNER];
  /** Per owner id: the first frame of its list (NONE when empty) and its number of frames. */
  private readonly heads: number[] = [];
  private readonly sizes: number[] = [];
  /** Per frame: the owner id + 1 while live (0 otherwise), and its neighbours in that owner's list. */
  private owner: Int32Array<ArrayBuffer> = new Int32Array(0);
  private next: Int32Array<ArrayBuffer> = new Int32Array(0);
  private prev: Int32Array<ArrayBuffer> = new Int32Array(0);
  private total = 0;

  /** The id of `name` (interning it on first use); `undefined` is the anonymous owner. */
  idOf(name: string | undefined): number {
    if (name === undefined) return 0;
    if (name === this.lastName) return this.lastId;
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length < MAX_OWNER_ID ? this.names.length : MAX_OWNER_ID;
      if (id < MAX_OWNER_ID) { this.names.push(name); this.ids.set(name, id); }
    }
    this.lastName = name;
    this.lastId = id;
    return id;
  }

  /** The name {@link idOf} answered last and its id: a process's frames come one after another under one name. */
  private lastName: string | undefined;
  private lastId = 0;

  nameOf(id: number): string {
    return id === MAX_OWNER_ID ? OVERFLOW_OWNER : (this.names[id] ?? `(unknown owner id ${id})`);
  }

  /** Records that `frame` (an index) is now live for owner `id` (moving it from another owner's list if needed). */
  add(id: number, frame: number): void {
    if (frame >= this.owner.length) this.grow(frame + 1);
    const was = this.owner[frame]!;
    if (was === id + 1) return;
    if (was !== 0) this.remove(was - 1, frame);
    const head = this.heads[id] ?? NONE;
    this.owner[frame] = id + 1;
    this.next[frame] = head;
    this.prev[frame] = NONE;
    if (head !== NONE) this.prev[head] = frame;
    this.heads[id] = frame;
    this.sizes[id] = (this.sizes[id] ?? 0) + 1;
    this.total++;
  }

  /** Records that `frame` is no longer live for owner `id` (nothing happens if it is not live for `id`). */
  remove(id: number, frame: number): void {
    if (frame >= this.owner.length || this.owner[frame] !== id + 1) return;
    const n = this.next[frame]!, p = this.prev[frame]!;
    if (p === NONE) this.heads[id] = n;
    else this.next[p] = n;
    if (n !== NONE) this.prev[n] = p;
    this.owner[frame] = 0;
    this.sizes[id]!--;
    this.total--;
  }

  /** Live frame count per owner name, owners in first-use order, owners with none left out. */
  counts(): Map<string, number> {
    const out = new Map<string, number>();
    for (let id = 0; id < this.sizes.length; id++) if ((this.sizes[id] ?? 0) > 0) out.set(this.nameOf(id), this.sizes[id]!);
    return out;
  }

  /** Live frame indices of `name`, ascending. O(its frames). */
  framesOf(name: string): number[] {
    const id = this.ids.get(name);
    const out: number[] = [];
    if (id === undefined) return out;
    for (let f = this.heads[id] ?? NONE; f !== NONE; f = this.next[f]!) out.push(f);
    return out.sort((a, b) => a - b);
  }

  /** Total live frames over all owners. */
  liveFrames(): number {
    return this.total;
  }

  /** Makes the per-frame arrays hold at least `frames` entries. */
  private grow(frames: number): void {
    const size = Math.max(frames, 2 * this.owner.length, 1024);
    const widen = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => { const b = new Int32Array(size); b.set(a); return b; };
    this.owner = widen(this.owner);
    this.next = widen(this.next);
    this.prev = widen(this.prev);
  }
}
