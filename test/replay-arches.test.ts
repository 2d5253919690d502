/**
 * Record and replay on arm64-virt and x86_64-pc (docs/replay.md), as test/replay.test.ts checks it
 * on riscv64: a recorded kernel run replays identically to the instruction; an edited record
 * diverges at the edited trap's instruction, or at the first checkpoint after the state changed,
 * naming the registers that differ; a campaign run with a memory error announced by the platform's
 * own notification (SError, machine check) replays identically too.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assemble } from "../tools/asm/index.js";
import { loadPlan } from "../tools/campaign/plan.js";
import { parseRecord, recordCampaignRun, recordRun, replayRecord, type RunRecordFile } from "../tools/replay/index.js";
import type { RunSpec } from "../tools/replay/spec.js";

const quiet = { console: () => {}, log: () => {} };

/** Parent and child each spin long enough to be preempted by the timer, then the parent waits and both print. */
const SPINNERS = {
  arm64: `
        .equ    SYS_write, 64
        .equ    SYS_exit, 93
        .equ    SYS_clone, 220
        .equ    SYS_wait4, 260
        .text
        .globl  _start
_start: mov     x0, #17
        mov     x1, #0
        mov     x2, #0
        mov     x3, #0
        mov     x4, #0
        mov     x8, #SYS_clone
        svc     #0
        mov     x19, x0
        mov     x9, #0xd400
        movk    x9, #0x3, lsl #16
spin:   sub     x9, x9, #1
        cbnz    x9, spin
        adr     x1, child
        cbz     x19, print
        mov     x0, #-1
        mov     x1, #0
        mov     x2, #0
        mov     x3, #0
        mov     x8, #SYS_wait4
        svc     #0
        adr     x1, parent
print:  mov     x0, #1
        mov     x2, #6
        mov     x8, #SYS_write
        svc     #0
        mov     x0, #0
        mov     x8, #SYS_exit
        svc     #0
child:  .ascii  "child\\n"
parent: .ascii  "paren\\n"
`,
  x86_64: `
        .text
        .globl  _start
_start: mov     $57, %eax
        syscall
        mov     %rax, %rbx
        mov     $250000, %ecx
spin:   dec     %ecx
        jnz     spin
        lea     child(%rip), %rsi
        test    %rbx, %rbx
        jz      print
        mov     $-1, %rdi
        xor     %esi, %esi
        xor     %edx, %edx
        xor     %r10d, %r10d
        mov     $61, %eax
        syscall
        lea     parent(%rip), %rsi
print:  mov     $1, %edi
        mov     $6, %edx
        mov     $1, %eax
        syscall
        xor     %edi, %edi
        mov     $60, %eax
        syscall
child:  .ascii  "child\\n"
parent: .ascii  "paren\\n"
`,
} as const;

const ARCHES = ["arm64", "x86_64"] as const;

const spec = (arch: (typeof ARCHES)[number]): RunSpec => ({
  arch, bare: false, image: { name: "spinners", bytes: assemble(arch, SPINNERS[arch]).elf }, args: ["spinners"], files: [],
  seed: 7, aslr: true, debug: false, tlbFlushOnPteWrite: false, svadu: false, sv39: false, noFastPath: false, strictTlb: false,
});

const copy = (r: RunRecordFile): RunRecordFile => JSON.parse(JSON.stringify(r)) as RunRecordFile;

