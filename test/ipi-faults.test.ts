/**
 * Fault injection's lost and late IPIs at the interrupt controllers (boot/ipi-faults.ts): an SGI
 * written to GICD_SGIR, and a fixed IPI written to a local APIC's ICR, reach each target through
 * the armed faults, one target at a time — delivered at once when none is armed, never when the
 * next fault loses it, and only once the machine's time has advanced when it is delayed.
 * @spec Arm IHI 0048B (GICv2) §4.3.15 GICD_SGIR (the SGI becomes pending on each listed target);
 *   Intel SDM Vol. 3A §11.6.1 (ICR: fixed delivery of the vector to each destination)
 */
import { describe, expect, it } from "vitest";
import { GicV2 } from "../emulator/arch/arm64/gicv2.js";
import { LocalApic, LAPIC_REG } from "../emulator/devices/lapic.js";
import { LapicWindow } from "../emulator/devices/apic-ipi.js";
import { DeferredActions } from "../emulator/core/deferred.js";
import { IpiFaultQueue } from "../boot/ipi-faults.js";

/** A queue over a clock the test advances, with the lines it reports. */
function queue() {
  let now = 0;
  const later = new DeferredActions(() => now);
  const q = new IpiFaultQueue((ticks, fn) => later.after(ticks, fn), "cpu");
  const lines: string[] = [];
  q.onFault = (l) => lines.push(l);
  return { q, lines, advance: (t: number) => { now += t; later.runDue(); } };
}

describe("SGIs through GICD_SGIR", () => {
  const SGIR = 0xf00;
  /** SGI `id` from PE 0 to the PEs of `list` (TargetListFilter 0). */
  const send = (g: GicV2, id: number, list: number) => g.distributor.write(SGIR, 4, (list << 16) | id);

  it("with nothing armed, each target has the SGI pending at once", () => {
    const g = new GicV2(() => false, 4);
    const { q, lines } = queue();
    g.sgiRoute = (t, deliver) => q.send(t, deliver);
    send(g, 3, 0b0110);
    expect([0, 1, 2, 3].map((c) => g.pending(3, c))).toEqual([false, true, true, false]);
    expect(lines).toEqual([]);
  });

  it("a lost SGI never becomes pending at its target; the next target of the same write still gets it", () => {
    const g = new GicV2(() => false, 4);
    const { q, lines, advance } = queue();
    g.sgiRoute = (t, deliver) => q.send(t, deliver);
    q.arm({ mode: "lose" });
    send(g, 0, 0b0110);
    advance(1_000_000);
    expect([g.pending(0, 1), g.pending(0, 2)]).toEqual([false, true]);
    expect(lines).toEqual(["inject: IPI to cpu 1 lost"]);
  });

  it("a delayed SGI becomes pending `ticks` later, and the GIC signals the change then", () => {
    const g = new GicV2(() => false, 2);
    const { q, lines, advance } = queue();
    g.sgiRoute = (t, deliver) => q.send(t, deliver);
    q.arm({ mode: "delay", ticks: 100 });
    send(g, 5, 0b10);
    let changes = 0;
    g.onChange = () => changes++;
    advance(99);
    expect([g.pending(5, 1), changes]).toEqual([false, 0]);
    advance(1);
    expect([g.pending(5, 1), changes]).toEqual([true, 1]);
    expect(lines).toEqual(["inject: IPI to cpu 1 delayed 100 ticks"]);
  });
});

describe("fixed IPIs through the local APIC's ICR", () => {
  /** Two APICs on one window; CPU 0 sends vector `v` to APIC ID 1 (physical destination). */
  function apics() {
    const as = [new LocalApic(() => 0, 0), new LocalApic(() => 0, 1)];
    const w = new LapicWindow(as);
    const { q, lines, advance } = queue();
    for (const a of as) a.ipiRoute = (to, deliver) => q.send(to.id, deliver);
    const send = (v: number) => {
      w.current = 0;
      w.write(LAPIC_REG.ICR_HI, 4, 1 << 24);
      w.write(LAPIC_REG.ICR_LO, 4, v);
    };
    const requested = (v: number) => (as[1]!.irr[v >>> 5]! >>> (v & 31)) & 1;
    return { q, lines, advance, send, requested };
  }

  it("with nothing armed, the vector is requested at the destination at once", () => {
    const { send, requested } = apics();
    send(0xfc);
    expect(requested(0xfc)).toBe(1);
  });

  it("a lost IPI is never requested; a delayed one is requested `ticks` later", () => {
    const { q, lines, advance, send, requested } = apics();
    q.arm({ mode: "lose" });
    q.arm({ mode: "delay", ticks: 50 });
    send(0xfc);
    advance(1000);
    expect(requested(0xfc)).toBe(0);
    send(0xfd);
    advance(49);
    expect(requested(0xfd)).toBe(0);
    advance(1);
    expect(requested(0xfd)).toBe(1);
    expect(lines).toEqual(["inject: IPI to cpu 1 lost", "inject: IPI to cpu 1 delayed 50 ticks"]);
    expect(q.pending).toBe(0);
  });
});

describe("deferred host actions", () => {
  it("run in due order (then in arrival order) once the clock reaches them; the clock is not read when none is queued", () => {
    let now = 0, reads = 0;
    const d = new DeferredActions(() => { reads++; return now; });
    const ran: string[] = [];
    expect([d.runDue(), reads]).toEqual([Infinity, 0]);
    d.after(20, () => ran.push("b"));
    d.after(10, () => ran.push("a"));
    d.after(20, () => ran.push("c"));
    now = 5;
    expect(d.runDue()).toBe(5);
    now = 20;
    expect(d.runDue()).toBe(Infinity);
    expect(ran).toEqual(["a", "b", "c"]);
  });
});
