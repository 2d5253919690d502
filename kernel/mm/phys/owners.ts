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

/** Interned owner names and the live frames (indices) of each owner. */
export class OwnerTable {
  private readonly ids = new Map<string, number>([[ANONYMOUS_OWNER, 0], [OVERFLOW_OWNER, MAX_OWNER_ID]]);
  private readonly names: string[] = [ANONYMOUS_OWNER];
  private readonly live = new Map<number, Set<number>>();

  /** The id of `name` (interning it on first use); `undefined` is the anonymous owner. */
  idOf(name: string | undefined): number {
    if (name === undefined) return 0;
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length < MAX_OWNER_ID ? this.names.length : MAX_OWNER_ID;
      if (id < MAX_OWNER_ID) { this.names.push(name); this.ids.set(name, id); }
    }
    return id;
  }

  nameOf(id: number): string {
    return id === MAX_OWNER_ID ? OVERFLOW_OWNER : (this.names[id] ?? `(unknown owner id ${id})`);
  }

  /** Records that `frame` (an index) is now live for owner `id`. */
  add(id: number, frame: number): void {
    let set = this.live.get(id);
    if (set === undefined) { set = new Set(); this.live.set(id, set); }
    set.add(frame);
  }

  /** Records that `frame` is no longer live for owner `id`. */
  remove(id: number, frame: number): void {
    const set = this.live.get(id);
    if (set === undefined) return;
    set.delete(frame);
    if (set.size === 0) this.live.delete(id);
  }

  /** Live frame count per owner name, owners in first-use order, owners with none left out. */
  counts(): Map<string, number> {
    const ids = [...this.live.keys()].sort((a, b) => a - b);
    return new Map(ids.map((id) => [this.nameOf(id), this.live.get(id)!.size]));
  }

  /** Live frame indices of `name`, ascending. */
  framesOf(name: string): number[] {
    const id = this.ids.get(name);
    const set = id === undefined ? undefined : this.live.get(id);
    return set === undefined ? [] : [...set].sort((a, b) => a - b);
  }

  /** Total live frames over all owners. */
  liveFrames(): number {
    let n = 0;
    for (const s of this.live.values()) n += s.size;
    return n;
  }
}
