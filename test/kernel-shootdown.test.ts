/**
 * TLB shootdown (kernel/mm/shootdown.ts) against a fake local TLB and a recording remote: which
 * CPUs are asked, with which range or scope, and how a flush's pages are batched into one request.
 */
import { describe, expect, it } from "vitest";
import type { TlbControl } from "../kernel/hal.js";
import { Shootdown, type RemoteRange } from "../kernel/mm/shootdown.js";
import { TlbFlush } from "../kernel/mm/vm/flush.js";

/** A TLB that logs its operations with a prefix. */
const logTlb = (log: string[], prefix: string): TlbControl => ({
  flushPage: (va, asid) => log.push(`${prefix}page ${va.toString(16)} ${asid}`),
  flushAsid: (asid) => log.push(`${prefix}asid ${asid}`),
  flushAll: () => log.push(`${prefix}all`),
});

function setup(online = 0b1111, self = 0) {
  const local: string[] = [];
  const remote: { cpus: readonly number[]; asid: number | undefined; range: RemoteRange | undefined }[] = [];
  const tlb: TlbControl = {
    flushPage: (va, asid) => local.push(`page ${va.toString(16)} ${asid}`),
    flushAsid: (asid) => local.push(`asid ${asid}`),
    flushAll: () => local.push("all"),
  };
  const cpu = { self, online };
  // Hardware ids are 10 + index, to tell them from indices.
  const s = new Shootdown(tlb, { self: () => cpu.self, onlineMask: () => cpu.online, hwId: (i) => 10 + i }, { kind: "sync", flush: (cpus, asid, range) => remote.push({ cpus, asid, range }) });
  return { s, local, remote, cpu };
}

