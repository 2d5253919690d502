/**
 * The initial ramdisk: a read-only table of files that execve looks programs up in. The boot side
 * (boot/riscv64/kernel-boot.ts) lays the files out in RAM as a "newc" cpio archive, the format
 * Linux unpacks its initramfs from (Documentation/driver-api/early-userspace/buffer-format.rst),
 * so an archive made with `find . | cpio -o -H newc` works too. The firmware passes its address
 * and size in the boot-info record (version 2); the memory holding it is KernelAndModules, so the
 * frame allocator never hands it out and file contents are read in place.
 *
 * One entry, all numbers 8 ASCII hex digits (upper or lower case):
 *
 * | off | bytes | field                                                      |
 * |-----|-------|------------------------------------------------------------|
 * | 0   | 6     | magic "070701" (or "070702", the variant with a checksum)  |
 * | 6   | 8×13  | ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check |
 * | 110 | namesize | the name with its NUL; then zero padding to a multiple of 4 from the entry start |
 * |     | filesize | the data; then zero padding to a multiple of 4                      |
 *
 * The archive ends with an entry named "TRAILER!!!". Only regular files (mode & 0o170000 =
 * 0o100000) become files; directories and other entries are skipped. Names lose a leading "./" or
 * "/" ("./bin/sh" is "bin/sh"). Parsing is bounded: at most {@link RAMDISK_MAX_ENTRIES} entries,
 * names of at most {@link PATH_MAX} bytes, every size checked against the archive before use, and
 * the first problem ends it with a one-line BootError naming the entry and its offset.
 */
import type { PhysMemory } from "../hal.js";
import { BootError } from "../mm/phys/regions.js";
import { utf8Decode, utf8Encode } from "./user-memory.js";

/** Longest path (NUL included), Linux PATH_MAX. */
export const PATH_MAX = 4096;
/** Most entries (trailer included) an archive may have. */
export const RAMDISK_MAX_ENTRIES = 4096;
/** The name of the entry that ends an archive. */
export const TRAILER = "TRAILER!!!";

const MAGIC_NEWC = "070701", MAGIC_CRC = "070702";
const HEADER = 110;
const FIELDS = ["ino", "mode", "uid", "gid", "nlink", "mtime", "filesize", "devmajor", "devminor", "rdevmajor", "rdevminor", "namesize", "check"] as const;
const S_IFMT = 0o170000, S_IFREG = 0o100000;

/** A file of the ramdisk: its bytes are `size` bytes at physical `pa`. */
export interface RamdiskFile {
  readonly name: string;
  readonly pa: number;
  readonly size: number;
}

const align4 = (n: number): number => (n + 3) & ~3;

/** `path` as a ramdisk name: without leading "/" and "./" components. */
export function ramdiskName(path: string): string {
  let name = path;
  for (;;) {
    if (name.startsWith("/")) name = name.slice(1);
    else if (name.startsWith("./")) name = name.slice(2);
    else return name;
  }
}

/** The read-only file table of the initial ramdisk. */
export class Ramdisk {
  private readonly files = new Map<string, RamdiskFile>();

  constructor(private readonly mem: PhysMemory) {}

