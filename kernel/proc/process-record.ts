/**
 * Each process's identity record, kept in the kernel heap (owner `pid N`): what Linux keeps in
 * `task_struct.comm` and friends. It is allocated when the process is created, copied by fork,
 * read for reports, and freed at exit, so a process that leaves a heap block behind shows up in the
 * exit leak check (leaks.ts).
 *
 * Layout (every field a little-endian u32, name bytes after):
 * | off | field                                          |
 * |-----|------------------------------------------------|
 * | +0  | RECORD_MAGIC                                   |
 * | +4  | pid                                            |
 * | +8  | parent pid at creation                         |
 * | +12 | name length in bytes (≤ NAME_MAX)              |
 * | +16 | name, UTF-8, NAME_MAX bytes reserved           |
 */
import type { GlobalAllocator } from "../mm/heap/index.js";
import { KernelPanic } from "../panic.js";
import { utf8Decode, utf8Encode } from "./user-memory.js";

/** "PROC" in little-endian ASCII. */
const RECORD_MAGIC = 0x434f5250;
const F = { MAGIC: 0, PID: 4, PPID: 8, NAME_LEN: 12, NAME: 16 } as const;
/** Bytes of name kept (Linux TASK_COMM_LEN is 16 with the NUL). */
export const NAME_MAX = 15;
const RECORD_SIZE = F.NAME + 16;

/** A record as read back from the heap. */
export interface ProcessRecord {
  readonly pid: number;
  readonly ppid: number;
  readonly name: string;
}

/** The heap owner name of process `pid`'s kernel objects (the same name its frames carry). */
export function pidOwner(pid: number): string {
  return `pid ${pid}`;
}

/** The last path component of `argv0`, cut to NAME_MAX bytes (as Linux sets `comm` at exec). */
export function commName(argv0: string): string {
  let name = argv0.slice(argv0.lastIndexOf("/") + 1);
  while (utf8Encode(name).length > NAME_MAX) name = name.slice(0, -1);
  return name;
}

/**
 * Writes a record for process `pid` in `heap` under its owner name. Returns its address, or
 * undefined when the heap cannot grow.
 */
export function allocateProcessRecord(heap: GlobalAllocator, pid: number, ppid: number, name: string): number | undefined {
  const addr = heap.allocateZeroed(RECORD_SIZE, 16, pidOwner(pid));
  if (addr === undefined) return undefined;
  const bytes = utf8Encode(commName(name));
  const m = heap.mem;
  m.write32(addr + F.MAGIC, RECORD_MAGIC);
  m.write32(addr + F.PID, pid);
  m.write32(addr + F.PPID, ppid);
  m.write32(addr + F.NAME_LEN, bytes.length);
  bytes.forEach((b, i) => m.write8(addr + F.NAME + i, b));
  return addr;
}

/** The record at `addr`. KernelPanic naming the address if it is not an intact record. */
export function readProcessRecord(heap: GlobalAllocator, addr: number): ProcessRecord {
  const m = heap.mem;
  const magic = m.read32(addr + F.MAGIC) >>> 0;
  const len = m.read32(addr + F.NAME_LEN) >>> 0;
  if (magic !== RECORD_MAGIC || len > NAME_MAX) {
    throw new KernelPanic(`process record at heap address 0x${addr.toString(16)} corrupted (magic 0x${magic.toString(16)}, name length ${len})`);
  }
  const name = Uint8Array.from({ length: len }, (_, i) => m.read8(addr + F.NAME + i));
  return { pid: m.read32(addr + F.PID) >>> 0, ppid: m.read32(addr + F.PPID) >>> 0, name: utf8Decode(name) };
}

/** Frees the record at `addr` after checking it (KernelPanic if it is corrupted). */
export function freeProcessRecord(heap: GlobalAllocator, addr: number): void {
  readProcessRecord(heap, addr);
  heap.mem.write32(addr + F.MAGIC, 0);
  heap.free(addr);
}

/** The part of the kernel the helpers below use (its heap, absent before boot has made one). */
export interface RecordHost {
  readonly heap: GlobalAllocator | undefined;
}

/**
 * A record for process `pid` in the kernel heap: its address, 0 when the kernel has no heap, or
 * undefined when the heap is full.
 */
export function newProcessRecord(k: RecordHost, pid: number, ppid: number, name: string): number | undefined {
  return k.heap === undefined ? 0 : allocateProcessRecord(k.heap, pid, ppid, name);
}

/** The name in the record at `record` (0: none, then `pid N`). */
export function processName(k: RecordHost, pid: number, record: number): string {
  return record === 0 || k.heap === undefined ? pidOwner(pid) : readProcessRecord(k.heap, record).name;
}

/** Frees the record at `record` (nothing for 0). */
export function releaseProcessRecord(k: RecordHost, record: number): void {
  if (record !== 0 && k.heap !== undefined) freeProcessRecord(k.heap, record);
}
