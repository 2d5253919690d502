import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  buildFdt, encodeFdtValue, FDT_MAX_DEPTH, FdtBuilder, FdtError, fdtGetRegs, fdtGetString, fdtGetStrings, fdtGetU32,
  fdtNode, type FdtNode, findNode, parseFdt, parseFdtBlob,
} from "../boot/fdt.js";
import { buildRiscvVirtDtb, riscvVirtTree, VIRT_MEMORY_MAP } from "../boot/riscv64/virt-dtb.js";

const VIRT_CFG = {
  ramBase: 0x80000000, ramSize: 0x8000000, harts: 2, isa: "rv64imac_zicsr_zifencei", mmuType: "riscv,sv48",
  timebaseHz: 10_000_000, bootargs: "console=ttyS0 earlycon",
};

function sample(): FdtNode {
  return fdtNode("", { "#address-cells": 2, "#size-cells": 2, compatible: "test,board", model: "Test" }, [
    fdtNode("chosen", { bootargs: "console=ttyS0 — ünïcode" }),
    fdtNode("memory@80000000", { device_type: "memory", reg: [0, 0x80000000, 0, 0x1000000] }),
    fdtNode("soc", { ranges: [], big: 0x1122334455667788n, bytes: Uint8Array.from([1, 2, 3]), compatible: ["a", "b"] }, [
      fdtNode("dev@1000", { reg: [0, 0x1000, 0, 0x100] }),
    ]),
  ]);
}

