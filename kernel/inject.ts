/**
 * Seeded, declarative fault injection on the kernel side, after Linux's fault-injection framework
 * (Documentation/fault-injection/fault-injection.rst: probability, interval, times, and the
 * task/owner filters; `nth` as in `fail-nth`). An {@link Injector} decides, call by call, whether a
 * named allocation point fails; every decision it makes is drawn from a SplitMix64 seeded by the
 * plan, so the same seed and the same run give the same injections.
 *
 * Points (each consulted at the top of the allocator, before it touches any state):
 *
 * | point | where | effect of an injection |
 * |---|---|---|
 * | `frame-alloc` | `FrameAllocator.allocateFrame` | returns undefined (no free frame) |
 * | `heap-alloc` | `GlobalAllocator.allocate` (and `allocateZeroed`) | returns undefined (heap exhausted) |
 *
 * Architecture- and emulator-neutral: the hardware faults (PTE bit flips, TLB faults, spurious
 * interrupts, memory errors) live on the boot side (boot/inject-hw.ts, one part per machine).
 */
import { SplitMix64 } from "./random.js";

/** The kernel's injection points. */
export type InjectPoint = "frame-alloc" | "heap-alloc";

/** Every kernel injection point, in table order. */
export const INJECT_POINTS: readonly InjectPoint[] = ["frame-alloc", "heap-alloc"];

/** What an allocator tells the injector about one call. */
export interface InjectContext {
  /** The allocation's owner name (`"pid 3"`, `"page table"`, `"kernel heap"`, ...). */
  owner?: string;
  /** The process running when the call is made (the parent during fork); unset at boot. */
  pid?: number;
}

/** The hook an allocator consults: true means "fail this call". */
export type InjectHook = (point: InjectPoint, ctx: InjectContext) => boolean;

/**
 * One point's failure specification. A call is *eligible* when it passes `filter`; eligible calls
 * are numbered from 1. When `nth` is set, exactly the nth eligible call fails and the other fields
 * are ignored. Otherwise an eligible call fails when its number is a multiple of `interval`, fewer
 * than `times` injections were made, and a draw in [0, 1) is below `probability`.
 */
export interface FaultPoint {
  /** Chance that an otherwise chosen call fails, 0..1 (default 1). */
  probability?: number;
  /** Only every interval-th eligible call may fail (default 1: any). */
  interval?: number;
  /** Most injections at this point; -1 for unlimited (default -1). */
  times?: number;
  /** Fail exactly the nth eligible call (1-based), once. */
  nth?: number;
  /** Restrict eligibility: the running process's pid, and/or the owner (exact, or a prefix followed by a space: "pid 2" matches "pid 2 kernel stack"). */
  filter?: { pid?: number; owner?: string };
}

/** A declarative plan for the kernel's points. */
export type KernelFaultPlan = Partial<Record<InjectPoint, FaultPoint>>;

/** One injection that happened. `call` is the eligible-call number for kernel points, the instruction count for hardware ones. */
export interface Injection {
  point: string;
  call: number;
  pid?: number;
  owner?: string;
  /** What was done, for hardware faults ("PTE 0x80012345: bit 0 cleared"). */
  detail?: string;
}

interface PointState {
  readonly spec: FaultPoint;
  calls: number;
  injected: number;
}

/** Throws RangeError naming the field for a spec outside its documented ranges. */
function validate(point: string, s: FaultPoint): void {
  const bad = (field: string, v: unknown): never => { throw new RangeError(`fault point ${point}: ${field} ${String(v)} is out of range`); };
  if (s.probability !== undefined && !(s.probability >= 0 && s.probability <= 1)) bad("probability", s.probability);
  if (s.interval !== undefined && !(Number.isSafeInteger(s.interval) && s.interval >= 1)) bad("interval", s.interval);
  if (s.times !== undefined && !(Number.isSafeInteger(s.times) && s.times >= -1)) bad("times", s.times);
  if (s.nth !== undefined && !(Number.isSafeInteger(s.nth) && s.nth >= 1)) bad("nth", s.nth);
}

function ownerMatches(want: string, owner: string | undefined): boolean {
  return owner !== undefined && (owner === want || owner.startsWith(want + " "));
}

/**
 * Decides per call whether a kernel injection point fails, and records every injection.
 *
 * @example
 * ```ts
 * const inj = new Injector(7, { "heap-alloc": { nth: 1, filter: { owner: "pid 2" } } });
 * inj.shouldFail("heap-alloc", { owner: "pid 2", pid: 1 });   // true: the first eligible call
 * inj.injections;                                               // [{ point: "heap-alloc", call: 1, pid: 1, owner: "pid 2" }]
 * ```
 */
export class Injector {
  /** Every injection made, in order. */
  readonly injections: Injection[] = [];
  /** Called after each injection is recorded (the kernel logs it). */
  onInject: ((i: Injection) => void) | undefined;
  private readonly random: SplitMix64;
  private readonly points = new Map<string, PointState>();

  /** Throws RangeError for a bad seed or a spec field out of range. */
  constructor(seed: number, plan: KernelFaultPlan) {
    this.random = new SplitMix64(seed);
    for (const [point, spec] of Object.entries(plan)) {
      if (spec === undefined) continue;
      validate(point, spec);
      this.points.set(point, { spec, calls: 0, injected: 0 });
    }
  }

  /** True when this call at `point` must fail; the decision is recorded when it is an injection. */
  shouldFail(point: InjectPoint, ctx: InjectContext): boolean {
    const st = this.points.get(point);
    if (st === undefined) return false;
    const { spec } = st;
    const f = spec.filter;
    if (f?.pid !== undefined && ctx.pid !== f.pid) return false;
    if (f?.owner !== undefined && !ownerMatches(f.owner, ctx.owner)) return false;
    const call = ++st.calls;
    let fail: boolean;
    if (spec.nth !== undefined) fail = call === spec.nth;
    else {
      const times = spec.times ?? -1;
      const p = spec.probability ?? 1;
      fail = call % (spec.interval ?? 1) === 0 && (times < 0 || st.injected < times) && (p >= 1 || Number(this.random.bits(53)) / 2 ** 53 < p);
    }
    if (!fail) return false;
    st.injected++;
    const rec: Injection = { point, call, ...(ctx.pid !== undefined ? { pid: ctx.pid } : {}), ...(ctx.owner !== undefined ? { owner: ctx.owner } : {}) };
    this.injections.push(rec);
    this.onInject?.(rec);
    return true;
  }

  /** The hook to hand an allocator; `pid` says which process is running at the time of a call. */
  hook(pid: () => number | undefined): InjectHook {
    return (point, ctx) => this.shouldFail(point, { ...ctx, pid: ctx.pid ?? pid() });
  }
}
