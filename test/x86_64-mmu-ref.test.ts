/**
 * The x86_64 walker against a reference model: random 4-level paths (present or not, R/W, U/S, XD,
 * PS at every level, reserved bits above MAXPHYADDR and in large leaves, A/D preset or not) under
 * random CR0.WP, SMEP, SMAP, NXE, access and mode. The reference is written from ARCH-SPEC §2.3-2.7
 * (SDM §4.5-4.8) in BigInt, independently of the implementation; every case is translated twice
 * (through the walk, then through whatever the TLB kept) and must agree with it both times, A/D
 * bits included. Seeded: a failure names its case number.
 */
import { describe, expect, it } from "vitest";
import { AC, type Access, IMPLICIT, STORE, USER, X86Mmu, x86PageShifts } from "../emulator/arch/x86_64/mmu.js";
import { CR0, CR4, EFER } from "../emulator/arch/x86_64/paging-defs.js";
import { Bus } from "../emulator/core/memory.js";
import { DEFAULT_TLB, TlbSet } from "../emulator/core/tlb.js";
import { rng } from "./support/rng.js";

const M = 40;
const RAM = 64 * 1024 * 1024;
const ADDR = ((1n << 52n) - 1n) & ~0xfffn;
const b = (n: number): bigint => 1n << BigInt(n);
const [P, RW, US, A, D, PS] = [b(0), b(1), b(2), b(5), b(6), b(7)];
const XD = b(63);

interface Case {
  va: bigint;
  entries: bigint[]; // index = level (3 = PML4E)
  wp: boolean; smep: boolean; smap: boolean; nxe: boolean;
  access: Access; mode: number;
}

type Outcome = { pa: number } | { pf: number };

/** The reference: ARCH-SPEC §2.4 walk, §2.5 rights, §2.7 error code. Also the expected A/D per level. */
function reference(c: Case): { out: Outcome; ad: bigint[] } {
  let rw = true, us = true, xd = false;
  const ad = c.entries.map((e) => e & (A | D));
  const userAccess = (c.mode & USER) !== 0 && (c.mode & IMPLICIT) === 0;
  const code = (bits: number): Outcome => ({
    pf: bits | (c.access === STORE ? 2 : 0) | (userAccess ? 4 : 0) | (c.access === 0 && (c.nxe || c.smep) ? 16 : 0),
  });
  let leaf = -1;
  for (let l = 3; l >= 0; l--) {
    const e = c.entries[l]!;
    if ((e & P) === 0n) return { out: code(0), ad };
    const large = (l === 1 || l === 2) && (e & PS) !== 0n;
    let rsvd = (e & (((1n << 52n) - 1n) & ~((1n << BigInt(M)) - 1n))) !== 0n;
    if (!c.nxe && (e & XD) !== 0n) rsvd = true;
    if (l === 3 && (e & PS) !== 0n) rsvd = true;
    if (large && l === 1 && (e & 0x1fe000n) !== 0n) rsvd = true;
    if (large && l === 2 && (e & 0x3fffe000n) !== 0n) rsvd = true;
    if (rsvd) return { out: code(1 | 8), ad };
    rw &&= (e & RW) !== 0n;
    us &&= (e & US) !== 0n;
    xd ||= c.nxe && (e & XD) !== 0n;
    if (l === 0 || large) {
      leaf = l;
      break;
    }
  }
  let ok: boolean;
  if (userAccess) ok = us && (c.access !== STORE || rw) && (c.access !== 0 || !xd);
  else if (c.access === 0) ok = !xd && !(us && c.smep);
  else ok = !(us && c.smap && ((c.mode & AC) === 0 || (c.mode & IMPLICIT) !== 0)) && (c.access !== STORE || rw || !c.wp);
  if (!ok) return { out: code(1), ad };
  for (let l = 3; l >= leaf; l--) ad[l] = ad[l]! | A | (l === leaf && c.access === STORE ? D : 0n);
  const shift = BigInt(12 + 9 * leaf);
  const frame = c.entries[leaf]! & ADDR & ~((1n << shift) - 1n);
  return { out: { pa: Number(frame | (c.va & ((1n << shift) - 1n))) }, ad };
}

