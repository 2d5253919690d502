/**
 * Device-tree fuzzing: parseFdtBlob returns a tree or throws FdtError (never another error, never a
 * hang) for arbitrary bytes and for mutations of the riscv64-virt blob (header offsets and sizes,
 * tokens, property lengths and name offsets, truncation), and the lookup helpers on whatever it
 * returns throw FdtError only. The firmware's boot-info step, which reads the tree from RAM, must
 * turn a bad tree into a BootError (which `multios` reports as a boot error): from memoryMapFromDtb,
 * and out of machine.run when the firmware boots the kernel; never another host exception, and
 * never a kernel oops (a tree that invents RAM is refused by the firmware: regressions.test.ts).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FdtError, fdtGetRegs, fdtGetStrings, fdtGetU32, type FdtNode, findNode, parseFdtBlob } from "../../boot/fdt.js";
import { bootKernel } from "../../boot/riscv64/kernel-boot.js";
import { memoryMapFromDtb } from "../../boot/dtb-memory-map.js";
import { BootError, MemoryRegionKind } from "../../kernel/mm/phys/regions.js";
import { assembleRiscv64 } from "../../tools/asm/riscv64/index.js";
import { applyFdtMutations, fdtMutationsArb, VIRT_DTB } from "./support/fdt-mutate.js";
import { fuzzParams, fuzzTimeout, PARSE_TIME_LIMIT_MS } from "./support/params.js";

/** Runs `f`; passes when it returns or throws `type`, rethrowing anything else. */
function returnsOr<T>(type: new (...a: never[]) => Error, f: () => T): T | Error {
  try {
    return f();
  } catch (e) {
    if (e instanceof type) return e;
    throw e;
  }
}

/** Every node of a tree, depth first, with its depth (root 1). */
function nodes(root: FdtNode): { node: FdtNode; depth: number }[] {
  const out: { node: FdtNode; depth: number }[] = [];
  const stack = [{ node: root, depth: 1 }];
  while (stack.length > 0) {
    const e = stack.pop()!;
    out.push(e);
    for (const c of e.node.children) stack.push({ node: c, depth: e.depth + 1 });
  }
  return out;
}

/** Parses `blob` (timed) and, if it parses, reads every property with every helper. */
function parseAndRead(blob: Uint8Array): void {
  const t0 = performance.now();
  const r = returnsOr(FdtError, () => parseFdtBlob(blob));
  expect(performance.now() - t0).toBeLessThan(PARSE_TIME_LIMIT_MS);
  if (r instanceof Error) return;
  expect(r.root.name).toBe("");
  for (const { node, depth } of nodes(r.root)) {
    expect(depth).toBeLessThanOrEqual(64);
    for (const [name, value] of node.props) {
      expect(value.buffer).not.toBe(blob.buffer);
      returnsOr(FdtError, () => fdtGetU32(node, name));
      returnsOr(FdtError, () => fdtGetStrings(node, name));
      for (const [ac, sc] of [[2, 2], [1, 0], [2, 1], [4, 4]] as const) returnsOr(FdtError, () => fdtGetRegs(node, name, ac, sc));
    }
  }
  findNode(r.root, "/soc/serial@10000000");
  findNode(r.root, "/cpus/cpu");
}

/** Used RAM as the kernel boot describes it to memoryMapFromDtb. */
const CARVES = [
  { base: 0x8000_0000, size: 0x20_0000, kind: MemoryRegionKind.Reserved },
  { base: 0x8020_0000, size: 0x40_0000, kind: MemoryRegionKind.KernelAndModules },
  { base: 0x87e0_0000, size: VIRT_DTB.length, kind: MemoryRegionKind.Reserved },
];

describe("parseFdtBlob returns a tree or throws FdtError", () => {
  it("for arbitrary bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (b) => parseAndRead(b)), fuzzParams(500, 0xfd7001));
  });

  it("for arbitrary bytes behind a valid header", () => {
    const arb = fc.uint8Array({ minLength: 0, maxLength: 400 }).map((tail) => {
      const b = new Uint8Array(40 + tail.length);
      const dv = new DataView(b.buffer);
      [0xd00dfeed, b.length, 56, 40 + Math.floor(tail.length / 2), 40, 17, 16, 0, tail.length - Math.floor(tail.length / 2), Math.max(0, Math.floor(tail.length / 2) - 16)]
        .forEach((v, i) => dv.setUint32(4 * i, v >>> 0));
      b.set(tail, 40);
      return b;
    });
    fc.assert(fc.property(arb, (b) => parseAndRead(b)), fuzzParams(500, 0xfd7002));
  });

  it("for mutations of the riscv64-virt blob, and its lookups throw FdtError only", () => {
    expect(parseFdtBlob(VIRT_DTB).root.children.length).toBeGreaterThan(0);
    fc.assert(fc.property(fdtMutationsArb(VIRT_DTB), (ms) => parseAndRead(applyFdtMutations(VIRT_DTB, ms))), fuzzParams(800, 0xfd7003));
  });
});

describe("the firmware's memory map from a mutated device tree", () => {
  it("is a memory map or a BootError", () => {
    fc.assert(fc.property(fdtMutationsArb(VIRT_DTB), (ms) => {
      try {
        memoryMapFromDtb(applyFdtMutations(VIRT_DTB, ms), CARVES);
      } catch (e) {
        if (!(e instanceof BootError)) throw e;
      }
    }), fuzzParams(800, 0xfd7004));
  });

  it("never makes the firmware's boot of the kernel throw anything but a BootError, nor the kernel oops", () => {
    const program = assembleRiscv64(".text\n.globl _start\n_start: li a0, 0\n li a7, 93\n ecall\n", { fileName: "exit.S" }).elf;
    fc.assert(fc.property(fdtMutationsArb(VIRT_DTB), (ms) => {
      const log: string[] = [];
      const km = bootKernel({ program, args: ["exit"], ramSize: 16 << 20, log: (l) => log.push(l) });
      km.machine.bus.load(km.dtbAddr, applyFdtMutations(km.dtb, ms));
      try {
        const r = km.machine.run({ maxInsns: 1_000_000 });
        expect(["pass", "fail"]).toContain(r.reason);
        expect(log.find((l) => l.startsWith("kernel oops"))).toBeUndefined();
      } catch (e) {
        if (e instanceof BootError) expect(e.message).toMatch(/^firmware: /);
        else throw e;
      }
    }), fuzzParams(150, 0xfd7005));
  }, fuzzTimeout(150, 500));
});