describe("Shootdown", () => {
  it("flushes locally and asks only the other online CPUs that ran the ASID", () => {
    const { s, local, remote } = setup(0b0111);
    s.noteActive(0, 5);
    s.noteActive(2, 5);
    s.noteActive(3, 5); // offline: never asked
    s.noteActive(1, 6);
    s.flushPage(0x4000n, 5);
    expect(local).toEqual(["page 4000 5"]);
    expect(remote).toEqual([{ cpus: [12], asid: 5, range: { start: 0x4000n, size: 0x1000n } }]);
    s.flushAsid(6);
    expect(remote[1]).toEqual({ cpus: [11], asid: 6, range: undefined });
    expect(s.stats).toMatchObject({ requests: 2, targets: 2, ranges: 1, asids: 1, all: 0 });
  });

  it("makes no remote request for an ASID no other CPU ran", () => {
    const { s, remote } = setup();
    s.noteActive(0, 7);
    s.flushPage(0x1000n, 7);
    s.flushPageNumber(0x2000, 7);
    s.flushPages([{ va: 0x1000n, size: 0x1000n }], 7);
    expect(remote).toEqual([]);
  });

  it("batches one change's pages into one request over their span, or the whole ASID past the ceiling", () => {
    const { s, local, remote } = setup();
    s.noteActive(1, 3);
    s.flushPages([{ va: 0x10000n, size: 0x1000n }, { va: 0x13000n, size: 0x1000n }], 3);
    expect(local).toHaveLength(2);
    expect(remote).toEqual([{ cpus: [11], asid: 3, range: { start: 0x10000n, size: 0x4000n } }]);
    // Two pages 1 MiB apart: the span is 257 pages, above the 32-page ceiling.
    s.flushPages([{ va: 0x100000n, size: 0x1000n }, { va: 0x200000n, size: 0x1000n }], 3);
    expect(remote[1]).toEqual({ cpus: [11], asid: 3, range: undefined });
  });

  it("flushAll reaches every other online CPU, globals included", () => {
    const { s, local, remote, cpu } = setup(0b1011, 1);
    s.flushAll();
    expect(local).toEqual(["all"]);
    expect(remote).toEqual([{ cpus: [10, 13], asid: undefined, range: undefined }]);
    cpu.online = 0b0010;
    s.flushAll();
    expect(remote).toHaveLength(1);
  });

  it("forgets every CPU's ASIDs on a rollover but those still running", () => {
    const { s, remote } = setup();
    s.noteActive(1, 2);
    s.noteActive(2, 2);
    s.noteActive(3, 4);
    s.rollover([[3, 4]]);
    s.flushAsid(2);
    s.flushAsid(4);
    expect(remote).toEqual([{ cpus: [13], asid: 4, range: undefined }]);
  });

  it("broadcast (arm64 TLBI ...IS): the broadcast form replaces the local one exactly when another CPU may hold the ASID", () => {
    const log: string[] = [];
    const cpu = { self: 0, online: 0b11 };
    const s = new Shootdown(logTlb(log, "local "), { self: () => cpu.self, onlineMask: () => cpu.online, hwId: (i) => i }, { kind: "broadcast", tlb: logTlb(log, "IS ") });
    s.noteActive(0, 4);
    s.flushPage(0x1000n, 4);
    s.noteActive(1, 4);
    s.flushPage(0x2000n, 4);
    s.flushAsid(4);
    s.flushAll();
    expect(log).toEqual(["local page 1000 4", "IS page 2000 4", "IS asid 4", "IS all"]);
    let released = false;
    s.afterFlush(() => { released = true; });
    expect(released).toBe(true);
  });

  it("ipi (x86_64): requests queue per target, the freed frames wait until every target has carried them out", () => {
    const log: string[] = [];
    const sent: number[][] = [];
    const cpu = { self: 0, online: 0b111 };
    const s = new Shootdown(logTlb(log, ""), { self: () => cpu.self, onlineMask: () => cpu.online, hwId: (i) => 100 + i }, { kind: "ipi", send: (ids) => sent.push([...ids]) });
    s.noteActive(1, 9);
    s.noteActive(2, 9);
    let freed = 0;
    const token = new TlbFlush({ cause: "unmap", asid: 9, pages: [{ va: 0x5000n, size: 0x1000n }], global: false, tablesFreed: false, capabilities: { pageFlushCoversTables: true, pageFlushCoversGlobal: true }, release: () => freed++ });
    token.flush(s);
    expect(log).toEqual(["page 5000 9"]);
    expect(sent).toEqual([[101, 102]]);
    expect([freed, s.pending, s.stats.deferred]).toEqual([0, 1, 1]);
    // CPU 1 takes its IPI: invalidates on its own TLB; CPU 2 has not yet, so the frames still wait.
    cpu.self = 1;
    s.processQueue(1);
    expect(log).toEqual(["page 5000 9", "page 5000 9"]);
    expect(freed).toBe(0);
    cpu.self = 2;
    s.processQueue(2);
    expect([freed, s.pending]).toEqual([1, 0]);
    // Nothing queued: nothing done.
    s.processQueue(2);
    expect(log).toHaveLength(3);
  });

  it("ipi: a flush that reaches no other CPU releases at once; releaseAll releases what still waits (power-off)", () => {
    const cpu = { self: 0, online: 0b11 };
    const s = new Shootdown(logTlb([], ""), { self: () => cpu.self, onlineMask: () => cpu.online, hwId: (i) => i }, { kind: "ipi", send: () => {} });
    let freed = 0;
    s.flushPage(0x1000n, 3);
    s.afterFlush(() => freed++);
    expect(freed).toBe(1);
    s.noteActive(1, 3);
    s.flushAsid(3);
    s.afterFlush(() => freed++);
    expect(freed).toBe(1);
    s.releaseAll();
    expect([freed, s.pending]).toEqual([2, 0]);
  });

  it("ipi: whenReleased runs at once with nothing waiting, else once no release waits (the exit leak check)", () => {
    const cpu = { self: 0, online: 0b111 };
    const s = new Shootdown(logTlb([], ""), { self: () => cpu.self, onlineMask: () => cpu.online, hwId: (i) => i }, { kind: "ipi", send: () => {} });
    const order: string[] = [];
    s.whenReleased(() => order.push("check 0"));
    s.noteActive(1, 3);
    s.noteActive(2, 4);
    s.flushAsid(3);
    s.afterFlush(() => order.push("frames of 3"));
    s.flushAsid(4);
    s.afterFlush(() => order.push("frames of 4"));
    s.whenReleased(() => order.push("check 1"));
    cpu.self = 1;
    s.processQueue(1);
    expect(order).toEqual(["check 0", "frames of 3"]);
    cpu.self = 2;
    s.processQueue(2);
    expect(order).toEqual(["check 0", "frames of 3", "frames of 4", "check 1"]);
  });

  it("ipi: a check waits for a release queued after it, even one the same acknowledgement frees (it may free the exited process's shared frame)", () => {
    // Regression, found by a 4-CPU x86_64 campaign: pid 1 exits (its frames wait for CPU 1), then
    // pid 3, which shared a copy-on-write frame pid 1 allocated; both releases wait for the same
    // acknowledgement. pid 1's leak check ran between them and reported that frame as leaked.
    const cpu = { self: 0, online: 0b11 };
    const s = new Shootdown(logTlb([], ""), { self: () => cpu.self, onlineMask: () => cpu.online, hwId: (i) => i }, { kind: "ipi", send: () => {} });
    const order: string[] = [];
    s.noteActive(1, 3);
    s.flushAsid(3);
    s.afterFlush(() => order.push("frames of pid 1"));
    s.whenReleased(() => order.push("check pid 1"));
    s.flushAsid(3);
    s.afterFlush(() => order.push("frames of pid 3"));
    s.whenReleased(() => order.push("check pid 3"));
    expect(s.pending).toBe(4);
    cpu.self = 1;
    s.processQueue(1);
    expect(order).toEqual(["frames of pid 1", "frames of pid 3", "check pid 1", "check pid 3"]);
    expect(s.pending).toBe(0);
  });

  it("ipi: releaseAll (power-off) runs every release, then the checks", () => {
    const cpu = { self: 0, online: 0b11 };
    const s = new Shootdown(logTlb([], ""), { self: () => cpu.self, onlineMask: () => cpu.online, hwId: (i) => i }, { kind: "ipi", send: () => {} });
    const order: string[] = [];
    s.noteActive(1, 3);
    s.flushAsid(3);
    s.afterFlush(() => order.push("frames of pid 1"));
    s.whenReleased(() => order.push("check pid 1"));
    s.flushAsid(3);
    s.afterFlush(() => order.push("frames of pid 3"));
    s.releaseAll();
    expect(order).toEqual(["frames of pid 1", "frames of pid 3", "check pid 1"]);
  });
});
