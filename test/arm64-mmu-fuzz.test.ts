/**
 * Randomised differential test of the AArch64 walker: random TCR/SCTLR settings, random tables
 * (a valid path, then random damage to its descriptors), random VA/EL/access/PAN, compared with a
 * reference model written separately in BigInt straight from the ARM ARM pseudocode order
 * (AArch64.S1Translate, S1Walk, S1DirectBasePermissions, the AF/DBM update). Every case is
 * translated twice (walk, then TLB) and must agree with the reference both times, including the
 * descriptor left in memory. Seeded: a failure names its seed.
 */
import { describe, expect, it } from "vitest";
import { type Access, Arm64Mmu, arm64PageShifts } from "../emulator/arch/arm64/mmu.js";
import { encodeTcr, granuleNamed, setReg, TableBuilder, type TcrFields, translateVa } from "../emulator/arch/arm64/mmu-tables.js";
import { Bus } from "../emulator/core/memory.js";
import { DEFAULT_TLB, TlbSet } from "../emulator/core/tlb.js";
import { rng } from "./support/rng.js";

const RAM_BASE = 0x4000_0000n, RAM_SIZE = 0x1000_0000n;
const bit = (v: bigint, n: number): boolean => ((v >> BigInt(n)) & 1n) === 1n;
const field = (v: bigint, lo: number, width: number): bigint => (v >> BigInt(lo)) & ((1n << BigInt(width)) - 1n);
const GRANULE_BITS: Record<string, number> = { "4K": 12, "16K": 14, "64K": 16 };
const IPS = [32, 36, 40, 42, 44, 48, 48, 48];

interface Regs { sctlr: bigint; tcr: bigint; ttbr0: bigint; ttbr1: bigint; mair: bigint }
interface RefResult { pa: number; fsc: number }

