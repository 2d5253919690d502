/**
 * Fault injection's "delay or lose an IPI" (boot/inject-hw.ts), the same on every machine: faults
 * are armed in a queue, and each interprocessor interrupt sent afterwards, one target at a time,
 * takes the next armed fault — lost (never delivered), or delivered `ticks` later (a host action
 * the machine runs between slices once its time has advanced that far). Where an IPI is sent is the
 * machine's: riscv64 the SBI firmware's send_ipi, arm64 a write to GICD_SGIR, x86_64 a fixed IPI
 * written to the local APIC's ICR.
 */

/** An armed IPI fault: the next IPI to one target is lost, or delivered `ticks` late. */
export type IpiFault = { mode: "lose" } | { mode: "delay"; ticks: number };

/** The armed IPI faults of one machine. */
export class IpiFaultQueue {
  private readonly armed: IpiFault[] = [];
  /** Told when an armed fault acts: "inject: IPI to hart 2 lost" (the kernel log, in an injection run). */
  onFault: ((line: string) => void) | undefined;

  /**
   * @param later runs a function once the machine's time has advanced `ticks` (the machine's `after`)
   * @param unit what the machine calls a processor in messages ("hart", "cpu")
   */
  constructor(private readonly later: (ticks: number, fn: () => void) => void, private readonly unit: string) {}

  /** Arms `fault` for the next IPI to one target; faults queue up, each acts once. */
  arm(fault: IpiFault): void {
    this.armed.push(fault);
  }

  /** Faults armed and not yet used. */
  get pending(): number {
    return this.armed.length;
  }

  /** Sends one IPI to processor `target`: `deliver` runs now, later, or never, as the next armed fault says. */
  send(target: number, deliver: () => void): void {
    const fault = this.armed.shift();
    if (fault === undefined) deliver();
    else if (fault.mode === "lose") this.onFault?.(`inject: IPI to ${this.unit} ${target} lost`);
    else {
      this.onFault?.(`inject: IPI to ${this.unit} ${target} delayed ${fault.ticks} ticks`);
      this.later(fault.ticks, deliver);
    }
  }
}
