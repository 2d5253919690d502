/**
 * The arm64 stale-TLB detector catches a kernel that invalidates with the local TLBI forms where it
 * needs the Inner Shareable ones (the fixture in test/fixtures/buggy-kernel/arm64-local-tlbi.ts):
 * fork write-protects the parent's pages on one CPU, the parent moves back to a CPU that still
 * caches a writable entry, and its store goes through that entry to the frame it shares with its
 * child.
 * @spec Arm ARM D8.17 "TLB maintenance instructions": TLBI VAE1 affects only the executing PE's
 *   TLBs; only the IS forms reach the other PEs of the Inner Shareable domain
 */
import { describe, expect, it, vi } from "vitest";
import { MIGRATING_FORKS_ARM64 } from "./support/smp-programs-arm64.js";
import { runKernelArm64 } from "./support/run-kernel-arm64.js";
import type { StaleTlbReport } from "../emulator/arch/arm64/bbm.js";
import { KERNEL_VA } from "../boot/arm64/kernel-boot.js";

vi.mock("../kernel/arch/arm64/tlb.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../kernel/arch/arm64/tlb.js")>();
  const { localTlbiOnly } = await import("./fixtures/buggy-kernel/arm64-local-tlbi.js");
  return { ...real, arm64Tlb: localTlbiOnly(real.arm64Tlb) };
});

/** Descriptor bit 7, AP[2]: set = read-only at every EL. @spec Arm ARM D8.4.1 "Data access permissions" */
const AP2_READ_ONLY = 1n << 7n;
/** The lower-EL AArch64 synchronous vector: the kernel's fault and system-call entry. */
const SYNC_FROM_EL0 = KERNEL_VA + 0x800n + 0x400n;

describe("an arm64 kernel with local TLBIs where broadcasts are needed", () => {
  it("is caught by strict mode: a store on another CPU uses the writable entry fork revoked", () => {
    const r = runKernelArm64(MIGRATING_FORKS_ARM64(), { cpus: 2, strictTlb: true });
    const stale = r.reports.filter((rep): rep is StaleTlbReport => rep.kind === "stale-tlb");
    expect(stale.length).toBeGreaterThan(0);
    const store = stale.find((rep) => rep.access === "store" && rep.va === r.symbols.get("byte"))!;
    expect(store).toBeDefined();
    // The parent's store at the top of a round or right after the fork, on CPU 0 or 1.
    expect([r.symbols.get("round"), r.symbols.get("parent_store")]).toContain(store.where!.pc);
    expect([0, 1]).toContain(store.where!.cpu);
    // The entry is writable; the tables now say read-only (fork's copy-on-write) or another frame
    // (the copy the other CPU made when the page was written there).
    expect(store.entry.desc & AP2_READ_ONLY).toBe(0n);
    if (store.changes.includes("perm")) expect(store.fresh.desc & AP2_READ_ONLY).toBe(AP2_READ_ONLY);
    else expect(store.changes).toEqual(["pa"]);
    expect(store.fresh.descAddr).toBe(store.entry.descAddr);
    // The descriptor was last written by the kernel (its EL0 sync vector) on the other CPU.
    expect(store.writer).toMatchObject({ pc: SYNC_FROM_EL0 });
    expect(store.writer!.cpu).not.toBe(store.where!.cpu);
    // And the damage is real: a child saw the parent's later store.
    expect(r.stdout).toBe("FAIL\n");
  });

  it("the same kernel on one CPU, same program: no report, the output is right", () => {
    // (Same file, so the same mocked module: with one CPU the local forms are all it needs.)
    const r = runKernelArm64(MIGRATING_FORKS_ARM64(), { cpus: 1, strictTlb: true });
    expect([r.reports.length, r.stdout]).toEqual([0, "ok\n"]);
  });
});
