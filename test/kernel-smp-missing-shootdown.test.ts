/**
 * The stale-TLB detector catches a kernel that forgets TLB shootdown (the fixture in
 * test/fixtures/buggy-kernel/shootdown.ts flushes only the hart that changes a mapping): fork
 * write-protects the parent's pages on one hart, the parent moves back to a hart that still caches
 * a writable entry, and its store goes through that entry to the frame it shares with its child.
 * @spec RV-S §"Supervisor Memory-Management Fence Instruction": SFENCE.VMA orders only the local hart
 */
import { describe, expect, it, vi } from "vitest";
import { MIGRATING_FORKS } from "./support/smp-programs.js";
import { runKernel } from "./support/run-kernel.js";
import type { StaleTlbReport } from "../emulator/arch/riscv64/stale-tlb.js";
import { PTE } from "../emulator/arch/riscv64/defs.js";
import { KERNEL_VA } from "../boot/riscv64/kernel-boot.js";

vi.mock("../kernel/mm/shootdown.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../kernel/mm/shootdown.js")>();
  const { withoutRemoteFlush } = await import("./fixtures/buggy-kernel/shootdown.js");
  return { ...real, Shootdown: withoutRemoteFlush(real.Shootdown) };
});

describe("a kernel without TLB shootdown", () => {
  it("is caught by the stale-TLB detector: a store on another hart uses the writable entry fork revoked", () => {
    const reports: StaleTlbReport[] = [];
    const r = runKernel(MIGRATING_FORKS(), { harts: 2, strictTlb: true, onStaleTlb: (rep) => reports.push(rep) });
    expect(reports.length).toBeGreaterThan(0);
    const store = reports.find((rep) => rep.access === "store" && rep.va === r.symbols.get("byte"))!;
    expect(store).toBeDefined();
    // The parent's store at the top of a round or right after the fork.
    expect([r.symbols.get("round"), r.symbols.get("parent_store")]).toContain(store.pc);
    // The entry is writable; the table now says read-only (fork's copy-on-write) or another frame
    // (the copy another hart made when the page was written there).
    expect(store.entry.pte & BigInt(PTE.W)).toBe(BigInt(PTE.W));
    if (store.changes.includes("perm")) expect(store.fresh.pte & BigInt(PTE.W)).toBe(0n);
    else expect(store.changes).toEqual(["pa"]);
    // The PTE was changed by the kernel (its trap vector, S-mode) on a hart other than the one using the entry.
    expect(store.writer).toMatchObject({ pteAddr: store.entry.pteAddr, priv: "S", pc: KERNEL_VA + 0x100n });
    expect(store.writer!.hart).not.toBe(store.hart);
    // And the damage is real: a child saw the parent's later store.
    expect(r.stdout).toBe("FAIL\n");
  });

  it("the real kernel, same program and machine: no report, the output is right", () => {
    // (Same file, so the same mocked module: this checks the program needs the shootdown.)
    const reports: StaleTlbReport[] = [];
    const r = runKernel(MIGRATING_FORKS(), { harts: 1, strictTlb: true, onStaleTlb: (rep) => reports.push(rep) });
    expect([reports.length, r.stdout]).toEqual([0, "ok\n"]);
  });
});
