/**
 * The firmware's multi-hart services: Hart State Management (start, stop, status), IPIs and remote
 * fences, as OpenSBI provides them to an S-mode kernel.
 *
 * - HSM: only the boot hart runs at first; the others are STOPPED (the machine does not run them).
 *   hart_start(hartid, start_addr, opaque) resets the hart into the firmware's secondary entry,
 *   which enters S-mode at start_addr with a0 = hartid, a1 = opaque, satp = 0 and interrupts off.
 *   hart_stop parks the calling hart (it refuses to stop the last running hart: SBI_ERR_FAILED).
 * - IPI: send_ipi sets SSIP in each target's mip; the target takes the supervisor software
 *   interrupt on its next turn (OpenSBI gets there through an M-mode IPI; the S-mode view is the same).
 * - RFENCE: remote_fence_i is satisfied already (the decode cache is coherent); remote_sfence_vma and
 *   remote_sfence_vma_asid perform SFENCE.VMA on each target before the call returns, one page at a
 *   time up to {@link RFENCE_PAGE_LIMIT} pages, else one full (or whole-ASID) fence, as OpenSBI's
 *   tlb_range_flush_limit does.
 * Hart masks: `hart_mask_base` = -1 means every hart; otherwise bit i of hart_mask is hart base + i,
 * and a hart id that does not exist is SBI_ERR_INVALID_PARAM.
 * @spec RISC-V SBI specification v2.0 chapters 7 (IPI), 8 (RFENCE), 9 (HSM)
 */
import { IRQ } from "../../emulator/arch/riscv64/defs.js";
import type { Hart } from "../../emulator/arch/riscv64/hart.js";
import type { RiscvVirt } from "./virt.js";
import { SBI_ERR_ALREADY_AVAILABLE, SBI_ERR_FAILED, SBI_ERR_INVALID_PARAM, SBI_ERR_NOT_SUPPORTED, SBI_EXT, SBI_SUCCESS, type SbiReturn } from "./sbi-defs.js";
import { IpiFaultQueue, type IpiFault } from "../ipi-faults.js";

/** Pages a remote sfence.vma flushes one by one; a larger range becomes one full fence. */
export const RFENCE_PAGE_LIMIT = 64;

/** HSM hart states returned by hart_get_status. */
export const HSM_STARTED = 0n, HSM_STOPPED = 1n;

const ALL_ONES = (1n << 64n) - 1n;

export type { IpiFault };

/** The firmware's SMP state: each stopped hart's next start address and argument, armed IPI faults. */
export class SbiSmp {
  private readonly starts = new Map<number, { addr: bigint; opaque: bigint }>();
  /** IPI faults armed by fault injection (boot/ipi-faults.ts). */
  private readonly ipiFaults: IpiFaultQueue;
  /** Told when an armed IPI fault acts (the kernel log, in a fault-injection run). */
  onFault: ((line: string) => void) | undefined;
  /** Set while an SBI call stops the calling hart: its trap handler must not return to S-mode. */
  private stopping: Hart | undefined;

  /** @param secondaryEntry the firmware's native entry that takes a started hart into S-mode */
  constructor(private readonly v: RiscvVirt, private readonly secondaryEntry: number) {
    this.ipiFaults = new IpiFaultQueue((ticks, fn) => v.machine.after(ticks, fn), "hart");
    this.ipiFaults.onFault = (line) => this.onFault?.(line);
  }

  /** Stops `h` (its state is reset; it will enter through the secondary entry when started). */
  park(h: Hart): void {
    this.v.machine.stopped[h.hartId] = 1;
    h.reset(this.secondaryEntry | 0, 0, this.v.dtbAddr);
    h.stopAt = 0;
  }

  /**
   * Arms `fault` for the next IPI any hart sends (one target of it): fault injection's "delay or lose
   * an IPI". Faults queue up; each acts once.
   */
  armIpiFault(fault: IpiFault): void {
    this.ipiFaults.arm(fault);
  }

  /** Where the hart started by hart_start goes. */
  startOf(h: Hart): { addr: bigint; opaque: bigint } {
    const s = this.starts.get(h.hartId);
    if (s === undefined) throw new Error(`firmware: hart ${h.hartId} entered the secondary entry without hart_start`);
    return s;
  }

  /** True once (and clears it) when the last call stopped `h`: the trap handler then leaves it parked. */
  stoppedNow(h: Hart): boolean {
    if (this.stopping !== h) return false;
    this.stopping = undefined;
    return true;
  }

