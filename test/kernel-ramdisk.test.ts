/**
 * The initial ramdisk's archive (newc cpio) and its way to the kernel: the writer's output parses
 * back to the same files, malformed archives end in one-line errors without reading past their
 * end, and the boot-info record carries the ramdisk in version 2 while version 1 still reads.
 */
import { describe, expect, it } from "vitest";
import { BOOT_INFO_MAGIC, bootInfoSize, readBootInfo, writeBootInfo, type BootInfo } from "../kernel/boot-info.js";
import { MemoryRegionKind } from "../kernel/mm/phys/regions.js";
import { newcArchive, PATH_MAX, Ramdisk, RAMDISK_MAX_ENTRIES } from "../kernel/proc/ramdisk.js";
import { FakeHal } from "./support/fake-hal.js";

const BASE = 0x8100_0000;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Parses `archive` placed at BASE in a fake RAM. */
function parse(archive: Uint8Array, size = archive.length): Ramdisk {
  const hal = new FakeHal();
  hal.writeBytes(BASE, archive);
  return Ramdisk.parse(hal, BASE, size);
}

/** A newc header for `name` with `fields` overriding the defaults (all hex strings of 8 digits). */
function header(name: string, fields: Record<string, number> = {}, magic = "070701"): string {
  const order = ["ino", "mode", "uid", "gid", "nlink", "mtime", "filesize", "devmajor", "devminor", "rdevmajor", "rdevminor", "namesize", "check"];
  const values: Record<string, number> = { mode: 0o100644, nlink: 1, namesize: enc(name).length + 1, ...fields };
  return magic + order.map((f) => (values[f] ?? 0).toString(16).padStart(8, "0")).join("");
}

/** An entry: header, name + NUL, padding, data, padding. */
function entry(name: string, data: Uint8Array, fields: Record<string, number> = {}): Uint8Array {
  const head = enc(header(name, { filesize: data.length, ...fields }) + name + "\0");
  const out = new Uint8Array(((head.length + 3) & ~3) + ((data.length + 3) & ~3));
  out.set(head);
  out.set(data, (head.length + 3) & ~3);
  return out;
}

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};
const TRAILER = entry("TRAILER!!!", new Uint8Array(0), { mode: 0, nlink: 0 });

describe("the ramdisk archive", () => {
  it("parses back what newcArchive wrote: names, sizes and contents, with 4-byte alignment", () => {
    const files = [
      { name: "init", bytes: Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3]) },
      { name: "bin/sh", bytes: enc("#!") },
      { name: "empty", bytes: new Uint8Array(0) },
    ];
    const archive = newcArchive(files);
    expect(archive.length % 4).toBe(0);
    expect(new TextDecoder().decode(archive.subarray(0, 6))).toBe("070701");
    const rd = parse(archive);
    expect(rd.list().map((f) => [f.name, f.size, (f.pa - BASE) % 4])).toEqual([["init", 7, 0], ["bin/sh", 2, 0], ["empty", 0, 0]]);
    for (const f of files) expect(rd.read(rd.lookup(f.name)!)).toEqual(f.bytes);
    expect(rd.lookup("/bin/sh")?.name).toBe("bin/sh");
    expect(rd.lookup("sh")).toBeUndefined();
  });

  it("writes mode 0100755 for an ELF and 0100644 for other files", () => {
    const archive = new TextDecoder().decode(newcArchive([{ name: "a", bytes: Uint8Array.from([0x7f, 0x45, 0x4c, 0x46]) }, { name: "b", bytes: enc("x") }]));
    const modes = [...archive.matchAll(/070701[0-9a-f]{8}([0-9a-f]{8})/g)].map((m) => parseInt(m[1]!, 16).toString(8));
    expect(modes).toEqual(["100755", "100644", "0"]);
  });

  it("reads archives as cpio -H newc writes them: \"./\" prefixes, directories skipped, upper-case hex, the 070702 variant", () => {
    const upper = enc(header("./up", { filesize: 1 }, "070702").toUpperCase() + "./up\0");
    const padded = concat(upper, new Uint8Array(((upper.length + 3) & ~3) - upper.length), enc("U\0\0\0"));
    const rd = parse(concat(entry(".", new Uint8Array(0), { mode: 0o40755 }), entry("./bin", new Uint8Array(0), { mode: 0o40755 }),
      entry("./bin/true", enc("elf")), padded, TRAILER));
    expect(rd.list().map((f) => f.name)).toEqual(["bin/true", "up"]);
    expect(rd.read(rd.lookup("up")!)).toEqual(enc("U"));
  });

  it("an empty ramdisk (size 0) has no files; the first program can be added under its argv[0]", () => {
    const rd = parse(new Uint8Array(0), 0);
    expect(rd.list()).toEqual([]);
    rd.add("/prog", BASE, 16);
    expect(rd.lookup("prog")).toEqual({ name: "prog", pa: BASE, size: 16 });
    expect(() => rd.add("prog", BASE, 16)).toThrow('initial ramdisk: a file named "prog" is already in the archive');
    rd.add("/", BASE, 16);
    expect(rd.list()).toHaveLength(1);
  });

  it.each([
    ["a bad magic", concat(enc("070707" + "0".repeat(104)), TRAILER), 'initial ramdisk: entry 0 at offset 0x0: magic "070707" is not a newc cpio header (070701)'],
    ["a field that is not hex", concat(enc(header("a").slice(0, 14) + "zzzzzzzz" + header("a").slice(22) + "a\0\0\0"), TRAILER), 'initial ramdisk: entry 0 at offset 0x0: field mode "zzzzzzzz" is not 8 hex digits'],
    ["no trailer", entry("a", enc("data")), "initial ramdisk: entry 1 at offset 0x74: the archive ends without a TRAILER!!! entry"],
    ["a file running past the end", concat(entry("a", enc("data"), { filesize: 0x1000 })), 'initial ramdisk: entry 0 at offset 0x0: "a" has 4096 data bytes, past the archive end (116 bytes)'],
    ["a name running past the end", enc(header("a", { namesize: 200 }) + "a\0"), "initial ramdisk: entry 0 at offset 0x0: the name (200 bytes) runs past the archive end (112 bytes)"],
    ["a name over PATH_MAX", concat(entry("a", enc(""), { namesize: PATH_MAX + 1 })), `initial ramdisk: entry 0 at offset 0x0: name size ${PATH_MAX + 1} is not in 2..${PATH_MAX}`],
    ["a name without its NUL", concat(enc(header("ab", { namesize: 2 }) + "ab"), TRAILER), "initial ramdisk: entry 0 at offset 0x0: the name is not 1 bytes followed by one NUL"],
    ["a duplicate name", concat(entry("a", enc("1")), entry("/a", enc("2")), TRAILER), 'initial ramdisk: entry 1 at offset 0x74: a second file named "a"'],
  ])("refuses %s with one line", (_, archive, message) => {
    expect(() => parse(archive)).toThrow(message);
  });

  it(`stops after ${RAMDISK_MAX_ENTRIES} entries`, () => {
    const dirEntry = entry("d", new Uint8Array(0), { mode: 0o40755 });
    const many = concat(...Array.from({ length: RAMDISK_MAX_ENTRIES }, () => dirEntry), TRAILER);
    expect(() => parse(many)).toThrow(`initial ramdisk: more than ${RAMDISK_MAX_ENTRIES} entries`);
  });

  it("never reads past the size it is given, even when more archive follows in RAM", () => {
    const archive = newcArchive([{ name: "a", bytes: enc("0123456789") }]);
    expect(() => parse(archive, 120)).toThrow("initial ramdisk: entry 0 at offset 0x0: \"a\" has 10 data bytes, past the archive end (120 bytes)");
  });
});

