/**
 * M-mode firmware for riscv64-virt, written in TypeScript as native entries: it boots the hart the
 * way OpenSBI does (delegation, PMP, counters, then `mret` to the kernel in S-mode with a0 = hart id
 * and a1 = a boot-info record) and serves SBI calls that S-mode makes with `ecall`.
 *
 * Implemented SBI: Base (0x10), Timer (TIME), IPI (sPI), RFENCE (RFNC), Hart State Management (HSM),
 * Debug Console (DBCN: write, write_byte), System Reset (SRST), and the legacy console_putchar
 * (0x01). Timer: set_timer programs the CLINT and clears STIP; the machine timer interrupt raises
 * STIP for S-mode and masks MTIE, as OpenSBI does. IPI, RFENCE and HSM are in sbi-smp.ts.
 * @spec RISC-V SBI specification v2.0: chapters 3 (binary encoding), 4 (Base), 6 (Timer), 7 (IPI),
 *       8 (RFENCE), 9 (HSM), 10 (System Reset), 12 (Debug Console); legacy extension 0x01
 */
import { CAUSE, CSR, IRQ, MSTATUS, PRV_S } from "../../emulator/arch/riscv64/defs.js";
import { csrWrite } from "../../emulator/arch/riscv64/csr.js";
import type { Hart } from "../../emulator/arch/riscv64/hart.js";
import { CLINT_MTIMECMP } from "../../emulator/devices/clint.js";
import type { RiscvVirt } from "./virt.js";
import { SbiSmp } from "./sbi-smp.js";
import { SBI_ERR_INVALID_PARAM, SBI_ERR_NOT_SUPPORTED, SBI_EXT, SBI_SUCCESS, type SbiReturn } from "./sbi-defs.js";
import { VIRT_MEMORY_MAP } from "./virt-dtb.js";

export { SBI_EXT, SBI_SUCCESS, SBI_ERR_NOT_SUPPORTED, SBI_ERR_INVALID_PARAM } from "./sbi-defs.js";

/** SRST reasons: 0 none, 1 system failure; 0xF000_0000 | code is ours: "exit with this status". */
export const SRST_REASON_EXIT_CODE = 0xf0000000;

const SPEC_VERSION = 2n << 24n; // SBI 2.0
const IMPL_ID = 0x4d4f53n; // "MOS"

/** What the firmware hands the kernel and how it ends runs. */
export interface FirmwareOptions {
  /** Physical address of the kernel's S-mode entry. */
  kernelEntry: number;
  /** Physical address of the boot-info record (a1 at kernel entry). */
  bootInfo: number;
  /** Physical address of the firmware's entries (native): reset at +0, trap at +0x100, secondary start at +0x200. */
  base: number;
  /** Called for SRST: shutdown (exit status) or reboot. */
  onReset: (kind: "shutdown" | "reboot", exitCode: number) => void;
  /** Called for a trap the firmware cannot handle (a message naming mcause/mepc/mtval). */
  onFatal: (message: string) => void;
  /** Called at reset with the DTB address (a1): writes the boot-info record at `bootInfo`. */
  buildBootInfo: (dtbAddr: number) => void;
}

/**
 * Installs the firmware's native entries (shared by every hart). Hart 0 is the boot hart and must be
 * reset to `opts.base`; the other harts stay stopped, as OpenSBI leaves them (SBI HSM state
 * STOPPED) until the kernel starts them — which this kernel does not do yet.
 */
export function installFirmware(v: RiscvVirt, opts: FirmwareOptions): void {
  const hart = v.machine.harts[0]!;
  const trapVector = opts.base + 0x100;
  const smp = new SbiSmp(v, opts.base + 0x200);
  v.sbi = smp;
  for (const h of v.machine.harts) if (h !== hart) smp.park(h);
  hart.registerNative(opts.base, (h) => {
    opts.buildBootInfo(Number(h.x(11)));
    enterSupervisor(h, trapVector, BigInt(opts.kernelEntry), BigInt(opts.bootInfo));
  });
  hart.registerNative(trapVector, (h) => firmwareTrap(h, v, opts, smp));
  hart.registerNative(opts.base + 0x200, (h) => {
    const start = smp.startOf(h);
    enterSupervisor(h, trapVector, start.addr, start.opaque);
  });
}

const set = (h: Hart, csr: number, v: bigint): void => {
  csrWrite(h, csr, Number(BigInt.asIntN(32, v)), Number(BigInt.asIntN(32, v >> 32n)));
};

/**
 * A hart's way into S-mode (the boot hart at reset, the others at HSM hart_start): delegate S/U
 * traps, open PMP, enable counters, then `mret` to `entry` in S-mode with a0 = hart id, a1 = `a1`.
 */
function enterSupervisor(h: Hart, trapVector: number, entry: bigint, a1: bigint): void {
  set(h, CSR.mtvec, BigInt(trapVector));
  const delegated = [CAUSE.INSN_MISALIGNED, CAUSE.BREAKPOINT, CAUSE.ECALL_U, CAUSE.INSN_PAGE, CAUSE.LOAD_PAGE, CAUSE.STORE_PAGE,
    CAUSE.ILLEGAL, CAUSE.LOAD_MISALIGNED, CAUSE.STORE_MISALIGNED, CAUSE.INSN_ACCESS, CAUSE.LOAD_ACCESS, CAUSE.STORE_ACCESS];
  set(h, CSR.medeleg, BigInt(delegated.reduce<number>((m, c) => m | (1 << c), 0)));
  set(h, CSR.mideleg, BigInt((1 << IRQ.SSI) | (1 << IRQ.STI) | (1 << IRQ.SEI)));
  set(h, CSR.pmpaddr0, -1n);
  set(h, CSR.pmpcfg0, 0x1fn);
  set(h, CSR.mcounteren, 7n);
  set(h, CSR.mie, BigInt(1 << IRQ.MTI));
  h.mstatus = (h.mstatus & ~MSTATUS.MPP) | (PRV_S << MSTATUS.MPP_SHIFT);
  set(h, CSR.mepc, entry);
  h.setX(10, BigInt(h.hartId));
  h.setX(11, a1);
  h.mret();
}

