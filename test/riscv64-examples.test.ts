/**
 * The bundled bare-metal programs produce the output QEMU 7.2 produced for them (recorded in
 * examples/*.expected; test/reference re-checks against QEMU when it is installed), with and
 * without the host fast path, and in the QEMU-compatible flush-on-PTE-write TLB mode.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runBare } from "./support/run-riscv64.js";

const read = (name: string): string => readFileSync(new URL(`../examples/${name}`, import.meta.url), "utf8");

describe.each(["demo-riscv64", "mmu-faults-riscv64"])("examples/%s.S", (name) => {
  const source = read(`${name}.S`);
  const expected = read(`${name}.expected`);

  it("prints exactly what it printed under QEMU and passes", () => {
    const r = runBare({ source });
    expect(r.console).toBe(expected);
    expect(r.result.reason).toBe("pass");
    expect(r.result.exitCode).toBe(0);
  });

  it("runs identically without the host fast path (output, instruction count, traps)", () => {
    const a = runBare({ source });
    const b = runBare({ source }, { noFastPath: true });
    expect(b.console).toBe(a.console);
    expect(b.result.icount).toBe(a.result.icount);
    expect(b.events).toEqual(a.events);
  });

  it("runs identically in the flush-on-PTE-write comparison mode (every case fences)", () => {
    const r = runBare({ source }, { tlb: { l1: { entries: 32, ways: 4 }, split: true, flushOnPteWrite: true } });
    expect(r.console).toBe(expected);
  });
});

describe("the demo's trap sequence", () => {
  it("is: store page fault (demand zero), ecall, load page fault, ecall, load page fault on a kernel page, ecall", () => {
    const r = runBare({ source: read("demo-riscv64.S") });
    const userTraps = r.traps.filter((t) => t.from === "U");
    expect(userTraps.map((t) => [t.cause, t.tval])).toEqual([
      [15, "0x40001000"], [8, "0x0"], [13, "0x40002008"], [8, "0x0"], [13, "0x80000000"], [8, "0x0"],
    ]);
    expect(userTraps.every((t) => t.to === "S")).toBe(true);
  });
});