/** A random case: tables at 0x10_0000.., frames in RAM, each entry with random flags and sometimes a reserved bit. */
function randomCase(next: () => number): Case {
  const pick = (p: number): boolean => next() % 1000 < p * 1000;
  const va = BigInt.asUintN(47, (BigInt(next()) << 16n) ^ BigInt(next())) & ~7n; // canonical, low half
  const entries: bigint[] = [];
  for (let l = 3; l >= 0; l--) {
    let e = 0n;
    if (pick(0.93)) e |= P;
    if (pick(0.75)) e |= RW;
    if (pick(0.75)) e |= US;
    if (pick(0.15)) e |= XD;
    if (pick(0.5)) e |= A;
    if (pick(0.3)) e |= D;
    if (l === 3 ? pick(0.03) : l === 2 ? pick(0.2) : l === 1 ? pick(0.3) : pick(0.2)) e |= PS;
    if (pick(0.04)) e |= b(M + (next() % (52 - M)));
    if (pick(0.1)) e |= BigInt(next() % 0x200) << 52n; // ignored bits 60:52
    const large = (l === 1 || l === 2) && (e & PS) !== 0n;
    if (large && pick(0.08)) e |= b(13 + (next() % (l === 1 ? 8 : 17)));
    if (large && pick(0.3)) e |= b(12); // PAT
    // Frames: tables get fixed pages per level; leaves an aligned frame inside RAM.
    const size = l === 2 ? 1 << 30 : l === 1 ? 1 << 21 : 4096;
    const frame = l === 0 || large ? (next() % (RAM / size)) * size : 0x10_0000 + (4 - l) * 0x1000;
    e |= BigInt(frame);
    entries[l] = e;
  }
  const modes = [0, AC, USER, USER | AC, IMPLICIT, IMPLICIT | AC, IMPLICIT | USER];
  let mode = modes[next() % modes.length]!;
  const access = (next() % 3) as Access;
  if (access === 0) mode &= ~IMPLICIT;
  return { va, entries, wp: pick(0.5), smep: pick(0.5), smap: pick(0.5), nxe: pick(0.7), access, mode };
}

/** Builds the case's tables (PML4 at 0x10_0000, PDPT at +0x1000, ...) so its walk reads exactly `entries`. */
function build(c: Case): { mmu: X86Mmu; bus: Bus; addrs: number[] } {
  const bus = new Bus();
  bus.addRam("ram", 0, RAM);
  const mmu = new X86Mmu(bus, new TlbSet(DEFAULT_TLB, x86PageShifts), { maxPhysAddr: M });
  const addrs: number[] = [];
  for (let l = 3; l >= 0; l--) {
    const table = 0x10_0000 + (3 - l) * 0x1000;
    addrs[l] = table + Number((c.va >> BigInt(12 + 9 * l)) & 511n) * 8;
    bus.write64(addrs[l]!, c.entries[l]!);
  }
  mmu.writeEfer(EFER.LME | (c.nxe ? EFER.NXE : 0), 0);
  mmu.writeCr4(CR4.PAE | (c.smep ? CR4.SMEP : 0) | (c.smap ? CR4.SMAP : 0), 0);
  mmu.writeCr3(0x10_0000, 0);
  mmu.writeCr0(CR0.PE | CR0.PG | (c.wp ? CR0.WP : 0), 0);
  return { mmu, bus, addrs };
}

describe("the walk agrees with a reference model on random paths (ARCH-SPEC §2.3-2.7)", () => {
  it("3000 seeded cases, walk then TLB", () => {
    const next = rng(0x86_64);
    const seen = { ok: 0, notPresent: 0, reserved: 0, rights: 0 };
    for (let n = 0; n < 3000; n++) {
      const c = randomCase(next);
      const { mmu, bus, addrs } = build(c);
      const want = reference(c);
      if ("pa" in want.out) seen.ok++;
      else if ((want.out.pf & 8) !== 0) seen.reserved++;
      else if ((want.out.pf & 1) !== 0) seen.rights++;
      else seen.notPresent++;
      const lo = Number(c.va & 0xffffffffn) | 0, hi = Number(c.va >> 32n) | 0;
      for (const via of ["walk", "tlb"]) {
        const label = `case ${n} via ${via}: ${JSON.stringify({ ...c, va: c.va.toString(16), entries: c.entries.map((e) => e.toString(16)) })}`;
        const pa = mmu.translate(lo, hi, c.access, c.mode);
        if ("pa" in want.out) {
          expect(pa, label).toBe(want.out.pa);
        } else {
          expect(pa, label).toBe(-1);
          expect(mmu.vector, label).toBe(14);
          expect(mmu.errorCode, label).toBe(want.out.pf);
          expect(mmu.cr2, label).toBe(c.va);
        }
        if (via === "walk") {
          for (let l = 3; l >= 0; l--) {
            // Upper-level A after a faulting walk is not pinned down by the SDM (ARCH-SPEC §7.6): checked on success only.
            if (!("pa" in want.out)) break;
            expect(bus.read64(addrs[l]!)! & (A | D), `${label} A/D at level ${l}`).toBe(want.ad[l]);
            if (l === 0 || ((l === 1 || l === 2) && (c.entries[l]! & PS) !== 0n)) break;
          }
        }
      }
    }
    // The mix is wide enough to mean something: every outcome occurs hundreds of times.
    for (const [kind, count] of Object.entries(seen)) expect(count, kind).toBeGreaterThan(200);
  });
});