/** Returns the FdtError message parseFdt throws, failing the test on any other outcome. */
function fdtError(bytes: Uint8Array): string {
  try {
    parseFdt(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(FdtError);
    return (e as FdtError).message;
  }
  throw new Error("parseFdt accepted the input");
}

const header = (dtb: Uint8Array, i: number): number => new DataView(dtb.buffer, dtb.byteOffset).getUint32(i * 4);
const patched = (dtb: Uint8Array, edit: (dv: DataView) => void): Uint8Array => {
  const b = dtb.slice();
  edit(new DataView(b.buffer));
  return b;
};

describe("buildFdt writes a version 17 DTB", () => {
  it("header fields: magic, sizes, aligned block offsets, versions", () => {
    const dtb = buildFdt(sample(), { bootCpuId: 1 });
    expect(header(dtb, 0)).toBe(0xd00dfeed);
    expect(header(dtb, 1)).toBe(dtb.length);
    const [structOff, stringsOff, rsvOff] = [header(dtb, 2), header(dtb, 3), header(dtb, 4)];
    expect(rsvOff % 8).toBe(0);
    expect(rsvOff).toBeGreaterThanOrEqual(40);
    expect(structOff % 4).toBe(0);
    expect(header(dtb, 5)).toBe(17);
    expect(header(dtb, 6)).toBe(16);
    expect(header(dtb, 7)).toBe(1);
    expect(stringsOff + header(dtb, 8)).toBe(dtb.length);
    expect(structOff + header(dtb, 9)).toBe(stringsOff);
    expect(header(dtb, 9) % 4).toBe(0);
  });

  it("property names are stored once in the strings block", () => {
    const dtb = buildFdt(sample());
    const strings = new TextDecoder().decode(dtb.subarray(header(dtb, 3)));
    expect(strings.split("\0").filter((s) => s === "reg")).toHaveLength(1);
  });

  it("round trip: parseFdt(buildFdt(tree)) equals the tree, with reservations and boot cpu", () => {
    const tree = sample();
    expect(parseFdt(buildFdt(tree))).toEqual(tree);
    const reservations = [{ address: 0x80000000n, size: 0x200000n }];
    const blob = parseFdtBlob(buildFdt(tree, { reservations, bootCpuId: 3 }));
    expect(blob.reservations).toEqual(reservations);
    expect(blob.bootCpuId).toBe(3);
    expect(blob.root).toEqual(tree);
  });

  it("FdtBuilder builds the same tree as fdtNode", () => {
    const built = new FdtBuilder()
      .begin("").prop("#address-cells", 2).prop("#size-cells", 2).prop("compatible", "test,board").prop("model", "Test")
      .begin("chosen").prop("bootargs", "console=ttyS0 — ünïcode").end()
      .begin("memory@80000000").prop("device_type", "memory").prop("reg", [0, 0x80000000, 0, 0x1000000]).end()
      .begin("soc").prop("ranges", []).prop("big", 0x1122334455667788n).prop("bytes", Uint8Array.from([1, 2, 3])).prop("compatible", ["a", "b"])
      .begin("dev@1000").prop("reg", [0, 0x1000, 0, 0x100]).end()
      .end()
      .end()
      .finish();
    expect(built).toEqual(sample());
    expect(() => new FdtBuilder().begin("").finish()).toThrow(/open node/);
    expect(() => new FdtBuilder().end()).toThrow(/no open node/);
    expect(() => new FdtBuilder().prop("x", 1)).toThrow(/no open node/);
  });

  it("values encode as big-endian cells and NUL-terminated strings", () => {
    expect(Array.from(encodeFdtValue(0x01020304))).toEqual([1, 2, 3, 4]);
    expect(Array.from(encodeFdtValue(0x1122334455667788n))).toEqual([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
    expect(Array.from(encodeFdtValue("ab"))).toEqual([0x61, 0x62, 0]);
    expect(Array.from(encodeFdtValue(["a", "b"]))).toEqual([0x61, 0, 0x62, 0]);
    expect(Array.from(encodeFdtValue([1, 2]))).toEqual([0, 0, 0, 1, 0, 0, 0, 2]);
    expect(encodeFdtValue([]).length).toBe(0);
    expect(() => encodeFdtValue(-1)).toThrow(RangeError);
    expect(() => encodeFdtValue(2 ** 32)).toThrow(RangeError);
    expect(() => encodeFdtValue(1n << 64n)).toThrow(RangeError);
  });

  it("node names are checked", () => {
    expect(() => buildFdt(fdtNode("root"))).toThrow(RangeError);
    expect(() => buildFdt(fdtNode("", {}, [fdtNode("a/b")]))).toThrow(RangeError);
  });
});

describe("lookup helpers", () => {
  const root = parseFdt(buildFdt(sample()));

  it("findNode matches full names and names without a unit address", () => {
    expect(findNode(root, "/")).toBe(root);
    expect(findNode(root, "/soc/dev@1000")?.name).toBe("dev@1000");
    expect(findNode(root, "/memory")?.name).toBe("memory@80000000");
    expect(findNode(root, "/soc/dev@2000")).toBeUndefined();
    expect(findNode(root, "/nope/dev")).toBeUndefined();
  });

  it("fdtGetU32, fdtGetString(s) and fdtGetRegs decode values and reject wrong shapes", () => {
    expect(fdtGetU32(root, "#address-cells")).toBe(2);
    expect(fdtGetU32(root, "absent")).toBeUndefined();
    expect(() => fdtGetU32(root, "model")).toThrow(FdtError);
    expect(fdtGetString(root, "model")).toBe("Test");
    expect(fdtGetString(findNode(root, "/chosen")!, "bootargs")).toBe("console=ttyS0 — ünïcode");
    expect(fdtGetStrings(findNode(root, "/soc")!, "compatible")).toEqual(["a", "b"]);
    expect(() => fdtGetString(root, "#size-cells")).toThrow(FdtError);
    expect(fdtGetRegs(findNode(root, "/memory")!, "reg", 2, 2)).toEqual([{ base: 0x80000000n, size: 0x1000000n }]);
    expect(fdtGetRegs(findNode(root, "/memory")!, "reg", 1, 1)).toEqual([{ base: 0n, size: 0x80000000n }, { base: 0n, size: 0x1000000n }]);
    expect(() => fdtGetRegs(findNode(root, "/memory")!, "reg", 2, 1)).toThrow(FdtError);
    expect(() => fdtGetRegs(root, "reg", 0, 0)).toThrow(RangeError);
    expect(fdtGetRegs(root, "absent", 2, 2)).toEqual([]);
  });
});

describe("parseFdt rejects malformed blobs with FdtError only", () => {
  const good = buildFdt(sample());
  const structOff = header(good, 2);

  it("header checks name the offending value", () => {
    expect(fdtError(good.subarray(0, 39))).toBe("DTB is 39 bytes, shorter than the 40-byte header");
    expect(fdtError(patched(good, (dv) => dv.setUint32(0, 0xdeadbeef)))).toBe("bad DTB magic 0xdeadbeef; expected 0xd00dfeed");
    expect(fdtError(patched(good, (dv) => dv.setUint32(20, 15)))).toMatch(/^DTB version 15 /);
    expect(fdtError(patched(good, (dv) => dv.setUint32(24, 18)))).toMatch(/last compatible 18/);
    expect(fdtError(good.subarray(0, good.length - 1))).toMatch(/^DTB totalsize 0x[0-9a-f]+ is outside/);
    expect(fdtError(patched(good, (dv) => dv.setUint32(8, structOff + 2)))).toMatch(/^DTB structure block .* misaligned or outside/);
    expect(fdtError(patched(good, (dv) => dv.setUint32(32, 0xffffffff)))).toMatch(/^DTB strings block/);
    expect(fdtError(patched(good, (dv) => dv.setUint32(16, 44)))).toMatch(/^DTB memory reservation block/);
  });

  it("structure block checks", () => {
    expect(fdtError(patched(good, (dv) => dv.setUint32(structOff, 7)))).toBe(`DTB unknown token 0x7 at 0x${structOff.toString(16)}`);
    expect(fdtError(patched(good, (dv) => dv.setUint32(structOff, 3)))).toMatch(/^DTB property at .* is outside any node/);
    const firstProp = structOff + 8;
    expect(fdtError(patched(good, (dv) => dv.setUint32(firstProp + 8, 0xfffff)))).toMatch(/^DTB property name offset 0xfffff is outside/);
    expect(fdtError(patched(good, (dv) => dv.setUint32(firstProp + 4, 0x7fffffff)))).toMatch(/length 0x7fffffff extends past/);
    const end = structOff + header(good, 9) - 4;
    expect(fdtError(patched(good, (dv) => dv.setUint32(end, 4)))).toMatch(/without FDT_END/);
    expect(fdtError(patched(good, (dv) => dv.setUint32(end - 4, 4)))).toMatch(/FDT_END at .* before the root node was closed/);
    const dupBlob = buildFdt(fdtNode("", { a: 1, b: 2 }));
    const bOff = header(dupBlob, 2) + 8 + 16 + 8;
    expect(fdtError(patched(dupBlob, (dv) => dv.setUint32(bOff, 0)))).toBe('DTB node "" has property "a" twice');
  });

  it("nesting is capped", () => {
    let node = fdtNode("leaf");
    for (let i = 0; i < FDT_MAX_DEPTH; i++) node = fdtNode(i === FDT_MAX_DEPTH - 1 ? "" : `n${i}`, {}, [node]);
    expect(fdtError(buildFdt(node))).toMatch(/nesting .* exceeds 64 levels/);
  });

  it("every truncation and random corruption throws only FdtError", () => {
    const check = (b: Uint8Array): void => {
      try {
        parseFdt(b);
      } catch (e) {
        if (!(e instanceof FdtError)) throw e;
      }
    };
    for (let n = 0; n < good.length; n++) check(good.subarray(0, n));
    let s = 99;
    const next = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8;
    for (let i = 0; i < 5000; i++) {
      const b = good.slice();
      for (let k = 0; k < 1 + (next() % 4); k++) b[next() % b.length] = next() & 0xff;
      check(b);
      const r = new Uint8Array(next() % 200);
      for (let k = 0; k < r.length; k++) r[k] = next() & 0xff;
      if (r.length >= 4) new DataView(r.buffer).setUint32(0, 0xd00dfeed);
      check(r);
    }
  });
});

describe("riscv64-virt device tree", () => {
  const root = parseFdt(buildRiscvVirtDtb(VIRT_CFG));

  it("root, chosen and memory are shaped like QEMU virt", () => {
    expect(fdtGetU32(root, "#address-cells")).toBe(2);
    expect(fdtGetU32(root, "#size-cells")).toBe(2);
    expect(fdtGetString(root, "compatible")).toBe("riscv-virtio");
    expect(fdtGetString(root, "model")).toBe("riscv-virtio,qemu");
    const chosen = findNode(root, "/chosen")!;
    expect(fdtGetString(chosen, "stdout-path")).toBe("/soc/serial@10000000");
    expect(fdtGetString(chosen, "bootargs")).toBe("console=ttyS0 earlycon");
    const mem = findNode(root, "/memory@80000000")!;
    expect(fdtGetString(mem, "device_type")).toBe("memory");
    expect(fdtGetRegs(mem, "reg", 2, 2)).toEqual([{ base: 0x80000000n, size: 0x8000000n }]);
    expect(findNode(parseFdt(buildRiscvVirtDtb({ ...VIRT_CFG, bootargs: undefined })), "/chosen")!.props.has("bootargs")).toBe(false);
  });

  it("each cpu has its properties and an interrupt controller", () => {
    const cpus = findNode(root, "/cpus")!;
    expect(fdtGetU32(cpus, "#address-cells")).toBe(1);
    expect(fdtGetU32(cpus, "#size-cells")).toBe(0);
    expect(fdtGetU32(cpus, "timebase-frequency")).toBe(10_000_000);
    expect(cpus.children.map((c) => c.name)).toEqual(["cpu@0", "cpu@1"]);
    for (const [h, cpu] of cpus.children.entries()) {
      expect(fdtGetString(cpu, "device_type")).toBe("cpu");
      expect(fdtGetU32(cpu, "reg")).toBe(h);
      expect(fdtGetString(cpu, "status")).toBe("okay");
      expect(fdtGetString(cpu, "compatible")).toBe("riscv");
      expect(fdtGetString(cpu, "riscv,isa")).toBe("rv64imac_zicsr_zifencei");
      expect(fdtGetString(cpu, "mmu-type")).toBe("riscv,sv48");
      const intc = findNode(cpu, "interrupt-controller")!;
      expect(fdtGetU32(intc, "#interrupt-cells")).toBe(1);
      expect(intc.props.get("interrupt-controller")!.length).toBe(0);
      expect(fdtGetString(intc, "compatible")).toBe("riscv,cpu-intc");
      expect(fdtGetU32(intc, "phandle")).toBeGreaterThan(0);
    }
  });

  it("soc holds the uart, the clint wired to every hart, and the test finisher", () => {
    const soc = findNode(root, "/soc")!;
    expect(fdtGetStrings(soc, "compatible")).toEqual(["simple-bus"]);
    expect(soc.props.get("ranges")!.length).toBe(0);
    const uart = findNode(root, "/soc/serial@10000000")!;
    expect(fdtGetString(uart, "compatible")).toBe("ns16550a");
    expect(fdtGetRegs(uart, "reg", 2, 2)).toEqual([{ base: 0x10000000n, size: 0x100n }]);
    expect(fdtGetU32(uart, "clock-frequency")).toBe(0x384000);
    const clint = findNode(root, "/soc/clint@2000000")!;
    expect(fdtGetStrings(clint, "compatible")).toEqual(["sifive,clint0", "riscv,clint0"]);
    expect(fdtGetRegs(clint, "reg", 2, 2)).toEqual([{ base: 0x2000000n, size: 0x10000n }]);
    const intc = (h: number): number => fdtGetU32(findNode(root, `/cpus/cpu@${h}/interrupt-controller`)!, "phandle")!;
    const ext = fdtGetRegs(clint, "interrupts-extended", 1, 1).flatMap((r) => [Number(r.base), Number(r.size)]);
    expect(ext).toEqual([intc(0), 3, intc(0), 7, intc(1), 3, intc(1), 7]);
    const test = findNode(root, "/soc/test@100000")!;
    expect(fdtGetStrings(test, "compatible")).toEqual(["sifive,test1", "sifive,test0", "syscon"]);
    expect(fdtGetRegs(test, "reg", 2, 2)).toEqual([{ base: 0x100000n, size: 0x1000n }]);
    expect(fdtGetU32(findNode(root, "/poweroff")!, "regmap")).toBe(fdtGetU32(test, "phandle"));
  });

  it("node addresses come from VIRT_MEMORY_MAP", () => {
    expect(VIRT_MEMORY_MAP.uart0.base).toBe(0x10000000);
    expect(VIRT_MEMORY_MAP.clint).toEqual({ base: 0x2000000, size: 0x10000 });
    expect(VIRT_MEMORY_MAP.test).toEqual({ base: 0x100000, size: 0x1000 });
    expect(VIRT_MEMORY_MAP.dram.base).toBe(0x80000000);
  });

  it("bad configuration is a RangeError naming the value", () => {
    expect(() => riscvVirtTree({ ...VIRT_CFG, harts: 0 })).toThrow(/harts 0/);
    expect(() => riscvVirtTree({ ...VIRT_CFG, ramSize: 1.5 })).toThrow(/ramSize 1.5/);
  });
});

const dtcProbe = spawnSync("dtc", ["--version"], { encoding: "utf8" });
const dtcMissing = dtcProbe.error ? `dtc is not installed (${dtcProbe.error.message}); install device-tree-compiler to run this check` : "";

describe("cross-check with dtc", () => {
  if (dtcMissing) console.log(`skipping dtc cross-check: ${dtcMissing}`);

  it.skipIf(dtcMissing !== "")("dtc decompiles the riscv64-virt DTB (only QEMU virt's own interrupt_provider warning), and its recompiled blob parses back to the same tree", () => {
    const dir = mkdtempSync(join(tmpdir(), "multios-fdt-"));
    try {
      const dtb = buildRiscvVirtDtb(VIRT_CFG);
      writeFileSync(join(dir, "virt.dtb"), dtb);
      const dts = spawnSync("dtc", ["-I", "dtb", "-O", "dts", "-o", join(dir, "virt.dts"), join(dir, "virt.dtb")], { encoding: "utf8" });
      const warnings = dts.stderr.split("\n").filter((l) => l !== "" && !l.includes("Missing #address-cells in interrupt provider"));
      expect(warnings).toEqual([]);
      expect(dts.status).toBe(0);
      const text = readFileSync(join(dir, "virt.dts"), "utf8");
      expect(text).toContain("/dts-v1/;");
      expect(text).toContain('compatible = "sifive,clint0\\0riscv,clint0";');
      expect(text).toContain("serial@10000000 {");
      expect(text).toContain('riscv,isa = "rv64imac_zicsr_zifencei";');
      const back = spawnSync("dtc", ["-I", "dts", "-O", "dtb", "-o", join(dir, "back.dtb"), join(dir, "virt.dts")], { encoding: "utf8" });
      expect(back.status).toBe(0);
      expect(parseFdt(new Uint8Array(readFileSync(join(dir, "back.dtb"))))).toEqual(parseFdt(dtb));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
