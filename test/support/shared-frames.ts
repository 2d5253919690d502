/**
 * A {@link SharedFrames} fake for kernel unit tests: frames of a RAM region handed out bump-first,
 * then from a free list, each with a reference count in a Map. Fresh frames are zeroed, freed ones
 * poisoned (0xdb), so a test reading a stale frame sees it. Misuse throws, naming the frame.
 */
import type { PhysMemory } from "../../kernel/hal.js";
import type { SharedFrames } from "../../kernel/mm/frames.js";

export class FakeSharedFrames implements SharedFrames {
  readonly refs = new Map<number, number>();
  readonly owners = new Map<number, string>();
  allocations = 0;
  frees = 0;
  /** When set, allocations fail once this many more have succeeded. */
  failAfter: number | undefined;
  private next: number;
  private readonly end: number;
  private readonly freeList: number[] = [];

  constructor(private readonly mem: PhysMemory, base = 0x8100_0000, count = 4096) {
    this.next = base;
    this.end = base + count * 4096;
  }

  /** Frames currently allocated. */
  get live(): number {
    return this.refs.size;
  }

  /** Allocated frames by owner name. */
  liveByOwner(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const pa of this.refs.keys()) {
      const o = this.owners.get(pa) ?? "?";
      out[o] = (out[o] ?? 0) + 1;
    }
    return out;
  }

  allocateFrame(owner?: string): number | undefined {
    if (this.failAfter !== undefined) {
      if (this.failAfter <= 0) return undefined;
      this.failAfter--;
    }
    let pa = this.freeList.pop();
    if (pa === undefined) {
      if (this.next >= this.end) return undefined;
      pa = this.next;
      this.next += 4096;
    }
    this.mem.fill(pa, 4096, 0);
    this.refs.set(pa, 1);
    this.owners.set(pa, owner ?? "?");
    this.allocations++;
    return pa;
  }

  freeFrame(pa: number): void {
    const rc = this.refs.get(pa);
    if (rc === undefined) throw new Error(`FakeSharedFrames: free of unallocated frame 0x${pa.toString(16)}`);
    if (rc > 1) { this.refs.set(pa, rc - 1); return; }
    this.refs.delete(pa);
    this.owners.delete(pa);
    this.mem.fill(pa, 4096, 0xdb);
    this.freeList.push(pa);
    this.frees++;
  }

  addRef(pa: number): void {
    const rc = this.refs.get(pa);
    if (rc === undefined) throw new Error(`FakeSharedFrames: addRef of unallocated frame 0x${pa.toString(16)}`);
    this.refs.set(pa, rc + 1);
  }

  refCount(pa: number): number {
    return this.refs.get(pa) ?? 0;
  }
}
