/**
 * How a machine's run ends, the same for every architecture: `machine.run({ maxInsns })` returns a
 * {@link RunResult} whose exit code is what `multios run` exits with.
 *
 * | reason | when | exit code |
 * |---|---|---|
 * | `pass` / `fail` / `reset` | the guest ended the run through its platform's device (finisher, PSCI, SBI reset) | the guest's status |
 * | `exit` | x86_64: QEMU's isa-debug-exit port | `(value << 1) \\| 1` |
 * | `max-insns` | the instruction bound was reached | 124 |
 * | `wfi-hang` / `hlt-hang` | every processor waits for an interrupt that can never arrive | 125 |
 * | `trap-loop` | traps without any instruction retiring (a faulting vector) | 125 |
 * | `triple-fault` | x86_64: a fault while delivering a double fault (shutdown) | 125 |
 */

/** Why a run ended. */
export type StopReason = "pass" | "fail" | "reset" | "exit" | "max-insns" | "wfi-hang" | "hlt-hang" | "trap-loop" | "triple-fault";

/** The outcome of a machine's run. */
export interface RunResult<R extends StopReason = StopReason> {
  reason: R;
  /** Process exit status (table above). */
  exitCode: number;
  /** Instructions retired (by all processors). */
  icount: number;
  /** One line describing the outcome. */
  message: string;
}

/** Run options. */
export interface RunOptions {
  /** Stop once this many instructions have retired (default: unlimited). */
  maxInsns?: number;
}