/** The reference translation (stage 1, EL1&0, MMU on). Applies AF/DBM updates to `bus`. */
function reference(bus: Bus, regs: Regs, va: bigint, access: Access, el: number, pan: boolean): RefResult {
  const fault = (fsc: number): RefResult => ({ pa: -1, fsc });
  const { tcr } = regs;
  const sel = bit(va, 55);
  const tsz = Number(field(tcr, sel ? 16 : 0, 6));
  const tg = Number(field(tcr, sel ? 30 : 14, 2));
  const gname = sel ? (["4K", "16K", "4K", "64K"] as const)[tg] : (["4K", "64K", "16K", "4K"] as const)[tg];
  const gbits = GRANULE_BITS[gname!]!;
  const stride = gbits - 3;
  const tbi = bit(tcr, sel ? 38 : 37);
  const epd = bit(tcr, sel ? 23 : 7);
  const hpd = bit(tcr, sel ? 42 : 41);
  const ha = bit(tcr, 39), hd = ha && bit(tcr, 40);
  const wxn = bit(regs.sctlr, 19);
  const oaBits = IPS[Number(field(tcr, 32, 3))]!;
  if (tsz < 16 || tsz > 39) return fault(0x04);
  const inputSize = 64 - tsz;
  const top = tbi ? 55 : 63;
  for (let b = inputSize; b <= top; b++) if (bit(va, b) !== sel) return fault(0x04);
  if (epd) return fault(0x04);
  const start = 4 - Math.ceil((inputSize - gbits) / stride);
  const ttbr = sel ? regs.ttbr1 : regs.ttbr0;
  const tableBits = inputSize - (gbits + stride * (3 - start)) + 3;
  let base = (field(ttbr, 1, 47) << 1n) & ~((1n << BigInt(tableBits)) - 1n);
  if (base >> BigInt(oaBits) !== 0n) return fault(0x00);
  let tableAttrs = 0n;
  for (let level = start; ; level++) {
    const lsb = gbits + stride * (3 - level);
    const width = level === start ? inputSize - lsb : stride;
    const addr = base + field(va, lsb, width) * 8n;
    const desc = bus.read64(Number(addr));
    if (desc === undefined) return fault(0x14 + level);
    if (!bit(desc, 0)) return fault(0x04 + level);
    const isTable = bit(desc, 1) && level < 3;
    if (isTable) {
      const next = field(desc, gbits, 48 - gbits) << BigInt(gbits);
      if (next >> BigInt(oaBits) !== 0n) return fault(0x00 + level);
      tableAttrs |= desc;
      base = next;
      continue;
    }
    const blockOk = level === 3 ? bit(desc, 1) : !bit(desc, 1) && (gname === "4K" ? level === 1 || level === 2 : level === 2);
    if (!blockOk) return fault(0x04 + level);
    const oa = field(desc, lsb, 48 - lsb) << BigInt(lsb);
    if (oa >> BigInt(oaBits) !== 0n) return fault(0x00 + level);
    if (!bit(desc, 10) && !ha) return fault(0x08 + level);
    // Permissions (AArch64.S1ApplyOutputPerms, S1ApplyTablePerms, S1DirectBasePermissions).
    let ap2 = bit(desc, 7), ap1 = bit(desc, 6);
    const dbm = bit(desc, 51);
    if (hd && dbm) ap2 = false;
    let pxn = bit(desc, 53), uxn = bit(desc, 54);
    if (!hpd) {
      if (bit(tableAttrs, 61)) ap1 = false;
      if (bit(tableAttrs, 62)) ap2 = true;
      pxn ||= bit(tableAttrs, 59);
      uxn ||= bit(tableAttrs, 60);
    }
    let pr = true, pw = !ap2;
    const ur = ap1, uw = ap1 && !ap2;
    const px = !(pxn || uw), ux = !uxn;
    if (el === 1 && access !== 0 && pan && ur) { pr = false; pw = false; }
    const r = el === 1 ? pr : ur, w = el === 1 ? pw : uw;
    const x = (el === 1 ? px : ux) && !(wxn && w);
    const ok = access === 0 ? x : access === 1 ? r : w;
    if (!ok) return fault(0x0c + level);
    let updated = desc | (ha ? 1n << 10n : 0n);
    if (access === 2 && hd && dbm && bit(desc, 7)) updated &= ~(1n << 7n);
    if (updated !== desc) bus.write64(Number(addr), updated);
    return { pa: Number(oa | field(va, 0, lsb)), fsc: 0 };
  }
}