describe("the boot-info record", () => {
  const info: BootInfo = {
    hartId: 0, dtb: { base: 0x87e00000, size: 0x1000 }, kernelStart: 0x80200000, kernelEnd: 0x80400000,
    module: { base: 0x80400000, size: 0x1234 }, args: { base: 0x80002000, size: 5 }, ramdisk: { base: 0x80402000, size: 0x200 },
    memoryMap: [{ base: 0x80000000, size: 0x8000000, kind: MemoryRegionKind.Usable }],
  };

  it("version 3 carries the ramdisk's address and size at +96/+104, the memory map from +112, then the CPU list", () => {
    const hal = new FakeHal();
    writeBootInfo(hal, BASE, { ...info, cpus: [0, 1, 2] });
    expect(hal.read64(BASE + 8)).toBe(3n);
    expect([hal.read64(BASE + 96), hal.read64(BASE + 104)]).toEqual([0x80402000n, 0x200n]);
    expect(hal.read64(BASE + 112)).toBe(0x80000000n);
    expect([136, 144, 152, 160].map((o) => hal.read64(BASE + o))).toEqual([3n, 0n, 1n, 2n]);
    expect(bootInfoSize(1, 3)).toBe(112 + 24 + 8 * 4);
    expect(readBootInfo(hal, BASE)).toEqual({ ...info, cpus: [0, 1, 2] });
  });

  it("without a CPU list the record lists the boot CPU alone; a list without the boot CPU or of 0 CPUs is refused", () => {
    const hal = new FakeHal();
    writeBootInfo(hal, BASE, info);
    expect(readBootInfo(hal, BASE).cpus).toEqual([0]);
    writeBootInfo(hal, BASE, { ...info, cpus: [1, 2] });
    expect(() => readBootInfo(hal, BASE)).toThrow("boot info: the boot CPU 0 is not in the CPU list");
    hal.write64(BASE + 136, 0n);
    expect(() => readBootInfo(hal, BASE)).toThrow("boot info: 0 CPUs (expected 1 to 64)");
  });

  it("a version-2 record still reads: memory map from +112, the boot CPU alone", () => {
    const hal = new FakeHal();
    writeBootInfo(hal, BASE, info);
    hal.write64(BASE + 8, 2n);
    hal.write64(BASE + 136, 99n);
    expect(readBootInfo(hal, BASE)).toEqual({ ...info, cpus: [0] });
  });

  it("a version-1 record still reads: memory map from +96, no ramdisk", () => {
    const hal = new FakeHal();
    const words = [BOOT_INFO_MAGIC, 1n, 0n, 0x87e00000n, 0x1000n, 0x80200000n, 0x80400000n, 0x80400000n, 0x1234n, 0x80002000n, 5n, 1n];
    words.forEach((w, i) => hal.write64(BASE + 8 * i, w));
    [0x80000000n, 0x8000000n, 0n].forEach((w, i) => hal.write64(BASE + 96 + 8 * i, w));
    expect(readBootInfo(hal, BASE)).toEqual({ ...info, ramdisk: { base: 0, size: 0 }, cpus: [0] });
  });

  it("refuses other versions", () => {
    const hal = new FakeHal();
    writeBootInfo(hal, BASE, info);
    hal.write64(BASE + 8, 4n);
    expect(() => readBootInfo(hal, BASE)).toThrow("boot info: version 4 is not 1, 2 or 3");
  });
});