  /**
   * Parses the newc archive of `size` bytes at physical `base` (size 0: an empty ramdisk).
   * Throws BootError with a one-line message for a malformed archive or a duplicate name.
   */
  static parse(mem: PhysMemory, base: number, size: number): Ramdisk {
    const rd = new Ramdisk(mem);
    if (size === 0) return rd;
    let off = 0;
    for (let entry = 0; ; entry++) {
      const where = `initial ramdisk: entry ${entry} at offset 0x${off.toString(16)}`;
      if (entry >= RAMDISK_MAX_ENTRIES) throw new BootError(`initial ramdisk: more than ${RAMDISK_MAX_ENTRIES} entries`);
      if (off + HEADER > size) throw new BootError(`${where}: the archive ends without a ${TRAILER} entry`);
      const head = String.fromCharCode(...mem.readBytes(base + off, HEADER));
      const magic = head.slice(0, 6);
      if (magic !== MAGIC_NEWC && magic !== MAGIC_CRC) throw new BootError(`${where}: magic "${printable(magic)}" is not a newc cpio header (070701)`);
      const field: Record<string, number> = {};
      FIELDS.forEach((f, i) => {
        const text = head.slice(6 + 8 * i, 14 + 8 * i);
        if (!/^[0-9a-fA-F]{8}$/.test(text)) throw new BootError(`${where}: field ${f} "${printable(text)}" is not 8 hex digits`);
        field[f] = parseInt(text, 16);
      });
      const namesize = field.namesize!, filesize = field.filesize!;
      if (namesize < 2 || namesize > PATH_MAX) throw new BootError(`${where}: name size ${namesize} is not in 2..${PATH_MAX}`);
      if (off + HEADER + namesize > size) throw new BootError(`${where}: the name (${namesize} bytes) runs past the archive end (${size} bytes)`);
      const nameBytes = mem.readBytes(base + off + HEADER, namesize);
      if (nameBytes[namesize - 1] !== 0 || nameBytes.indexOf(0) !== namesize - 1) throw new BootError(`${where}: the name is not ${namesize - 1} bytes followed by one NUL`);
      const raw = utf8Decode(nameBytes.subarray(0, namesize - 1));
      const dataAt = off + align4(HEADER + namesize);
      if (raw === TRAILER) return rd;
      if (dataAt + filesize > size) throw new BootError(`${where}: "${raw}" has ${filesize} data bytes, past the archive end (${size} bytes)`);
      const name = ramdiskName(raw);
      if ((field.mode! & S_IFMT) === S_IFREG && name !== "" && name !== ".") {
        if (rd.files.has(name)) throw new BootError(`${where}: a second file named "${name}"`);
        rd.files.set(name, { name, pa: base + dataAt, size: filesize });
      }
      off = dataAt + align4(filesize);
    }
  }

  /**
   * Adds the file `name` held at `[pa, pa + size)` (the first program, which boot places as its own
   * module); a name that is empty without its leading "/" is not added. Throws BootError if the
   * name is taken.
   */
  add(name: string, pa: number, size: number): void {
    const n = ramdiskName(name);
    if (n === "") return;
    if (this.files.has(n)) throw new BootError(`initial ramdisk: a file named "${n}" is already in the archive`);
    this.files.set(n, { name: n, pa, size });
  }

  /** The file at `path` ("/" prefix optional), or undefined. */
  lookup(path: string): RamdiskFile | undefined {
    return this.files.get(ramdiskName(path));
  }

  /** A copy of the file's bytes. */
  read(file: RamdiskFile): Uint8Array {
    return this.mem.readBytes(file.pa, file.size);
  }

  /** Every file, in archive order (added files last). */
  list(): RamdiskFile[] {
    return [...this.files.values()];
  }
}

/** `s` with control and non-ASCII characters as "?" (for messages about garbage). */
function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, "?");
}

/** A file to put in an archive. */
export interface ArchiveFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/**
 * A newc archive of `files` in order, ending with the trailer: each a regular file with mode
 * 0o100755 (an ELF) or 0o100644, inode numbers from 1, all other fields 0. Throws RangeError for a
 * name that is empty, contains a NUL, or is longer than PATH_MAX - 1 bytes, or for a file of 4 GiB
 * or more (filesize is 32 bits).
 */
export function newcArchive(files: readonly ArchiveFile[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  const push = (b: Uint8Array): void => {
    parts.push(b);
    total += b.length;
  };
  const entry = (ino: number, mode: number, name: string, bytes: Uint8Array): void => {
    const nameBytes = utf8Encode(name);
    if (nameBytes.length === 0 || nameBytes.includes(0) || nameBytes.length >= PATH_MAX) throw new RangeError(`ramdisk: file name "${name}" is empty, has a NUL, or is ${PATH_MAX} bytes or longer`);
    if (bytes.length > 0xffffffff) throw new RangeError(`ramdisk: "${name}" has ${bytes.length} bytes; newc sizes are 32 bits`);
    const values: Record<string, number> = { ino, mode, nlink: 1, filesize: bytes.length, namesize: nameBytes.length + 1 };
    const head = MAGIC_NEWC + FIELDS.map((f) => (values[f] ?? 0).toString(16).padStart(8, "0")).join("");
    const start = total;
    push(utf8Encode(head));
    push(nameBytes);
    push(new Uint8Array(align4(HEADER + nameBytes.length + 1) - (total - start)));
    push(bytes);
    push(new Uint8Array(align4(bytes.length) - bytes.length));
  };
  files.forEach((f, i) => entry(i + 1, isElf(f.bytes) ? 0o100755 : 0o100644, f.name, f.bytes));
  entry(0, 0, TRAILER, new Uint8Array(0));
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const isElf = (b: Uint8Array): boolean => b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
