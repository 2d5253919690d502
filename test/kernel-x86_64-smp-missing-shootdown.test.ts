/**
 * The x86_64 strict TLB mode catches a kernel that forgets TLB shootdown (the fixture in
 * test/fixtures/buggy-kernel/shootdown.ts: the change is invalidated on the CPU that makes it, and
 * no IPI is ever sent): fork write-protects the parent's pages on one CPU, the parent moves back to
 * a CPU that still caches a writable entry, and its store goes through that entry to the frame it
 * shares with its child.
 * @spec Intel SDM Vol. 3A §4.10.4.1 (INVLPG and MOV to CR3 invalidate on the executing processor
 *       only), §4.10.5 (other processors must be told, by IPI, to invalidate)
 */
import { describe, expect, it, vi } from "vitest";
import { MIGRATING_FORKS_X86 } from "./support/smp-programs-x86_64.js";
import { runKernelX86 } from "./support/run-kernel-x86.js";
import type { StaleTlbReport } from "../emulator/arch/x86_64/tlb-stale.js";
import { KERNEL_VA } from "../boot/x86_64/kernel-boot.js";

vi.mock("../kernel/mm/shootdown.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../kernel/mm/shootdown.js")>();
  const { withoutRemoteFlush } = await import("./fixtures/buggy-kernel/shootdown.js");
  return { ...real, Shootdown: withoutRemoteFlush(real.Shootdown) };
});

/** The PTE's R/W bit. @spec SDM Vol. 3A §4.5 Table 4-19 */
const PTE_RW = 2n;
/** The kernel's SYSCALL entry (LSTAR) and #PF gate entry (vector 14) in its text (boot/x86_64/kernel-boot.ts). */
const SYSCALL_ENTRY = KERNEL_VA + 0x200n, PF_ENTRY = KERNEL_VA + 0x400n + 16n * 14n;

const SCHEDULE = { seed: 1, quantum: 300 };

describe("an x86_64 kernel without TLB shootdown", () => {
  it("is caught by the stale-TLB detector: a store on another CPU uses the writable entry fork revoked", () => {
    const reports: StaleTlbReport[] = [];
    // A seeded interleaving (test/kernel-x86_64-smp.test.ts runs the real kernel with it: no report).
    const r = runKernelX86(MIGRATING_FORKS_X86(), { harts: 2, strictTlb: true, schedule: SCHEDULE, onStaleTlb: (rep) => reports.push(rep) });
    expect(reports.length).toBeGreaterThan(0);
    const store = reports.find((rep) => rep.access === "store" && rep.va === r.symbols.get("byte"))!;
    expect(store).toBeDefined();
    // The parent's store at the top of a round or right after the fork.
    expect([r.symbols.get("round"), r.symbols.get("parent_store")]).toContain(store.pc);
    // The entry is writable; the tables now say read-only (fork's copy-on-write) or another frame.
    expect(store.entry.pte & PTE_RW).toBe(PTE_RW);
    if (store.changes.includes("perm")) expect(store.fresh.pte & PTE_RW).toBe(0n);
    else expect(store.changes).toEqual(["pa"]);
    // The PTE was changed by the kernel (a native entry at CPL 0) on the other CPU.
    expect(store.writer).toMatchObject({ pteAddr: store.entry.pteAddr, priv: "CPL0" });
    expect([SYSCALL_ENTRY, PF_ENTRY]).toContain(store.writer!.pc);
    expect(store.writer!.hart).not.toBe(store.hart);
    // And the damage is real: a child saw the parent's later store.
    expect(r.stdout).toBe("FAIL\n");
  });

  it("the real kernel's program and machine with one CPU: no report, the output is right", () => {
    const reports: StaleTlbReport[] = [];
    const r = runKernelX86(MIGRATING_FORKS_X86(), { harts: 1, strictTlb: true, onStaleTlb: (rep) => reports.push(rep) });
    expect([reports.length, r.stdout]).toEqual([0, "ok\n"]);
  });
});