/** One random machine state: two identical buses, the MMU on one, the reference on the other. */
function randomCase(seed: number): { run: () => void } {
  const next = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length]!;
  const chance = (n: number): boolean => next() % n === 0;
  const rand64 = (): bigint => (BigInt(next()) << 32n) | BigInt(next());
  const granules = ["4K", "16K", "64K"] as const;
  const tcrFields: TcrFields = {
    tg0: pick(granules), tg1: pick(granules),
    t0sz: chance(20) ? pick([15, 40]) : 16 + (next() % 24), t1sz: chance(20) ? pick([15, 40]) : 16 + (next() % 24),
    tbi0: chance(2), tbi1: chance(2), epd0: chance(15), epd1: chance(15), hpd0: chance(3), hpd1: chance(3),
    ha: chance(2), hd: chance(2), ips: chance(3) ? next() % 8 : 5, a1: chance(2), as: chance(2),
  };
  const sel = chance(2);
  const tsz = Math.min(39, Math.max(16, (sel ? tcrFields.t1sz : tcrFields.t0sz)!));
  const g = granuleNamed((sel ? tcrFields.tg1 : tcrFields.tg0)!);
  const inputMask = (1n << BigInt(64 - tsz)) - 1n;
  let va = rand64() & inputMask & ~0x7n;
  if (sel) va |= ~inputMask;
  if (chance(10)) va ^= 1n << BigInt(64 - tsz + (next() % tsz)); // maybe out of range
  if (chance(4)) va = (va & ((1n << 56n) - 1n)) | (BigInt(next() & 0xff) << 56n); // a tag
  va = BigInt.asUintN(64, va);

  const buses = [new Bus(), new Bus()];
  for (const b of buses) b.addRam("ram", Number(RAM_BASE), Number(RAM_SIZE));
  const builders = buses.map((b) => new TableBuilder(b, g, 64 - tsz, Number(RAM_BASE) + 0x10_0000));
  const leafLevel = pick([3, 2, 1, 3, 3]);
  const paBase = chance(3) ? Number(((BigInt(next()) << 16n) | BigInt(next() & 0xffff)) << 16n & ((1n << 48n) - 1n)) : Number(RAM_BASE + (BigInt(next()) % (RAM_SIZE >> 16n) << 16n));
  const leafBits = (BigInt(next() & 0x0fc) | (chance(4) ? 0n : 1n << 10n) | (chance(3) ? 1n << 11n : 0n))
    | (chance(2) ? 1n << 51n : 0n) | (chance(3) ? 1n << 53n : 0n) | (chance(3) ? 1n << 54n : 0n);
  const tableBits = chance(3) ? BigInt(next() & 0xf) << 59n : 0n;
  const paths = builders.map((t) => t.map(va, paBase, leafLevel, leafBits, tableBits));
  // Damage: each descriptor on the path may get random bits flipped (same change on both buses).
  for (const addr of paths[0]!) {
    if (addr === undefined || !chance(4)) continue;
    const flip = pick([1n, 2n, 1n << 10n, 1n << BigInt(12 + (next() % 36)), rand64() & 0x7ff0_0000_0000_0000n, 1n << 7n, 1n << 6n]);
    for (const b of buses) b.write64(addr, b.read64(addr)! ^ flip);
  }
  const ttbr = (t: TableBuilder, asid: number): bigint => BigInt(t.root) | (BigInt(asid) << 48n);
  const regs: Regs = {
    sctlr: 1n | (chance(3) ? 1n << 19n : 0n), tcr: encodeTcr(tcrFields),
    ttbr0: ttbr(builders[0]!, next() & 0xffff), ttbr1: ttbr(builders[0]!, next() & 0xffff), mair: rand64(),
  };
  if (chance(12)) regs.ttbr0 = 0x1000_0000n; // a table in a hole
  const access = pick([0, 1, 2] as const);
  const el = pick([0, 1]);
  const pan = chance(2);
  return {
    run(): void {
      const tlbs = new TlbSet(DEFAULT_TLB, arm64PageShifts);
      const mmu = new Arm64Mmu(buses[0]!, tlbs);
      for (const [reg, v] of Object.entries(regs)) setReg(mmu, reg as keyof Regs, v);
      mmu.pan = pan;
      const label = `seed ${seed}: va ${va.toString(16)} access ${access} el ${el} pan ${pan} tcr ${regs.tcr.toString(16)}`;
      for (const round of ["walk", "tlb"]) {
        const want = reference(buses[1]!, regs, va, access, el, pan);
        const got = translateVa(mmu, va, access, el);
        expect({ pa: got, fsc: got < 0 ? mmu.fsc : 0 }, `${label} (${round})`).toEqual(want);
        for (const addr of paths[0]!) {
          if (addr !== undefined) expect(buses[0]!.read64(addr), `${label}: descriptor at ${addr.toString(16)}`).toBe(buses[1]!.read64(addr));
        }
      }
    },
  };
}

describe("differential: the walker agrees with a BigInt reference model of the pseudocode", () => {
  for (let chunk = 0; chunk < 8; chunk++) {
    it(`random cases ${chunk * 250}..${chunk * 250 + 249}`, () => {
      for (let i = chunk * 250; i < chunk * 250 + 250; i++) randomCase(0x5eed_0000 + i).run();
    });
  }
});
