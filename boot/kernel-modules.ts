/**
 * What every architecture's kernel boot shares: the options naming the first program and the
 * initial ramdisk, the ramdisk archive itself, and the room kept free after the modules.
 */
import type { KernelOptions } from "../kernel/kernel.js";
import { BootError } from "../kernel/mm/phys/regions.js";
import { type ArchiveFile, newcArchive, PATH_MAX, ramdiskName } from "../kernel/proc/ramdisk.js";

/** Room kept free after the modules (frames for the kernel's first needs). */
export const HEADROOM = 4 * 1024 * 1024;

/** `n` rounded up to whole 4 KiB pages. */
export const pageUp = (n: number): number => Math.ceil(n / 4096) * 4096;

/** The program-and-files part of a kernel boot's options (each architecture adds its machine's options). */
export interface KernelProgramOptions extends KernelOptions {
  /** The first user program (an ELF for the machine's architecture) and its arguments (argv[0] first). */
  program: Uint8Array;
  args: string[];
  /**
   * Files of the initial ramdisk, in order (execve finds programs there). The first program is in
   * it too, under argv[0]; names lose a leading "/".
   */
  files?: readonly ArchiveFile[];
}

/**
 * The newc archive of `files` (empty when there are none). Throws BootError for a name that is
 * empty, has a NUL or is too long once its leading "/" is gone, or is used twice or by the program.
 */
export function ramdiskArchive(files: readonly ArchiveFile[], programName: string | undefined): Uint8Array {
  if (files.length === 0) return new Uint8Array(0);
  const taken = new Map<string, string>();
  if (programName) taken.set(ramdiskName(programName), "the program (argv[0])");
  const named = files.map((f) => {
    const name = ramdiskName(f.name);
    if (name === "" || name.includes("\0") || new TextEncoder().encode(name).length >= PATH_MAX) throw new BootError(`ramdisk file name "${f.name}" is empty, has a NUL, or is ${PATH_MAX} bytes or longer`);
    const other = taken.get(name);
    if (other !== undefined) throw new BootError(`ramdisk file name "${name}" is already used by ${other}`);
    taken.set(name, "another file");
    return { name, bytes: f.bytes };
  });
  return newcArchive(named);
}

/** Where a machine puts the first program, the ramdisk after it, and the argument strings. */
export interface ModulePlacement {
  /** The program's load address; the ramdisk follows it, page-aligned. */
  moduleBase: number;
  /** The first address the modules and {@link HEADROOM} must stay below, and how messages name it. */
  limit: number;
  limitName: string;
  /** The argument strings' address and the most bytes they may take. */
  argsAddr: number;
  argsMax: number;
}

/** What {@link placeModules} laid out. */
export interface PlacedModules {
  /** The end of the program, page-aligned: the ramdisk starts here. */
  moduleEnd: number;
  /** The ramdisk, page-aligned at both ends (empty when there are no files). */
  ramdiskBase: number;
  ramdiskEnd: number;
  archive: Uint8Array;
  /** The arguments, each NUL-terminated. */
  argBytes: Uint8Array;
}

/**
 * Checks that the program, the ramdisk archive of `opts.files` and the arguments fit where `at`
 * says, then loads them. Throws BootError (before loading anything) for one that does not fit,
 * and as {@link ramdiskArchive} does for bad file names.
 */
export function placeModules(bus: { load(pa: number, bytes: Uint8Array): void }, opts: KernelProgramOptions, at: ModulePlacement): PlacedModules {
  const moduleEnd = at.moduleBase + pageUp(opts.program.length);
  if (moduleEnd + HEADROOM > at.limit) throw new BootError(`program of ${opts.program.length} bytes does not fit ${at.limitName} (use --ram)`);
  const archive = ramdiskArchive(opts.files ?? [], opts.args[0]);
  const ramdiskBase = moduleEnd, ramdiskEnd = ramdiskBase + pageUp(archive.length);
  if (ramdiskEnd + HEADROOM > at.limit) throw new BootError(`initial ramdisk of ${archive.length} bytes does not fit ${at.limitName} (use --ram)`);
  const argBytes = new TextEncoder().encode(opts.args.map((a) => a + "\0").join(""));
  if (argBytes.length > at.argsMax) throw new BootError(`arguments take ${argBytes.length} bytes; at most ${at.argsMax} fit`);
  bus.load(at.moduleBase, opts.program);
  if (archive.length) bus.load(ramdiskBase, archive);
  if (argBytes.length) bus.load(at.argsAddr, argBytes);
  return { moduleEnd, ramdiskBase, ramdiskEnd, archive, argBytes };
}
