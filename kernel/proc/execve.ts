/**
 * execve(path, argv, envp) from the initial ramdisk, as Linux fs/exec.c does it in outline: copy
 * the path and the argument and environment strings in, find and check the program, build the
 * new image in a new address space, and only then — past the point of no return — drop the old
 * image. Every failure before that returns the error to the old image, which is untouched.
 *
 * | errno | when |
 * |---|---|
 * | EFAULT | the path, an argv/envp array or one of their strings is not readable |
 * | ENAMETOOLONG | the path has no NUL within PATH_MAX (4096) bytes |
 * | E2BIG | the strings (NULs included) and their pointers take more than {@link ARG_MAX} bytes |
 * | ENOENT | no ramdisk file at the path (a leading "/" is optional), or the path is empty |
 * | ENOEXEC | the file is not a loadable ELF for this architecture |
 * | EACCES | the loader refuses a segment (writable and executable, in kernel space, overlapping) |
 * | ENOMEM | no memory for the new image or the process record |
 *
 * A NULL argv is taken as an empty one, and an empty argv gets "" as argv[0] (Linux since 5.18).
 * On success the process keeps its pid, parent, children and kernel stack; its registers restart
 * at the new entry with the new stack (all others 0), it gets a fresh ASID context, its record is
 * renamed after the new argv[0], and every frame of the old image is freed.
 */
import type { Kernel } from "../kernel.js";
import { ElfError, parseElf } from "./elf.js";
import { buildImage, discardMemory } from "./image.js";
import type { Process } from "./process.js";
import { newProcessRecord, releaseProcessRecord } from "./process-record.js";
import { PATH_MAX } from "./ramdisk.js";
import { copyFromUser, readUserString } from "./user-memory.js";

/** The most bytes argv and envp may take together: strings with their NULs, plus 8 per pointer. */
export const ARG_MAX = 256 * 1024;

const E = { ENOENT: 2, E2BIG: 7, ENOEXEC: 8, ENOMEM: 12, EACCES: 13, EFAULT: 14, ENAMETOOLONG: 36 } as const;
const err = (e: number): bigint => BigInt(-e);

/** Reads a NULL-terminated array of string pointers at `va` within `budget` bytes. */
function readStrings(p: Process, va: bigint, budget: { left: number }): string[] | number {
  const out: string[] = [];
  if (va === 0n) return out;
  for (let at = va; ; at += 8n) {
    const word = copyFromUser(p.mm, at, 8);
    if (word === undefined) return E.EFAULT;
    const ptr = new DataView(word.buffer, word.byteOffset, 8).getBigUint64(0, true);
    if (ptr === 0n) return out;
    budget.left -= 8;
    if (budget.left <= 0) return E.E2BIG;
    const s = readUserString(p.mm, ptr, budget.left);
    if (!s.ok) return s.error === "fault" ? E.EFAULT : E.E2BIG;
    budget.left -= s.bytes.length + 1;
    out.push(s.value);
  }
}

/**
 * execve for process `p` (the caller): undefined on success (the new image starts with the
 * registers set here; there is no return value to store), else a negative errno for the old image.
 */
export function execve(k: Kernel, p: Process, pathVa: bigint, argvVa: bigint, envpVa: bigint): bigint | undefined {
  const path = readUserString(p.mm, pathVa, PATH_MAX);
  if (!path.ok) return err(path.error === "fault" ? E.EFAULT : E.ENAMETOOLONG);
  const budget = { left: ARG_MAX };
  const argv = readStrings(p, argvVa, budget);
  if (typeof argv === "number") return err(argv);
  const envp = readStrings(p, envpVa, budget);
  if (typeof envp === "number") return err(envp);
  if (argv.length === 0) argv.push("");

  const file = path.value === "" ? undefined : k.files.lookup(path.value);
  if (file === undefined) return err(E.ENOENT);
  let image;
  try {
    image = parseElf(k.files.read(file), k.arch.elfMachine);
  } catch (e) {
    if (e instanceof ElfError) return err(E.ENOEXEC);
    throw e;
  }
  const built = buildImage(k, p.pid, image, { argv, envp, execfn: path.value });
  if (!built.ok) return err(built.error.kind === "OutOfMemory" ? E.ENOMEM : built.error.kind === "BadArguments" ? E.E2BIG : E.EACCES);
  const record = newProcessRecord(k, p.pid, p.ppid, argv[0]!);
  if (record === undefined) {
    discardMemory(k, built.mm);
    return err(E.ENOMEM);
  }

  // The point of no return: the old image goes, the new one takes its place.
  discardMemory(k, p.mm);
  k.asids?.release(p.asid);
  releaseProcessRecord(k, p.record);
  p.mm = built.mm;
  p.record = record;
  k.arch.initUserFrame(p.frame, built.entry, built.sp);
  return undefined;
}
