/**
 * kill(pid, sig) with the two signals whose default action MultiOS models: SIGKILL and SIGSEGV
 * terminate the target as if by that signal (wait4's status word is the signal number, and a
 * shell would report 128 + signal), whatever the target was doing — running, waiting in wait4,
 * or sleeping. There are no handlers, masks or pending signals, and no permission checks.
 *
 * | call | result |
 * |---|---|
 * | sig outside 0..64 | -EINVAL (not a signal) |
 * | pid ≤ 0 (process groups, "every process") | -EINVAL: not modelled |
 * | no process `pid` | -ESRCH |
 * | sig 0 | 0: the probe, the process exists (a zombie too) |
 * | another signal than 9 or 11 | -EINVAL: not modelled |
 * | a zombie target | 0, nothing happens (it is already dead) |
 * | SIGKILL / SIGSEGV | 0, or no return when the caller killed itself |
 */
import type { Kernel } from "../kernel.js";
import type { Process } from "./process.js";

/** Signal numbers (asm-generic/signal.h): the ones the kernel kills with. A killed process's status is 128 + the number, as a shell reports it. */
export const SIGILL = 4, SIGBUS = 7, SIGKILL = 9, SIGSEGV = 11;
/** The highest signal number (_NSIG). */
const NSIG = 64;
const ESRCH = 3, EINVAL = 22;

/** kill from process `caller`: the result, or undefined when the caller is gone. */
export function kill(k: Kernel, caller: Process, pidArg: bigint, sigArg: bigint): bigint | undefined {
  const pid = BigInt.asIntN(64, pidArg), sig = BigInt.asIntN(64, sigArg);
  if (sig < 0n || sig > BigInt(NSIG)) return BigInt(-EINVAL);
  if (pid <= 0n) return BigInt(-EINVAL);
  const target = pid > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : k.procs.get(Number(pid));
  if (target === undefined) return BigInt(-ESRCH);
  if (sig === 0n) return 0n;
  if (sig !== BigInt(SIGKILL) && sig !== BigInt(SIGSEGV)) return BigInt(-EINVAL);
  if (target.state === "zombie") return 0n;
  k.exit(target, { signal: Number(sig) });
  return target === caller ? undefined : 0n;
}
