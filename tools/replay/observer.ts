/**
 * Watches a run for record and replay: drives the machine in slices that end on checkpoint
 * instants, hashes the state there, and keeps (recording) or checks (replaying) every trap and every
 * checkpoint. Slicing changes nothing the guest sees: the machine stops between instructions and
 * resumes exactly where it stopped (test/replay.test.ts checks it against an unsliced run).
 */
import { Digest, ramDigest } from "../../emulator/core/digest.js";
import type { RunResult } from "../../emulator/core/run.js";
import { TRAP_LIMIT, type Checkpoint, type RunEnd, type RunRecordFile, type TrapRow } from "./record.js";
import type { ReplayTarget } from "./target.js";

/** The first point where a replay differs from its record. */
export interface Divergence {
  /** The instruction count at which the difference is known to exist (a trap's, or a checkpoint's). */
  icount: number;
  /** The last checkpoint that matched (0 = the start). */
  lastMatch: number;
  /** What differs, one line each. */
  details: string[];
}

/** Thrown inside the run to stop it at the first divergence; caught by {@link Observer.run}'s caller. */
export class DivergedError extends Error {
  constructor(readonly divergence: Divergence) {
    super(`replay diverged at instruction ${divergence.icount}`);
  }
}

/** Records a run, or checks it against `expected` as it goes. */
export class Observer {
  readonly checkpoints: Checkpoint[] = [];
  readonly traps: TrapRow[] = [];
  trapCount = 0;
  output = 0;
  private readonly outputDigest = new Digest();
  private next: number;
  private lastMatch = 0;
  /** A divergence seen inside the run (a trap): the machine is stopped, then it is thrown. */
  private pending: Divergence | undefined;

  /**
   * @param machine the machine to drive (its trap hooks are chained, not replaced)
   * @param every instructions between checkpoints
   * @param expected the record to check against (replay), or undefined (record)
   */
  constructor(private readonly machine: ReplayTarget, readonly every: number, private readonly expected?: RunRecordFile) {
    this.next = every;
    machine.onTrap((row) => this.trap(row));
  }

  /** Counts a console byte (the caller's console hook calls this). */
  consoleByte(b: number): void {
    this.output++;
    this.outputDigest.word(b);
  }

  /** Runs the machine to `maxInsns` (or its end), stopping at each checkpoint on the way. Throws DivergedError when replaying. */
  run(maxInsns = Number.MAX_SAFE_INTEGER): RunResult {
    for (;;) {
      const stop = Math.min(maxInsns, this.next);
      const r = this.machine.run(stop);
      if (this.pending) throw new DivergedError(this.pending);
      if (r.reason !== "max-insns") return r;
      if (r.icount >= this.next) {
        this.checkpoint(r.icount);
        this.next += this.every;
      }
      if (r.icount >= maxInsns) return r;
    }
  }

  /** The end state of a finished run. */
  end(r: RunResult): RunEnd {
    const ram = new Digest();
    for (const region of this.machine.bus.map) if (region.ram) ramDigest(region.ram, ram.word(region.base));
    return {
      reason: r.reason, exitCode: r.exitCode, icount: r.icount, hash: this.machine.stateHash(),
      ram: ram.hex(), output: this.output, outputHash: this.outputDigest.hex(),
    };
  }

  /** Replay: compares the end with the record's; returns the divergence, or undefined when they agree. */
  checkEnd(end: RunEnd): Divergence | undefined {
    const want = this.expected!;
    const details: string[] = [];
    if (want.traps.length > this.trapCount) details.push(`recorded trap #${this.trapCount} (${this.machine.showTrap(want.traps[this.trapCount]!)}) was not taken`);
    for (const k of ["reason", "exitCode", "icount", "output", "outputHash", "hash", "ram"] as const) {
      if (want.end[k] !== end[k]) details.push(`end ${k}: recorded ${want.end[k]}, replay ${end[k]}`);
    }
    return details.length ? { icount: Math.min(want.end.icount, end.icount), lastMatch: this.lastMatch, details } : undefined;
  }

  private trap(row: TrapRow): void {
    const k = this.trapCount++;
    if (!this.expected) {
      if (this.traps.length < TRAP_LIMIT) this.traps.push(row);
      return;
    }
    if (this.pending) return;
    const want = this.expected.traps[k];
    if (want === undefined) {
      if (!this.expected.trapsTruncated) this.stop(row[0], [`replay took trap #${k} (${this.machine.showTrap(row)}); the record has only ${k} traps`]);
    } else if (want[0] !== row[0] || want[1] !== row[1] || want[2] !== row[2] || want[3] !== row[3]) {
      this.stop(Math.min(want[0], row[0]), [`trap #${k}: recorded ${this.machine.showTrap(want)}`, `trap #${k}: replay   ${this.machine.showTrap(row)}`]);
    }
  }

  /**
   * A trap hook runs inside the machine (possibly inside kernel code), so it must not throw: it
   * asks the machine to stop, and {@link run} throws once the machine has returned.
   */
  private stop(icount: number, details: string[]): void {
    this.pending = { icount, lastMatch: this.lastMatch, details };
    this.machine.stop();
  }

  private checkpoint(icount: number): void {
    const c: Checkpoint = { icount, hash: this.machine.stateHash(), traps: this.trapCount, output: this.output, regs: this.machine.registers() };
    if (!this.expected) {
      this.checkpoints.push(c);
      return;
    }
    const want = this.expected.checkpoints[this.checkpoints.length];
    this.checkpoints.push(c);
    if (want === undefined) return;
    const missed = this.expected.traps[this.trapCount];
    if (missed !== undefined && missed[0] < icount) {
      this.diverge(missed[0], [`recorded trap #${this.trapCount} (${this.machine.showTrap(missed)}) was not taken`]);
    }
    if (want.icount !== c.icount || want.hash !== c.hash || want.traps !== c.traps || want.output !== c.output) {
      const details = [`state at the checkpoint after instruction ${icount} differs (it matched at ${this.lastMatch})`];
      for (const [name, v] of Object.entries(want.regs)) if (c.regs[name] !== v) details.push(`${name}: recorded ${v}, replay ${c.regs[name]}`);
      if (want.traps !== c.traps) details.push(`traps so far: recorded ${want.traps}, replay ${c.traps}`);
      if (want.output !== c.output) details.push(`console bytes so far: recorded ${want.output}, replay ${c.output}`);
      if (details.length === 1) details.push("pc and general registers agree: the difference is in system registers or counters");
      this.diverge(icount, details);
    }
    this.lastMatch = icount;
  }

  private diverge(icount: number, details: string[]): never {
    throw new DivergedError({ icount, lastMatch: this.lastMatch, details });
  }
}
