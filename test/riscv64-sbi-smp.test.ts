/**
 * The SBI firmware's multi-hart services seen from an S-mode payload: HSM start/stop/status, IPIs,
 * and remote fences that act on the target harts' TLBs, with the error codes the SBI spec gives.
 * @spec RISC-V SBI specification v2.0 chapters 7 (IPI), 8 (RFENCE), 9 (HSM)
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bootKernel } from "../boot/riscv64/kernel-boot.js";
import { bootSbi, SBI_PAYLOAD_BASE } from "../boot/riscv64/sbi-boot.js";
import type { IpiFault } from "../boot/riscv64/sbi-smp.js";
import { createRiscvVirt, type RiscvVirtOptions } from "../boot/riscv64/virt.js";
import type { TlbInvalidateTraceEvent, TraceEvent } from "../emulator/core/trace.js";
import { assembleRiscv64 } from "../tools/asm/riscv64/index.js";

const read = (name: string): string => readFileSync(new URL(`../examples/${name}`, import.meta.url), "utf8");

/** Boots `source` as an S-mode payload on the firmware and runs it; `arm` may arm IPI faults first. */
function runSbi(source: string, opts: RiscvVirtOptions = {}, arm: IpiFault[] = []) {
  const asm = assembleRiscv64(source, { fileName: "payload.S", base: SBI_PAYLOAD_BASE });
  let out = "";
  const log: string[] = [];
  const v = createRiscvVirt({ ...opts, console: (b) => { out += String.fromCharCode(b); } });
  bootSbi(v, asm.elf, (l) => log.push(l));
  const faultTimes: number[] = [];
  v.sbi!.onFault = (l) => { log.push(l); faultTimes.push(v.machine.now()); };
  for (const f of arm) v.sbi!.armIpiFault(f);
  const events: TraceEvent[] = [];
  v.machine.setTrace((e) => events.push(e));
  const result = v.machine.run({ maxInsns: 2_000_000 });
  /** The dword at `label` (+ `offset` bytes), signed. */
  const word = (label: string, offset = 0): bigint => {
    v.machine.bus.read(Number(asm.symbols.get(label)!) + offset, 8);
    return BigInt.asIntN(64, (BigInt(v.machine.bus.hi) << 32n) | BigInt(v.machine.bus.lo >>> 0));
  };
  return { result, out, log, events, word, v, faultTimes };
}

/** Stores the SBI call's a0 (error) at `label`. */
const call = (eid: string, fid: number, args: string[], label: string): string => `
    ${args.map((a, i) => `li a${i}, ${a}`).join("\n    ")}
    li      a6, ${fid}
    li      a7, ${eid}
    ecall
    la      t0, ${label}
    sd      a0, 0(t0)
    sd      a1, 8(t0)`;

const HEAD = `
    .equ HSM, 0x48534D
    .equ RFENCE, 0x52464E43
    .equ SRST, 0x53525354
    .text
    .globl _start
_start:
`;
const SHUTDOWN = `li a0, 0; li a1, 0; li a6, 0; li a7, SRST; ecall`;

describe("examples/sbi-smp-riscv64.S", () => {
  it("starts harts 1-3, sleeps until they check in (woken by their IPIs), sees them stopped again, under any schedule", () => {
    const expected = read("sbi-smp-riscv64.expected");
    for (const schedule of [{}, { seed: 8, quantum: 4 }]) {
      const r = runSbi(read("sbi-smp-riscv64.S"), { harts: 4, schedule });
      expect({ schedule, out: r.out, exit: r.result.exitCode }).toEqual({ schedule, out: expected, exit: 0 });
    }
  });
});

describe("IPI faults (fault injection)", () => {
  const source = read("sbi-smp-riscv64.S");
  const ssiTraps = (events: TraceEvent[]) => events.filter((e) => e.type === "trap" && e.interrupt && e.cause === 1 && e.hart === 0).map((e) => (e as { icount: number }).icount);

  it("lost IPIs: hart 0 sleeps before the others check in, no wake-up ever comes, and the machine stops as a hang (exit 125)", () => {
    const lose: IpiFault[] = [{ mode: "lose" }, { mode: "lose" }, { mode: "lose" }];
    const r = runSbi(source, { harts: 4 }, lose);
    expect(r.log).toEqual(["inject: IPI to hart 0 lost", "inject: IPI to hart 0 lost", "inject: IPI to hart 0 lost"]);
    expect(r.result.reason).toBe("wfi-hang");
    expect(r.result.exitCode).toBe(125);
    expect(ssiTraps(r.events)).toHaveLength(0);
  });

  it("one lost IPI is covered by the later ones: the run completes with the same output", () => {
    const plain = runSbi(source, { harts: 4 });
    const r = runSbi(source, { harts: 4 }, [{ mode: "lose" }]);
    expect([r.out, r.result.exitCode]).toEqual([plain.out, 0]);
  });

  it("delayed IPIs arrive later and the run completes with the same output", () => {
    const plain = runSbi(source, { harts: 4 });
    const delay: IpiFault[] = [0, 1, 2].map(() => ({ mode: "delay", ticks: 50_000 }));
    const late = runSbi(source, { harts: 4 }, delay);
    expect(late.log).toEqual(Array(3).fill("inject: IPI to hart 0 delayed 50000 ticks"));
    expect([late.out, late.result.exitCode]).toEqual([plain.out, 0]);
    expect(ssiTraps(late.events).length).toBeGreaterThan(0);
    // hart 0 sleeps until a delayed IPI wakes it: the run cannot end before the first one arrives
    expect(late.v.machine.now()).toBeGreaterThanOrEqual(late.faultTimes[0]! + 50_000);
  });
});