  /** Dispatches an IPI, RFENCE or HSM call; `a(i)` is argument register a_i. */
  call(h: Hart, eid: number, fid: number, a: (i: number) => bigint): SbiReturn {
    if (eid === SBI_EXT.IPI) return fid === 0 ? this.sendIpi(a(0), a(1)) : [SBI_ERR_NOT_SUPPORTED, undefined];
    if (eid === SBI_EXT.RFENCE) return this.rfence(fid, a);
    switch (fid) {
      case 0: return this.hartStart(a(0), a(1), a(2));
      case 1: return this.hartStop(h);
      case 2: return this.hartStatus(a(0));
      default: return [SBI_ERR_NOT_SUPPORTED, undefined];
    }
  }

  private hart(id: bigint): Hart | undefined {
    return this.v.machine.harts.find((x) => BigInt(x.hartId) === id);
  }

  /** The harts a (hart_mask, hart_mask_base) pair names, or undefined when one does not exist. */
  private targets(mask: bigint, base: bigint): Hart[] | undefined {
    const harts = this.v.machine.harts;
    if (BigInt.asUintN(64, base) === ALL_ONES) return [...harts];
    const out: Hart[] = [];
    for (let i = 0n; i < 64n; i++) {
      if (((mask >> i) & 1n) === 0n) continue;
      const h = this.hart(base + i);
      if (h === undefined) return undefined;
      out.push(h);
    }
    return out;
  }

  /** @spec SBI v2.0 §7.1 sbi_send_ipi */
  private sendIpi(mask: bigint, base: bigint): SbiReturn {
    const to = this.targets(mask, base);
    if (to === undefined) return [SBI_ERR_INVALID_PARAM, undefined];
    for (const t of to) this.ipiFaults.send(t.hartId, () => raiseSsip(t));
    return [SBI_SUCCESS, 0n];
  }

  /** @spec SBI v2.0 §8.1-8.3 remote_fence_i, remote_sfence_vma, remote_sfence_vma_asid */
  private rfence(fid: number, a: (i: number) => bigint): SbiReturn {
    if (fid > 2) return [SBI_ERR_NOT_SUPPORTED, undefined];
    const to = this.targets(a(0), a(1));
    if (to === undefined) return [SBI_ERR_INVALID_PARAM, undefined];
    if (fid === 0) return [SBI_SUCCESS, 0n];
    const start = BigInt.asUintN(64, a(2)), size = BigInt.asUintN(64, a(3));
    const asid = fid === 2 ? Number(a(4) & 0xffffn) : undefined;
    const full = (start === 0n && size === 0n) || size === ALL_ONES || size > BigInt(RFENCE_PAGE_LIMIT * 4096);
    for (const t of to) {
      if (full) {
        t.sfenceVma(undefined, asid);
        continue;
      }
      for (let va = start & ~0xfffn; va < start + size; va += 4096n) {
        t.sfenceVma({ lo: Number(va & 0xffffffffn) | 0, hi: Number(va >> 32n) | 0 }, asid);
      }
    }
    return [SBI_SUCCESS, 0n];
  }

  /** @spec SBI v2.0 §9.1 sbi_hart_start */
  private hartStart(id: bigint, addr: bigint, opaque: bigint): SbiReturn {
    const t = this.hart(id);
    if (t === undefined) return [SBI_ERR_INVALID_PARAM, undefined];
    if (!this.v.machine.stopped[t.hartId]) return [SBI_ERR_ALREADY_AVAILABLE, undefined];
    this.starts.set(t.hartId, { addr, opaque });
    t.reset(this.secondaryEntry | 0, 0, this.v.dtbAddr);
    this.v.machine.stopped[t.hartId] = 0;
    return [SBI_SUCCESS, 0n];
  }

  /** @spec SBI v2.0 §9.2 sbi_hart_stop: does not return when it succeeds */
  private hartStop(h: Hart): SbiReturn {
    const m = this.v.machine;
    if (m.harts.every((x) => x === h || m.stopped[x.hartId])) return [SBI_ERR_FAILED, undefined];
    this.park(h);
    this.stopping = h;
    return [SBI_SUCCESS, undefined];
  }

  /** @spec SBI v2.0 §9.3 sbi_hart_get_status */
  private hartStatus(id: bigint): SbiReturn {
    const t = this.hart(id);
    if (t === undefined) return [SBI_ERR_INVALID_PARAM, undefined];
    return [SBI_SUCCESS, this.v.machine.stopped[t.hartId] ? HSM_STOPPED : HSM_STARTED];
  }
}

/** Makes the supervisor software interrupt pending on `t` (what an IPI does in the end). */
function raiseSsip(t: Hart): void {
  t.mipSoft |= 1 << IRQ.SSI;
  t.interruptsChanged();
}