describe.each(ARCHES)("record and replay on %s", (arch) => {
  const recorded = recordRun(spec(arch), quiet, 20_000);
  const { record } = recorded;

  it("the run is a real one: timer interrupts among the traps, both processes print, exit 0", () => {
    expect(record.arch).toBe(arch);
    expect(record.end.exitCode).toBe(0);
    expect(record.end.output).toBe(12);
    // arm64: the IRQ vector offset 0x80 in the cause's high word; x86_64: the timer vector 32 as an external interrupt (+256).
    const timer = record.traps.filter((t) => (arch === "arm64" ? Math.floor(t[1] / 2 ** 32) === 0x80 : t[1] === 256 + 32));
    expect(timer.length).toBeGreaterThan(2);
    expect(record.checkpoints.length).toBe(Math.floor(record.end.icount / 20_000));
  });

  it("stopping at checkpoints changes nothing the guest sees", () => {
    const coarse = recordRun(spec(arch), quiet, 1e9).record;
    expect(coarse.traps).toEqual(record.traps);
    expect(coarse.end).toEqual(record.end);
  });

  it("an untouched record replays identically, from its JSON alone", () => {
    const r = replayRecord(parseRecord(JSON.stringify(record)), quiet);
    expect(r.divergence).toBeUndefined();
    expect(r.icount).toBe(record.end.icount);
    expect(r.traps).toBe(record.traps.length);
    expect(r.what).toBe(`${arch} kernel run of spinners (seed 7)`);
  });

  it("an edited trap diverges at that trap's instruction, with both versions in the architecture's terms", () => {
    const r = copy(record);
    const k = 5;
    r.traps[k]![3] = "0xdead";
    const rep = replayRecord(r, quiet);
    expect(rep.divergence!.icount).toBe(record.traps[k]![0]);
    const [want, got] = rep.divergence!.details;
    expect(want).toMatch(new RegExp(`^trap #${k}: recorded .* at instruction ${record.traps[k]![0]}, ${arch === "arm64" ? "ELR" : "rip"} 0xdead`));
    expect(got).toMatch(new RegExp(`^trap #${k}: replay   .* at instruction ${record.traps[k]![0]}, ${arch === "arm64" ? "ELR" : "rip"} ${record.traps[k]![3]}`));
  });

  it("a different ASLR seed diverges by the first checkpoint, and the report names the registers that differ", () => {
    const r = copy(record);
    r.run!.seed = 8;
    const rep = replayRecord(r, quiet);
    expect(rep.divergence!.icount).toBeLessThanOrEqual(record.checkpoints[0]!.icount);
    expect(rep.divergence!.details.join("\n")).toMatch(arch === "arm64" ? /(sp|x\d+): recorded 0x[0-9a-f]+, replay 0x[0-9a-f]+|trap #\d+/ : /(rsp|r[a-z0-9]+): recorded 0x[0-9a-f]+, replay 0x[0-9a-f]+|trap #\d+/);
  });
});

describe.each(ARCHES)("a %s campaign run with a memory error", (arch) => {
  it("the platform's notification is a recorded trap (SError EC 0x2f / #MC vector 18), and the record replays identically", () => {
    const loaded = loadPlan(new URL(`../examples/campaign/fork-mmap-${arch}.campaign.json`, import.meta.url).pathname);
    let found = false;
    for (let run = 0; run < 12 && !found; run++) {
      const { summary, record } = recordCampaignRun(loaded.plan, loaded.program, run, 50);
      if (!summary.injections.some((i) => i.point === "bad-frame")) continue;
      found = true;
      const notification = record.traps.filter((t) => (arch === "arm64" ? Math.floor(t[1] / 2 ** 32) === 0x180 && (t[1] % 2 ** 32) >>> 26 === 0x2f : t[1] === 18));
      expect(notification).toHaveLength(1);
      if (arch === "arm64") expect((record.traps.find((t) => t === notification[0])![1] % 2 ** 32) & 0x1ffffff).toBe((0b010 << 10) | 0x11); // AET UEO, DFSC 0x11
      expect(summary.outcome).toBe("killed");
      const rep = replayRecord(parseRecord(JSON.stringify(record)), quiet);
      expect(rep.divergence).toBeUndefined();
    }
    expect(found).toBe(true);
  });
});

describe.each(ARCHES)("multios run --arch %s --record, then multios replay", (arch) => {
  const BIN = new URL("../bin/multios.js", import.meta.url).pathname;
  const dir = mkdtempSync(join(tmpdir(), "multios-replay-"));
  const multios = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 60_000 });

  it("records a kernel run, replays it identically (exit 0), and reports an edited record's first divergence (exit 1)", () => {
    const prog = join(dir, `spinners-${arch}.S`);
    writeFileSync(prog, SPINNERS[arch]);
    const file = join(dir, `${arch}.record.json`);
    const run = multios("run", "--arch", arch, prog, "--record", file, "--checkpoint-every", "50000");
    expect(run.status).toBe(0);
    expect(run.stdout).toBe("child\nparen\n");
    const same = multios("replay", file);
    expect(same.status).toBe(0);
    expect(same.stdout).toMatch(new RegExp(`^replay of ${arch} kernel run of spinners-${arch} \\(seed 0\\): identical to the record`));
    const rec = JSON.parse(readFileSync(file, "utf8")) as RunRecordFile;
    rec.checkpoints[1]!.hash = "0000000000000000";
    writeFileSync(file, JSON.stringify(rec));
    const edited = multios("replay", file);
    expect(edited.status).toBe(1);
    expect(edited.stdout).toContain(`first divergence at instruction ${rec.checkpoints[1]!.icount} (the state matched at instruction ${rec.checkpoints[0]!.icount})`);
  });
});