/** The M-mode trap handler: SBI calls from S-mode and the machine timer. */
function firmwareTrap(h: Hart, v: RiscvVirt, opts: FirmwareOptions, smp: SbiSmp): void {
  const cause = h.csrLo[CSR.mcause]!;
  const interrupt = h.csrHi[CSR.mcause]! < 0;
  if (interrupt && cause === IRQ.MTI) {
    // Hand the tick to S-mode: raise STIP, mask MTIE until the next set_timer.
    h.mipSoft |= 1 << IRQ.STI;
    h.mie &= ~(1 << IRQ.MTI);
    h.mret();
    return;
  }
  if (!interrupt && cause === CAUSE.ECALL_S) {
    const [error, value] = sbiCall(h, v, opts, smp);
    if (smp.stoppedNow(h)) return;
    h.setX(10, error);
    if (value !== undefined) h.setX(11, value);
    set(h, CSR.mepc, (BigInt(h.csrHi[CSR.mepc]!) << 32n | BigInt(h.csrLo[CSR.mepc]! >>> 0)) + 4n);
    h.mret();
    return;
  }
  const r = (n: number): string => "0x" + BigInt.asUintN(64, BigInt(h.csrHi[n]!) << 32n | BigInt(h.csrLo[n]! >>> 0)).toString(16);
  opts.onFatal(`firmware: unexpected trap in M-mode: mcause ${r(CSR.mcause)} mepc ${r(CSR.mepc)} mtval ${r(CSR.mtval)}`);
  set(h, CSR.mepc, (BigInt(h.csrHi[CSR.mepc]!) << 32n | BigInt(h.csrLo[CSR.mepc]! >>> 0)) + 4n);
  h.mret();
}

/** Dispatches one SBI call (a7 = extension, a6 = function, a0.. = arguments). */
function sbiCall(h: Hart, v: RiscvVirt, opts: FirmwareOptions, smp: SbiSmp): SbiReturn {
  const eid = Number(h.x(17) & 0xffffffffn);
  const fid = Number(h.x(16) & 0xffffffffn);
  const a = (i: number): bigint => h.x(10 + i);
  const bus = v.machine.bus;
  switch (eid) {
    case SBI_EXT.LEGACY_PUTCHAR:
      bus.write(VIRT_MEMORY_MAP.uart0.base, 1, Number(a(0) & 0xffn));
      return [SBI_SUCCESS, undefined];
    case SBI_EXT.BASE:
      switch (fid) {
        case 0: return [SBI_SUCCESS, SPEC_VERSION];
        case 1: return [SBI_SUCCESS, IMPL_ID];
        case 2: return [SBI_SUCCESS, 1n];
        case 3: return [SBI_SUCCESS, (Object.values(SBI_EXT) as number[]).includes(Number(a(0))) ? 1n : 0n];
        case 4: case 5: case 6: return [SBI_SUCCESS, 0n];
        default: return [SBI_ERR_NOT_SUPPORTED, undefined];
      }
    case SBI_EXT.TIME: {
      if (fid !== 0) return [SBI_ERR_NOT_SUPPORTED, undefined];
      const t = BigInt.asUintN(64, a(0));
      const at = VIRT_MEMORY_MAP.clint.base + CLINT_MTIMECMP + 8 * h.hartId;
      bus.write(at, 8, Number(t & 0xffffffffn) | 0, Number(t >> 32n) | 0);
      h.mipSoft &= ~(1 << IRQ.STI);
      h.mie |= 1 << IRQ.MTI;
      h.interruptsChanged();
      return [SBI_SUCCESS, 0n];
    }
    case SBI_EXT.IPI: case SBI_EXT.RFENCE: case SBI_EXT.HSM:
      return smp.call(h, eid, fid, a);
    case SBI_EXT.DBCN: {
      if (fid === 2) {
        bus.write(VIRT_MEMORY_MAP.uart0.base, 1, Number(a(0) & 0xffn));
        return [SBI_SUCCESS, 0n];
      }
      if (fid !== 0) return [SBI_ERR_NOT_SUPPORTED, undefined];
      const n = Number(BigInt.asUintN(32, a(0)));
      const base = Number(BigInt.asUintN(64, a(1) | (a(2) << 32n)));
      const ram = bus.find(base, Math.max(1, n))?.ram;
      if (ram === undefined) return [SBI_ERR_INVALID_PARAM, 0n];
      for (const b of ram.readBytes(base - ram.base, n)) bus.write(VIRT_MEMORY_MAP.uart0.base, 1, b);
      return [SBI_SUCCESS, BigInt(n)];
    }
    case SBI_EXT.SRST: {
      if (fid !== 0) return [SBI_ERR_NOT_SUPPORTED, undefined];
      const type = Number(a(0) & 0xffffffffn);
      const reason = Number(a(1) & 0xffffffffn);
      if (type === 0) {
        const code = reason === 0 ? 0 : reason >>> 28 === 0xf ? reason & 0xff : 1;
        opts.onReset("shutdown", code);
        return [SBI_SUCCESS, 0n];
      }
      if (type === 1 || type === 2) {
        opts.onReset("reboot", 0);
        return [SBI_SUCCESS, 0n];
      }
      return [SBI_ERR_INVALID_PARAM, undefined];
    }
    default:
      return [SBI_ERR_NOT_SUPPORTED, undefined];
  }
}