describe("HSM", () => {
  it("status, and the errors: start a running hart (ALREADY_AVAILABLE), an unknown hart (INVALID_PARAM), stop the last hart (FAILED)", () => {
    const r = runSbi(`${HEAD}
    ${call("HSM", 2, ["0"], "status0")}
    ${call("HSM", 2, ["1"], "status1")}
    ${call("HSM", 0, ["0", "0x80200000", "0"], "startSelf")}
    ${call("HSM", 0, ["7", "0x80200000", "0"], "startUnknown")}
    ${call("HSM", 2, ["7"], "statusUnknown")}
    ${call("HSM", 1, [], "stopLast")}
    ${SHUTDOWN}
    .data
    .balign 8
status0: .dword 9, 9
status1: .dword 9, 9
startSelf: .dword 9, 9
startUnknown: .dword 9, 9
statusUnknown: .dword 9, 9
stopLast: .dword 9, 9
`, { harts: 2 });
    expect(r.result.exitCode).toBe(0);
    expect([r.word("status0"), r.word("status0", 8)]).toEqual([0n, 0n]); // SUCCESS, STARTED
    expect([r.word("status1"), r.word("status1", 8)]).toEqual([0n, 1n]); // SUCCESS, STOPPED
    expect(r.word("startSelf")).toBe(-6n);
    expect(r.word("startUnknown")).toBe(-3n);
    expect(r.word("statusUnknown")).toBe(-3n);
    expect(r.word("stopLast")).toBe(-1n);
  });
});

describe("RFENCE", () => {
  const invalidations = (events: TraceEvent[], hart: number) =>
    events.filter((e): e is TlbInvalidateTraceEvent => e.type === "tlb-invalidate" && e.hart === hart && e.kind !== "reset").map((e) => [e.kind, e.va, e.asid]);

  it("remote_sfence_vma fences each page of the range on the target hart only; a large range is one full fence", () => {
    const r = runSbi(`${HEAD}
    ${call("RFENCE", 1, ["2", "0", "0x40001000", "0x2000"], "r1")}
    ${call("RFENCE", 2, ["2", "0", "0x40001000", "0x1000", "5"], "r2")}
    ${call("RFENCE", 1, ["2", "0", "0", "0x10000000"], "r3")}
    ${call("RFENCE", 1, ["1", "5", "0", "0"], "r4")}
    ${SHUTDOWN}
    .data
    .balign 8
r1: .dword 9, 9
r2: .dword 9, 9
r3: .dword 9, 9
r4: .dword 9, 9
`, { harts: 2 });
    expect(r.result.exitCode).toBe(0);
    expect([r.word("r1"), r.word("r2"), r.word("r3"), r.word("r4")]).toEqual([0n, 0n, 0n, -3n]);
    expect(invalidations(r.events, 1)).toEqual([
      ["sfence.vma va", "0x40001000", undefined],
      ["sfence.vma va", "0x40002000", undefined],
      ["sfence.vma va+asid", "0x40001000", 5],
      ["sfence.vma all", undefined, undefined],
    ]);
    expect(invalidations(r.events, 0)).toEqual([]);
  });
});

describe("the kernel on a machine with several harts", () => {
  it("boots on hart 0, starts the others through HSM hart_start, and prints what it prints on one hart", () => {
    const program = assembleRiscv64(read("kernel/fork.S")).elf;
    const outs = [1, 4].map((harts) => {
      let out = "";
      const log: string[] = [];
      const km = bootKernel({ program, args: ["fork"], harts, console: (b) => { out += String.fromCharCode(b); }, log: (l) => log.push(l) });
      const r = km.machine.run({ maxInsns: 5_000_000 });
      return { out, exit: r.exitCode, stopped: [...km.machine.stopped], log };
    });
    expect(outs[1]!.out).toBe(outs[0]!.out);
    expect(outs[1]!.exit).toBe(0);
    expect(outs[1]!.stopped).toEqual([0, 0, 0, 0]);
    expect(outs[1]!.log.filter((l) => l.includes("online"))).toEqual([1, 2, 3].map((i) => `kernel: cpu ${i} (hardware id ${i}) online`));
  });
});
